from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy.orm import sessionmaker

from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.notify.services import plan_messages, send_due
from pro_app.studies.services import TimepointSpec
from tests.web.notify.conftest import enrol_with_email, options, study_with

# Weekly three-day windows for a year: baseline plus weeks 1 to 52.
WEEKLY = tuple(
    TimepointSpec(f"W{w}", f"Week {w}", 7 * w, 0, 2, (("rand36", "1.0"),))
    for w in range(53)
)
# Day 0 chosen so that windows contain the 2026 clock changes of each zone.
PEOPLE = {
    "Asia/Jerusalem": date(2026, 1, 2),  # Fridays: 27 March, 23-25 October
    "America/New_York": date(2026, 1, 4),  # Sundays: 8 March, 1 November
    "Europe/London": date(2026, 1, 4),  # Sundays: 29 March, 25 October
}
SUBJECTS = {
    "invitation": "You have a questionnaire to complete for your study",
    "last_call": "Last chance: your study questionnaire closes soon",
}


def test_a_year_of_invitations_each_once_at_eight_local(app, session, smtp):
    inbox, sender = smtp
    study = study_with(session, WEEKLY)
    address = {}
    for n, (tz, day0) in enumerate(PEOPLE.items()):
        enrol_with_email(app, session, study, f"LK-{n}", day0=day0, tz=tz)
        address[f"lk-{n}@example.org"] = tz
    session.commit()

    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2027, 1, 8, tzinfo=UTC)
    with app.app_context(), time_machine.travel(start, tick=False) as traveller:
        factory = sessionmaker(bind=db.engine)
        moment = start
        while moment <= end:
            traveller.move_to(moment)
            now = utcnow()
            with factory() as s, s.begin():
                plan_messages(s, now, data_key=app.config["DATA_KEY"])
            send_due(
                factory,
                sender,
                now,
                worker_id="cron",
                batch_size=50,
                options=options(app),
            )
            moment += timedelta(hours=1)

    received = defaultdict(list)
    for message in inbox.messages:
        (rcpt,) = message.rcpt
        tz = address[rcpt]
        received[(tz, message.mail["Subject"])].append(
            message.at.astimezone(ZoneInfo(tz))
        )
    for tz, day0 in PEOPLE.items():
        targets = [day0 + timedelta(weeks=w) for w in range(53)]
        invitations = received[(tz, SUBJECTS["invitation"])]
        assert [(t.date(), t.time()) for t in invitations] == [
            (d, time(8)) for d in targets
        ], tz
        last_calls = received[(tz, SUBJECTS["last_call"])]
        assert [(t.date(), t.time()) for t in last_calls] == [
            (d + timedelta(days=2), time(8)) for d in targets
        ], tz
    assert len(inbox.messages) == 3 * 53 * 2

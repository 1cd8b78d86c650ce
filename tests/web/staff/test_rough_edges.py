"""The staff workspace as a trial team meets it on a first real run: one labelled
zone and unambiguous dates, enrolment straight into the handover, paper dates
that say what is accepted, a dashboard that opens on the grid, a short
participant page, messages in the order they matter, words for codes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.models import Participant
from pro_app.studies.locks import lock
from pro_app.surveys.services import save_answer, start_or_resume, submit
from pro_app.web import current_catalog
from tests.conftest import csrf_from, login_staff
from tests.factories import make_participant, make_staff, make_study
from tests.web.staff.entry_helpers import assignment_of as _assignment
from tests.web.staff.entry_helpers import complete_at as _complete

# 14:38 UTC is 16:38 in Jerusalem (IST, UTC+2 in December).
NOW = datetime(2026, 12, 3, 14, 38, tzinfo=UTC)
# A short numeric date (12/3/26, 3.12.26, 03/12/2026): ambiguous across locales.
SHORT_DATE = re.compile(r"(?<![\d/.:-])\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?![\d/.])")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _jerusalem_study(session, **kw):
    """A study kept in UTC whose one site is in Jerusalem."""
    study = make_study(session, **kw)
    for site in study.sites:
        site.timezone = "Asia/Jerusalem"
    session.flush()
    return study


def _sign_in(client, session, role, study, **kw):
    user = make_staff(session, role, study, **kw)
    assert login_staff(client, user.email).status_code == 302
    return user


def _catalog(app):
    with app.app_context():
        return current_catalog()


def _page(client, url, **headers) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _url(participant, tail=""):
    return f"/staff/s/{participant.study.code}/participants/{participant.id}{tail}"


# 1. One zone, labelled, UTC on hover; dates never 12/3/26 ----------------------


def _visited_world(app, session):
    """A participant enrolled now, with a submission (scores), a message sent
    now, a pending one, and a data lock taken now: a time on every page."""
    catalog = _catalog(app)
    study = _jerusalem_study(session)
    participant = make_participant(session, study, day0=NOW.date())
    bl = _assignment(session, participant, "BL", "promis_global")
    sub = _complete(session, bl, catalog, NOW)
    session.add_all(
        [
            Outbox(
                participant_id=participant.id,
                assignment_id=bl.id,
                channel="email",
                kind="invitation",
                window_opens_at=bl.opens_at,
                due_at=NOW,
                status=OutboxStatus.SENT,
                sent_at=NOW,
            ),
        ]
    )
    other = make_participant(session, study, subject_id="LK-002", day0=NOW.date())
    lock(session, study, participant=other, actor="system:test", reason="monitoring")
    session.flush()
    return study, participant, other, sub, bl


def test_every_staff_page_shows_times_in_the_site_zone_with_utc_on_hover(
    app, client, session, frozen
):
    study, participant, other, sub, bl = _visited_world(app, session)
    session.commit()
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    _sign_in(client, session, "admin", study)
    base = f"/staff/s/{study.code}"
    urls = [
        f"{base}/",
        _url(participant),
        _url(participant, "/edit"),
        f"{base}/participants/new",
        f"{base}/submissions/{sub.id}/correct",
        f"{base}/assignments/{_assignment(session, participant, 'BL', 'rand36').id}"
        "/paper",
        f"{base}/locks",
        f"{base}/audit",
    ]
    # The exact element: the site's clock, its zone, and UTC in the title.
    stamp = (
        '<time datetime="2026-12-03T14:38:00Z" title="2026-12-03 14:38 UTC">'
        "Dec 3, 2026, 16:38 IST</time>"
    )
    for lang in ("en", "he", "ru", "es"):
        for url in urls:
            html = _page(client, url, **{"Accept-Language": lang})
            assert not SHORT_DATE.findall(html), (lang, url, SHORT_DATE.findall(html))
    pages = {url: _page(client, url) for url in urls}
    # The participant page: enrolment, submission and the message, all 16:38 IST.
    assert pages[_url(participant)].count(stamp) >= 3
    assert "4:38 PM" not in pages[_url(participant)]
    correct = pages[f"{base}/submissions/{sub.id}/correct"]
    assert stamp in correct  # submitted and scores computed
    assert stamp in pages[f"{base}/locks"]
    # The audit trail: with seconds, the same zone and UTC on hover.
    audit = pages[f"{base}/audit"]
    assert (
        '<time datetime="2026-12-03T14:38:00Z" title="2026-12-03 14:38:00 UTC">'
        "Dec 3, 2026, 16:38:00 IST</time>"
    ) in audit
    assert "Times and dates are in Asia/Jerusalem" in audit
    # The dashboard's verification line.
    assert stamp in pages[f"{base}/"]
    # Hebrew: the date in Hebrew, still the same zone and the same UTC title.
    hebrew = _page(client, _url(participant), **{"Accept-Language": "he"})
    assert 'title="2026-12-03 14:38 UTC"' in hebrew
    assert "16:38 IST" in hebrew
    assert "בדצמ׳ 2026" in hebrew


def test_audit_date_filters_are_days_in_the_zone_the_times_are_shown_in(
    app, client, session
):
    study = _jerusalem_study(session)
    # 23:30 UTC on 2 Dec is 01:30 on 3 Dec in Jerusalem.
    with time_machine.travel(datetime(2026, 12, 2, 23, 30, tzinfo=UTC), tick=False):
        make_participant(session, study, day0=date(2026, 12, 3))
        session.commit()
    _sign_in(client, session, "monitor", study)
    shown = _page(
        client,
        f"/staff/s/{study.code}/audit?action=participant.enrol"
        "&date_from=2026-12-03&date_to=2026-12-03",
    )
    assert "Dec 3, 2026, 01:30:00 IST" in shown
    none = _page(
        client,
        f"/staff/s/{study.code}/audit?action=participant.enrol"
        "&date_from=2026-12-02&date_to=2026-12-02",
    )
    assert "No events match these filters." in none


# 2. Enrolment flows into the handover ------------------------------------------


def test_enrol_form_offers_the_site_zone_a_searchable_zone_list_and_typed_inputs(
    client, session
):
    study = _jerusalem_study(session)
    _sign_in(client, session, "coordinator", study)
    html = _page(client, f"/staff/s/{study.code}/participants/new")
    zone = re.search(r"<input[^>]*id=\"timezone\"[^>]*>", html).group(0)
    assert 'value="Asia/Jerusalem"' in zone  # the site's zone, not the study's UTC
    assert 'list="iana-zones"' in zone
    datalist = re.search(r'<datalist id="iana-zones">(.*?)</datalist>', html, re.S)
    options = re.findall(r'<option value="([^"]+)">', datalist.group(1))
    assert {"Asia/Jerusalem", "Europe/London", "America/New_York"} <= set(options)
    assert options == sorted(options)
    assert len(options) > 400
    email = re.search(r"<input[^>]*id=\"email\"[^>]*>", html).group(0)
    phone = re.search(r"<input[^>]*id=\"phone\"[^>]*>", html).group(0)
    assert 'type="email"' in email
    assert 'autocomplete="off"' in email
    assert 'type="tel"' in phone
    assert 'autocomplete="off"' in phone


def _post_enrolment(client, study, **fields):
    url = f"/staff/s/{study.code}/participants/new"
    data = {
        "csrf_token": csrf_from(_page(client, url)),
        "site": str(study.sites[0].id),
        "day0": date.today().isoformat(),
        "timezone": "Asia/Jerusalem",
        "language": "en",
    }
    return client.post(url, data=data | fields)


def test_after_enrolment_the_handover_is_the_first_action_on_the_page(client, session):
    study = _jerusalem_study(session)
    _sign_in(client, session, "coordinator", study)
    response = _post_enrolment(
        client,
        study,
        subject_id="LK-020",
        email="lk020@example.org",
        phone="+972 50 123 4567",
    )
    assert response.status_code == 302
    participant = session.scalar(select(Participant))
    assert response.headers["Location"] == _url(participant)
    html = _page(client, response.headers["Location"])
    issue = f'action="/staff/s/{study.code}/participants/{participant.id}/link"'
    main = html[html.index("<main") :]
    first_form = re.search(r'<form method="post" action="[^"]+"', main).group(0)
    assert issue in first_form  # the first form on the page hands the link over
    assert html.index("Hand over the personal link") < html.index('id="pt-details"')
    assert 'class="primary pt-next-button"' in html


def test_an_unknown_zone_is_refused_with_a_clear_error_and_nothing_saved(
    client, session
):
    study = _jerusalem_study(session)
    _sign_in(client, session, "coordinator", study)
    response = _post_enrolment(
        client, study, subject_id="LK-021", timezone="Asia/Jerusalm"
    )
    assert response.status_code == 400
    assert "Give an IANA time zone" in response.get_data(as_text=True)
    assert session.scalars(select(Participant)).all() == []


# 3. Paper entry says which dates it accepts -------------------------------------


def test_paper_entry_shows_the_days_it_accepts_and_limits_the_date_picker(
    app, client, session, frozen
):
    study = _jerusalem_study(session)
    # Day 0 in four days: the baseline window opened three days ago and
    # closes in eleven; enrolled yesterday, so only yesterday and today
    # of the window can be accepted.
    participant = make_participant(
        session, study, day0=NOW.date() + timedelta(days=4), timezone="Asia/Jerusalem"
    )
    participant.created_at = NOW - timedelta(days=1)
    assignment = _assignment(session, participant, "BL", "promis_global")
    _sign_in(client, session, "coordinator", study)
    url = f"/staff/s/{study.code}/assignments/{assignment.id}/paper"
    html = _page(client, url)

    def day(d):
        return format_date(d, "medium", locale="en")

    yesterday, today = NOW.date() - timedelta(days=1), NOW.date()
    accepted = re.search(r'<dd id="accepted-days">([^<]*)</dd>', html).group(1)
    assert accepted == f"{day(yesterday)} to {day(today)}"
    assert f"Accepted: {day(yesterday)} to {day(today)}." in html
    picker = re.search(r'<input[^>]*id="administered_on"[^>]*>', html).group(0)
    assert f'min="{yesterday.isoformat()}"' in picker
    assert f'max="{today.isoformat()}"' in picker
    # Each shown bound is accepted; the day before it is refused, nothing saved.
    refused = {"csrf_token": csrf_from(html), "language": "en", "mode": "paper"}
    before = client.post(
        url, data=refused | {"administered_on": str(yesterday - timedelta(days=1))}
    )
    assert before.status_code == 400
    assert "before the participant was enrolled" in before.get_data(as_text=True)
    ok = client.post(url, data=refused | {"administered_on": str(yesterday)})
    assert ok.status_code == 302


# 4. The dashboard opens on the grid ---------------------------------------------


def test_quiet_dashboard_says_nothing_needs_action_and_shows_the_grid_first(
    client, session, frozen
):
    study = _jerusalem_study(session)
    make_participant(session, study, day0=NOW.date() + timedelta(days=40))
    _sign_in(client, session, "coordinator", study)
    html = _page(client, f"/staff/s/{study.code}/")
    assert "Nothing needs action today." in html
    assert 'id="act-' not in html  # no empty headings with "None." under each
    assert "None." not in html
    assert html.index('class="dash-matrix"') < html.index("Audit trail</h2>")
    # Never verified: who can check it, with which button or command.
    assert "The audit trail has never been verified." in html
    assert "<code>flask audit verify</code>" in html
    assert "Verify the audit trail now" in html
    assert "data manager, monitor or study administrator" in html


def test_dashboard_lists_only_the_sections_with_something_in_them(
    client, session, frozen
):
    study = _jerusalem_study(session)
    # The baseline window closed ten days ago: missed.
    make_participant(session, study, day0=NOW.date() - timedelta(days=17))
    _sign_in(client, session, "coordinator", study)
    html = _page(client, f"/staff/s/{study.code}/")
    assert 'id="act-missed"' in html
    assert 'id="act-overdue"' not in html
    assert "Nothing needs action today." not in html
    assert "Nothing in: Overdue, Due within two days, Opening today" in html


def test_a_data_manager_for_every_site_verifies_the_trail_from_the_audit_page(
    client, session
):
    study = _jerusalem_study(session, sites=[("01", "North"), ("02", "South")])
    manager = _sign_in(client, session, "data_manager", study)
    url = f"/staff/s/{study.code}/audit"
    html = _page(client, url)
    assert "Verify the audit trail now" in html
    response = client.post(f"{url}/verify", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    flashed = _page(client, url)
    assert "The audit trail is intact" in flashed
    (event,) = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.verify")
    ).all()
    assert event.actor == f"staff:{manager.id}"
    assert event.new_value["ok"] is True
    assert "Verified on" in _page(client, f"/staff/s/{study.code}/")


def test_a_monitor_of_one_site_cannot_verify_the_whole_trail(client, session):
    study = _jerusalem_study(session, sites=[("01", "North"), ("02", "South")])
    _sign_in(client, session, "monitor", study, site=study.sites[0])
    url = f"/staff/s/{study.code}/audit"
    html = _page(client, url)
    assert "Verify the audit trail now" not in html
    assert "flask audit verify" in html
    response = client.post(f"{url}/verify", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 403
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.verify")
    ).all()


# 5. The participant page stays short ---------------------------------------------


def test_a_single_score_is_a_number_not_a_chart(app, client, session):
    catalog = _catalog(app)
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "promis29")
    _complete(session, bl, catalog, bl.opens_at + timedelta(hours=1))
    _sign_in(client, session, "coordinator", study)
    html = _page(client, _url(participant))
    scores = html[html.index('id="pt-scores"') :]
    assert "<svg" not in scores
    numbers = re.search(r'<dl class="pt-numbers">(.*?)</dl>', scores, re.S).group(1)
    assert "Depression" in numbers
    assert "BL" in numbers
    assert re.search(r'<span class="pt-number">\d+\.\d</span>', numbers)
    assert "The first scores of this participant" in html


def test_the_page_opens_on_what_changed_since_the_previous_visit(app, client, session):
    catalog = _catalog(app)
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "promis29")
    w4 = _assignment(session, participant, "W4", "promis29")
    _complete(session, bl, catalog, bl.opens_at + timedelta(hours=1))
    worse = dict.fromkeys(("EDDEP04", "EDDEP06", "EDDEP29", "EDDEP41"), 4)
    _complete(session, w4, catalog, w4.opens_at + timedelta(hours=1), worse)
    _sign_in(client, session, "coordinator", study)
    html = _page(client, _url(participant))
    summary = re.search(r'<section class="pt-since"(.*?)</section>', html, re.S)
    assert summary, "no summary of the latest visit"
    text = summary.group(1)
    assert "Latest visit: W4 Week 4" in text
    assert "PROMIS-29" in text
    assert "submitted" in text
    # Depression rose well past the 5-point threshold: named, worse, first.
    assert re.search(r"Depression</strong>: [\d.]+ \(\+[\d.]+ from BL\)", text)
    assert "worse" in text
    assert re.search(r"\d+ other scores? changed by no more than", text)
    # The summary comes before the details, the charts (two points) are drawn.
    assert html.index('class="pt-since"') < html.index('id="pt-details"')
    assert "<svg" in html[html.index('id="pt-scores"') :]


# 6. Messages: the next one due first, then the sent ones newest first -----------


def test_messages_table_lists_the_next_due_first_then_sent_newest_first(
    client, session
):
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "rand36")
    now = datetime.now(UTC)

    def message(kind, channel, due_days, status, sent_days=None):
        return Outbox(
            participant_id=participant.id,
            assignment_id=bl.id,
            channel=channel,
            kind=kind,
            window_opens_at=bl.opens_at,
            due_at=now + timedelta(days=due_days),
            status=status,
            sent_at=None if sent_days is None else now + timedelta(days=sent_days),
        )

    session.add_all(
        [
            message("invitation", "email", -6, OutboxStatus.SENT, -6),
            message("reminder_1", "email", -3, OutboxStatus.SENT, -3),
            message("last_call", "email", 3, OutboxStatus.PENDING),
            message("reminder_2", "email", 1, OutboxStatus.PENDING),
            message("invitation", "sms", -5, OutboxStatus.FAILED),
        ]
    )
    session.flush()
    _sign_in(client, session, "coordinator", study)
    html = _page(client, _url(participant))
    table = html[html.index('id="pt-messages"') :]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td>', table)
    assert rows == [
        ("Reminder", "Email"),  # due tomorrow: the next one
        ("Last call", "Email"),  # due in three days
        ("Reminder", "Email"),  # sent three days ago
        ("Invitation", "SMS"),  # failed, due five days ago
        ("Invitation", "Email"),  # sent six days ago
    ]


# 7. Codes in words, the code kept for data managers -------------------------------


def test_statuses_and_audit_actions_are_words_and_the_csv_keeps_codes(
    app, client, session
):
    catalog = _catalog(app)
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "promis29")
    # Every item blank but one: the scales cannot be scored.
    actor = f"participant:{participant.id}"
    sub = start_or_resume(session, bl, language="en", ui_language="en", actor=actor)
    first = catalog.get("promis29", "2.1").items[0]
    save_answer(session, sub, first, first.codes[0], actor=actor)
    submit(session, sub, actor=actor, catalog=catalog)
    session.flush()
    _sign_in(client, session, "admin", study)
    page = _page(client, _url(participant))
    assert '<span class="muted" title="not_scorable">Not scorable</span>' in page
    correct = _page(client, f"/staff/s/{study.code}/submissions/{sub.id}/correct")
    assert '<span title="not_scorable">Not scorable</span>' in correct
    assert "<td>not_scorable</td>" not in correct

    audit = _page(client, f"/staff/s/{study.code}/audit")
    assert 'Answer saved <code class="audit-code">answer.save</code>' in audit
    assert '<option title="participant.enrol" value="participant.enrol">' in audit
    assert ">Participant enrolled</option>" in audit
    assert ">answer.save</option>" not in audit
    spanish = _page(client, f"/staff/s/{study.code}/audit", **{"Accept-Language": "es"})
    assert "answer.save</code>" in spanish
    assert "Answer saved" not in spanish  # said in Spanish, not in English

    csv = client.get(f"/staff/s/{study.code}/audit.csv").get_data(as_text=True)
    assert ",answer.save," in csv
    assert "Answer saved" not in csv


# 8. A code printed once where the label is the code -------------------------------


def test_a_0_to_10_answer_is_printed_once(app, client, session):
    catalog = _catalog(app)
    study = make_study(session)
    participant = make_participant(session, study)
    bl = _assignment(session, participant, "BL", "promis_global")
    sub = _complete(
        session, bl, catalog, bl.opens_at + timedelta(hours=1), {"Global07r": 1}
    )
    _sign_in(client, session, "coordinator", study)
    page = _page(client, _url(participant))
    row = re.search(r'<th scope="row">Global07r</th>.*?</tr>', page, re.S).group(0)
    assert "<td>1</td>" in row
    assert "1 · 1" not in page
    correct = _page(client, f"/staff/s/{study.code}/submissions/{sub.id}/correct")
    assert "1 <span" not in re.search(r"Global07r|7</th>.*?</tr>", correct).group(0)
    form = _page(
        client,
        f"/staff/s/{study.code}/submissions/{sub.id}/correct?item=Global07r",
    )
    labels = re.findall(r"<span>(\d+(?: [^<]+)?)</span></label>", form)
    assert labels[:2] == ["0 No pain", "1"]
    assert labels[-1] == "10 Worst imaginable pain"

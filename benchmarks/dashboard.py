"""How long the study dashboard takes with 1,000 participants, and in how many queries.

Run: .venv/bin/python benchmarks/dashboard.py [--participants N] [--runs R]

Builds a temporary SQLite file database with the demo study
(``studies/nct06737380.toml``: five timepoints of three questionnaires) spread
over four sites, and N participants (bulk inserted) whose Day 0 is spread over
the past year and the next month, so that every cell state occurs: most
closed windows completed, some missed, some in progress, a few withdrawn, and
a failed message for one participant in ten. Then it signs a study
administrator in and requests the dashboard R times (all sites, then one
site), printing the median and spread of the response time, the number of
SQL statements per request and the page size. Wall-clock times suffer
from other load on the machine; the median CPU time of the process (the
test client, the app and SQLite all run in it) much less. It prints
figures only.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from pro_app.app import create_app  # noqa: E402
from pro_app.auth.grants import grant_role  # noqa: E402
from pro_app.auth.models import Role  # noqa: E402
from pro_app.auth.services import create_user  # noqa: E402
from pro_app.extensions import db  # noqa: E402
from pro_app.notify.models import Outbox  # noqa: E402
from pro_app.participants.models import Participant  # noqa: E402
from pro_app.studies.demo import DEMO_CODE, DEMO_PROTOCOL  # noqa: E402
from pro_app.studies.models import Assignment, Site, Study  # noqa: E402
from pro_app.studies.planning import active_timepoints  # noqa: E402
from pro_app.studies.protocol import load_protocol  # noqa: E402
from pro_app.studies.rules import window_for  # noqa: E402
from pro_app.studies.services import import_protocol  # noqa: E402

ZONES = ("Asia/Jerusalem", "America/New_York", "Europe/London", "UTC")
EMAIL = "bench-admin@example.org"
PASSWORD = "benchmark password 123"  # noqa: S105 - a throw-away local database


def _status(n: int, closes_at: datetime, opens_at: datetime, now: datetime) -> str:
    """A plausible stored status: most of what has closed was completed."""
    if closes_at <= now:
        return "missed" if n % 7 == 0 else "completed"
    if opens_at <= now:
        return ("completed", "in_progress", "open")[n % 3]
    return "scheduled"


def build(session: Any, people: int, now: datetime) -> str:
    import_protocol(session, load_protocol(DEMO_PROTOCOL, None), actor="system:bench")
    study = session.scalar(select(Study).where(Study.code == DEMO_CODE))
    for code in ("02", "03", "04"):
        session.add(Site(study=study, code=code, name=f"Site {code}"))
    session.flush()
    site_ids = [s.id for s in session.scalars(select(Site).order_by(Site.code))]
    today = now.date()
    session.execute(
        insert(Participant),
        [
            {
                "study_id": study.id,
                "site_id": site_ids[n % len(site_ids)],
                "subject_id": f"B-{n:05}",
                "status": "withdrawn" if n % 20 == 19 else "active",
                "day0": today - timedelta(days=n * 400 // people - 30),
                "timezone": ZONES[n % len(ZONES)],
                "created_at": now,
            }
            for n in range(people)
        ],
    )
    timepoints = active_timepoints(session, study.id)
    rows, failed = [], []
    for n, (pid, day0, tz) in enumerate(
        session.execute(
            select(Participant.id, Participant.day0, Participant.timezone).order_by(
                Participant.id
            )
        )
    ):
        for tp in timepoints:
            w = window_for(day0, tp.day_offset, tp.window_before, tp.window_after, tz)
            for ti in tp.instruments:
                rows.append(
                    {
                        "participant_id": pid,
                        "timepoint_id": tp.id,
                        "instrument_id": ti.instrument_id,
                        "instrument_version": ti.instrument_version,
                        "position": ti.position,
                        "target_date": w.target_date,
                        "opens_at": w.opens_at,
                        "due_at": w.due_at,
                        "closes_at": w.closes_at,
                        "status": _status(
                            n + ti.position, w.closes_at, w.opens_at, now
                        ),
                    }
                )
        if n % 10 == 0:
            failed.append(pid)
    for start in range(0, len(rows), 5000):
        session.execute(insert(Assignment), rows[start : start + 5000])
    # Each failed invitation belongs to the participant's first assignment and
    # to the window it opened (the outbox is unique per assignment, kind,
    # channel and window).
    first = {
        pid: (aid, opens_at)
        for pid, aid, opens_at in session.execute(
            select(
                Assignment.participant_id,
                func.min(Assignment.id),
                func.min(Assignment.opens_at),
            )
            .where(Assignment.participant_id.in_(failed))
            .group_by(Assignment.participant_id)
        )
    }
    session.execute(
        insert(Outbox),
        [
            {
                "participant_id": pid,
                "assignment_id": first[pid][0],
                "window_opens_at": first[pid][1],
                "channel": "email",
                "kind": "invitation",
                "due_at": now - timedelta(days=2),
                "status": "failed",
                "attempts": 5,
                "last_error": "SMTPRecipientsRefused 550",
                "created_at": now,
            }
            for pid in failed
        ],
    )
    user = create_user(
        session, email=EMAIL, name="Bench", password=PASSWORD, actor="system:bench"
    )
    grant_role(session, user, study, Role.ADMIN, actor="system:bench", granted_by=None)
    return study.code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pro-bench-"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
            "INSTANCE_PATH": str(tmp),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        engine = db.engine
        started = time.perf_counter()
        with sessionmaker(bind=engine)() as s, s.begin():
            code = build(s, args.participants, now)
        with sessionmaker(bind=engine)() as s:
            count = s.scalar(select(func.count()).select_from(Assignment))
        print(
            f"built {args.participants} participants, {count} assignments in "
            f"{time.perf_counter() - started:.1f} s ({tmp})"
        )
    client = app.test_client()
    login = client.post("/staff/login", data={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 302, login.status_code
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for label, url in (
        ("all sites", f"/staff/s/{code}/"),
        ("one site (?site=02)", f"/staff/s/{code}/?site=02"),
    ):
        times, cpu, counts = [], [], []
        for _ in range(args.runs):
            statements.clear()
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            counts.append(
                sum(s.lstrip().upper().startswith("SELECT") for s in statements)
            )
            assert response.status_code == 200, response.status_code
        size = len(response.get_data())
        print(
            f"dashboard, {label:<20} median {statistics.median(times) * 1000:7.1f} ms"
            f"  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, "
            f"{args.runs} runs), CPU {statistics.median(cpu) * 1000:.1f} ms"
            f"  SELECTs/request {sorted(set(counts))}"
            f"  statements {len(statements)}  page {size / 1024:.0f} KiB"
        )
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

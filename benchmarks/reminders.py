"""How long the reminder job takes to find what is due, with 100,000 assignments.

Run: .venv/bin/python benchmarks/reminders.py [--assignments N]

Builds a temporary SQLite file database with 10,000 participants (ten
timepoints each, Day 0 spread over a year, each with an email address),
then times, with peak Python memory from ``tracemalloc``:

- ``plan_messages`` on a cold outbox (queues the windows opening now),
- ``plan_messages`` again (the steady state of a job run every minute),
- ``claim_due`` of one batch of 100 (the sender's "what is due" query),
- ``send_due`` of the first ten batches of 100 with a sender that discards
  messages (on a cold start, most overdue invitations are superseded by a
  later message and cancelled, which is cheap).

It prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from pro_app.app import create_app  # noqa: E402
from pro_app.extensions import db  # noqa: E402
from pro_app.notify.models import Outbox  # noqa: E402
from pro_app.notify.services import (  # noqa: E402
    SendOptions,
    claim_due,
    plan_messages,
    send_due,
)
from pro_app.participants.contact import ParticipantContact  # noqa: E402
from pro_app.participants.crypto import encrypt  # noqa: E402
from pro_app.participants.models import Participant  # noqa: E402
from pro_app.studies.models import Assignment  # noqa: E402
from pro_app.studies.rules import window_for  # noqa: E402
from pro_app.studies.services import TimepointSpec, create_study  # noqa: E402

TIMEPOINTS = 10
ZONES = ("Asia/Jerusalem", "America/New_York", "Europe/London", "UTC")


class DiscardSender:
    def send(self, message: Any) -> None:
        pass


def measure(label: str, fn: Callable[[], Any]) -> Any:
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<44} {elapsed * 1000:9.1f} ms  "
        f"peak {peak / 2**20:7.2f} MiB  -> {result}"
    )
    return result


def build(session: Any, assignments: int, data_key: str, today: date) -> None:
    specs = [
        TimepointSpec(f"W{4 * n}", f"Week {4 * n}", 28 * n, 3, 3, (("rand36", "1.0"),))
        for n in range(TIMEPOINTS)
    ]
    study = create_study(
        session,
        code="BENCH",
        title="Benchmark",
        timezone="UTC",
        sites=[("01", "Site")],
        timepoints=specs,
        actor="system:bench",
    )
    site, timepoints = study.sites[0], study.timepoints
    people = assignments // TIMEPOINTS
    email = encrypt("someone@example.org", data_key)
    now = datetime.now(UTC)
    for chunk in range(0, people, 1000):
        rows = [
            {
                "study_id": study.id,
                "site_id": site.id,
                "subject_id": f"B-{n:06}",
                "status": "active",
                "day0": today - timedelta(days=n % 365),
                "timezone": ZONES[n % len(ZONES)],
                "created_at": now,
            }
            for n in range(chunk, min(chunk + 1000, people))
        ]
        session.execute(insert(Participant), rows)
    participants = session.execute(
        select(Participant.id, Participant.day0, Participant.timezone)
    ).all()
    session.execute(
        insert(ParticipantContact),
        [
            {"participant_id": p.id, "email_enc": email, "updated_at": now}
            for p in participants
        ],
    )
    batch: list[dict[str, Any]] = []
    for p in participants:
        for tp in timepoints:
            w = window_for(p.day0, tp.day_offset, 3, 3, p.timezone)
            batch.append(
                {
                    "participant_id": p.id,
                    "timepoint_id": tp.id,
                    "instrument_id": "rand36",
                    "instrument_version": "1.0",
                    "position": 1,
                    "target_date": w.target_date,
                    "opens_at": w.opens_at,
                    "due_at": w.due_at,
                    "closes_at": w.closes_at,
                    "status": "scheduled",
                }
            )
        if len(batch) >= 5000:
            session.execute(insert(Assignment), batch)
            batch = []
    if batch:
        session.execute(insert(Assignment), batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignments", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pro-bench-"))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}",
            "INSTANCE_PATH": str(tmp),
        }
    )
    with app.app_context():
        db.create_all()
        key = app.config["DATA_KEY"]
        factory = sessionmaker(bind=db.engine)
        started = time.perf_counter()
        with factory() as s, s.begin():
            build(s, args.assignments, key, date.today())
        with factory() as s:
            count = s.scalar(select(func.count()).select_from(Assignment))
        print(
            f"built {count} assignments in "
            f"{time.perf_counter() - started:.1f} s ({tmp})"
        )
        now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)

        def plan() -> int:
            with factory() as s, s.begin():
                return plan_messages(s, now, data_key=key)

        measure("plan_messages, cold outbox", plan)
        with factory() as s:
            print(
                f"  outbox rows: {s.scalar(select(func.count()).select_from(Outbox))}"
            )
        measure("plan_messages, again (steady state)", plan)

        def claim() -> int:
            with factory() as s, s.begin():
                _, ids = claim_due(
                    s,
                    now,
                    worker_id="bench",
                    batch_size=100,
                    claim_timeout=timedelta(minutes=15),
                )
                s.rollback()  # measure the query only; leave the rows pending
                return len(ids)

        measure("claim_due, one batch of 100", claim)
        options = SendOptions(link_base_url="https://pro.test", data_key=key)

        def send_batch() -> str:
            stats = send_due(
                factory,
                DiscardSender(),
                now,
                worker_id="bench",
                batch_size=100,
                options=options,
                max_batches=10,
            )
            return f"sent {stats.sent}, cancelled {stats.cancelled}"

        measure("send_due, ten batches of 100 (discarding)", send_batch)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

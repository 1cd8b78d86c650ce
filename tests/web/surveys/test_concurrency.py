"""Two devices racing on one assignment: one submission, one current answer."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pro_app.catalog import load_catalog
from pro_app.extensions import db
from pro_app.studies.models import Assignment
from pro_app.surveys import services
from pro_app.surveys.models import Answer, Submission
from tests.conftest import database_app, file_database_url
from tests.factories import make_participant

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def engine(_pg_schema, tmp_path):
    with database_app(file_database_url(tmp_path)) as app, app.app_context():
        yield db.engine


def _race(engine, aid, work, n=4):
    barrier = threading.Barrier(n, timeout=30)
    errors = []

    def run(i):
        with Session(bind=engine) as s:
            try:
                # Line up before touching the database, so no thread holds a
                # transaction while the others wait at the barrier.
                barrier.wait()
                work(s, s.get(Assignment, aid), i)
                s.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [], [repr(e) for e in errors]


def test_racing_starts_and_saves(engine):
    rand36 = load_catalog(ROOT / "instruments").get("rand36", "1.0")
    with Session(bind=engine) as s:
        participant = make_participant(s)
        aid = next(a.id for a in participant.assignments if a.instrument_id == "rand36")
        s.commit()

    def start_and_answer(s, assignment, i):
        submission = services.start_or_resume(
            s, assignment, language="en", ui_language="en", actor=f"device:{i}"
        )
        services.save_answer(s, submission, rand36.item("1"), 1 + i % 5, actor=f"d{i}")

    _race(engine, aid, start_and_answer)
    with Session(bind=engine) as s:
        assert s.scalar(select(func.count(Submission.id))) == 1
        rows = s.scalars(select(Answer).order_by(Answer.id)).all()
        current = [a for a in rows if a.replaced_at is None]
        assert len(current) == 1
        # Every save that changed the value is kept, each replaced by the next.
        assert all(a.replaced_by_id is not None for a in rows if a.replaced_at)
        assert len(rows) >= 1

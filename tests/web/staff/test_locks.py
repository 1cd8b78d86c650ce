import threading
from dataclasses import dataclass
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pro_app.audit.models import AuditEvent
from pro_app.extensions import db
from pro_app.participants.models import Participant
from pro_app.studies.locks import (
    DataLocked,
    LockError,
    LockScope,
    ensure_unlocked,
    is_locked,
    lock,
    scope_of,
    unlock,
)
from pro_app.studies.models import Assignment, DataLock, Study
from pro_app.surveys import services
from pro_app.surveys.models import Answer, Score, Submission, SubmissionStatus
from pro_app.surveys.scores import recompute
from pro_app.web import current_catalog
from tests.conftest import csrf_from, database_app, file_database_url
from tests.factories import complete_assignment, make_link, make_participant
from tests.web.staff.entry_helpers import (
    baseline,
    catalog_of,
    correct_url,
    paper_form_data,
    paper_url,
    sign_in,
)


@dataclass
class World:
    study: Study
    participant: Participant
    other: Participant
    fresh: Assignment  # not started: the participant's save and paper entry
    started: Submission  # in progress: the participant's submit
    done: Submission  # completed: corrections
    person: FlaskClient  # the participant, signed in
    staff: FlaskClient  # a coordinator (enters and corrects)


@pytest.fixture
def world(app, session, client):
    participant = make_participant(session)
    study = participant.study
    other = make_participant(session, study, subject_id="LK-002")
    catalog = catalog_of(app)
    started_assignment = baseline(session, participant, "promis29")
    started = services.start_or_resume(
        session,
        started_assignment,
        language="en",
        ui_language="en",
        actor="participant:x",
    )
    item = catalog.get("promis29", "2.1").items[0]
    services.save_answer(session, started, item, item.codes[0], actor="participant:x")
    done = complete_assignment(
        session, baseline(session, participant, "promis_global"), catalog
    )
    token = make_link(session, participant)
    session.commit()
    assert client.get(f"/p/{token}").status_code == 302
    staff = app.test_client()
    sign_in(staff, session, "coordinator", study)
    return World(
        study,
        participant,
        other,
        baseline(session, participant, "rand36"),
        started,
        done,
        client,
        staff,
    )


def _scope(world, session, scope):
    bl = world.fresh.timepoint
    w4 = next(t for t in world.study.timepoints if t.code == "W4")
    return {
        "study": {},
        "timepoint": {"timepoint": bl},
        "participant": {"participant": world.participant},
        "participant_timepoint": {"participant": world.participant, "timepoint": bl},
        # Locks that do not cover the baseline data of LK-001:
        "other_timepoint": {"timepoint": w4},
        "other_participant": {"participant": world.other},
        "other_participant_timepoint": {"participant": world.other, "timepoint": bl},
    }[scope]


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def _try_everything(world, session) -> dict[str, int]:
    """Attempt each kind of change; return the status codes."""
    statuses = {}
    page = world.person.get(f"/a/{world.fresh.id}/q/1")
    statuses["save"] = world.person.post(
        f"/a/{world.fresh.id}/q/1",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "item_id": "1",
            "item_1": "1",
            "nav": "next",
        },
    ).status_code
    review = world.person.get(f"/a/{world.started.assignment_id}/review")
    statuses["submit"] = world.person.post(
        f"/a/{world.started.assignment_id}/submit",
        data={"csrf_token": csrf_from(review.get_data(as_text=True))},
    ).status_code
    url = paper_url("TEST-1", world.fresh.id)
    data = paper_form_data(
        world.staff, "/staff/account", {}, administered_on=date.today()
    )
    statuses["paper"] = world.staff.post(url, data=data).status_code
    url = correct_url("TEST-1", world.done.id) + "?item=Global01"
    token = csrf_from(world.staff.get("/staff/account").get_data(as_text=True))
    statuses["correct"] = world.staff.post(
        url,
        data={
            "csrf_token": token,
            "item_id": "Global01",
            "code": "2",
            "reason": "x y z",
        },
    ).status_code
    return statuses


COVERING = ["study", "timepoint", "participant", "participant_timepoint"]


@pytest.mark.parametrize("scope", COVERING)
def test_each_lock_scope_blocks_every_change(world, session, scope):
    data_lock = lock(
        session,
        world.study,
        **_scope(world, session, scope),
        actor="system:test",
        reason="frozen for analysis",
    )
    assert scope_of(data_lock) is LockScope(scope)
    answers_before = _count(session, Answer)
    statuses = _try_everything(world, session)
    assert statuses == {"save": 409, "submit": 409, "paper": 409, "correct": 409}
    assert _count(session, Answer) == answers_before
    assert session.get(Submission, world.started.id).status is (
        SubmissionStatus.IN_PROGRESS
    )
    assert (
        session.scalar(
            select(func.count(Submission.id)).where(
                Submission.assignment_id == world.fresh.id
            )
        )
        == 0
    )
    page = world.person.get(f"/a/{world.fresh.id}/q/1")
    token = csrf_from(page.get_data(as_text=True))
    locked = world.person.post(
        f"/a/{world.fresh.id}/q/1",
        data={"csrf_token": token, "item_id": "1", "item_1": "1", "nav": "next"},
    )
    assert "locked" in locked.get_data(as_text=True)

    # Unlocking restores every change.
    unlock(session, data_lock, actor="system:test", reason="query resolved")
    statuses = _try_everything(world, session)
    assert statuses == {"save": 302, "submit": 302, "paper": 409, "correct": 302}
    # (The paper entry now meets the participant's own started submission.)
    assert session.get(Submission, world.started.id).status is (
        SubmissionStatus.COMPLETED
    )


@pytest.mark.parametrize(
    "scope", ["other_timepoint", "other_participant", "other_participant_timepoint"]
)
def test_locks_elsewhere_do_not_block(world, session, scope):
    lock(
        session,
        world.study,
        **_scope(world, session, scope),
        actor="system:test",
        reason="elsewhere",
    )
    assert is_locked(session, world.fresh) is None
    statuses = _try_everything(world, session)
    assert statuses == {"save": 302, "submit": 302, "paper": 409, "correct": 302}


def test_paper_entry_blocked_by_lock_shows_why(world, session):
    lock(
        session,
        world.study,
        participant=world.participant,
        actor="system:test",
        reason="monitoring visit",
    )
    page = world.staff.get(paper_url("TEST-1", world.fresh.id))
    assert page.status_code == 409
    assert "locked" in page.get_data(as_text=True)
    assert "Participant LK-001, every timepoint" in page.get_data(as_text=True)


def test_recompute_leaves_locked_submissions_alone(app, world, session):
    lock(session, world.study, actor="system:test", reason="database lock")
    scores = _count(session, Score)
    scored, _changed = recompute(
        session, catalog=catalog_of(app), actor="system:test", study_code="TEST-1"
    )
    assert scored == 0
    assert _count(session, Score) == scores


def test_ensure_unlocked_for_a_participant(world, session):
    bl = world.fresh.timepoint
    lock(session, world.study, timepoint=bl, actor="system:test", reason="BL clean")
    # A timepoint lock leaves the participant as a whole (Day 0, withdrawal) alone...
    ensure_unlocked(session, participant=world.participant)
    # ...but not that timepoint's assignments.
    with pytest.raises(DataLocked):
        ensure_unlocked(session, participant=world.participant, assignment=world.fresh)
    lock(
        session,
        world.study,
        participant=world.participant,
        actor="system:test",
        reason="query",
    )
    with pytest.raises(DataLocked) as raised:
        ensure_unlocked(session, participant=world.participant)
    assert scope_of(raised.value.lock) is LockScope.PARTICIPANT
    ensure_unlocked(session, participant=world.other)


def test_service_rules(world, session):
    with pytest.raises(LockError):
        lock(session, world.study, actor="system:test", reason="  ")
    first = lock(session, world.study, actor="system:test", reason="final")
    assert world.study.locked_at is not None
    with pytest.raises(LockError):
        lock(session, world.study, actor="system:test", reason="again")
    with pytest.raises(LockError):
        unlock(session, first, actor="system:test", reason="")
    unlock(session, first, actor="system:test", reason="reopened")
    assert world.study.locked_at is None
    with pytest.raises(LockError):
        unlock(session, first, actor="system:test", reason="twice")
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "data_lock")
    ).all()
    assert actions == ["data.lock", "data.unlock"]


def _lock_via_page(client, **fields):
    page = client.get("/staff/s/TEST-1/locks")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True))}
    data.update({f"lock-{k}": str(v) for k, v in fields.items()})
    return client.post("/staff/s/TEST-1/locks", data=data)


def test_locks_page_locks_and_unlocks_with_reasons(app, world, session):
    manager = app.test_client()
    user = sign_in(manager, session, "data_manager", world.study)
    bl = world.fresh.timepoint
    assert (
        _lock_via_page(manager, participant="", timepoint="", reason="").status_code
        == 400
    )
    assert _count(session, DataLock) == 0
    cases = [
        ({"participant": "", "timepoint": ""}, LockScope.STUDY),
        ({"participant": "", "timepoint": bl.id}, LockScope.TIMEPOINT),
        ({"participant": world.other.id, "timepoint": ""}, LockScope.PARTICIPANT),
        (
            {"participant": world.other.id, "timepoint": bl.id},
            LockScope.PARTICIPANT_TIMEPOINT,
        ),
    ]
    for fields, scope in cases:
        response = _lock_via_page(manager, reason="cleaning done", **fields)
        assert response.status_code == 302, response.get_data(as_text=True)
        row = session.scalars(select(DataLock).order_by(DataLock.id.desc())).first()
        assert scope_of(row) is scope
        assert (row.locked_by, row.reason) == (f"staff:{user.id}", "cleaning done")
    duplicate = _lock_via_page(
        manager, participant="", timepoint="", reason="once more"
    )
    assert duplicate.status_code == 409

    page = manager.get("/staff/s/TEST-1/locks").get_data(as_text=True)
    assert "The whole study" in page
    assert '="None"' not in page
    assert "Participant LK-002 at BL (Baseline)" in page
    study_lock = session.scalar(
        select(DataLock).where(
            DataLock.participant_id.is_(None), DataLock.timepoint_id.is_(None)
        )
    )
    url = f"/staff/s/TEST-1/locks/{study_lock.id}/unlock"
    token = csrf_from(page)
    assert manager.post(url, data={"csrf_token": token}).status_code == 400
    assert session.get(DataLock, study_lock.id).unlocked_at is None
    response = manager.post(
        url, data={"csrf_token": token, "unlock-reason": "reopened for query"}
    )
    assert response.status_code == 302
    session.expire_all()
    row = session.get(DataLock, study_lock.id)
    assert row.unlocked_by == f"staff:{user.id}"
    assert row.unlock_reason == "reopened for query"
    page = manager.get("/staff/s/TEST-1/locks").get_data(as_text=True)
    assert "Past locks" in page
    assert "reopened for query" in page
    again = manager.post(
        url, data={"csrf_token": token, "unlock-reason": "reopened again"}
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator", 403),
        ("monitor", 403),
        ("investigator", 403),
        ("data_manager", 302),
        ("admin", 302),
    ],
)
def test_only_data_managers_and_admins_lock(app, session, role, status):
    participant = make_participant(session)
    client = app.test_client()
    sign_in(client, session, role, participant.study)
    if status == 403:
        assert client.get("/staff/s/TEST-1/locks").status_code == 403
        token = csrf_from(client.get("/staff/account").get_data(as_text=True))
        response = client.post(
            "/staff/s/TEST-1/locks",
            data={"csrf_token": token, "lock-reason": "not mine to lock"},
        )
    else:
        response = _lock_via_page(client, participant="", timepoint="", reason="end")
    assert response.status_code == status
    assert _count(session, DataLock) == (1 if status == 302 else 0)


def test_site_limited_manager_locks_only_own_participants(app, session):
    from tests.factories import make_study

    study = make_study(session, sites=[("01", "One"), ("02", "Two")])
    one, two = sorted(study.sites, key=lambda s: s.code)
    mine = make_participant(session, study, site=one, subject_id="A-1")
    theirs = make_participant(session, study, site=two, subject_id="B-1")
    client = app.test_client()
    sign_in(client, session, "data_manager", study, site=one)
    page = client.get("/staff/s/TEST-1/locks").get_data(as_text=True)
    assert "A-1" in page
    assert "B-1" not in page
    assert (
        _lock_via_page(client, participant="", timepoint="", reason="all").status_code
        == 403
    )
    assert (
        _lock_via_page(
            client, participant=theirs.id, timepoint="", reason="theirs"
        ).status_code
        == 400
    )
    assert (
        _lock_via_page(
            client, participant=mine.id, timepoint="", reason="mine"
        ).status_code
        == 302
    )
    theirs_lock = lock(
        session, study, participant=theirs, actor="system:test", reason="other site"
    )
    token = csrf_from(page)
    response = client.post(
        f"/staff/s/TEST-1/locks/{theirs_lock.id}/unlock",
        data={"csrf_token": token, "unlock-reason": "not my site"},
    )
    assert response.status_code == 404


@pytest.fixture
def engine(_pg_schema, tmp_path):
    with database_app(file_database_url(tmp_path)) as app, app.app_context():
        yield db.engine, current_catalog()


def test_a_lock_waits_for_a_change_already_checked(engine):
    # A save that passed the lock check commits before a new lock can: the
    # lock never lands between a writer's check and its commit.
    engine, catalog = engine
    with Session(bind=engine) as s:
        participant = make_participant(s)
        study_id, aid = participant.study_id, baseline(s, participant, "rand36").id
        s.commit()
    item = catalog.get("rand36", "1.0").item("1")
    writer = Session(bind=engine)
    assignment = writer.get(Assignment, aid)
    submission = services.start_or_resume(
        writer, assignment, language="en", ui_language="en", actor="participant:x"
    )
    services.save_answer(writer, submission, item, 2, actor="participant:x")
    errors = []

    def take_lock():
        with Session(bind=engine) as s:
            try:
                lock(s, s.get(Study, study_id), actor="system:test", reason="now")
                s.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    locker = threading.Thread(target=take_lock)
    locker.start()
    locker.join(timeout=0.5)
    assert locker.is_alive(), "the lock did not wait for the open change"
    writer.commit()
    writer.close()
    locker.join(timeout=10)
    assert not locker.is_alive()
    assert errors == []
    with Session(bind=engine) as s:
        assert s.scalar(select(func.count(Answer.id))) == 1
        submission = s.scalar(select(Submission))
        with pytest.raises(DataLocked):
            services.save_answer(s, submission, item, 3, actor="participant:x")


def test_a_change_waits_for_a_lock_being_taken(engine):
    # A save that starts while a lock is being taken sees it once it lands.
    engine, catalog = engine
    with Session(bind=engine) as s:
        participant = make_participant(s)
        study_id, aid = participant.study_id, baseline(s, participant, "rand36").id
        services.start_or_resume(
            s, s.get(Assignment, aid), language="en", ui_language="en", actor="p"
        )
        s.commit()
    item = catalog.get("rand36", "1.0").item("1")
    locker = Session(bind=engine)
    lock(locker, locker.get(Study, study_id), actor="system:test", reason="now")
    outcome = []

    def save():
        with Session(bind=engine) as s:
            submission = s.scalar(select(Submission))
            try:
                services.save_answer(s, submission, item, 2, actor="participant:x")
                s.commit()
                outcome.append("saved")
            except DataLocked:
                outcome.append("locked")

    writer = threading.Thread(target=save)
    writer.start()
    writer.join(timeout=0.5)
    assert writer.is_alive(), "the save did not wait for the lock being taken"
    locker.commit()
    locker.close()
    writer.join(timeout=10)
    assert outcome == ["locked"]
    with Session(bind=engine) as s:
        assert s.scalar(select(func.count(Answer.id))) == 0

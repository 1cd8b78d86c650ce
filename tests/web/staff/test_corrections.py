import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.scoring import score_answers
from pro_app.surveys.entry import corrections_for
from pro_app.surveys.models import Answer, Score
from pro_app.surveys.scores import current_scores
from tests.conftest import csrf_from
from tests.factories import complete_assignment, make_participant, make_study
from tests.web.staff.entry_helpers import (
    baseline,
    catalog_of,
    correct_url,
    sign_in,
)


@pytest.fixture
def submitted(app, session):
    participant = make_participant(session)
    assignment = baseline(session, participant, "promis_global")
    catalog = catalog_of(app)
    submission = complete_assignment(session, assignment, catalog)
    session.flush()
    return participant, submission, catalog


def _post(client, url, **data):
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _answers(session, submission_id, item_id):
    return session.scalars(
        select(Answer)
        .where(Answer.submission_id == submission_id, Answer.item_id == item_id)
        .order_by(Answer.id)
    ).all()


def test_correction_keeps_the_old_answer_and_rescores(client, session, submitted):
    participant, submission, catalog = submitted
    user = sign_in(client, session, "data_manager", participant.study)
    scores_before = {s.id: s.value for s in session.scalars(select(Score))}
    url = correct_url("TEST-1", submission.id)
    page = client.get(url + "?item=Global01").get_data(as_text=True)
    assert "In general, would you say your health is" in page
    assert '="None"' not in page
    response = _post(
        client,
        url + "?item=Global01",
        item_id="Global01",
        code="2",
        reason="Source form shows 2",
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    old, new = _answers(session, submission.id, "Global01")
    assert (old.code, new.code) == (5, 2)
    assert old.replaced_at is not None
    assert old.replaced_by_id == new.id
    assert new.actor == f"staff:{user.id}"
    assert new.reason == "Source form shows 2"

    # Old score rows are kept and marked; new rows match scoring the new answers.
    rows = session.scalars(select(Score).order_by(Score.id)).all()
    kept = [r for r in rows if r.id in scores_before]
    assert len(kept) == len(scores_before)
    replaced = [r for r in kept if r.replaced_at is not None]
    assert replaced, "the correction changed no score"
    answers = {
        a.item_id: a.code
        for a in session.scalars(
            select(Answer).where(
                Answer.submission_id == submission.id, Answer.replaced_at.is_(None)
            )
        )
    }
    expected = {
        s.scale_id: s.value
        for s in score_answers(
            "promis_global", answers, version="1.2", catalog=catalog, settings={}
        ).scales
    }
    assert {s.scale_id: s.value for s in current_scores(session, submission)} == (
        expected
    )
    assert {r.scale_id for r in replaced} <= set(expected)

    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "answer.correct")
    )
    assert event.old_value["code"] == 5
    assert event.new_value["code"] == 2
    assert event.reason == "Source form shows 2"
    assert event.actor == f"staff:{user.id}"
    assert session.scalar(
        select(AuditEvent).where(AuditEvent.action == "scores.recompute")
    )

    [correction] = corrections_for(session, submission)
    assert (correction.item_id, correction.old_code, correction.new_code) == (
        "Global01",
        5,
        2,
    )
    page = client.get(url).get_data(as_text=True)
    assert "corrected by staff" in page
    assert "Source form shows 2" in page


def test_a_correction_to_blank_is_allowed(client, session, submitted):
    participant, submission, _catalog = submitted
    sign_in(client, session, "coordinator", participant.study)
    url = correct_url("TEST-1", submission.id)
    response = _post(
        client,
        url + "?item=Global02",
        item_id="Global02",
        code="",
        reason="Left blank on the form",
    )
    assert response.status_code == 302
    assert [a.code for a in _answers(session, submission.id, "Global02")] == [5, None]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reason_is_required(client, session, submitted, reason):
    participant, submission, _catalog = submitted
    sign_in(client, session, "data_manager", participant.study)
    url = correct_url("TEST-1", submission.id)
    response = _post(
        client, url + "?item=Global01", item_id="Global01", code="4", reason=reason
    )
    assert response.status_code == 400
    assert len(_answers(session, submission.id, "Global01")) == 1
    assert not session.scalar(
        select(AuditEvent).where(AuditEvent.action == "answer.correct")
    )


def test_the_same_value_or_a_bad_code_changes_nothing(client, session, submitted):
    participant, submission, _catalog = submitted
    sign_in(client, session, "data_manager", participant.study)
    url = correct_url("TEST-1", submission.id) + "?item=Global01"
    same = _post(client, url, item_id="Global01", code="5", reason="recheck")
    assert same.status_code == 400
    assert "already the recorded answer" in same.get_data(as_text=True)
    bad = _post(client, url, item_id="Global01", code="42", reason="tampered")
    assert bad.status_code == 400
    unknown = _post(client, url, item_id="NOPE", code="1", reason="tampered")
    assert unknown.status_code == 400
    assert len(_answers(session, submission.id, "Global01")) == 1


def test_only_submitted_questionnaires_are_corrected(client, session, app):
    participant = make_participant(session)
    assignment = baseline(session, participant, "promis_global")
    from pro_app.surveys import services

    submission = services.start_or_resume(
        session, assignment, language="en", ui_language="en", actor="participant:1"
    )
    sign_in(client, session, "data_manager", participant.study)
    response = client.get(correct_url("TEST-1", submission.id))
    assert response.status_code == 409


def test_who_may_correct(client, session, app, submitted):
    participant, submission, _catalog = submitted
    url = correct_url("TEST-1", submission.id)
    sign_in(client, session, "investigator", participant.study)
    assert client.get(url).status_code == 403
    monitor = app.test_client()
    sign_in(monitor, session, "monitor", participant.study)
    assert monitor.get(url).status_code == 403
    outsider = app.test_client()
    sign_in(outsider, session, "data_manager", make_study(session, code="OTHER-1"))
    assert outsider.get(url).status_code == 404
    assert outsider.get(correct_url("OTHER-1", submission.id)).status_code == 404

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from pro_app.audit.models import AuditEvent
from pro_app.scoring import score_answers
from pro_app.studies.rules import AssignmentStatus
from pro_app.surveys.models import Answer, Mode, Score, Submission, SubmissionStatus
from tests.factories import complete_assignment, make_participant, make_study
from tests.web.staff.entry_helpers import (
    baseline,
    catalog_of,
    paper_form_data,
    paper_url,
    sign_in,
    varied_codes,
)


@pytest.fixture
def world(app, session):
    participant = make_participant(session)
    # Enrolled three days ago: the baseline window opened six days ago.
    participant.created_at -= timedelta(days=3)
    assignment = baseline(session, participant, "rand36")
    catalog = catalog_of(app)
    instrument = catalog.get("rand36", "1.0")
    return participant, assignment, catalog, instrument


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_paper_entry_stores_scores_and_audits(client, session, world):
    participant, assignment, catalog, instrument = world
    user = sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    page = client.get(url).get_data(as_text=True)
    # One page with every item, each a group with a blank choice first.
    assert page.count('<fieldset class="entry-item') == len(instrument.items)
    assert "Vigorous activities" in page
    assert '="None"' not in page
    codes = varied_codes(instrument)
    day = date.today() - timedelta(days=1)
    data = paper_form_data(client, url, codes, administered_on=day, note="scan 12")
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    submission = session.scalar(select(Submission))
    # Straight to the stored answers and scores, to check them against the paper.
    assert response.headers["Location"].endswith(
        f"/submissions/{submission.id}/correct"
    )

    actor = f"staff:{user.id}"
    assert submission.mode is Mode.PAPER
    assert submission.entered_by == actor
    assert submission.administered_on == day
    assert submission.language == "en"
    assert submission.status is SubmissionStatus.COMPLETED
    assert submission.assignment.status is AssignmentStatus.COMPLETED
    answers = session.scalars(select(Answer).order_by(Answer.id)).all()
    assert {a.item_id: a.code for a in answers} == codes
    assert {a.actor for a in answers} == {actor}

    expected = score_answers(
        "rand36", codes, version="1.0", catalog=catalog, settings={}
    ).scales
    stored = {s.scale_id: s for s in session.scalars(select(Score))}
    assert set(stored) == {s.scale_id for s in expected}
    for scale in expected:
        row = stored[scale.scale_id]
        assert (row.status, row.raw, row.value, row.n_answered, row.prorated) == (
            scale.status,
            scale.raw,
            scale.value,
            scale.n_answered,
            scale.prorated,
        )

    events = session.scalars(select(AuditEvent).where(AuditEvent.actor == actor))
    actions = [e.action for e in events]
    assert actions.count("answer.save") == len(instrument.items)
    assert {"submission.enter", "submission.complete", "scores.compute"} <= set(actions)
    entered = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "submission.enter")
    )
    assert entered.new_value["entered_by"] == actor
    assert entered.new_value["mode"] == "paper"
    assert entered.new_value["administered_on"] == day.isoformat()
    assert entered.new_value["outside_window"] is False
    assert entered.new_value["note"] == "scan 12"


def test_interview_mode_is_recorded(client, session, world):
    participant, assignment, _catalog, instrument = world
    sign_in(client, session, "investigator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    data = paper_form_data(
        client, url, {}, administered_on=date.today(), mode="interview"
    )
    response = client.post(url, data=data)
    assert response.status_code == 302
    # Investigators do not correct: back to the participant's page.
    assert response.headers["Location"] == (
        f"/staff/s/TEST-1/participants/{participant.id}"
    )
    submission = session.scalar(select(Submission))
    assert submission.mode is Mode.INTERVIEW
    # Every item left blank is recorded as seen and not answered.
    codes = session.scalars(select(Answer.code)).all()
    assert codes == [None] * len(instrument.items)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("item_1", "9"),  # not a code of item 1
        ("item_1", "one"),
        ("mode", "self"),  # participants' own mode cannot be claimed
        ("item_nope", "1"),  # unknown items are ignored by the form...
    ],
)
def test_tampered_post_is_refused_and_nothing_saved(
    client, session, world, field, value
):
    participant, assignment, _catalog, instrument = world
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    data = paper_form_data(
        client, url, varied_codes(instrument), administered_on=date.today()
    )
    data[field] = value
    response = client.post(url, data=data)
    if field == "item_nope":
        # ...so the form goes through with the real items only.
        assert response.status_code == 302
        assert _count(session, Answer) == len(instrument.items)
        return
    assert response.status_code == 400
    assert _count(session, Submission) == 0
    assert _count(session, Answer) == 0
    assert _count(session, Score) == 0


def test_a_language_without_validated_text_is_refused(client, session, world):
    participant, assignment, _catalog, _instrument = world
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    data = paper_form_data(client, url, {}, administered_on=date.today())
    data["language"] = "xx"
    assert client.post(url, data=data).status_code == 400
    assert _count(session, Submission) == 0


def test_future_date_is_refused(client, session, world):
    participant, assignment, _catalog, _instrument = world
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    tomorrow = date.today() + timedelta(days=1)
    data = paper_form_data(client, url, {}, administered_on=tomorrow)
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "cannot be in the future" in response.get_data(as_text=True)
    assert _count(session, Submission) == 0


def test_date_before_enrolment_is_refused(client, session, world):
    participant, assignment, _catalog, _instrument = world
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    before = participant.created_at.date() - timedelta(days=1)
    data = paper_form_data(client, url, {}, administered_on=before)
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "before the participant was enrolled" in response.get_data(as_text=True)
    assert _count(session, Submission) == 0


def test_outside_the_window_needs_a_confirmation_that_is_audited(client, session, app):
    # Enrolled 20 days ago with Day 0 then: the baseline window closed 12 days ago.
    participant = make_participant(session, day0=date.today() - timedelta(days=20))
    participant.created_at -= timedelta(days=20)
    assignment = baseline(session, participant, "promis_global")
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    day = date.today() - timedelta(days=2)
    data = paper_form_data(client, url, {}, administered_on=day)
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "outside the window" in response.get_data(as_text=True)
    assert _count(session, Submission) == 0

    data = paper_form_data(client, url, {}, administered_on=day, outside_window="y")
    assert client.post(url, data=data).status_code == 302
    entered = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "submission.enter")
    )
    assert entered.new_value["outside_window"] is True


def test_already_started_online_is_refused(client, session, world):
    participant, assignment, catalog, _instrument = world
    submission = complete_assignment(session, assignment, catalog)
    sign_in(client, session, "coordinator", participant.study)
    url = paper_url("TEST-1", assignment.id)
    page = client.get(url)
    assert page.status_code == 409
    assert "correct the submitted answers instead" in page.get_data(as_text=True)
    assert f"/submissions/{submission.id}/correct" in page.get_data(as_text=True)
    assert 'name="administered_on"' not in page.get_data(as_text=True)
    data = paper_form_data(client, "/staff/account", {}, administered_on=date.today())
    data["language"] = "en"
    assert client.post(url, data=data).status_code == 409
    assert session.scalars(select(Submission.id)).all() == [submission.id]


def test_cancelled_and_withdrawn_are_refused(client, session, world):
    participant, assignment, _catalog, _instrument = world
    assignment.status = AssignmentStatus.CANCELLED
    sign_in(client, session, "coordinator", participant.study)
    response = client.get(paper_url("TEST-1", assignment.id))
    assert response.status_code == 409
    assert "cancelled" in response.get_data(as_text=True)


def test_who_may_enter(client, session, app, world):
    participant, assignment, _catalog, _instrument = world
    other = make_study(session, code="OTHER-1")
    url = paper_url("TEST-1", assignment.id)
    sign_in(client, session, "monitor", participant.study)
    assert client.get(url).status_code == 403
    second = app.test_client()
    sign_in(second, session, "investigator", participant.study)
    assert second.get(url).status_code == 200
    third = app.test_client()
    sign_in(third, session, "coordinator", other)
    assert third.get(url).status_code == 404
    # Own study in the URL, another study's assignment: not found either.
    assert third.get(paper_url("OTHER-1", assignment.id)).status_code == 404


def test_site_limited_coordinator_sees_only_own_site(client, session, app):
    study = make_study(session, sites=[("01", "One"), ("02", "Two")])
    one, two = sorted(study.sites, key=lambda s: s.code)
    participant = make_participant(session, study, site=two)
    assignment = baseline(session, participant, "rand36")
    sign_in(client, session, "coordinator", study, site=one)
    assert client.get(paper_url("TEST-1", assignment.id)).status_code == 404

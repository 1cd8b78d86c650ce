from datetime import timedelta

from sqlalchemy import func, select

from pro_app.audit.models import AuditEvent
from pro_app.dbtypes import utcnow
from pro_app.studies.models import Assignment
from pro_app.surveys.models import Answer, Submission, SubmissionStatus
from tests.conftest import csrf_from
from tests.factories import make_link, make_participant
from tests.web.surveys.helpers import answer, item_url


def _answers(session):
    return session.scalars(select(Answer).order_by(Answer.id)).all()


def test_home_lists_the_open_questionnaires(logged_in):
    page = logged_in.client.get("/home").get_data(as_text=True)
    assert page.count('class="card"') == 3
    # Each named as its form prints its title.
    for name in (
        "RAND 36-Item Health Survey 1.0",
        "PROMIS-29 Profile v2.1",
        "PROMIS Scale v1.2 - Global Health",
    ):
        assert name in page


def test_resume_starts_at_the_first_item(logged_in):
    aid = logged_in.assignments["rand36"]
    response = logged_in.client.get(f"/a/{aid}/")
    assert response.headers["Location"] == item_url(aid, 1)


def test_item_screen_shows_one_item_with_labelled_options(logged_in):
    aid = logged_in.assignments["rand36"]
    page = logged_in.client.get(item_url(aid, 3)).get_data(as_text=True)
    assert "Vigorous activities" in page
    assert "Moderate activities" not in page
    assert "<legend " in page
    assert page.count('type="radio"') == 3
    assert "Question 3 of 36" in page
    assert "Does your health now limit you" in page
    assert "New instructions" in page  # the grid's stem starts here
    second = logged_in.client.get(item_url(aid, 4)).get_data(as_text=True)
    assert "Does your health now limit you" in second
    assert "New instructions" not in second


def test_answer_is_saved_and_the_next_item_follows(logged_in, session):
    aid = logged_in.assignments["rand36"]
    response = answer(logged_in.client, aid, 1, "1", 2)
    assert response.status_code == 302
    assert response.headers["Location"] == item_url(aid, 2)
    rows = _answers(session)
    assert [(a.item_id, a.code, a.replaced_at) for a in rows] == [("1", 2, None)]
    submission = session.scalar(select(Submission))
    assert submission.status is SubmissionStatus.IN_PROGRESS
    assert (submission.instrument_id, submission.instrument_version) == (
        "rand36",
        "1.0",
    )
    assert submission.language == "en"


def test_the_same_answer_twice_stores_one_row(logged_in, session):
    aid = logged_in.assignments["rand36"]
    answer(logged_in.client, aid, 1, "1", 2)
    answer(logged_in.client, aid, 1, "1", 2)
    assert len(_answers(session)) == 1
    assert session.scalar(select(func.count(Submission.id))) == 1


def test_a_changed_answer_keeps_the_old_row_and_audits_both(logged_in, session):
    aid = logged_in.assignments["rand36"]
    answer(logged_in.client, aid, 1, "1", 2)
    answer(logged_in.client, aid, 1, "1", 4)
    old, new = _answers(session)
    assert (old.code, new.code) == (2, 4)
    assert old.replaced_at is not None
    assert old.replaced_by_id == new.id
    assert new.replaced_at is None
    saves = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "answer.save")
    ).all()
    assert [(e.old_value, e.new_value["code"]) for e in saves] == [
        (None, 2),
        ({"item_id": "1", "code": 2}, 4),
    ]


def test_autosave_answers_204_and_stores(logged_in, session):
    aid = logged_in.assignments["promis29"]
    response = answer(logged_in.client, aid, 1, "PFA11", 5, nav="save")
    assert response.status_code == 204
    assert [(a.item_id, a.code) for a in _answers(session)] == [("PFA11", 5)]


def test_next_without_a_choice_records_a_skip_and_back_does_not(logged_in, session):
    aid = logged_in.assignments["rand36"]
    answer(logged_in.client, aid, 1, "1", None, nav="back")
    assert _answers(session) == []
    answer(logged_in.client, aid, 1, "1", None, nav="next")
    assert [(a.item_id, a.code) for a in _answers(session)] == [("1", None)]


def test_resume_lands_on_the_first_item_not_yet_seen(logged_in):
    aid = logged_in.assignments["rand36"]
    for position in range(1, 6):
        answer(logged_in.client, aid, position, str(position), 1)
    response = logged_in.client.get(f"/a/{aid}/")
    assert response.headers["Location"] == item_url(aid, 6)


def test_out_of_range_and_garbage_codes_are_refused(logged_in, session):
    aid = logged_in.assignments["rand36"]
    for bad in ("6", "0", "-1", "abc", "1.5"):
        response = answer(logged_in.client, aid, 1, "1", bad)
        assert response.status_code == 400, bad
        assert "Choose one of the answers shown" in response.get_data(as_text=True)
    assert _answers(session) == []
    assert session.scalar(select(func.count(Submission.id))) == 0


def test_a_page_built_for_another_item_is_refused(logged_in, session):
    aid = logged_in.assignments["rand36"]
    response = answer(logged_in.client, aid, 1, "2", 1)  # item 2 posted to item 1
    assert response.status_code == 400
    response = answer(logged_in.client, aid, 1, "NOPE", 1)
    assert response.status_code == 400
    assert _answers(session) == []


def test_missing_or_wrong_csrf_token_is_refused(logged_in, session):
    aid = logged_in.assignments["rand36"]
    for token in (None, "forged"):
        data = {"item_id": "1", "item_1": "1", "nav": "next"}
        if token:
            data["csrf_token"] = token
        response = logged_in.client.post(item_url(aid, 1), data=data)
        assert response.status_code == 400
        assert "This page has expired" in response.get_data(as_text=True)
    assert _answers(session) == []


def test_unknown_positions_and_other_peoples_assignments_are_404(logged_in, session):
    aid = logged_in.assignments["rand36"]
    assert logged_in.client.get(item_url(aid, 0)).status_code == 404
    assert logged_in.client.get(item_url(aid, 37)).status_code == 404
    other = make_participant(session, logged_in.participant.study, subject_id="LK-002")
    session.commit()
    theirs = other.assignments[0].id
    assert logged_in.client.get(item_url(theirs, 1)).status_code == 404
    page = logged_in.client.get(item_url(aid, 1)).get_data(as_text=True)
    response = logged_in.client.post(
        item_url(theirs, 1),
        data={"csrf_token": csrf_from(page), "item_id": "1", "item_1": "1"},
    )
    assert response.status_code == 404
    assert _answers(session) == []


def test_a_closed_window_refuses_answers(logged_in, session):
    aid = logged_in.assignments["rand36"]
    page = logged_in.client.get(item_url(aid, 1)).get_data(as_text=True)
    assignment = session.get(Assignment, aid)
    assignment.closes_at = utcnow() - timedelta(minutes=1)
    session.commit()
    response = logged_in.client.post(
        item_url(aid, 1),
        data={"csrf_token": csrf_from(page), "item_id": "1", "item_1": "1"},
    )
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True)
    assert _answers(session) == []


def test_review_marks_skipped_items_and_submit_is_idempotent(logged_in, session):
    aid = logged_in.assignments["promis_global"]
    ids = [
        "Global01",
        "Global02",
        "Global03",
        "Global04",
        "Global05",
        "Global09r",
        "Global06",
        "Global10r",
        "Global08r",
        "Global07r",
    ]
    for position, item_id in enumerate(ids, start=1):
        code = None if item_id == "Global05" else (7 if item_id == "Global07r" else 3)
        last = answer(logged_in.client, aid, position, item_id, code)
    assert last.headers["Location"] == f"/a/{aid}/review"
    review = logged_in.client.get(f"/a/{aid}/review").get_data(as_text=True)
    assert review.count("Not answered") == 1
    assert "You did not answer 1 question" in review
    token = csrf_from(review)
    first = logged_in.client.post(f"/a/{aid}/submit", data={"csrf_token": token})
    second = logged_in.client.post(f"/a/{aid}/submit", data={"csrf_token": token})
    assert first.headers["Location"] == f"/a/{aid}/done"
    assert second.headers["Location"] == f"/a/{aid}/done"
    submission = session.scalar(select(Submission))
    session.refresh(submission)
    assert submission.status is SubmissionStatus.COMPLETED
    assert submission.completed_at is not None
    assert session.get(Assignment, aid).status == "completed"
    completes = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "submission.complete"
        )
    )
    assert completes == 1
    done = logged_in.client.get(f"/a/{aid}/done").get_data(as_text=True)
    assert "Thank you" in done


def test_submitted_answers_are_read_only(logged_in, session):
    aid = logged_in.assignments["promis_global"]
    answer(logged_in.client, aid, 1, "Global01", 5)
    review = logged_in.client.get(f"/a/{aid}/review").get_data(as_text=True)
    logged_in.client.post(f"/a/{aid}/submit", data={"csrf_token": csrf_from(review)})
    assert (
        logged_in.client.get(item_url(aid, 1)).headers["Location"] == f"/a/{aid}/done"
    )
    response = logged_in.client.post(
        item_url(aid, 1),
        data={
            "csrf_token": csrf_from(review),
            "item_id": "Global01",
            "item_Global01": "1",
        },
    )
    assert response.status_code == 409
    assert "Already submitted" in response.get_data(as_text=True)
    assert [(a.item_id, a.code) for a in _answers(session)] == [("Global01", 5)]


def test_two_devices_share_one_submission(client, session, app):
    participant = make_participant(session)
    token_a = make_link(session, participant)
    session.commit()
    phone = app.test_client()
    phone.get(f"/p/{token_a}")
    token_b = make_link(session, participant)
    session.commit()
    tablet = app.test_client()
    tablet.get(f"/p/{token_b}")
    aid = next(a.id for a in participant.assignments if a.instrument_id == "rand36")
    answer(phone, aid, 1, "1", 1)
    answer(tablet, aid, 1, "1", 3)
    answer(tablet, aid, 2, "2", 2)
    assert session.scalar(select(func.count(Submission.id))) == 1
    current = session.scalars(
        select(Answer).where(Answer.replaced_at.is_(None)).order_by(Answer.item_id)
    ).all()
    assert [(a.item_id, a.code) for a in current] == [("1", 3), ("2", 2)]


def test_change_from_review_returns_to_review(logged_in, session):
    aid = logged_in.assignments["promis_global"]
    answer(logged_in.client, aid, 1, "Global01", 5)
    review = logged_in.client.get(f"/a/{aid}/review").get_data(as_text=True)
    link = f"/a/{aid}/q/1?review=1"
    assert link in review
    page = logged_in.client.get(link).get_data(as_text=True)
    assert "Save and return to review" in page
    assert 'value="next"' not in page
    response = logged_in.client.post(
        link,
        data={
            "csrf_token": csrf_from(page),
            "item_id": "Global01",
            "item_Global01": "2",
            "nav": "review",
        },
    )
    assert response.headers["Location"] == f"/a/{aid}/review"
    assert _answers(session)[-1].code == 2

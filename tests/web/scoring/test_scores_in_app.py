import io

from sqlalchemy import func, select, text

from pro_app.audit.models import AuditEvent
from pro_app.studies.models import Study
from pro_app.surveys import scores as scores_module
from pro_app.surveys.models import Answer, Score, Submission, SubmissionStatus
from tests.conftest import csrf_from
from tests.web.surveys.helpers import answer

PROMIS29 = [
    "PFA11",
    "PFA21",
    "PFA23",
    "PFA53",
    "EDANX01",
    "EDANX40",
    "EDANX41",
    "EDANX53",
    "EDDEP04",
    "EDDEP06",
    "EDDEP29",
    "EDDEP41",
    "HI7",
    "AN3",
    "FATEXP41",
    "FATEXP40",
    "Sleep109",
    "Sleep116",
    "Sleep20",
    "Sleep44",
    "SRPPER11_CaPS",
    "SRPPER18_CaPS",
    "SRPPER23_CaPS",
    "SRPPER46_CaPS",
    "PAININ9",
    "PAININ22",
    "PAININ31",
    "PAININ34",
    "Global07",
]


def _complete_promis29(logged_in, code=3, pain=4):
    aid = logged_in.assignments["promis29"]
    for position, item_id in enumerate(PROMIS29, start=1):
        answer(
            logged_in.client,
            aid,
            position,
            item_id,
            pain if item_id == "Global07" else code,
        )
    review = logged_in.client.get(f"/a/{aid}/review").get_data(as_text=True)
    done = logged_in.client.post(
        f"/a/{aid}/submit", data={"csrf_token": csrf_from(review)}
    )
    assert done.headers["Location"] == f"/a/{aid}/done"
    return aid


def test_submit_scores_every_scale_in_the_same_transaction(logged_in, session):
    _complete_promis29(logged_in)
    rows = session.scalars(select(Score).order_by(Score.id)).all()
    by_scale = {s.scale_id: s for s in rows}
    assert set(by_scale) >= {
        "physical_function",
        "anxiety",
        "depression",
        "fatigue",
        "sleep_disturbance",
        "social_roles",
        "pain_interference",
        "pain_intensity",
    }
    assert by_scale["pain_intensity"].value == 4
    assert by_scale["anxiety"].raw == 12
    assert by_scale["anxiety"].n_answered == 4
    assert all(s.instrument_version == "2.1" for s in rows)
    assert all(s.algorithm for s in rows)
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "scores.compute")
    )
    assert event.new_value["anxiety"]["raw"] == 12
    submission = session.scalar(select(Submission))
    assert submission.scoring_error is None


def test_a_scoring_failure_keeps_the_answers_and_is_recorded(
    logged_in, session, monkeypatch
):
    def broken(*args, **kwargs):
        raise KeyError("table row 99")

    monkeypatch.setattr(scores_module, "score_answers", broken)
    _complete_promis29(logged_in)
    submission = session.scalar(select(Submission))
    assert submission.status is SubmissionStatus.COMPLETED
    assert "table row 99" in submission.scoring_error
    assert session.scalar(select(func.count(Answer.id))) == 29
    assert session.scalar(select(func.count(Score.id))) == 0
    failed = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "scores.failed")
    )
    assert "KeyError" in failed.new_value["error"]


def test_recompute_audits_changed_scores_only(app, logged_in, session):
    _complete_promis29(logged_in)
    # A wrong stored value, as a table typo fixed later would leave behind.
    session.execute(text("UPDATE scores SET value = 99.9 WHERE scale_id = 'anxiety'"))
    session.commit()
    result = app.test_cli_runner().invoke(args=["scores", "recompute"])
    assert result.exit_code == 0, result.output
    assert "1 submission(s) scored, 1 changed" in result.output
    anxiety = session.scalars(
        select(Score).where(Score.scale_id == "anxiety").order_by(Score.id)
    ).all()
    assert [s.value for s in anxiety][0] == 99.9
    assert anxiety[0].replaced_at is not None
    assert anxiety[1].replaced_at is None
    assert anxiety[1].value != 99.9
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.action == "scores.recompute")
    )
    assert set(event.new_value) == {"anxiety"}
    assert event.old_value["anxiety"]["value"] == 99.9
    session.commit()
    again = app.test_cli_runner().invoke(args=["scores", "recompute", "--study", "X"])
    assert "0 submission(s) scored" in again.output


def test_participants_see_no_scores_unless_the_study_allows(logged_in, session):
    aid = _complete_promis29(logged_in)
    page = logged_in.client.get(f"/a/{aid}/done").get_data(as_text=True)
    assert "Your scores" not in page
    study = session.scalar(select(Study))
    study.settings = {"show_scores_to_participants": True}
    session.commit()
    page = logged_in.client.get(f"/a/{aid}/done").get_data(as_text=True)
    assert "Your scores" in page
    assert "Anxiety" in page


def _run_score(app, tmp_path, content, *extra):
    source = tmp_path / "answers.csv"
    source.write_text(content)
    out = tmp_path / "scores.csv"
    result = app.test_cli_runner().invoke(
        args=["score", "promis_global", str(source), "--out", str(out), *extra]
    )
    return result, out


GLOBAL = [
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


def test_score_command_scores_a_csv(app, tmp_path):
    header = "subject," + ",".join(GLOBAL)
    rows = ["A,5,5,5,5,5,5,5,5,5,0", "B,1,1,1,1,1,1,1,1,1,10", "C,3,3,,3,3,3,3,3,3,5"]
    result, out = _run_score(app, tmp_path, "\n".join([header, *rows]) + "\n")
    assert result.exit_code == 0, result.output
    import csv

    scored = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["subject"] for r in scored] == ["A", "B", "C"]
    assert scored[0]["global_physical_health_raw"] in ("20", "20.0")
    assert scored[1]["global_physical_health_raw"] in ("4", "4.0")
    assert scored[2]["global_physical_health_status"] == "not_scorable"
    assert float(scored[0]["global_physical_health"]) > float(
        scored[1]["global_physical_health"]
    )


def test_score_command_refuses_a_malformed_file_and_writes_nothing(app, tmp_path):
    header = "subject," + ",".join(GLOBAL)
    bad_code, out = _run_score(app, tmp_path, header + "\nA,5,5,5,5,5,5,5,5,5,11\n")
    assert bad_code.exit_code == 1
    assert "row 2" in bad_code.output
    assert "Global07r" in bad_code.output
    assert not out.exists()
    garbage, out = _run_score(app, tmp_path, header + "\nA,x,5,5,5,5,5,5,5,5,1\n")
    assert "'x' is not a response code" in garbage.output
    missing, _ = _run_score(app, tmp_path, "subject,Global01\nA,5\n")
    assert "missing item columns" in missing.output

import re
import shutil

from sqlalchemy import func, select

from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment, Study
from pro_app.surveys.models import Score, Submission
from tests.conftest import login_staff


def test_demo_loads_the_study_and_prints_a_working_link(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--base-url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0, result.output
    match = re.search(r"http://127\.0\.0\.1:5000/p/(\S+)", result.output)
    assert match
    study = session.scalar(select(Study))
    assert study.code == "NCT06737380"
    participant = session.scalar(select(Participant).order_by(Participant.id))
    assert participant.subject_id == "LK-001"
    client = app.test_client()
    assert client.get(f"/p/{match.group(1)}").status_code == 302
    home = client.get("/home").get_data(as_text=True)
    assert home.count('class="card"') == 3  # the three instruments, open now
    # Running it again creates nothing twice and keeps the personal link.
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert session.scalar(select(func.count(Study.id))) == 1
    # Nine demo participants x five timepoints x three instruments.
    assert session.scalar(select(func.count(Assignment.id))) == 135
    assert client.get(f"/p/{match.group(1)}").status_code == 302
    # The history participants' past visits are answered and scored.
    completed = session.scalar(
        select(func.count(Submission.id)).where(Submission.completed_at.is_not(None))
    )
    assert completed == 39
    assert session.scalar(select(func.count(Score.id))) > 300
    # One sign-in per role, each with a password that works.
    logins = re.findall(r"^  (\w+)\s+(\S+@demo\.invalid)\s+(\S+)$", again.output, re.M)
    assert [role for role, _, _ in logins] == [
        "admin",
        "coordinator",
        "investigator",
        "data_manager",
        "monitor",
    ]
    assert login_staff(client, logins[1][1], logins[1][2]).status_code == 302
    # The first run's passwords no longer work.
    first = dict(
        (email, pw)
        for _, email, pw in re.findall(
            r"^  (\w+)\s+(\S+@demo\.invalid)\s+(\S+)$", result.output, re.M
        )
    )
    assert (
        login_staff(app.test_client(), logins[0][1], first[logins[0][1]]).status_code
        == 401
    )


def test_instruments_check_passes_on_the_shipped_files(app):
    result = app.test_cli_runner().invoke(args=["instruments", "check"])
    assert result.exit_code == 0, result.output
    assert "ok  rand36 1.0: 36 items" in result.output
    assert "ok  promis29 2.1: 29 items" in result.output
    assert "ok  promis_global 1.2: 10 items" in result.output


def test_instruments_check_names_the_broken_file_and_key(app, tmp_path):
    broken = tmp_path / "instruments"
    shutil.copytree(app.config["INSTRUMENTS_DIR"], broken)
    text = broken / "rand36" / "1.0" / "text.en.toml"
    text.write_text(text.read_text().replace('[items."7"]', '[items."7x"]', 1))
    app.config["INSTRUMENTS_DIR"] = str(broken)
    result = app.test_cli_runner().invoke(args=["instruments", "check"])
    assert result.exit_code == 1
    assert "rand36/1.0/text.en.toml" in result.output
    assert "items.7" in result.output


def test_a_broken_instrument_stops_start_up(tmp_path):
    import pytest

    from pro_app.catalog import CatalogError
    from tests.conftest import make_test_app

    broken = tmp_path / "instruments"
    shutil.copytree(make_test_app().config["INSTRUMENTS_DIR"], broken)
    toml = broken / "promis29" / "2.1" / "instrument.toml"
    toml.write_text(
        toml.read_text().replace("codes = [5, 4, 3, 2, 1]", "codes = [5, 5]", 1)
    )
    with pytest.raises(CatalogError) as error:
        make_test_app(INSTRUMENTS_DIR=str(broken))
    assert "promis29/2.1/instrument.toml" in str(error.value)

"""Score charts: pure SVG, escaped text, the T = 50 line, flags when worse."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog
from pro_app.charts import trajectories
from pro_app.charts.svg import ChartText, scale_chart
from pro_app.charts.trajectories import Point, ScaleSpec, trajectory

INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"
SVG = "{http://www.w3.org/2000/svg}"
T_WORSE = ScaleSpec("t", higher_is_better=False)
T_BETTER = ScaleSpec("t", higher_is_better=True)
PERCENT = ScaleSpec("percent", higher_is_better=True)


def _traj(values, spec=T_WORSE, threshold=5.0, name="Depression"):
    labels = ["BL", "W4", "W12", "W24"]
    points = [Point(label, v) for label, v in zip(labels, values, strict=False)]
    return trajectory("scale", name, points, spec, threshold)


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own markup)
    assert root.tag == f"{SVG}svg"
    return root


def _ticks(root: ET.Element) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == "chart-tick"]


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("spec", "values", "flagged"),
    [
        # Higher is worse (depression): a rise past the threshold is flagged.
        (T_WORSE, [50.0, 56.0], ["W4"]),
        (T_WORSE, [50.0, 44.0], []),  # improvement, however large
        (T_WORSE, [50.0, 55.0], []),  # exactly the threshold is not "more than"
        (T_WORSE, [50.0, 55.1, 53.0, 61.0], ["W4", "W24"]),
        # Higher is better (physical function): a fall is worse.
        (T_BETTER, [50.0, 44.0], ["W4"]),
        (T_BETTER, [50.0, 60.0], []),
        (PERCENT, [80.0, 69.0], ["W4"]),
        (PERCENT, [80.0, 91.0], []),
    ],
)
def test_flags_follow_the_worse_direction(spec, values, flagged):
    threshold = 10.0 if spec.metric == "percent" else 5.0
    traj = _traj(values, spec, threshold)
    assert [c.label for c in traj.flags] == flagged


def test_baseline_is_the_first_scored_timepoint_and_gaps_are_skipped():
    traj = _traj([None, 52.0, None, 59.5])
    assert traj.baseline == Point("W4", 52.0)
    assert [(c.label, round(c.change, 1)) for c in traj.changes] == [("W24", 7.5)]
    assert traj.latest.worse


def test_a_single_score_has_no_change_and_no_flag():
    traj = _traj([61.0])
    assert traj.changes == ()
    svg = scale_chart(traj, chart_id="c1")
    assert "Change from" not in svg


def test_t_chart_draws_the_population_mean_line_at_50():
    traj = _traj([40.0, 70.0])
    root = _parse(scale_chart(traj, chart_id="c1"))
    (ref,) = [e for e in root.iter(f"{SVG}line") if e.get("class") == "chart-reference"]
    # The y of 50 sits halfway between the y of 20 (bottom) and 80 (top).
    grid = {t.text: float(t.get("y")) for t in _ticks(root)}
    assert float(ref.get("y1")) == pytest.approx((grid["20"] + grid["80"]) / 2, 0.1)
    assert ref.get("stroke-dasharray")
    assert "T = 50 (mean)" in _texts(root)


def test_percent_chart_has_no_mean_line_and_runs_0_to_100():
    traj = _traj([80.0, 60.0], PERCENT, 10.0, name="Physical functioning")
    root = _parse(scale_chart(traj, chart_id="rand"))
    assert not [
        e for e in root.iter(f"{SVG}line") if e.get("class") == "chart-reference"
    ]
    ticks = [t.text for t in _ticks(root)]
    assert ticks == ["0", "25", "50", "75", "100"]


def test_axis_widens_for_scores_beyond_the_usual_range():
    root = _parse(scale_chart(_traj([15.2, 83.0]), chart_id="c"))
    ticks = [t.text for t in _ticks(root)]
    assert (ticks[0], ticks[-1]) == ("10", "90")


def test_change_from_baseline_is_annotated_and_flag_is_not_colour_only():
    traj = _traj([52.1, 58.3])
    root = _parse(scale_chart(traj, chart_id="c"))
    assert "Change from BL: +6.2 (worse)" in _texts(root)
    flags = [e for e in root.iter(f"{SVG}path") if "chart-flag" in e.get("class")]
    assert len(flags) == 1  # a diamond, not a recoloured circle
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    desc = root.find(f"{SVG}desc").text
    assert (
        desc == "BL 52.1, W4 58.3. Change from BL (W4): +6.2, worse. Higher is worse."
    )


def test_improvement_is_annotated_with_a_minus_sign_and_no_flag():
    root = _parse(scale_chart(_traj([58.0, 50.0]), chart_id="c"))
    assert "Change from BL: \u22128.0" in _texts(root)
    assert not [e for e in root.iter(f"{SVG}path")]


def test_accessible_name_and_description():
    svg = scale_chart(_traj([50.0, 51.0]), chart_id="p 7/dep")
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "p-7-dep-title"
    assert root.find(f"{SVG}title").get("id") == "p-7-dep-title"
    assert root.find(f"{SVG}desc").get("id") == root.get("aria-describedby")
    assert "style=" not in svg  # the CSP forbids inline styles


def test_every_text_is_escaped():
    evil = '<script>alert("x")</script>&'
    traj = trajectory(
        "s",
        evil,
        [Point(evil, 50.0), Point("W4", 60.0)],
        T_WORSE,
        5.0,
    )
    text = ChartText(reference=evil, change_from=evil + " %(baseline)s", worse=evil)
    svg = scale_chart(traj, chart_id='x"><script>', text=text, number=lambda v: evil)
    assert "<script>" not in svg
    assert 'x"' not in svg
    root = _parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == evil
    assert evil in _texts(root)


def test_missing_score_breaks_the_line():
    root = _parse(scale_chart(_traj([50.0, 52.0, None, 55.0]), chart_id="c"))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 1  # BL-W4 joined; W24 stands alone after the gap
    assert len(re.findall(r"[\d.]+,[\d.]+", lines[0].get("points"))) == 2


def test_no_scores_says_so():
    traj = _traj([None, None])
    assert "No scores yet" in _texts(_parse(scale_chart(traj, chart_id="c")))


@pytest.mark.parametrize(
    ("settings", "metric", "expected"),
    [
        (None, "t", 5.0),
        ({"score_change_threshold": 3}, "t", 3.0),
        ({"score_change_threshold": "4.5"}, "t", 4.5),
        ({"score_change_threshold": "nonsense"}, "t", 5.0),
        ({"score_change_threshold": -1}, "t", 5.0),
        (None, "percent", 10.0),
        ({"rand36_change_threshold": 15}, "percent", 15.0),
        (None, "nrs", 2.0),
    ],
)
def test_thresholds_come_from_study_settings(settings, metric, expected):
    assert trajectories.threshold_for(metric, settings) == expected


def test_directions_and_charts_come_from_the_instrument_files():
    catalog = load_catalog(INSTRUMENTS)

    def spec(instrument_id, version, scale_id):
        instrument = catalog.get(instrument_id, version)
        scale = next(s for s in instrument.scales if s.id == scale_id)
        return trajectories.spec_for(scale)

    worse = {"anxiety", "depression", "fatigue", "sleep_disturbance"}
    worse |= {"pain_interference"}
    for scale in worse:
        assert spec("promis29", "2.1", scale) == T_WORSE
    for scale in ("physical_function", "social_roles"):
        assert spec("promis29", "2.1", scale) == T_BETTER
    assert spec("promis29", "2.1", "pain_intensity") == ScaleSpec("nrs", False)
    for scale in ("global_physical_health", "global_mental_health"):
        assert spec("promis_global", "1.2", scale) == T_BETTER
    rand = catalog.get("rand36", "1.0")
    charted = [s.id for s in rand.scales if trajectories.spec_for(s) is not None]
    assert sorted(charted) == sorted(["pf", "rp", "re", "vt", "mh", "sf", "bp", "gh"])
    specs = {trajectories.spec_for(s) for s in rand.scales if s.id in charted}
    assert specs == {PERCENT}
    assert spec("rand36", "1.0", "pcs") is None  # not charted
    assert trajectories.spec_for(None) is None


def test_chart_modules_are_pure():
    code = (
        "import sys; import pro_app.charts.svg, pro_app.charts.trajectories; "
        "print(sorted({'flask','sqlalchemy','wtforms'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_one_score_is_a_number_two_are_a_line():
    one = _traj([None, 47.5])
    assert one.single == Point("W4", 47.5)
    assert not one.drawn
    two = _traj([50.0, None, 53.0])
    assert two.single is None
    assert two.drawn
    assert [p.label for p in two.scored] == ["BL", "W12"]
    assert _traj([None, None]).single is None


@pytest.mark.parametrize(
    ("spec", "values", "label", "expected"),
    [
        # Against the score just before, not the baseline: W24 vs W12.
        (T_WORSE, [50.0, 58.0, 60.0], "W12", ("W4", 2.0, False, False)),
        (T_WORSE, [50.0, 44.0, 51.0], "W12", ("W4", 7.0, True, False)),
        (T_BETTER, [50.0, 44.0, 51.0], "W12", ("W4", 7.0, False, True)),
        # A gap is skipped: W12 is compared with BL when W4 has no score.
        (T_BETTER, [50.0, None, 40.0], "W12", ("BL", -10.0, True, False)),
        (PERCENT, [80.0, 69.0], "W4", ("BL", -11.0, True, False)),
    ],
)
def test_step_compares_a_score_with_the_previous_one(spec, values, label, expected):
    step = trajectories.step_at(_traj(values, spec), label)
    assert (step.previous, step.change, step.worse, step.better) == expected
    assert step.label == label


def test_no_step_for_the_first_score_or_a_timepoint_without_one():
    traj = _traj([50.0, None, 53.0])
    assert trajectories.step_at(traj, "BL") is None
    assert trajectories.step_at(traj, "W4") is None
    assert trajectories.step_at(traj, "W24") is None

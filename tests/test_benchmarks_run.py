"""Every benchmark script runs as shipped, on a tiny data set.

The figures are not checked (they are measured and written down by hand,
``docs/``); what is checked is that a script someone runs to measure does not
crash on today's schema, and prints the lines it promises.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pro_app.config import REPO_ROOT

RUNS = {
    "dashboard": (["--participants", "12", "--runs", "1"], ["dashboard, all sites"]),
    "reminders": (["--assignments", "300"], ["plan_messages, cold outbox"]),
    "export": (
        ["--participants", "3", "--formats", "csv-long", "sdtm"],
        ["csv-long", "sdtm"],
    ),
}


@pytest.mark.parametrize("script", sorted(RUNS))
def test_the_benchmark_runs_as_shipped(script: str, tmp_path) -> None:
    args, expected = RUNS[script]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / f"{script}.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for line in expected:
        assert any(out.startswith(line) for out in done.stdout.splitlines()), (
            done.stdout
        )

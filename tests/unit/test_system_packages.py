"""`.ci/system-packages`, which `make test` runs first: what it installs, and how.

The script runs for real under bash with a PATH that holds only recording stand-ins
for `id`, `sudo`, `apt-get` and `dpkg-query`, so each test picks who the user is and
what is installed, then reads back which commands ran.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "system-packages"
BASH = shutil.which("bash") or "/bin/bash"
NEEDED = ["chromium", "postgresql", "postgresql-common", "fonts-dejavu-core", "pspp"]

FAKES = {
    "id": 'echo "$FAKE_UID"',
    "dpkg-query": """
for package; do :; done
case " $FAKE_INSTALLED " in
  *" $package "*) printf 'install ok installed' ;;
  *) echo "dpkg-query: no packages found matching $package" >&2; exit 1 ;;
esac""",
    "apt-get": 'echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$FAKE_LOG"',
    "sudo": "\n".join(
        [
            'if [ "$1" = -n ] && [ "$2" = true ]; then exit "$FAKE_SUDO_RC"; fi',
            'echo "sudo $*" >> "$FAKE_LOG"',
            'exec /usr/bin/env "$@"',
        ]
    ),
    "chromium": "true",
    "pg_virtualenv": "true",
}


def _fake_bin(tmp_path: Path, *programs: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in programs:
        path = folder / name
        path.write_text(f"#!{BASH}\n{FAKES[name]}\n")
        path.chmod(0o755)
    return folder


def _run(
    tmp_path: Path,
    *,
    uid: int,
    installed: list[str],
    sudo: bool | None = None,
    programs: tuple[str, ...] = ("id", "dpkg-query", "apt-get"),
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the script; sudo is None for none at all, False for one asking a password."""
    if sudo is not None:
        programs = (*programs, "sudo")
    log = tmp_path / "commands.log"
    env = {
        "PATH": str(_fake_bin(tmp_path, *programs)),
        "FAKE_UID": str(uid),
        "FAKE_INSTALLED": " ".join(installed),
        "FAKE_SUDO_RC": "0" if sudo else "1",
        "FAKE_LOG": str(log),
    }
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )
    ran = log.read_text().splitlines() if log.exists() else []
    return result, ran


def test_as_root_apt_get_installs_only_the_missing_packages(tmp_path: Path) -> None:
    result, ran = _run(tmp_path, uid=0, installed=["postgresql", "postgresql-common"])

    assert result.returncode == 0, result.stderr
    assert ran == [
        "apt-get update -q DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core"
        " pspp DEBIAN_FRONTEND=noninteractive",
    ]
    assert "chromium fonts-dejavu-core" in result.stderr


def test_a_user_with_password_less_sudo_installs_through_sudo(tmp_path: Path) -> None:
    result, ran = _run(tmp_path, uid=1000, installed=[], sudo=True)

    assert result.returncode == 0, result.stderr
    wanted = " ".join(NEEDED)
    assert ran == [
        "sudo DEBIAN_FRONTEND=noninteractive apt-get update -q",
        "apt-get update -q DEBIAN_FRONTEND=noninteractive",
        f"sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q"
        f" --no-install-recommends {wanted}",
        f"apt-get install -y -q --no-install-recommends {wanted}"
        " DEBIAN_FRONTEND=noninteractive",
    ]


@pytest.mark.parametrize(
    "sudo", [None, False], ids=["no sudo", "sudo wants a password"]
)
def test_without_root_or_sudo_it_stops_with_the_command_to_run(
    tmp_path: Path, sudo: bool | None
) -> None:
    result, ran = _run(tmp_path, uid=1000, installed=["fonts-dejavu-core"], sudo=sudo)

    assert result.returncode == 1
    assert ran == []
    assert (
        "  sudo apt-get update && sudo apt-get install -y --no-install-recommends"
        " chromium postgresql postgresql-common pspp\n"
    ) in result.stderr


@pytest.mark.parametrize("uid", [0, 1000])
def test_nothing_missing_runs_no_apt_get_and_needs_no_sudo(
    tmp_path: Path, uid: int
) -> None:
    result, ran = _run(tmp_path, uid=uid, installed=NEEDED, sudo=False)

    assert (result.returncode, ran, result.stdout, result.stderr) == (0, [], "", "")


def test_off_debian_it_checks_the_programs_and_names_what_is_missing(
    tmp_path: Path,
) -> None:
    with_both = tmp_path / "both"
    with_both.mkdir()
    result, ran = _run(
        with_both,
        uid=0,
        installed=[],
        programs=("id", "apt-get", "chromium", "pg_virtualenv"),
    )
    assert (result.returncode, ran) == (0, [])

    without_chromium = tmp_path / "none"
    without_chromium.mkdir()
    result, ran = _run(
        without_chromium,
        uid=0,
        installed=[],
        programs=("id", "apt-get", "pg_virtualenv"),
    )
    assert (result.returncode, ran) == (1, [])
    assert "make test needs chromium" in result.stderr


def test_on_this_machine_the_real_package_database_says_nothing_is_missing(
    tmp_path: Path,
) -> None:
    # The real dpkg-query and id, so the status format is the one Debian prints;
    # make test ran the script before the suite, so everything is installed.
    real = ":".join(
        str(Path(shutil.which(name) or name).parent) for name in ("dpkg-query", "id")
    )
    log = tmp_path / "commands.log"
    fakes = _fake_bin(tmp_path, "apt-get", "sudo")
    env = {
        "PATH": f"{fakes}:{real}",
        "FAKE_LOG": str(log),
        "FAKE_SUDO_RC": "1",
    }
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert not log.exists()


def test_the_package_list_is_kept_in_the_script_alone() -> None:
    listed = re.search(r"PACKAGES=\((.*?)\n\)", SCRIPT.read_text(), re.S)
    assert listed is not None
    names = [line.split("#")[0].strip() for line in listed.group(1).splitlines()]
    assert [name for name in names if name] == NEEDED
    for other in (ROOT / "Makefile", ROOT / ".ci" / "run"):
        text = other.read_text()
        assert "apt-get" not in text, other
        assert ".ci/system-packages" in text or "make test" in text, other
    assert os.access(SCRIPT, os.X_OK)

"""`make run PORT=...` serves on that port, and every link it prints points there.

Runs the real `make run` in a copy of the repository (its own instance folder and
SQLite database), with this test run's virtualenv, then opens the printed links.
"""

from __future__ import annotations

import http.cookiejar
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "instance",
    "node_modules",
    "test-artifacts",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "*.egg-info",
    "*.mo",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "\n".join(self.seen)
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line.removeprefix(prefix)
        raise AssertionError(f"no {prefix!r} in:\n" + "\n".join(self.seen))


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[Served, int]]:
    checkout = tmp_path / "pro-app"
    shutil.copytree(ROOT, checkout, ignore=COPY_IGNORE)
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PRO_", "MAKE", "MFLAGS", "FLASK_"))
    }
    # -o: this virtualenv is already installed; make run must not reinstall into it.
    proc = subprocess.Popen(
        ["make", "-o", f"{VENV}/.installed", "run", f"PORT={port}", f"VENV={VENV}"],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    served = Served(proc)
    try:
        yield served, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        served.reader.join(timeout=20)
        assert proc.stdout is not None
        proc.stdout.close()


def _open(opener: urllib.request.OpenerDirector, url: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return opener.open(url, timeout=10)
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionError):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _server_environment(group: int) -> dict[str, str]:
    """The environment of the `flask run` process that make started."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ProcessLookupError):
            continue
        if b"run" in argv and b"--port" in argv:
            pairs = (item.decode().partition("=") for item in environ if item)
            return {key: value for key, _, value in pairs}
    raise AssertionError("no flask run process")


def test_make_run_serves_on_the_port_given_and_prints_links_to_it(
    make_run: tuple[Served, int],
) -> None:
    served, port = make_run
    base = f"http://127.0.0.1:{port}"

    link = served.wait_for("Personal link: ")
    sign_in = served.wait_for("Trial team sign-in: ")
    assert link.startswith(f"{base}/p/")
    assert sign_in.startswith(f"{base}/staff/login ")

    # The participant opens the printed link: it logs them in on this port.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with _open(opener, link) as response:
        assert response.status == 200
        assert response.url.startswith(f"{base}/")
        assert link.removeprefix(f"{base}/p/") not in response.url
        page = response.read().decode()
    assert "This link does not work" not in page
    assert "Baseline" in page or "SF-36" in page or "PROMIS" in page

    with _open(opener, sign_in.split()[0]) as response:
        assert response.status == 200
        assert 'type="password"' in response.read().decode()

    # Reminder messages and the handover page build their links from the same base.
    assert _server_environment(served.proc.pid)["PRO_NOTIFY_BASE_URL"] == base

"""Time every export format on a large study, with peak memory.

Run: .venv/bin/python benchmarks/export.py [--participants N] [--formats ...]
     [--database-url URL]

On PostgreSQL (``--database-url postgresql+psycopg://...``, e.g. inside
``pg_virtualenv``), it also times ``psql``'s ``\\copy`` of the same join as
``csv-long`` (one row per current answer with its submission's context), the
floor any export from that database can reach.

Builds a temporary SQLite file with one study of N participants (default
10,000) x 6 timepoints x the three instruments (RAND-36, PROMIS-29, PROMIS
Global: 75 items a visit, so about 4.5 million current answers and 1.8
million scores for N = 10,000), inserted in bulk with Core ``insert()``
executemany. Then, for each format, runs the real command,
``flask export --study BENCH --format F --out DIR``, in a fresh process, and
reports its wall time, the resident memory before it, its peak resident
memory (VmHWM, reset after the app's start-up) and the size of what it
wrote, and each format's time as a multiple of ``csv-long``'s. It prints
figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import Connection, func, insert, make_url, select  # noqa: E402

from pro_app.app import create_app  # noqa: E402
from pro_app.catalog import Instrument  # noqa: E402
from pro_app.exports.formats import FORMATS  # noqa: E402
from pro_app.extensions import db  # noqa: E402
from pro_app.participants.models import Participant  # noqa: E402
from pro_app.scoring.result import ALGORITHM_VERSION  # noqa: E402
from pro_app.studies.models import Assignment, Study, Timepoint  # noqa: E402
from pro_app.studies.services import TimepointSpec, create_study  # noqa: E402
from pro_app.surveys.models import Answer, Score, Submission  # noqa: E402

INSTRUMENTS = (("rand36", "1.0"), ("promis29", "2.1"), ("promis_global", "1.2"))
WEEKS = (0, 4, 12, 24, 36, 52)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Jerusalem", "UTC")
CHUNK = 50_000


def _flush(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)
        rows.clear()


def build(conn: Connection, people: int, catalog: Any) -> None:
    """Insert the study, its participants, their answers and scores."""
    specs = [
        TimepointSpec(f"W{w}", f"Week {w}", 7 * w, 3, 3, INSTRUMENTS) for w in WEEKS
    ]
    from sqlalchemy.orm import Session

    with Session(bind=conn) as session:
        study = create_study(
            session,
            code="BENCH",
            title="Benchmark",
            timezone="UTC",
            sites=[(f"0{n + 1}", f"Site {n + 1}") for n in range(len(ZONES))],
            timepoints=specs,
            actor="system:bench",
        )
        for site, zone in zip(study.sites, ZONES, strict=True):
            site.timezone = zone
        session.flush()
        study_id, site_ids = study.id, [s.id for s in study.sites]
        timepoints = [(t.id, t.day_offset) for t in study.timepoints]
        session.commit()
    instruments: list[Instrument] = [catalog.get(i, v) for i, v in INSTRUMENTS]
    rng = random.Random(1)  # noqa: S311 - test data, not secrets
    now = datetime.now(UTC)
    start = date(2024, 1, 1)
    rows = [
        {
            "id": n + 1,
            "study_id": study_id,
            "site_id": site_ids[n % len(site_ids)],
            "subject_id": f"B-{n + 1:06d}",
            "status": "active",
            "day0": start + timedelta(days=n % 365),
            "timezone": "UTC",
            "created_at": now,
        }
        for n in range(people)
    ]
    conn.execute(insert(Participant), rows)
    assignments: list[dict[str, Any]] = []
    submissions: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    next_id = 0
    for person in rows:
        day0 = datetime.combine(person["day0"], datetime.min.time(), UTC)
        for tp_id, offset in timepoints:
            at = day0 + timedelta(days=offset, hours=9, seconds=rng.randrange(36_000))
            for position, instrument in enumerate(instruments, start=1):
                next_id += 1
                assignments.append(
                    {
                        "id": next_id,
                        "participant_id": person["id"],
                        "timepoint_id": tp_id,
                        "instrument_id": instrument.id,
                        "instrument_version": instrument.version,
                        "position": position,
                        "target_date": at.date(),
                        "opens_at": at - timedelta(days=3),
                        "due_at": at,
                        "closes_at": at + timedelta(days=4),
                        "status": "completed",
                        "completed_at": at,
                    }
                )
                submissions.append(
                    {
                        "id": next_id,
                        "assignment_id": next_id,
                        "participant_id": person["id"],
                        "instrument_id": instrument.id,
                        "instrument_version": instrument.version,
                        "mode": "self",
                        "language": "en",
                        "ui_language": "en",
                        "status": "completed",
                        "started_at": at,
                        "completed_at": at,
                    }
                )
                actor = f"participant:{person['id']}"
                for item in instrument.items:
                    answers.append(
                        {
                            "submission_id": next_id,
                            "item_id": item.id,
                            "code": rng.choice(item.codes),
                            "answered_at": at,
                            "actor": actor,
                        }
                    )
                for scale in instrument.scales:
                    t_score = scale.method == "sum_to_t"
                    scores.append(
                        {
                            "submission_id": next_id,
                            "scale_id": scale.id,
                            "instrument_id": instrument.id,
                            "instrument_version": instrument.version,
                            "method": scale.method,
                            "status": "ok",
                            "raw": float(rng.randrange(4, 21)) if t_score else None,
                            "value": round(rng.uniform(20, 80), 1),
                            "se": round(rng.uniform(1.5, 5), 1) if t_score else None,
                            "n_answered": len(scale.items),
                            "n_items": len(scale.items),
                            "prorated": False,
                            "algorithm": ALGORITHM_VERSION,
                            "computed_at": at,
                        }
                    )
            if len(answers) >= CHUNK:
                _flush(conn, Assignment, assignments)
                _flush(conn, Submission, submissions)
                _flush(conn, Answer, answers)
                _flush(conn, Score, scores)
    for table, batch in (
        (Assignment, assignments),
        (Submission, submissions),
        (Answer, answers),
        (Score, scores),
    ):
        _flush(conn, table, batch)


# The rows of ``csv-long`` as one SQL query: every current answer of a
# completed submission with its context, in the export's order.
COPY_QUERY = (
    "SELECT si.code, p.subject_id, t.code, s.instrument_id, s.instrument_version,"
    " s.language, s.mode, a.item_id, a.code, s.completed_at, s.administered_on"
    " FROM answers a JOIN submissions s ON s.id = a.submission_id"
    " JOIN assignments g ON g.id = s.assignment_id"
    " JOIN participants p ON p.id = g.participant_id"
    " JOIN sites si ON si.id = p.site_id JOIN timepoints t ON t.id = g.timepoint_id"
    " WHERE s.status = 'completed' AND a.replaced_at IS NULL"
    " ORDER BY p.subject_id, t.position, g.position, s.id"
)


def psql_copy(url: str, out: Path) -> float | None:
    """Seconds ``psql`` takes to ``\\copy`` the csv-long join to a CSV file."""
    psql = shutil.which("psql")
    if psql is None:
        return None
    parts = make_url(url)
    env = dict(os.environ)
    for var, value in (
        ("PGHOST", parts.host),
        ("PGPORT", parts.port),
        ("PGUSER", parts.username),
        ("PGPASSWORD", parts.password),
        ("PGDATABASE", parts.database),
    ):
        if value:
            env[var] = str(value)
    command = f"\\copy ({COPY_QUERY}) TO '{out}' WITH (FORMAT csv, HEADER)"
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own command line
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command],
        env=env,
        check=True,
    )
    return time.perf_counter() - started


def run_format(fmt: str, env: dict[str, str], out: Path) -> dict[str, float]:
    """Run ``flask export`` in a fresh process (see ``child``); its figures."""
    command = [sys.executable, __file__, "--child", fmt, "--out", str(out)]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"export --format {fmt} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB -> MiB
    return float("nan")


def child(fmt: str, out: Path) -> None:
    """Inside the fresh process: start the app, then run the export command.

    Start-up alone peaks at ~140 MiB (an argon2 hash at import time), so the
    peak is reset after start-up (``clear_refs``) and measured again after
    the export: that is the export's own high-water mark.
    """
    app = create_app()
    startup = _status("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "BENCH", "--format", fmt, "--out", str(out)]
    )
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(result.output + repr(result.exception))
    figures = {
        "seconds": seconds,
        "startup_peak": startup,
        "rss_before": before,
        "export_peak": _status("VmHWM"),
    }
    print(json.dumps(figures))


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    # Every registered format by default (CSV, codebook, SPSS, Stata, SDTM, ODM,
    # FHIR Bundle and NDJSON).
    parser.add_argument("--formats", nargs="+", default=list(FORMATS))
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    parser.add_argument(
        "--database-url",
        help="Benchmark on this (empty) database instead of a new SQLite file.",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out)
        return
    tmp = Path(tempfile.mkdtemp(prefix="pro-bench-export-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    sqlite = url.startswith("sqlite")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(tmp),
        }
    )
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            build(conn, args.participants, app.extensions["pro_catalog"])
        with db.engine.connect() as conn:
            answers = conn.scalar(select(func.count()).select_from(Answer))
            scores = conn.scalar(select(func.count()).select_from(Score))
            studies = conn.scalar(select(func.count()).select_from(Study))
            tps = conn.scalar(select(func.count()).select_from(Timepoint))
        db.engine.dispose()
    print(
        f"built {args.participants} participants x {tps // studies} timepoints: "
        f"{answers:,} answers, {scores:,} scores in "
        f"{time.perf_counter() - started:.0f} s "
        + (
            f"({_size(tmp / 'bench.sqlite') / 2**20:.0f} MiB database)"
            if sqlite
            else ""
        )
    )
    env = dict(os.environ)
    env.update(
        PRO_DATABASE_URL=url,
        PRO_SECRET_KEY="bench",  # noqa: S106 - a throw-away database
        PRO_DATA_KEY=Fernet.generate_key().decode(),
        PRO_INSTANCE_PATH=str(tmp),
    )
    print(
        "format       seconds  x csv-long  RSS before  peak RSS  (start-up peak)"
        "   output"
    )
    # csv-long first: every other format is measured against it.
    formats = sorted(args.formats, key=lambda name: name != "csv-long")
    base: float | None = None
    for fmt in formats:
        out = tmp / f"out-{fmt}"
        f = run_format(fmt, env, out)
        base = f["seconds"] if fmt == "csv-long" else base
        ratio = f"{f['seconds'] / base:9.2f}x" if base else " " * 10
        print(
            f"{fmt:<12} {f['seconds']:7.1f} {ratio} {f['rss_before']:7.0f} MiB "
            f"{f['export_peak']:5.0f} MiB  ({f['startup_peak']:4.0f} MiB) "
            f"{_size(out) / 2**20:8.0f} MiB"
        )
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    if not sqlite:
        copied = psql_copy(url, tmp / "copy.csv")
        if copied is None:
            print("psql \\copy      (psql not found)")
        else:
            against = f"csv-long is {base / copied:.2f}x of it" if base else ""
            print(f"psql \\copy  {copied:7.1f}   {against}")
        if not args.keep:
            with app.app_context():
                db.drop_all()
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

"""The study dashboard: completion matrix, rates and what needs action today."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from flask_babel import format_percent
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from pro_app.auth.access import access, requires
from pro_app.auth.permissions import Permission
from pro_app.dbtypes import utcnow
from pro_app.extensions import db
from pro_app.staff import bp, queries, times
from pro_app.studies.progress import ActionKind, CellState

# Every cell says its state in words; the symbol and colour only repeat it.
CELL_LABELS = {
    CellState.COMPLETED: _l("Done"),
    CellState.IN_PROGRESS: _l("In progress"),
    CellState.OPEN: _l("Open"),
    CellState.OVERDUE: _l("Overdue"),
    CellState.MISSED: _l("Missed"),
    CellState.NOT_DONE: _l("Not done"),
    CellState.SCHEDULED: _l("Scheduled"),
    CellState.CANCELLED: _l("Cancelled"),
    CellState.EMPTY: _l("No questionnaires"),
}
CELL_SYMBOLS = {
    CellState.COMPLETED: "✓",
    CellState.IN_PROGRESS: "◐",
    CellState.OPEN: "○",
    CellState.OVERDUE: "!",
    CellState.MISSED: "✗",
    CellState.NOT_DONE: "–",
    CellState.SCHEDULED: "·",
    CellState.CANCELLED: "⊘",
    CellState.EMPTY: "—",
}
# States whose cell also shows "done/planned".
COUNTED = frozenset(
    {
        CellState.COMPLETED,
        CellState.IN_PROGRESS,
        CellState.OPEN,
        CellState.OVERDUE,
        CellState.MISSED,
        CellState.NOT_DONE,
    }
)
ACTION_HEADINGS = {
    ActionKind.OVERDUE: _l("Overdue"),
    ActionKind.DUE_SOON: _l("Due within two days"),
    ActionKind.OPENING: _l("Opening today"),
    ActionKind.MISSED: _l("Missed in the last 14 days"),
    ActionKind.FAILED_MESSAGE: _l("Messages that failed in the last 14 days"),
}
PARTICIPANT_ENDPOINT = "staff.view_participant"
VERIFY_COMMAND = Markup("<code>flask audit verify</code>")


@bp.get("/s/<study_code>/")
@requires(Permission.VIEW)
def dashboard(study_code: str) -> Any:
    here = access()
    sites = queries.visible_sites(db.session, here.study.id, here.sites())
    chosen = next((s for s in sites if s.code == request.args.get("site")), None)
    shown = [chosen] if chosen else sites
    if chosen:
        times.use_site_zone(chosen)
    board = queries.study_dashboard(
        db.session, here.study.id, sites={s.id: s.code for s in shown}, now=utcnow()
    )
    # Empty sections are named in one line, so the completion grid comes next.
    waiting = [kind for kind in ACTION_HEADINGS if board.actions[kind]]
    return render_template(
        "staff/dashboard.html",
        board=board,
        sites=sites,
        chosen=chosen,
        verification=queries.last_verification(db.session),
        # Resolved once per page, not once per cell.
        labels={state: str(label) for state, label in CELL_LABELS.items()},
        symbols=CELL_SYMBOLS,
        counted=COUNTED,
        headings=ACTION_HEADINGS,
        waiting=waiting,
        quiet=[str(h) for k, h in ACTION_HEADINGS.items() if k not in waiting],
        verify_command=VERIFY_COMMAND,
        format_percent=format_percent,
        # The participant page may not exist yet: link to it only if it does.
        participant_endpoint=PARTICIPANT_ENDPOINT
        if PARTICIPANT_ENDPOINT in current_app.view_functions
        else None,
    )

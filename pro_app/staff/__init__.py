"""The trial team's blueprint: studies, dashboard, participants, entry, audit.

Every view declares its access with ``pro_app.auth.access.requires``.
"""

from __future__ import annotations

from flask import Blueprint, g

from pro_app.staff import labels, times

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.app_context_processor
def _staff_context() -> dict[str, object]:
    # The templates' view of the current study access (None outside a study).
    return {"access": g.get("access"), "page_zone": times.page_zone}


# One way to write a moment, a day, a stored code and an answer on staff pages.
bp.add_app_template_filter(times.moment, "moment")
bp.add_app_template_filter(times.day, "day")
bp.add_app_template_filter(labels.word, "word")
bp.add_app_template_global(labels.answer_text, "answer_words")


# The view modules attach their routes to ``bp``.
from pro_app.staff import (  # noqa: E402
    audit,
    dashboard,
    entry,
    exports,
    handover,
    locks,
    participants,
    studies,
)

__all__ = [
    "audit",
    "bp",
    "dashboard",
    "entry",
    "exports",
    "handover",
    "locks",
    "participants",
    "studies",
]

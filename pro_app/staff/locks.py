"""(to be written)"""

from __future__ import annotations

from typing import Any

from flask import render_template

from pro_app.auth.access import requires
from pro_app.auth.permissions import Permission
from pro_app.staff import bp


@bp.get("/s/<study_code>/locks")
@requires(Permission.LOCK)
def list_locks(study_code: str) -> Any:
    return render_template("staff/base.html")

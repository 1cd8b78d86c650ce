"""Data locks: list, lock and unlock, each with a reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from pro_app.auth.access import access, participant_or_404, requires, staff_actor
from pro_app.auth.forms import ReasonForm
from pro_app.auth.models import StaffUser
from pro_app.auth.permissions import Permission
from pro_app.extensions import db
from pro_app.participants.models import Participant
from pro_app.staff import bp
from pro_app.staff.entry_forms import LockForm
from pro_app.staff.times import moment_text
from pro_app.studies import locks
from pro_app.studies.models import DataLock, Timepoint


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """Return a readable name for each audit actor string."""
    names: dict[str, str] = {}
    staff_ids: dict[int, str] = {}
    for actor in set(actors):
        kind, _sep, ident = actor.partition(":")
        if kind == "staff" and ident.isdigit():
            staff_ids[int(ident)] = actor
        elif kind == "participant":
            names[actor] = _("the participant")
        elif actor:
            names[actor] = actor
    if staff_ids:
        for user in session.scalars(
            select(StaffUser).where(StaffUser.id.in_(staff_ids))
        ):
            names[staff_ids[user.id]] = user.name
    return names


def lock_scope_text(lock: DataLock) -> str:
    """Say in words what a lock covers."""
    scope = locks.scope_of(lock)
    if scope is locks.LockScope.STUDY:
        return _("The whole study")
    timepoint = (
        f"{lock.timepoint.code} ({lock.timepoint.label})" if lock.timepoint else ""
    )
    if scope is locks.LockScope.TIMEPOINT:
        return _("Timepoint %(timepoint)s, every participant", timepoint=timepoint)
    subject = lock.participant.subject_id if lock.participant else ""
    if scope is locks.LockScope.PARTICIPANT:
        return _("Participant %(subject)s, every timepoint", subject=subject)
    return _(
        "Participant %(subject)s at %(timepoint)s", subject=subject, timepoint=timepoint
    )


def lock_message(lock: DataLock) -> str:
    """Explain to staff why a change was refused."""
    return _(
        "This data is locked (%(scope)s, since %(when)s): nothing can be changed "
        "until a data manager unlocks it.",
        scope=lock_scope_text(lock),
        when=moment_text(lock.locked_at),
    )


def _participants() -> list[Participant]:
    here = access()
    rows = db.session.scalars(
        select(Participant)
        .where(Participant.study_id == here.study.id)
        .order_by(Participant.subject_id)
    )
    return [p for p in rows if here.sees_site(p.site_id)]


def _timepoints() -> list[Timepoint]:
    return list(
        db.session.scalars(
            select(Timepoint)
            .where(Timepoint.study_id == access().study.id)
            .order_by(Timepoint.position)
        )
    )


def _lock_form() -> LockForm:
    form = LockForm(prefix="lock")
    form.participant.choices = [SelectChoice("", _("All participants"))] + [
        SelectChoice(str(p.id), p.subject_id) for p in _participants()
    ]
    form.timepoint.choices = [SelectChoice("", _("All timepoints"))] + [
        SelectChoice(str(t.id), f"{t.code} ({t.label})") for t in _timepoints()
    ]
    return form


def _page(
    form: LockForm | None = None, status: int = 200, error: str | None = None
) -> Any:
    study = access().study
    sites = access().sites()
    active = locks.active_locks(db.session, study, sites=sites)
    past = locks.past_locks(db.session, study, sites=sites)
    actors = [r.locked_by for r in active + past] + [r.unlocked_by or "" for r in past]
    page = render_template(
        "staff/locks.html",
        active=active,
        past=past,
        form=form or _lock_form(),
        unlock_form=ReasonForm(prefix="unlock"),
        names=actor_names(db.session, actors),
        scope_text=lock_scope_text,
        may_unlock=_may_change,
        error=error,
    )
    return page, status


def _may_change(lock: DataLock) -> bool:
    # Staff limited to some sites lock and unlock only their participants.
    here = access()
    if lock.participant is None:
        return here.sites() is None
    return here.sees_site(lock.participant.site_id)


@bp.get("/s/<study_code>/locks")
@requires(Permission.LOCK)
def list_locks(study_code: str) -> Any:
    return _page()


@bp.post("/s/<study_code>/locks")
@requires(Permission.LOCK)
def lock_data(study_code: str) -> Any:
    form = _lock_form()
    if not form.validate_on_submit():
        return _page(form, 400, _("Please correct the errors below."))
    participant = (
        participant_or_404(int(form.participant.data))
        if form.participant.data
        else None
    )
    timepoint = (
        db.session.get(Timepoint, int(form.timepoint.data))
        if form.timepoint.data
        else None
    )
    if participant is None and access().sites() is not None:
        return _page(form, 403, _("You can lock only participants of your own sites."))
    try:
        locks.lock(
            db.session,
            access().study,
            participant=participant,
            timepoint=timepoint,
            actor=staff_actor(),
            reason=form.reason.data,
        )
    except locks.LockError:
        db.session.rollback()
        return _page(form, 409, _("This data is already locked."))
    db.session.commit()
    flash(_("Locked. Nobody can change this data until it is unlocked."), "ok")
    return redirect(url_for(".list_locks", study_code=study_code))


@bp.post("/s/<study_code>/locks/<int:lock_id>/unlock")
@requires(Permission.LOCK)
def unlock_data(study_code: str, lock_id: int) -> Any:
    row = db.session.get(DataLock, lock_id)
    if row is None or row.study_id != access().study.id:
        abort(404)
    if row.participant is not None:
        participant_or_404(row.participant.id)
    elif not _may_change(row):
        abort(403)
    form = ReasonForm(prefix="unlock")
    if not form.validate_on_submit():
        return _page(status=400, error=_("A reason is needed to unlock."))
    try:
        locks.unlock(db.session, row, actor=staff_actor(), reason=form.reason.data)
    except locks.LockError:
        db.session.rollback()
        return _page(status=409, error=_("This lock was already lifted."))
    db.session.commit()
    flash(_("Unlocked. The data can be changed again."), "ok")
    return redirect(url_for(".list_locks", study_code=study_code))

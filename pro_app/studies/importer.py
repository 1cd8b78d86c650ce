"""Import a protocol file into a study: create it, or amend it and re-plan.

An amendment re-plans only what has not started (see ``planning``); the
study change and every created, moved or cancelled assignment are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.studies.models import Site, Study, Timepoint, TimepointInstrument
from pro_app.studies.planning import AssignmentChange, replan
from pro_app.studies.protocol import Protocol


@dataclass
class ImportReport:
    """What importing a protocol did (or, in a dry run, would do)."""

    study_code: str
    created: bool
    dry_run: bool
    old_version: str | None
    new_version: str
    study_changes: list[str] = field(default_factory=list)
    changes: list[AssignmentChange] = field(default_factory=list)
    # Said but not changes: a site the file no longer lists is kept.
    notes: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """True when the file matches the database: nothing was (or would be) done."""
        return not (
            self.created
            or self.study_changes
            or self.changes
            or self.old_version != self.new_version
        )

    def count(self, kind: str) -> int:
        """How many assignments were ``created``, ``moved`` or ``cancelled``."""
        return sum(1 for c in self.changes if c.kind == kind)

    def lines(self) -> list[str]:
        """The report as text, one change per line."""
        notes = [f"  {line}" for line in self.notes]
        if self.unchanged:
            return [
                f"{self.study_code}: no change (protocol version {self.new_version}"
                " matches the database)",
                *notes,
            ]
        verb = "would " if self.dry_run else ""
        head = "create" if self.created else "update"
        out = [
            f"{self.study_code}: {verb}{head} study, protocol version "
            f"{self.old_version or '-'} -> {self.new_version}"
        ]
        out += [f"  {line}" for line in self.study_changes]
        out += notes
        out += [f"  {c.line()}" for c in self.changes]
        out.append(
            f"{verb}create {self.count('created')}, move {self.count('moved')}, "
            f"cancel {self.count('cancelled')} assignment(s)"
            + (" (dry run: nothing written)" if self.dry_run else "")
        )
        return out


def import_protocol(
    session: Session,
    protocol: Protocol,
    *,
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Create or amend a study from a protocol; re-plan only what has not started.

    Completed, in-progress, not-done and already-missed assignments are never
    touched. A dry run does everything inside a savepoint and rolls it back.
    """
    savepoint = session.begin_nested()
    try:
        report = _apply(session, protocol, actor=actor, now=now or utcnow())
        report.dry_run = dry_run
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _apply(
    session: Session, protocol: Protocol, *, actor: str, now: datetime
) -> ImportReport:
    study = session.scalar(select(Study).where(Study.code == protocol.code))
    created = study is None
    if study is None:
        study = Study(code=protocol.code, title=protocol.title, settings={})
        session.add(study)
    report = ImportReport(
        study_code=protocol.code,
        created=created,
        dry_run=False,
        old_version=None if created else study.protocol_version,
        new_version=protocol.protocol_version,
    )
    fields = {
        "title": protocol.title,
        "registry_id": protocol.registry_id,
        "timezone": protocol.timezone,
        "protocol_version": protocol.protocol_version,
        # Keys the protocol does not manage (set elsewhere) are kept.
        "settings": {**(study.settings or {}), **protocol.settings_dict()},
    }
    old = {key: getattr(study, key) for key in fields}
    for key, value in fields.items():
        if created or old[key] != value:
            if not created:
                report.study_changes.append(f"study {key}: {old[key]!r} -> {value!r}")
            setattr(study, key, value)
    session.flush()
    report.study_changes += _sync_sites(session, study, protocol, report.notes)
    report.study_changes += _sync_timepoints(session, study, protocol, now)
    session.flush()
    session.expire(study, ["sites", "timepoints"])
    reason = f"protocol {protocol.code} version {protocol.protocol_version}"
    # An unchanged file leaves no audit event: nothing happened to the study.
    if created or report.study_changes:
        _record_study(session, study, protocol, report, actor=actor, reason=reason)
    if not created:
        participants = session.scalars(
            select(Participant)
            .where(
                Participant.study_id == study.id,
                Participant.status == ParticipantStatus.ACTIVE,
            )
            .order_by(Participant.id)
        )
        for participant in participants:
            report.changes += replan(
                session, participant, actor=actor, reason=reason, now=now
            )
    return report


def _record_study(
    session: Session,
    study: Study,
    protocol: Protocol,
    report: ImportReport,
    *,
    actor: str,
    reason: str,
) -> None:
    created = report.created
    record(
        session,
        actor=actor,
        action="study.create" if created else "study.amend",
        entity_type="study",
        entity_id=study.id,
        old=None if created else {"protocol_version": report.old_version},
        new={
            "protocol_version": protocol.protocol_version,
            "file": protocol.path.name,
            "changes": report.study_changes,
            "timepoints": [tp.code for tp in protocol.timepoints],
        },
        reason=None if created else reason,
        study_id=study.id,
    )


def _sync_sites(
    session: Session, study: Study, protocol: Protocol, notes: list[str]
) -> list[str]:
    changes: list[str] = []
    sites = {
        s.code: s
        for s in session.scalars(select(Site).where(Site.study_id == study.id))
    }
    for spec in protocol.sites:
        contact = spec.contact
        values = {
            "name": spec.name,
            "timezone": spec.timezone,
            "contact_name": contact.name if contact else None,
            "contact_phone": contact.phone if contact else None,
            "contact_email": contact.email if contact else None,
        }
        site = sites.get(spec.code)
        if site is None:
            session.add(Site(study=study, code=spec.code, **values))
            changes.append(f"site {spec.code}: added")
            continue
        before = {key: getattr(site, key) for key in values}
        diff = [
            f"{k} {before[k]!r} -> {v!r}" for k, v in values.items() if before[k] != v
        ]
        for key, value in values.items():
            setattr(site, key, value)
        if diff:
            changes.append(f"site {spec.code}: " + ", ".join(diff))
    declared = {spec.code for spec in protocol.sites}
    # Participants belong to sites, so a site left out of the file is kept.
    notes += [
        f"site {code}: not in the file, kept" for code in sites if code not in declared
    ]
    return changes


def _sync_timepoints(
    session: Session, study: Study, protocol: Protocol, now: datetime
) -> list[str]:
    notes: list[str] = []
    existing = {
        tp.code: tp
        for tp in session.scalars(
            select(Timepoint).where(Timepoint.study_id == study.id)
        )
    }
    declared = {spec.code for spec in protocol.timepoints}
    # Park every position out of the way first, so the new order can be written.
    for offset, tp in enumerate(existing.values(), start=1):
        tp.position = 10_000 + offset
    session.flush()
    for position, spec in enumerate(protocol.timepoints, start=1):
        tp = existing.get(spec.code)
        values = {
            "label": spec.label,
            "day_offset": spec.day_offset,
            "window_before": spec.window_before,
            "window_after": spec.window_after,
            "is_baseline": spec.baseline,
        }
        if tp is None:
            tp = Timepoint(study=study, code=spec.code, position=position, **values)
            session.add(tp)
            notes.append(f"timepoint {spec.code}: added")
        else:
            before = {key: getattr(tp, key) for key in values}
            diff = [
                f"{k} {before[k]} -> {v}" for k, v in values.items() if before[k] != v
            ]
            if tp.retired_at is not None:
                tp.retired_at = None
                diff.append("restored")
            for key, value in values.items():
                setattr(tp, key, value)
            tp.position = position
            if diff:
                notes.append(f"timepoint {spec.code}: " + ", ".join(diff))
        session.flush()
        notes += _sync_instruments(session, tp, spec.instruments)
    for code, tp in existing.items():
        if code not in declared and tp.retired_at is None:
            tp.retired_at = now
            notes.append(f"timepoint {code}: removed")
    return notes


def _sync_instruments(
    session: Session, tp: Timepoint, wanted: tuple[tuple[str, str], ...]
) -> list[str]:
    notes: list[str] = []
    rows = {
        ti.instrument_id: ti
        for ti in session.scalars(
            select(TimepointInstrument).where(TimepointInstrument.timepoint_id == tp.id)
        )
    }
    ids = [instrument_id for instrument_id, _ in wanted]
    for instrument_id, row in rows.items():
        if instrument_id not in ids:
            session.delete(row)
            notes.append(f"timepoint {tp.code}: instrument {instrument_id} removed")
    for offset, row in enumerate(rows.values(), start=1):
        row.position = 10_000 + offset
    session.flush()
    for position, (instrument_id, version) in enumerate(wanted, start=1):
        row = rows.get(instrument_id)
        if row is None:
            session.add(
                TimepointInstrument(
                    timepoint=tp,
                    instrument_id=instrument_id,
                    instrument_version=version,
                    position=position,
                )
            )
            if rows:
                notes.append(f"timepoint {tp.code}: instrument {instrument_id} added")
            continue
        if row.instrument_version != version:
            notes.append(
                f"timepoint {tp.code}: {instrument_id} "
                f"{row.instrument_version} -> {version}"
            )
            row.instrument_version = version
        row.position = position
    session.flush()
    session.expire(tp, ["instruments"])
    return notes

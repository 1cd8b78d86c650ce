"""The one query behind every export, and the audit record of each export.

``iter_records`` streams a study's completed submissions with their current
answers and current scores. It first reads the ordered ids of the
submissions in scope (8 bytes each), then reads the submissions in batches:
one query for their context, one for their current answers and one for
their current scores. Memory holds one batch, whatever the study's size;
each wide row is assembled from one submission; and the caller may end the
read transaction between batches (``end_batch``), so a long export never
holds SQLite's lock while a slow client downloads.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, false, func, or_, select
from sqlalchemy.orm import Session

from pro_app.audit.models import AuditEvent
from pro_app.audit.services import record
from pro_app.audit.trail import actor_names
from pro_app.catalog import Catalog, version_key
from pro_app.dbtypes import utcnow
from pro_app.exports.layout import (
    ExportFilters,
    ExportPlan,
    RecordSource,
    ScoreRow,
    SubjectRecord,
    SubmissionRecord,
)
from pro_app.participants.models import Participant
from pro_app.studies.models import (
    Assignment,
    Site,
    Study,
    Timepoint,
    TimepointInstrument,
)
from pro_app.surveys.models import Answer, Score, Submission, SubmissionStatus

#: Submissions read per batch (their answers and scores come with them).
BATCH_SIZE = 500


class ExportError(Exception):
    """An export that cannot be made as asked (unknown site, format...)."""


def plan_export(
    session: Session,
    study: Study,
    filters: ExportFilters,
    catalog: Catalog,
    *,
    allowed_sites: Collection[str] | None = None,
    now: datetime | None = None,
) -> ExportPlan:
    """Check the filters and find the instrument versions in scope.

    Args:
        allowed_sites: the site codes a site-limited user may export; with
            no site filter they become the filter.
    """
    site_codes = {s.code for s in study.sites}
    tp_codes = {t.code for t in study.timepoints}
    _check("site", filters.sites, site_codes)
    _check("timepoint", filters.timepoints, tp_codes)
    if allowed_sites is not None:
        if not allowed_sites:
            # Never read as "no site filter", which would mean every site.
            raise ExportError("no site to export")
        if not filters.sites:
            filters = ExportFilters(
                tuple(sorted(allowed_sites)), filters.timepoints, filters.instruments
            )
        _check("site", filters.sites, set(allowed_sites))
    in_study = _instrument_versions(session, study.id, filters)
    _check("instrument", filters.instruments, {i for i, _v in in_study})
    if filters.instruments:
        in_study = [(i, v) for i, v in in_study if i in filters.instruments]
    try:
        instruments = tuple(catalog.get(i, v) for i, v in in_study)
    except LookupError as error:
        raise ExportError(str(error)) from error
    return ExportPlan(
        study=study.code,
        study_id=study.id,
        filters=filters,
        instruments=instruments,
        generated_at=now or utcnow(),
        baseline_timepoint=next(
            (t.code for t in study.timepoints if t.is_baseline), None
        ),
        subjects=study_subjects(session, study.id, filters.sites),
    )


def study_subjects(
    session: Session, study_id: int, sites: Collection[str] = ()
) -> tuple[SubjectRecord, ...]:
    """Every participant of the study (at these sites), answered or not."""
    query = (
        select(
            Participant.subject_id,
            Site.code,
            Site.name,
            Participant.day0,
            Participant.status,
        )
        .join(Site, Participant.site_id == Site.id)
        .where(Participant.study_id == study_id)
        .order_by(Participant.subject_id)
    )
    if sites:
        query = query.where(Site.code.in_(sites))
    return tuple(
        SubjectRecord(subject, site, name, day0, str(status))
        for subject, site, name, day0, status in session.execute(query)
    )


def _check(kind: str, wanted: tuple[str, ...], known: set[str]) -> None:
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ExportError(f"unknown {kind}: {', '.join(unknown)}")


def _instrument_versions(
    session: Session, study_id: int, filters: ExportFilters
) -> list[tuple[str, str]]:
    """Instrument versions of the protocol, then any others answered."""
    protocol = select(
        TimepointInstrument.instrument_id, TimepointInstrument.instrument_version
    ).join(Timepoint, TimepointInstrument.timepoint_id == Timepoint.id)
    protocol = protocol.where(Timepoint.study_id == study_id)
    if filters.timepoints:
        protocol = protocol.where(Timepoint.code.in_(filters.timepoints))
    protocol = protocol.order_by(Timepoint.position, TimepointInstrument.position)
    found = list(dict.fromkeys(tuple(row) for row in session.execute(protocol)))
    answered = _scoped(
        select(Submission.instrument_id, Submission.instrument_version).distinct(),
        study_id,
        ExportFilters(filters.sites, filters.timepoints),
    )
    extra = sorted(
        {tuple(row) for row in session.execute(answered)} - set(found),
        key=lambda iv: (iv[0], version_key(iv[1])),
    )
    return found + extra


def _scoped(query: Select[Any], study_id: int, filters: ExportFilters) -> Select[Any]:
    """Join a query on submissions to its context and apply the filters."""
    query = (
        query.join(Assignment, Submission.assignment_id == Assignment.id)
        .join(Participant, Assignment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .join(Timepoint, Assignment.timepoint_id == Timepoint.id)
        .where(
            Participant.study_id == study_id,
            Submission.status == SubmissionStatus.COMPLETED,
        )
    )
    if filters.sites:
        query = query.where(Site.code.in_(filters.sites))
    if filters.timepoints:
        query = query.where(Timepoint.code.in_(filters.timepoints))
    if filters.instruments:
        query = query.where(Submission.instrument_id.in_(filters.instruments))
    return query


def _in_scope(
    plan: ExportPlan, instrument: str | None, query: Select[Any]
) -> Select[Any]:
    # Always name the instruments: the plan's are the ones it can label.
    ids = (instrument,) if instrument is not None else tuple(plan.instrument_ids())
    filters = ExportFilters(plan.filters.sites, plan.filters.timepoints, ids)
    query = _scoped(query, plan.study_id, filters)
    return query if ids else query.where(false())


def submission_ids(
    session: Session, plan: ExportPlan, instrument: str | None = None
) -> array[int]:
    """Ids of the completed submissions in scope, in export order.

    Export order: subject, timepoint, the instrument's place at the visit.
    """
    query = _in_scope(plan, instrument, select(Submission.id)).order_by(
        Participant.subject_id, Timepoint.position, Assignment.position, Submission.id
    )
    return array("q", session.scalars(query.execution_options(yield_per=10_000)))


def count_submissions(session: Session, plan: ExportPlan) -> int:
    """How many completed submissions the plan covers."""
    query = _in_scope(plan, None, select(func.count(Submission.id)))
    return session.scalar(query) or 0


_IDS = bindparam("ids", expanding=True)
_CONTEXT = (
    select(
        Submission.id,
        Site.code,
        Site.timezone,
        Participant.subject_id,
        Timepoint.code,
        Submission.instrument_id,
        Submission.instrument_version,
        Submission.language,
        Submission.mode,
        Submission.completed_at,
        Timepoint.position,
        Timepoint.label,
        Participant.day0,
        Participant.timezone,
        Submission.administered_on,
        Submission.entered_by,
        Timepoint.is_baseline,
        Site.name,
    )
    .join(Assignment, Submission.assignment_id == Assignment.id)
    .join(Participant, Assignment.participant_id == Participant.id)
    .join(Site, Participant.site_id == Site.id)
    .join(Timepoint, Assignment.timepoint_id == Timepoint.id)
    .where(Submission.id.in_(_IDS))
)
# A correction: the current answer was written by staff after completion, or
# it replaced an earlier answer and had to give a reason.
_CORRECTED = case(
    (
        or_(
            Answer.reason.is_not(None),
            and_(
                Answer.actor.like("staff:%"),
                Answer.answered_at > Submission.completed_at,
            ),
        ),
        1,
    ),
    else_=0,
)
_ANSWERS = (
    select(Answer.submission_id, Answer.item_id, Answer.code, _CORRECTED)
    .join(Submission, Answer.submission_id == Submission.id)
    .where(Answer.submission_id.in_(_IDS), Answer.replaced_at.is_(None))
)
_AUDIT = select(
    Answer.submission_id,
    Answer.item_id,
    Answer.actor,
    Answer.answered_at,
    Answer.reason,
).where(Answer.submission_id.in_(_IDS), Answer.replaced_at.is_(None))
_SCORES = (
    select(
        Score.submission_id,
        Score.scale_id,
        Score.method,
        Score.status,
        Score.raw,
        Score.value,
        Score.se,
        Score.n_answered,
        Score.n_items,
        Score.prorated,
        Score.algorithm,
    )
    .where(Score.submission_id.in_(_IDS), Score.replaced_at.is_(None))
    .order_by(Score.id)
)


def iter_records(
    session: Session,
    plan: ExportPlan,
    instrument: str | None = None,
    *,
    answers: bool = True,
    scores: bool = True,
    audit: bool = False,
    batch_size: int = BATCH_SIZE,
    end_batch: Callable[[], None] | None = None,
) -> Iterator[SubmissionRecord]:
    """Stream the plan's completed submissions, one record each, in order.

    Args:
        instrument: only this instrument id (one file per instrument).
        answers, scores: False leaves them out (empty) for a writer that
            does not use them.
        audit: also read who wrote each current answer, when and why.
        end_batch: called after each batch is read; the boundary passes
            ``session.rollback`` to end the read transaction (reads only).
    """
    ids = submission_ids(session, plan, instrument)
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size].tolist()
        records = _read_batch(session, batch, answers, scores, audit)
        if end_batch is not None:
            end_batch()
        for submission_id in batch:
            found = records.get(submission_id)
            if found is not None:  # gone since the ids were read
                yield found


def record_source(
    session: Session, plan: ExportPlan, *, end_batch: Callable[[], None] | None
) -> RecordSource:
    """The plan's records as writers ask for them (see ``iter_records``)."""

    def source(
        instrument: str | None = None,
        *,
        answers: bool = True,
        scores: bool = True,
        audit: bool = False,
    ) -> Iterator[SubmissionRecord]:
        return iter_records(
            session,
            plan,
            instrument,
            answers=answers,
            scores=scores,
            audit=audit,
            end_batch=end_batch,
        )

    return source


def _read_batch(
    session: Session,
    batch: list[int],
    with_answers: bool,
    with_scores: bool,
    with_audit: bool = False,
) -> dict[int, SubmissionRecord]:
    # Core rows through the session's connection: the ORM's row processing
    # would cost more than the query for millions of answers.
    connection = session.connection()
    params = {"ids": batch}
    answers: dict[int, dict[str, tuple[int | None, bool]]] = defaultdict(dict)
    if with_answers:
        for sid, item_id, code, corrected in connection.execute(_ANSWERS, params).all():
            answers[sid][item_id] = (code, corrected == 1)
    scores: dict[int, list[ScoreRow]] = defaultdict(list)
    if with_scores:
        for row in connection.execute(_SCORES, params):
            scores[row[0]].append(ScoreRow._make(row[1:]))
    audit: dict[int, dict[str, tuple[str, datetime, str | None]]] = defaultdict(dict)
    if with_audit:
        for sid, item_id, actor, at, reason in connection.execute(_AUDIT, params):
            audit[sid][item_id] = (actor, at, reason)
    records = {}
    rows = connection.execute(_CONTEXT, params).all()
    names = actor_names(session, [row[15] for row in rows if row[15]])
    writers = {actor for found in audit.values() for actor, _at, _why in found.values()}
    audit_names = actor_names(session, sorted(writers)) if writers else {}
    for row in rows:
        sid = row[0]
        records[sid] = SubmissionRecord(
            submission_id=sid,
            site=row[1],
            site_timezone=row[2],
            subject=row[3],
            timepoint=row[4],
            instrument=row[5],
            version=row[6],
            language=row[7],
            mode=str(row[8]),
            completed_at=row[9],
            answers=answers.get(sid, {}),
            scores=tuple(scores.get(sid, ())),
            visit_num=row[10],
            visit=row[11],
            day0=row[12],
            audit=audit.get(sid, {}),
            participant_timezone=row[13],
            administered_on=row[14],
            entered_by=row[15],
            entered_by_name=names.get(row[15]),
            baseline=bool(row[16]),
            site_name=row[17],
            audit_names=audit_names,
        )
    return records


def record_export(
    session: Session,
    plan: ExportPlan,
    *,
    actor: str,
    format_name: str,
    formats: Sequence[str],
    files: Mapping[str, str],
    file_rows: Mapping[str, int],
    archive: Mapping[str, Any] | None = None,
    complete: bool = True,
) -> AuditEvent:
    """Audit an export: who, filters, rows and the SHA-256 of each file.

    An export stopped part-way (the download was cut) is recorded as
    ``export.incomplete`` with the files finished so far.
    """
    new: dict[str, Any] = {
        "format": format_name,
        "formats": list(formats),
        "filters": plan.filters.as_dict(),
        "rows": sum(file_rows.values()),
        "file_rows": dict(file_rows),
        "files": dict(files),
    }
    if archive is not None:
        new["archive"] = dict(archive)
    return record(
        session,
        actor=actor,
        action="export" if complete else "export.incomplete",
        entity_type="study",
        entity_id=plan.study_id,
        new=new,
        study_id=plan.study_id,
    )

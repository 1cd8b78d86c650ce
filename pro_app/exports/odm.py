"""``odm``: CDISC ODM 1.3.2 XML, study metadata and clinical data with audit records.

Metadata: a study event per timepoint, a form per instrument version, an item
group for its items and one for its scores, an item group shared by every
form for how it was collected (``COLLECTED_ON``: the day the participant
answered, for a paper or interview form the day entered by staff;
``COLLECTION_MODE``: self, paper or interview; ``ENTERED_BY``: the staff
member who typed in a paper or interview form; each with an ``AuditRecord``
of who entered it and when), an item per item (its question and code list,
with every translation) and per score. ``AdminData`` names its users (a
staff member's name, a participant's subject id) and sites (the site name).
Clinical data: one ``SubjectData`` per subject, each current answer as
``ItemData`` with the ``AuditRecord`` of who wrote it, when, where and why;
each current score.

The XML is written by hand and streamed. ODM puts ``AdminData`` (the users
and sites the audit records point at) and the metadata before the clinical
data, so a first pass over the records reads only their context and audit
facts (timepoints, sites, actors: a few bytes each), then a second pass
writes the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from pro_app.catalog import Instrument
from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
)
from pro_app.exports.sdtm import number_text
from pro_app.exports.writers import CHUNK

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
MDV = "MDV.1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def oid(prefix: str, *parts: str) -> str:
    """An OID from readable parts (characters outside A-Z a-z 0-9 . _ - become _)."""
    return ".".join([prefix, *(_UNSAFE.sub("_", p) for p in parts)])


def form_oid(instrument_id: str, version: str) -> str:
    return oid("F", instrument_id, version)


def item_oid(instrument_id: str, version: str, item_id: str) -> str:
    return oid("I", instrument_id, version, item_id)


def score_oid(instrument_id: str, version: str, scale_id: str, se: bool = False) -> str:
    return oid("S", instrument_id, version, scale_id + ("_SE" if se else ""))


#: The item group of how a form was collected (shared by every form): the day
#: answered, the mode, and who entered a paper or interview form.
COLLECTION_GROUP = oid("IG", "COLLECTION")
COLLECTED_ON = oid("I", "COLLECTED_ON")
COLLECTION_MODE = oid("I", "COLLECTION_MODE")
ENTERED_BY = oid("I", "ENTERED_BY")
MODE_LIST = oid("CL", "COLLECTION_MODE")
#: ``Submission.mode`` values and their decodes.
MODES = {
    "self": "Self-completed online by the participant",
    "paper": "On paper, entered by staff",
    "interview": "In an interview, entered by staff",
}


def user_oid(actor: str) -> str:
    return oid("USR", actor.replace(":", "."))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _a(**attributes: object) -> str:
    return "".join(
        f" {name.rstrip('_')}={quoteattr(str(value))}"
        for name, value in attributes.items()
        if value is not None
    )


@dataclass
class Scope:
    """What the first pass found: events (with their forms), sites (code to
    name), actors (to a staff member's name, or a participant's subject id)."""

    events: dict[str, tuple[int, str]] = field(default_factory=dict)
    forms: dict[str, list[str]] = field(default_factory=dict)
    sites: dict[str, str] = field(default_factory=dict)
    actors: dict[str, str | None] = field(default_factory=dict)

    def add_actor(self, actor: str, name: str | None) -> None:
        if self.actors.get(actor) is None:
            self.actors[actor] = name


def _scope(plan: ExportPlan, source: RecordSource) -> Scope:
    scope = Scope()
    for record in source(None, answers=False, scores=False, audit=True):
        scope.events.setdefault(
            record.timepoint, (record.visit_num or 0, record.visit or "")
        )
        forms = scope.forms.setdefault(record.timepoint, [])
        form = form_oid(record.instrument, record.version)
        if form not in forms:
            forms.append(form)
        scope.sites.setdefault(record.site, record.site_name or record.site)
        for actor, _at, _why in record.audit.values():
            # A participant writes only in their own forms.
            own = record.subject if actor.startswith("participant:") else None
            scope.add_actor(actor, record.audit_names.get(actor, own))
        if record.entered_by is not None:
            scope.add_actor(record.entered_by, record.entered_by_name)
    return scope


def _translated(texts: dict[str, str]) -> str:
    return "".join(
        f"<TranslatedText{_a(**{'xml:lang': lang.replace('_', '-')})}>"
        f"{escape(text)}</TranslatedText>"
        for lang, text in texts.items()
    )


def _instrument_metadata(instrument: Instrument) -> dict[str, list[str]]:
    """The definitions of one instrument version, by kind (ODM orders kinds)."""
    iid, ver = instrument.id, instrument.version
    texts = {loc: instrument.text(loc) for loc in instrument.texts}
    items_group = oid("IG", iid, ver, "ITEMS")
    scores_group = oid("IG", iid, ver, "SCORES")
    out: dict[str, list[str]] = {k: [] for k in ("form", "group", "item", "list")}
    refs = [
        f"<ItemGroupRef{_a(ItemGroupOID=COLLECTION_GROUP, Mandatory='Yes')}/>",
        f"<ItemGroupRef{_a(ItemGroupOID=items_group, Mandatory='Yes')}/>",
    ]
    if instrument.scales:
        refs.append(f"<ItemGroupRef{_a(ItemGroupOID=scores_group, Mandatory='No')}/>")
    form = _a(OID=form_oid(iid, ver), Name=instrument.name, Repeating="No")
    out["form"].append(f"<FormDef{form}>{''.join(refs)}</FormDef>")
    name = f"{instrument.short_name} items"
    group = [f"<ItemGroupDef{_a(OID=items_group, Name=name, Repeating='No')}>"]
    for n, item in enumerate(instrument.items, 1):
        ref = _a(ItemOID=item_oid(iid, ver, item.id), OrderNumber=n, Mandatory="No")
        group.append(f"<ItemRef{ref}/>")
        question = {loc: t.item_text(item.id) for loc, t in texts.items()}
        code_list = oid("CL", iid, ver, item.response_set.id)
        attrs = _a(OID=item_oid(iid, ver, item.id), Name=item.id, DataType="integer")
        out["item"].append(
            f"<ItemDef{attrs}><Question>{_translated(question)}</Question>"
            f"<CodeListRef{_a(CodeListOID=code_list)}/></ItemDef>"
        )
    out["group"].append("".join(group) + "</ItemGroupDef>")
    if instrument.scales:
        name = f"{instrument.short_name} scores"
        group = [f"<ItemGroupDef{_a(OID=scores_group, Name=name, Repeating='No')}>"]
        n = 0
        for scale in instrument.scales:
            for se in (False, True) if scale.method == "sum_to_t" else (False,):
                n += 1
                score = score_oid(iid, ver, scale.id, se)
                ref = _a(ItemOID=score, OrderNumber=n, Mandatory="No")
                group.append(f"<ItemRef{ref}/>")
                label = f"{scale.name} (standard error)" if se else scale.name
                attrs = _a(OID=score, Name=label, DataType="float")
                out["item"].append(
                    f"<ItemDef{attrs}><Description>{_translated({'en': label})}"
                    "</Description></ItemDef>"
                )
        out["group"].append("".join(group) + "</ItemGroupDef>")
    for set_id, response_set in instrument.response_sets.items():
        first = next(i for i in instrument.items if i.response_set.id == set_id)
        attrs = _a(OID=oid("CL", iid, ver, set_id), Name=set_id, DataType="integer")
        entries = [f"<CodeList{attrs}>"]
        for code in response_set.codes:
            labels = {loc: t.option_label(first.id, code) for loc, t in texts.items()}
            entries.append(
                f"<CodeListItem{_a(CodedValue=code)}>"
                f"<Decode>{_translated(labels)}</Decode></CodeListItem>"
            )
        out["list"].append("".join(entries) + "</CodeList>")
    return out


#: The collection group's items: OID, name, data type, mandatory, description.
_COLLECTION_ITEMS = (
    (
        COLLECTED_ON,
        "Date answered",
        "date",
        "Yes",
        "The day the participant answered the form: for a paper or interview "
        "form the day entered by staff (the AuditRecord gives the entry time); "
        "online, the day of completion in the participant's time zone",
    ),
    (
        COLLECTION_MODE,
        "Mode of collection",
        "text",
        "Yes",
        "How the form was answered: self (online, by the participant), paper "
        "or interview (entered by staff)",
    ),
    (
        ENTERED_BY,
        "Entered by",
        "text",
        "No",
        "The staff member who entered a paper or interview form (their name; "
        "the AuditRecord points at their User); absent for online forms",
    ),
)


def _collection_metadata() -> dict[str, list[str]]:
    """The collection group, its items and the mode's code list."""
    group = [
        f"<ItemGroupDef{_a(OID=COLLECTION_GROUP, Name='Collection', Repeating='No')}>"
    ]
    items = []
    for n, (item, name, kind, mandatory, about) in enumerate(_COLLECTION_ITEMS, 1):
        group.append(
            f"<ItemRef{_a(ItemOID=item, OrderNumber=n, Mandatory=mandatory)}/>"
        )
        codes = f"<CodeListRef{_a(CodeListOID=MODE_LIST)}/>"
        items.append(
            f"<ItemDef{_a(OID=item, Name=name, DataType=kind)}>"
            f"<Description>{_translated({'en': about})}</Description>"
            f"<Question>{_translated({'en': name})}</Question>"
            f"{codes if item == COLLECTION_MODE else ''}</ItemDef>"
        )
    attrs = _a(OID=MODE_LIST, Name="Mode of collection", DataType="text")
    modes = [f"<CodeList{attrs}>"]
    for code, decode in MODES.items():
        modes.append(
            f"<CodeListItem{_a(CodedValue=code)}>"
            f"<Decode>{_translated({'en': decode})}</Decode></CodeListItem>"
        )
    return {
        "form": [],
        "group": ["".join(group) + "</ItemGroupDef>"],
        "item": items,
        "list": ["".join(modes) + "</CodeList>"],
    }


def _metadata(plan: ExportPlan, scope: Scope) -> Iterator[str]:
    study = oid("ST", plan.study)
    yield (
        f"<Study{_a(OID=study)}><GlobalVariables>"
        f"<StudyName>{escape(plan.study)}</StudyName>"
        f"<StudyDescription>{escape(plan.study)} patient-reported outcomes"
        f"</StudyDescription><ProtocolName>{escape(plan.study)}</ProtocolName>"
        f"</GlobalVariables><MetaDataVersion{_a(OID=MDV, Name='pro-app export')}>"
    )
    events = sorted(scope.events.items(), key=lambda e: (e[1][0], e[0]))
    yield "<Protocol>"
    for n, (code, _event) in enumerate(events, 1):
        ref = _a(StudyEventOID=oid("SE", code), OrderNumber=n, Mandatory="No")
        yield f"<StudyEventRef{ref}/>"
    yield "</Protocol>"
    for code, (_num, label) in events:
        attrs = _a(OID=oid("SE", code), Name=label or code, Repeating="No")
        yield f"<StudyEventDef{attrs}{_a(Type='Scheduled')}>"
        for n, form in enumerate(scope.forms[code], 1):
            yield f"<FormRef{_a(FormOID=form, OrderNumber=n, Mandatory='No')}/>"
        yield "</StudyEventDef>"
    parts = [_collection_metadata()]
    parts += [_instrument_metadata(instrument) for instrument in plan.instruments]
    for kind in ("form", "group", "item", "list"):
        for part in parts:
            yield from part[kind]
    yield "</MetaDataVersion></Study>"


def _admin(plan: ExportPlan, scope: Scope) -> Iterator[str]:
    yield "<AdminData>"
    for actor, name in sorted(scope.actors.items()):
        yield _user(actor, name)
    for site, site_name in sorted(scope.sites.items()):
        attrs = _a(OID=oid("LOC", site), Name=site_name, LocationType="Site")
        yield f"<Location{attrs}>"
        ref = _a(StudyOID=oid("ST", plan.study), MetaDataVersionOID=MDV)
        yield f"<MetaDataVersionRef{ref}{_a(EffectiveDate=plan.generated_at.date())}/>"
        yield "</Location>"
    yield "</AdminData>"


def _user(actor: str, name: str | None) -> str:
    """A ``User``: ``LoginName`` the actor; a staff member's name as
    ``DisplayName`` and ``FullName`` (the app keeps one name, not split into
    ``FirstName``/``LastName``); a participant shown by subject id.

    ODM 1.3.2 ``User`` children, in the schema's order: LoginName,
    DisplayName, FullName, FirstName, LastName, ... (ODM 1.3.2 section
    "AdminData")."""
    staff = actor.startswith("staff:")
    kind = "Investigator" if staff else "Other"
    parts = [f"<User{_a(OID=user_oid(actor), UserType=kind)}>"]
    parts.append(f"<LoginName>{escape(actor)}</LoginName>")
    if staff and name:
        parts.append(f"<DisplayName>{escape(name)}</DisplayName>")
        parts.append(f"<FullName>{escape(name)}</FullName>")
    elif name:
        parts.append(f"<DisplayName>Participant {escape(name)}</DisplayName>")
    return "".join(parts) + "</User>"


def _clinical(plan: ExportPlan, source: RecordSource) -> Iterator[tuple[str, int]]:
    study = oid("ST", plan.study)
    instruments = {(i.id, i.version): i for i in plan.instruments}
    yield f"<ClinicalData{_a(StudyOID=study, MetaDataVersionOID=MDV)}>", 0
    subject = event = None
    for record in source(None, audit=True):
        parts = []
        if record.subject != subject:
            if event is not None:
                parts.append("</StudyEventData>")
            if subject is not None:
                parts.append("</SubjectData>")
            subject, event = record.subject, None
            parts.append(
                f"<SubjectData{_a(SubjectKey=subject)}>"
                f"<SiteRef{_a(LocationOID=oid('LOC', record.site))}/>"
            )
        if record.timepoint != event:
            if event is not None:
                parts.append("</StudyEventData>")
            event = record.timepoint
            parts.append(f"<StudyEventData{_a(StudyEventOID=oid('SE', event))}>")
        parts.extend(_form(record, instruments[(record.instrument, record.version)]))
        yield "".join(parts), 1
    tail = ("</StudyEventData>" if event else "") + (
        "</SubjectData>" if subject else ""
    )
    yield tail + "</ClinicalData>", 0


def _audit(actor: str, site: str, at: datetime, reason: str | None = None) -> str:
    return (
        f"<AuditRecord><UserRef{_a(UserOID=user_oid(actor))}/>"
        f"<LocationRef{_a(LocationOID=oid('LOC', site))}/>"
        f"<DateTimeStamp>{_stamp(at)}</DateTimeStamp>"
        + (f"<ReasonForChange>{escape(reason)}</ReasonForChange>" if reason else "")
        + "</AuditRecord>"
    )


def _collection(record: SubmissionRecord) -> Iterator[str]:
    """How the form was collected: the day answered, the mode and who entered
    it; a staff entry's audit records say who typed it in and when (the entry
    time, not the day answered)."""
    yield f"<ItemGroupData{_a(ItemGroupOID=COLLECTION_GROUP)}>"
    values = [
        _a(ItemOID=COLLECTED_ON, Value=record.collected_on().isoformat()),
        _a(ItemOID=COLLECTION_MODE, Value=record.mode),
    ]
    if record.entered_by is not None:
        name = record.entered_by_name or record.entered_by
        values.append(_a(ItemOID=ENTERED_BY, Value=name))
    if record.entered_by is None:
        yield "".join(f"<ItemData{value}/>" for value in values)
    else:
        audit = _audit(record.entered_by, record.site, record.completed_at)
        yield "".join(f"<ItemData{value}>{audit}</ItemData>" for value in values)
    yield "</ItemGroupData>"


def _form(record: SubmissionRecord, instrument: Instrument) -> Iterator[str]:
    iid, ver = instrument.id, instrument.version
    yield f"<FormData{_a(FormOID=form_oid(iid, ver))}>"
    yield from _collection(record)
    yield f"<ItemGroupData{_a(ItemGroupOID=oid('IG', iid, ver, 'ITEMS'))}>"
    for item in instrument.items:
        if item.id not in record.answers:
            continue
        code = record.answers[item.id][0]
        value = _a(Value=code) if code is not None else _a(IsNull="Yes")
        yield f"<ItemData{_a(ItemOID=item_oid(iid, ver, item.id))}{value}>"
        audit = record.audit.get(item.id)
        if audit is not None:
            actor, at, reason = audit
            yield _audit(actor, record.site, at, reason)
        yield "</ItemData>"
    yield "</ItemGroupData>"
    if instrument.scales:
        yield f"<ItemGroupData{_a(ItemGroupOID=oid('IG', iid, ver, 'SCORES'))}>"
        scales = {s.id: s for s in instrument.scales}
        for score in record.scores:
            scale = scales.get(score.scale_id)
            if scale is None:
                continue
            ok = score.status == "ok" and score.value is not None
            pairs = [(False, score.value if ok else None)]
            if scale.method == "sum_to_t":
                pairs.append((True, score.se if ok else None))
            for se, value in pairs:
                shown = (
                    _a(Value=number_text(value))
                    if value is not None
                    else _a(IsNull="Yes")
                )
                item = _a(ItemOID=score_oid(iid, ver, scale.id, se))
                yield f"<ItemData{item}{shown}/>"
        yield "</ItemGroupData>"
    yield "</FormData>"


def odm(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``odm``: one ODM 1.3.2 Snapshot file, metadata and clinical data."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        scope = _scope(plan, source)
        created = plan.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        head = _a(
            xmlns=ODM_NS,
            FileType="Snapshot",
            FileOID=oid("ODM", plan.study, created.replace(":", "")),
            CreationDateTime=created,
            ODMVersion="1.3.2",
            Originator="pro-app",
            SourceSystem="pro-app",
        )
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM{head}>']
        parts.extend(_metadata(plan, scope))
        parts.extend(_admin(plan, scope))
        size = sum(len(p) for p in parts)
        for text, rows in _clinical(plan, source):
            parts.append(text)
            size += len(text)
            out.rows += rows
            if size >= CHUNK:
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("</ODM>\n")
        yield "".join(parts).encode()

    return [ExportFile(plan.file_name("odm", "xml"), produce)]

"""``<study>_define.xml``: Define-XML 2.1 for the SDTM datasets of an export.

Written with the standard library (``xml.etree``), so the app needs no XML
dependency; the tests validate it against the Define-XML 2.1 schema (the
copy bundled with odmlib). Element order and attributes follow the
Define-XML 2.1 specification (CDISC, 2019): ``def:Standards``, value lists
and where clauses, then ``ItemGroupDef`` (one per dataset), ``ItemDef``,
``CodeList``, ``MethodDef``, ``def:CommentDef``. Value-level metadata on
QSORRES describes each QSTESTCD: items are collected from the subject,
scores derived by their instrument's scoring method.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from pro_app.exports.layout import ExportFile, ExportPlan

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", ODM)
ET.register_namespace("def", DEF)
ET.register_namespace("xlink", XLINK)

#: The implementation guide the datasets follow (SDTMIG v3.3, SDTM v1.7).
IG_NAME, IG_VERSION = "SDTMIG", "3.3"
#: Define-XML 2.1 DataType of an SDTM variable that is not plain text.
DATA_TYPES = {"Num": "integer"}


@dataclass(frozen=True)
class Origin:
    """``def:Origin``: Collected (Source Subject), Derived, Assigned, Protocol."""

    type: str
    source: str = ""
    method: str = ""  # a MethodDef OID, for Derived


@dataclass(frozen=True)
class Term:
    """One QSTESTCD and how its QSORRES comes about (value-level metadata)."""

    testcd: str
    test: str
    data_type: str  # "text" for an answer, "float" for a score
    origin: Origin


@dataclass(frozen=True)
class Dataset:
    """One dataset: name, label, class, structure, keys and its variables."""

    name: str
    label: str
    klass: str  # def:Class Name (Define-XML 2.1 controlled terms)
    structure: str
    variables: Sequence[tuple[str, str, str, int]]
    keys: Sequence[str]
    required: Sequence[str]
    origins: dict[str, Origin]
    comments: dict[str, str] = field(default_factory=dict)
    codelists: dict[str, str] = field(default_factory=dict)  # variable -> CL OID
    data_types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DefineSpec:
    """Everything the define file says besides the datasets' variables."""

    datasets: Sequence[Dataset]
    terms: Sequence[Term]
    methods: dict[str, tuple[str, str]]  # OID -> (name, description)
    codelists: dict[str, tuple[str, list[tuple[str, str]]]]  # OID -> (name, items)


def _el(
    parent: ET.Element, tag: str, attrs: dict[str, str] | None = None
) -> ET.Element:
    return ET.SubElement(parent, tag, {k: v for k, v in (attrs or {}).items() if v})


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = _el(parent, tag)
    translated = _el(element, f"{{{ODM}}}TranslatedText", {XML_LANG: "en"})
    translated.text = text
    return element


def _describe(parent: ET.Element, text: str) -> None:
    _text(parent, f"{{{ODM}}}Description", text)


def _origin(parent: ET.Element, origin: Origin) -> None:
    _el(parent, f"{{{DEF}}}Origin", {"Type": origin.type, "Source": origin.source})


def build(plan: ExportPlan, spec: DefineSpec) -> bytes:
    """The define file of the plan's datasets, as UTF-8 XML."""
    o, d = f"{{{ODM}}}", f"{{{DEF}}}"
    stamp = plan.generated_at.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element(
        f"{o}ODM",
        {
            "FileType": "Snapshot",
            "FileOID": f"DEF.{plan.study}",
            "CreationDateTime": stamp,
            "ODMVersion": "1.3.2",
            "Originator": "pro-app",
            "SourceSystem": "pro-app",
            f"{d}Context": "Submission",
        },
    )
    study = _el(root, f"{o}Study", {"OID": f"STUDY.{plan.study}"})
    globals_ = _el(study, f"{o}GlobalVariables")
    for tag in ("StudyName", "StudyDescription", "ProtocolName"):
        _el(globals_, f"{o}{tag}").text = plan.study
    mdv = _el(
        study,
        f"{o}MetaDataVersion",
        {
            "OID": f"MDV.{plan.study}",
            "Name": f"{plan.study} SDTM",
            "Description": f"{IG_NAME} {IG_VERSION} datasets of {plan.study}",
            f"{d}DefineVersion": "2.1.0",
        },
    )
    standards = _el(mdv, f"{d}Standards")
    _el(
        standards,
        f"{d}Standard",
        {
            "OID": "STD.SDTMIG",
            "Name": IG_NAME,
            "Type": "IG",
            "Version": IG_VERSION,
            "Status": "Final",
        },
    )
    _value_lists(mdv, spec)
    comments: dict[str, str] = {}
    for dataset in spec.datasets:
        _item_group(mdv, plan, dataset)
    for dataset in spec.datasets:
        for name, label, kind, length in dataset.variables:
            oid = f"IT.{dataset.name}.{name}"
            comment = dataset.comments.get(name, "")
            comment_oid = f"COM.{dataset.name}.{name}" if comment else ""
            if comment:
                comments[comment_oid] = comment
            data_type = dataset.data_types.get(name, DATA_TYPES.get(kind, "text"))
            attrs = {
                "OID": oid,
                "Name": name,
                "DataType": data_type,
                "Length": str(length) if data_type in ("text", "integer") else "",
                "SASFieldName": name,
                f"{d}CommentOID": comment_oid,
            }
            item = _el(mdv, f"{o}ItemDef", attrs)
            _describe(item, label)
            if name in dataset.codelists:
                _el(item, f"{o}CodeListRef", {"CodeListOID": dataset.codelists[name]})
            _origin(item, dataset.origins.get(name, Origin("Assigned")))
            if dataset.name == "QS" and name == "QSORRES" and spec.terms:
                _el(item, f"{d}ValueListRef", {"ValueListOID": "VL.QS.QSORRES"})
    for term in spec.terms:
        item = _el(
            mdv,
            f"{o}ItemDef",
            {
                "OID": f"IT.QS.QSORRES.{term.testcd}",
                "Name": "QSORRES",
                "DataType": term.data_type,
                "Length": "200" if term.data_type == "text" else "",
                "SASFieldName": "QSORRES",
            },
        )
        _describe(item, term.test)
        _origin(item, term.origin)
    for oid, (name, items) in spec.codelists.items():
        codelist = _el(
            mdv, f"{o}CodeList", {"OID": oid, "Name": name, "DataType": "text"}
        )
        for value, decode in items:
            entry = _el(codelist, f"{o}CodeListItem", {"CodedValue": value})
            _text(entry, f"{o}Decode", decode or value)
    for oid, (name, description) in spec.methods.items():
        method = _el(
            mdv, f"{o}MethodDef", {"OID": oid, "Name": name, "Type": "Computation"}
        )
        _describe(method, description)
    for oid, text in comments.items():
        _describe(_el(mdv, f"{d}CommentDef", {"OID": oid}), text)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _value_lists(mdv: ET.Element, spec: DefineSpec) -> None:
    o, d = f"{{{ODM}}}", f"{{{DEF}}}"
    if not spec.terms:
        return
    values = _el(mdv, f"{d}ValueListDef", {"OID": "VL.QS.QSORRES"})
    for n, term in enumerate(spec.terms, 1):
        ref = _el(
            values,
            f"{o}ItemRef",
            {
                "ItemOID": f"IT.QS.QSORRES.{term.testcd}",
                "OrderNumber": str(n),
                "Mandatory": "No",
                "MethodOID": term.origin.method,
            },
        )
        _el(ref, f"{d}WhereClauseRef", {"WhereClauseOID": f"WC.QS.{term.testcd}"})
    for term in spec.terms:
        where = _el(mdv, f"{d}WhereClauseDef", {"OID": f"WC.QS.{term.testcd}"})
        check = _el(
            where,
            f"{o}RangeCheck",
            {"Comparator": "EQ", "SoftHard": "Soft", f"{d}ItemOID": "IT.QS.QSTESTCD"},
        )
        _el(check, f"{o}CheckValue").text = term.testcd


def _item_group(mdv: ET.Element, plan: ExportPlan, dataset: Dataset) -> None:
    o, d = f"{{{ODM}}}", f"{{{DEF}}}"
    leaf_id = f"LF.{dataset.name}"
    group = _el(
        mdv,
        f"{o}ItemGroupDef",
        {
            "OID": f"IG.{dataset.name}",
            "Name": dataset.name,
            "Repeating": "No" if dataset.name == "DM" else "Yes",
            "IsReferenceData": "No",
            "SASDatasetName": dataset.name,
            "Domain": dataset.name if not dataset.name.startswith("SUPP") else "",
            "Purpose": "Tabulation",
            f"{d}Structure": dataset.structure,
            f"{d}ArchiveLocationID": leaf_id,
            f"{d}StandardOID": "STD.SDTMIG",
        },
    )
    _describe(group, dataset.label)
    for n, (name, _label, _kind, _length) in enumerate(dataset.variables, 1):
        key = dataset.keys.index(name) + 1 if name in dataset.keys else 0
        origin = dataset.origins.get(name, Origin("Assigned"))
        _el(
            group,
            f"{o}ItemRef",
            {
                "ItemOID": f"IT.{dataset.name}.{name}",
                "OrderNumber": str(n),
                "Mandatory": "Yes" if name in dataset.required else "No",
                "KeySequence": str(key) if key else "",
                "MethodOID": origin.method,
            },
        )
    _el(group, f"{d}Class", {"Name": dataset.klass})
    file_name = plan.file_name(dataset.name.lower(), "xpt")
    leaf = _el(group, f"{d}leaf", {"ID": leaf_id, f"{{{XLINK}}}href": file_name})
    _el(leaf, f"{d}title").text = file_name


def define_file(plan: ExportPlan, spec: DefineSpec) -> ExportFile:
    """``<study>_define.xml`` for the plan's SDTM datasets."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        out.rows = sum(len(ds.variables) for ds in spec.datasets) + len(spec.terms)
        yield build(plan, spec)

    return ExportFile(plan.file_name("define", "xml"), produce)

"""The determination as returned to inspectors, the API and the CLI."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["violated", "not_violated", "undetermined", "not_applicable"]
Answer = Literal["yes", "no", "undetermined"]
ANSWER_ZH = {"yes": "是", "no": "否", "undetermined": "尚不能判定"}
VERDICT_ZH = {"violated": "构成重大事故隐患", "not_violated": "不构成", "undetermined": "尚不能判定", "not_applicable": "不适用/不涉及"}


class Citation(BaseModel):
    pinpoint: str = Field(description="stable id, e.g. gongmao-2023/art12/item2")
    document: str = Field(description="文件名称")
    doc_number: str = Field(description="文号")
    article: str | None = Field(default=None, description="条，如 第十二条")
    item: str | None = Field(default=None, description="项或款，如 （二）")
    text: str = Field(description="verbatim text of the provision")
    role: str | None = Field(default=None, description="why it is cited")


class Evidence(BaseModel):
    object: str
    object_class: str
    property: str
    label: str
    value: Any
    unit: str | None = None


class FiredRule(BaseModel):
    rule: str
    kind: Literal["derivation", "criterion"]
    cites: list[str] = []


class Finding(BaseModel):
    branch: str
    subject: str
    subject_class: str
    quote: list[str]
    evidence: list[Evidence]
    rules_fired: list[FiredRule]
    cites: list[Citation]


class Refutation(BaseModel):
    branch: str
    subject: str
    condition: str
    evidence: list[Evidence]


class Question(BaseModel):
    """An observation that would help decide an undetermined item."""

    object: str | None = Field(description="ref of the object to look at; null when the question is whether such an object exists")
    object_class: str
    object_class_label: str
    property: str | None
    label: str
    question: str
    kind: str
    unit: str | None = None
    allowed: list[str] = []


class CriterionResult(BaseModel):
    pinpoint: str
    standard: str = Field(description="id of the standard the item belongs to")
    document: str
    doc_number: str
    article: str
    item: str
    text: str
    verdict: Verdict
    verdict_zh: str
    findings: list[Finding] = []
    not_violated_because: list[Refutation] = []
    missing: list[Question] = []
    reason: str | None = None


class Deferral(BaseModel):
    object: str
    object_class: str
    regimes: list[str]
    basis: Citation
    standard: str | None = Field(default=None, description="the standard in this knowledge base the matter is judged under, if any")
    applied: bool = Field(default=False, description="whether that standard was applied in this determination")
    note: str


class AppliedDocument(BaseModel):
    id: str
    title: str
    doc_number: str
    effective: date | None = Field(description="effective date given by the sources, if any")
    in_force_from: date | None = Field(description="the date used: the effective date, or the stated assumption")
    date_assumption: str | None = Field(default=None, description="why a date was assumed, when the sources give none")
    status: str
    provenance: str
    answer: Answer = Field(description="是否构成重大事故隐患 under this standard alone")
    hazards: list[str] = Field(default=[], description="pinpoints of the violated items of this standard")
    incomplete: str | None = Field(default=None, description="what of this standard's text is not in the knowledge base's "
                                   "sources and so was not judged; its answer is then never 'no'")
    undetermined: int = 0


class Determination(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "是否构成重大事故隐患，以及每一判定情形的结论和依据"})
    kb_version: str
    engine: str
    as_of: date
    enterprise: str
    sectors: list[str]
    answer: Answer = Field(description="yes: 构成重大事故隐患; no: 不构成; undetermined: 尚不能判定")
    answer_zh: str
    standards: list[AppliedDocument]
    hazards: list[CriterionResult] = Field(description="the violated items, in the order of the standard")
    undetermined: list[CriterionResult]
    items: list[CriterionResult] = Field(description="every item of the applied standards with its verdict")
    next_questions: list[Question] = Field(description="deduplicated observations that would decide the undetermined items")
    deferred: list[Deferral]
    legal_consequences: list[Citation] = Field(description="statute provisions engaged when a hazard is found")
    notes: list[str] = []


# ------------------------------------------------------------------------------------------ building results fast
_DEFAULTS: dict[type, tuple[tuple[str, Any, bool], ...]] = {}
_ORDER: dict[type, tuple[str, ...]] = {}


def construct(cls: type[BaseModel], **data: Any) -> Any:
    """`cls.model_construct(**data)` in a third of the time (a determination builds ~300-1,000 of these, issue 4):
    trusted engine data, no validation; fields left out get their defaults, a fresh list or dict where mutable."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = tuple(
            (name, f.get_default(call_default_factory=True), isinstance(f.default, (list, dict, set)))
            for name, f in cls.model_fields.items() if not f.is_required())
    given = set(data)  # as model_construct: the fields set are those given, not the defaults
    for name, default, mutable in defaults:
        if name not in data:
            data[name] = default.copy() if mutable else default
    order = _ORDER.get(cls) or _ORDER.setdefault(cls, tuple(cls.model_fields))
    inst = cls.__new__(cls)
    object.__setattr__(inst, "__dict__", {name: data[name] for name in order})  # JSON keys in field order
    object.__setattr__(inst, "__pydantic_fields_set__", given)
    object.__setattr__(inst, "__pydantic_extra__", None)
    object.__setattr__(inst, "__pydantic_private__", None)
    return inst

"""Read-only views of the knowledge base: standards, their articles and items, criteria with the
rules that implement them, and sectors."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from .compiler import CompiledKB
from .determine import citation
from .ontology import Provision, pinpoint_order
from .result import Citation


class StandardSummary(BaseModel):
    id: str
    title: str
    kind: str
    doc_number: str
    issuer: str
    effective: date | None
    status: str
    provenance: str
    official_item_count: int | None
    criteria: int
    encoded: int


class BranchView(BaseModel):
    rule: str
    branch: str
    quote: list[str]
    subject: str
    subject_label: str
    conditions: list[str]
    basis: Citation | None = None
    except_quote: list[str] = []
    note: str | None = None


class CriterionView(BaseModel):
    citation: Citation
    applies_to: list[str]
    encoded: bool
    text_sha256: str
    branches: list[BranchView]


class ArticleView(BaseModel):
    pinpoint: str
    ordinal: str
    text: str
    applies_to: list[str]
    items: list[CriterionView]


class StandardView(StandardSummary):
    articles: list[ArticleView]


class SectorView(BaseModel):
    id: str
    label: str
    kind: str


def _summary(kb: CompiledKB, doc_id: str) -> StandardSummary:
    d = kb.ontology.documents[doc_id]
    crits = kb.ontology.criteria(doc_id)
    return StandardSummary(id=d.id, title=d.title, kind=d.kind, doc_number=d.doc_number, issuer=d.issuer,
                           effective=d.effective, status=d.status, provenance=d.provenance,
                           official_item_count=d.official_item_count, criteria=len(crits),
                           encoded=sum(p.pinpoint in kb.criteria for p in crits))


def standards(kb: CompiledKB) -> list[StandardSummary]:
    return [_summary(kb, d) for d in sorted(kb.ontology.documents)]


def criterion_view(kb: CompiledKB, pinpoint: str) -> CriterionView:
    onto = kb.ontology
    crit = kb.criteria.get(pinpoint)
    branches = []
    for b in crit.branches if crit else ():
        branches.append(BranchView(rule=b.rule_id, branch=b.branch, quote=list(b.quotes), subject=b.subject,
                                   subject_label=onto.classes[b.subject].label, conditions=[c.text for c in b.conditions],
                                   basis=citation(kb, b.basis) if b.basis else None, except_quote=list(b.except_quotes),
                                   note=b.note))
    return CriterionView(citation=citation(kb, pinpoint), encoded=crit is not None,
                         applies_to=[onto.sectors[s].label for s in onto.applicability(pinpoint)],
                         text_sha256=onto.provisions[pinpoint].sha256, branches=branches)


def sections(kb: CompiledKB, doc_id: str) -> list[tuple[Provision, list[str]]]:
    """Every article or division of a document in order (第一条 purpose and 第二条 scope too), each with the
    criteria under it; a criterion that stands alone - an article that is a criterion as a whole (城镇燃气 第八条),
    an item of a notice that is one numbered list (化工 一、二、…) - is a section of its own."""
    onto = kb.ontology
    nodes = {p.pinpoint: p for p in onto.provisions.values() if p.doc == doc_id and p.kind in ("article", "division")}
    under: dict[str, list[str]] = {}
    for c in onto.criteria(doc_id):
        parent = c.article if c.article in nodes else None
        if parent is None:
            nodes[c.pinpoint] = c
        under.setdefault(parent or c.pinpoint, []).append(c.pinpoint)
    return [(nodes[pin], under.get(pin, [])) for pin in sorted(nodes, key=pinpoint_order)]


def standard_view(kb: CompiledKB, doc_id: str) -> StandardView:
    onto = kb.ontology
    articles = [ArticleView(pinpoint=head.pinpoint, ordinal=head.ordinal, text=head.text,
                            items=[criterion_view(kb, pin) for pin in pins],
                            applies_to=[onto.sectors[s].label for s in onto.applies_to.get(head.pinpoint, ())])
                for head, pins in sections(kb, doc_id)]
    return StandardView(**_summary(kb, doc_id).model_dump(), articles=articles)


def sectors(kb: CompiledKB) -> list[SectorView]:
    order = {"industry": 0, "regime": 1, "other": 2}
    return [SectorView(id=s.name, label=s.label, kind=s.kind)
            for s in sorted(kb.ontology.sectors.values(), key=lambda s: (order[s.kind], s.name))]


# ------------------------------------------------------------------------------------------ the law, browsable
class QuestionRef(BaseModel):
    """An observation a branch reads: what the inspector is asked, on which kind of object."""

    object_class: str
    object_class_label: str
    property: str
    label: str
    question: str
    kind: str
    unit: str | None = None
    allowed: list[str] = []


class BranchDetail(BaseModel):
    rule: str
    branch: str
    quote: list[str]
    subject: str
    subject_label: str
    conditions: list[str]  # in words (作业人员数量大于9人)
    conditions_dsl: list[str]  # as written in the rule file
    except_quote: list[str] = []
    basis: Citation | None = None
    subitem: Citation | None = None
    table_row: Citation | None = None
    note: str | None = None
    questions: list[QuestionRef]


class ProvisionNode(BaseModel):
    pinpoint: str
    ordinal: str
    text: str
    children: list["ProvisionNode"] = []


class CriterionDetail(BaseModel):
    citation: Citation
    applies_to: list[str]
    encoded: bool
    text_sha256: str
    branches: list[BranchDetail]
    subitems: list[ProvisionNode] = []


class LawSection(BaseModel):
    """An article (or a division of a notice) with the criteria under it; or a criterion that stands alone
    (a whole-article criterion, an item of a notice-style list)."""

    pinpoint: str
    kind: str
    ordinal: str
    text: str
    applies_to: list[str]
    criteria: list[CriterionDetail]


class LawOutline(StandardSummary):
    sections: list[LawSection]


def branch_questions(kb: CompiledKB, b) -> list[QuestionRef]:
    """The observations a compiled branch reads, as the questions the inspector is asked (ontology wording)."""
    from .checklist import asked

    onto = kb.ontology
    out: list[QuestionRef] = []
    for cond in b.conditions:
        for cls, prop in asked(kb, b.subject, cond):
            if any(q.property == prop and q.object_class == cls for q in out):
                continue
            p = onto.properties[prop]
            out.append(QuestionRef(object_class=cls, object_class_label=onto.classes[cls].label, property=prop, label=p.label,
                                   question=p.question, kind=p.kind, unit=p.unit, allowed=list(p.allowed)))
    return out


def criterion_detail(kb: CompiledKB, pinpoint: str) -> CriterionDetail:
    """A criterion with its verbatim text, sub-items, and every branch: quote, conditions in words, questions."""
    from .quiz import condition_text

    onto = kb.ontology
    crit = kb.criteria.get(pinpoint)
    branches = []
    for b in crit.branches if crit else ():
        words = []
        for c in b.conditions:
            try:
                words.append(condition_text(kb, c))
            except Exception:  # noqa: BLE001 - a shape the wording does not know: show the rule's own text
                words.append(c.text)
        branches.append(BranchDetail(
            rule=b.rule_id, branch=b.branch, quote=list(b.quotes), subject=b.subject, subject_label=onto.classes[b.subject].label,
            conditions=words, conditions_dsl=[c.text for c in b.conditions], except_quote=list(b.except_quotes),
            basis=citation(kb, b.basis) if b.basis else None, subitem=citation(kb, b.subitem) if b.subitem else None,
            table_row=citation(kb, b.table_row) if b.table_row else None, note=b.note, questions=branch_questions(kb, b)))
    return CriterionDetail(citation=citation(kb, pinpoint), applies_to=[onto.sectors[s].label for s in onto.applicability(pinpoint)],
                           encoded=crit is not None, text_sha256=onto.provisions[pinpoint].sha256, branches=branches,
                           subitems=_children(kb, pinpoint))


def _children(kb: CompiledKB, pinpoint: str) -> list[ProvisionNode]:
    from .ontology import pinpoint_order

    kids = sorted((p for p in kb.ontology.provisions.values() if p.article == pinpoint and p.kind == "item"),
                  key=lambda p: pinpoint_order(p.pinpoint))
    return [ProvisionNode(pinpoint=p.pinpoint, ordinal=p.ordinal, text=p.text, children=_children(kb, p.pinpoint)) for p in kids]


def law_outline(kb: CompiledKB, doc_id: str) -> LawOutline:
    """standard_view with each criterion's rules and questions, for browsing the law."""
    onto = kb.ontology
    parts = [LawSection(pinpoint=head.pinpoint, kind=head.kind, ordinal=head.ordinal, text=head.text,
                        applies_to=[onto.sectors[s].label for s in onto.applies_to.get(head.pinpoint, ())],
                        criteria=[criterion_detail(kb, c) for c in pins])
             for head, pins in sections(kb, doc_id)]
    return LawOutline(**_summary(kb, doc_id).model_dump(), sections=parts)

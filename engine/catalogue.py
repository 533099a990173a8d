"""Read-only views of the knowledge base: standards, their articles and items, criteria with the
rules that implement them, and sectors."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from .compiler import CompiledKB
from .determine import citation
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


def standard_view(kb: CompiledKB, doc_id: str) -> StandardView:
    onto = kb.ontology
    articles = []
    for art in sorted((p for p in onto.provisions.values() if p.kind == "article" and p.doc == doc_id), key=lambda p: p.number):
        items = [criterion_view(kb, p.pinpoint) for p in onto.criteria(doc_id) if p.article == art.pinpoint]
        articles.append(ArticleView(pinpoint=art.pinpoint, ordinal=art.ordinal, text=art.text, items=items,
                                    applies_to=[onto.sectors[s].label for s in onto.applies_to.get(art.pinpoint, ())]))
    return StandardView(**_summary(kb, doc_id).model_dump(), articles=articles)


def sectors(kb: CompiledKB) -> list[SectorView]:
    order = {"industry": 0, "regime": 1, "other": 2}
    return [SectorView(id=s.name, label=s.label, kind=s.kind)
            for s in sorted(kb.ontology.sectors.values(), key=lambda s: (order[s.kind], s.name))]

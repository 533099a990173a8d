"""The inspection checklist (检查重点事项清单) a knowledge base implies for a set of sectors:
for each kind of site object the applicable items are about, the questions that decide them,
in the order of the standard."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from .compiler import CompiledKB, Condition


class ChecklistQuestion(BaseModel):
    property: str
    label: str
    question: str
    kind: str
    unit: str | None = None
    allowed: list[str] = []
    on_class: str  # the class of the object the question is asked about
    criteria: list[str]


class ChecklistGroup(BaseModel):
    object_class: str
    label: str
    presence_question: str
    criteria: list[str]
    questions: list[ChecklistQuestion]


class Checklist(BaseModel):
    kb_version: str
    sectors: list[str]
    as_of: date
    standards: list[str]
    groups: list[ChecklistGroup]


def asked(kb: CompiledKB, subject: str, cond: Condition) -> list[tuple[str, str]]:
    """(class asked about, property) pairs for one condition."""
    if cond.kind == "any":
        return [x for alt in cond.alternatives for x in asked(kb, subject, alt)]
    out = []
    for ask in cond.asks:
        name = ask.split("(")[-1].rstrip(")")
        cls = subject
        if "." in name:
            rel, name = name.split(".", 1)
            cls = kb.ontology.properties[rel].target
        # a ratio the engine computes is asked as the two figures it comes from
        out.extend((cls, part) for part in (kb.ontology.properties[name].ratio_of or (name,)))
    return out


def build_checklist(kb: CompiledKB, sectors: list[str], as_of: date, documents: list[str]) -> Checklist:
    onto = kb.ontology
    groups: dict[str, ChecklistGroup] = {}
    for doc in documents:
        for prov in onto.criteria(doc):
            if not onto.applies(prov.pinpoint, sectors):
                continue
            crit = kb.criteria.get(prov.pinpoint)
            if crit is None:
                continue
            for b in crit.branches:
                for cond in b.conditions:
                    for cls, prop in asked(kb, b.subject, cond):
                        group = groups.get(cls)
                        if group is None:
                            label = onto.classes[cls].label
                            group = groups[cls] = ChecklistGroup(
                                object_class=cls, label=label, criteria=[],
                                presence_question=f"企业是否有{label}？如有，请逐一记录。", questions=[])
                        if prov.pinpoint not in group.criteria:
                            group.criteria.append(prov.pinpoint)
                        q = next((q for q in group.questions if q.property == prop), None)
                        if q is None:
                            p = onto.properties[prop]
                            q = ChecklistQuestion(property=prop, label=p.label, question=p.question, kind=p.kind,
                                                  unit=p.unit, allowed=list(p.allowed), on_class=cls, criteria=[])
                            group.questions.append(q)
                        if prov.pinpoint not in q.criteria:
                            q.criteria.append(prov.pinpoint)
    return Checklist(kb_version=kb.version, sectors=[onto.sectors[s].label for s in sectors], as_of=as_of,
                     standards=documents, groups=list(groups.values()))

"""The dialogue: per candidate, an inspection from what the text states (and the answers so far), determined by
the normal engine, and the questions its missing observations raise.

The engine is passed in as `determine(inspection dict) -> determination dict`, so the API runs it exactly as
POST /v1/determinations does (in the worker child process when served), and the CLI in-process. Each candidate is
a hypothesis about what the description means, so each gets an inspection of its own: the objects its rules are
about, with the values the text states. Nothing else is assumed, except the enterprise's sectors when the request
gives none (the item's own sectors, said so in `assumed_sectors`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from ..compiler import CompiledKB
from ..inspection import ENTERPRISE_REF, InputProblem, InspectionError, InspectionIn, _coerce, _expected, normalize
from .extract import Extraction, extract
from .matcher import Candidate, Matcher
from .models import AnswerIn, CandidateOut, MatchRequest, MatchResult, ObservationOut

Determine = Callable[[dict], dict]
ENTERPRISE_NAME = "（隐患描述）"


@dataclass
class Sectors:
    industries: list[str]
    regimes: list[str]


def resolve_sectors(kb: CompiledKB, industries: list[str], regimes: list[str]) -> list[str]:
    """Sector names of the declared industries and regimes; unknown names are refused with the nearest ones."""
    if not industries and not regimes:
        return []
    if not industries:
        raise InspectionError([InputProblem(("industries",), "regimes were given without an industry",
                                            "at least one industry with the regimes")])
    try:
        insp = normalize(kb, InspectionIn(enterprise={"name": ENTERPRISE_NAME, "industries": industries,
                                                      "regimes": regimes}))
    except InspectionError as exc:
        raise InspectionError([InputProblem(p.loc[1:] if p.loc[:1] == ("enterprise",) else p.loc, p.msg, p.expected,
                                            p.suggestions) for p in exc.problems]) from None
    return list(insp.sectors)


def assumed_sectors(kb: CompiledKB, pinpoint: str) -> Sectors:
    """Sectors an enterprise must be in for the item to apply: its own industry, or for a special regime the regime
    and the first industry of the standard's scope."""
    onto = kb.ontology
    own = onto.applicability(pinpoint)
    doc_scope = onto.applies_to.get(onto.provisions[pinpoint].doc, ())
    industries = [s for s in own if onto.sectors[s].kind == "industry"][:1]
    regimes = [s for s in own if onto.sectors[s].kind == "regime"][:1]
    if not industries:
        industries = [s for s in doc_scope if onto.sectors[s].kind == "industry"][:1]
    if not industries:
        industries = [next(s.name for s in onto.sectors.values() if s.kind == "industry")]
    return Sectors([onto.sectors[s].label for s in industries], [onto.sectors[s].label for s in regimes])


def build_inspection(kb: CompiledKB, pinpoint: str, ex: Extraction, sectors: Sectors, as_of: date,
                     answers: list[tuple[int, AnswerIn]]) -> tuple[dict, list[ObservationOut]]:
    onto = kb.ontology
    objects: dict[str, dict] = {}
    for plan in ex.objects:
        objects[plan.ref] = {"ref": plan.ref, "class": plan.cls, "properties": dict(plan.properties)}
    enterprise = {"name": ENTERPRISE_NAME, "industries": sectors.industries, "regimes": sectors.regimes,
                  "properties": dict(ex.enterprise)}
    absent: list[str] = []
    observed = [_observation(kb, o.object, o.object_class, o.property, o.value, "text", o.span, o.rule)
                for o in ex.observations]
    for i, a in answers:
        _apply(kb, i, a, objects, enterprise, absent, observed)
    inspection = {"date": as_of.isoformat(), "enterprise": enterprise, "absent": absent,
                  "objects": list(objects.values())}
    return inspection, observed


def _apply(kb: CompiledKB, i: int, a: AnswerIn, objects: dict, enterprise: dict, absent: list, observed: list) -> None:
    onto = kb.ontology
    if a.value is None:
        return
    cls = None
    if a.object_class:
        cls = onto.class_aliases.get(a.object_class, a.object_class)
        if cls not in onto.classes:
            raise InspectionError([InputProblem(("answers", i, "object_class"), f"unknown object class {a.object_class!r}",
                                                "the object_class of the question")])
    if a.property is None:  # presence: is there such an object?
        if cls is None:
            raise InspectionError([InputProblem(("answers", i, "object_class"), "a presence answer names the class",
                                                "the object_class of the question")])
        if a.value is True:
            if not any(onto.is_a(o["class"], cls) for o in objects.values()):
                ref = _unique(onto.classes[cls].label, objects)
                objects[ref] = {"ref": ref, "class": cls, "properties": {}}
        elif a.value is False:
            if cls not in absent:
                absent.append(cls)
        else:
            raise InspectionError([InputProblem(("answers", i, "value"), "a presence question is answered true or false",
                                                "true or false")])
        return
    pname = onto.property_aliases.get(a.property, a.property)
    prop = onto.properties.get(pname)
    if prop is None:
        raise InspectionError([InputProblem(("answers", i, "property"), f"unknown property {a.property!r}",
                                            "the property of the question")])
    if a.object in (None, ENTERPRISE_REF) and (cls in (None, "Enterprise")) and "Enterprise" in prop.observed_on:
        target, target_cls = enterprise["properties"], "Enterprise"
        ref = ENTERPRISE_REF
    else:
        ref = a.object or (onto.classes[cls].label if cls else None)
        if ref is None:
            raise InspectionError([InputProblem(("answers", i, "object"), "the answer names no object",
                                                "the object of the question")])
        if ref not in objects:
            if cls is None:
                raise InspectionError([InputProblem(("answers", i, "object"), f"no object {ref!r} in this candidate's inspection",
                                                    "the object of the question", tuple(objects))])
            objects[ref] = {"ref": ref, "class": cls, "properties": {}}
        target, target_cls = objects[ref]["properties"], objects[ref]["class"]
    value: Any = a.value
    if prop.kind == "relation" and isinstance(value, bool):
        if value:
            rel_ref = _unique(onto.classes[prop.target].label, objects)
            objects[rel_ref] = {"ref": rel_ref, "class": prop.target, "properties": {}}
            value = [rel_ref]
        else:
            value = []
    elif prop.kind == "device" and isinstance(value, bool):
        current = target.get(pname)
        value = {"installed": True, "functional": value} if isinstance(current, dict) and current.get("installed") is True \
            else {"installed": value}
    try:
        _coerce(prop, value)
    except ValueError as exc:
        raise InspectionError([InputProblem(("answers", i, "value"), str(exc), _expected(prop))]) from None
    target[pname] = value
    observed.append(_observation(kb, ref, target_cls, pname, value, "answer", None, "answer"))


def _unique(ref: str, objects: dict) -> str:
    while ref in objects or ref == ENTERPRISE_REF:
        ref += "′"
    return ref


def _observation(kb, ref, cls, pname, value, source, span, rule) -> ObservationOut:
    onto = kb.ontology
    prop = onto.properties[pname]
    return ObservationOut(object=ref, object_class=cls, object_class_label=onto.classes[cls].label, property=pname,
                          label=prop.label, value=value, unit=prop.unit, source=source, span=span, rule=rule)


def converse(matcher: Matcher, request: MatchRequest, determine: Determine, today: date | None = None) -> MatchResult:
    kb = matcher.kb
    as_of = request.date or today or date.today()
    sectors = resolve_sectors(kb, request.industries, request.regimes)
    for i, a in enumerate(request.answers):
        if a.pinpoint is not None and a.pinpoint not in kb.criteria:
            raise InspectionError([InputProblem(("answers", i, "pinpoint"), f"unknown or not encoded item {a.pinpoint!r}",
                                                "the pinpoint of a candidate")])
    query, candidates = matcher.rank(request.text, sectors or None, as_of, top=request.top)
    # a candidate being answered stays in the dialogue even if it is no longer in the top list
    shown = {c.pinpoint for c in candidates}
    for a in request.answers:
        if a.pinpoint and a.pinpoint not in shown:
            extra = matcher.candidate(request.text, a.pinpoint, sectors or None, as_of)
            if extra is not None:
                candidates.append(extra)
                shown.add(a.pinpoint)
    notes = []
    if not candidates:
        notes.append("没有找到与该描述相符的判定情形（按所给行业和日期在有效的标准中查找）；请补充描述中的对象和情形，或检查行业、日期")
    out = []
    for rank, c in enumerate(candidates, 1):
        out.append(_candidate(matcher, c, rank, request, sectors, as_of, determine))
    onto = kb.ontology
    return MatchResult(kb_version=kb.version, as_of=as_of, text=request.text, tokens=query.tokens,
                       sectors=[onto.sectors[s].label for s in sectors], candidates=out, notes=notes)


def _candidate(matcher: Matcher, c: Candidate, rank: int, request: MatchRequest, sectors: list[str], as_of: date,
               determine: Determine) -> CandidateOut:
    kb = matcher.kb
    base = dict(rank=rank, pinpoint=c.pinpoint, standard=c.standard, document=c.document, doc_number=c.doc_number,
                article=c.article, item=c.item, text=c.text, score=c.score, score_terms=c.bm25,
                score_characters=c.bigram, matched=list(c.matched), encoded=c.encoded)
    if not c.encoded:
        return CandidateOut(**base, reason="本条款尚未编码为规则，需人工判定")
    onto = kb.ontology
    if sectors:
        given = Sectors([onto.sectors[s].label for s in sectors if onto.sectors[s].kind == "industry"],
                        [onto.sectors[s].label for s in sectors if onto.sectors[s].kind == "regime"])
        assumed: list[str] = []
    else:
        given = assumed_sectors(kb, c.pinpoint)
        assumed = given.industries + given.regimes
    answers = [(i, a) for i, a in enumerate(request.answers) if a.pinpoint in (None, c.pinpoint)]
    ex = extract(kb, c.pinpoint, request.text)
    inspection, observed = build_inspection(kb, c.pinpoint, ex, given, as_of, answers)
    result = determine(copy.deepcopy(inspection))
    item = next((i for i in result["items"] if i["pinpoint"] == c.pinpoint), None)
    if item is None:
        return CandidateOut(**base, observations=observed, assumed_sectors=assumed, inspection=inspection,
                            reason="该条款在所给日期或行业下不适用")
    return CandidateOut(**base, verdict=item["verdict"], verdict_zh=item["verdict_zh"], observations=observed,
                        questions=item.get("missing", []), findings=item.get("findings", []),
                        not_violated_because=item.get("not_violated_because", []), reason=item.get("reason"),
                        assumed_sectors=assumed, inspection=inspection)

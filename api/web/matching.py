"""The inspect page's 隐患描述 box: a finding typed in plain Chinese → the matcher's candidate items, and 采用 of one
of them into the inspection draft.

Nothing is matched or read here: the request goes through the matcher's own path, exactly as POST /v1/matches
(`get_matcher` for the knowledge base, `converse` with the engine the app determines with), with the enterprise's
declared industries and regimes and the inspection date of the form as the filter. 采用 matches the same text
again and merges that candidate's inspection (the objects and values the matcher read, nothing else) into the
draft (interview.adopt)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from hazard_kb.engine.compiler import CompiledKB
from hazard_kb.engine.inspection import InspectionError
from hazard_kb.engine.matching.dialogue import converse
from hazard_kb.engine.matching.matcher import get_matcher
from hazard_kb.engine.matching.models import MAX_TEXT_CHARS, CandidateOut, MatchRequest, MatchResult

from .interview import Adoption, Draft, adopt
from .present import FieldProblem, inspection_problem

TOP = 3  # candidates shown, as POST /v1/matches returns by default
FIELD = "description"
LABEL = "隐患描述"


@dataclass
class MatchView:
    text: str
    result: MatchResult | None = None
    problems: list[FieldProblem] = field(default_factory=list)
    adopted: Adoption | None = None

    @property
    def filter_zh(self) -> str:
        """What the candidates were looked for in, in words."""
        r = self.result
        if r is None:
            return ""
        where = f"按行业 {'、'.join(r.sectors)}" if r.sectors else "未选择行业，在所有行业"
        return f"{where}、{r.as_of.isoformat()} 有效的标准中查找"


def adoptable(c: CandidateOut) -> bool:
    """A candidate can be adopted when the engine could determine it and the description gave it something:
    an object the text names or a value it states."""
    insp = c.inspection or {}
    return bool(c.encoded and c.verdict and c.verdict != "not_applicable"
                and (insp.get("objects") or (insp.get("enterprise") or {}).get("properties")))


def _request(draft: Draft) -> tuple[MatchRequest | None, list[FieldProblem]]:
    data = {"text": draft.description, "industries": draft.industries, "regimes": draft.regimes, "top": TOP}
    if draft.date:
        data["date"] = draft.date
    try:
        return MatchRequest.model_validate(data), []
    except ValidationError as exc:
        return None, [_request_problem(e, draft) for e in exc.errors()]


def _request_problem(e: dict, draft: Draft) -> FieldProblem:
    loc = tuple(e.get("loc", ()))
    kind = e.get("type", "")
    if loc[:1] == ("text",):
        if kind == "string_too_long":
            return FieldProblem(FIELD, LABEL, f"太长（最多 {MAX_TEXT_CHARS} 个字，现有 {len(draft.description)} 个字），请只写一处隐患")
        return FieldProblem(FIELD, LABEL, "请先填写看到的情况（一句话，如“喷漆车间内未设置可燃气体浓度监测报警装置”）")
    if loc[:1] == ("date",):
        return FieldProblem("date", "检查日期", "日期格式应为 年-月-日（如 2026-11-26）")
    if loc[:1] in (("industries",), ("regimes",)):
        label = "行业" if loc[0] == "industries" else "专项领域"
        return FieldProblem(loc[0], label, "选择太多（最多 20 项）" if kind == "too_long" else "填写有误")
    return FieldProblem("form", LABEL, f"填写有误（{e.get('msg')}）")


def _sector_problems(kb: CompiledKB, exc: InspectionError) -> list[FieldProblem]:
    out = []
    for p in exc.problems:
        if "without an industry" in p.msg:
            out.append(FieldProblem("industries", "行业", "选择专项领域时，请同时选择企业的行业"))
        else:
            out.append(inspection_problem(kb, ("enterprise", *p.loc), p.msg, p.expected, p.suggestions))
    return out


def run_match(kb: CompiledKB, draft: Draft, determine: Callable[[dict], dict]) -> MatchView:
    """The candidates of the draft's description, as POST /v1/matches gives them for the same text, sectors and date."""
    view = MatchView(draft.description)
    req, view.problems = _request(draft)
    if req is None:
        return view
    try:
        view.result = converse(get_matcher(kb), req, determine)
    except InspectionError as exc:
        view.problems = _sector_problems(kb, exc)
    return view


def adopt_candidate(kb: CompiledKB, draft: Draft, pinpoint: str, determine: Callable[[dict], dict]) -> MatchView:
    """采用: the description matched again (same text, sectors and date as shown) and the chosen candidate's
    inspection merged into the draft. Refused, with the field named, when the enterprise has no industry yet
    (the determination would rest on an assumed one) or the item is no longer among the candidates."""
    view = run_match(kb, draft, determine)
    if view.result is None:
        return view
    cand = next((c for c in view.result.candidates if c.pinpoint == pinpoint), None)
    if cand is None:
        view.problems.append(FieldProblem(FIELD, LABEL, "所采用的条款不在本描述的匹配结果中（描述、行业或日期可能已修改），请重新匹配条款"))
    elif not draft.industries:
        view.problems.append(FieldProblem("industries", "行业", "采用前请先在“企业”中选择企业的行业"
                                          + (f"（该条款适用于：{'、'.join(cand.assumed_sectors)}）" if cand.assumed_sectors else "")))
    elif not adoptable(cand):
        view.problems.append(FieldProblem(FIELD, LABEL, "描述中没有该条款可并入检查的对象或观测；请在检查清单中回答它的问题"))
    else:
        view.adopted = adopt(kb, draft, cand.inspection, cand.pinpoint)
    return view

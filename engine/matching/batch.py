"""A register's descriptions matched row by row, and the result as the cells written back into the register."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable, Iterator

from .dialogue import Determine, converse
from .matcher import Matcher
from .models import CandidateOut, MatchRequest, MatchResult, ObservationOut
from .table import Table

QUESTIONS_PER_CANDIDATE = 5


def columns(top: int) -> list[str]:
    return [*(f"候选条款{k}" for k in range(1, top + 1)), "得分", "初步判定", "已提取观测", "仍需确认"]


def cited(c: CandidateOut) -> str:
    return f"{c.document}{c.article or ''}{c.item or ''}（{c.pinpoint}）"


def show_value(o: ObservationOut) -> str:
    v = o.value
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dict) and "installed" in v:
        if v.get("installed") is False:
            return "未设置"
        return {True: "已设置、有效", False: "已设置但失效"}.get(v.get("functional"), "已设置")
    if isinstance(v, dict) and "value" in v:
        return f"{v['value']}{v.get('unit', '')}"
    if isinstance(v, list):
        return "、".join(map(str, v)) or "无"
    return f"{v}{o.unit or ''}" if isinstance(v, (int, float)) else str(v)


def cells(result: MatchResult, top: int) -> list[Any]:
    cands = result.candidates[:top]
    out: list[Any] = [cited(c) for c in cands] + [""] * (top - len(cands))
    out.append("；".join(f"{c.score:.2f}" for c in cands))
    out.append("；".join(f"[{c.rank}] {c.verdict_zh or '未编码，需人工判定'}" for c in cands))
    obs = []
    for c in cands:
        if c.observations:
            obs.append(f"[{c.rank}] " + "；".join(f"{o.object}·{o.label}={show_value(o)}" for o in c.observations))
    out.append("\n".join(obs))
    need = []
    for c in cands:
        if c.verdict in ("undetermined", None) and c.questions:
            qs = c.questions[:QUESTIONS_PER_CANDIDATE]
            more = f"（另有{len(c.questions) - len(qs)}项）" if len(c.questions) > len(qs) else ""
            need.append(f"[{c.rank}] " + " ".join(q.question for q in qs) + more)
        elif c.verdict is None:
            need.append(f"[{c.rank}] {c.reason or ''}")
    out.append("\n".join(need) if cands else "未找到相符的判定情形")
    return out


def match_rows(matcher: Matcher, table: Table, determine: Determine, top: int, industries: list[str],
               regimes: list[str], as_of: date | None,
               progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(row index, cells) for every row with a description; rows without one are skipped."""
    for i in table.data_rows():
        text = table.text(i)
        if text:
            req = MatchRequest(text=text[:2000], industries=industries, regimes=regimes, date=as_of, top=top)
            yield i, cells(converse(matcher, req, determine), top)
        if progress:
            progress(1)

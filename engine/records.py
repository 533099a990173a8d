"""What an engine run produces: which branches hold, which conditions are refuted, what was derived.

Both backends (durable-rules and the plain-Python reference) emit these same records, so the
determination built from them cannot depend on the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from .compiler import CompiledKB
from .inspection import NormalizedInspection


@dataclass(frozen=True, order=True)
class Holds:
    rule_id: str
    ref: str
    chain: tuple[tuple[str, str], ...]  # (derivation rule id, device property) used by the branch


@dataclass(frozen=True, order=True)
class Refuted:
    cond_key: str
    ref: str


@dataclass(frozen=True, order=True)
class Derived:
    rule_id: str
    ref: str
    device: str
    present: bool


Record = Holds | Refuted | Derived


def route(kb: CompiledKB, insp: NormalizedInspection, criteria: set[str]) -> dict[str, list[dict]]:
    """Facts per ruleset: only rulesets with an applicable criterion, only objects its rules are about."""
    routed: dict[str, list[dict]] = {}
    for spec in kb.rulesets:
        if not criteria.intersection(spec.criteria):
            continue
        refs = sorted({o.ref for s in spec.subjects for o in insp.by_class(kb, s)})
        facts = [insp.objects[r].fact() for r in refs]
        if facts:
            routed[spec.name] = facts
    return routed

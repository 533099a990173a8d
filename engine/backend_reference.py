"""Plain-Python evaluation of the compiled rules: the reference the durable-rules engine is checked
and benchmarked against. Three-valued: a condition is True, False or unknown (None)."""

from __future__ import annotations

import operator
from typing import Any

from .compiler import CompiledKB, Condition
from .records import Derived, Holds, Record, Refuted

_CMP = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
        "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}


def compare(op: str, observed: Any, value: Any) -> bool:
    return _CMP[op](observed, value)


class ReferenceBackend:
    name = "reference"

    def __init__(self, kb: CompiledKB):
        self.kb = kb
        self.specs = {s.name: s for s in kb.rulesets}

    def run(self, routed: dict[str, list[dict]]) -> list[Record]:
        out: list[Record] = []
        for name, facts in routed.items():
            spec = self.specs[name]
            for fact in facts:
                eff: dict[str, tuple[bool, str]] = {}
                for device in spec.devices:
                    for d in self.kb.derivations[device]:
                        if fact.get(f"{device}__installed") is d.installed and (
                                d.functional is None or fact.get(f"{device}__functional") is d.functional):
                            eff[device] = (d.present, d.rule_id)
                            out.append(Derived(d.rule_id, fact["ref"], device, d.present))
                for pin in spec.criteria:
                    for b in self.kb.criteria[pin].branches:
                        if not fact.get(f"isa_{b.subject}"):
                            continue
                        values = [self._eval(c, fact, eff) for c in b.conditions]
                        if all(v is True for v in values):
                            chain = tuple(sorted((eff[c.field][1], c.field) for c in b.conditions if c.kind == "present"))
                            out.append(Holds(b.rule_id, fact["ref"], chain))
                        for c, v in zip(b.conditions, values):
                            if v is False:
                                out.append(Refuted(c.key, fact["ref"]))
        return sorted(set(out), key=repr)

    def _eval(self, c: Condition, fact: dict, eff: dict) -> bool | None:
        if c.kind == "any":
            vals = [self._eval(a, fact, eff) for a in c.alternatives]
            return True if any(v is True for v in vals) else (False if all(v is False for v in vals) else None)
        if c.kind == "present":
            got = eff.get(c.field)
            return None if got is None else compare(c.op, got[0], c.value)
        if c.kind == "list":
            items = fact.get(c.field)
            if items is None:
                return False if fact.get(c.count_field) == 0 else None
            return any(compare(c.op, x, c.value) for x in items)
        observed = fact.get(c.field)
        return None if observed is None else compare(c.op, observed, c.value)

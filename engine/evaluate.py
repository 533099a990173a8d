"""Three-valued evaluation of compiled conditions on one fact: True, False or unknown (None).

Shared by the reference backend (which derives everything in Python) and by the explanation of what
did not fire (which conditions are observed false, which are still unknown) for either backend."""

from __future__ import annotations

import operator
from typing import Any

from .compiler import CompiledKB, Condition, Derivation
from .records import Derived, Record, Refuted

_CMP = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
        "in": lambda a, b: a in b, "not in": lambda a, b: a not in b}


def compare(op: str, observed: Any, value: Any) -> bool:
    return _CMP[op](observed, value)


def derivation_for(kb: CompiledKB, fact: dict, device: str) -> Derivation | None:
    """The 第十四条 derivation that applies to a device observation, if the observation decides one."""
    for d in kb.derivations[device]:
        if fact.get(f"{device}__installed") is d.installed and (
                d.functional is None or fact.get(f"{device}__functional") is d.functional):
            return d
    return None


def evaluate(c: Condition, fact: dict, eff: dict[str, Derivation]) -> bool | None:
    if c.kind == "any":
        vals = [evaluate(a, fact, eff) for a in c.alternatives]
        return True if any(v is True for v in vals) else (False if all(v is False for v in vals) else None)
    if c.kind == "present":
        d = eff.get(c.field)
        return None if d is None else compare(c.op, d.present, c.value)
    if c.kind == "list":
        items = fact.get(c.field)
        if items is None:
            return False if fact.get(c.count_field) == 0 else None
        return any(compare(c.op, x, c.value) for x in items)
    observed = fact.get(c.field)
    return None if observed is None else compare(c.op, observed, c.value)


def observed_devices(fact: dict, devices) -> list[str]:
    """The ruleset's devices this object carries an observation of (most objects carry few)."""
    return [d for d in devices if f"{d}__installed" in fact]


def explain(kb: CompiledKB, routed: dict[str, list[dict]]) -> list[Record]:
    """What the rules did not conclude: conditions observed false, and every device derivation."""
    specs = {s.name: s for s in kb.rulesets}
    out: set[Record] = set()
    for name, facts in routed.items():
        spec = specs[name]
        for fact in facts:
            eff = {}
            for device in observed_devices(fact, spec.devices):
                d = derivation_for(kb, fact, device)
                if d is not None:
                    eff[device] = d
                    out.add(Derived(d.rule_id, fact["ref"], device, d.present))
            for b in spec.branches_for(fact):
                for c in b.conditions:
                    if evaluate(c, fact, eff) is False:
                        out.add(Refuted(c.key, fact["ref"]))
    return sorted(out, key=repr)

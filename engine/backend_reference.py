"""Plain-Python forward evaluation of the compiled rules: the reference the durable-rules engine is
checked and benchmarked against. Produces the same positive conclusions (branches that hold, with
the 第十四条 derivations they used)."""

from __future__ import annotations

from .compiler import CompiledKB
from .evaluate import derivation_for, evaluate, observed_devices
from .records import Derived, Holds, Record


class ReferenceBackend:
    name = "reference"

    def __init__(self, kb: CompiledKB):
        self.kb = kb
        self.specs = {s.name: s for s in kb.rulesets}

    def run(self, routed: dict[str, list[dict]]) -> list[Record]:
        out: set[Record] = set()
        for name, facts in routed.items():
            spec = self.specs[name]
            for fact in facts:
                eff = {}
                for device in observed_devices(fact, spec.devices):
                    d = derivation_for(self.kb, fact, device)
                    if d is not None:
                        eff[device] = d
                for b in spec.branches_for(fact):
                    if all(evaluate(c, fact, eff) is True for c in b.conditions):
                        used = [eff[c.field] for c in b.conditions if c.kind == "present"]
                        out.add(Holds(b.rule_id, fact["ref"], tuple(sorted((d.rule_id, d.device) for d in used))))
                        out.update(Derived(d.rule_id, fact["ref"], d.device, d.present) for d in used)
        return sorted(out, key=repr)

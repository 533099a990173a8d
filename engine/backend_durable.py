"""The compiled rules as durable-rules rulesets (Rete forward chaining).

Per branch: one rule that fires when every condition holds. Per distinct condition: rules that fire
when it is observed false (a refutation), so that "not violated" is also derived by the engine.
Per device used in `present()`: the 第十四条 chain - three rules deriving an `eff` fact (installed
and working → present; not installed → absent; installed but failed → absent, citing 第十四条), which
the branch rules join on.

Measured traps of durable-rules 2.0.28 handled here: rulesets are built and the host warmed once;
names are unique per knowledge-base hash; every fact type has a consuming rule (an unconsumed fact
raises, an unconsumed derived fact vanishes with the error swallowed into the session state);
actions catch and report their own errors; fields are never called `id`/`sid`; a fresh session id
per run is always deleted; the C engine is not thread-safe, so runs are serialised by a lock.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any, Callable

import durable.lang as durable_lang
from durable import engine as durable_engine
from durable.lang import c, item, m, ruleset, when_all

from .compiler import CompiledKB, Condition
from .records import Derived, Holds, Record, Refuted


class _Host(durable_engine.Host):
    """durable's Host without its two background dispatch threads. Those wake every 0.2 s and call
    the C engine, which is not thread-safe, concurrently with whatever else calls it: seen here as
    intermittent "Could not create ruleset, error code: 102" while rulesets were being registered.
    We use neither timers nor queued events, so nothing needs the threads."""

    def _run(self) -> None:
        return None


class EngineFailure(RuntimeError):
    """The rule engine did not complete a run; no partial result is returned."""


_local = threading.local()
_instances = itertools.count(1)  # the C library keeps ruleset names process-wide: error 102 on a repeat


def _sink() -> list:
    return _local.sink


def _guard(func: Callable) -> Callable:
    def action(closure):
        try:
            func(closure)
        except Exception as exc:  # an action must never fail silently inside the engine
            _local.errors.append(f"{type(exc).__name__}: {exc}")
    return action


def _test(expr, op: str, value: Any):
    """`expr op value` in durable's DSL (expr is a field of m, or `item` inside anyItem/allItems)."""
    if op == "in":
        out = None
        for v in value:
            out = (expr == v) if out is None else (out | (expr == v))
        return out
    if op == "not in":
        out = None
        for v in value:
            out = (expr != v) if out is None else (out & (expr != v))
        return out
    return {"==": lambda: expr == value, "!=": lambda: expr != value, ">": lambda: expr > value,
            ">=": lambda: expr >= value, "<": lambda: expr < value, "<=": lambda: expr <= value}[op]()


def _holds_expr(cond: Condition):
    if cond.kind == "any":
        out = None
        for alt in cond.alternatives:
            e = _holds_expr(alt)
            out = e if out is None else (out | e)
        return out
    if cond.kind == "list":
        return _list_test(getattr(m, cond.field), "any", cond.op, cond.value)
    return _test(getattr(m, cond.field), cond.op, cond.value)


def _list_test(field, quantifier: str, op: str, value: Any):
    """anyItem/allItems with only simple comparisons inside.

    durable-rules 2.0.28 reads an uninitialised node field when the expression inside $iany/$iall
    is an $or/$and (rete.c, createAlpha): ruleset creation then fails at random with error 102
    (ERR_UNEXPECTED_TYPE) depending on earlier heap use. So membership is lifted out of the
    quantifier: any item in {a, b} = any(item == a) or any(item == b); every item not in {a, b} =
    all(item != a) and all(item != b)."""
    if op in ("in", "not in"):
        values = list(value)
        if (quantifier, op) == ("any", "in"):
            parts = [field.anyItem(item == v) for v in values]
            combine = lambda a, b: a | b  # noqa: E731
        elif (quantifier, op) == ("all", "not in"):
            parts = [field.allItems(item != v) for v in values]
            combine = lambda a, b: a & b  # noqa: E731
        elif len(values) == 1:
            return _list_test(field, quantifier, "==" if op == "in" else "!=", values[0])
        else:
            raise ValueError(f"{quantifier} item {op} a list of several values cannot be expressed safely in durable-rules")
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out
    method = field.anyItem if quantifier == "any" else field.allItems
    return method(_test(item, op, value))


def _refute_exprs(cond: Condition) -> list:
    """Subject-pattern tests under which the condition is observed false (one rule each)."""
    if cond.kind == "any":  # all alternatives observed false
        out = None
        for alt in cond.alternatives:
            (e,) = _refute_exprs(alt)
            out = e if out is None else (out & e)
        return [out]
    op, value = cond.negated()
    if cond.kind == "list":
        return [_list_test(getattr(m, cond.field), "all", op, value), getattr(m, cond.count_field) == 0]
    return [_test(getattr(m, cond.field), op, value)]


def _subject(cls: str):
    return (m.t == "obj") & (getattr(m, f"isa_{cls}") == True)  # noqa: E712 - durable DSL needs ==


class DurableBackend:
    name = "durable-rules"

    def __init__(self, kb: CompiledKB):
        self.kb = kb
        self.suffix = f"{kb.content_hash[:12]}_{next(_instances)}"
        self.names: dict[str, str] = {}
        self.lock = threading.Lock()
        definitions = {}
        for spec in kb.rulesets:
            full = f"{spec.name}_{self.suffix}"
            self.names[spec.name] = full
            self._define(full, spec)
            # take the definition back from durable.lang's global registry: this KB gets its own host
            name, definition = durable_lang._rulesets.pop(full).define()
            definitions[name] = definition
        # every ruleset is created before the host is used: concurrent first use races otherwise
        self.host = _Host(definitions)
        self.definitions = definitions  # as durable compiled them (it strips the actions); for inspection
        self.rule_counts = dict(self._counts)

    def _define(self, name: str, spec) -> None:
        kb = self.kb
        count = 0
        with ruleset(name):
            for device in spec.devices:
                for d in kb.derivations[device]:
                    test = (m.t == "obj") & (getattr(m, f"{device}__installed") == d.installed)
                    if d.functional is not None:
                        test = test & (getattr(m, f"{device}__functional") == d.functional)
                    when_all(test)(_guard(self._derive_action(d.rule_id, device, d.present)))
                    count += 1
            refuted_keys: set[str] = set()
            for pin in spec.criteria:
                for b in kb.criteria[pin].branches:
                    subject = _subject(b.subject)
                    joins, eff_names = [], []
                    for cond in b.conditions:
                        if cond.kind == "present":
                            n = f"e{len(eff_names)}"
                            eff_names.append(n)
                            joins.append(getattr(c, n) << ((m.t == "eff") & (m.ref == c.subj.ref) &
                                                           (m.dev == cond.field) & _test(m.v, cond.op, cond.value)))
                        else:
                            subject = subject & _holds_expr(cond)
                    when_all(c.subj << subject, *joins)(_guard(self._holds_action(b.rule_id, eff_names)))
                    count += 1
                    for cond in b.conditions:
                        if cond.key in refuted_keys:
                            continue
                        refuted_keys.add(cond.key)
                        action = _guard(self._refute_action(cond.key))
                        if cond.kind == "present":
                            op, value = cond.negated()
                            when_all(c.subj << _subject(b.subject),
                                     c.e0 << ((m.t == "eff") & (m.ref == c.subj.ref) & (m.dev == cond.field) & _test(m.v, op, value)))(action)
                            count += 1
                        else:
                            for expr in _refute_exprs(cond):
                                when_all(c.subj << (_subject(b.subject) & expr))(action)
                                count += 1
            # every fact type has a consumer, so nothing raises or vanishes unnoticed
            when_all(m.t == "obj")(_noop)
            when_all(m.t == "eff")(_noop)
            count += 2
        self._counts = getattr(self, "_counts", {})
        self._counts[name] = count

    @staticmethod
    def _derive_action(rule_id: str, device: str, present: bool):
        def action(closure):
            ref = closure.m.ref
            _sink().append(Derived(rule_id, ref, device, present))
            closure.assert_fact({"t": "eff", "ref": ref, "dev": device, "v": present, "by": rule_id})
        return action

    @staticmethod
    def _holds_action(rule_id: str, eff_names: list[str]):
        def action(closure):
            chain = tuple(sorted((getattr(closure, n).by, getattr(closure, n).dev) for n in eff_names))
            _sink().append(Holds(rule_id, closure.subj.ref, chain))
        return action

    @staticmethod
    def _refute_action(cond_key: str):
        def action(closure):
            _sink().append(Refuted(cond_key, closure.subj.ref))
        return action

    def run(self, routed: dict[str, list[dict]]) -> list[Record]:
        with self.lock:
            _local.sink, _local.errors = [], []
            sid = uuid.uuid4().hex
            used: list[str] = []
            try:
                for spec_name, facts in routed.items():
                    name = self.names[spec_name]
                    used.append(name)
                    self.host.assert_facts(name, [{**f, "sid": sid} for f in facts])
                    state = self.host.get_state(name, sid)
                    if "exception" in state:
                        _local.errors.append(str(state["exception"])[:500])
                if _local.errors:
                    raise EngineFailure("; ".join(_local.errors[:3]))
                return sorted(set(_local.sink), key=repr)
            finally:
                for name in used:
                    try:
                        self.host.delete_state(name, sid)
                    except Exception:  # noqa: BLE001 - a state that never got created has nothing to delete
                        pass
                _local.sink, _local.errors = [], []


def _noop(closure) -> None:
    return None

"""The compiled rules as durable-rules rulesets (Rete forward chaining).

Per branch: one rule that fires when every condition holds on one object. Per device used in
`present()`: the 第十四条 chain - rules deriving an `eff` fact (not installed → absent; installed but
failed → absent, citing 第十四条; installed and working → present), which the branch rules join on.
The engine derives the positive conclusions; what did not fire, and why, is explained by evaluating
the same compiled conditions (engine/evaluate.py).

Measured traps of durable-rules 2.0.28 handled here: all rulesets are created before first use, in a
host of our own without durable's timer threads; names are unique per backend instance; a derived
fact is only asserted where a rule consumes it, and errors swallowed into the session state are
checked; actions catch and report their own errors; fields are never called `id`/`sid`; a fresh
session id per run is always deleted; the C engine is not thread-safe, so runs are serialised; its JSON
reader rejects a number in exponent form without a decimal point (error 204 on 1e-05), so numbers are
handed to it as 1.0e-05.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from typing import Any, Callable

import durable.lang as durable_lang
from durable import engine as durable_engine
from durable.engine import MessageNotHandledException
from durable.lang import c, item, m, ruleset, when_all

from .compiler import CompiledKB, Condition
from .evaluate import compare
from .records import Derived, Holds, Record


_STRING_OR_BARE_EXPONENT = re.compile(r'("(?:[^"\\]|\\.)*")|(?<![\d.])(-?\d+)([eE][+-]?\d+)')


class _DurableJson:
    """json for durable.engine: the same text, but 1e-05 written 1.0e-05, which rete.c's number reader accepts
    (it fails on an exponent whose mantissa has no point: 1e-05, 1e+16, 5e-324 - all of them valid JSON)."""

    def __getattr__(self, name):
        return getattr(json, name)

    @staticmethod
    def dumps(obj, **kwargs) -> str:
        text = json.dumps(obj, **kwargs)
        if not _has_bare_exponent(obj):  # the usual case, checked on the values: no text scan
            return text
        return _STRING_OR_BARE_EXPONENT.sub(lambda m: m[1] or f"{m[2]}.0{m[3]}", text)


def _has_bare_exponent(obj) -> bool:
    """Whether json.dumps would write some float of obj as 1e-05 (exponent, no point). Facts are flat dicts of
    ~30 flags and values: one loop, recursing only into the rare list or dict."""
    kind = type(obj)
    if kind is float:
        r = repr(obj)
        return "e" in r and "." not in r
    if kind is dict:
        values = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    else:
        return False
    for v in values:
        kind = type(v)
        if kind is float:
            r = repr(v)
            if "e" in r and "." not in r:
                return True
        elif (kind is dict or kind is list or kind is tuple) and _has_bare_exponent(v):
            return True
    return False


durable_engine.json = _DurableJson()


class _NotHandled(MessageNotHandledException):
    """Raised for every fact no rule is about (~100 per coal-mine determination); durable's own class serialises
    the whole fact into its message on construction. Same class for `except`, message built only when read."""

    def __init__(self, message):  # noqa: D107 - deliberately not calling the parent
        Exception.__init__(self)
        self._fact = message

    @property
    def message(self) -> str:
        return f"Could not handle message: {json.dumps(self._fact, ensure_ascii=False)}"


durable_engine.MessageNotHandledException = _NotHandled


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
        return _list_test(getattr(m, cond.field), cond.op, cond.value)
    return _test(getattr(m, cond.field), cond.op, cond.value)


def _list_test(field, op: str, value: Any):
    """Some related object's value satisfies `op value`, with only simple comparisons inside anyItem.

    durable-rules 2.0.28 reads an uninitialised node field when the expression inside $iany/$iall is
    an $or/$and (rete.c, createAlpha): ruleset creation then fails at random with error 102
    (ERR_UNEXPECTED_TYPE) depending on earlier heap use. So membership is lifted out of the
    quantifier: any item in {a, b} = any(item == a) or any(item == b). The compiler refuses
    `not in` a list of several values through a relation, the one form that cannot be lifted."""
    if op in ("in", "not in"):
        values = list(value)
        if op == "not in":
            if len(values) != 1:
                raise ValueError("`not in` several values through a relation cannot be expressed safely in durable-rules")
            return field.anyItem(item != values[0])
        out = field.anyItem(item == values[0])
        for v in values[1:]:
            out = out | field.anyItem(item == v)
        return out
    return field.anyItem(_test(item, op, value))


def _open_session(closure) -> None:
    return None


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
        branches = [b for pin in spec.criteria for b in kb.criteria[pin].branches]
        with ruleset(name):
            for device in spec.devices:
                tests = [c for b in branches for c in b.conditions if c.kind == "present" and c.field == device]
                for d in kb.derivations[device]:
                    # derive only what some branch consumes: an unconsumed derived fact would raise
                    if not any(compare(c.op, d.present, c.value) for c in tests):
                        continue
                    test = (m.t == "obj") & (getattr(m, f"{device}__installed") == d.installed)
                    if d.functional is not None:
                        test = test & (getattr(m, f"{device}__functional") == d.functional)
                    when_all(test)(_guard(self._derive_action(d.rule_id, device, d.present)))
                    count += 1
            # every session is opened by a fact this rule consumes: a session created by an unhandled
            # fact alone is left half-initialised by durable and segfaults in delete_state later
            when_all(m.t == "open")(_open_session)
            count += 1
            for b in branches:
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

    def run(self, routed: dict[str, list[dict]]) -> list[Record]:
        with self.lock:
            _local.sink, _local.errors = [], []
            sid = uuid.uuid4().hex
            used: list[str] = []
            try:
                for spec_name, facts in routed.items():
                    name = self.names[spec_name]
                    used.append(name)
                    self.host.assert_fact(name, {"t": "open", "sid": sid})
                    for fact in facts:
                        try:
                            self.host.assert_fact(name, {**fact, "sid": sid})
                        except MessageNotHandledException:
                            pass  # no rule is about this fact's values: nothing to conclude from it
                    state = self.host.get_state(name, sid)
                    if "exception" in state:  # durable swallows errors of derived facts into the state
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



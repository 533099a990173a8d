"""Concrete inspections (scenarios) built from a branch's compiled conditions, for the training quizzes.

A branch holds when all its conditions hold on one subject object. Each condition tests one *variable*
of the subject: a property (`prop`), a device observation (`dev`), or a relation with the objects it
reaches (`rel`: how many, and what is observed on them). A scenario is an assignment of values to those
variables that satisfies the wanted conditions, found by a small backtracking search over finite
candidate values read from the conditions themselves (the thresholds, the enumerations, the device
states). Nothing here decides a verdict: the quiz runs the engine on every scenario and keys the
question to what the engine determines.

- positive: every condition of the branch holds (values just on the hazardous side of a threshold);
  a variant has a required device installed but failed (第十四条-style derivation);
- near miss: exactly one condition is broken (the value just on the other side of the threshold, the
  device installed and working, the exception applying, the boolean negated) while the others hold,
  every other branch of the item is refuted on the same object, and the subject classes of the item's
  other branches that the scenario has no object of are declared absent (不涉及), so that the engine can
  conclude 不构成 instead of asking for more observations.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable

from .compiler import Branch, CompiledKB, Condition
from .evaluate import compare
from .inspection import ENTERPRISE_REF
from .ontology import PropertyDef

Var = tuple[str, str]  # ("prop" | "dev" | "rel", name)

NOT_INSTALLED = {"installed": False}
WORKING = {"installed": True, "functional": True}
FAILED = {"installed": True, "functional": False}
# order in which industries are chosen for an enterprise when the item does not fix one
INDUSTRY_PREFERENCE = ("LightIndustry", "Machinery", "Metallurgy", "NonferrousMetals", "BuildingMaterials", "Textile",
                       "Tobacco", "Commerce")
SEARCH_BUDGET = 50_000


class ScenarioError(ValueError):
    """No assignment of the candidate values gives the wanted scenario."""


@dataclass(frozen=True)
class Rel:
    """What a relation reaches: k objects, and per observed property the value on each of them
    (for a relation-valued property: a group number per object; objects in one group share the target)."""

    k: int
    props: tuple[tuple[str, tuple], ...] = ()

    def values(self, prop: str) -> tuple | None:
        return next((vals for name, vals in self.props if name == prop), None)


# ------------------------------------------------------------------------------------------ variables

def leaves(c: Condition) -> list[Condition]:
    return list(c.alternatives) if c.kind == "any" else [c]


def variables(c: Condition) -> list[Var]:
    if c.kind == "any":
        out: list[Var] = []
        for a in c.alternatives:
            out.extend(v for v in variables(a) if v not in out)
        return out
    if c.kind == "present":
        return [("dev", c.field)]
    if c.kind == "list":
        return [("rel", c.field.split("__", 1)[0])]
    f = c.field
    if f.startswith(("count__", "distinct__")):
        return [("rel", f.split("__")[1])]
    if f.endswith(("__installed", "__functional")):
        return [("dev", f.rsplit("__", 1)[0])]
    return [("prop", f)]


def list_prop(c: Condition) -> str:
    """For `rel.prop` (list) and `distinct(rel.prop)` conditions: the property observed on the related objects."""
    return c.field.split("__", 1)[1] if c.kind == "list" else c.field.split("__")[2]


def evaluate(c: Condition, a: dict[Var, Any]) -> bool | None:
    """Three-valued truth of a condition under an assignment (None: not observed), as the engine reads it."""
    if c.kind == "any":
        vals = [evaluate(x, a) for x in c.alternatives]
        return True if True in vals else (False if all(v is False for v in vals) else None)
    var = variables(c)[0]
    v = a.get(var)
    if v is None:
        return None
    if c.kind == "present":
        if v.get("installed") is False or v.get("functional") is False:
            present = False
        elif v.get("functional") is True:
            present = True
        else:
            return None
        return compare(c.op, present, c.value)
    if c.kind == "list":
        if v.k == 0:
            return False
        vals = v.values(list_prop(c))
        return None if vals is None else any(compare(c.op, x, c.value) for x in vals)
    f = c.field
    if f.startswith("count__"):
        return compare(c.op, v.k, c.value)
    if f.startswith("distinct__"):
        vals = () if v.k == 0 else v.values(list_prop(c))
        return None if vals is None else compare(c.op, len(set(vals)), c.value)
    if f.endswith("__installed"):
        return compare(c.op, v["installed"], c.value)
    if f.endswith("__functional"):
        fn = v.get("functional")
        return None if fn is None else compare(c.op, fn, c.value)
    return compare(c.op, v, c.value)


# ------------------------------------------------------------------------------------------ candidate values

def _step(prop: PropertyDef, t: float) -> float:
    """The smallest change that puts a value 'just on the other side' of threshold t."""
    if prop.kind == "integer":
        return 1
    if float(t).is_integer():
        return 1 if abs(t) >= 10 else 0.1
    decimals = len(repr(float(t)).split(".")[1].rstrip("0"))
    return 10 ** -(decimals + 1)


def _num(prop: PropertyDef, x: float):
    x = round(x, 6)
    return int(round(x)) if prop.kind == "integer" or float(x).is_integer() else x


def scalar_domain(prop: PropertyDef, conds: Iterable[Condition], focus: Condition | None = None) -> list:
    """Candidate values of a boolean, enumeration or number property, read from the conditions on it.
    Numbers: each threshold and the values one step either side; ordered by closeness to the focus
    condition's threshold (the boundary being taught)."""
    conds = list(conds)
    if prop.kind == "boolean":
        return [True, False]
    if prop.kind == "enum":
        mentioned: list = []
        for c in conds:
            for v in (c.value if isinstance(c.value, list) else [c.value]):
                if v in prop.allowed and v not in mentioned:
                    mentioned.append(v)
        return mentioned + [v for v in prop.allowed if v not in mentioned]
    if prop.kind in ("number", "integer"):
        thresholds = []
        for c in conds:
            for v in (c.value if isinstance(c.value, list) else [c.value]):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    thresholds.append(v)
        out = set()
        for t in thresholds:
            s = _step(prop, t)
            for x in (t - s, t, t + s):
                if x >= 0:
                    out.add(_num(prop, x))
        values = sorted(out) or [1]
        ft = focus.value if focus is not None and isinstance(focus.value, (int, float)) else None
        if ft is not None:
            values.sort(key=lambda x: (abs(x - ft), x))
        return values
    return []


def _counts(conds: list[Condition]) -> list[int]:
    ks = [1, 2, 0]
    for c in conds:
        if c.field.startswith(("count__", "distinct__")) and isinstance(c.value, (int, float)):
            t = int(c.value)
            ks.extend(k for k in (t - 1, t, t + 1) if 0 <= k <= 4)
    return list(dict.fromkeys(ks))


def rel_domain(kb: CompiledKB, rel: str, conds: list[Condition], focus: Condition | None = None) -> list[Rel]:
    """Candidate sets of related objects: how many (1, 2, none, around count thresholds) and, per property
    observed on them, one value for all or pairwise different values."""
    onto = kb.ontology
    mine = [c for c in conds if variables(c) == [("rel", rel)]]
    props: dict[str, list[Condition]] = {}
    for c in mine:
        if c.kind == "list" or c.field.startswith("distinct__"):
            props.setdefault(list_prop(c), []).append(c)
    names = sorted(props)
    domains = {}
    for p in names:
        pd = onto.properties[p]
        if pd.kind == "relation":
            domains[p] = None  # groups
        else:
            f = focus if focus is not None and focus in props[p] else None
            domains[p] = scalar_domain(pd, props[p], f)
    out = []
    for k in _counts(mine):
        if k == 0:
            out.append(Rel(0))
            continue
        patterns = []
        for p in names:
            d = domains[p]
            if d is None:
                pats = [(0,) * k] + ([tuple(range(k))] if k > 1 else [])
            else:
                pats = [(v,) * k for v in d] + ([tuple(d[:k])] if k > 1 and len(d) >= k else [])
            patterns.append(pats)
        for combo in itertools.product(*patterns):
            out.append(Rel(k, tuple(zip(names, combo))))
    return out


def domain(kb: CompiledKB, var: Var, conds: list[Condition], focus: Condition | None = None) -> list:
    kind, name = var
    if kind == "dev":
        return [NOT_INSTALLED, WORKING, FAILED]
    if kind == "rel":
        return rel_domain(kb, name, conds, focus)
    # thresholds inside an any: group count too (甲烷或者二氧化碳浓度超过3.0% is one group of two numbers)
    mine = [leaf for c in conds for leaf in leaves(c) if variables(leaf) == [var]]
    return scalar_domain(kb.ontology.properties[name], mine, focus if focus in mine else None)


# ------------------------------------------------------------------------------------------ search

Constraint = tuple[frozenset, Callable[[dict], bool]]


def solve(order: list[Var], domains: dict[Var, list], constraints: list[Constraint]) -> dict[Var, Any] | None:
    """Backtracking: assign variables in order, checking each constraint once all its variables are set."""
    position = {v: i for i, v in enumerate(order)}
    buckets: list[list[Callable]] = [[] for _ in order]
    for vars_, fn in constraints:
        buckets[max(position[v] for v in vars_)].append(fn)
    a: dict[Var, Any] = {}
    budget = [SEARCH_BUDGET]

    def rec(i: int) -> bool:
        if i == len(order):
            return True
        var = order[i]
        for value in domains[var]:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            a[var] = value
            if all(fn(a) for fn in buckets[i]) and rec(i + 1):
                return True
        a.pop(var, None)
        return False

    return dict(a) if rec(0) else None


def _is(value: bool) -> Callable:
    return lambda c: (lambda a: evaluate(c, a) is value)


def refutes(branch: Branch) -> Callable[[dict], bool]:
    return lambda a: any(evaluate(c, a) is False for c in branch.conditions)


# ------------------------------------------------------------------------------------------ scenarios

@dataclass
class Scenario:
    criterion: str
    rule_id: str
    variant: str  # positive | failed-device | near-miss
    broken: str | None  # the condition text a near miss breaks
    inspection: dict
    difficulty: str
    expect: str  # the verdict the scenario was built for (the engine decides; see the quiz)

    @property
    def positive(self) -> bool:
        return self.variant != "near-miss"


def branch_vars(b: Branch) -> list[Var]:
    out: list[Var] = []
    for c in b.conditions:
        out.extend(v for v in variables(c) if v not in out)
    return out


def _difficulty(b: Branch, variant: str, broken: Condition | None) -> str:
    numeric = any(isinstance(leaf.value, (int, float)) and not isinstance(leaf.value, bool)
                  for c in b.conditions for leaf in leaves(c))
    if variant == "failed-device":
        return "hard"
    if variant == "near-miss":
        assert broken is not None
        exception = any(leaf.op == "not in" for leaf in leaves(broken))  # the exception (……除外) applies
        if exception or any(leaf.op in (">", ">=", "<", "<=") for leaf in leaves(broken)):
            return "hard"
        return "medium"
    return "medium" if numeric or b.basis or any(c.kind in ("list",) or c.field.startswith(("count__", "distinct__"))
                                                for c in b.conditions) else "easy"


def _other_branches(kb: CompiledKB, b: Branch) -> list[Branch]:
    """The item's other branches about objects of the branch's subject class."""
    return [o for o in kb.criteria[b.criterion].branches if o.rule_id != b.rule_id and kb.ontology.is_a(b.subject, o.subject)]


def positive(kb: CompiledKB, b: Branch, failed_device: str | None = None) -> dict[Var, Any]:
    """Every condition of b holds; the item's other branches are refuted on the subject where the values allow,
    so that the scenario shows this branch alone."""
    conds = list(b.conditions)
    order = branch_vars(b)
    domains = {v: domain(kb, v, conds, next((c for c in conds if variables(c) == [v]), None)) for v in order}
    if failed_device is not None:
        domains[("dev", failed_device)] = [FAILED]
    constraints = [(frozenset(variables(c)), _is(True)(c)) for c in conds]
    others = _other_branches(kb, b)
    if others:
        extra: list[Var] = []
        for o in others:
            extra.extend(v for v in branch_vars(o) if v not in order and v not in extra)
        all_conds = conds + [c for o in others for c in o.conditions]
        more = dict(domains)
        for v in extra:
            more[v] = [None] + domain(kb, v, all_conds)
        a = solve(order + extra, more, constraints + [(frozenset(branch_vars(o)), refutes(o)) for o in others])
        if a is not None:
            return {k: v for k, v in a.items() if v is not None}
    a = solve(order, domains, constraints)
    if a is None:
        raise ScenarioError(f"{b.rule_id}: no values satisfy every condition")
    return a


def near_miss(kb: CompiledKB, b: Branch, broken: Condition) -> dict[Var, Any]:
    """Break `broken`, keep the other conditions of b, refute every other branch of the item on the subject."""
    others = _other_branches(kb, b)
    order = branch_vars(b)
    extra: list[Var] = []
    for o in others:
        extra.extend(v for v in branch_vars(o) if v not in order and v not in extra)
    conds = list(b.conditions) + [c for o in others for c in o.conditions]
    domains = {}
    counts_broken = any(leaf.field.startswith("count__") for leaf in leaves(broken))
    for v in order:
        focus = broken if v in variables(broken) else next((c for c in b.conditions if variables(c) == [v]), None)
        domains[v] = domain(kb, v, conds, focus)
        if v[0] == "rel" and not counts_broken:
            # the branch's related objects stay: a near miss on what they are, not on their absence
            domains[v] = [r for r in domains[v] if r.k > 0]
    for v in extra:  # not observed unless needed to refute another branch
        domains[v] = [None] + domain(kb, v, conds)
    constraints = [(frozenset(variables(c)), _is(c is not broken)(c)) for c in b.conditions]
    constraints += [(frozenset(branch_vars(o)), refutes(o)) for o in others]
    a = solve(order + extra, domains, constraints)
    if a is None:
        raise ScenarioError(f"{b.rule_id}: cannot break {broken.text!r} alone")
    return {k: v for k, v in a.items() if v is not None}


# ------------------------------------------------------------------------------------------ inspections

def enterprise_sectors(kb: CompiledKB, pinpoint: str, prefer: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(industries, regimes) of a minimal enterprise the item applies to, preferring the given sectors."""
    onto = kb.ontology
    prefer = list(prefer)
    prov = onto.provisions[pinpoint]
    own = onto.applies_to.get(pinpoint) or onto.applies_to.get(prov.article or "") or ()
    scope = onto.applies_to.get(prov.doc) or ()
    declarable = [s for s in own if s in onto.sectors and onto.sectors[s].kind in ("industry", "regime")]

    def pick(cands):
        cands = [s for s in cands if s in onto.sectors]
        ranked = sorted(cands, key=lambda s: (s not in prefer, INDUSTRY_PREFERENCE.index(s) if s in INDUSTRY_PREFERENCE else 99, s))
        return ranked[0] if ranked else None

    chosen = pick(declarable)
    industries, regimes = [], []
    if chosen and onto.sectors[chosen].kind == "regime":
        regimes.append(chosen)
    elif chosen:
        industries.append(chosen)
    if not industries:
        ind = pick([s for s in scope if onto.sectors.get(s) and onto.sectors[s].kind == "industry"]) or \
            pick([s for s in onto.sectors if onto.sectors[s].kind == "industry"])
        industries.append(ind)
    return industries, regimes


def _short(label: str) -> str:
    """A short name for objects of a class: 建（构）筑物 → 建筑物, 调漆间、喷漆室 → 喷漆室,
    粉碎、研磨、造粒等易产生机械点燃源的工艺设备 → 工艺设备."""
    label = re.sub(r"[（(][^）)]*[）)]", "", label)
    if "等" in label:
        label = label.rsplit("等", 1)[1].rsplit("的", 1)[-1]
    label = re.split(r"[、，和及]", label)[-1]
    return label[-12:] or "对象"


def _target_class(kb: CompiledKB, target: str, props: Iterable[str], avoid: set[str]) -> str:
    """The most specific class the related objects can be: below the relation's range and observable with
    every property they need; classes that are subjects of the item's branches are avoided when possible."""
    onto = kb.ontology
    props = list(props)
    cands = {target} | {c for p in props for c in onto.properties[p].observed_on
                        if c in onto.classes and onto.is_a(c, target)}

    def fits(cls):
        return all(any(onto.is_a(cls, o) or onto.is_a(o, cls) for o in onto.properties[p].observed_on) for p in props)

    ok = [c for c in cands if fits(c) and not onto.is_a(c, "SafetyDevice")]
    ok.sort(key=lambda c: (any(onto.is_a(c, s) for s in avoid), -len(onto.classes[c].ancestors), c))
    return ok[0] if ok else target


class _Builder:
    def __init__(self, kb: CompiledKB, avoid: set[str]):
        self.kb = kb
        self.avoid = avoid
        self.objects: list[dict] = []  # {ref, class, properties}
        self.counters: dict[str, int] = {}

    def new(self, cls: str) -> dict:
        base = _short(self.kb.ontology.classes[cls].label)
        self.counters[base] = self.counters.get(base, 0) + 1
        obj = {"ref": f"{base}{self.counters[base]}", "class": cls, "properties": {}}
        self.objects.append(obj)
        return obj

    def assign(self, obj_props: dict, a: dict[Var, Any]) -> None:
        onto = self.kb.ontology
        for (kind, name), value in a.items():
            if value is None:
                continue
            if kind == "prop":
                obj_props[name] = value
            elif kind == "dev":
                obj_props[name] = dict(value)
            else:
                obj_props[name] = self.related(onto.properties[name].target, value)

    def related(self, target: str, rel: Rel) -> list[str]:
        onto = self.kb.ontology
        if rel.k == 0:
            return []
        scalar = [p for p, _ in rel.props if onto.properties[p].kind != "relation"]
        cls = _target_class(self.kb, target, [p for p, _ in rel.props], self.avoid)
        groups: dict[str, dict[int, str]] = {}
        made = [self.new(cls) for _ in range(rel.k)]
        for i, obj in enumerate(made):
            for p, vals in rel.props:
                if p in scalar:
                    obj["properties"][p] = vals[i]
        for i, obj in enumerate(made):  # the objects they reach in turn, after them
            for p, vals in rel.props:
                if p not in scalar:
                    g = groups.setdefault(p, {})
                    if vals[i] not in g:
                        second = _target_class(self.kb, onto.properties[p].target, [], self.avoid)
                        g[vals[i]] = self.new(second)["ref"]
                    obj["properties"][p] = [g[vals[i]]]
        refs = [obj["ref"] for obj in made]
        return refs


def object_assignment(kb: CompiledKB, props: dict) -> dict[Var, Any]:
    """The variables of an object as built (related objects' own values are not looked through)."""
    onto = kb.ontology
    a: dict[Var, Any] = {}
    for name, value in props.items():
        kind = onto.properties[name].kind
        if kind == "device":
            a[("dev", name)] = value
        elif kind == "relation":
            a[("rel", name)] = Rel(len(value))
        else:
            a[("prop", name)] = value
    return a


def _refute_on(kb: CompiledKB, b: Branch, props: dict) -> bool:
    """Make branch b false on an object by observing one more value on it; False if it cannot."""
    a = object_assignment(kb, props)
    if any(evaluate(c, a) is False for c in b.conditions):
        return True
    for c in b.conditions:
        vs = variables(c)
        if any(v in a for v in vs) or len(vs) != 1:
            continue
        kind, name = vs[0]
        cands = [Rel(0)] if kind == "rel" else domain(kb, vs[0], [c])
        for value in cands:
            if evaluate(c, {vs[0]: value}) is False:
                props[name] = [] if kind == "rel" else (dict(value) if kind == "dev" else value)
                return True
    return False


def build_inspection(kb: CompiledKB, b: Branch, a: dict[Var, Any], industries: list[str], regimes: list[str],
                     as_of: date, near: bool) -> dict:
    onto = kb.ontology
    crit = kb.criteria[b.criterion]
    builder = _Builder(kb, {x.subject for x in crit.branches})
    enterprise_props: dict = {}
    if b.subject == "Enterprise":
        builder.assign(enterprise_props, a)
        main_ref = ENTERPRISE_REF
    else:
        subject = builder.new(b.subject)
        builder.assign(subject["properties"], a)
        main_ref = subject["ref"]
    absent: list[str] = []
    if near:
        every = [(ENTERPRISE_REF, "Enterprise", enterprise_props)] + [(o["ref"], o["class"], o["properties"]) for o in builder.objects]
        for ref, cls, props in every:
            for other in crit.branches:
                if ref == main_ref or not onto.is_a(cls, other.subject):
                    continue
                if not _refute_on(kb, other, props):
                    raise ScenarioError(f"{b.rule_id}: cannot refute {other.rule_id} on {ref}")
    every = [(ENTERPRISE_REF, "Enterprise")] + [(o["ref"], o["class"]) for o in builder.objects]
    for other in crit.branches:  # 不涉及: the item's other subject classes the scenario has no object of
        if not any(onto.is_a(cls, other.subject) for _, cls in every) and other.subject not in absent:
            absent.append(other.subject)
    enterprise = {"name": f"某{onto.sectors[industries[0]].label}企业", "industries": list(industries),
                  "regimes": list(regimes)}
    if enterprise_props:
        enterprise["properties"] = enterprise_props
    out = {"date": as_of.isoformat(), "enterprise": enterprise}
    if absent:
        out["absent"] = absent
    out["objects"] = builder.objects
    return out


def positives_for_branch(kb: CompiledKB, b: Branch, industries: list[str], regimes: list[str], as_of: date) -> list[Scenario]:
    """A positive scenario, and a failed-device variant per present()==false condition."""
    out: list[Scenario] = []
    try:
        a = positive(kb, b)
        out.append(Scenario(b.criterion, b.rule_id, "positive", None,
                            build_inspection(kb, b, a, industries, regimes, as_of, near=False),
                            _difficulty(b, "positive", None), "violated"))
    except ScenarioError:
        pass
    for c in b.conditions:
        if c.kind == "present" and c.value is False and c.op == "==":
            try:
                a = positive(kb, b, failed_device=c.field)
            except ScenarioError:
                continue
            out.append(Scenario(b.criterion, b.rule_id, "failed-device", None,
                                build_inspection(kb, b, a, industries, regimes, as_of, near=False),
                                _difficulty(b, "failed-device", None), "violated"))
    return out


def near_misses_for_branch(kb: CompiledKB, b: Branch, industries: list[str], regimes: list[str], as_of: date) -> list[Scenario]:
    """A near miss per condition of the branch, where one can be built."""
    out: list[Scenario] = []
    for c in b.conditions:
        try:
            a = near_miss(kb, b, c)
            insp = build_inspection(kb, b, a, industries, regimes, as_of, near=True)
        except ScenarioError:
            continue
        out.append(Scenario(b.criterion, b.rule_id, "near-miss", c.text, insp, _difficulty(b, "near-miss", c), "not_violated"))
    return out


def scenarios_for_branch(kb: CompiledKB, b: Branch, industries: list[str], regimes: list[str], as_of: date) -> list[Scenario]:
    return positives_for_branch(kb, b, industries, regimes, as_of) + near_misses_for_branch(kb, b, industries, regimes, as_of)


# ------------------------------------------------------------------------------------------ text

def value_text(kb: CompiledKB, prop_name: str, value: Any) -> str:
    prop = kb.ontology.properties[prop_name]
    if prop.kind == "device":
        if not value.get("installed"):
            return "未设置"
        if value.get("functional") is False:
            return "已设置，但失效（不能正常发挥作用）"
        return "已设置，且正常有效"
    if prop.kind == "boolean":
        return "是" if value else "否"
    if prop.kind == "relation":
        return "、".join(value) if value else "无"
    if prop.kind in ("number", "integer"):
        unit = prop.unit or ""
        return f"{value}{unit}" if unit in ("%", "℃") or not unit else f"{value} {unit}"
    return str(value)


def describe(kb: CompiledKB, inspection: dict, with_enterprise: bool = True) -> list[str]:
    """The scenario as an inspector would read it: one line per object, then what is confirmed absent."""
    onto = kb.ontology
    lines = []
    ent = inspection["enterprise"]
    if with_enterprise:
        sectors = "、".join(onto.sectors[s].label for s in ent["industries"])
        regimes = "、".join(onto.sectors[s].label for s in ent.get("regimes", []))
        lines.append(f"{ent['name']}（行业：{sectors}" + (f"；专项领域：{regimes}" if regimes else "") + "）")
    if ent.get("properties"):
        lines.append("企业：" + "；".join(f"{onto.properties[p].label}：{value_text(kb, p, v)}" for p, v in ent["properties"].items()))
    for o in inspection["objects"]:
        props = "；".join(f"{onto.properties[p].label}：{value_text(kb, p, v)}" for p, v in o["properties"].items())
        lines.append(f"{o['ref']}（{onto.classes[o['class']].label}）" + (f"：{props}" if props else ""))
    if inspection.get("absent"):
        lines.append("经确认不涉及：" + "、".join(onto.classes[c].label for c in inspection["absent"]))
    return lines

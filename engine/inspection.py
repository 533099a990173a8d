"""What an inspector submits, validated against the ontology and turned into engine facts.

An inspection names the enterprise (its industries and special regimes, and its own observed
properties), the object classes confirmed absent (不涉及), and the site objects with their observed
property values. Values are observations: a boolean, a number in a unit, an allowed enumeration
value, a reference to another object, or a device's {installed, functional}.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from fractions import Fraction
from datetime import date
from datetime import date as Date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .compiler import CompiledKB
from .ontology import PropertyDef

ENTERPRISE_REF = "enterprise"
MAX_OBJECTS = 2000
MAX_TEXT = 200

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "Pa": ("pressure", 1.0), "kPa": ("pressure", 1e3), "MPa": ("pressure", 1e6),
    "mm": ("length", 1e-3), "cm": ("length", 1e-2), "m": ("length", 1.0), "km": ("length", 1e3),
    "kg": ("mass", 1.0), "t": ("mass", 1e3),
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0), "d": ("time", 86400.0),
    "人": ("persons", 1.0), "个": ("count", 1.0), "层": ("storeys", 1.0), "次": ("times", 1.0),
    "℃": ("temperature", 1.0), "%": ("percent", 1.0), "m3": ("volume", 1.0), "L": ("volume", 1e-3),
    "m2": ("area", 1.0), "W": ("power", 1.0), "kW": ("power", 1e3), "MW": ("power", 1e6), "GW": ("power", 1e9),
    "‰": ("percent", 0.1), "ppm": ("ppm", 1.0), "μL/L": ("ppm", 1.0),
    "V": ("voltage", 1.0), "kV": ("voltage", 1e3), "N": ("force", 1.0), "kN": ("force", 1e3),
    "套": ("sets", 1.0), "空气=1": ("relative density", 1.0),
    # 煤矿: outputs and capacities in 万吨, gas quantities per minute or per tonne, drilling indicators (表5—表7)
    "万t": ("mass", 1e7), "万t/a": ("mass per year", 1.0), "m3/min": ("volume flow", 1.0), "L/min": ("volume flow", 1e-3),
    "m3/t": ("gas content", 1.0), "kg/m": ("mass per length", 1.0), "L/m": ("volume per length", 1.0),
    "mL/(g·min^1/2)": ("desorption index", 1.0), "m/d": ("rate of advance", 1.0), "kW·h": ("energy", 1.0),
    "倍": ("ratio", 1.0), "台": ("units", 1.0), "家": ("organisations", 1.0), "月": ("months", 1.0),
}
BOOL_WORDS = {"是": True, "否": False, "有": True, "无": False}


class EnterpriseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_TEXT, description="企业名称")
    industries: list[str] = Field(min_length=1, max_length=20, description="行业，如 冶金、有色、机械（名称或中文标签）")
    regimes: list[str] = Field(default_factory=list, max_length=20, description="专项领域：粉尘涉爆、涉氨制冷、有限空间作业")
    properties: dict[str, Any] = Field(default_factory=dict, description="企业层面的观察值（管理类）")
    credit_code: str | None = Field(default=None, max_length=18, description="统一社会信用代码")
    region: str | None = Field(default=None, max_length=MAX_TEXT)


class ObjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    ref: str = Field(min_length=1, max_length=100, description="检查中该对象的编号，检查内唯一")
    class_: str = Field(alias="class", min_length=1, max_length=MAX_TEXT, description="本体中的类名或中文标签")
    properties: dict[str, Any] = Field(default_factory=dict, description="属性名或中文标签 → 观察值")
    note: str | None = Field(default=None, max_length=2000)


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Date | None = Field(default=None, description="检查日期（按当日有效的标准判定；缺省为今天）")
    enterprise: EnterpriseIn
    absent: list[str] = Field(default_factory=list, max_length=500, description="经确认不存在的对象类（不涉及）")
    objects: list[ObjectIn] = Field(default_factory=list, max_length=MAX_OBJECTS)


@dataclass(frozen=True)
class InputProblem:
    loc: tuple[str | int, ...]
    msg: str
    expected: str | None = None
    suggestions: tuple[str, ...] = ()


class InspectionError(ValueError):
    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))


@dataclass
class Obj:
    ref: str
    cls: str
    values: dict[str, Any]  # property name -> normalized observation (device: dict; relation: tuple of refs)
    fields: dict[str, Any] = field(default_factory=dict)  # flattened fact fields for the engines

    def fact(self) -> dict:
        return {"t": "obj", "ref": self.ref, **self.fields}


@dataclass
class NormalizedInspection:
    as_of: date
    enterprise_name: str
    sectors: tuple[str, ...]  # declared and inferred
    absent: tuple[str, ...]
    objects: dict[str, Obj]  # ref -> object, enterprise included
    inferred: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sector -> refs of the objects showing it
    filled: dict[tuple[str, str], str] = field(default_factory=dict)  # (ref, property) -> the declared sector it states
    computed: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (ref, ratio) -> its two figures
    _index: dict[str, list[Obj]] | None = None
    applicable: dict[str, bool] = field(default_factory=dict)  # pinpoint -> applies to these sectors (filled lazily)

    def by_class(self, kb: CompiledKB, cls: str) -> list[Obj]:
        """Objects of a class or its subclasses, in ref order (indexed once per inspection)."""
        if self._index is None:
            index: dict[str, list[Obj]] = {}
            for o in self.objects.values():
                for a in kb.ontology.classes[o.cls].ancestors:
                    index.setdefault(a, []).append(o)
            self._index = index
        return self._index.get(cls, [])


def _nearest(name: str, candidates) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.4))


def normalize(kb: CompiledKB, data: InspectionIn | dict, today: date | None = None) -> NormalizedInspection:
    """Validate an inspection against the ontology; every problem is collected, then raised together."""
    if not isinstance(data, InspectionIn):
        data = InspectionIn.model_validate(data)
    onto = kb.ontology
    problems: list[InputProblem] = []

    sectors = []
    for key, values, kinds in (("industries", data.enterprise.industries, ("industry",)),
                               ("regimes", data.enterprise.regimes, ("regime",))):
        for i, raw in enumerate(values):
            name = onto.sector_aliases.get(raw, raw)
            sector = onto.sectors.get(name)
            if sector is None or sector.kind not in kinds:
                options = [s.label for s in onto.sectors.values() if s.kind in kinds]
                problems.append(InputProblem(("enterprise", key, i), f"unknown {key[:-1] if key != 'industries' else 'industry'} {raw!r}",
                                             "one of " + "、".join(options), _nearest(raw, options)))
            else:
                sectors.append(name)

    absent = []
    for i, raw in enumerate(data.absent):
        name = _class_name(onto, raw)
        if name is None:
            problems.append(InputProblem(("absent", i), f"unknown object class {raw!r}", "a class name or its Chinese label",
                                         _nearest(raw, [*onto.classes, *onto.class_aliases])))
        else:
            absent.append(name)

    objects: dict[str, Obj] = {ENTERPRISE_REF: Obj(ENTERPRISE_REF, "Enterprise", {})}
    raw_props: dict[str, tuple[tuple, dict]] = {ENTERPRISE_REF: (("enterprise", "properties"), data.enterprise.properties)}
    for i, o in enumerate(data.objects):
        loc = ("objects", i)
        if o.ref in objects:
            problems.append(InputProblem((*loc, "ref"), f"ref {o.ref!r} is used twice" if o.ref != ENTERPRISE_REF
                                         else f"ref {ENTERPRISE_REF!r} is reserved for the enterprise", "a unique ref"))
            continue
        name = _class_name(onto, o.class_)
        if name is None:
            problems.append(InputProblem((*loc, "class"), f"unknown object class {o.class_!r}", "a class name or its Chinese label",
                                         _nearest(o.class_, [*onto.classes, *onto.class_aliases])))
            continue
        if name == "Enterprise" or onto.is_a(name, "SafetyDevice"):
            problems.append(InputProblem((*loc, "class"), f"{o.class_!r} cannot be listed as an object",
                                         "the enterprise goes in `enterprise`; devices are properties of the object they are installed on"))
            continue
        if any(onto.is_a(name, a) for a in absent):
            problems.append(InputProblem((*loc, "class"), f"{o.class_!r} is also declared absent", "either list it or declare it absent"))
        objects[o.ref] = Obj(o.ref, name, {})
        raw_props[o.ref] = (loc + ("properties",), o.properties)

    for ref, (loc, props) in raw_props.items():
        obj = objects[ref]
        for key, value in props.items():
            pname = onto.property_aliases.get(key, key)
            prop = onto.properties.get(pname)
            ploc = (*loc, key)
            if prop is None:
                valid = _props_for(kb, obj.cls)
                problems.append(InputProblem(ploc, f"unknown property {key!r} for {onto.classes[obj.cls].label}",
                                             "one of " + "、".join(sorted(onto.properties[p].label for p in valid)) if valid else None,
                                             _nearest(key, [*valid, *(onto.properties[p].label for p in valid)])))
                continue
            if not any(onto.is_a(obj.cls, c) or onto.is_a(c, obj.cls) for c in prop.observed_on):
                problems.append(InputProblem(ploc, f"{prop.label} ({pname}) is not observed on {onto.classes[obj.cls].label}",
                                             "a property of " + "、".join(onto.classes[c].label for c in prop.observed_on)))
                continue
            if pname in obj.values:
                problems.append(InputProblem(ploc, f"{pname} is given twice (by name and by label)", "one value"))
                continue
            if value is None:
                continue  # explicitly unknown
            try:
                obj.values[pname] = _coerce(prop, value)
            except ValueError as exc:
                problems.append(InputProblem(ploc, str(exc), _expected(prop)))

    for ref, obj in objects.items():
        for pname, value in obj.values.items():
            prop = onto.properties[pname]
            if prop.kind != "relation":
                continue
            for target in value:
                t = objects.get(target)
                if t is None:
                    problems.append(InputProblem((*raw_props[ref][0], pname), f"refers to {target!r}, which is not an object of this inspection",
                                                 f"the ref of a {onto.classes[prop.target].label} object", _nearest(target, objects)))
                elif not onto.is_a(t.cls, prop.target):
                    problems.append(InputProblem((*raw_props[ref][0], pname), f"{target!r} is a {onto.classes[t.cls].label}",
                                                 f"a {onto.classes[prop.target].label}"))
    if problems:
        raise InspectionError(problems)

    # an object can show the enterprise belongs to a sector it did not declare (a city-gas station)
    inferred: dict[str, list[str]] = {}
    for ref, obj in sorted(objects.items()):
        for sector in onto.classes[obj.cls].indicates:
            if sector not in sectors:
                inferred.setdefault(sector, []).append(ref)
    filled = _sectors_and_observations(onto, sectors, objects, raw_props, inferred)
    computed = _ratios(onto, objects, raw_props)
    for obj in objects.values():
        _flatten(kb, obj, objects)
    as_of = data.date or today or date.today()
    return NormalizedInspection(as_of, data.enterprise.name, tuple(sorted({*sectors, *inferred})), tuple(sorted(set(absent))),
                                dict(sorted(objects.items())), {k: tuple(v) for k, v in sorted(inferred.items())}, filled,
                                computed)


def _key(onto, given: dict, prop: str) -> str:
    """The key the input used for a property (its name or a Chinese label), for error locations."""
    return next((k for k in given if onto.property_aliases.get(k, k) == prop), prop)


def _ratios(onto, objects: dict[str, Obj], raw_props) -> dict[tuple[str, str], tuple[str, str]]:
    """Ratios the law sets against another figure (全年产量超过核定生产能力的110%) computed from the two figures the
    inspector recorded, exactly (fractions, rounded to 6 places); a ratio given directly is kept, and refused when the
    figures say otherwise."""
    ratios = onto.ratios
    computed: dict[tuple[str, str], tuple[str, str]] = {}
    problems: list[InputProblem] = []
    for ref, obj in sorted(objects.items()):
        for p in ratios:
            num, den = p.ratio_of
            if num not in obj.values or den not in obj.values:
                continue
            if not any(onto.is_a(obj.cls, c) for c in p.observed_on):
                continue
            if obj.values[den] == 0:
                problems.append(InputProblem((*raw_props[ref][0], _key(onto, raw_props[ref][1], den)), f"{onto.properties[den].label} is 0, so "
                                             f"{p.label} cannot be computed", "a number above 0"))
                continue
            value = float(round(Fraction(str(obj.values[num])) / Fraction(str(obj.values[den])) * p.ratio_scale, 6))
            value = int(value) if value.is_integer() else value
            given = obj.values.get(p.name)
            if given is not None and abs(given - value) > max(0.005 * abs(value), 0.01):
                problems.append(InputProblem((*raw_props[ref][0], _key(onto, raw_props[ref][1], p.name)), f"{p.label} is given as {given}, but "
                                             f"{onto.properties[num].label} ÷ {onto.properties[den].label} gives {value}",
                                             "leave it out (it is computed) or correct the figures"))
                continue
            if given is None:
                obj.values[p.name] = value
                computed[(ref, p.name)] = (num, den)
    if problems:
        raise InspectionError(problems)
    return computed


def _sectors_and_observations(onto, sectors: list[str], objects: dict[str, Obj], raw_props, inferred) -> dict:
    """A sector an observation states (hk:shownBy: the mine's 瓦斯等级 高瓦斯矿井 is the regime 高瓦斯矿井) is one fact in
    two places: an observed value shows the sector (inferred if undeclared), a declared sector fills the value on
    the objects it is observed on, and a declaration the observation contradicts is refused, naming both."""
    declared = set(sectors)
    filled: dict[tuple[str, str], str] = {}
    problems: list[InputProblem] = []
    for prop, shows in onto.shown_by.items():
        observed_on = onto.properties[prop].observed_on
        wanted = {v for s, v in shows if s in declared}
        for ref, obj in sorted(objects.items()):
            if not any(onto.is_a(obj.cls, c) for c in observed_on):
                continue
            label = onto.properties[prop].label
            if prop in obj.values:
                value = obj.values[prop]
                for s, v in shows:
                    if value == v and s not in declared:
                        inferred.setdefault(s, []).append(ref)
                if wanted and value not in wanted:
                    names = "、".join(onto.sectors[s].label for s, v in shows if s in declared)
                    problems.append(InputProblem((*raw_props[ref][0], _key(onto, raw_props[ref][1], prop)),
                                                 f"{label} is {value!r} but the enterprise is declared {names}",
                                                 f"{'、'.join(map(str, sorted(wanted, key=str)))}, or correct the declared regimes"))
            elif len(wanted) > 1:
                names = "、".join(onto.sectors[s].label for s, v in shows if s in declared)
                problems.append(InputProblem(("enterprise", "regimes"), f"{names} are declared, but {label} of {ref!r} can only be one of them",
                                             "one of them"))
            elif wanted:
                obj.values[prop] = next(iter(wanted))
                filled[(ref, prop)] = next(s for s, v in shows if s in declared)
    if problems:
        raise InspectionError(problems)
    return filled


def _class_name(onto, raw: str) -> str | None:
    name = onto.class_aliases.get(raw, raw)
    return name if name in onto.classes else None


def _props_for(kb: CompiledKB, cls: str) -> list[str]:
    onto = kb.ontology
    return sorted(p.name for p in onto.properties.values()
                  if any(onto.is_a(cls, c) or onto.is_a(c, cls) for c in p.observed_on))


def _expected(prop: PropertyDef) -> str:
    return {
        "boolean": "true or false",
        "number": f"a number in {prop.unit}, or {{value, unit}}",
        "integer": f"a whole number in {prop.unit}",
        "enum": "one of " + "、".join(prop.allowed),
        "relation": "the ref of an object, or a list of refs ([] for none)",
        "device": "{installed: true|false, functional: true|false} or false for not installed",
    }[prop.kind]


def _show(value: Any) -> str:
    """A value as quoted back in an error message: never more than 60 characters of it."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _coerce(prop: PropertyDef, value: Any) -> Any:
    kind = prop.kind
    if kind == "boolean":
        if isinstance(value, str) and value in BOOL_WORDS:
            return BOOL_WORDS[value]
        if not isinstance(value, bool):
            raise ValueError(f"{prop.label} expects true or false, got {_show(value)}")
        return value
    if kind in ("number", "integer"):
        number = _quantity(prop, value)
        if kind == "integer":
            if number != int(number):
                raise ValueError(f"{prop.label} expects a whole number, got {_show(value)}")
            number = int(number)
        if number < 0:
            raise ValueError(f"{prop.label} cannot be negative, got {_show(value)}")
        return number
    if kind == "enum":
        if not isinstance(value, str) or value not in prop.allowed:
            raise ValueError(f"{prop.label} expects one of {'、'.join(prop.allowed)}, got {_show(value)}")
        return value
    if kind == "relation":
        refs = [value] if isinstance(value, str) else value
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise ValueError(f"{prop.label} expects a ref or a list of refs, got {_show(value)}")
        return tuple(sorted(set(refs)))
    if kind == "device":
        if isinstance(value, bool):
            return {"installed": value}
        if not isinstance(value, dict) or set(value) - {"installed", "functional"}:
            raise ValueError(f"{prop.label} expects {{installed, functional}}, got {_show(value)}")
        installed, functional = value.get("installed"), value.get("functional")
        for k, v in (("installed", installed), ("functional", functional)):
            if v is not None and not isinstance(v, bool):
                raise ValueError(f"{prop.label}.{k} expects true or false, got {_show(v)}")
        if installed is None and functional is not None:
            installed = True  # a device observed working or failing is installed
        if installed is False and functional is not None:
            raise ValueError(f"{prop.label}: a device that is not installed cannot be functional={functional}")
        return {k: v for k, v in (("installed", installed), ("functional", functional)) if v is not None}
    raise ValueError(f"unsupported property kind {kind}")


def _quantity(prop: PropertyDef, value: Any) -> float:
    unit = prop.unit
    if isinstance(value, dict):
        if set(value) != {"value", "unit"}:
            raise ValueError(f"{prop.label} expects {{value, unit}}, got keys {sorted(value)}")
        given, number = value["unit"], value["value"]
        if given not in UNITS or unit not in UNITS or UNITS[given][0] != UNITS[unit][0]:
            raise ValueError(f"{prop.label} is measured in {unit}; unit {given!r} cannot be converted")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"{prop.label} expects a number, got {_show(number)}")
        return number * UNITS[given][1] / UNITS[unit][1]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{prop.label} expects a number in {unit}, got {_show(value)}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{prop.label} expects a finite number")
    return value


def _reached(obj: Obj, rel: str, prop: str, objects: dict[str, Obj]) -> list | None:
    """The values of `prop` on the objects `rel` leads to; None while the relation or any value is unknown."""
    targets = obj.values.get(rel)
    if targets is None:
        return None
    values = [objects[t].values.get(prop) for t in targets]
    return None if any(v is None for v in values) else values


def _flatten(kb: CompiledKB, obj: Obj, objects: dict[str, Obj]) -> None:
    """Fact fields: class membership, scalar values, device observations, relation paths and counts."""
    onto = kb.ontology
    f: dict[str, Any] = {f"isa_{a}": True for a in onto.classes[obj.cls].ancestors}
    for pname, value in obj.values.items():
        kind = onto.properties[pname].kind
        if kind == "device":
            for k, v in value.items():
                f[f"{pname}__{k}"] = v
        elif kind == "relation":
            f[f"count__{pname}"] = len(value)
        else:
            f[pname] = value
    for rel, prop in kb.list_paths:
        vals = _reached(obj, rel, prop, objects)
        if vals is not None:
            f[f"{rel}__{prop}"] = sorted(vals, key=repr)
    for rel, rel2 in kb.distinct_paths:
        reached = _reached(obj, rel, rel2, objects)
        if reached is not None:
            if onto.properties[rel2].kind == "relation":  # distinct objects reached
                f[f"distinct__{rel}__{rel2}"] = len({r for refs in reached for r in refs})
            else:  # distinct observed values
                f[f"distinct__{rel}__{rel2}"] = len(set(reached))
    obj.fields = f

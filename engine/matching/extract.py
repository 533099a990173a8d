"""Observations a description states, read for one candidate item: never a value the text does not state.

For a candidate, the objects and indicators are those its rule branches observe (subject classes and the
properties of their conditions). The rules, each anchored on the labels and `hk:synonym`s of the ontology:

- **object**: the most specific class among a branch's subject class and its subclasses whose label or synonym
  occurs in the text (炉底 → 炉底, not 熔融金属作业危险区域); its words become the object's ref. A related object
  (a relation the conditions go through) is created only when the text names an object of the related class
  (配属铝液保温炉的炉底 → the 炉底 belongs to a 保温炉).
- **number**: a number with a unit (12名, 0.05MPa, 60℃, 十二名) whose clause names the property (its label or a
  synonym shares at least half of its character pairs with the clause: 12名作业人员 → 作业人员数量 = 12 人), in a
  unit of the property's dimension. A number qualified as approximate or as a bound (约、余、多、以上、超过、不足、
  小于 …) states no value and is not read; neither is a quantity that two properties could equally claim.
- **device**: the device named (label or synonym of the device or its class, or most of its characters) and
  preceded in the same clause by 未设置/未安装/未配备/没有/无/缺少 → not installed; followed by 失效/损坏/故障/
  不报警/停用 … → installed and not functional; an interlock with 未与……联锁 → not installed, 联锁失效 → failed.
  "未按规定设置" and "不规范" say something is wrong, not what: they are not read.
- **boolean**: the property's label or a synonym (or the label without its leading verb: 存在积水 → 积水) occurs
  in the text → true; directly preceded by 未/没有/无/不/非 → false.
- **enumeration**: an allowed value occurs in the text, not negated.

"人员较多" states no number and gives nothing; "未设置可燃气体浓度监测报警装置" gives installed = false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..compiler import CompiledKB
from ..inspection import UNITS
from ..ontology import Ontology, PropertyDef
from .index import subject_classes
from .tokenize import normalize
from .vocabulary import GENERIC_CLASSES, label_parts

CLAUSE = re.compile(r"[，。；;！？!?\n]|,(?!\d)")
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# text unit (lower case, as normalised) -> the knowledge base's unit
TEXT_UNITS = {
    "名": "人", "人": "人", "位": "人", "个人": "人",
    "毫米": "mm", "mm": "mm", "厘米": "cm", "cm": "cm", "公里": "km", "千米": "km", "km": "km", "米": "m", "m": "m",
    "兆帕": "MPa", "mpa": "MPa", "千帕": "kPa", "kpa": "kPa", "帕": "Pa", "pa": "Pa",
    "摄氏度": "℃", "℃": "℃",
    "吨": "t", "t": "t", "公斤": "kg", "千克": "kg", "kg": "kg",
    "小时": "h", "h": "h", "分钟": "min", "min": "min", "秒": "s", "天": "d",
    "立方米": "m3", "m3": "m3", "m³": "m3", "平方米": "m2", "m2": "m2", "㎡": "m2", "升": "L",
    "%": "%", "‰": "‰", "ppm": "ppm", "层": "层", "套": "套", "个": "个", "次": "次",
    "千伏": "kV", "kv": "kV", "兆瓦": "MW", "mw": "MW", "千瓦": "kW", "kw": "kW", "千牛": "kN", "kn": "kN",
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in TEXT_UNITS), key=len, reverse=True))
QUANTITY = re.compile(r"(?P<num>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s*(?P<unit>" + _UNIT_ALT + r")(?![a-z0-9])")
IMPRECISE_BEFORE = re.compile(r"(超过|大于|多于|高于|不足|小于|少于|低于|不到|不超过|不少于|约|近|逾|将近|接近|≥|≤|>|<|至少|最多)\s*$")
IMPRECISE_AFTER = re.compile(r"^\s*(余|多|以上|以下|左右|以内|以外|上下|许|来)")
RANGE_BEFORE = re.compile(r"[\d一二三四五六七八九十][\s]*[-~～至到]\s*$")

NOT_INSTALLED = re.compile(r"(未|没有|没)(在[^，。；]{0,12}?)?(设置|安装|配备|配置|设|装设|加装|安设|装)[^，。；]{0,3}$|(无|缺少|缺失|未配|没有)[^，。；]{0,2}$")
VAGUE = re.compile(r"(按规定|按要求|规范|按照规定|按标准)[^，。；]{0,4}$")
FAILED_AFTER = re.compile(r"^[^，。；]{0,8}?(失效|损坏|故障|失灵|不能正常|无法正常|未正常|不正常|未投用|未投入使用|停用|不报警|"
                          r"不动作|被拆除|已拆除|拆除|关闭|未启用|不起作用|无效|报废)")
INTERLOCK_MISSING = re.compile(r"(未|没有|没)(与|和|同)[^，。；]*?(联锁|连锁|联动)|(未|没有)(实现|设置|设)?(联锁|连锁)")
INTERLOCK_FAILED = re.compile(r"(联锁|连锁)[^，。；]{0,4}?(失效|不动作|未投用|被解除|解除|摘除|短接|旁路|不起作用|无效)")
NEGATED_BEFORE = re.compile(r"(未|没有|没|无|不|非|未能|未经|并未|从未)$")
LEADING_VERB = re.compile(r"^(存在|设置|设有|使用|采取|采用|进行|安装|配备|具有|处于|位于|按规定|按照规定)")
MIN_COVER = 0.5


@dataclass(frozen=True)
class Observation:
    object: str  # ref of the object in the inspection ("enterprise" for the enterprise)
    object_class: str
    property: str
    value: Any
    span: str  # the words of the description it was read from
    rule: str  # number | device | interlock | boolean | enum | relation


@dataclass
class ObjectPlan:
    ref: str
    cls: str
    mention: str | None  # the words naming it, when the text names it
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Extraction:
    objects: list[ObjectPlan]  # enterprise excluded
    enterprise: dict[str, Any]
    observations: list[Observation]


def clauses(text: str) -> list[str]:
    return [c for c in CLAUSE.split(text) if c.strip()]


def bigrams(s: str) -> set[str]:
    s = re.sub(r"[^\u4e00-\u9fffa-z0-9]", "", s)
    return {s[i:i + 2] for i in range(len(s) - 1)}


def cover(form: str, clause: str) -> float:
    """The share of a form's character pairs that occur in a clause (1.0 when the form occurs as is)."""
    if form in clause:
        return 1.0
    g = bigrams(form)
    return len(g & bigrams(clause)) / len(g) if g else 0.0


def parse_number(s: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    total, cur = 0, None
    for ch in s:
        if ch in CN_DIGITS:
            if cur is not None:
                return None  # 二三 is not a number
            cur = CN_DIGITS[ch]
        elif ch in CN_UNITS:
            total += (1 if cur is None else cur) * CN_UNITS[ch]
            cur = None
        else:
            return None
    return float(total + (cur or 0))


def forms_of(onto: Ontology, p: PropertyDef) -> list[str]:
    out: list[str] = []
    for s in (p.label, *p.synonyms):
        for part in label_parts(s):
            if part not in out:
                out.append(part)
    return out


def boolean_forms(p: PropertyDef) -> list[str]:
    """A boolean's whole label and synonyms: a part of a label (one of several conditions it joins) is not stated
    by naming that part."""
    return [normalize(s) for s in (p.label, *p.synonyms)]


def device_forms(onto: Ontology, p: PropertyDef) -> list[str]:
    out = forms_of(onto, p)
    if p.target in onto.classes:
        c = onto.classes[p.target]
        for s in (c.label, *c.synonyms):
            for part in label_parts(s):
                if part not in out:
                    out.append(part)
    return out


def class_mention(onto: Ontology, classes: list[str], text: str) -> tuple[str, str] | None:
    """The most specific of these classes named in the text (longest name wins), and the words naming it."""
    best = None
    for name in classes:
        if name in GENERIC_CLASSES:
            continue
        c = onto.classes[name]
        for s in (c.label, *c.synonyms):
            for form in label_parts(s):
                if len(form) >= 2 and form in text:
                    key = (len(form), len(c.ancestors))
                    if best is None or key > best[0]:
                        best = (key, name, form)
    return (best[1], best[2]) if best else None


def _mention_span(forms: list[str], clause: str) -> tuple[int, int, float] | None:
    """Where a thing is named in a clause: an exact form, else the stretch of its shared character pairs."""
    for f in sorted(forms, key=len, reverse=True):
        i = clause.find(f)
        if i >= 0 and len(f) >= 2:
            return i, i + len(f), 1.0
    best = None
    for f in forms:
        g = bigrams(f)
        if len(g) < 3:
            continue
        shared = [x for x in g if x in clause]
        c = len(shared) / len(g)
        if c >= 0.6 and len(shared) >= 3 and (best is None or c > best[2]):
            pos = [clause.find(x) for x in shared]
            best = (min(pos), max(pos) + 2, c)
    return best


def extract(kb: CompiledKB, pinpoint: str, text: str) -> Extraction:
    onto = kb.ontology
    text = normalize(text)
    parts = clauses(text)
    crit = kb.criteria.get(pinpoint)
    if crit is None:
        return Extraction([], {}, [])
    plans: dict[str, ObjectPlan] = {}  # subject class of a branch -> object
    enterprise: dict[str, Any] = {}
    observations: list[Observation] = []
    refs: set[str] = {"enterprise"}

    def plan_for(subject: str) -> ObjectPlan:
        if subject not in plans:
            found = class_mention(onto, subject_classes(onto, subject), text)
            cls, mention = found if found else (subject, None)
            same = next((pl for pl in plans.values() if mention and pl.mention == mention and pl.cls == cls), None)
            if same is not None:  # two branches about the same named object: one object
                plans[subject] = same
                return same
            ref = mention or onto.classes[cls].label
            while ref in refs:
                ref += "′"
            refs.add(ref)
            plans[subject] = ObjectPlan(ref, cls, mention)
        return plans[subject]

    # what each subject's conditions observe
    wanted: dict[str, dict[str, str]] = {}  # subject -> property -> how (field | device | interlock | relation)
    for b in crit.branches:
        for c in b.conditions:
            for alt in (c.alternatives or (c,)):
                for ask in alt.asks:
                    path = ask.split("(")[-1].rstrip(")").split(".")
                    p = onto.properties.get(path[0])
                    if p is None:
                        continue
                    how = "field"
                    if p.kind == "device":
                        how = "interlock" if "Interlock" in onto.classes[p.target].ancestors else "device"
                    elif p.kind == "relation":
                        how = "relation"
                    wanted.setdefault(b.subject, {})[p.name] = how
                    if len(path) == 2 and p.kind == "relation":
                        wanted.setdefault(f"{p.name}>{p.target}", {})[path[1]] = "field"

    quantities = _quantities(text)
    claimed: dict[int, list[tuple[float, str, str]]] = {}  # quantity index -> (cue, subject, property)
    values: dict[tuple[str, str], tuple[Any, str, str]] = {}  # (subject, property) -> (value, span, rule)

    for subject, props in wanted.items():
        if ">" in subject:
            continue
        for name, how in props.items():
            p = onto.properties[name]
            if how == "relation":
                continue
            if p.kind in ("number", "integer"):
                for qi, (value, unit, span, clause) in enumerate(quantities):
                    if not _unit_fits(unit, p):
                        continue
                    cue = max((cover(f, clause) for f in forms_of(onto, p)), default=0.0)
                    if cue >= MIN_COVER and len(bigrams(clause) & set().union(*(bigrams(f) for f in forms_of(onto, p)))) >= 2:
                        claimed.setdefault(qi, []).append((cue, subject, name))
            elif how == "device":
                got = _device(device_forms(onto, p), parts)
                if got:
                    values[(subject, name)] = (got[0], got[1], "device")
            elif how == "interlock":
                got = _interlock(device_forms(onto, p), parts)
                if got:
                    values[(subject, name)] = (got[0], got[1], "interlock")
            elif p.kind == "boolean":
                got = _boolean(boolean_forms(p), text)
                if got:
                    values[(subject, name)] = (got[0], got[1], "boolean")
            elif p.kind == "enum":
                got = _enum(p, text)
                if got:
                    values[(subject, name)] = (got, got, "enum")
    for qi, claims in claimed.items():
        claims.sort(reverse=True)
        if len(claims) > 1 and claims[0][0] == claims[1][0] and claims[0][2] != claims[1][2]:
            continue  # two properties claim the number equally: it states neither
        _, subject, name = claims[0]
        value, unit, span, _ = quantities[qi]
        p = onto.properties[name]
        v = _value(value, unit, p)
        if v is not None and (subject, name) not in values:
            values[(subject, name)] = (v, span, "number")

    # a value belongs to an object the text names (炉底…存在积水), or to the one kind of object the property is
    # observed on at all (作业人员数量 is observed only on a 速冻间); otherwise the text does not say what it is
    # about for this item, and no object is made up to carry it
    mentioned = {subj for subj in wanted if ">" not in subj and subj != "Enterprise"
                 and class_mention(onto, subject_classes(onto, subj), text)}
    order = list(wanted)
    by_name: dict[str, list[str]] = {}
    for subject, name in values:
        by_name.setdefault(name, []).append(subject)
    for name, subjects in by_name.items():
        keep = [x for x in subjects if x in mentioned or x == "Enterprise"]
        if not keep:
            implied = [x for x in subjects if _implies(onto, name, x)]
            keep = [min(implied, key=order.index)] if implied else []
        for x in subjects:
            if x not in keep:
                del values[(x, name)]

    for (subject, name), (value, span, rule) in values.items():
        if subject == "Enterprise":
            enterprise[name] = value
            observations.append(Observation("enterprise", "Enterprise", name, value, span, rule))
            continue
        plan = plan_for(subject)
        plan.properties[name] = value
        observations.append(Observation(plan.ref, plan.cls, name, value, span, rule))

    # objects the text names without stating a value: the engine then asks about their indicators, not
    # whether they exist; related objects when the text names one
    for subject, props in wanted.items():
        if ">" in subject or subject == "Enterprise":
            continue
        if subject not in plans and class_mention(onto, subject_classes(onto, subject), text):
            plan_for(subject)
        plan = plans.get(subject)
        if plan is None:
            continue
        for name, how in props.items():
            if how != "relation" or name in plan.properties:
                continue
            p = onto.properties[name]
            found = class_mention(onto, subject_classes(onto, p.target), text)
            if not found or found[1] == plan.mention:
                continue
            key = f"{name}>{p.target}"
            rel_plan = plans.get(key)
            if rel_plan is None:
                ref = found[1]
                while ref in refs:
                    ref += "′"
                refs.add(ref)
                rel_plan = plans[key] = ObjectPlan(ref, found[0], found[1])
            plan.properties[name] = [rel_plan.ref]
            observations.append(Observation(plan.ref, plan.cls, name, [rel_plan.ref], found[1], "relation"))
            for pname in wanted.get(key, {}):
                prop = onto.properties.get(pname)
                if prop is None:
                    continue
                got = _boolean(boolean_forms(prop), text) if prop.kind == "boolean" else None
                if got:
                    rel_plan.properties[pname] = got[0]
                    observations.append(Observation(rel_plan.ref, rel_plan.cls, pname, got[0], got[1], "boolean"))
    objects = list({id(pl): pl for pl in plans.values()}.values())
    return Extraction(objects, enterprise, observations)


def _implies(onto: Ontology, prop: str, subject: str) -> bool:
    """Whether observing the property tells what kind of object it is: every class it is observed on is the
    subject class or below it."""
    return all(onto.is_a(c, subject) for c in onto.properties[prop].observed_on if c in onto.classes)


def _quantities(text: str) -> list[tuple[float, str, str, str]]:
    """(value, unit, span, clause) for every exact number with a unit."""
    out = []
    for clause in clauses(text):
        for m in QUANTITY.finditer(clause):
            before, after = clause[:m.start()], clause[m.end():]
            if IMPRECISE_BEFORE.search(before) or IMPRECISE_AFTER.search(after) or RANGE_BEFORE.search(before):
                continue
            if re.search(r"\d\s*[-~～]\s*$", before) or re.match(r"^\s*[-~～至到]\s*\d", after):
                continue
            value = parse_number(m["num"])
            if value is None:
                continue
            out.append((value, TEXT_UNITS[m["unit"]], m.group(0), clause))
    return out


def _unit_fits(unit: str, p: PropertyDef) -> bool:
    if unit == p.unit:
        return True
    a, b = UNITS.get(unit), UNITS.get(p.unit or "")
    return bool(a and b and a[0] == b[0])


def _value(value: float, unit: str, p: PropertyDef):
    if p.kind == "integer":
        if unit != p.unit or value != int(value):
            return None
        return int(value)
    if unit == p.unit:
        return int(value) if value == int(value) else value
    return {"value": int(value) if value == int(value) else value, "unit": unit}


def _device(forms: list[str], parts: list[str]):
    for clause in parts:
        span = _mention_span(forms, clause)
        if span is None:
            continue
        start, end, _ = span
        before, after = clause[:start], clause[end:]
        words = clause[max(0, start - 8):end]
        if VAGUE.search(before):
            continue
        if NOT_INSTALLED.search(before):
            return {"installed": False}, words
        m = FAILED_AFTER.search(after)
        if m:
            return {"installed": True, "functional": False}, clause[start:end + m.end()]
    return None


def _interlock(forms: list[str], parts: list[str]):
    """An interlock "A与B联锁" is named across a sentence (A正常，但未与B联锁): the clause with 联锁 is read
    together with the clause before it."""
    stripped = [re.sub(r"(的)?(联锁|连锁)(装置|功能)?$", "", f) for f in forms]
    for i, clause in enumerate(parts):
        if not re.search(r"联锁|连锁|联动", clause):
            continue
        context = (parts[i - 1] if i else "") + clause
        if max((cover(f, context) for f in stripped if len(f) >= 3), default=0.0) < MIN_COVER:
            continue
        if INTERLOCK_FAILED.search(clause):
            return {"installed": True, "functional": False}, clause
        if INTERLOCK_MISSING.search(clause):
            return {"installed": False}, clause
    return None


def _boolean(forms: list[str], text: str):
    candidates = []
    for f in forms:
        candidates.append(f)
        m = LEADING_VERB.match(f)
        if m and len(f) - m.end() >= 2:
            candidates.append(f[m.end():])
    for f in sorted(set(candidates), key=len, reverse=True):
        if len(f) < 2:
            continue
        i = text.find(f)
        if i < 0:
            continue
        negated = bool(NEGATED_BEFORE.search(text[max(0, i - 2):i]))
        return (not negated), text[max(0, i - 2 if negated else i):i + len(f)]
    return None


def _enum(p: PropertyDef, text: str):
    for v in sorted(p.allowed, key=len, reverse=True):
        nv = normalize(v)
        i = text.find(nv)
        if len(nv) >= 2 and i >= 0 and not NEGATED_BEFORE.search(text[max(0, i - 2):i]):
            return v
    return None

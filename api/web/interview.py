"""The inspection being filled in on the web page (a draft), to and from the form and the inspection JSON, and
the page's view of it: the checklist's object kinds in order, each with the objects recorded and only the
questions the determination still needs (engine.interview.next_questions), plus what was already answered.

Every form field carries the whole draft, so each step (an answer changed, an object added, a kind declared
不涉及) posts the draft, the server determines it with the engine, and the page is drawn again from the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hazard_kb.engine.checklist import Checklist
from hazard_kb.engine.compiler import CompiledKB
from hazard_kb.engine.interview import Interview

from .present import DEVICE_CHOICES, FieldProblem, short_pinpoint

NONE = "__none__"  # a relation observed empty ([]), as opposed to not yet observed
MAX_OBJECTS = 2000
_FULLWIDTH = str.maketrans("０１２３４５６７８９．－，", "0123456789.-,")


@dataclass
class DraftObject:
    ref: str
    cls: str
    values: dict[str, Any] = field(default_factory=dict)  # property name -> value as in an inspection
    note: str = ""


@dataclass
class Draft:
    date: str = ""
    name: str = ""
    credit_code: str = ""
    region: str = ""
    industries: list[str] = field(default_factory=list)
    regimes: list[str] = field(default_factory=list)
    ent_values: dict[str, Any] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # class names
    objects: list[DraftObject] = field(default_factory=list)
    description: str = ""  # 隐患描述 typed for the matcher; not part of the inspection

    @property
    def started(self) -> bool:
        return bool(self.industries)

    def inspection(self) -> dict:
        ent: dict[str, Any] = {"name": self.name, "industries": list(self.industries), "regimes": list(self.regimes)}
        if self.ent_values:
            ent["properties"] = dict(self.ent_values)
        if self.credit_code:
            ent["credit_code"] = self.credit_code
        if self.region:
            ent["region"] = self.region
        out: dict[str, Any] = {}
        if self.date:
            out["date"] = self.date
        out["enterprise"] = ent
        if self.absent:
            out["absent"] = list(self.absent)
        out["objects"] = []
        for o in self.objects:
            obj: dict[str, Any] = {"ref": o.ref, "class": o.cls, "properties": dict(o.values)}
            if o.note:
                obj["note"] = o.note
            out["objects"].append(obj)
        return out

    def refs(self) -> list[tuple[str, str]]:
        return [(o.ref, o.cls) for o in self.objects]


# ------------------------------------------------------------------------------------------------ form → draft
def _number(text: str) -> Any:
    s = text.strip().translate(_FULLWIDTH).replace(",", "")
    if not s:
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return text.strip()  # the engine names the field and says a number is expected


def _value(prop, raw: list[str]) -> Any:
    """The inspection value of one property from its form values; None when not observed."""
    kind = prop.kind
    if kind == "relation":
        refs = [r for r in raw if r and r != NONE]
        if refs:
            return refs
        return [] if NONE in raw else None
    text = raw[-1] if raw else ""
    if kind == "boolean":
        return {"true": True, "false": False}.get(text)
    if kind in ("number", "integer"):
        return _number(text)
    if kind == "enum":
        return text or None
    if kind == "device":
        return {"none": False, "ok": {"installed": True, "functional": True}, "failed": {"installed": True, "functional": False},
                "installed": {"installed": True}}.get(text)
    return text or None


def _values(kb: CompiledKB, form, prefix: str) -> dict[str, Any]:
    out = {}
    for key in dict.fromkeys(k for k in form.keys() if k.startswith(prefix)):
        prop = kb.ontology.properties.get(key[len(prefix):])
        if prop is None:
            continue
        v = _value(prop, form.getlist(key))
        if v is not None:
            out[prop.name] = v
    return out


def from_form(kb: CompiledKB, form) -> Draft:
    """The draft a posted form carries (unknown fields are ignored; values are not checked here, the engine does)."""
    d = Draft(date=(form.get("date") or "").strip(), name=(form.get("name") or "").strip(),
              credit_code=(form.get("credit_code") or "").strip().upper(), region=(form.get("region") or "").strip(),
              industries=[x for x in form.getlist("industries") if x], regimes=[x for x in form.getlist("regimes") if x],
              ent_values=_values(kb, form, "e.p."), absent=list(dict.fromkeys(x for x in form.getlist("absent") if x)),
              description=(form.get("description") or "").strip())
    indices = sorted({int(m.group(1)) for k in form.keys() if (m := re.fullmatch(r"o(\d+)\.cls", k))})[:MAX_OBJECTS]
    renamed = {}
    for i in indices:
        ref = (form.get(f"o{i}.ref") or "").strip()
        was = (form.get(f"o{i}.was") or "").strip()
        cls = form.get(f"o{i}.cls") or ""
        d.objects.append(DraftObject(ref=ref, cls=cls, values=_values(kb, form, f"o{i}.p."),
                                     note=(form.get(f"o{i}.note") or "").strip()))
        if was and ref and was != ref:
            renamed[was] = ref
    if renamed:  # an object renamed: the relations that pointed to it follow
        for values in [d.ent_values, *(o.values for o in d.objects)]:
            for k, v in values.items():
                if isinstance(v, list):
                    values[k] = [renamed.get(r, r) for r in v]
    return d


def from_inspection(kb: CompiledKB, data: dict) -> Draft:
    """A draft from an inspection (YAML/JSON as for the API, e.g. the one a determination page carries):
    class and property names or labels, values in any form the engine accepts."""
    from hazard_kb.engine.inspection import _coerce

    onto = kb.ontology
    ent = data.get("enterprise") or {}

    def values(props: dict) -> dict:
        out = {}
        for key, v in (props or {}).items():
            name = onto.property_aliases.get(key, key)
            prop = onto.properties.get(name)
            if prop is None or v is None:
                continue
            try:
                v = _coerce(prop, v)
            except ValueError:
                pass  # kept as given: the engine says what is wrong with it
            if isinstance(v, tuple):
                v = list(v)
            out[name] = v
        return out

    d = Draft(date=str(data.get("date") or ""), name=str(ent.get("name") or ""), credit_code=str(ent.get("credit_code") or ""),
              region=str(ent.get("region") or ""), industries=[str(x) for x in ent.get("industries") or []],
              regimes=[str(x) for x in ent.get("regimes") or []], ent_values=values(ent.get("properties")),
              absent=[onto.class_aliases.get(a, a) for a in data.get("absent") or []])
    for o in (data.get("objects") or [])[:MAX_OBJECTS]:
        cls = str(o.get("class") or "")
        d.objects.append(DraftObject(ref=str(o.get("ref") or ""), cls=onto.class_aliases.get(cls, cls),
                                     values=values(o.get("properties")), note=str(o.get("note") or "")))
    return d


# ------------------------------------------------------------------------------------------------ actions
def descendants(kb: CompiledKB, cls: str) -> list[str]:
    """cls and its subclasses, cls first, the rest by label; device classes are never objects."""
    onto = kb.ontology
    subs = [c for c in onto.classes.values() if cls in c.ancestors and c.name != cls and not onto.is_a(c.name, "SafetyDevice")]
    return [cls, *(c.name for c in sorted(subs, key=lambda c: c.label))]


def _short(label: str) -> str:
    return label if len(label) <= 10 else label[:10] + "…"


def apply_action(kb: CompiledKB, d: Draft, action: str, form) -> str | None:
    """Change the draft as a button asked; returns the form field to focus afterwards (or None)."""
    onto = kb.ontology
    verb, _, arg = action.partition(":")
    if verb == "add" and arg in onto.classes and len(d.objects) < MAX_OBJECTS:
        chosen = form.get(f"add.{arg}") or arg
        if chosen not in descendants(kb, arg):
            chosen = arg
        taken = {o.ref for o in d.objects}
        base = _short(onto.classes[chosen].label)
        n = 1 + sum(o.cls == chosen for o in d.objects)
        while f"{base}{n}" in taken:
            n += 1
        d.objects.append(DraftObject(ref=f"{base}{n}", cls=chosen))
        d.absent = [a for a in d.absent if not onto.is_a(chosen, a)]
        return f"o{len(d.objects) - 1}.ref"
    if verb == "remove" and arg.isdigit() and int(arg) < len(d.objects):
        gone = d.objects.pop(int(arg)).ref
        for values in [d.ent_values, *(o.values for o in d.objects)]:
            for k, v in list(values.items()):
                if isinstance(v, list) and gone in v:
                    values[k] = [r for r in v if r != gone]
        return None
    if verb == "absent" and arg in onto.classes and arg not in d.absent:
        if not any(onto.is_a(o.cls, arg) for o in d.objects):
            d.absent.append(arg)
        return None
    if verb == "present":
        d.absent = [a for a in d.absent if a != arg]
    return None


# ------------------------------------------------------------------------------------------------ 采用: a matched candidate
@dataclass
class Adoption:
    """What adopting a candidate of the matcher changed in the draft, to be said on the page."""
    pinpoint: str
    cite: str  # 第七条（七）
    objects: list[tuple[int, str, str, bool]] = field(default_factory=list)  # (index in the draft, ref, kind, new)
    added: list[tuple[str, str, Any, str | None]] = field(default_factory=list)  # (ref, property label, value, unit)
    kept: list[tuple[str, str, Any, Any, str | None]] = field(default_factory=list)  # (ref, label, recorded, described, unit)
    present: list[str] = field(default_factory=list)  # kinds no longer declared 不涉及 (labels)


def adopt(kb: CompiledKB, d: Draft, inspection: dict, pinpoint: str) -> Adoption:
    """Merge a matched candidate's inspection (the objects and values the matcher read from the description, nothing
    else) into the draft: an object of the same name and kind is the same object, values already recorded are kept
    (a different described value is reported, not written over), a kind declared 不涉及 is no longer so when an object
    of it is adopted. Values are read as the import reads them (engine coercion: units converted, lists for refs)."""
    onto = kb.ontology
    incoming = from_inspection(kb, {"enterprise": {"properties": (inspection.get("enterprise") or {}).get("properties") or {}},
                                    "objects": inspection.get("objects") or []})
    out = Adoption(pinpoint, short_pinpoint(kb, pinpoint))

    def merge(ref: str, into: dict, values: dict, rename: dict[str, str]) -> None:
        for name, v in values.items():
            if isinstance(v, list):
                v = [rename.get(r, r) for r in v]
            prop = onto.properties[name]
            if name not in into or into[name] is None:
                into[name] = v
                out.added.append((ref, prop.label, v, prop.unit))
            elif _same(prop, into[name], v):
                continue
            else:
                out.kept.append((ref, prop.label, into[name], v, prop.unit))

    rename: dict[str, str] = {}
    targets: list[DraftObject] = []
    by_ref = {o.ref: o for o in d.objects}
    for o in incoming.objects:
        known = by_ref.get(o.ref)
        if known is not None and known.cls in onto.classes and o.cls in onto.classes and onto.is_a(known.cls, o.cls):
            targets.append(known)  # the same object (adopted before, or recorded under the same name)
            continue
        if len(d.objects) >= MAX_OBJECTS:
            break
        ref = o.ref
        while ref in by_ref or ref == "enterprise":
            ref += "′"
        rename[o.ref] = ref
        new = DraftObject(ref=ref, cls=o.cls)
        d.objects.append(new)
        by_ref[ref] = new
        targets.append(new)
        gone = [a for a in d.absent if o.cls in onto.classes and onto.is_a(o.cls, a)]
        if gone:
            d.absent = [a for a in d.absent if a not in gone]
            out.present += [onto.classes[a].label if a in onto.classes else a for a in gone]
    for o, target in zip(incoming.objects, targets):
        merge(target.ref, target.values, o.values, rename)
        out.objects.append((d.objects.index(target), target.ref, onto.classes[target.cls].label if target.cls in onto.classes else target.cls,
                            target.ref in rename.values()))
    merge("enterprise", d.ent_values, incoming.ent_values, rename)
    return out


def _same(prop, a: Any, b: Any) -> bool:
    """Whether two values of a property say the same (False and {installed: false} for a device, refs in any order)."""
    from hazard_kb.engine.inspection import _coerce

    try:
        return _coerce(prop, a) == _coerce(prop, b)
    except ValueError:
        return a == b


# ------------------------------------------------------------------------------------------------ the page's view
@dataclass
class QuestionView:
    field: str  # form field name
    id: str  # element id (stable, so the page can be redrawn without losing focus)
    prop: str
    label: str
    question: str
    kind: str
    unit: str | None
    allowed: list[str]
    value: Any  # as in the inspection
    needed: bool  # the determination still needs it
    decides: list[str]  # the items it helps decide (第五条（六）)
    choices: list[tuple[str, str]] = field(default_factory=list)  # relation: (ref, 类型); device: (code, words)
    target_label: str = ""
    target_class: str = ""
    error: FieldProblem | None = None

    @property
    def state(self) -> Any:
        """The value as the widget shows it."""
        v = self.value
        if self.kind == "device":
            if v is False or (isinstance(v, dict) and v.get("installed") is False):
                return "none"
            if isinstance(v, dict):
                return {True: "ok", False: "failed"}.get(v.get("functional"), "installed")
            return ""
        if self.kind == "relation":
            return set(v) if v else ({NONE} if v == [] else set())
        if self.kind == "boolean":
            return {True: "true", False: "false"}.get(v, "")
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)


@dataclass
class ObjectView:
    index: int
    ref: str
    cls: str
    cls_label: str
    note: str
    questions: list[QuestionView]
    errors: list[FieldProblem]

    @property
    def open(self) -> int:
        return sum(q.needed for q in self.questions)


@dataclass
class GroupView:
    cls: str
    label: str
    presence_needed: bool
    presence_question: str
    decides: list[str]
    absent: bool
    add_classes: list[tuple[str, str]]
    objects: list[ObjectView]
    visible: bool
    add_choice: str = ""  # the kind last chosen in the group's 添加 list


@dataclass
class InterviewView:
    answer: str
    answer_zh: str
    hazards: list[str]
    decided: int
    undetermined: int
    asked: int
    enterprise_questions: list[QuestionView]
    groups: list[GroupView]
    other: list[ObjectView]  # objects of kinds the checklist does not ask about (judged under another standard …)
    problems: list[FieldProblem]

    @property
    def shown(self) -> list[GroupView]:
        return [g for g in self.groups if g.visible]

    @property
    def hidden(self) -> list[GroupView]:
        return [g for g in self.groups if not g.visible]


def build_view(kb: CompiledKB, d: Draft, iv: Interview | None, checklist: Checklist | None,
               problems: list[FieldProblem], add_choices: dict[str, str] | None = None) -> InterviewView:
    onto = kb.ontology
    by_field = {p.field: p for p in problems}
    needed: dict[tuple[str | None, str | None], Any] = {}  # (ref, property) → question; (None, class) for presence
    presence: dict[str, Any] = {}
    for g in iv.groups if iv else ():
        for q in g.questions:
            if q.property is None:
                presence[g.object_class] = q
            else:
                needed[(g.object, q.property)] = q
    wanted_targets = {onto.properties[p].target for (_, p) in needed if p in onto.properties and onto.properties[p].kind == "relation"}

    order: dict[str, tuple[int, int]] = {}
    for gi, g in enumerate(checklist.groups if checklist else ()):
        for qi, q in enumerate(g.questions):
            order.setdefault(q.property, (gi, qi))

    def question(prefix: str, ref: str, prop_name: str, value: Any) -> QuestionView:
        p = onto.properties[prop_name]
        q = needed.get((ref, prop_name))
        fid = f"{prefix}{prop_name}"
        view = QuestionView(field=fid, id=fid.replace(".", "-"), prop=prop_name, label=p.label,
                            question=q.question if q is not None else p.question, kind=p.kind, unit=p.unit, allowed=list(p.allowed),
                            value=value, needed=q is not None, decides=[short_pinpoint(kb, x) for x in (q.decides if q else [])],
                            error=by_field.get(fid))
        if p.kind == "relation":
            view.target_class, view.target_label = p.target, onto.classes[p.target].label
            view.choices = [(o.ref, onto.classes[o.cls].label if o.cls in onto.classes else o.cls)
                            for o in d.objects if o.cls in onto.classes and onto.is_a(o.cls, p.target) and o.ref != ref]
        elif p.kind == "device":
            view.choices = list(DEVICE_CHOICES)
        return view

    def questions(prefix: str, ref: str, values: dict) -> list[QuestionView]:
        names = list(dict.fromkeys([*(p for (r, p) in needed if r == ref and p in onto.properties),
                                    *(k for k in values if k in onto.properties)]))
        names.sort(key=lambda n: (order.get(n, (999, 0)), n))
        return [question(prefix, ref, n, values.get(n)) for n in names]

    group_classes = [g.object_class for g in (checklist.groups if checklist else ()) if g.object_class != "Enterprise"]
    for cls in presence:
        if cls not in group_classes:
            group_classes.append(cls)
    placed: dict[str, list[ObjectView]] = {c: [] for c in group_classes}
    other: list[ObjectView] = []
    for i, o in enumerate(d.objects):
        known = o.cls in onto.classes
        view = ObjectView(index=i, ref=o.ref, cls=o.cls, cls_label=onto.classes[o.cls].label if known else o.cls, note=o.note,
                          questions=questions(f"o{i}.p.", o.ref, o.values) if known else [],
                          errors=[p for f, p in by_field.items() if f in (f"o{i}.ref", f"o{i}.cls", f"o{i}.note")])
        home = next((a for a in onto.classes[o.cls].ancestors if a in placed), None) if known else None
        (placed[home] if home else other).append(view)

    groups = []
    checklist_labels = {g.object_class: g.label for g in (checklist.groups if checklist else ())}
    for cls in group_classes:
        label = checklist_labels.get(cls) or onto.classes[cls].label
        pq = presence.get(cls)
        absent = cls in d.absent
        objs = placed[cls]
        groups.append(GroupView(
            cls=cls, label=label, presence_needed=pq is not None,
            presence_question=f"是否有{label}？有则逐一添加并观察；确认没有的，选“不涉及”。",
            decides=[short_pinpoint(kb, x) for x in (pq.decides if pq else [])], absent=absent,
            add_classes=[(c, onto.classes[c].label) for c in descendants(kb, cls)][:40], objects=objs,
            visible=pq is not None or bool(objs) or absent or cls in wanted_targets, add_choice=(add_choices or {}).get(cls, "")))
    ent_q = questions("e.p.", "enterprise", d.ent_values)
    return InterviewView(
        answer=iv.answer if iv else "undetermined", answer_zh=iv.answer_zh if iv else "尚不能判定",
        hazards=[short_pinpoint(kb, h) for h in (iv.hazards if iv else [])], decided=iv.decided if iv else 0,
        undetermined=iv.undetermined if iv else 0, asked=iv.asked if iv else 0, enterprise_questions=ent_q, groups=groups,
        other=other, problems=list(problems))


def today_iso() -> str:
    return date.today().isoformat()

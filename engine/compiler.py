"""Compile ontology + rule files into the knowledge base the engines run.

The compiler is the gate: a rule without a known pinpoint, with a quote that is not in the verbatim
text, written against a text that has since changed, on an unknown class or property, or with a
value of the wrong type is refused with a message that names the rule.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hazard_kb import __version__

from .ontology import Ontology, PropertyDef, load_ontology, ontology_files
from .rules import NEGATION, AnyGroup, CriterionSpec, ParsedCondition, RuleFile, RuleSyntaxError, load_rule_file, parse_condition

MAX_RULES_PER_RULESET = 400  # durable-rules hangs at build from 512 rules in one ruleset


class KBError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("knowledge base refused:\n- " + "\n- ".join(problems))


@dataclass(frozen=True)
class Condition:
    """One test on a subject object, in the form both engines execute."""

    key: str  # unique per (subject class, condition text); refutations are recorded against it
    text: str
    kind: str  # field | list | present | any
    field: str  # fact field; for `present` the device property name
    op: str
    value: Any
    asks: tuple[str, ...]  # the observable paths that decide it
    count_field: str | None = None  # for `list`: an empty relation refutes
    alternatives: tuple["Condition", ...] = ()

    def negated(self) -> tuple[str, Any]:
        return NEGATION[self.op], self.value


@dataclass(frozen=True)
class Branch:
    rule_id: str  # <criterion>#<branch>
    criterion: str
    branch: str
    subject: str
    conditions: tuple[Condition, ...]
    quotes: tuple[str, ...]
    except_quotes: tuple[str, ...]
    basis: str | None
    note: str | None
    cites: tuple[str, ...]
    subitem: str | None = None  # the deepest provision the branch implements, when below the item
    table_row: str | None = None  # the row of a table the item (or sub-item) refers to, e.g. 表1第2行


@dataclass(frozen=True)
class Derivation:
    """Forward-chaining rule giving the effective presence of a device (第十四条)."""

    rule_id: str
    device: str
    installed: bool
    functional: bool | None  # None: any
    present: bool
    cites: tuple[str, ...]
    quote: str | None


@dataclass(frozen=True)
class CompiledCriterion:
    pinpoint: str
    standard: str
    text_sha256: str
    branches: tuple[Branch, ...]
    automatable: bool
    not_automatable_reason: str | None


@dataclass(frozen=True)
class RulesetSpec:
    name: str
    criteria: tuple[str, ...]
    subjects: tuple[str, ...]
    devices: tuple[str, ...]
    branches_by_subject: tuple[tuple[str, tuple[Branch, ...]], ...] = ()

    def branches_for(self, fact: dict):
        """The branches whose subject class the fact's object belongs to."""
        for subject, branches in self.branches_by_subject:
            if f"isa_{subject}" in fact:
                yield from branches


@dataclass
class CompiledKB:
    version: str
    content_hash: str
    ontology: Ontology
    criteria: dict[str, CompiledCriterion]
    derivations: dict[str, tuple[Derivation, ...]]  # device property -> rules
    rulesets: tuple[RulesetSpec, ...]
    list_paths: frozenset[tuple[str, str]]  # (relation, property) read through a relation
    distinct_paths: frozenset[tuple[str, str]]
    conditions: dict[str, Condition] = field(default_factory=dict)
    branches_by_condition: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rule_files: tuple[str, ...] = ()

    def branch(self, rule_id: str) -> Branch:
        crit = self.criteria[rule_id.split("#")[0]]
        return next(b for b in crit.branches if b.rule_id == rule_id)

    def rule_count(self) -> int:
        return sum(len(c.branches) for c in self.criteria.values())


def kb_content_hash(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def rule_paths(root: Path) -> list[Path]:
    return sorted((root / "rules").glob("*.yaml"))


CACHE_KEEP = 16  # compiled knowledge bases kept in the cache folder


def _cache_dir() -> Path | None:
    if os.environ.get("HAZARD_KB_NO_CACHE"):
        return None
    base = os.environ.get("HAZARD_KB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hazard-kb")
    return Path(base)


def _cache_key(root: Path) -> str:
    """The knowledge base's input files and the engine code that compiles them: either changing is a new key."""
    inputs = ontology_files(root) + rule_paths(root) + [p for f in rule_paths(root) if f.with_suffix(".d").is_dir()
                                                        for p in sorted(f.with_suffix(".d").glob("*.yaml"))]
    h = hashlib.sha256(f"{__version__}:{kb_content_hash(root, [p for p in inputs if p.exists()])}".encode())
    for src in sorted(Path(__file__).parent.glob("*.py")):
        h.update(src.read_bytes())
    return h.hexdigest()


def compile_kb(root: Path) -> CompiledKB:
    """Compile, or load the same compilation from the cache (compiling takes ~1 s; loading ~15 ms, which matters
    because a served API compiles in two processes at start-up). The cache is a folder of this user's pickles."""
    folder = _cache_dir()
    if folder is None:
        return _compile(root)
    key = _cache_key(root)
    path = folder / f"kb-{key[:40]}.pickle"
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass  # no entry yet, or one written by other code: compile
    kb = _compile(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(kb, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old entry or the whole new one
        for old in sorted(folder.glob("kb-*.pickle"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only home: work without the cache
    return kb


def _compile(root: Path) -> CompiledKB:
    onto = load_ontology(root)
    problems: list[str] = []
    criteria: dict[str, CompiledCriterion] = {}
    derivations: dict[str, tuple[Derivation, ...]] = {}
    conditions: dict[str, Condition] = {}
    by_condition: dict[str, list[str]] = {}
    list_paths: set[tuple[str, str]] = set()
    distinct_paths: set[tuple[str, str]] = set()
    files = rule_paths(root)
    for path in files:
        rel = str(path.relative_to(root))
        try:
            rf = load_rule_file(path)
        except Exception as exc:  # pydantic names the field
            problems.append(f"{rel}: {exc}")
            continue
        ctx = _Context(onto, rf, rel, problems, conditions, list_paths, distinct_paths)
        failure = ctx.failure_derivations()
        for spec in rf.criteria:
            if spec.criterion in criteria:
                problems.append(f"{rel}: {spec.criterion} is encoded twice")
                continue
            compiled = ctx.criterion(spec)
            if compiled is None:
                continue
            criteria[spec.criterion] = compiled
            for b in compiled.branches:
                for c in b.conditions:
                    by_condition.setdefault(c.key, []).append(b.rule_id)
                    if c.kind == "present" and c.field not in derivations:
                        if failure is None:
                            problems.append(f"{b.rule_id}: uses present({c.field}) but {rel} has no failure_rule")
                        else:
                            derivations[c.field] = failure(c.field)
    if problems:
        raise KBError(problems)
    rulesets = _rulesets(criteria)
    all_files = [root / f for f in onto.files] + files + [p for f in files if f.with_suffix(".d").is_dir()
                                                          for p in sorted(f.with_suffix(".d").glob("*.yaml"))]
    digest = kb_content_hash(root, all_files)
    return CompiledKB(
        f"{__version__}+{digest[:12]}", digest, onto, criteria, derivations, rulesets,
        frozenset(list_paths), frozenset(distinct_paths), conditions,
        {k: tuple(v) for k, v in by_condition.items()}, tuple(str(f.relative_to(root)) for f in files),
    )


def _rulesets(criteria: dict[str, CompiledCriterion]) -> tuple[RulesetSpec, ...]:
    """One ruleset per article (applicability is per article), split if it grows too large."""
    groups: dict[str, list[CompiledCriterion]] = {}
    for pin, crit in sorted(criteria.items(), key=lambda kv: _sort_key(kv[0])):
        groups.setdefault(pin.rsplit("/", 1)[0], []).append(crit)
    out = []
    for article, crits in groups.items():
        chunk: list[CompiledCriterion] = []
        size = 0
        for crit in crits:
            n = _durable_rule_estimate(crit)
            if chunk and size + n > MAX_RULES_PER_RULESET:
                out.append(_spec(article, len(out), chunk))
                chunk, size = [], 0
            chunk.append(crit)
            size += n
        if chunk:
            out.append(_spec(article, len(out), chunk))
    return tuple(out)


def _durable_rule_estimate(crit: CompiledCriterion) -> int:
    return sum(1 + 2 * len(b.conditions) + 3 * sum(c.kind == "present" for c in b.conditions) for b in crit.branches)


def _spec(article: str, n: int, crits: list[CompiledCriterion]) -> RulesetSpec:
    name = re.sub(r"[^A-Za-z0-9]+", "_", article) + f"_{n}"
    subjects = sorted({b.subject for c in crits for b in c.branches})
    devices = sorted({cond.field for c in crits for b in c.branches for cond in b.conditions if cond.kind == "present"})
    by_subject = tuple((s, tuple(b for c in crits for b in c.branches if b.subject == s)) for s in subjects)
    return RulesetSpec(name, tuple(c.pinpoint for c in crits), tuple(subjects), tuple(devices), by_subject)


def _sort_key(pinpoint: str) -> tuple:
    parts = re.findall(r"\d+", pinpoint.split("/", 1)[1])
    return (pinpoint.split("/")[0], *map(int, parts))


@dataclass
class _Context:
    onto: Ontology
    rf: RuleFile
    rel: str
    problems: list[str]
    conditions: dict[str, Condition]
    list_paths: set
    distinct_paths: set

    def err(self, where: str, msg: str) -> None:
        self.problems.append(f"{self.rel}: {where}: {msg}")

    def failure_derivations(self):
        spec = self.rf.failure_rule
        if spec is None:
            return None
        prov = self.onto.provisions.get(spec.provision)
        if prov is None:
            self.err("failure_rule", f"unknown provision {spec.provision}")
            return None
        if prov.sha256 != spec.text_sha256:
            self.err("failure_rule", f"{spec.provision} text has changed since the rule was written "
                     f"(rule says {spec.text_sha256[:12]}, source is {prov.sha256[:12]}): review the rule, then update text_sha256")
        if spec.quote not in prov.text:
            self.err("failure_rule", f"quote {spec.quote!r} is not in the text of {spec.provision}")
        std = self.rf.standard

        def make(device: str) -> tuple[Derivation, ...]:
            base = f"{std}/derive/{device}"
            return (
                Derivation(f"{base}/not-installed", device, False, None, False, (), None),
                Derivation(f"{base}/failed", device, True, False, False, (spec.provision,), spec.quote),
                Derivation(f"{base}/working", device, True, True, True, (), None),
            )

        return make

    def criterion(self, spec: CriterionSpec) -> CompiledCriterion | None:
        where = spec.criterion
        prov = self.onto.provisions.get(spec.criterion)
        if prov is None:
            self.err(where, "no such item in the sources (unknown pinpoint)")
            return None
        if prov.kind != "criterion":
            self.err(where, f"is a {prov.kind}, not a determination criterion")
            return None
        if not spec.criterion.startswith(self.rf.standard + "/"):
            self.err(where, f"belongs to another standard than {self.rf.standard}")
        if prov.sha256 != spec.text_sha256:
            self.err(where, f"text has changed since the rule was written (rule says {spec.text_sha256[:12]}, "
                     f"source is {prov.sha256[:12]}): review the rule, then update text_sha256")
        branches = []
        for b in spec.branches:
            rid = f"{spec.criterion}#{b.id}"
            quote_text = prov.text
            cites = [spec.criterion]
            if b.subitem:
                sub = self.onto.provisions.get(b.subitem)
                if sub is None or not b.subitem.startswith(spec.criterion + "/"):
                    self.err(rid, f"subitem {b.subitem} is not a sub-item of {spec.criterion} in the sources")
                    continue
                quote_text = sub.text
                cites.append(b.subitem)
            if b.table_row:
                row = self.onto.provisions.get(b.table_row)
                table = b.table_row.rsplit("/", 1)[0]
                referring = self.onto.provisions.get(b.subitem or spec.criterion)
                if row is None or row.kind != "row":
                    self.err(rid, f"table_row {b.table_row} is not a row of a table in the sources")
                    continue
                if table not in self.onto.provisions or referring is None or \
                        not _refers_to_table(referring.text, self.onto.provisions[table].number):
                    self.err(rid, f"table_row {b.table_row}: {b.subitem or spec.criterion} does not refer to "
                             f"{self.onto.provisions.get(table).ordinal if table in self.onto.provisions else table}")
                    continue
                cites.append(b.table_row)
            if b.basis:
                section = self.onto.provisions.get(b.basis)
                if section is None or section.kind != "section":
                    self.err(rid, f"basis {b.basis} is not an interpretation section in the sources")
                    continue
                quote_text = section.text
                cites.append(b.basis)
            for q in b.quotes:
                if q not in quote_text:
                    self.err(rid, f"quote {q!r} is not an exact substring of {b.basis or spec.criterion}")
            for q in b.except_quotes:
                if q not in prov.text and q not in quote_text:
                    self.err(rid, f"except_quote {q!r} is not in the text")
            if b.subject not in self.onto.classes:
                self.err(rid, f"unknown subject class {b.subject!r}{_suggest(b.subject, self.onto.classes)}")
                continue
            conds = []
            for raw in b.when:
                c = self.condition(rid, b.subject, raw)
                if c is not None:
                    conds.append(c)
            if len(conds) != len(b.when):
                continue
            branches.append(Branch(rid, spec.criterion, b.id, b.subject, tuple(conds), tuple(b.quotes),
                                   tuple(b.except_quotes), b.basis, b.note, tuple(cites), b.subitem,
                                   b.table_row))
        if len(branches) != len(spec.branches):
            return None
        return CompiledCriterion(spec.criterion, self.rf.standard, spec.text_sha256, tuple(branches),
                                 spec.automatable, spec.not_automatable_reason)

    def condition(self, rid: str, subject: str, raw) -> Condition | None:
        if isinstance(raw, AnyGroup):
            alts = [self.condition(rid, subject, a) for a in raw.any]
            if any(a is None for a in alts):
                return None
            if any(a.kind != "field" for a in alts):
                self.err(rid, "`any:` alternatives must be plain properties of the subject")
                return None
            text = "any: [" + " | ".join(a.text for a in alts) + "]"
            key = f"{subject}:{text}"
            c = Condition(key, text, "any", "", "any", None,
                          tuple(sorted({x for a in alts for x in a.asks})), None, tuple(alts))
            self.conditions[key] = c
            return c
        try:
            pc = parse_condition(raw)
        except RuleSyntaxError as exc:
            self.err(rid, str(exc))
            return None
        c = self._typed(rid, subject, pc)
        if c is not None:
            self.conditions.setdefault(c.key, c)
        return c

    def _prop(self, rid: str, name: str, on: str) -> PropertyDef | None:
        p = self.onto.properties.get(name)
        if p is None:
            self.err(rid, f"unknown property {name!r}{_suggest(name, self.onto.properties)}")
            return None
        ok = any(self.onto.is_a(on, c) or self.onto.is_a(c, on) for c in p.observed_on if c in self.onto.classes)
        if not ok:
            self.err(rid, f"property {name} is observed on {', '.join(p.observed_on)}, not on {on}")
            return None
        return p

    def _typed(self, rid: str, subject: str, pc: ParsedCondition) -> Condition | None:
        fn, parts = pc.path.fn, pc.path.parts
        key = f"{subject}:{pc.path}{pc.op}{pc.value!r}"
        if fn in ("present", "installed", "functional"):
            if len(parts) != 1:
                self.err(rid, f"{fn}() takes one device property, got {pc.path}")
                return None
            p = self._prop(rid, parts[0], subject)
            if p is None:
                return None
            if p.kind != "device":
                self.err(rid, f"{fn}({p.name}): {p.name} is a {p.kind}, not a device")
                return None
            if not isinstance(pc.value, bool) or pc.op not in ("==", "!="):
                self.err(rid, f"{pc.text}: a device test compares with true or false using == or !=")
                return None
            if fn == "present":
                return Condition(key, pc.text, "present", p.name, pc.op, pc.value, (f"installed({p.name})", f"functional({p.name})"))
            return Condition(key, pc.text, "field", f"{p.name}__{fn}", pc.op, pc.value, (f"{fn}({p.name})",))
        if fn == "count":
            rel = self._relation(rid, subject, parts, 1)
            if rel is None or not self._numeric_value(rid, pc):
                return None
            return Condition(key, pc.text, "field", f"count__{rel.name}", pc.op, pc.value, (rel.name,))
        if fn == "distinct":
            rel = self._relation(rid, subject, parts, 2)
            if rel is None or not self._numeric_value(rid, pc):
                return None
            rel2 = self._prop(rid, parts[1], rel.target)
            if rel2 is None:
                return None
            if rel2.kind == "device":
                self.err(rid, f"distinct({pc.path}): {parts[1]} is a device; count distinct related objects or values")
                return None
            self.distinct_paths.add((rel.name, rel2.name))
            return Condition(key, pc.text, "field", f"distinct__{rel.name}__{rel2.name}", pc.op, pc.value,
                             (rel.name, f"{rel.name}.{rel2.name}"))
        if len(parts) == 1:
            p = self._prop(rid, parts[0], subject)
            if p is None or not self._value_fits(rid, p, pc):
                return None
            if p.kind in ("device", "relation"):
                self.err(rid, f"{pc.text}: {p.name} is a {p.kind}; use present()/installed()/functional() or rel.prop/count()")
                return None
            return Condition(key, pc.text, "field", p.name, pc.op, pc.value, (p.name,))
        if len(parts) == 2:
            rel = self._relation(rid, subject, parts, 2)
            if rel is None:
                return None
            p = self._prop(rid, parts[1], rel.target)
            if p is None or not self._value_fits(rid, p, pc):
                return None
            if pc.op == "not in" and len(pc.value) > 1:
                # durable-rules cannot safely test "some related object is outside {a, b}" (see backend_durable._list_test)
                self.err(rid, f"{pc.text}: `not in` a list of several values is not supported through a relation; "
                         f"write the complementary `in` list instead")
                return None
            self.list_paths.add((rel.name, p.name))
            return Condition(key, pc.text, "list", f"{rel.name}__{p.name}", pc.op, pc.value,
                             (rel.name, f"{rel.name}.{p.name}"), f"count__{rel.name}")
        self.err(rid, f"{pc.text}: paths have at most two steps")
        return None

    def _relation(self, rid: str, subject: str, parts: tuple[str, ...], n: int) -> PropertyDef | None:
        if len(parts) != n:
            self.err(rid, f"expected {n} step(s) in {'.'.join(parts)}")
            return None
        rel = self._prop(rid, parts[0], subject)
        if rel is None:
            return None
        if rel.kind != "relation":
            self.err(rid, f"{parts[0]} is a {rel.kind}, not a relation to other observed objects")
            return None
        return rel

    def _numeric_value(self, rid: str, pc: ParsedCondition) -> bool:
        if isinstance(pc.value, bool) or not isinstance(pc.value, (int, float)):
            self.err(rid, f"{pc.text}: a count compares with a number")
            return False
        return True

    def _value_fits(self, rid: str, p: PropertyDef, pc: ParsedCondition) -> bool:
        values = pc.value if isinstance(pc.value, list) else [pc.value]
        for v in values:
            if p.kind == "boolean" and not isinstance(v, bool):
                self.err(rid, f"{pc.text}: {p.name} is boolean, compare with true/false")
                return False
            if p.kind in ("number", "integer") and (isinstance(v, bool) or not isinstance(v, (int, float))):
                self.err(rid, f"{pc.text}: {p.name} is a number in {p.unit}, got {v!r}")
                return False
            if p.kind == "enum" and str(v) not in p.allowed:
                self.err(rid, f"{pc.text}: {v!r} is not an allowed value of {p.name} ({', '.join(p.allowed)})")
                return False
        if p.kind in ("boolean", "enum") and pc.op in (">", ">=", "<", "<="):
            self.err(rid, f"{pc.text}: {p.name} is {p.kind}; use == != in")
            return False
        return True


def _suggest(name: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _refers_to_table(text: str, number: int) -> bool:
    """Whether a provision's text names 表N itself or within a range (表4至表7)."""
    for m in re.finditer(r"表(\d+)(?:\s*[至—~-]\s*表(\d+))?", text):
        low, high = int(m[1]), int(m[2] or m[1])
        if low <= number <= high:
            return True
    return False

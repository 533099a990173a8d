"""Law-to-rule traceability audit (issue 3): is every item of every standard encoded, traced to the
verbatim text, cited correctly and free of contradictions?

The audit reads the sources, Turtle, rule and case files itself and tolerantly (entry by entry), so it
can report on a knowledge base the compiler refuses: the compiler's refusal is one failing check
among the others, not the end of the report.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ValidationError
from rdflib import RDF, RDFS, XSD, Graph, Namespace, URIRef

from .cases import Case, case_files
from .compiler import KBError, compile_kb, rule_paths
from .lawgen import render
from .lawtext import LegalSource, parse_source, sha256, to_chinese_numeral
from .ontology import HK, LAW, OntologyError, ontology_files
from .rules import AnyGroup, CriterionSpec, FailureRuleSpec, RuleSyntaxError, parse_condition

Status = Literal["pass", "warn", "fail"]
SH = Namespace("http://www.w3.org/ns/shacl#")
PINPOINT = re.compile(r"^(?P<doc>[a-z][a-z0-9-]*)(?P<steps>(?:/(?:art|part|sec|item|sub|pt|para|table|row)\d+)*)$")
PIN_IN_TEXT = re.compile(r"[a-z][a-z0-9-]*(?:/(?:art|part|sec|item|sub|pt|para|table|row)\d+)+(?:#[a-z][a-z0-9]*)?")
_INTEGER = {XSD.integer, XSD.int, XSD.nonNegativeInteger}
_CHECKOUT_SHAPES = Path(__file__).resolve().parent.parent / "ontology" / "shapes.ttl"


# ------------------------------------------------------------------------------------------ report


class Problem(BaseModel):
    item: str | None = None  # pinpoint or rule id (<pinpoint>#<branch>) the message is about
    message: str
    level: Literal["fail", "warn"] = "fail"
    where: str | None = None  # file (and entry) that holds it
    related: list[str] = []  # other pinpoints / rule ids the message also concerns


class Check(BaseModel):
    name: str
    title: str
    status: Status
    summary: str = ""
    problems: list[Problem] = []


class CaseRef(BaseModel):
    name: str
    where: str
    expect: str
    branches: list[str] | None = None


class BranchReport(BaseModel):
    rule_id: str
    id: str
    subject: str
    when: list[str]
    quotes: list[str]
    except_quotes: list[str] = []
    basis: str | None = None
    basis_text: str | None = None
    note: str | None = None
    positive_cases: int = 0


class ItemReport(BaseModel):
    pinpoint: str
    label: str  # 第十二条（二）
    text: str
    sha256: str
    encoded: bool
    automatable: bool = True
    not_automatable_reason: str | None = None
    rule_file: str | None = None
    rule_ids: list[str] = []
    branches: list[BranchReport] = []
    positive: int = 0
    negative: int = 0
    other: int = 0
    cases: list[CaseRef] = []
    status: Status = "pass"
    problems: list[Problem] = []


class ArticleReport(BaseModel):
    pinpoint: str
    label: str
    lead: str
    applies_to: list[str] = []
    items: list[ItemReport] = []


class Counts(BaseModel):
    items_in_text: int = 0
    official_count: int | None = None  # hk:officialItemCount in the ontology
    official_count_source: int | None = None  # from the source's front matter
    criteria_in_ontology: int = 0
    encoded: int = 0
    not_automatable: int = 0
    branch_rules: int = 0
    positive_cases: int = 0
    negative_cases: int = 0
    other_cases: int = 0
    failures: int = 0
    warnings: int = 0


class StandardReport(BaseModel):
    id: str
    title: str
    doc_number: str = ""
    status: Status
    counts: Counts
    checks: list[Check]
    articles: list[ArticleReport]


class AuditReport(BaseModel):
    root: str
    generated_at: str
    inputs_sha256: str  # over every file the audit read: which KB state this report is about
    kb_version: str | None  # the compiler's version string, None when the KB does not compile
    status: Status
    ok: bool
    checks: list[Check]  # knowledge-base-wide checks
    standards: list[StandardReport]

    def failing(self) -> list[Check]:
        return [c for c in [*self.checks, *(c for s in self.standards for c in s.checks)] if c.status == "fail"]


def _worst(statuses: Iterable[str]) -> Status:
    s = set(statuses)
    return "fail" if "fail" in s else "warn" if "warn" in s else "pass"


def _check(name: str, title: str, problems: list[Problem], summary: str = "") -> Check:
    return Check(name=name, title=title, status=_worst(p.level for p in problems), summary=summary, problems=problems)


def _errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(entry)'}: {e['msg']}" for e in exc.errors())
    return str(exc)


# ------------------------------------------------------------------------------------------ inputs


@dataclass
class _Rule:
    spec: CriterionSpec
    where: str  # rules/gongmao-2023.d/art12.yaml[1]
    file: str
    standard: str  # the rule file's `standard:`


@dataclass
class _RuleFile:
    file: str
    standard: str | None
    failure_rule: FailureRuleSpec | None


@dataclass
class _Case:
    case: Case
    where: str
    folder: str  # tests/cases/<folder>/: the standard the file is filed under


@dataclass
class _Inputs:
    root: Path
    sources: dict[str, LegalSource] = field(default_factory=dict)
    graph: Graph = field(default_factory=Graph)
    defined_in: dict[URIRef, str] = field(default_factory=dict)  # hk: name -> file defining it
    authored_ttl: dict[str, Graph] = field(default_factory=dict)  # non-generated ontology files
    rule_files: list[_RuleFile] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # criterion -> where its entry was refused
    cases: list[_Case] = field(default_factory=list)
    load: dict[str, list[Problem]] = field(default_factory=lambda: defaultdict(list))
    files: list[Path] = field(default_factory=list)


def _load(root: Path) -> _Inputs:
    inp = _Inputs(root)
    for path in sorted((root / "ontology" / "sources").glob("*.md")):
        inp.files.append(path)
        try:
            src = parse_source(path)
            inp.sources[src.doc_id] = src
        except Exception as exc:
            inp.load["sources"].append(Problem(message=f"cannot parse: {exc}", where=_rel(root, path)))
    _load_ontology(inp)
    _load_rules(inp)
    _load_cases(inp)
    return inp


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _load_ontology(inp: _Inputs) -> None:
    law_dir = inp.root / "ontology" / "law"
    for path in ontology_files(inp.root):
        rel = _rel(inp.root, path)
        if not path.exists():
            inp.load["ontology"].append(Problem(message="missing", where=rel))
            continue
        inp.files.append(path)
        part = Graph()
        try:
            part.parse(path, format="turtle")
        except Exception as exc:
            inp.load["ontology"].append(Problem(message=f"cannot parse Turtle: {exc}", where=rel))
            continue
        for s in part.subjects(RDF.type, None):
            if isinstance(s, URIRef) and str(s).startswith(str(HK)):
                inp.defined_in.setdefault(s, rel)
        if path.parent != law_dir:
            inp.authored_ttl[rel] = part
        inp.graph += part


def _load_rules(inp: _Inputs) -> None:
    for path in rule_paths(inp.root):
        rel = _rel(inp.root, path)
        inp.files.append(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise ValueError("a rule file is a mapping with standard:, failure_rule: and criteria:")
        except Exception as exc:
            inp.load["rules"].append(Problem(message=f"cannot read: {exc}", where=rel))
            continue
        unknown = sorted(set(data) - {"standard", "failure_rule", "criteria"})
        if unknown:
            inp.load["rules"].append(Problem(message=f"unknown keys {unknown}", where=rel))
        standard = data.get("standard")
        if not isinstance(standard, str):
            inp.load["rules"].append(Problem(message="needs `standard: <document id>`", where=rel))
            standard = path.stem
        failure = None
        if data.get("failure_rule") is not None:
            try:
                failure = FailureRuleSpec.model_validate(data["failure_rule"])
            except ValidationError as exc:
                inp.load["rules"].append(Problem(message=f"failure_rule: {_errors(exc)}", where=rel))
        inp.rule_files.append(_RuleFile(rel, standard, failure))
        entries = [(rel, data.get("criteria") or [])]
        for frag in sorted(path.with_suffix(".d").glob("*.yaml")) if path.with_suffix(".d").is_dir() else []:
            inp.files.append(frag)
            try:
                entries.append((_rel(inp.root, frag), yaml.safe_load(frag.read_text(encoding="utf-8")) or []))
            except Exception as exc:
                inp.load["rules"].append(Problem(message=f"cannot read: {exc}", where=_rel(inp.root, frag)))
        for file, raw_list in entries:
            if not isinstance(raw_list, list):
                inp.load["rules"].append(Problem(message="criteria must be a YAML list", where=file))
                continue
            for i, raw in enumerate(raw_list):
                where = f"{file}[{i}]"
                try:
                    inp.rules.append(_Rule(CriterionSpec.model_validate(raw), where, file, standard))
                except ValidationError as exc:
                    pin = raw.get("criterion") if isinstance(raw, dict) else None
                    if isinstance(pin, str):
                        inp.refused.setdefault(pin, where)
                    inp.load["rules"].append(Problem(item=pin if isinstance(pin, str) else None,
                                                     message=f"rule entry refused: {_errors(exc)}", where=where))


def _load_cases(inp: _Inputs) -> None:
    for path in case_files(inp.root):
        rel = _rel(inp.root, path)
        inp.files.append(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            if not isinstance(data, list):
                raise ValueError("a case file is a YAML list of cases")
        except Exception as exc:
            inp.load["cases"].append(Problem(message=f"cannot read: {exc}", where=rel))
            continue
        for i, raw in enumerate(data):
            where = f"{rel}[{i}]"
            try:
                inp.cases.append(_Case(Case.model_validate(raw), where, path.parent.name))
            except ValidationError as exc:
                pin = raw.get("criterion") if isinstance(raw, dict) else None
                name = raw.get("name", "?") if isinstance(raw, dict) else "?"
                inp.load["cases"].append(Problem(item=pin if isinstance(pin, str) else None,
                                                 message=f"case {name!r} refused: {_errors(exc)}", where=where))


def _fixture_files(root: Path) -> list[Path]:
    base = root / "fixtures"
    return sorted(p for ext in ("yaml", "yml", "json") for p in base.rglob(f"*.{ext}")) if base.is_dir() else []


def inputs_digest(root: Path, files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(set(files)):
        if f.is_file():
            h.update(_rel(root, f).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ citations


@dataclass
class LawIndex:
    """What can be cited: every article, item, paragraph and interpretation section in the sources."""

    texts: dict[str, str]  # pinpoint -> verbatim text
    articles: dict[str, dict[int, tuple[str, int, int]]]  # doc -> number -> (ordinal, items, paragraphs)
    repealed: dict[str, str]  # repealed document -> the document repealing it (ontology hk:repeals)

    @classmethod
    def build(cls, sources: dict[str, LegalSource], graph: Graph | None = None) -> "LawIndex":
        texts: dict[str, str] = {}
        articles: dict[str, dict[int, tuple[str, int, int]]] = {}
        for doc, src in sources.items():
            texts[doc] = src.title
            articles[doc] = {a.number: (a.ordinal, len(a.items), len(a.paragraphs)) for a in src.articles}
            texts.update({pin: p.text for pin, p in src.provisions().items()})
            texts.update({s.pinpoint: s.text for s in src.sections})
        repealed = {}
        for s, o in (graph.subject_objects(HK.repeals) if graph is not None else ()):
            repealed[str(o)[len(LAW):]] = str(s)[len(LAW):]
        return cls(texts, articles, repealed)

    @classmethod
    def load(cls, root: Path) -> "LawIndex":
        inp = _Inputs(root)
        for path in sorted((root / "ontology" / "sources").glob("*.md")):
            src = parse_source(path)
            inp.sources[src.doc_id] = src
        _load_ontology(inp)
        return cls.build(inp.sources, inp.graph)

    def explain(self, pin: str) -> str | None:
        """None when the pinpoint exists in the sources, else why it does not."""
        if pin in self.texts:
            return None
        m = PINPOINT.match(pin)
        if not m:
            return f"{pin!r} is not a pinpoint (expected <document>/art<N>[/item<M>|/para<K>])"
        doc = m["doc"]
        if doc not in self.articles:
            if doc in self.repealed:
                return (f"{pin}: document {doc} was repealed by {self.repealed[doc]} and is not in the sources; "
                        f"cite the provision of {self.repealed[doc]} in force")
            close = difflib.get_close_matches(doc, list(self.articles), n=2, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            return f"{pin}: no document {doc!r} in the sources{hint}; known: {', '.join(sorted(self.articles))}"
        # the deepest part of the pinpoint that exists, and what it has
        steps = m["steps"].strip("/").split("/")
        parent = doc
        for step in steps:
            here = f"{parent}/{step}"
            if here not in self.texts:
                kind = re.match(r"[a-z]+", step).group(0)
                have = sorted((p for p in self.texts if p.startswith(parent + "/") and p.count("/") == parent.count("/") + 1
                               and p.rsplit("/", 1)[1].startswith(kind)), key=lambda p: int(re.sub(r"\D", "", p.rsplit("/", 1)[1])))
                noun = {"art": "articles", "item": "items", "para": "paragraphs (款)", "part": "parts",
                        "sec": "sections", "sub": "sub-items", "pt": "points", "table": "tables", "row": "rows"}[kind]
                note = f" ({doc} was repealed by {self.repealed[doc]})" if doc in self.repealed else ""
                if not have:
                    return f"{pin}: {parent} has no {noun} in the sources{note}"
                last = have[-1].rsplit("/", 1)[1]
                return f"{pin}: {parent} has {len(have)} {noun} in the sources (up to {last}); there is no {step}{note}"
            parent = here
        return f"{pin}: not found in the sources"


def check_citations(pinpoints: Iterable[str], index: LawIndex | None = None, *, where: str | None = None,
                    root: Path | None = None) -> list[Problem]:
    """One problem per pinpoint that does not exist in the sources (wrong article, missing item,
    repealed or unknown document). Without an index, the project's sources are used."""
    if index is None:
        from hazard_kb import project_root

        index = LawIndex.load(root or project_root())
    out = []
    for pin in pinpoints:
        if (why := index.explain(pin)) is not None:
            out.append(Problem(item=pin, message=why, where=where))
    return out


def _cite_all(cites: Iterable[tuple[str, str]], index: LawIndex) -> list[Problem]:
    return [p for pin, where in cites for p in check_citations([pin], index, where=where)]


def _ontology_citations(inp: _Inputs) -> list[tuple[str, str]]:
    """Law IRIs in authored Turtle (applicability, vocab, core); a repealed document may be named as such."""
    out = []
    for rel, g in inp.authored_ttl.items():
        for s, p, o in g:
            for node in (s, o):
                if isinstance(node, URIRef) and str(node).startswith(LAW) and not (p == HK.repeals and node == o):
                    out.append((str(node)[len(LAW):], rel))
    return sorted(set(out))


def _fixture_citations(root: Path) -> tuple[list[tuple[str, str]], list[Problem]]:
    out, problems = [], []
    for path in _fixture_files(root):
        rel = _rel(root, path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except Exception as exc:
            problems.append(Problem(message=f"cannot read: {exc}", where=rel))
            continue
        stack = [data]
        while stack:
            v = stack.pop()
            if isinstance(v, dict):
                stack.extend(v.values())
                stack.extend(k for k in v if isinstance(k, str))  # `expected:` maps pinpoints to verdicts
            elif isinstance(v, list):
                stack.extend(v)
            elif isinstance(v, str) and "/art" in v and PINPOINT.match(v):
                out.append((v, rel))
    return out, problems


# ------------------------------------------------------------------------------------------ per standard


@dataclass
class _Std:
    """The facts of one standard the checks share."""

    id: str
    src: LegalSource | None
    items: dict[str, tuple[str, str]]  # criterion pinpoint -> (label, text), in source order
    rules: dict[str, list[_Rule]]
    cases: dict[str, list[_Case]]


def _criteria_in_text(src: LegalSource, graph: Graph) -> dict[str, tuple[str, str]]:
    """Criterion pinpoint -> (label, text) in source order: the items read from the text, plus the
    whole articles the ontology declares criteria (城镇燃气 第八条)."""
    out = {}
    parents = {it.pinpoint: art for art in src.articles for it in art.items}
    for it in src.criterion_items():
        art = parents.get(it.pinpoint)
        out[it.pinpoint] = (f"{art.ordinal}{it.ordinal}" if art else it.ordinal, it.text)
    for art in src.articles:
        if (URIRef(LAW + art.pinpoint), RDF.type, HK.Criterion) in graph:
            out[art.pinpoint] = (art.ordinal, art.text)
    order = {p: i for i, p in enumerate(src.provisions())}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 0)))


def _standard_facts(std: str, inp: _Inputs) -> _Std:
    src = inp.sources.get(std)
    items = _criteria_in_text(src, inp.graph) if src is not None else {}
    rules: dict[str, list[_Rule]] = defaultdict(list)
    for r in inp.rules:
        if r.spec.criterion.split("/")[0] == std or r.standard == std:
            rules[r.spec.criterion].append(r)
    cases: dict[str, list[_Case]] = defaultdict(list)
    for c in inp.cases:
        if c.case.criterion.split("/")[0] == std or c.folder == std:
            cases[c.case.criterion].append(c)
    return _Std(std, src, items, rules, cases)


def _label(s: _Std, pin: str) -> str:
    return f"{pin} ({s.items[pin][0]})" if pin in s.items else pin


def _official_from_source(src: LegalSource | None) -> int | None:
    if src is None:
        return None
    if isinstance(src.meta.get("official_item_count"), int):
        return src.meta["official_item_count"]
    m = re.search(r"(\d+)\s*项", str(src.meta.get("counts_reported_by_mem", "")))
    return int(m[1]) if m else None


def _coverage(s: _Std, inp: _Inputs, counts: Counts) -> list[Check]:
    doc = URIRef(LAW + s.id)
    official = inp.graph.value(doc, HK.officialItemCount)
    counts.official_count = int(official) if official is not None else None
    counts.official_count_source = _official_from_source(s.src)
    counts.items_in_text = len(s.items)
    onto = {str(inp.graph.value(n, HK.pinpoint)) for n in inp.graph.subjects(RDF.type, HK.Criterion)
            if inp.graph.value(n, HK.inDocument) == doc}
    counts.criteria_in_ontology = len(onto)

    cnt: list[Problem] = []
    incomplete = str(inp.graph.value(doc, HK.textIncomplete) or "")
    if incomplete and counts.official_count is None:
        cnt.append(Problem(item=s.id, level="warn", message=(
            f"{s.id}: only part of the text is in the sources and its official item count is unknown; "
            f"{counts.items_in_text} items encoded from what is sourced: {incomplete}")))
    if s.src is None:
        cnt.append(Problem(item=s.id, message=f"{s.id} is a standard in the ontology but has no source in ontology/sources/"))
    for name, missing, value in (("hk:officialItemCount in the ontology", "no hk:officialItemCount in the ontology",
                                  counts.official_count),
                                 ("the official count in the source's front matter",
                                  "the source's front matter gives no official item count", counts.official_count_source)):
        if value is None:
            cnt.append(Problem(item=s.id, level="warn", message=f"{s.id}: {missing}"))
        elif value != counts.items_in_text and incomplete:
            cnt.append(Problem(item=s.id, level="warn", message=(
                f"{s.id}: only {counts.items_in_text} of {value} items ({name}) are in the sources; the other "
                f"{value - counts.items_in_text} are missing, not encoded, and reported in every answer: {incomplete}")))
        elif value != counts.items_in_text:
            cnt.append(Problem(item=s.id, message=f"{s.id}: {counts.items_in_text} items parsed from the text, {name} says {value}"))
    if onto != set(s.items):
        cnt.append(Problem(item=s.id, message=f"{s.id}: {len(onto)} criteria in the ontology, {len(s.items)} items in the "
                           f"text (only in ontology: {sorted(onto - set(s.items))[:5]}, "
                           f"only in text: {sorted(set(s.items) - onto)[:5]})"))

    missing_rule, cases_p, branch_p = [], [], []
    for pin in s.items:
        rules = s.rules.get(pin, [])
        if not rules:
            why = f"; its entry in {inp.refused[pin]} is refused by the rule schema" if pin in inp.refused else ""
            missing_rule.append(Problem(item=pin, message=f"{_label(s, pin)}: no rule{why}"))
        for r in rules[:1]:
            if not r.spec.automatable:
                if r.spec.not_automatable_reason:
                    missing_rule.append(Problem(item=pin, level="warn", where=r.where,
                                                message=f"{_label(s, pin)}: not automatable: {r.spec.not_automatable_reason}"))
                else:
                    missing_rule.append(Problem(item=pin, where=r.where,
                                                message=f"{_label(s, pin)}: automatable: false without not_automatable_reason"))
        cs = [c.case for c in s.cases.get(pin, [])]
        lacking = [w for w, pol in (("positive (expect: violated)", "positive"), ("negative (expect: not_violated)", "negative"))
                   if not any(c.polarity == pol for c in cs)]
        if lacking:
            cases_p.append(Problem(item=pin, message=f"{_label(s, pin)}: no {' and no '.join(lacking)} case"))
        if rules:
            branch_p += _branch_coverage(s, pin, rules[0], s.cases.get(pin, []))
    counts.encoded = sum(1 for p in s.items if s.rules.get(p))
    counts.not_automatable = sum(1 for p in s.items if s.rules.get(p) and not s.rules[p][0].spec.automatable)
    counts.branch_rules = sum(len(rs[0].spec.branches) for p, rs in s.rules.items() if p in s.items)
    all_cases = [c.case for cs in s.cases.values() for c in cs]
    counts.positive_cases = sum(c.polarity == "positive" for c in all_cases)
    counts.negative_cases = sum(c.polarity == "negative" for c in all_cases)
    counts.other_cases = len(all_cases) - counts.positive_cases - counts.negative_cases
    n = len(s.items)
    return [
        _check("coverage.counts", "Items in the text = official count = criteria in the ontology", cnt,
               f"{counts.items_in_text} items in text, official {counts.official_count}, {counts.criteria_in_ontology} criteria"),
        _check("coverage.rules", "Every item has a rule (no orphan criterion)", missing_rule,
               f"{counts.encoded} of {n} items encoded, {counts.not_automatable} not automatable"),
        _check("coverage.cases", "Every item has a positive and a negative case", cases_p,
               f"{n - len(cases_p)} of {n} items have both"),
        _check("coverage.branches", "Every branch has a positive case that fires it", branch_p,
               f"{counts.branch_rules} branch rules"),
    ]


def _fired(case: Case, n_branches: int, only: str) -> list[str] | None:
    """Branches a positive case says fire; a case on a one-branch item need not list it."""
    if case.branches is not None:
        return case.branches
    return [only] if n_branches == 1 else None


def _branch_coverage(s: _Std, pin: str, rule: _Rule, cases: list[_Case]) -> list[Problem]:
    out = []
    ids = [b.id for b in rule.spec.branches]
    fired: dict[str, int] = defaultdict(int)
    for c in cases:
        if c.case.expect != "violated":
            if c.case.branches:
                out.append(Problem(item=pin, where=c.where, level="warn",
                                   message=f"{_label(s, pin)}: case {c.case.name!r} expects {c.case.expect} but lists branches"))
            continue
        listed = _fired(c.case, len(ids), ids[0])
        if listed is None:
            out.append(Problem(item=pin, where=c.where, level="warn",
                               message=f"{_label(s, pin)}: positive case {c.case.name!r} does not say which branches fire"))
            continue
        for b in listed:
            if b in ids:
                fired[b] += 1
            else:
                out.append(Problem(item=pin, where=c.where,
                                   message=f"{_label(s, pin)}: case {c.case.name!r} names branch {b!r}, "
                                           f"which the rule does not have ({', '.join(ids)})"))
    for b in ids:
        if not fired[b]:
            out.append(Problem(item=f"{pin}#{b}", where=rule.where,
                               message=f"{pin}#{b} ({s.items.get(pin, ('',))[0]}): no positive case fires this branch"))
    return out


# ------------------------------------------------------------------------------------------ fidelity


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 6)
    return f"first difference at character {i + 1}: ontology “…{a[lo:i + 8]}…”, source “…{b[lo:i + 8]}…”"


def _law_fidelity(doc: str, src: LegalSource, inp: _Inputs) -> list[Problem]:
    """The generated law/<doc>.ttl must say exactly what the source says (a hand edit or a changed
    source that was not regenerated both fail here)."""
    g, out = inp.graph, []
    ttl = f"ontology/law/{doc}.ttl"
    expected = {pin: p.text for pin, p in src.provisions().items()}
    expected.update({sec.pinpoint: sec.text for sec in src.sections})
    for pin, text in expected.items():
        node = URIRef(LAW + pin)
        texts = [str(t) for t in g.objects(node, HK.verbatimText)]
        if not texts:
            out.append(Problem(item=pin, where=ttl, message=f"{pin}: in the source but not in {ttl}; run `hazard-kb kb build`"))
        elif len(texts) > 1:
            out.append(Problem(item=pin, where=ttl, message=f"{pin}: {len(texts)} verbatim texts in the ontology"))
        elif texts[0] != text:
            out.append(Problem(item=pin, where=ttl, message=f"{pin}: verbatim text in {ttl} differs from the source; "
                               f"{_first_difference(texts[0], text)}"))
        hashes = {str(h) for h in g.objects(node, HK.textSha256)}
        if hashes and hashes != {sha256(text)}:
            out.append(Problem(item=pin, where=ttl, message=f"{pin}: hk:textSha256 in {ttl} is not the hash of the source text"))
    for node in g.subjects(HK.inDocument, URIRef(LAW + doc)):
        pin = str(g.value(node, HK.pinpoint) or str(node)[len(LAW):])
        if pin not in expected:
            out.append(Problem(item=pin, where=ttl, message=f"{pin}: in {ttl} but not in the source text (stale or hand-written)"))
    path = inp.root / ttl
    if not path.exists():
        out.append(Problem(item=doc, where=ttl, message=f"{ttl} is missing; generate it from ontology/sources/{src.path.name}"))
    elif path.read_text(encoding="utf-8") != render(src, f"ontology/sources/{src.path.name}"):
        out.append(Problem(item=doc, where=ttl, message=f"{ttl} is not what ontology/sources/{src.path.name} generates "
                           "(hand edit, or source changed without regeneration): run `hazard-kb kb build`"))
    return out


def _fidelity(s: _Std, inp: _Inputs, index: LawIndex) -> list[Check]:
    onto = _law_fidelity(s.id, s.src, inp) if s.src is not None else []
    hashes, quotes = [], []
    for pin, rules in s.rules.items():
        if pin not in index.texts:
            continue  # an unknown pinpoint is reported by the citation and orphan checks
        text = index.texts[pin]
        for r in rules:
            rids = [f"{pin}#{b.id}" for b in r.spec.branches]
            if r.spec.text_sha256 != sha256(text):
                hashes.append(Problem(item=pin, related=rids, where=r.where, message=(
                    f"{_label(s, pin)}: the source text has changed since the rule was written (rule {r.spec.text_sha256[:12]}, "
                    f"source {sha256(text)[:12]}); review {', '.join(rids)}, then update text_sha256")))
            for b in r.spec.branches:
                rid = f"{pin}#{b.id}"
                # the same text the compiler quotes against: the interpretation, else the sub-item, else the item
                source = b.basis or b.subitem or pin
                within = index.texts.get(source, "") if source != pin else text
                for q in b.quotes:
                    if q not in within:
                        quotes.append(Problem(item=rid, where=r.where,
                                              message=f"{rid}: quote {q!r} is not an exact substring of {source}"))
                for q in b.except_quotes:
                    if q not in text and q not in within:
                        quotes.append(Problem(item=rid, where=r.where, message=f"{rid}: except_quote {q!r} is not in the text"))
    for rf in inp.rule_files:
        fr = rf.failure_rule
        if rf.standard != s.id or fr is None or fr.provision not in index.texts:
            continue
        text = index.texts[fr.provision]
        if fr.text_sha256 != sha256(text):
            hashes.append(Problem(item=fr.provision, where=rf.file, message=(
                f"{fr.provision}: failure_rule written against another text (rule {fr.text_sha256[:12]}, source {sha256(text)[:12]}); "
                "every device rule depends on it: review, then update text_sha256")))
        if fr.quote not in text:
            quotes.append(Problem(item=fr.provision, where=rf.file,
                                  message=f"failure_rule quote {fr.quote!r} is not in {fr.provision}"))
    return [
        _check("fidelity.ontology_text", "Ontology verbatim text = source text, character for character", onto,
               f"{len(s.items)} criteria compared"),
        _check("fidelity.rule_hashes", "Each rule's text_sha256 = hash of the current source text", hashes,
               f"{sum(len(v) for v in s.rules.values())} rules compared"),
        _check("fidelity.quotes", "Each quote is a substring of the clause (or its basis)", quotes),
    ]


# ------------------------------------------------------------------------------------------ consistency


def _canon(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return tuple(sorted({_canon(x) for x in v}, key=repr))
    return str(v)


def _parsed(when: list) -> list | None:
    """[(path, op, value)] per condition, ('any', alternatives) for a group; None if unreadable."""
    out = []
    try:
        for c in when:
            if isinstance(c, AnyGroup):
                out.append(("any", frozenset((str(p.path), p.op, _canon(p.value)) for p in map(parse_condition, c.any))))
            else:
                p = parse_condition(c)
                out.append((p.path, p.op, _canon(p.value)))
    except RuleSyntaxError:
        return None
    return out


def _branch_key(subject: str, conds: list) -> tuple:
    return subject, frozenset((c[0], c[1]) if c[0] == "any" else (str(c[0]), c[1], c[2]) for c in conds)


def _zh_label(g: Graph, node) -> str:
    labels = list(g.objects(node, RDFS.label))
    return str(next((v for v in labels if getattr(v, "language", None) == "zh"), labels[0] if labels else node))


def _sectors(inp: _Inputs, pin: str) -> tuple[str, ...]:
    g = inp.graph
    for node in (URIRef(LAW + pin), URIRef(LAW + pin.rsplit("/", 1)[0])):
        got = sorted(_zh_label(g, o) for o in g.objects(node, HK.appliesTo))
        if got:
            return tuple(got)
    return ()


def _duplicates(s: _Std, inp: _Inputs) -> list[Problem]:
    seen: dict[tuple, list[str]] = defaultdict(list)
    for pin, rules in s.rules.items():
        for b in rules[0].spec.branches:
            conds = _parsed(b.when)
            if conds is not None:
                seen[_branch_key(b.subject, conds)].append(f"{pin}#{b.id}")
    out = []
    for key, rids in seen.items():
        if len(rids) < 2:
            continue
        by_crit: dict[str, list[str]] = defaultdict(list)
        for r in rids:
            by_crit[r.split("#")[0]].append(r)
        for crit, same in by_crit.items():
            if len(same) > 1:
                out.append(Problem(item=same[0], related=same[1:], message=(
                    f"{', '.join(same)}: same subject {key[0]} and same conditions twice within {_label(s, crit)}")))
        crits = sorted(by_crit)
        if len(crits) > 1:
            sectors = {c: _sectors(inp, c) for c in crits}
            expected = len(set(sectors.values())) == len(crits)
            why = ("expected: the law repeats this text for " + " / ".join("、".join(v) or "?" for v in sectors.values())
                   if expected else "their sectors overlap (" + "; ".join(f"{c}: {'、'.join(v) or '?'}" for c, v in sectors.items())
                   + "): check whether one item subsumes the other")
            out.append(Problem(item=by_crit[crits[0]][0], related=[r for c in crits[1:] for r in by_crit[c]], level="warn",
                               message=f"{', '.join(rids)}: same subject {key[0]} and same conditions in different criteria; {why}"))
    return out


_DEVICE_STATES = ({"installed": False, "functional": None, "present": False},
                  {"installed": True, "functional": False, "present": False},
                  {"installed": True, "functional": True, "present": True})


def _interval_empty(conds: list[tuple[str, Any]], integer: bool) -> bool:
    allowed: set | None = None
    excluded: set = set()
    lo, lo_strict, hi, hi_strict = -math.inf, False, math.inf, False
    for op, v in conds:
        if op == "==":
            allowed = {v} if allowed is None else allowed & {v}
        elif op == "in":
            allowed = set(v) if allowed is None else allowed & set(v)
        elif op == "!=":
            excluded.add(v)
        elif op == "not in":
            excluded |= set(v)
        elif isinstance(v, float):
            if op in (">", ">=") and (v > lo or (v == lo and op == ">")):
                lo, lo_strict = v, op == ">"
            elif op in ("<", "<=") and (v < hi or (v == hi and op == "<")):
                hi, hi_strict = v, op == "<"
    if integer:  # 超过4 and 少于5 cannot both hold for a count
        lo, lo_strict = (math.floor(lo) + 1 if lo_strict else math.ceil(lo)) if lo > -math.inf else lo, False
        hi, hi_strict = (math.ceil(hi) - 1 if hi_strict else math.floor(hi)) if hi < math.inf else hi, False
    if allowed is None and any(isinstance(v, bool) for _, v in conds):
        allowed = {True, False}

    def within(x: Any) -> bool:
        if not isinstance(x, float):
            return True
        return (x > lo or (x == lo and not lo_strict)) and (x < hi or (x == hi and not hi_strict))

    if allowed is not None:
        return not any(x not in excluded and within(x) for x in allowed)
    return lo > hi or (lo == hi and (lo_strict or hi_strict or lo in excluded))


def _contradiction(conds: list, integer_prop) -> list[str] | None:
    """The texts of conditions on one field that cannot all hold, or None. Paths through a relation
    (`rel.prop`) hold for *any* related object, so `rel.x == a` with `rel.x != a` is satisfiable and
    is not examined."""
    groups: dict[tuple, list] = defaultdict(list)
    for path, op, value in (c for c in conds if c[0] != "any"):
        if path.fn in ("present", "installed", "functional"):
            groups[("device", path.parts[0])].append((path.fn, op, value))
        elif path.fn in ("count", "distinct") or len(path.parts) == 1:
            groups[(path.fn or "field", path.parts)].append((str(path), op, value))
    for key, group in groups.items():
        if key[0] == "device":
            def holds(state, fn, op, v):
                return state[fn] is not None and (state[fn] == v) == (op == "==")
            if not any(all(holds(st, *c) for c in group) for st in _DEVICE_STATES):
                return [f"{fn}({key[1]}) {op} {str(v).lower()}" for fn, op, v in group]
            continue
        integer = key[0] in ("count", "distinct") or integer_prop(key[1][0])
        if _interval_empty([(op, v) for _, op, v in group], integer):
            return [f"{p} {op} {_show(v)}" for p, op, v in group]
    return None


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, tuple):
        return "[" + ", ".join(map(_show, v)) + "]"
    return str(v)


def _unsatisfiable(s: _Std, inp: _Inputs) -> list[Problem]:
    def integer_prop(name: str) -> bool:
        return inp.graph.value(HK[name], RDFS.range) in _INTEGER

    out = []
    for pin, rules in s.rules.items():
        for r in rules:
            for b in r.spec.branches:
                conds = _parsed(b.when)
                if conds is None:
                    continue
                bad = _contradiction(conds, integer_prop)
                if bad:
                    rid = f"{pin}#{b.id}"
                    out.append(Problem(item=rid, where=r.where,
                                       message=f"{rid}: conditions can never all hold: {' and '.join(bad)}"))
    return out


def _orphans(s: _Std, inp: _Inputs, index: LawIndex) -> list[Problem]:
    out = []
    for pin, rules in s.rules.items():
        for r in rules:
            if pin not in s.items:
                why = index.explain(pin) or f"{pin} is not a determination criterion (判定情形) of {s.id}"
                out.append(Problem(item=pin, where=r.where, message=f"orphan rule: {why}"))
            elif r.standard != s.id:
                out.append(Problem(item=pin, where=r.where, message=f"{pin}: encoded in a rule file of standard {r.standard}"))
        if len(rules) > 1:
            out.append(Problem(item=pin, related=[r.where for r in rules], message=(
                f"{_label(s, pin)}: encoded {len(rules)} times ({', '.join(r.where for r in rules)})")))
    for pin, cases in s.cases.items():
        if pin not in s.items:
            for c in cases:
                why = index.explain(pin) or f"{pin} is not a determination criterion of {s.id}"
                out.append(Problem(item=pin, where=c.where, message=f"case {c.case.name!r} is about no criterion: {why}"))
    return out


def _consistency(s: _Std, inp: _Inputs, index: LawIndex) -> list[Check]:
    return [
        _check("consistency.orphans", "No orphan rule or case (criterion unknown), no item encoded twice", _orphans(s, inp, index)),
        _check("consistency.duplicates", "No two branches with the same subject and conditions", _duplicates(s, inp)),
        _check("consistency.satisfiable", "Every branch's conditions can all hold together", _unsatisfiable(s, inp)),
    ]


def _std_citations(s: _Std, inp: _Inputs, index: LawIndex) -> Check:
    cites: list[tuple[str, str]] = []
    for rf in inp.rule_files:
        if rf.standard == s.id:
            cites.append((rf.standard, rf.file))
            if rf.failure_rule:
                cites.append((rf.failure_rule.provision, rf.file))
    for rules in s.rules.values():
        for r in rules:
            cites.append((r.spec.criterion, r.where))
            cites += [(b.basis, r.where) for b in r.spec.branches if b.basis]
    for cases in s.cases.values():
        for c in cases:
            cites += [(c.case.criterion, c.where), *((p, c.where) for p in c.case.cites)]
    return _check("citations", "Every pinpoint cited in rules and cases exists in the sources", _cite_all(cites, index),
                  f"{len(cites)} citations")


# ------------------------------------------------------------------------------------------ knowledge base wide


_shapes_cache: dict[tuple[str, float], Graph] = {}
_shacl_lock = threading.Lock()  # pyshacl is not thread-safe and mutates the shapes graph (pySHACL #314)


def _shapes_graph(root: Path) -> Graph:
    path = root / "ontology" / "shapes.ttl"
    path = path if path.exists() else _CHECKOUT_SHAPES
    key = (str(path), path.stat().st_mtime)
    if key not in _shapes_cache:
        _shapes_cache[key] = Graph().parse(path, format="turtle")
    return _shapes_cache[key]


def _shacl(inp: _Inputs) -> Check:
    import pyshacl

    with _shacl_lock:
        shapes = Graph()
        for t in _shapes_graph(inp.root):  # a fresh copy per run: validation mutates it
            shapes.add(t)
        _, results, _ = pyshacl.validate(inp.graph, shacl_graph=shapes, inference="none", allow_warnings=True)
    seen: set[tuple[str, str]] = set()
    out = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(r, SH.focusNode)
        msg = str(results.value(r, SH.resultMessage) or results.value(r, SH.sourceConstraintComponent))
        if str(focus).startswith(LAW):
            name = str(focus)[len(LAW):]
        elif str(focus).startswith(str(HK)):
            name = "hk:" + str(focus)[len(HK):]
        else:
            name = str(focus)
        if (name, msg) not in seen:
            seen.add((name, msg))
            out.append(Problem(item=name, message=f"{name}: {msg}", where=inp.defined_in.get(focus)))
    n_crit = len(set(inp.graph.subjects(RDF.type, HK.Criterion)))
    n_prop = len(set(inp.graph.subjects(HK.observedOn, None)))
    return _check("consistency.shacl", "SHACL shapes (ontology/shapes.ttl) over the merged ontology", out,
                  f"{n_crit} criteria, {n_prop} observable properties")


def _compile(root: Path) -> tuple[Check, str | None]:
    try:
        kb = compile_kb(root)
    except (KBError, OntologyError) as exc:
        problems = [Problem(item=(m.group(0) if (m := PIN_IN_TEXT.search(p)) else None), message=p) for p in exc.problems]
        return _check("compile", "The compiler accepts the knowledge base", problems, f"{len(problems)} problems"), None
    except Exception as exc:  # a crash is a failure to report, not a reason to stop auditing
        return _check("compile", "The compiler accepts the knowledge base",
                      [Problem(message=f"{type(exc).__name__}: {exc}")]), None
    return _check("compile", "The compiler accepts the knowledge base", [],
                  f"{len(kb.criteria)} criteria, {kb.rule_count()} branch rules, kb {kb.version}"), kb.version


def _standards(inp: _Inputs) -> list[str]:
    found = sorted(str(d)[len(LAW):] for d in inp.graph.subjects(RDF.type, HK.Standard) if str(d).startswith(LAW))
    if found or not inp.load.get("ontology"):
        return found
    # the ontology does not parse: fall back to the sources that hold criteria articles
    return sorted(d for d, src in inp.sources.items() if src.criterion_items())


def _groups(src: LegalSource, items: dict[str, tuple[str, str]]):
    """Criteria grouped by the article or division they belong to, in source order. A notice-style list
    (一、二、…) is one group; a whole-article criterion is a group of its own."""
    parents = {it.pinpoint: art for art in src.articles for it in art.items}
    by_pin = src.provisions()
    groups: dict[str, tuple[str, str, str, list]] = {}
    for pin in items:
        art = parents.get(pin)
        if art is not None:
            key, label, lead = art.pinpoint, art.ordinal, art.lead
        elif "/art" in pin and pin.count("/") == 1:  # the article itself is the criterion
            key, label, lead = pin, by_pin[pin].ordinal, ""
        else:
            key, label, lead = src.doc_id, "判定情形", ""
        groups.setdefault(key, (key, label, lead, []))[3].append(by_pin[pin])
    return list(groups.values())


def _article_reports(s: _Std, inp: _Inputs, index: LawIndex) -> list[ArticleReport]:
    if s.src is None:
        return []
    out = []
    for group_pin, group_label, lead, members in _groups(s.src, s.items):
        items = []
        for it in members:
            rules = s.rules.get(it.pinpoint, [])
            r = rules[0] if rules else None
            cases = s.cases.get(it.pinpoint, [])
            branches = []
            for b in r.spec.branches if r else []:
                n_pos = sum(1 for c in cases if c.case.expect == "violated"
                            and b.id in (_fired(c.case, len(r.spec.branches), r.spec.branches[0].id) or []))
                branches.append(BranchReport(
                    rule_id=f"{it.pinpoint}#{b.id}", id=b.id, subject=b.subject,
                    when=[("any: [" + " | ".join(c.any) + "]") if isinstance(c, AnyGroup) else c for c in b.when],
                    quotes=b.quotes, except_quotes=b.except_quotes, basis=b.basis,
                    basis_text=index.texts.get(b.basis) if b.basis else None, note=b.note, positive_cases=n_pos))
            items.append(ItemReport(
                pinpoint=it.pinpoint, label=s.items[it.pinpoint][0], text=it.text, sha256=it.sha256, encoded=r is not None,
                automatable=r.spec.automatable if r else True, not_automatable_reason=r.spec.not_automatable_reason if r else None,
                rule_file=r.where if r else None, rule_ids=[b.rule_id for b in branches], branches=branches,
                positive=sum(c.case.polarity == "positive" for c in cases), negative=sum(c.case.polarity == "negative" for c in cases),
                other=sum(c.case.polarity == "other" for c in cases),
                cases=[CaseRef(name=c.case.name, where=c.where, expect=c.case.expect, branches=c.case.branches) for c in cases]))
        out.append(ArticleReport(pinpoint=group_pin, label=group_label, lead=lead,
                                 applies_to=list(_sectors(inp, group_pin)), items=items))
    return out


def _attach(articles: list[ArticleReport], checks: list[Check]) -> None:
    """Give each item the problems that name it, so the HTML shows them beside the clause."""
    by_item = {it.pinpoint: it for a in articles for it in a.items}
    for chk in checks:
        for p in chk.problems:
            for name in {n.split("#")[0] for n in [p.item or "", *p.related]}:
                if name in by_item:
                    by_item[name].problems.append(p)
    for it in by_item.values():
        it.status = _worst([p.level for p in it.problems] + (["fail"] if not it.encoded else []))


def _audit_standard(std: str, inp: _Inputs, index: LawIndex) -> StandardReport:
    s = _standard_facts(std, inp)
    counts = Counts()
    checks = [*_coverage(s, inp, counts), *_fidelity(s, inp, index), _std_citations(s, inp, index),
              *_consistency(s, inp, index)]
    articles = _article_reports(s, inp, index)
    _attach(articles, checks)
    counts.failures = sum(p.level == "fail" for c in checks for p in c.problems)
    counts.warnings = sum(p.level == "warn" for c in checks for p in c.problems)
    src = s.src
    return StandardReport(id=std, title=src.title if src else std, doc_number=str(src.meta.get("doc_number", "")) if src else "",
                          status=_worst(c.status for c in checks), counts=counts, checks=checks, articles=articles)


def run_audit(root: Path) -> AuditReport:
    """Audit the knowledge base at root; never raises for a broken knowledge base, reports it."""
    root = Path(root)
    inp = _load(root)
    index = LawIndex.build(inp.sources, inp.graph)
    compile_check, version = _compile(root)
    standards = _standards(inp)

    law = [p for doc, src in inp.sources.items() if doc not in standards for p in _law_fidelity(doc, src, inp)]
    fixture_cites, fixture_problems = _fixture_citations(root)
    leftover = [(c.case.criterion, c.where) for c in inp.cases
                if c.case.criterion.split("/")[0] not in standards and c.folder not in standards]
    leftover += [(r.spec.criterion, r.where) for r in inp.rules
                 if r.spec.criterion.split("/")[0] not in standards and r.standard not in standards]
    leftover += [(rf.standard, rf.file) for rf in inp.rule_files if rf.standard not in standards]
    other_cites = _ontology_citations(inp) + fixture_cites + leftover
    checks = [
        _check("load.sources", "Legal sources parse", inp.load.get("sources", []), f"{len(inp.sources)} documents"),
        _check("load.ontology", "Ontology Turtle files parse", inp.load.get("ontology", []),
               f"{len(inp.graph)} triples"),
        _check("load.rules", "Rule files and entries are well-formed", inp.load.get("rules", []), f"{len(inp.rules)} entries"),
        _check("load.cases", "Test cases are well-formed", inp.load.get("cases", []), f"{len(inp.cases)} cases"),
        compile_check,
        _check("fidelity.law", "Generated law Turtle of statutes and interpretations = their sources", law,
               f"{len([d for d in inp.sources if d not in standards])} documents"),
        _check("citations.ontology", "Pinpoints in the ontology, fixtures and unfiled rules/cases exist",
               _cite_all(other_cites, index) + fixture_problems, f"{len(other_cites)} citations"),
        _shacl(inp) if not inp.load.get("ontology") else _check(
            "consistency.shacl", "SHACL shapes over the merged ontology",
            [Problem(message="skipped: the ontology does not parse (see load.ontology)")]),
    ]
    if not standards:
        checks[1].problems.append(Problem(message="no document is typed hk:Standard in the ontology: nothing to audit"))
        checks[1].status = "fail"
    reports = [_audit_standard(std, inp, index) for std in standards]
    status = _worst([c.status for c in checks] + [r.status for r in reports])
    files = inp.files + _fixture_files(root)
    return AuditReport(root=str(root), generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       inputs_sha256=inputs_digest(root, files), kb_version=version, status=status, ok=status != "fail",
                       checks=checks, standards=reports)

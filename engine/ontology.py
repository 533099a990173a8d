"""Read the OWL ontology (Turtle) into plain, immutable Python structures.

Only graph traversal is used here (no SPARQL parsing), so the result can be built once at start-up
and shared by threads. Each vocabulary file is also read on its own so that a name defined in two
files is reported instead of silently merged.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

HK = Namespace("https://w3id.org/hazard-kb/ontology#")
LAW = "https://w3id.org/hazard-kb/law/"

RESERVED_NAMES = {"id", "sid", "ref", "t", "class", "cls"}
_NUMERIC = {XSD.decimal: "number", XSD.double: "number", XSD.float: "number",
            XSD.integer: "integer", XSD.nonNegativeInteger: "integer", XSD.int: "integer"}


class OntologyError(ValueError):
    """The ontology files are inconsistent in a way that makes the knowledge base unusable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("ontology problems:\n- " + "\n- ".join(problems))


@dataclass(frozen=True)
class ClassDef:
    name: str
    label: str
    synonyms: tuple[str, ...]
    ancestors: tuple[str, ...]  # the class itself and every superclass, nearest first
    governed_by: tuple[str, ...]  # other regimes (工贸 第二条) this kind of object belongs to
    source: str
    indicates: tuple[str, ...] = ()  # sectors an object of this class shows the enterprise to be in


@dataclass(frozen=True)
class PropertyDef:
    name: str
    label: str
    kind: str  # boolean | number | integer | enum | relation | device
    unit: str | None
    allowed: tuple[str, ...]
    question: str
    observed_on: tuple[str, ...]
    target: str | None  # range class for relation / device
    synonyms: tuple[str, ...]
    source: str
    ratio_of: tuple[str, str] | None = None  # (numerator, denominator): a ratio the engine computes from two figures

    @property
    def ratio_scale(self) -> int:
        """100 for a percentage, 1000 for ‰, 1 for 倍."""
        return {"%": 100, "‰": 1000}.get(self.unit or "", 1)


@dataclass(frozen=True)
class Sector:
    name: str
    label: str
    kind: str  # industry | regime | other
    sector: str | None = None  # for an other regime: the sector whose standard judges it (hk:regimeSector)
    synonyms: tuple[str, ...] = ()  # hk:synonym: other names an inspector may declare it by (突出矿井)
    shown_by: tuple[tuple[str, Any], ...] = ()  # (property, value) an observation states it by (hk:shownBy)


@dataclass(frozen=True)
class Provision:
    pinpoint: str
    kind: str  # article | criterion | item | paragraph | section
    doc: str
    label: str
    ordinal: str
    number: int
    text: str
    sha256: str
    article: str | None  # the article's pinpoint, for items and paragraphs


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    kind: str  # standard | statute | interpretation | document
    doc_number: str
    issuer: str
    effective: date | None
    status: str
    provenance: str
    source_file: str
    official_item_count: int | None
    statutory_basis: tuple[str, ...]
    repeals: tuple[str, ...]
    assumed_effective: date | None = None  # when the sources give no date; see date_assumption
    date_assumption: str = ""
    governs_regimes: tuple[str, ...] = ()  # other regimes (工贸 第二条) whose hazards are judged under this document
    text_incomplete: str = ""  # what of the text is not in the sources (hk:textIncomplete); empty when complete

    @property
    def in_force_from(self) -> date | None:
        return self.effective or self.assumed_effective


@dataclass
class Ontology:
    classes: dict[str, ClassDef]
    properties: dict[str, PropertyDef]
    sectors: dict[str, Sector]
    documents: dict[str, Document]
    provisions: dict[str, Provision]
    applies_to: dict[str, tuple[str, ...]]  # provision pinpoint -> sector names
    defers_to: dict[str, tuple[str, ...]]  # provision pinpoint -> other-regime names
    triple_count: int
    files: tuple[str, ...]
    class_aliases: dict[str, str] = field(default_factory=dict)  # label/synonym -> name
    property_aliases: dict[str, str] = field(default_factory=dict)
    sector_aliases: dict[str, str] = field(default_factory=dict)
    # read by every normalisation, so indexed once at load: the computed ratios, and the sectors an observation states
    ratios: tuple[PropertyDef, ...] = ()
    shown_by: dict[str, tuple[tuple[str, Any], ...]] = field(default_factory=dict)  # property -> (sector, value)
    _criteria: dict[str | None, tuple[Provision, ...]] = field(default_factory=dict, repr=False, compare=False)

    def criteria(self, doc: str | None = None) -> list[Provision]:
        """The criteria of a document (or of all), in document order. Called several times per determination, so
        computed once: the ontology does not change after loading."""
        if doc not in self._criteria:
            self._criteria[doc] = tuple(sorted(
                (p for p in self.provisions.values() if p.kind == "criterion" and (doc is None or p.doc == doc)),
                key=lambda p: (p.doc, pinpoint_order(p.pinpoint)),
            ))
        return list(self._criteria[doc])

    def is_a(self, cls: str, ancestor: str) -> bool:
        return ancestor in self.classes[cls].ancestors

    def applicability(self, pinpoint: str) -> tuple[str, ...]:
        """Sectors of an item: its own, else its article's or division's, else its document's."""
        prov = self.provisions[pinpoint]
        return (self.applies_to.get(pinpoint) or self.applies_to.get(prov.article or "")
                or self.applies_to.get(prov.doc, ()))

    def applies(self, pinpoint: str, sectors) -> bool:
        """Whether an item applies to an enterprise of these sectors: it must be in its document's scope
        (工贸 items are for 工贸 enterprises), and in the item's own sectors where it has them."""
        sectors = set(sectors)
        prov = self.provisions[pinpoint]
        scope = self.applies_to.get(prov.doc)
        if scope and not sectors & set(scope):
            return False
        own = self.applies_to.get(pinpoint) or self.applies_to.get(prov.article or "")
        return not own or bool(sectors & set(own))


def pinpoint_order(pinpoint: str) -> tuple[int, ...]:
    """Document order of a pinpoint: art4/item2 < art4/item10 < art5; part1/sec2/item3 < part2/sec1/item1."""
    return tuple(int(n) for n in re.findall(r"\d+", pinpoint.split("/", 1)[1])) if "/" in pinpoint else ()


def ontology_files(root: Path) -> list[Path]:
    onto = root / "ontology"
    return [onto / "core.ttl", onto / "applicability.ttl", *sorted((onto / "vocab").glob("*.ttl")),
            *sorted((onto / "law").glob("*.ttl"))]


def local(node) -> str:
    s = str(node)
    return s.split("#", 1)[1] if "#" in s else s.rsplit("/", 1)[-1]


def _zh(g: Graph, node, prop=RDFS.label) -> str:
    values = list(g.objects(node, prop))
    for v in values:
        if isinstance(v, Literal) and v.language == "zh":
            return str(v)
    return str(values[0]) if values else ""


def _all_zh(g: Graph, node, prop) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in g.objects(node, prop) if isinstance(v, Literal) and v.language in ("zh", None)))


def load_ontology(root: Path) -> Ontology:
    files = ontology_files(root)
    g = Graph()
    problems: list[str] = []
    defined_in: dict[str, list[str]] = defaultdict(list)
    for path in files:
        part = Graph()
        try:
            part.parse(path, format="turtle")
        except Exception as exc:  # a syntax error names the file and line
            problems.append(f"{path.relative_to(root)}: cannot parse Turtle: {exc}")
            continue
        rel = str(path.relative_to(root))
        for s in set(part.subjects(RDF.type, None)):
            if isinstance(s, URIRef) and str(s).startswith(str(HK)):
                if any(part.triples((s, RDF.type, t)) for t in (OWL.Class, OWL.DatatypeProperty, OWL.ObjectProperty)):
                    defined_in[local(s)].append(rel)
        g += part
    for name, where in defined_in.items():
        if len(where) > 1:
            problems.append(f"hk:{name} is defined in more than one file: {', '.join(where)}")
    if problems:
        raise OntologyError(problems)

    classes = _classes(g, defined_in, problems)
    properties = _properties(g, classes, defined_in, problems)
    sectors = _sectors(g)
    documents = _documents(g)
    provisions = _provisions(g)
    applies_to: dict[str, list[str]] = defaultdict(list)
    defers_to: dict[str, list[str]] = defaultdict(list)
    for s, o in g.subject_objects(HK.appliesTo):
        applies_to[str(s)[len(LAW):]].append(local(o))
    for s, o in g.subject_objects(HK.defersTo):
        defers_to[str(s)[len(LAW):]].append(local(o))
    for pin in list(applies_to) + list(defers_to):
        if pin not in provisions and pin not in documents:
            problems.append(f"applicability names an unknown provision {pin}")
    onto = Ontology(
        classes, properties, sectors, documents, provisions,
        {k: tuple(sorted(v)) for k, v in applies_to.items()},
        {k: tuple(sorted(v)) for k, v in defers_to.items()},
        len(g), tuple(str(p.relative_to(root)) for p in files),
    )
    onto.class_aliases = _aliases({c.name: (c.label, *c.synonyms) for c in classes.values()}, "class", problems)
    onto.property_aliases = _aliases({p.name: (p.label, *p.synonyms) for p in properties.values()}, "property", problems)
    onto.sector_aliases = _aliases({s.name: (s.label, *s.synonyms) for s in sectors.values()}, "sector", problems)
    onto.ratios = tuple(p for p in properties.values() if p.ratio_of)
    shown: dict[str, list[tuple[str, Any]]] = {}
    for s in sectors.values():
        for prop, value in s.shown_by:
            shown.setdefault(prop, []).append((s.name, value))
    onto.shown_by = {prop: tuple(v) for prop, v in sorted(shown.items())}
    if problems:
        raise OntologyError(problems)
    return onto


def _aliases(names: dict[str, tuple[str, ...]], what: str, problems: list[str]) -> dict[str, str]:
    """Map every label and synonym to its name; a label shared by two names is ambiguous."""
    out: dict[str, str] = {}
    ambiguous: set[str] = set()
    for name, labels in names.items():
        for label in labels:
            if not label or label == name:
                continue
            if label in out and out[label] != name:
                ambiguous.add(label)
            out.setdefault(label, name)
    for label in sorted(ambiguous):
        owners = sorted(n for n, labels in names.items() if label in labels)
        # a synonym may be shared; a primary label may not
        if sum(1 for n in owners if names[n][0] == label) > 1:
            problems.append(f"{what} label {label!r} is used by {', '.join(owners)}: labels must be unique")
        out.pop(label, None)
    return out


def _classes(g: Graph, defined_in, problems) -> dict[str, ClassDef]:
    names = {local(c) for c in g.subjects(RDF.type, OWL.Class) if str(c).startswith(str(HK))}
    site = {n for n in names if _reaches(g, HK[n], HK.SiteObject)}
    out = {}
    for n in sorted(site):
        ancestors = _ancestors(g, HK[n])
        label = _zh(g, HK[n])
        if not label:
            problems.append(f"class hk:{n} has no rdfs:label@zh")
        out[n] = ClassDef(
            n, label, _all_zh(g, HK[n], HK.synonym), ancestors,
            tuple(sorted(local(o) for a in ancestors for o in g.objects(HK[a], HK.governedBy))),
            (defined_in.get(n) or ["?"])[0],
            tuple(sorted(local(o) for a in ancestors for o in g.objects(HK[a], HK.indicatesSector))),
        )
    return out


def _reaches(g: Graph, node, target) -> bool:
    return target in _ancestors_nodes(g, node)


def _ancestors_nodes(g: Graph, node) -> list:
    seen, order, queue = set(), [], [node]
    while queue:
        cur = queue.pop(0)
        if cur in seen:
            continue
        seen.add(cur)
        order.append(cur)
        queue.extend(sorted(o for o in g.objects(cur, RDFS.subClassOf) if isinstance(o, URIRef)))
    return order


def _ancestors(g: Graph, node) -> tuple[str, ...]:
    return tuple(local(n) for n in _ancestors_nodes(g, node))


def _properties(g: Graph, classes: dict[str, ClassDef], defined_in, problems) -> dict[str, PropertyDef]:
    out = {}
    candidates = sorted({local(p) for t in (OWL.DatatypeProperty, OWL.ObjectProperty)
                         for p in g.subjects(RDF.type, t) if str(p).startswith(str(HK))})
    for n in candidates:
        node = HK[n]
        observed_on = tuple(sorted(local(o) for o in g.objects(node, HK.observedOn)))
        if not observed_on:
            continue  # meta-model property (legal documents), not an observation
        where = (defined_in.get(n) or ["?"])[0]
        if n in RESERVED_NAMES or n.startswith("isa_") or "__" in n:
            problems.append(f"{where}: property name hk:{n} is reserved (the engine uses it)")
        for c in observed_on:
            if c not in classes:
                problems.append(f"{where}: hk:{n} hk:observedOn unknown site class hk:{c}")
        rng = next(iter(g.objects(node, RDFS.range)), None)
        unit = next((str(u) for u in g.objects(node, HK.unit)), None)
        allowed = tuple(str(v) for v in sorted(g.objects(node, HK.allowedValue), key=str))
        target = None
        if (node, RDF.type, OWL.ObjectProperty) in g:
            target = local(rng) if rng is not None else None
            if target not in classes:
                problems.append(f"{where}: object property hk:{n} needs rdfs:range a site object or device class, got {target}")
                continue
            kind = "device" if "SafetyDevice" in classes[target].ancestors else "relation"
        elif rng == XSD.boolean:
            kind = "boolean"
        elif rng in _NUMERIC:
            kind = _NUMERIC[rng]
            if not unit:
                problems.append(f"{where}: numeric property hk:{n} needs hk:unit")
        elif rng == XSD.string and allowed:
            kind = "enum"
        else:
            problems.append(f"{where}: hk:{n} needs rdfs:range xsd:boolean, xsd:decimal, xsd:integer, "
                            f"or xsd:string with hk:allowedValue (got {rng})")
            continue
        label, question = _zh(g, node), _zh(g, node, HK.question)
        if not label or not question:
            problems.append(f"{where}: hk:{n} needs rdfs:label@zh and hk:question@zh")
        num, den = g.value(node, HK.ratioNumerator), g.value(node, HK.ratioDenominator)
        ratio_of = None
        if (num is None) != (den is None):
            problems.append(f"{where}: hk:{n} needs both hk:ratioNumerator and hk:ratioDenominator")
        elif num is not None:
            ratio_of = (local(num), local(den))
            if kind != "number" or unit not in ("%", "‰", "倍"):
                problems.append(f"{where}: hk:{n} is a ratio: it needs rdfs:range xsd:decimal and hk:unit %, ‰ or 倍")
        out[n] = PropertyDef(n, label, kind, unit, allowed, question, observed_on, target,
                             _all_zh(g, node, HK.synonym), where, ratio_of)
    for n, p in out.items():  # the figures a ratio is computed from: numbers observed on the same objects
        for part in p.ratio_of or ():
            q = out.get(part)
            if q is None or q.kind not in ("number", "integer"):
                problems.append(f"{p.source}: hk:{n} is a ratio of hk:{part}, which is not a numeric observation")
            elif not all(set(classes[c].ancestors) & set(q.observed_on) for c in p.observed_on if c in classes):
                problems.append(f"{p.source}: hk:{n} is observed on {', '.join(p.observed_on)} but hk:{part} only on "
                                f"{', '.join(q.observed_on)}")
    return out


def _sectors(g: Graph) -> dict[str, Sector]:
    kinds = {HK.Industry: "industry", HK.SpecialRegime: "regime", HK.OtherRegime: "other"}
    out = {}
    for cls, kind in kinds.items():
        for s in g.subjects(RDF.type, cls):
            target = g.value(s, HK.regimeSector)
            shown = tuple(sorted((local(g.value(b, HK.onProperty)), g.value(b, HK.hasValue).toPython())
                                 for b in g.objects(s, HK.shownBy)))
            out[local(s)] = Sector(local(s), _zh(g, s), kind, local(target) if target is not None else None,
                                   tuple(sorted(str(o) for o in g.objects(s, HK.synonym))), shown)
    return out


def _documents(g: Graph) -> dict[str, Document]:
    kinds = {HK.Standard: "standard", HK.Statute: "statute", HK.Interpretation: "interpretation"}
    out = {}
    for doc in g.subjects(RDF.type, HK.LegalDocument):
        did = str(doc)[len(LAW):]
        kind = next((k for t, k in kinds.items() if (doc, RDF.type, t) in g), "document")
        eff = g.value(doc, HK.effectiveDate)
        count = g.value(doc, HK.officialItemCount)
        out[did] = Document(
            did, _zh(g, doc), kind, str(g.value(doc, HK.docNumber) or ""), str(g.value(doc, HK.issuer) or ""),
            _as_date(eff), str(g.value(doc, HK.status) or ""),
            str(g.value(doc, HK.provenance) or ""), str(g.value(doc, HK.sourceFile) or ""),
            int(count) if count is not None else None,
            tuple(sorted(str(o)[len(LAW):] for o in g.objects(doc, HK.statutoryBasis))),
            tuple(sorted(str(o)[len(LAW):] for o in g.objects(doc, HK.repeals))),
            _as_date(g.value(doc, HK.assumedEffectiveDate)), _zh(g, doc, HK.dateAssumption),
            tuple(sorted(local(r) for r in g.subjects(HK.governedByStandard, doc))),
            _zh(g, doc, HK.textIncomplete),
        )
    return out


def _as_date(literal) -> date | None:
    if literal is None:
        return None
    value = literal.toPython()
    return value.date() if hasattr(value, "date") else value


def _provisions(g: Graph) -> dict[str, Provision]:
    # a whole article can be declared a criterion (城镇燃气 第八条): criterion takes precedence
    kinds = {HK.Criterion: "criterion", HK.Article: "article", HK.Division: "division", HK.Item: "item",
             HK.Paragraph: "paragraph", HK.InterpretationSection: "section", HK.Table: "table", HK.TableRow: "row"}
    out = {}
    for node in set(g.subjects(HK.pinpoint, None)):
        kind = next(k for t, k in kinds.items() if (node, RDF.type, t) in g)
        art = (g.value(node, HK.inArticle) or g.value(node, HK.inArticleOf) or g.value(node, HK.inDivision)
               or g.value(node, HK.inItem) or g.value(node, HK.inTable))
        pin = str(g.value(node, HK.pinpoint))
        out[pin] = Provision(
            pin, kind, str(g.value(node, HK.inDocument))[len(LAW):], _zh(g, node),
            str(g.value(node, HK.ordinal) or ""), int(g.value(node, HK.number) or 0),
            str(g.value(node, HK.verbatimText) or ""), str(g.value(node, HK.textSha256) or ""),
            str(art)[len(LAW):] if art is not None else None,
        )
    return out

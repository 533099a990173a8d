"""One document per criterion, built from the knowledge base, and the statistics the ranking model needs.

Fields of a criterion's document (weights in rank.FIELD_WEIGHTS):

- `item`: the verbatim item text, and the text of the sub-items its branches implement;
- `quote`: the quotes of its rule branches (the alternatives joined by 或者, and the interpretation's 判定情形);
- `vocab`: labels and `hk:synonym`s of the site objects its conditions are about (the subject class and its
  subclasses: 炉底 is one of the 6 类区域), of the indicators they observe, of the devices and related objects, and
  the enumeration values tested, plus their concept terms (`@Name`, see vocabulary.py);
- `jiedu`: the interpretation section (解读) a branch has as `basis:`;
- `article`: the article's lead-in (冶金企业有下列情形之一的), which names the sector.

Built once per compiled knowledge base: kept in memory per content hash and cached on disk next to the compiled KB
(same folder and switches as engine/compiler.py), keyed by the KB's content hash and this package's code and data.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jieba

from hazard_kb import __version__

from ..compiler import CompiledKB, _cache_dir
from ..ontology import Ontology
from .tokenize import Tokenizer, char_bigrams
from .vocabulary import CONCEPT_PREFIX, GENERIC_CLASSES, Vocabulary, build_vocabulary

FIELDS = ("item", "quote", "vocab", "jiedu", "article")
MAX_SUBCLASSES = 30  # a subject with more subclasses than this is generic (场所): its subclasses say nothing
INDEX_FORMAT = 1


@dataclass
class Doc:
    pinpoint: str
    standard: str
    encoded: bool
    fields: dict[str, Counter]  # field -> term -> count
    lengths: dict[str, int]
    bigrams: frozenset[str]
    concepts: frozenset[str]  # class and property names the document is about


@dataclass
class Index:
    kb_hash: str
    docs: list[Doc]
    df: dict[str, int]  # term -> number of documents containing it (any field)
    bigram_df: dict[str, int]
    avg_len: dict[str, float]
    vocabulary: Vocabulary
    words: tuple[str, ...]  # the tokenizer's user dictionary (vocabulary words + legal terms)
    include_jiedu: bool = True
    postings: dict[str, list[int]] = field(default_factory=dict)  # term -> doc numbers

    @property
    def n(self) -> int:
        return len(self.docs)

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def bigram_idf(self, gram: str) -> float:
        df = self.bigram_df.get(gram, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))


def criterion_sources(kb: CompiledKB, pinpoint: str, include_jiedu: bool = True) -> dict[str, list[str]]:
    """The texts of each field of a criterion's document, and its concept names under key `concepts`."""
    onto = kb.ontology
    prov = onto.provisions[pinpoint]
    out: dict[str, list[str]] = {f: [] for f in FIELDS}
    out["concepts"] = []
    out["item"].append(prov.text)
    if prov.article and prov.article in onto.provisions:
        art = onto.provisions[prov.article]
        lead = art.text.split("\n", 1)[0] if art.kind != "criterion" else ""
        if art.kind in ("item", "criterion"):  # a sub-item: its item is the context
            lead = art.text
        out["article"].append(lead)
    crit = kb.criteria.get(pinpoint)
    if crit is None:
        return out
    concepts: dict[str, None] = {}
    for b in crit.branches:
        out["quote"].extend(b.quotes)
        if b.subitem and b.subitem in onto.provisions:
            out["item"].append(onto.provisions[b.subitem].text)
        if b.basis and include_jiedu and b.basis in onto.provisions:
            section = onto.provisions[b.basis]
            if section.text not in out["jiedu"]:
                out["jiedu"].append(section.text)
        for name in subject_classes(onto, b.subject):
            if name not in GENERIC_CLASSES:
                concepts[name] = None
        for c in b.conditions:
            for name in condition_concepts(onto, c):
                concepts[name] = None
            for v in _values(c):
                out["vocab"].append(v)
    for name in concepts:
        out["vocab"].extend(surface_forms(onto, name))
    out["concepts"] = list(concepts)
    return out


def subject_classes(onto: Ontology, subject: str) -> list[str]:
    """The subject class and, unless it is generic, its subclasses (a rule on a class matches every subclass)."""
    below = [c.name for c in onto.classes.values() if subject in c.ancestors and c.name != subject]
    return [subject, *(sorted(below) if len(below) <= MAX_SUBCLASSES else [])]


def condition_concepts(onto: Ontology, c) -> list[str]:
    """Properties a condition observes, the devices and related objects they point to (a device with the
    device classes above it, up to but excluding hk:SafetyDevice)."""
    if c.kind == "any":
        return [n for alt in c.alternatives for n in condition_concepts(onto, alt)]
    names: list[str] = []
    for ask in c.asks:
        path = ask.split("(")[-1].rstrip(")")
        for part in path.split("."):
            p = onto.properties.get(part)
            if p is None:
                continue
            names.append(p.name)
            if p.target and p.target in onto.classes:
                for a in onto.classes[p.target].ancestors:
                    if a in GENERIC_CLASSES:
                        break
                    names.append(a)
    return names


def surface_forms(onto: Ontology, name: str) -> list[str]:
    if name in onto.classes:
        c = onto.classes[name]
        return [c.label, *c.synonyms]
    p = onto.properties[name]
    return [p.label, *p.synonyms]


def _values(c) -> list[str]:
    if c.kind == "any":
        return [v for alt in c.alternatives for v in _values(alt)]
    values = c.value if isinstance(c.value, (list, tuple)) else [c.value]
    return [v for v in values if isinstance(v, str)]


def build_index(kb: CompiledKB, include_jiedu: bool = True) -> tuple[Index, Tokenizer]:
    onto = kb.ontology
    vocabulary = build_vocabulary(onto)
    tokenizer = Tokenizer(vocabulary.words)
    docs: list[Doc] = []
    for prov in onto.criteria():
        if onto.documents[prov.doc].kind != "standard":
            continue
        src = criterion_sources(kb, prov.pinpoint, include_jiedu)
        fields: dict[str, Counter] = {}
        for f in FIELDS:
            terms: list[str] = []
            for text in src[f]:
                terms.extend(tokenizer.terms(text))
                if f in ("item", "quote", "jiedu"):
                    terms.extend(vocabulary.concepts_in(text))
            if f == "vocab":
                terms.extend(CONCEPT_PREFIX + n for n in src["concepts"])
            fields[f] = Counter(terms)
        grams = frozenset(g for f in ("item", "quote", "vocab", "jiedu") for text in src[f] for g in char_bigrams(text))
        docs.append(Doc(prov.pinpoint, prov.doc, prov.pinpoint in kb.criteria, fields,
                        {f: sum(fields[f].values()) for f in FIELDS}, grams, frozenset(src["concepts"])))
    df: Counter = Counter()
    bigram_df: Counter = Counter()
    postings: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        terms = set().union(*(d.fields[f].keys() for f in FIELDS))
        df.update(terms)
        bigram_df.update(d.bigrams)
        for t in terms:
            postings.setdefault(t, []).append(i)
    avg = {f: (sum(d.lengths[f] for d in docs) / len(docs)) if docs else 0.0 for f in FIELDS}
    index = Index(kb.content_hash, docs, dict(df), dict(bigram_df), avg, vocabulary, tuple(sorted(tokenizer.words)),
                  include_jiedu, postings)
    return index, tokenizer


def _code_key(kb: CompiledKB, include_jiedu: bool) -> str:
    h = hashlib.sha256(f"{__version__}:{INDEX_FORMAT}:{jieba.__version__}:{kb.content_hash}:{include_jiedu}".encode())
    here = Path(__file__).parent
    for src in sorted([*here.glob("*.py"), *(here / "data").glob("*")]):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    return h.hexdigest()


def load_index(kb: CompiledKB, include_jiedu: bool = True) -> tuple[Index, Tokenizer]:
    """The index from the disk cache when it was built from the same KB and code, else built (and cached).
    The tokenizer is always rebuilt from the index's word list (jieba's dictionary is not worth pickling)."""
    folder = _cache_dir()
    if folder is None:
        return build_index(kb, include_jiedu)
    path = folder / f"match-{_code_key(kb, include_jiedu)[:40]}.pickle"
    try:
        with path.open("rb") as f:
            index = pickle.load(f)
        if isinstance(index, Index) and index.kb_hash == kb.content_hash:
            return index, Tokenizer(index.words)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
        pass
    index, tokenizer = build_index(kb, include_jiedu)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in sorted(folder.glob("match-*.pickle"), key=lambda p: p.stat().st_mtime)[:-8]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    return index, tokenizer

"""Compare two standards (e.g. 工贸 2017 → 2023): which items were added, removed, changed or kept.

Items are matched by meaning through the ontology: the site-object classes and observable properties
their rules are about, restricted to overlapping sectors; the verbatim text's similarity only breaks
ties and covers items without rules. The match is a reading aid for inspectors and trainers, with its
score and the shared vocabulary shown, never a legal equivalence.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import BaseModel

from .compiler import CompiledKB
from .determine import article_and_item

MATCH_THRESHOLD = 0.35
_ORDINAL = re.compile(r"^(（[零一二三四五六七八九十]+）|[零一二三四五六七八九十]+、|\d+[.．])")
_PUNCT = re.compile(r"[，。；：、（）“”\s]")


class DiffItem(BaseModel):
    pinpoint: str
    label: str
    text: str


class DiffEntry(BaseModel):
    change: Literal["unchanged", "changed", "added", "removed"]
    old: DiffItem | None = None
    new: DiffItem | None = None
    score: float | None = None
    shared_vocabulary: list[str] = []
    sectors: list[str] = []


class StandardDiff(BaseModel):
    old: str
    new: str
    counts: dict[str, int]
    entries: list[DiffEntry]


def _body(text: str) -> str:
    return _PUNCT.sub("", _ORDINAL.sub("", text))


def _vocabulary(kb: CompiledKB, pinpoint: str) -> set[str]:
    """Classes and properties the item's rules observe (nearest meaningful names, not engine fields)."""
    crit = kb.criteria.get(pinpoint)
    out: set[str] = set()
    for b in crit.branches if crit else ():
        out.add(b.subject)
        for c in b.conditions:
            for alt in c.alternatives or (c,):
                for ask in alt.asks:
                    out.update(p for p in re.split(r"[().]", ask.replace("installed(", "").replace("functional(", "")) if p)
    return out


def _item(kb: CompiledKB, pinpoint: str) -> DiffItem:
    prov = kb.ontology.provisions[pinpoint]
    article, item = article_and_item(kb, prov)
    return DiffItem(pinpoint=pinpoint, label=f"{article or ''}{item or ''}", text=prov.text)


def _score(kb: CompiledKB, a: str, b: str, vocab: dict[str, set[str]]) -> float:
    onto = kb.ontology
    if not set(onto.applicability(a)) & set(onto.applicability(b)):
        return 0.0
    text = difflib.SequenceMatcher(None, _body(onto.provisions[a].text), _body(onto.provisions[b].text)).ratio()
    va, vb = vocab[a], vocab[b]
    if va and vb:
        jaccard = len(va & vb) / len(va | vb)
        return round(0.7 * jaccard + 0.3 * text, 3)
    return round(text, 3)


def diff_standards(kb: CompiledKB, old: str, new: str) -> StandardDiff:
    onto = kb.ontology
    for doc in (old, new):
        if doc not in onto.documents or onto.documents[doc].kind != "standard":
            raise KeyError(doc)
    a_items = [p.pinpoint for p in onto.criteria(old)]
    b_items = [p.pinpoint for p in onto.criteria(new)]
    vocab = {p: _vocabulary(kb, p) for p in [*a_items, *b_items]}
    pairs = sorted(((_score(kb, a, b, vocab), a, b) for a in a_items for b in b_items), reverse=True)
    matched_a, matched_b, entries = set(), set(), []
    for score, a, b in pairs:
        if score < MATCH_THRESHOLD or a in matched_a or b in matched_b:
            continue
        matched_a.add(a)
        matched_b.add(b)
        same = _body(onto.provisions[a].text) == _body(onto.provisions[b].text)
        entries.append(DiffEntry(
            change="unchanged" if same else "changed", old=_item(kb, a), new=_item(kb, b), score=score,
            shared_vocabulary=sorted((onto.classes[n].label if n in onto.classes else onto.properties[n].label)
                                     for n in vocab[a] & vocab[b] if n in onto.classes or n in onto.properties),
            sectors=[onto.sectors[s].label for s in sorted(set(onto.applicability(a)) & set(onto.applicability(b)))]))
    entries += [DiffEntry(change="removed", old=_item(kb, a), sectors=[onto.sectors[s].label for s in onto.applicability(a)])
                for a in a_items if a not in matched_a]
    entries += [DiffEntry(change="added", new=_item(kb, b), sectors=[onto.sectors[s].label for s in onto.applicability(b)])
                for b in b_items if b not in matched_b]
    order = {p: i for i, p in enumerate(b_items + a_items)}
    entries.sort(key=lambda e: order[(e.new or e.old).pinpoint])
    counts = {k: sum(e.change == k for e in entries) for k in ("unchanged", "changed", "added", "removed")}
    return StandardDiff(old=old, new=new, counts=counts, entries=entries)

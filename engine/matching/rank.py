"""The ranking model: BM25F over jieba terms and concept terms, combined with character-bigram coverage.

BM25F (Robertson & Zaragoza): per document and query term, the term's count in each field is length-normalised
within the field and weighted by the field's weight, the weighted sum is saturated once (k1), and multiplied by
the term's inverse document frequency over the criteria. Fields (index.py) let an item's own words count more than
the words of its vocabulary or interpretation. The BM25F score is divided by what a document containing every
query term once in its item text would score, so it reads as "how much of the description the item covers", in
[0, 1].

Character bigrams make the model robust to words jieba does not know or cuts differently (油性油漆 vs 油性漆 share
油性): the share of the description's bigrams, weighted by their rarity over the criteria, that occur in the
document. Terms and bigrams that occur in no criterion (company names, places) count in the denominators with the
highest weight: the score says how much of what the description says an item covers.

score = W_BM25 · bm25_norm + (1 − W_BM25) · bigram_coverage, in [0, 1]. The weights below were chosen on the
development set of bench/match_eval.py (the names of the rule test cases), never on the evaluation set.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .index import FIELDS, Index
from .tokenize import Tokenizer, char_bigrams

FIELD_WEIGHTS = {"item": 3.0, "quote": 1.5, "vocab": 1.0, "jiedu": 0.7, "article": 0.5}
FIELD_B = {"item": 0.6, "quote": 0.5, "vocab": 0.5, "jiedu": 0.75, "article": 0.3}
K1 = 1.2
W_BM25 = 0.4
CONCEPT_WEIGHT = 1.0  # a concept term weighs as a plain term (1.0 and 1.5 were equal on the development set)


@dataclass
class Query:
    text: str
    terms: Counter  # term -> weight in the query
    bigrams: frozenset[str]
    tokens: list[str]  # the precise cut, for display


@dataclass
class Scored:
    doc: int
    score: float
    bm25: float
    bigram: float
    matched: list[str] = field(default_factory=list)  # query terms found in the document, most informative first


def make_query(index: Index, tokenizer: Tokenizer, text: str) -> Query:
    tokens = tokenizer.tokens(text)
    terms: Counter = Counter()
    for t in tokenizer.terms(text):
        terms[t] = 1.0
    for c in index.vocabulary.concepts_in(text):
        terms[c] = CONCEPT_WEIGHT
    return Query(text, terms, frozenset(char_bigrams(text)), tokens)


def score(index: Index, query: Query, allowed: set[int] | None = None) -> list[Scored]:
    """Every document (or the allowed ones) with a positive score, best first."""
    candidates: set[int] = set()
    for t in query.terms:
        candidates.update(index.postings.get(t, ()))
    grams = [g for g in query.bigrams if index.bigram_df.get(g)]
    gram_idf = {g: index.bigram_idf(g) for g in grams}
    # character pairs no criterion has (a company's name, a place) still belong to what the description says
    gram_total = sum(gram_idf.values()) + index.bigram_idf("") * sum(1 for g in query.bigrams if not index.bigram_df.get(g))
    if grams:
        for i, d in enumerate(index.docs):
            if i not in candidates and any(g in d.bigrams for g in grams):
                candidates.add(i)
    if allowed is not None:
        candidates &= allowed
    ideal = _ideal(index, query)
    out = []
    for i in candidates:
        d = index.docs[i]
        bm25 = 0.0
        matched = []
        for t, qw in query.terms.items():
            tf = 0.0
            for f in FIELDS:
                n = d.fields[f].get(t)
                if n:
                    norm = 1 - FIELD_B[f] + FIELD_B[f] * (d.lengths[f] / index.avg_len[f] if index.avg_len[f] else 1)
                    tf += FIELD_WEIGHTS[f] * n / norm
            if tf:
                w = qw * index.idf(t) * tf * (K1 + 1) / (tf + K1)
                bm25 += w
                matched.append((w, t))
        bm25_norm = min(1.0, bm25 / ideal) if ideal else 0.0
        cover = sum(gram_idf[g] for g in grams if g in d.bigrams) / gram_total if gram_total else 0.0
        s = W_BM25 * bm25_norm + (1 - W_BM25) * cover
        if s > 0:
            out.append(Scored(i, round(s, 4), round(bm25_norm, 4), round(cover, 4),
                              [t for _, t in sorted(matched, reverse=True)]))
    out.sort(key=lambda s: (-s.score, -s.bm25, index.docs[s.doc].pinpoint))
    return out


def _ideal(index: Index, query: Query) -> float:
    """What a document containing each query term once in its item text would score (a term no criterion has
    counts with the highest weight: the description says something no item does)."""
    tf = FIELD_WEIGHTS["item"]
    sat = tf * (K1 + 1) / (tf + K1)
    return sum(qw * index.idf(t) * sat for t, qw in query.terms.items())

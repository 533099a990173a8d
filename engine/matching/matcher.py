"""Description → ranked candidate items: the index, the ranking model and the filters, built once per KB."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from ..compiler import CompiledKB
from ..determine import article_and_item, book_title, documents_in_force
from .index import Index, load_index
from .rank import Query, Scored, make_query, score
from .tokenize import Tokenizer

MIN_SCORE = 0.1  # below this a candidate shares only a word or two of the description


@dataclass(frozen=True)
class Candidate:
    pinpoint: str
    standard: str
    document: str
    doc_number: str
    article: str | None
    item: str | None
    text: str
    score: float
    bm25: float
    bigram: float
    matched: tuple[str, ...]
    encoded: bool

    @property
    def cited_as(self) -> str:
        return f"{self.document}{self.article or ''}{self.item or ''}"


class Matcher:
    def __init__(self, kb: CompiledKB, index: Index, tokenizer: Tokenizer):
        self.kb = kb
        self.index = index
        self.tokenizer = tokenizer
        self._by_doc: dict[str, set[int]] = {}
        for i, d in enumerate(index.docs):
            self._by_doc.setdefault(d.standard, set()).add(i)

    def query(self, text: str) -> Query:
        return make_query(self.index, self.tokenizer, text)

    def allowed(self, sectors: list[str] | None, as_of: date) -> set[int]:
        """Criteria of the standards in force on the date that apply to the sectors (all sectors when None)."""
        onto = self.kb.ontology
        docs = documents_in_force(self.kb, SimpleNamespace(as_of=as_of))
        out: set[int] = set()
        for d in docs:
            for i in self._by_doc.get(d, ()):
                if not sectors or onto.applies(self.index.docs[i].pinpoint, sectors):
                    out.add(i)
        return out

    def rank(self, text: str, sectors: list[str] | None = None, as_of: date | None = None, top: int = 5,
             min_score: float = MIN_SCORE) -> tuple[Query, list[Candidate]]:
        q = self.query(text)
        scored = score(self.index, q, self.allowed(sectors, as_of or date.today()))
        out = []
        for s in scored:
            if s.score < min_score or len(out) >= top:
                break
            out.append(self._candidate(s))
        return q, out

    def candidate(self, text: str, pinpoint: str, sectors: list[str] | None = None,
                  as_of: date | None = None) -> Candidate | None:
        """One item scored against the description (None when it is not in force or does not apply)."""
        i = next((n for n, d in enumerate(self.index.docs) if d.pinpoint == pinpoint), None)
        if i is None or i not in self.allowed(sectors, as_of or date.today()):
            return None
        scored = score(self.index, self.query(text), {i})
        return self._candidate(scored[0] if scored else Scored(i, 0.0, 0.0, 0.0))

    def _candidate(self, s) -> Candidate:
        onto = self.kb.ontology
        d = self.index.docs[s.doc]
        prov = onto.provisions[d.pinpoint]
        doc = onto.documents[prov.doc]
        article, item = article_and_item(self.kb, prov)
        return Candidate(d.pinpoint, d.standard, book_title(doc.title), doc.doc_number, article, item, prov.text,
                         s.score, s.bm25, s.bigram, tuple(s.matched[:12]), d.encoded)


_matchers: dict[tuple[str, bool], Matcher] = {}
_lock = threading.Lock()


def get_matcher(kb: CompiledKB, include_jiedu: bool = True) -> Matcher:
    """The matcher of a compiled KB, built on first use and kept for the life of the process (never per request)."""
    key = (kb.content_hash, include_jiedu)
    with _lock:
        m = _matchers.get(key)
        if m is None:
            index, tokenizer = load_index(kb, include_jiedu)
            m = _matchers[key] = Matcher(kb, index, tokenizer)
        return m

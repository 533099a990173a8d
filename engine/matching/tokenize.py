"""Chinese text → terms: jieba with a user dictionary generated from the knowledge base, plus stopwords.

The dictionary is jieba's own general one, extended with the labels and synonyms of the ontology and the terms in
`data/terms.txt`, so that 可燃气体浓度监测报警装置 or 锁气卸灰装置 stay one token; merges of the general dictionary
that cut across a description's words (喷漆车间内未设置 → 内未) are removed (`data/split.txt`). The tokenizer is a
private `jieba.Tokenizer`, never jieba's global one, so other users of jieba in the process are not affected.

`terms()` is what both the index and the queries use: the tokens of the precise cut, each long token followed by
the dictionary words inside it (可燃气体浓度监测报警装置 also gives 监测报警装置, 可燃气体 …), so that a description
naming a device by a shorter or longer name still shares terms with the item.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from importlib import resources
from typing import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)

_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65!-/:-@\[-`{-~·—…“”‘’、，。；：？！（）《》【】〔〕]+")
_KEEP = re.compile(r"[\u4e00-\u9fff]|[A-Za-z]")
SUBTERM_MIN = 2  # the shortest dictionary word taken from inside a longer token


def data_lines(name: str) -> list[str]:
    """The non-comment lines of a file in engine/matching/data/."""
    text = resources.files("hazard_kb.engine.matching").joinpath("data", name).read_text(encoding="utf-8")
    return [s.strip() for s in text.splitlines() if s.strip() and not s.lstrip().startswith("#")]


def normalize(text: str) -> str:
    """Full-width letters and digits to ASCII, °C to ℃, lower case; Chinese punctuation is kept (the extractor
    needs clause boundaries), spaces inside a sentence are dropped."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A or ch in "．％":
            ch = unicodedata.normalize("NFKC", ch)
        out.append(ch)
    text = "".join(out).replace("°C", "℃").replace("℃", "℃").replace("\u00a0", " ")
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text).lower()


class Tokenizer:
    """jieba over the knowledge base's vocabulary. Thread-safe for cutting once built (the dictionary is only read)."""

    def __init__(self, words: Iterable[str]):
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.stopwords = frozenset(data_lines("stopwords.txt"))
        self.words: set[str] = set()
        for w in sorted({normalize(w) for w in (*data_lines("terms.txt"), *words)}):
            if len(w) >= 2 and not _PUNCT.search(w):
                self._jieba.add_word(w)
                self.words.add(w)
        for w in data_lines("split.txt"):
            self._jieba.del_word(w)
        self._freq = self._jieba.FREQ
        self._inside_memo: dict[str, tuple[str, ...]] = {}

    def tokens(self, text: str) -> list[str]:
        """The precise cut without stopwords, punctuation and bare numbers."""
        return [t for t in self._cut(normalize(text)) if self._meaningful(t)]

    def terms(self, text: str) -> list[str]:
        """Tokens, each followed by the dictionary words inside it (for long tokens)."""
        out: list[str] = []
        for t in self.tokens(text):
            out.append(t)
            out.extend(self._inside(t))
        return out

    def is_word(self, w: str) -> bool:
        return self._freq.get(w, 0) > 0

    def _cut(self, text: str) -> list[str]:
        return [t for part in _PUNCT.split(text) if part for t in self._jieba.cut(part, HMM=True)]

    def _meaningful(self, t: str) -> bool:
        return bool(_KEEP.search(t)) and t not in self.stopwords

    def _inside(self, token: str) -> tuple[str, ...]:
        """Dictionary words strictly inside a token, longest first (memoised: tokens repeat across a register)."""
        if len(token) <= SUBTERM_MIN:
            return ()
        found = self._inside_memo.get(token)
        if found is None:
            n = len(token)
            seen: dict[str, None] = {}
            for size in range(n - 1, SUBTERM_MIN - 1, -1):
                for i in range(0, n - size + 1):
                    w = token[i:i + size]
                    if w not in seen and self.is_word(w) and self._meaningful(w):
                        seen[w] = None
            found = self._inside_memo[token] = tuple(seen)
        return found


def char_bigrams(text: str) -> list[str]:
    """Overlapping pairs of Chinese characters within runs of Chinese text (robust to words jieba does not know)."""
    out = []
    for run in re.findall(r"[\u4e00-\u9fff]+", normalize(text)):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out

"""What the ontology says about words: the names inspectors use for site objects and indicators.

Every class and property has a Chinese label and may have `hk:synonym`s (油性漆 for 使用非水性漆, 有水 for 存在积水,
报警器 for 监测报警装置). Two things are derived from them here, and nothing is hard-coded:

- the words the tokenizer must keep whole (labels, their parts split at 、 and 和, synonyms, enumeration values);
- *concepts*: every surface form (label, part of a label, synonym) points to the class or property it names. A
  description and an item that name the same thing with different words share the concept term `@Name`, which is
  how a synonym matches an item whose text uses the legal term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ontology import Ontology
from .tokenize import normalize

MAX_WORD = 16  # longer labels are sentences, not words: the tokenizer cuts them (their inside words still match)
MIN_FORM = 2  # a whole label or synonym (炉底, 有水)
MIN_PART = 3  # a part of a label: shorter parts are heads shared by everything (装置, 系统, 有效)
_SPLIT = re.compile(r"[、，,；;]|或者|以及")
_PAREN = re.compile(r"[（(][^（）()]*[）)]")
CONCEPT_PREFIX = "@"
# the top of the site-object hierarchy: naming them (企业, 场所, 设备) says nothing about which item is meant
GENERIC_CLASSES = frozenset({"SiteObject", "Enterprise", "Place", "Structure", "Equipment", "Material", "Activity",
                             "SafetyDevice"})


def label_parts(label: str) -> list[str]:
    """A label, the label without its parenthesised remarks, and its parts: 调漆间、喷漆室 → 调漆间、喷漆室, 调漆间,
    喷漆室; 吊篮安全锁（设置、有效） → 吊篮安全锁（设置、有效）, 吊篮安全锁; 紧急停车（ESD）系统 → …, 紧急停车系统."""
    label = normalize(label)
    bare = _PAREN.sub("", label).strip()
    out = [label]
    if bare and bare != label and len(bare) >= MIN_FORM:
        out.append(bare)
    for p in _SPLIT.split(bare):
        p = p.strip()
        if len(p) >= MIN_PART and p not in out:
            out.append(p)
    return out


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]  # for the tokenizer's dictionary
    forms: tuple[tuple[str, tuple[str, ...]], ...]  # surface form -> concept names, longest form first

    def concepts_in(self, text: str) -> list[str]:
        """Concept terms (@Name) for every surface form that occurs in the text. A form that occurs only inside a
        longer form already found (报警装置 inside 可燃气体浓度监测报警装置) still counts: the general concept is
        also named, and its low weight in the ranking reflects how many items share it."""
        text = normalize(text)
        out: dict[str, None] = {}
        for form, names in self.forms:
            if form in text:
                for n in names:
                    out[CONCEPT_PREFIX + n] = None
        return list(out)


def build_vocabulary(onto: Ontology) -> Vocabulary:
    forms: dict[str, set[str]] = {}
    words: set[str] = set()

    def add(name: str, surface: str, as_word: bool) -> None:
        for part in label_parts(surface):
            if len(part) < MIN_FORM:
                continue
            forms.setdefault(part, set()).add(name)
            if as_word and len(part) <= MAX_WORD:
                words.add(part)

    for c in onto.classes.values():
        if c.name in GENERIC_CLASSES:
            continue
        for s in (c.label, *c.synonyms):
            add(c.name, s, True)
    for p in onto.properties.values():
        noun = p.kind in ("device", "relation", "number", "integer", "enum")
        for s in (p.label, *p.synonyms):
            # a boolean's label is usually a clause (对故障电池采取有效物理隔离措施): a concept, but the tokenizer
            # should cut it like any sentence; its synonyms are the short colloquial names and are words
            add(p.name, s, noun or s != p.label or len(s) <= 6)
        for v in p.allowed:
            if len(v) >= MIN_FORM:
                words.add(normalize(v))
    ordered = tuple(sorted(((f, tuple(sorted(n))) for f, n in forms.items()), key=lambda x: (-len(x[0]), x[0])))
    return Vocabulary(tuple(sorted(words)), ordered)

"""Training quizzes generated from the rules, keyed by the engine, explained by the verbatim clause.

Every question is built from the compiled knowledge base, never written by hand:

- 判断题: a scenario (quiz_scenario) → "上述情形构成重大事故隐患" true or false. The key is the engine's verdict on
  the item the scenario was built for; a false statement is a near miss that the engine determines
  不构成 on that item, with no other item of any standard violated either.
- 单选题: a scenario in which the engine finds exactly one item violated → which item applies; the three
  distractors are other encoded items of the same standard and sector (items of the keyed item's own
  sectors, or items every enterprise of the standard is subject to) that apply to the scenario's
  enterprise, differ in text, and are not found violated by the engine in that scenario. Distractors from
  the same article make the question hard, none from it easy.
- 多选题: four independent scenarios of one standard → which are major hazards (the engine's verdicts).
- 数值题: a threshold the rules read from the text (9 人, 30 kPa, 3 米 …): the value of the compiled condition,
  asked only where the number is written in the quoted text and the engine confirms that the verdict
  flips there (violated just on the hazardous side, not violated just on the other side).

Selection: by standard, industry/regime (an item is selected when its own sectors include one of them, or,
having none of its own, when its standard's scope does), article, difficulty and kind; n questions; a seed makes the quiz
reproducible (same parameters, seed and knowledge base → the same questions); no scenario is used twice
in a quiz; 判断题 are balanced true/false.
"""

from __future__ import annotations

import difflib
import random
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .compiler import Branch, CompiledKB, Condition
from .determine import article_and_item, citation
from .inspection import ENTERPRISE_REF, InputProblem
from .quiz_scenario import (Scenario, ScenarioError, build_inspection, describe, enterprise_sectors, near_miss, positive,
                            near_misses_for_branch, positives_for_branch, value_text, variables)
from .result import Citation, CriterionResult

KINDS = ("判断题", "单选题", "多选题", "数值题")
KIND_ALIASES = {
    "判断题": "判断题", "判断": "判断题", "tf": "判断题", "truefalse": "判断题", "true_false": "判断题", "judgement": "判断题",
    "单选题": "单选题", "单选": "单选题", "single": "单选题", "single_choice": "单选题",
    "多选题": "多选题", "多选": "多选题", "multi": "多选题", "multiple": "多选题", "multiple_choice": "多选题",
    "数值题": "数值题", "数值": "数值题", "numeric": "数值题", "number": "数值题", "numerical": "数值题",
}
DIFFICULTIES = ("easy", "medium", "hard")
DIFFICULTY_ALIASES = {"easy": "easy", "易": "easy", "容易": "easy", "简单": "easy", "medium": "medium", "中": "medium",
                      "中等": "medium", "hard": "hard", "难": "hard", "困难": "hard"}
DIFFICULTY_ZH = {"easy": "易", "medium": "中", "hard": "难"}
DEFAULT_WEIGHTS = {"判断题": 0.4, "单选题": 0.3, "多选题": 0.15, "数值题": 0.15}
MAX_QUESTIONS = 100
TF_OPTIONS = (("A", "正确"), ("B", "错误"))
OP_ZH = {"==": "为", "!=": "不为", ">": "大于", ">=": "大于或等于", "<": "小于", "<=": "小于或等于", "in": "为", "not in": "不为"}
OP_BLANK = {">": "超过", ">=": "达到或超过", "<": "低于", "<=": "不超过"}
UNIT_ZH = {"m": "米", "mm": "毫米", "cm": "厘米", "km": "千米", "m2": "平方米", "m3": "立方米", "h": "小时", "d": "天",
           "min": "分钟", "s": "秒", "t": "吨", "kg": "千克", "L": "升", "kV": "千伏", "MW": "兆瓦", "kW": "千瓦",
           "μL/L": "微升/升", "MPa": "兆帕"}
ZH_DIGITS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}


class QuizInputError(ValueError):
    """Request parameters or answers that do not fit: every problem names its field."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))


# ------------------------------------------------------------------------------------------ models

class QuizParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standard: str | None = Field(default=None, description="标准 id，如 gongmao-2023（或标准名称）")
    industry: list[str] = Field(default_factory=list, max_length=20, description="行业（名称或中文标签），如 冶金")
    regime: list[str] = Field(default_factory=list, max_length=20, description="专项领域，如 粉尘涉爆")
    article: str | None = Field(default=None, max_length=200, description="条款：gongmao-2023/art11、art11 或 第十一条")
    difficulty: str | None = Field(default=None, description="easy | medium | hard（或 易/中/难）")
    kinds: list[str] = Field(default_factory=list, max_length=4, description="题型：判断题 单选题 多选题 数值题")
    n: int = Field(default=10, ge=1, le=MAX_QUESTIONS, description="题目数量")
    seed: int | None = Field(default=None, ge=0, le=2**53, description="随机种子；相同参数与种子生成相同的题目")


class Option(BaseModel):
    key: str
    text: str


class ScenarioRecord(BaseModel):
    """A scenario a question is about, and what the engine determined for it."""

    criterion: str
    rule: str
    variant: str  # positive | failed-device | near-miss
    broken: str | None = None
    inspection: dict
    verdict: str = Field(description="the engine's verdict on `criterion`")
    hazards: list[str] = Field(description="every item the engine found violated")


class QuestionPublic(BaseModel):
    id: str
    kind: str
    difficulty: str
    stem: str
    options: list[Option] = []
    unit: str | None = None
    answer_format: str


class Question(QuestionPublic):
    key: str = Field(description="identity of the question: a quiz never holds two with the same key")
    answer: Any = Field(description="判断题 bool; 单选题 a letter; 多选题 sorted letters; 数值题 a number")
    answer_text: str
    explanation: str
    citations: list[Citation]
    criteria: list[str] = Field(description="the items the question is about (单选题: the keyed item)")
    option_criteria: list[str] = Field(default=[], description="单选题: the item of each option; 多选题: the item of each option's scenario")
    scenarios: list[ScenarioRecord] = Field(default=[], description="判断/单选: one; 多选: one per option; 数值题: hazardous side, other side")
    threshold: dict | None = None

    def public(self) -> QuestionPublic:
        return QuestionPublic(**{k: getattr(self, k) for k in QuestionPublic.model_fields})


class Quiz(BaseModel):
    id: str
    seed: int
    kb_version: str
    params: QuizParams
    questions: list[Question]
    counts: dict[str, int]
    notes: list[str] = []


# ------------------------------------------------------------------------------------------ text helpers

def citation_text(c: Citation) -> str:
    where = f"{c.article or ''}{c.item or ''}"
    return f"{c.document}（{c.doc_number}）{where}：“{c.text}”"


def item_label(kb: CompiledKB, pinpoint: str) -> str:
    article, item = article_and_item(kb, kb.ontology.provisions[pinpoint])
    return f"{article or ''}{item or ''}"


def item_option_text(kb: CompiledKB, pinpoint: str) -> str:
    prov = kb.ontology.provisions[pinpoint]
    article, item = article_and_item(kb, prov)
    if item and prov.text.startswith(item):
        return f"{article or ''}{prov.text}"
    if article and not item and prov.text.startswith(article):
        return prov.text
    return f"{article or ''}{item or ''} {prov.text}".strip()


def standard_title(kb: CompiledKB, pinpoint: str) -> str:
    return f"《{kb.ontology.documents[pinpoint.split('/')[0]].title}》"


def _value_zh(kb: CompiledKB, prop: str, v: Any) -> str:
    p = kb.ontology.properties[prop]
    if isinstance(v, list):
        return "、".join(str(x) for x in v)
    if isinstance(v, bool):
        return "是" if v else "否"
    return f"{v}{p.unit or ''}" if p.kind in ("number", "integer") else str(v)


def condition_text(kb: CompiledKB, c: Condition) -> str:
    """A compiled condition in words, e.g. 作业人员数量大于9人; 固定式可燃气体浓度监测报警装置未设置或失效."""
    onto = kb.ontology
    if c.kind == "any":
        return "或者".join(condition_text(kb, a) for a in c.alternatives)
    (kind, name), = variables(c)
    label = onto.properties[name].label
    want = c.value if c.op == "==" else (not c.value if isinstance(c.value, bool) else c.value)
    if c.kind == "present":
        return label + ("已设置且正常有效" if want else "未设置或者失效")
    if c.field.endswith("__installed"):
        return label + ("已设置" if want else "未设置")
    if c.field.endswith("__functional"):
        return label + ("正常有效" if want else "失效")
    op = OP_ZH[c.op] + ("下列之一：" if c.op in ("in", "not in") else "")
    if c.kind == "list":
        prop = c.field.split("__", 1)[1]
        return f"{label}的{onto.properties[prop].label}{op}{_value_zh(kb, prop, c.value)}"
    if c.field.startswith("count__"):
        return f"{label}的数量{OP_ZH[c.op]}{c.value}"
    if c.field.startswith("distinct__"):
        prop = c.field.split("__")[2]
        return f"{label}涉及的不同{onto.properties[prop].label}的数量{OP_ZH[c.op]}{c.value}"
    if isinstance(c.value, bool):
        return f"{label}：{'是' if want else '否'}"
    return f"{label}{op}{_value_zh(kb, name, c.value)}"


def _evidence_text(kb: CompiledKB, evidence) -> str:
    parts = []
    for e in evidence:
        if e.property in kb.ontology.properties:
            who = "企业" if e.object == ENTERPRISE_REF else e.object
            parts.append(f"{who}的{e.label}：{value_text(kb, e.property, e.value)}")
    return "；".join(parts)


# ------------------------------------------------------------------------------------------ checked scenarios

@dataclass
class Checked:
    """A scenario with the engine's determination of it."""

    scenario: Scenario
    verdict: str  # of the scenario's criterion
    hazards: tuple[str, ...]  # every violated item
    item: CriterionResult
    lines: list[str]
    not_violated: frozenset[str] = frozenset()  # items of the applied standards the engine did not find violated

    @property
    def key(self) -> str:
        s = self.scenario
        return f"{s.rule_id}|{s.variant}|{s.broken or ''}"

    @property
    def keyed_positive(self) -> bool:
        return self.verdict == "violated"

    @property
    def usable_tf(self) -> bool:
        """True statement: the item is violated; false statement: not violated, and nothing else is either."""
        return self.verdict == "violated" or (self.verdict == "not_violated" and not self.hazards)

    def record(self) -> ScenarioRecord:
        s = self.scenario
        return ScenarioRecord(criterion=s.criterion, rule=s.rule_id, variant=s.variant, broken=s.broken,
                              inspection=s.inspection, verdict=self.verdict, hazards=list(self.hazards))


class Bank:
    """Scenarios per item, built and determined once per knowledge base and sector preference."""

    def __init__(self, engine):
        self.engine = engine
        self.kb: CompiledKB = engine.kb
        self._cache: dict[tuple, list[Checked]] = {}
        self._lock = threading.Lock()

    def check(self, s: Scenario) -> Checked | None:
        d = self.engine.determine(s.inspection)
        item = next((i for i in d.items if i.pinpoint == s.criterion), None)
        if item is None:
            return None
        return Checked(s, item.verdict, tuple(h.pinpoint for h in d.hazards), item, describe(self.kb, s.inspection),
                       frozenset(i.pinpoint for i in d.items if i.verdict != "violated"))

    def scenarios(self, pinpoint: str, prefer: tuple[str, ...] = ()) -> list[Checked]:
        """Every confirmed scenario of the item: positives (the item violated) and near misses (not violated)."""
        return self.positives(pinpoint, prefer) + self._part(pinpoint, prefer, "near")

    def positives(self, pinpoint: str, prefer: tuple[str, ...] = ()) -> list[Checked]:
        return self._part(pinpoint, prefer, "positive")

    def _part(self, pinpoint: str, prefer: tuple[str, ...], part: str) -> list[Checked]:
        kb = self.kb
        industries, regimes = enterprise_sectors(kb, pinpoint, prefer)
        key = (pinpoint, tuple(industries), tuple(regimes), part)  # bounded: items × the sectors they can be asked in
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        crit = kb.criteria[pinpoint]
        as_of = kb.ontology.documents[crit.standard].in_force_from or date.today()
        build = positives_for_branch if part == "positive" else near_misses_for_branch
        out = []
        for b in crit.branches:
            for s in build(kb, b, industries, regimes, as_of):
                checked = self.check(s)
                # keep only what the engine confirms: the item violated, or the near miss not violated
                if checked is not None and checked.verdict == s.expect:
                    out.append(checked)
        with self._lock:
            self._cache[key] = out
        return out


_banks: dict[str, Bank] = {}
_banks_lock = threading.Lock()


def bank_for(engine) -> Bank:
    with _banks_lock:
        bank = _banks.get(engine.kb.content_hash)
        if bank is None or bank.kb is not engine.kb:
            bank = _banks[engine.kb.content_hash] = Bank(engine)
        return bank


# ------------------------------------------------------------------------------------------ parameters

@dataclass
class Selection:
    criteria: list[str]
    sectors: tuple[str, ...]
    kinds: list[str]
    difficulty: str | None


def _suggest(raw: str, options) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(raw, list(options), n=3, cutoff=0.4))


def resolve(kb: CompiledKB, params: QuizParams) -> Selection:
    onto = kb.ontology
    problems: list[InputProblem] = []
    standards = sorted({c.standard for c in kb.criteria.values()})
    standard = None
    if params.standard:
        titles = {onto.documents[s].title: s for s in standards}
        standard = params.standard if params.standard in standards else titles.get(params.standard.strip("《》"))
        if standard is None:
            problems.append(InputProblem(("standard",), f"unknown standard {params.standard!r}",
                                         "one of " + ", ".join(standards), _suggest(params.standard, [*standards, *titles])))
    sectors = []
    for key, values, kind in (("industry", params.industry, "industry"), ("regime", params.regime, "regime")):
        for i, raw in enumerate(values):
            name = onto.sector_aliases.get(raw, raw)
            s = onto.sectors.get(name)
            if s is None or s.kind != kind:
                options = [x.label for x in onto.sectors.values() if x.kind == kind]
                problems.append(InputProblem((key, i), f"unknown {kind} {raw!r}", "one of " + "、".join(options),
                                             _suggest(raw, options)))
            else:
                sectors.append(name)
    article = None
    if params.article:
        article = _resolve_article(kb, params.article, standard, problems)
    difficulty = None
    if params.difficulty:
        difficulty = DIFFICULTY_ALIASES.get(params.difficulty.strip().lower())
        if difficulty is None:
            problems.append(InputProblem(("difficulty",), f"unknown difficulty {params.difficulty!r}",
                                         "easy, medium or hard (易、中、难)", _suggest(params.difficulty, DIFFICULTY_ALIASES)))
    kinds = []
    for i, raw in enumerate(params.kinds):
        k = KIND_ALIASES.get(raw.strip().lower()) or KIND_ALIASES.get(raw.strip())
        if k is None:
            problems.append(InputProblem(("kinds", i), f"unknown question kind {raw!r}", "判断题, 单选题, 多选题 or 数值题",
                                         _suggest(raw, KIND_ALIASES)))
        elif k not in kinds:
            kinds.append(k)
    if problems:
        raise QuizInputError(problems)
    chosen = []
    for pin in sorted(kb.criteria, key=lambda p: (kb.criteria[p].standard, _order(p))):
        crit = kb.criteria[pin]
        prov = onto.provisions[pin]
        if standard and crit.standard != standard:
            continue
        if article and not (pin == article or pin.startswith(article + "/")):
            continue
        if sectors:
            own = set(onto.applies_to.get(pin) or onto.applies_to.get(prov.article or "") or ())
            scope = set(onto.applies_to.get(prov.doc) or ())
            if not (own & set(sectors) if own else scope & set(sectors)):
                continue
        chosen.append(pin)
    if not chosen:
        what = ", ".join(f"{k}={v}" for k, v in params.model_dump(include={"standard", "industry", "regime", "article"}).items() if v)
        raise QuizInputError([InputProblem(("body",), f"no encoded item matches {what}",
                                           "a standard, sectors and article that share at least one item")])
    return Selection(chosen, tuple(sectors), kinds or list(KINDS), difficulty)


def _order(pin: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", pin.split("/", 1)[1])) if "/" in pin else ()


def _resolve_article(kb: CompiledKB, raw: str, standard: str | None, problems: list[InputProblem]) -> str | None:
    onto = kb.ontology
    raw = raw.strip()
    if "/" in raw:
        if raw in onto.provisions or any(p.startswith(raw + "/") for p in kb.criteria):
            return raw
        problems.append(InputProblem(("article",), f"unknown article {raw!r}", "a pinpoint such as gongmao-2023/art11",
                                     _suggest(raw, {p.rsplit('/', 1)[0] for p in kb.criteria})))
        return None
    matches = []
    for p in onto.provisions.values():
        if p.kind not in ("article", "division", "criterion") or p.doc not in {c.standard for c in kb.criteria.values()}:
            continue
        if standard and p.doc != standard:
            continue
        if p.ordinal == raw or p.pinpoint.split("/", 1)[-1] == raw or p.label == raw:
            if any(c == p.pinpoint or c.startswith(p.pinpoint + "/") for c in kb.criteria):
                matches.append(p.pinpoint)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        problems.append(InputProblem(("article",), f"article {raw!r} is in several standards: {', '.join(sorted(matches))}",
                                     "a full pinpoint, or give `standard` as well", tuple(sorted(matches))[:3]))
        return None
    problems.append(InputProblem(("article",), f"unknown article {raw!r}" + (f" in {standard}" if standard else ""),
                                 "a pinpoint (gongmao-2023/art11), art11 with a standard, or 第十一条",
                                 _suggest(raw, {p.rsplit('/', 1)[0] for p in kb.criteria})))
    return None


# ------------------------------------------------------------------------------------------ question builders

def _scenario_explanation(kb: CompiledKB, ch: Checked) -> tuple[str, list[Citation]]:
    """Why the engine decided as it did for the scenario's item, quoting the clause."""
    s = ch.scenario
    b = kb.branch(s.rule_id)
    cites = [citation(kb, s.criterion, "判定情形")]
    lines = [f"依据：{citation_text(cites[0])}"]
    sub = getattr(b, "subitem", None)
    if sub:
        cites.append(citation(kb, sub, "判定情形所列具体情形"))
    if b.basis:
        c = citation(kb, b.basis, "判定情形细化（解读），作为执行口径")
        cites.append(c)
        doc = kb.ontology.documents[b.basis.split("/")[0]]
        lines.append(f"执行口径：{doc.title}（{doc.doc_number}）{kb.ontology.provisions[b.basis].label[:40]}……：“{'；'.join(b.quotes)}”")
    item = ch.item
    if ch.verdict == "violated":
        f = next((f for f in item.findings if f.branch == b.branch), item.findings[0])
        for c in f.cites:
            if all(c.pinpoint != x.pinpoint for x in cites):
                cites.append(c)
                if c.pinpoint != s.criterion and c.article and c.role and "失效" in c.role:
                    lines.append(f"{c.article}：“{c.text}”")
        lines.append(f"引擎判定：构成重大事故隐患，符合“{'；'.join(f.quote)}”。证据：{_evidence_text(kb, f.evidence)}。")
    else:
        broken = next((c for c in b.conditions if c.text == s.broken), None)
        why = next((r for r in item.not_violated_because if r.branch == b.branch), None)
        seen = _evidence_text(kb, why.evidence) if why else ""
        lines.append(f"引擎判定：就本项而言不构成重大事故隐患。本情形不满足“{condition_text(kb, broken) if broken else s.broken}”"
                     + (f"（观察：{seen}）" if seen else "") + "；本项其他情形也均不成立。")
    return "\n".join(lines), cites


def tf_question(kb: CompiledKB, ch: Checked) -> Question:
    title = standard_title(kb, ch.scenario.criterion)
    stem = f"依据{title}，检查发现：\n" + "\n".join(ch.lines) + "\n判断：上述情形构成重大事故隐患。"
    answer = ch.verdict == "violated"
    explanation, cites = _scenario_explanation(kb, ch)
    return Question(id="", kind="判断题", difficulty=ch.scenario.difficulty, stem=stem,
                    options=[Option(key=k, text=t) for k, t in TF_OPTIONS], answer_format="正确 or 错误 (true/false)",
                    key=f"判断题|{ch.key}", answer=answer, answer_text="正确" if answer else "错误",
                    explanation=f"答案：{'正确' if answer else '错误'}。\n{explanation}", citations=cites,
                    criteria=[ch.scenario.criterion], scenarios=[ch.record()])


def _own_sectors(kb: CompiledKB, pin: str) -> tuple[str, ...]:
    """The sectors an item itself (or its article) is limited to; () for an item of every enterprise in scope."""
    onto = kb.ontology
    return onto.applies_to.get(pin) or onto.applies_to.get(onto.provisions[pin].article or "") or ()


def _same_article(kb: CompiledKB, a: str, b: str) -> bool:
    return kb.ontology.provisions[a].article == kb.ontology.provisions[b].article


def single_question(kb: CompiledKB, ch: Checked, rng: random.Random, difficulty: str | None) -> Question | None:
    """Which item applies: the engine found exactly this item violated; three other real items of the same
    standard that apply to the enterprise and that the engine did not find violated are the distractors."""
    onto = kb.ontology
    pin = ch.scenario.criterion
    if ch.verdict != "violated" or ch.hazards != (pin,):
        return None
    std = kb.criteria[pin].standard
    ent = ch.scenario.inspection["enterprise"]
    sectors = [*ent["industries"], *ent.get("regimes", [])]
    text = onto.provisions[pin].text
    own = set(_own_sectors(kb, pin))
    # the same standard and sector: items of the item's own sectors, and the items every enterprise of the
    # standard is subject to; each applies to the enterprise, differs in text, and is not found violated
    pool = [p for p in kb.criteria if p != pin and kb.criteria[p].standard == std and onto.applies(p, sectors)
            and p in ch.not_violated and onto.provisions[p].text != text
            and (not _own_sectors(kb, p) or set(_own_sectors(kb, p)) & own or not own)]
    same_art = sorted(p for p in pool if _same_article(kb, p, pin))
    same_sector = sorted(p for p in pool if p not in same_art and set(_own_sectors(kb, p)) == own)
    rest = sorted(p for p in pool if p not in same_art and p not in same_sector)
    modes = {"hard": (2, 3), "medium": (1, 1), "easy": (0, 0)}
    wanted = [difficulty] if difficulty else list(modes)
    rng.shuffle(wanted)
    for mode in wanted:
        lo, hi = modes[mode]
        k = min(hi, len(same_art))
        if k < lo:
            continue
        others = same_sector + rest
        if len(others) < 3 - k:
            continue
        picks = rng.sample(same_art, k) + _sample_texts(rng, others, same_sector, 3 - k, kb)
        texts = {onto.provisions[p].text for p in picks}
        if len(picks) != 3 or len(texts) != 3:
            continue
        level = max(mode, ch.scenario.difficulty, key=DIFFICULTIES.index)
        if difficulty and level != difficulty:
            continue
        options = picks + [pin]
        rng.shuffle(options)
        keys = "ABCD"
        answer = keys[options.index(pin)]
        explanation, cites = _scenario_explanation(kb, ch)
        stem = (f"依据{standard_title(kb, pin)}，检查发现：\n" + "\n".join(ch.lines)
                + "\n上述情形属于下列哪一项重大事故隐患判定情形？")
        return Question(id="", kind="单选题", difficulty=level, stem=stem,
                        options=[Option(key=keys[i], text=item_option_text(kb, p)) for i, p in enumerate(options)],
                        answer_format="one letter: A, B, C or D", key=f"单选题|{ch.key}", answer=answer,
                        answer_text=f"{answer}（{item_label(kb, pin)}）",
                        explanation=f"答案：{answer}（{item_label(kb, pin)}）。\n{explanation}\n其余选项所列判定情形，"
                                    f"引擎在本情形中均未判定构成。",
                        citations=cites, criteria=[pin], option_criteria=options, scenarios=[ch.record()])
    return None


def _sample_texts(rng: random.Random, pool: list[str], preferred: list[str], k: int, kb: CompiledKB) -> list[str]:
    """k items with pairwise different texts, from the preferred (same sector) items first."""
    out: list[str] = []
    texts: set[str] = set()
    first = list(preferred)
    rng.shuffle(first)
    second = [p for p in pool if p not in preferred]
    rng.shuffle(second)
    for p in first + second:
        t = kb.ontology.provisions[p].text
        if t not in texts:
            out.append(p)
            texts.add(t)
        if len(out) == k:
            break
    return out


def multi_question(kb: CompiledKB, checked: list[Checked], rng: random.Random) -> Question:
    """Four independent scenarios of one standard; the key is the set the engine finds violated."""
    keys = "ABCD"
    pin0 = checked[0].scenario.criterion
    title = standard_title(kb, pin0)
    options, answer, parts, cites, records = [], [], [], [], []
    for i, ch in enumerate(checked):
        text = "；".join(ch.lines)
        options.append(Option(key=keys[i], text=text))
        if ch.verdict == "violated":
            answer.append(keys[i])
        explanation, c = _scenario_explanation(kb, ch)
        parts.append(f"{keys[i]}：{'构成' if ch.verdict == 'violated' else '不构成'}。{explanation}")
        for x in c:
            if all(x.pinpoint != y.pinpoint for y in cites):
                cites.append(x)
        records.append(ch.record())
    level = max((ch.scenario.difficulty for ch in checked), key=DIFFICULTIES.index)
    level = "medium" if level == "easy" else level
    stem = f"依据{title}，下列各项为相互独立的检查情形，其中构成重大事故隐患的有（多选）："
    return Question(id="", kind="多选题", difficulty=level, stem=stem, options=options,
                    answer_format='letters, e.g. ["A", "C"] or "AC"',
                    key="多选题|" + "+".join(sorted(ch.key for ch in checked)), answer=answer,
                    answer_text="".join(answer), explanation=f"答案：{''.join(answer)}。\n" + "\n".join(parts),
                    citations=cites, criteria=sorted({ch.scenario.criterion for ch in checked}),
                    option_criteria=[ch.scenario.criterion for ch in checked], scenarios=records)


@dataclass(frozen=True)
class Threshold:
    rule_id: str
    condition: Condition
    quote: str  # the quote the number is written in
    written: str  # how it is written there (9, 30, 两)
    blank: str  # the quote with the number replaced by a blank


def thresholds(kb: CompiledKB, pinpoint: str) -> list[Threshold]:
    """Numeric thresholds of an item that its quoted text states: a comparison of a property with a unit,
    whose number appears in the branch's quote (as digits, or as a Chinese numeral up to ten followed by the
    unit). The blank is shown in the whole sentence of the text the quote is from, when the number occurs
    there only once; else in the quote."""
    out = []
    for b in kb.criteria[pinpoint].branches:
        source = _quote_source(kb, b)
        for c in b.conditions:
            if c.kind not in ("field", "list") or c.op not in OP_BLANK or c.field.startswith(("count__", "distinct__")):
                continue
            if isinstance(c.value, bool) or not isinstance(c.value, (int, float)) or c.value <= 0:
                continue
            prop = kb.ontology.properties[c.field.split("__", 1)[1] if c.kind == "list" else c.field]
            if prop.kind not in ("number", "integer") or not prop.unit:
                continue
            found = _written(b.quotes, c.value, prop.unit)
            if found:
                quote, written, blank = found
                sentence = _sentence(source, quote)
                wider = _written([sentence], c.value, prop.unit) if sentence else None
                out.append(Threshold(b.rule_id, c, quote, written, wider[2] if wider else blank))
    return out


def _quote_source(kb: CompiledKB, b: Branch) -> str:
    """The text the branch's quotes are exact substrings of (the compiler checks it)."""
    provisions = kb.ontology.provisions
    for pin in (b.basis, getattr(b, "subitem", None), b.criterion):
        if pin and pin in provisions:
            return provisions[pin].text
    return ""


def _sentence(text: str, quote: str) -> str | None:
    """The sentence (between 。；and line breaks) of text that contains quote, without the closing mark."""
    i = text.find(quote)
    if i < 0:
        return None
    start = max(text.rfind(m, 0, i) for m in "。；\n") + 1
    ends = [j for j in (text.find(m, i + len(quote)) for m in "。；\n") if j >= 0]
    return text[start:min(ends) if ends else len(text)].strip()


def _written(quotes, value: float, unit: str) -> tuple[str, str, str] | None:
    digits = str(int(value)) if float(value).is_integer() else repr(float(value))
    pattern = re.compile(rf"(?<![\d.]){re.escape(digits)}(?![\d.])")
    for q in quotes:
        if len(pattern.findall(q)) == 1:
            return q, digits, pattern.sub("____", q, count=1)
    # a Chinese numeral counts only when the unit follows it (两套), not in phrases such as 一证多厂
    zh = ZH_DIGITS.get(int(value)) if float(value).is_integer() else None
    for q in quotes:
        for u in {unit, UNIT_ZH.get(unit, unit)}:
            if zh and q.count(zh + u) == 1:
                return q, zh, q.replace(zh + u, "____" + u, 1)
    return None


def unit_phrase(unit: str) -> str:
    return f"以{unit}计" if "=" in unit else f"单位：{UNIT_ZH.get(unit, unit)}"


def numeric_question(kb: CompiledKB, bank: Bank, t: Threshold, prefer: tuple[str, ...]) -> Question | None:
    """The threshold, confirmed by the engine: violated at the value just on the hazardous side, not
    violated at the value just on the other side."""
    b = kb.branch(t.rule_id)
    c = t.condition
    crit = kb.criteria[b.criterion]
    industries, regimes = enterprise_sectors(kb, b.criterion, prefer)
    as_of = kb.ontology.documents[crit.standard].in_force_from or date.today()
    try:
        hazard_side = build_inspection(kb, b, positive(kb, b), industries, regimes, as_of, near=False)
        other_side = build_inspection(kb, b, near_miss(kb, b, c), industries, regimes, as_of, near=True)
    except ScenarioError:
        return None
    probes = []
    for insp, variant, expect in ((hazard_side, "positive", "violated"), (other_side, "near-miss", "not_violated")):
        ch = bank.check(Scenario(b.criterion, b.rule_id, variant, c.text if variant == "near-miss" else None, insp, "medium", expect))
        if ch is None or ch.verdict != expect:
            return None
        probes.append(ch)
    prop_name = c.field.split("__", 1)[1] if c.kind == "list" else c.field
    prop = kb.ontology.properties[prop_name]
    values = [_probe_value(p.scenario.inspection, prop_name) for p in probes]
    if None in values:
        return None
    blank = t.blank
    cite = citation(kb, b.criterion, "判定情形")
    cites = [cite]
    if b.basis:
        doc = kb.ontology.documents[b.basis.split("/")[0]]
        source = f"{doc.title}对{item_label(kb, b.criterion)}的执行口径"
        cites.append(citation(kb, b.basis, "判定情形细化（解读），作为执行口径"))
        quote_line = f"执行口径：{doc.title}（{doc.doc_number}）：“{t.quote}”"
    else:
        source = f"{standard_title(kb, b.criterion)}{item_label(kb, b.criterion)}"
        quote_line = ""
    answer = int(c.value) if float(c.value).is_integer() else c.value
    unit = prop.unit
    stem = f"填空：依据{source}，下列情形判定为重大事故隐患：“{blank}”。横线处应填的数值是多少（{unit_phrase(unit)}）？"
    explanation = "\n".join(x for x in (
        f"答案：{answer}（{unit}）。",
        f"依据：{citation_text(cite)}",
        quote_line,
        f"规则：{kb.ontology.classes[b.subject].label}的{condition_text(kb, c)}。",
        f"引擎核验：{prop.label}为{values[0]}{unit}时判定构成重大事故隐患；为{values[1]}{unit}时，就本项而言不构成。",
    ) if x)
    level = "hard" if b.basis or c.op in (">=", "<=") else "medium"
    return Question(id="", kind="数值题", difficulty=level, stem=stem, unit=unit, answer_format=f"a number in {unit}",
                    key=f"数值题|{t.rule_id}|{c.text}", answer=answer, answer_text=f"{answer}{unit}",
                    explanation=explanation, citations=cites, criteria=[b.criterion], scenarios=[p.record() for p in probes],
                    threshold={"property": prop_name, "label": prop.label, "op": c.op, "value": answer, "unit": unit,
                               "condition": c.text})


def _probe_value(inspection: dict, prop: str):
    for o in [inspection["enterprise"], *inspection["objects"]]:
        if prop in o.get("properties", {}):
            return o["properties"][prop]
    return None


# ------------------------------------------------------------------------------------------ generation

def plan(n: int, kinds: list[str]) -> dict[str, int]:
    weights = {k: DEFAULT_WEIGHTS[k] for k in kinds}
    total = sum(weights.values())
    counts = {k: int(n * w / total) for k, w in weights.items()}
    rest = n - sum(counts.values())
    for k in sorted(kinds, key=lambda k: -weights[k]):
        if rest <= 0:
            break
        counts[k] += 1
        rest -= 1
    return counts


class _Generator:
    def __init__(self, engine, sel: Selection, rng: random.Random):
        self.kb: CompiledKB = engine.kb
        self.bank = bank_for(engine)
        self.sel = sel
        self.rng = rng
        self.used_scenarios: set[str] = set()
        self.keys: set[str] = set()
        self.stems: set[str] = set()
        self.order = list(sel.criteria)
        rng.shuffle(self.order)

    def scenarios(self, pin: str) -> list[Checked]:
        return self.bank.scenarios(pin, self.sel.sectors)

    def fits(self, level: str) -> bool:
        return self.sel.difficulty is None or level == self.sel.difficulty

    def take(self, q: Question, scenario_keys: list[str]) -> bool:
        if q.key in self.keys or q.stem + "".join(o.text for o in q.options) in self.stems:
            return False
        if any(k in self.used_scenarios for k in scenario_keys):
            return False
        self.keys.add(q.key)
        self.stems.add(q.stem + "".join(o.text for o in q.options))
        self.used_scenarios.update(scenario_keys)
        return True

    def release(self, q: Question) -> None:
        self.keys.discard(q.key)
        self.stems.discard(q.stem + "".join(o.text for o in q.options))
        for r in q.scenarios:
            self.used_scenarios.discard(f"{r.rule}|{r.variant}|{r.broken or ''}")

    def tf(self, count: int, have_true: int = 0, have_false: int = 0) -> list[Question]:
        """count 判断题, true and false as balanced as the items allow (counting those already in the quiz)."""
        pools: dict[bool, dict[str, list[Checked]]] = {True: {}, False: {}}

        def pool(pin: str, polarity: bool) -> list[Checked]:
            if pin not in pools[polarity]:
                items = [c for c in self.scenarios(pin) if c.usable_tf and self.fits(c.scenario.difficulty)]
                self.rng.shuffle(items)
                pools[True][pin] = [c for c in items if c.verdict == "violated"]
                pools[False][pin] = [c for c in items if c.verdict != "violated"]
            return pools[polarity][pin]

        def draw(polarity: bool, want: int) -> list[Question]:
            out: list[Question] = []
            progressed = True
            while len(out) < want and progressed:  # one per item per round, so questions spread over the items
                progressed = False
                for pin in self.order:
                    if len(out) >= want:
                        break
                    candidates = pool(pin, polarity)
                    while candidates:
                        ch = candidates.pop()
                        q = tf_question(self.kb, ch)
                        if self.take(q, [ch.key]):
                            out.append(q)
                            progressed = True
                            break
            return out

        total = have_true + have_false + count
        want_true = max(0, total // 2 + (total % 2) * self.rng.randint(0, 1) - have_true)
        want_false = max(0, count - want_true)
        falses = draw(False, want_false)
        trues = draw(True, want_true)
        # never more than one apart over the whole quiz
        t, f = have_true + len(trues), have_false + len(falses)
        while t > f + 1 and trues:
            self.release(trues.pop())
            t -= 1
        while f > t + 1 and falses:
            self.release(falses.pop())
            f -= 1
        qs = trues + falses
        self.rng.shuffle(qs)
        return qs

    def single(self, count: int) -> list[Question]:
        out: list[Question] = []
        tried: set[str] = set()
        shuffled: dict[str, list[Checked]] = {}
        while len(out) < count:
            progressed = False
            for pin in self.order:
                if len(out) >= count:
                    break
                if pin not in shuffled:
                    shuffled[pin] = [c for c in self.bank.positives(pin, self.sel.sectors) if c.verdict == "violated"]
                    self.rng.shuffle(shuffled[pin])
                for ch in shuffled[pin]:
                    if ch.key in tried or ch.key in self.used_scenarios or ch.verdict != "violated":
                        continue
                    tried.add(ch.key)
                    q = single_question(self.kb, ch, self.rng, self.sel.difficulty)
                    if q is not None and self.take(q, [ch.key]):
                        out.append(q)
                        progressed = True
                        break
            if not progressed:
                break
        return out

    def multi(self, count: int) -> list[Question]:
        out: list[Question] = []
        by_std: dict[str, list[str]] = {}
        for pin in self.order:
            by_std.setdefault(self.kb.criteria[pin].standard, []).append(pin)
        attempts = 0
        while len(out) < count and attempts < 4 * count + 8:
            attempts += 1
            stds = [s for s, pins in by_std.items() if len(pins) >= 4]
            if not stds:
                break
            pins = list(by_std[self.rng.choice(sorted(stds))])
            self.rng.shuffle(pins)
            n_pos = self.rng.choice((2, 3))
            picked: list[Checked] = []
            for pin in pins:
                if len(picked) == 4:
                    break
                want_pos = sum(c.verdict == "violated" for c in picked) < n_pos
                cands = [c for c in self.scenarios(pin) if c.usable_tf and c.key not in self.used_scenarios
                         and (c.verdict == "violated") == want_pos]
                if not cands:
                    cands = [c for c in self.scenarios(pin) if c.usable_tf and c.key not in self.used_scenarios]
                if cands:
                    picked.append(self.rng.choice(cands))
            if len(picked) < 4 or not any(c.verdict == "violated" for c in picked):
                continue
            self.rng.shuffle(picked)
            q = multi_question(self.kb, picked, self.rng)
            if self.fits(q.difficulty) and self.take(q, [c.key for c in picked]):
                out.append(q)
        return out

    def numeric(self, count: int) -> list[Question]:
        out: list[Question] = []
        for pin in self.order:
            for t in thresholds(self.kb, pin):
                if len(out) >= count:
                    return out
                # one question per stated number, however many branches (or items with the same text) use it
                same = (f"数值题|{t.blank}|{t.condition.value}",
                        f"数值题|{pin}|{t.condition.field}|{t.condition.op}|{t.condition.value}")
                if any(k in self.keys for k in same):
                    continue
                q = numeric_question(self.kb, self.bank, t, self.sel.sectors)
                if q is not None and self.fits(q.difficulty) and self.take(q, [q.key]):
                    self.keys.update(same)
                    out.append(q)
        return out


def generate_quiz(engine, params: QuizParams | dict, quiz_id: str | None = None) -> Quiz:
    """A quiz for the parameters; the same parameters and seed on the same knowledge base give the same questions."""
    if not isinstance(params, QuizParams):
        params = QuizParams.model_validate(params)
    if params.seed is None:
        params = params.model_copy(update={"seed": secrets.randbelow(2**31)})
    kb = engine.kb
    sel = resolve(kb, params)
    rng = random.Random(f"{params.seed}|{kb.content_hash}")
    gen = _Generator(engine, sel, rng)
    wanted = plan(params.n, sel.kinds)
    made: dict[str, list[Question]] = {k: [] for k in sel.kinds}
    makers = {"判断题": gen.tf, "单选题": gen.single, "多选题": gen.multi, "数值题": gen.numeric}
    for kind in sel.kinds:
        made[kind] = makers[kind](wanted[kind])
    short = params.n - sum(len(v) for v in made.values())
    for kind in [k for k in ("单选题", "多选题", "判断题", "数值题") if k in sel.kinds]:  # fill a shortfall
        if short <= 0:
            break
        if kind == "判断题":
            have_true = sum(q.answer is True for q in made[kind])
            more = gen.tf(short, have_true, len(made[kind]) - have_true)
        else:
            more = makers[kind](short)
        made[kind].extend(more[:short])
        for q in more[short:]:
            gen.release(q)
        short = params.n - sum(len(v) for v in made.values())
    questions = [q for kind in KINDS if kind in made for q in made[kind]]
    for i, q in enumerate(questions, 1):
        q.id = f"q{i}"
    notes = []
    if len(questions) < params.n:
        notes.append(f"只能生成 {len(questions)} 道符合条件的题目（要求 {params.n} 道）")
    if not questions:
        raise QuizInputError([InputProblem(("body",), "no question can be generated for these parameters",
                                           "fewer restrictions (difficulty, kinds, article)")])
    return Quiz(id=quiz_id or secrets.token_hex(8), seed=params.seed, kb_version=kb.version, params=params,
                questions=questions, counts={k: len(made.get(k, [])) for k in KINDS if made.get(k)}, notes=notes)


def all_candidate_questions(engine, pinpoint: str, near_misses: bool = True) -> list[Question]:
    """Every question the item can give on its own (判断题 both ways, 单选题, 数值题): for coverage checks.
    near_misses=False leaves out the false 判断题 (the near misses cost most of the engine runs)."""
    kb = engine.kb
    bank = bank_for(engine)
    rng = random.Random(0)
    out = []
    for ch in (bank.scenarios(pinpoint) if near_misses else bank.positives(pinpoint)):
        if ch.usable_tf:
            out.append(tf_question(kb, ch))
        if ch.verdict == "violated":
            q = single_question(kb, ch, rng, None)
            if q is not None:
                out.append(q)
    for t in thresholds(kb, pinpoint):
        q = numeric_question(kb, bank, t, ())
        if q is not None:
            out.append(q)
    return out

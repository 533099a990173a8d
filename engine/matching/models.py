"""Request and response of a match: a description in, candidate items with observations and questions out."""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..result import Finding, Question, Refutation, Verdict

MAX_TEXT_CHARS = 2000  # a register row's description is a sentence or a short paragraph
MAX_TOP = 10
MAX_ANSWERS = 200

AnswerValue = bool | int | float | str | list[str] | dict[str, Any] | None


class AnswerIn(BaseModel):
    """The answer to one question of a candidate: the question's object, object_class and property, and the value
    observed. A presence question (property null) is answered true (there is such an object: it is added) or false
    (不涉及). A relation may be answered true (the object is related to one such object: it is added), false (to
    none) or with refs."""

    model_config = ConfigDict(extra="forbid")
    pinpoint: str | None = Field(default=None, max_length=100, description="the candidate the answer is for; null: every candidate that asks it")
    object: str | None = Field(default=None, max_length=100, description="ref of the object, as in the question; null for a presence question")
    object_class: str | None = Field(default=None, max_length=200, description="class name or label, as in the question")
    property: str | None = Field(default=None, max_length=200, description="property name or label; null for a presence question")
    value: AnswerValue = Field(description="true/false, a number (in the property's unit) or {value, unit}, an allowed "
                                           "value, a ref or refs, or a device {installed, functional}")


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "使用油性油漆的喷漆车间内未设置可燃气体浓度监测报警装置", "industries": ["机械"]},
        {"text": "速冻间内有12名作业人员", "industries": ["轻工"], "regimes": ["涉氨制冷"], "top": 3}]})
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="隐患描述：检查记录或隐患台账中的一句话")
    industries: list[str] = Field(default_factory=list, max_length=20,
                                  description="企业的行业（过滤候选条款）；不填则不按行业过滤，判定时按条款的适用行业假定")
    regimes: list[str] = Field(default_factory=list, max_length=20, description="专项领域：粉尘涉爆、涉氨制冷、有限空间作业")
    date: Date | None = Field(default=None, description="检查日期：按当日有效的标准匹配和判定；缺省为今天")
    top: int = Field(default=3, ge=1, le=MAX_TOP, description="返回的候选条款数")
    answers: list[AnswerIn] = Field(default_factory=list, max_length=MAX_ANSWERS,
                                    description="对上次返回的问题的回答；据此重新判定")


class ObservationOut(BaseModel):
    object: str = Field(description="ref of the object in the candidate's inspection")
    object_class: str
    object_class_label: str
    property: str
    label: str
    value: Any
    unit: str | None = None
    source: str = Field(description="text: read from the description (with `span`); answer: given in `answers`")
    span: str | None = Field(default=None, description="the words of the description the value was read from")
    rule: str | None = Field(default=None, description="number | device | interlock | boolean | enum | relation | answer")


class CandidateOut(BaseModel):
    rank: int
    pinpoint: str
    standard: str
    document: str
    doc_number: str
    article: str | None = None
    item: str | None = None
    text: str = Field(description="verbatim text of the item")
    score: float = Field(description="0..1: how much of the description the item covers (BM25F and character pairs)")
    score_terms: float = Field(description="0..1: the BM25F part")
    score_characters: float = Field(description="0..1: the character-pair part")
    matched: list[str] = Field(description="words and concepts (@Class, @property) of the description found in the item's document")
    encoded: bool = Field(description="whether the item has rules; an item without rules cannot be determined here")
    verdict: Verdict | None = Field(default=None, description="what the engine determines from the observations so far")
    verdict_zh: str | None = None
    observations: list[ObservationOut] = Field(default=[], description="observations read from the text (and answers) for this item")
    questions: list[Question] = Field(default=[], description="what is still needed to confirm or rule out this item")
    findings: list[Finding] = Field(default=[], description="when violated: the branch, evidence and citations")
    not_violated_because: list[Refutation] = []
    reason: str | None = None
    assumed_sectors: list[str] = Field(default=[], description="sectors assumed for the determination when none were given")
    inspection: dict[str, Any] = Field(default={}, description="the inspection determined: add observations and POST it to /v1/determinations, or answer the questions here")


class MatchResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "隐患描述 → 候选条款、已提取观测、仍需确认的问题"})
    kb_version: str
    as_of: Date
    text: str
    tokens: list[str] = Field(description="the description as segmented")
    sectors: list[str] = Field(description="the sectors candidates were filtered by (empty: none)")
    candidates: list[CandidateOut]
    notes: list[str] = []

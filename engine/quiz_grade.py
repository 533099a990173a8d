"""Grading a quiz: every question's answer read strictly, every problem named by its field.

Answers are a mapping question id → answer:
- 判断题: true/false, or 正确/错误 (对/错, 是/否, √/×, T/F, A/B);
- 单选题: one option letter ("B");
- 多选题: option letters as a list (["A", "C"]) or a string ("AC", "A,C");
- 数值题: a number, or a numeric string, optionally followed by the unit ("9", "9人", "30 kPa");
- null: left unanswered (counted wrong).
A missing question, an id that is not in the quiz, or an answer of the wrong form is refused (422 in the API),
all of them at once, so that a client can fix everything in one go.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Literal

from pydantic import BaseModel

from .inspection import InputProblem
from .quiz import Question, Quiz, QuizInputError
from .result import Citation

TRUE_WORDS = {"正确", "对", "是", "√", "✓", "t", "true", "yes", "y", "a"}
FALSE_WORDS = {"错误", "错", "否", "×", "✗", "f", "false", "no", "n", "b"}
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(\S.*)?$")


class QuestionResult(BaseModel):
    id: str
    kind: str
    status: Literal["right", "wrong", "unanswered"]
    correct: bool
    given: Any
    answer: Any
    answer_text: str
    explanation: str
    citations: list[Citation]


class Grade(BaseModel):
    quiz_id: str
    kb_version: str
    score: int
    total: int
    percent: float
    results: list[QuestionResult]


def expected_form(q: Question) -> str:
    keys = ", ".join(o.key for o in q.options)
    return {
        "判断题": "true or false (正确/错误)",
        "单选题": f"one option letter: {keys}",
        "多选题": f"one or more option letters from {keys}, as a list or a string such as \"AC\"",
        "数值题": f"a number (in {q.unit})" if q.unit else "a number",
    }[q.kind]


def parse_answer(q: Question, raw: Any) -> Any:
    """The answer in the form of the key; ValueError with the reason when it has the wrong form."""
    keys = [o.key for o in q.options]
    if q.kind == "判断题":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            word = raw.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        raise ValueError(f"cannot read {_show(raw)} as true or false")
    if q.kind == "单选题":
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        if not isinstance(raw, str) or raw.strip().upper() not in keys:
            raise ValueError(f"{_show(raw)} is not one of the options {', '.join(keys)}")
        return raw.strip().upper()
    if q.kind == "多选题":
        if isinstance(raw, str):
            letters = [x for x in re.split(r"[\s,，、;；]+|(?<=[A-Za-z])(?=[A-Za-z])", raw.strip()) if x]
        elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            letters = [x.strip() for x in raw]
        else:
            raise ValueError(f"cannot read {_show(raw)} as option letters")
        letters = [x.upper() for x in letters]
        bad = [x for x in letters if x not in keys]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not among the options {', '.join(keys)}")
        if not letters:
            raise ValueError("no option chosen")
        return sorted(set(letters))
    if q.kind == "数值题":
        if isinstance(raw, bool):
            raise ValueError(f"{_show(raw)} is not a number")
        if isinstance(raw, (int, float)):
            value = float(raw)
        elif isinstance(raw, str) and (m := _NUMBER.match(raw)):
            unit = (m.group(2) or "").strip()
            if unit and q.unit and unit not in _unit_spellings(q.unit):
                raise ValueError(f"unit {unit!r} is not {q.unit}; give the number in {q.unit}")
            value = float(m.group(1))
        else:
            raise ValueError(f"cannot read {_show(raw)} as a number")
        if not math.isfinite(value):
            raise ValueError("the number must be finite")
        return int(value) if value.is_integer() else value
    raise ValueError(f"unknown question kind {q.kind}")


def is_right(q: Question, given: Any) -> bool:
    if q.kind == "数值题":
        return math.isclose(float(given), float(q.answer), rel_tol=1e-9, abs_tol=1e-9)
    if q.kind == "多选题":
        return sorted(given) == sorted(q.answer)
    return given == q.answer


def grade(quiz: Quiz, answers: Any) -> Grade:
    """Score a quiz; raises QuizInputError naming every missing, extra or malformed answer."""
    if not isinstance(answers, dict):
        raise QuizInputError([InputProblem(("answers",), f"expected an object mapping question ids to answers, got {_show(answers)}",
                                           "{\"q1\": true, \"q2\": \"B\", …}")])
    ids = [q.id for q in quiz.questions]
    problems: list[InputProblem] = []
    for k in answers:
        if k not in ids:
            problems.append(InputProblem(("answers", str(k)), f"quiz {quiz.id} has no question {k!r}",
                                         f"question ids {ids[0]}…{ids[-1]}", tuple(difflib.get_close_matches(str(k), ids, n=3))))
    parsed: dict[str, Any] = {}
    for q in quiz.questions:
        if q.id not in answers:
            problems.append(InputProblem(("answers", q.id), "missing answer",
                                         f"{expected_form(q)}; or null to leave it unanswered"))
            continue
        raw = answers[q.id]
        if raw is None:
            parsed[q.id] = None
            continue
        try:
            parsed[q.id] = parse_answer(q, raw)
        except ValueError as exc:
            problems.append(InputProblem(("answers", q.id), f"{q.kind}: {exc}", expected_form(q)))
    if problems:
        raise QuizInputError(problems)
    results = []
    for q in quiz.questions:
        given = parsed[q.id]
        right = given is not None and is_right(q, given)
        results.append(QuestionResult(id=q.id, kind=q.kind, status="unanswered" if given is None else ("right" if right else "wrong"),
                                      correct=right, given=given, answer=q.answer, answer_text=q.answer_text,
                                      explanation=q.explanation, citations=q.citations))
    score = sum(r.correct for r in results)
    return Grade(quiz_id=quiz.id, kb_version=quiz.kb_version, score=score, total=len(results),
                 percent=round(100 * score / len(results), 1) if results else 0.0, results=results)


def _unit_spellings(unit: str) -> set[str]:
    from .quiz import UNIT_ZH

    return {unit, UNIT_ZH.get(unit, unit), unit.lower()}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"

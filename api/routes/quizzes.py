"""Training quizzes: generate (questions without answers), then grade with the clause.

Issued quizzes are kept in memory (bounded, least recently used dropped first). Each carries its seed and
parameters: POST /v1/quizzes with the same parameters and seed regenerates the same questions on the same
knowledge base, so a quiz that has been dropped (or a server restart) loses nothing but its id."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hazard_kb.engine.quiz import QuestionPublic, Quiz, QuizInputError, QuizParams, generate_quiz
from hazard_kb.engine.quiz_grade import Grade, grade
from hazard_kb.engine.service import Engine

from ..deps import get_engine
from ..problems import problem

router = APIRouter(prefix="/v1", tags=["quizzes"])

MAX_QUIZZES = 1000


class QuizStore:
    """Issued quizzes by id, at most `limit` of them (least recently used dropped first)."""

    def __init__(self, limit: int = MAX_QUIZZES):
        self.limit = limit
        self._items: OrderedDict[str, Quiz] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, quiz: Quiz) -> None:
        with self._lock:
            self._items[quiz.id] = quiz
            self._items.move_to_end(quiz.id)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, quiz_id: str) -> Quiz | None:
        with self._lock:
            quiz = self._items.get(quiz_id)
            if quiz is not None:
                self._items.move_to_end(quiz_id)
            return quiz

    def __len__(self) -> int:
        return len(self._items)


def get_store(request: Request) -> QuizStore:
    store = getattr(request.app.state, "quiz_store", None)
    if store is None:
        store = request.app.state.quiz_store = QuizStore()
    return store


class QuizOut(BaseModel):
    quiz_id: str
    seed: int = Field(description="send it back with the same parameters to regenerate the same questions")
    kb_version: str
    params: QuizParams
    counts: dict[str, int]
    notes: list[str] = []
    questions: list[QuestionPublic]


class AnswersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, Any] = Field(description='question id → answer: true/false, "B", ["A","C"], 9; null = unanswered')


def _invalid(exc: QuizInputError, title: str, type_: str):
    errors = [{"field": ".".join(map(str, p.loc)), "message": p.msg, "expected": p.expected,
               "suggestions": list(p.suggestions)} for p in exc.problems]
    return problem(422, title, f"{len(errors)} field(s) are invalid", type_, errors=errors)


@router.post("/quizzes", response_model=QuizOut, summary="生成培训测验：题目（不含答案）与测验编号",
             responses={422: {"description": "unknown standard, sector, article, kind or difficulty (problem+json)"}})
async def create_quiz(params: QuizParams, engine: Engine = Depends(get_engine), store: QuizStore = Depends(get_store)):
    try:
        quiz = await run_in_threadpool(generate_quiz, engine, params)
    except QuizInputError as exc:
        return _invalid(exc, "Invalid quiz request", "/problems/invalid-quiz-request")
    store.put(quiz)
    return QuizOut(quiz_id=quiz.id, seed=quiz.seed, kb_version=quiz.kb_version, params=quiz.params, counts=quiz.counts,
                   notes=quiz.notes, questions=[q.public() for q in quiz.questions])


@router.post("/quizzes/{quiz_id}/answers", response_model=Grade, summary="提交答案并评分：每题对错及依据条款",
             responses={404: {"description": "no such quiz (problem+json)"},
                        422: {"description": "missing, extra or malformed answers (problem+json)"}})
def grade_quiz(quiz_id: str, body: AnswersIn, store: QuizStore = Depends(get_store)):
    quiz = store.get(quiz_id)
    if quiz is None:
        return problem(404, "Not found", f"no quiz {quiz_id!r}: it was never issued or has expired; regenerate it with "
                       "POST /v1/quizzes and the same parameters and seed", "/problems/unknown-quiz")
    try:
        return grade(quiz, body.answers)
    except QuizInputError as exc:
        return _invalid(exc, "Invalid answers", "/problems/invalid-answers")

"""POST /v1/matches: a hazard description in plain Chinese → candidate items, extracted observations, questions.

The matcher (index, tokenizer) is built once per knowledge base and kept for the life of the process; each
candidate's determination goes the same way as POST /v1/determinations: to the engine child process when the API
is served (`hazard-kb serve`), in-process otherwise.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from hazard_kb.engine.matching.dialogue import converse
from hazard_kb.engine.matching.matcher import get_matcher
from hazard_kb.engine.matching.models import MatchRequest, MatchResult
from hazard_kb.engine.service import Engine

from ..deps import get_engine

router = APIRouter(prefix="/v1", tags=["matches"])


@router.post("/matches", response_model=MatchResult,
             summary="匹配：隐患描述 → 候选条款（附得分）、已提取的观测、确认或排除每一候选所需的问题",
             description="Ranks the items of the standards in force on `date` (filtered by the enterprise's `industries` "
                         "and `regimes` when given) against the description, reads the observations the text states "
                         "for each candidate, determines each candidate with the normal engine and returns its verdict "
                         "so far and the questions still open. Answer them in `answers` (or add them to the candidate's "
                         "`inspection` and POST it to /v1/determinations) to reach a determination.")
async def create_match(body: MatchRequest, request: Request, engine: Engine = Depends(get_engine)) -> MatchResult:
    worker = request.app.state.worker
    matcher = await run_in_threadpool(get_matcher, engine.kb)  # built on first use (about a second), then kept

    if worker is not None:
        def determine(inspection: dict) -> dict:
            return json.loads(worker.determine_json(inspection))
    else:
        def determine(inspection: dict) -> dict:
            return engine.determine(inspection).model_dump(mode="json")

    return await run_in_threadpool(converse, matcher, body, determine)

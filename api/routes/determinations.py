from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from hazard_kb.engine.inspection import InspectionIn
from hazard_kb.engine.interview import Interview, next_questions
from hazard_kb.engine.result import Determination
from hazard_kb.engine.service import Engine

from ..deps import get_engine

router = APIRouter(prefix="/v1", tags=["determinations"])


@router.post("/determinations", response_model=Determination,
             summary="判定：提交观察事实，返回是否构成重大事故隐患及法律依据")
async def create_determination(inspection: InspectionIn, request: Request, engine: Engine = Depends(get_engine)):
    worker = request.app.state.worker
    if worker is not None:  # isolated: the child returns the finished JSON
        body = await run_in_threadpool(worker.determine_json, inspection.model_dump(mode="json", by_alias=True))
        return Response(content=body, media_type="application/json")
    # in-process: the engine serialises runs internally; keep the event loop free while it works
    return await run_in_threadpool(engine.determine, inspection)


@router.post("/interviews", response_model=Interview,
             summary="引导式检查：提交已有的观察事实，返回仍需查看的对象和提问（已判定或不涉及的不再询问）")
async def create_interview(inspection: InspectionIn, request: Request, engine: Engine = Depends(get_engine)):
    worker = request.app.state.worker
    if worker is not None:
        body = await run_in_threadpool(worker.determine_json, inspection.model_dump(mode="json", by_alias=True))
        return next_questions(Determination.model_validate_json(body))
    return next_questions(await run_in_threadpool(engine.determine, inspection))

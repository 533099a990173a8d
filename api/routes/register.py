"""HTTP API of the major-hazard register: determination records, enterprises, register entries and their
events, the overdue list, statistics and exports. Every endpoint here needs a bearer token (`hazard-kb users
add` issues one) with a role allowed to do the thing; an enterprise principal sees its own enterprise only.
POST /v1/determinations stays open (it is not here).

Wire it with `install(app, open_at_startup=isolate)` in create_app: it adds the routers, the problem+json
handler of register errors and opens the database (applying migrations) at start-up, or on first use."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from hazard_kb.engine.inspection import InspectionIn
from hazard_kb.register import Actor, Register, RegisterError
from hazard_kb.register import stats as st
from hazard_kb.register.errors import Invalid
from hazard_kb.register.service import parse_token
from hazard_kb.register.schemas import (AcknowledgeIn, CloseIn, CloseoutRequestIn, ConfirmIn, EnterpriseIn, EnterpriseView, EntryIn,
                                        EntryPage, EntryView, EventView, Me, PlanIn, ProgressIn, RecordSummary, RecordView,
                                        Reevaluation, RejectIn, Source, Status, SupervisionIn)

from ..problems import PROBLEM, _expected, _field

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]
_open_lock = threading.Lock()
MAX_ID = 2**31 - 1
EntryId = Annotated[int, Path(ge=1, le=MAX_ID, description="register entry id")]
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="determination record id")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class Problem(BaseModel):
    """application/problem+json (RFC 9457); register problems may carry more members (errors, missing_roles, …)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str


_PROBLEM_SCHEMA = Problem.model_json_schema()
_PROBLEM_WHY = {400: "the body could not be read", 401: "no valid bearer token", 403: "the token's roles may not do this",
                404: "no such thing (or not of the principal's enterprise)",
                409: "not allowed in the entry's status, a duplicate, or a close-out refused", 422: "invalid input"}
PROBLEMS = {code: {"description": why + " (problem+json)", "content": {PROBLEM: {"schema": _PROBLEM_SCHEMA}}}
            for code, why in _PROBLEM_WHY.items()}
EXPORTS = {200: {"description": "JSON, or with format=csv|xlsx a file",
                 "content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inspection: InspectionIn = Field(description="the inspection to determine and save (as for POST /v1/determinations)")


class _RegisterRoute(APIRoute):
    """Request validation errors of register endpoints as register problems (the app-wide handler speaks of
    inspections)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg"), "expected": _expected(e)} for e in exc.errors()]
                raise Invalid(f"{len(errors)} field(s) are invalid", errors=errors) from None

        return route_handler


_bearer = HTTPBearer(auto_error=False, scheme_name="token", description="API token from `hazard-kb users add` (hk_…)")


def get_register(request: Request) -> Register:
    return _register_of(request.app)


def _register_of(app: FastAPI) -> Register:
    reg = getattr(app.state, "register", None)
    if reg is None:
        with _open_lock:
            reg = getattr(app.state, "register", None)
            if reg is None:
                engine = getattr(app.state, "engine", None)
                reg = Register(getattr(app.state, "register_url", None), kb=engine.kb if engine is not None else None)
                app.state.register, app.state.register_owned = reg, True
    return reg


def current_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Actor:
    """The user of the bearer token. A request without a well-formed token is refused before the database is
    opened (so an app that never serves the register never creates one)."""
    token = creds.credentials if creds else None
    parse_token(token)
    return _register_of(request.app).authenticate(token)


def _engine_determine(request: Request) -> tuple[Callable[[dict, date | None], dict], str, str]:
    """(determine(inspection, today) -> determination as JSON data, kb version, kb content hash)"""
    engine = request.app.state.engine
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        return (lambda inp, today: json.loads(worker.determine_json(inp, today))), engine.kb.version, engine.kb.content_hash
    return (lambda inp, today: engine.determine(inp, today=today).model_dump(mode="json")), engine.kb.version, engine.kb.content_hash


def _download(content: bytes, fmt: str, name: str) -> Response:
    media = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX}[fmt]
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


me_router = APIRouter(responses=PROBLEMS, prefix="/v1", tags=["register"], route_class=_RegisterRoute)
enterprises_router = APIRouter(responses=PROBLEMS, prefix="/v1/enterprises", tags=["register"], route_class=_RegisterRoute)
records_router = APIRouter(responses=PROBLEMS, prefix="/v1/records", tags=["determination records"], route_class=_RegisterRoute)
register_router = APIRouter(responses=PROBLEMS, prefix="/v1/register", tags=["register"], route_class=_RegisterRoute)
routers = (me_router, enterprises_router, records_router, register_router)


@me_router.get("/me", response_model=Me, summary="the user of the token, with roles and enterprise")
def whoami(actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.user(actor.user_id)


# ------------------------------------------------------------------------------------------------ enterprises
@enterprises_router.post("", response_model=EnterpriseView, status_code=201, summary="登记企业（统一社会信用代码、属地、行业）")
def add_enterprise(body: EnterpriseIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.add_enterprise(actor, body)


@enterprises_router.get("", response_model=list[EnterpriseView], summary="企业（企业负责人只看到本企业）")
def list_enterprises(actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.enterprises(actor)


@enterprises_router.get("/{credit_code}", response_model=EnterpriseView)
def get_enterprise(credit_code: str, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.enterprise(actor, credit_code)


# ------------------------------------------------------------------------------------------------ records
@records_router.post("", response_model=RecordView, status_code=201,
                     summary="判定并保存判定记录（完整输入、输出、知识库版本和内容哈希、判定日期、人、时间）")
def save_record(body: RecordIn, request: Request, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    reg.require(actor, "records.create")  # refuse before spending a determination
    determine, version, content_hash = _engine_determine(request)
    inspection = body.inspection.model_dump(mode="json", by_alias=True)
    return reg.save_record(actor, inspection, determine(inspection, None), version, content_hash)


@records_router.get("", response_model=list[RecordSummary], summary="判定记录（新的在前）")
def list_records(enterprise: str | None = Query(None, description="统一社会信用代码"), limit: int = Query(100, ge=1, le=1000),
                 offset: Offset = 0, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.records(actor, enterprise, limit, offset)


@records_router.get("/{record_id}", response_model=RecordView, summary="一条判定记录（不可更改）")
def get_record(record_id: RecordId, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.record(actor, record_id)


@records_router.get("/{record_id}/reevaluation", response_model=Reevaluation,
                    summary="按今天的知识库重新判定，列出会变化的判定情形（不改变记录）")
def reevaluate(record_id: RecordId, request: Request, on: date | None = Query(None, description="apply the law as of this date instead"),
               include_determination: bool = Query(False, description="also return the whole new determination"),
               actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    determine, version, _ = _engine_determine(request)
    return reg.reevaluate(actor, record_id, determine, version, on, include_determination)


# ------------------------------------------------------------------------------------------------ entries
@register_router.post("/entries", response_model=EntryView, status_code=201,
                      summary="登记重大事故隐患：来自判定记录的违反项，或来自企业自查、监督检查、群众举报查实")
def add_entry(body: EntryIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    if body.record_id is not None:
        if not body.pinpoint:
            raise Invalid("with record_id, name the violated item (pinpoint)", errors=[{"field": "pinpoint", "message": "required",
                                                                                      "expected": "a violated item of the record"}])
        return reg.register_from_record(actor, body.record_id, body.pinpoint, enterprise=body.enterprise, source=body.source,
                                        description=body.description, evidence=body.evidence, deadline=body.deadline,
                                        reason=body.reason)
    if not body.enterprise:
        raise Invalid("name the enterprise (统一社会信用代码)", errors=[{"field": "enterprise", "message": "required",
                                                                 "expected": "统一社会信用代码 of a registered enterprise"}])
    return reg.register_entry(actor, source=body.source, enterprise=body.enterprise, description=body.description or "",
                              pinpoint=body.pinpoint, evidence=body.evidence, discovered_on=body.discovered_on,
                              deadline=body.deadline, reason=body.reason)


def _entry_filters(status: Status | None = Query(None), overdue: bool | None = Query(None, description="逾期未销号"),
                   enterprise: str | None = Query(None, description="统一社会信用代码"), province: str | None = None,
                   city: str | None = None, county: str | None = None, town: str | None = None, industry: str | None = None,
                   standard: str | None = Query(None, description="e.g. gongmao-2023"), pinpoint: str | None = None,
                   source: Source | None = None, supervised: bool | None = Query(None, description="挂牌督办"),
                   on: date | None = Query(None, description="the day overdue is judged on (default today)")) -> dict:
    return {k: v for k, v in locals().items()}


@register_router.get("/entries", response_model=EntryPage, responses=EXPORTS,
                     summary="重大事故隐患清单（筛选；format=csv|xlsx 导出全部符合条件的条目）")
def list_entries(filters: dict = Depends(_entry_filters), format: Format = "json", limit: int = Query(100, ge=1, le=1000),
                 offset: Offset = 0, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    if format == "json":
        return reg.entries(actor, limit=limit, offset=offset, **filters)
    page = reg.entries(actor, limit=None, **filters)
    if format == "csv":
        return _download(st.to_csv(st.ENTRY_HEADERS, st.entry_rows(page.items)), "csv", "register")
    return _download(st.entries_xlsx(page.items), "xlsx", "register")


@register_router.get("/overdue", response_model=list[EntryView], responses=EXPORTS, summary="逾期未销号的重大事故隐患")
def overdue(on: date | None = Query(None), format: Format = "json", actor: Actor = Depends(current_actor),
            reg: Register = Depends(get_register)):
    items = reg.overdue(actor, on)
    if format == "json":
        return items
    if format == "csv":
        return _download(st.to_csv(st.ENTRY_HEADERS, st.entry_rows(items)), "csv", "overdue")
    return _download(st.entries_xlsx(items), "xlsx", "overdue")


@register_router.get("/stats", responses=EXPORTS, summary="统计：按地区、行业、标准、条款的未销号、逾期、已销号数和销号用时")
def statistics(on: date | None = Query(None), level: Literal["province", "city", "county", "town"] = "county",
               dimension: Literal["region", "industry", "standard", "item"] | None = Query(None, description="CSV: only this dimension"),
               format: Format = "json", actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    stats = reg.stats(actor, on, level)
    if format == "json":
        return stats
    if format == "csv":
        return _download(st.to_csv(st.STATS_HEADERS, st.stats_rows(stats, dimension)), "csv", "register-stats")
    return _download(st.stats_xlsx(stats), "xlsx", "register-stats")


@register_router.get("/entries/{entry_id}", response_model=EntryView, summary="一条登记：状态、依据、整改方案、督办、核查确认、状态历史")
def get_entry(entry_id: EntryId, on: date | None = Query(None), actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.entry(actor, entry_id, on)


@register_router.get("/entries/{entry_id}/events", response_model=list[EventView], summary="全部变更事件（谁、何时、做了什么、为什么）")
def get_events(entry_id: EntryId, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.events(actor, entry_id)


@register_router.post("/entries/{entry_id}/acknowledgement", response_model=EntryView, summary="企业负责人签收")
def acknowledge(entry_id: EntryId, body: AcknowledgeIn | None = None, actor: Actor = Depends(current_actor),
                reg: Register = Depends(get_register)):
    return reg.acknowledge(actor, entry_id, body.reason if body else None)


@register_router.post("/entries/{entry_id}/plan", response_model=EntryView,
                      summary="整改方案（措施、责任人、资金、时限、预案）：登记 → 整改中；修改须说明理由")
def set_plan(entry_id: EntryId, body: PlanIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.set_plan(actor, entry_id, body.model_dump(exclude={"reason"}), body.reason)


@register_router.post("/entries/{entry_id}/progress", response_model=EntryView, summary="整改进展")
def progress(entry_id: EntryId, body: ProgressIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.progress(actor, entry_id, body.note)


@register_router.post("/entries/{entry_id}/supervision", response_model=EntryView, summary="挂牌督办（督办层级），level 为 null 时摘牌")
def supervise(entry_id: EntryId, body: SupervisionIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.supervise(actor, entry_id, body.level, body.authority, body.reason)


@register_router.post("/entries/{entry_id}/closeout-request", response_model=EntryView, summary="申请销号：整改中 → 申请销号")
def request_closeout(entry_id: EntryId, body: CloseoutRequestIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.request_closeout(actor, entry_id, body.report, body.completed_on, body.reason)


@register_router.post("/entries/{entry_id}/confirmations", response_model=EntryView,
                      summary="现场核查确认（监管人员、安全专家、企业负责人各一人，三人不同）")
def confirm(entry_id: EntryId, body: ConfirmIn | None = None, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    body = body or ConfirmIn()
    return reg.confirm(actor, entry_id, body.role, body.opinion, body.checked_on)


@register_router.post("/entries/{entry_id}/rejection", response_model=EntryView, summary="驳回销号申请：申请销号 → 整改中")
def reject(entry_id: EntryId, body: RejectIn, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.reject(actor, entry_id, body.reason, body.findings)


@register_router.post("/entries/{entry_id}/closeout", response_model=EntryView, summary="销号：三方确认齐全后 申请销号 → 已销号")
def close(entry_id: EntryId, body: CloseIn | None = None, actor: Actor = Depends(current_actor), reg: Register = Depends(get_register)):
    return reg.close_out(actor, entry_id, body.reason if body else None)


# ------------------------------------------------------------------------------------------------ wiring
def install(app: FastAPI, database_url: str | None = None, open_at_startup: bool = False) -> None:
    """Add the register to an app: routers, the problem+json handler for register errors, and the database
    (database_url, else $HAZARD_KB_DATABASE_URL, else ./hazard-kb.sqlite), opened and migrated at start-up when
    open_at_startup, else on the first register request that carries a token. Calling it again on the same
    app only changes database_url and open_at_startup. A test may set app.state.register to its own Register
    before starting the app; that one is used and not closed."""
    app.state.register_url = database_url
    app.state.register_open_at_startup = open_at_startup
    if getattr(app.state, "register_installed", False):
        return
    app.state.register_installed = True
    if not hasattr(app.state, "register"):
        app.state.register = None
    app.state.register_owned = False
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RegisterError)
    async def _register_problem(request: Request, exc: RegisterError):
        body = {**exc.extra, "type": exc.type, "title": exc.title, "status": exc.status, "detail": exc.detail}
        headers = {"WWW-Authenticate": 'Bearer realm="hazard-kb"'} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM, headers=headers)

    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI):
        async with original(a) as state:
            if a.state.register_open_at_startup:
                _register_of(a)  # migrations are applied now, before the first request
            try:
                yield state
            finally:
                if a.state.register_owned and a.state.register is not None:
                    a.state.register.close()
                    a.state.register, a.state.register_owned = None, False

    app.router.lifespan_context = lifespan

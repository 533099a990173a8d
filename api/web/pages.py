"""The web app's pages under /app: thin handlers over the same engine and register calls as the JSON API.

Determinations go the way POST /v1/records goes (the engine child process when the app is served, the
in-process engine in tests); the interview asks engine.interview.next_questions what is still needed; a 隐患描述
goes through the matcher as POST /v1/matches does (matching.py) and 采用 merges its candidate into the draft; the
register pages call the Register service with the user of the token kept in an HttpOnly cookie; statistics are
register/stats.py's figures. No route here is in the OpenAPI description."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import yaml
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hazard_kb import __version__
from hazard_kb.engine import catalogue as cat
from hazard_kb.engine.backend_durable import EngineFailure
from hazard_kb.engine.checklist import build_checklist
from hazard_kb.engine.determine import documents_in_force
from hazard_kb.engine.inspection import InspectionError, InspectionIn, normalize
from hazard_kb.engine.interview import next_questions
from hazard_kb.engine.result import Determination
from hazard_kb.engine.worker import EngineBusy, EngineTimeout
from hazard_kb.register import RegisterError
from hazard_kb.register import stats as st
from hazard_kb.register.domain import CLOSEOUT_REQUESTED, CONFIRMING_ROLES, OPEN_STATUSES, REGISTERED, RECTIFYING, ROLE_ZH, \
    SOURCES, STATUSES, SUPERVISION_LEVELS
from hazard_kb.register.schemas import (AcknowledgeIn, CloseIn, CloseoutRequestIn, ConfirmIn, EnterpriseIn, PlanIn, ProgressIn,
                                        RejectIn, SupervisionIn)
from hazard_kb.register.service import PERMISSIONS, Actor, Register

from ..routes.register import _engine_determine, get_register
from . import present as pr
from .interview import Draft, apply_action, build_view, from_form, from_inspection, today_iso
from .matching import MAX_TEXT_CHARS, MatchView, adopt_candidate, adoptable, run_match

log = logging.getLogger("hazard_kb.web")
HERE = Path(__file__).parent
COOKIE = "hazard_kb_token"
COOKIE_AGE = 12 * 3600
MAX_FORM_FIELDS = 50_000
templates = Jinja2Templates(directory=HERE / "templates")
env = templates.env
env.globals.update(value_zh=pr.value_zh, ref_zh=pr.ref_zh, article_lead=pr.article_lead, statutes_zh=pr.statutes_zh, law_href=pr.law_href, anchor=pr.anchor, cite_short=pr.cite_short,
                   local_time=pr.local_time, day=pr.day, ANSWER_CLASS=pr.ANSWER_CLASS, VERDICT_CLASS=pr.VERDICT_CLASS,
                   STATUS_CLASS=pr.STATUS_CLASS, ROLE_ZH=ROLE_ZH, version=__version__, legend=pr.legend, adoptable=adoptable,
                   MAX_DESCRIPTION=MAX_TEXT_CHARS)


class LoginRequired(Exception):
    def __init__(self, next_url: str, message: str | None = None):
        self.next_url, self.message = next_url, message


class PageError(Exception):
    def __init__(self, status: int, title: str, message: str):
        self.status, self.title, self.message = status, title, message


class WebRoute(APIRoute):
    """Errors of pages as pages (never problem+json, never a stack trace), and POSTs from other sites refused."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            if request.method == "POST" and not _same_origin(request):
                return _error(request, 403, "请求被拒绝", "该表单不是从本站提交的。")
            try:
                return await handler(request)
            except LoginRequired as exc:
                target = f"/app/login?next={quote(exc.next_url)}" + (f"&msg={quote(exc.message)}" if exc.message else "")
                return RedirectResponse(target, status_code=303)
            except PageError as exc:
                return _error(request, exc.status, exc.title, exc.message)
            except RegisterError as exc:
                if exc.status == 401:
                    return RedirectResponse(f"/app/login?msg={quote(pr.register_message(exc))}", status_code=303)
                return _error(request, exc.status, "未能完成", pr.register_message(exc))
            except RequestValidationError:
                return _error(request, 422, "地址有误", "请求的地址或参数不正确。")
            except StarletteHTTPException as exc:
                return _error(request, exc.status_code, "出错了", str(exc.detail))
            except (EngineTimeout, EngineBusy, EngineFailure) as exc:
                return _error(request, *_engine_trouble(exc))
            except Exception:  # noqa: BLE001 - logged, never shown
                log.exception("web page %s failed", request.url.path)
                return _error(request, 500, "内部错误", "服务器出现意外错误，已记录。请稍后重试。")

        return route_handler


router = APIRouter(prefix="/app", include_in_schema=False, route_class=WebRoute)


def _engine_trouble(exc: Exception) -> tuple[int, str, str]:
    """(status, title, message) of an engine that could not determine."""
    if isinstance(exc, EngineTimeout):
        return 504, "判定超时", "判定引擎在规定时间内没有完成，已重新启动。请稍后再试。"
    if isinstance(exc, EngineBusy):
        return 503, "判定引擎繁忙", "判定引擎正忙于其他判定，请稍后再试。"
    return 503, "判定引擎故障", "判定引擎未能完成本次判定（没有返回部分结果），已重新启动。请重试。"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlparse(origin).netloc == request.headers.get("host", "")


def _kb(request: Request):
    return request.app.state.engine.kb


# ------------------------------------------------------------------------------------------------ rendering
def render(request: Request, name: str, ctx: dict | None = None, status: int = 200) -> HTMLResponse:
    ctx = dict(ctx or {})
    who = getattr(request.state, "who", None)
    if who is None and request.cookies.get(COOKIE):
        who = _who(request)
    ctx.setdefault("who", who or None)
    ctx.setdefault("path", request.url.path)
    eng = getattr(request.app.state, "engine", None)
    ctx.setdefault("kb_version", eng.kb.version if eng else "")
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _error(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    try:
        return render(request, "error.html", {"title": title, "message": message, "status": status}, status)
    except Exception:  # noqa: BLE001 - the error page itself failed: plain text, still Chinese
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>{title}</title><p>{message}</p>", status_code=status)


# ------------------------------------------------------------------------------------------------ users
class Who:
    def __init__(self, actor: Actor, reg: Register, me):
        self.actor, self.reg, self.me = actor, reg, me
        self.roles = sorted(actor.roles)
        self.roles_zh = pr.roles_zh(self.roles)
        self.may = pr.permissions_zh(self.roles)

    def can(self, action: str) -> bool:
        return bool(self.actor.roles & PERMISSIONS[action])


def _who(request: Request) -> Who | None:
    """The user of the cookie's token, or None (no cookie, or a token no longer valid)."""
    if hasattr(request.state, "who"):
        return request.state.who
    token = request.cookies.get(COOKIE)
    who = None
    if token:
        try:
            reg = get_register(request)
            actor = reg.authenticate(token)
            who = Who(actor, reg, reg.user(actor.user_id))
        except RegisterError:
            who = None
    request.state.who = who
    return who


def _login(request: Request) -> Who:
    who = _who(request)
    if who is None:
        msg = "登录已失效，请重新登录。" if request.cookies.get(COOKIE) else None
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""), msg)
    return who


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/app") and not target.startswith("//") else "/app/register"


@router.get("/login")
def login_page(request: Request, next: str | None = None, msg: str | None = None):
    return render(request, "login.html", {"next": _safe_next(next), "message": msg, "who": _who(request)})


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    token = (form.get("token") or "").strip()
    target = _safe_next(form.get("next"))

    def check() -> HTMLResponse | None:
        try:
            get_register(request).authenticate(token)
        except RegisterError as exc:
            return render(request, "login.html", {"next": target, "error": pr.register_message(exc), "who": None}, 401)
        return None

    refused = await run_in_threadpool(check)
    if refused is not None:
        return refused
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, max_age=COOKIE_AGE, httponly=True, samesite="lax", path="/app",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout(request: Request):
    response = RedirectResponse("/app/login?msg=" + quote("已退出登录。"), status_code=303)
    response.delete_cookie(COOKIE, path="/app")
    return response


# ------------------------------------------------------------------------------------------------ home and law
@router.get("")
def home(request: Request):
    return render(request, "home.html", {"who": _who(request)})


@router.get("/law")
def law_index(request: Request):
    docs = cat.standards(_kb(request))
    return render(request, "law_index.html", {"standards": [d for d in docs if d.kind == "standard"],
                                              "others": [d for d in docs if d.kind != "standard"]})


@router.get("/law/{doc_id}")
def law_document(request: Request, doc_id: str):
    kb = _kb(request)
    if doc_id not in kb.ontology.documents:
        raise PageError(404, "没有这个文件", f"知识库中没有文件“{doc_id}”。")
    return render(request, "law_doc.html", {"doc": cat.law_outline(kb, doc_id)})


# ------------------------------------------------------------------------------------------------ inspect
SECTOR_ORDER = ("冶金", "有色", "建材", "机械", "轻工", "纺织", "烟草", "商贸", "粉尘涉爆", "涉氨制冷", "有限空间作业",
                "化工和危险化学品生产经营", "烟花爆竹生产经营", "城镇燃气经营", "房屋市政工程施工", "电力")


def _sectors(kb) -> tuple[list, list]:
    """Industries and regimes to choose from: those of the 工贸 standard first, in its order, then the others."""
    sectors = sorted(cat.sectors(kb), key=lambda s: (SECTOR_ORDER.index(s.label) if s.label in SECTOR_ORDER else len(SECTOR_ORDER), s.label))
    return [s for s in sectors if s.kind == "industry"], [s for s in sectors if s.kind == "regime"]


def _drop(inspection: dict, problems) -> dict | None:
    """The inspection without what the problems are about, so the rest can still be determined; None when what is
    wrong is the enterprise itself (nothing can be determined without it)."""
    insp = json.loads(json.dumps(inspection))
    drop_objects: set[int] = set()
    for p in problems:
        loc = tuple(x for x in p if x != "body") if not hasattr(p, "loc") else tuple(p.loc)
        if loc[:1] == ("objects",) and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(insp.get("objects", [])):
            if len(loc) > 3 and loc[2] == "properties":
                insp["objects"][loc[1]].get("properties", {}).pop(loc[3], None)
            else:
                drop_objects.add(loc[1])
        elif loc[:2] == ("enterprise", "properties") and len(loc) > 2:
            insp["enterprise"].get("properties", {}).pop(loc[2], None)
        elif loc[:1] == ("absent",) and len(loc) > 1 and isinstance(loc[1], int):
            insp["absent"][loc[1]] = None
        elif loc[:1] == ("date",):
            insp.pop("date", None)
        elif loc[:2] in (("enterprise", "industries"), ("enterprise", "regimes")) and len(loc) > 2:
            insp["enterprise"][loc[1]][loc[2]] = None
        else:
            return None
    insp["absent"] = [a for a in insp.get("absent", []) if a is not None]
    for key in ("industries", "regimes"):
        insp["enterprise"][key] = [x for x in insp["enterprise"].get(key, []) if x is not None]
    if not insp["enterprise"]["industries"]:
        return None
    gone = {insp["objects"][i]["ref"] for i in drop_objects}
    insp["objects"] = [o for i, o in enumerate(insp.get("objects", [])) if i not in drop_objects]
    for holder in [insp["enterprise"].get("properties", {}), *(o.get("properties", {}) for o in insp["objects"])]:
        for k, v in list(holder.items()):
            if isinstance(v, list) and gone & set(v):
                holder[k] = [r for r in v if r not in gone]
    return insp


def determine_draft(request: Request, draft: Draft, need_name: bool = False):
    """(determination, interview, checklist, problems) of a draft. Input problems are named in Chinese; the values
    they are about are left out and the rest is determined, so the interview goes on around a mistyped number."""
    kb = _kb(request)
    determine, _, _ = _engine_determine(request)
    problems: list[pr.FieldProblem] = []
    refs = draft.refs()
    inspection = draft.inspection()
    if not need_name and not draft.name:
        inspection["enterprise"]["name"] = "（未填写企业名称）"
    det = None
    for _ in range(4):
        try:
            body = InspectionIn.model_validate(inspection).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            problems += pr.pydantic_problems(kb, exc, refs)
            inspection = _drop(inspection, [e["loc"] for e in exc.errors()])
            if inspection is None:
                break
            continue
        try:
            det = Determination.model_validate(determine(body, None))
            break
        except InspectionError as exc:
            problems += [pr.inspection_problem(kb, p.loc, p.msg, p.expected, p.suggestions, refs) for p in exc.problems]
            inspection = _drop(body, exc.problems)
            if inspection is None:
                break
    if det is None:
        return None, None, None, problems
    n = normalize(kb, body)
    checklist = build_checklist(kb, list(n.sectors), n.as_of, documents_in_force(kb, n))
    return det, next_questions(det), checklist, problems


async def _form(request: Request):
    return await request.form(max_files=2, max_fields=MAX_FORM_FIELDS)


def _interview_page(request: Request, draft: Draft, problems=None, focus: str | None = None, status: int = 200,
                    need_name: bool = False, add_choices: dict[str, str] | None = None,
                    match: MatchView | None = None) -> HTMLResponse:
    kb = _kb(request)
    det = iv = checklist = None
    found: list[pr.FieldProblem] = list(problems or [])
    if draft.started:
        det, iv, checklist, more = determine_draft(request, draft, need_name)
        found += more
    view = build_view(kb, draft, iv, checklist, found, add_choices)
    industries, regimes = _sectors(kb)
    who = _who(request)
    enterprises = []
    if who is not None:
        try:
            enterprises = who.reg.enterprises(who.actor)
        except RegisterError:
            enterprises = []
    ctx = {"draft": draft, "view": view, "industries": industries, "regimes": regimes, "focus": focus, "who": who,
           "enterprises": enterprises, "det": det, "today": today_iso(), "match": match}
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "interview"
    return render(request, "_interview.html" if partial else "inspect.html", ctx, status)


@router.get("/inspect")
def inspect_start(request: Request):
    return _interview_page(request, Draft(date=today_iso()))


@router.post("/inspect")
async def inspect_step(request: Request):
    form = await _form(request)
    kb = _kb(request)
    draft = from_form(kb, form)
    action = form.get("action") or ""
    focus = None
    problems: list[pr.FieldProblem] = []
    match = None
    if action == "pick":
        code = form.get("pick") or ""
        who = _who(request)
        if who is not None and code:
            try:
                ent = await run_in_threadpool(who.reg.enterprise, who.actor, code)
                draft.name, draft.credit_code = ent.name, ent.credit_code
                draft.industries = list(ent.industries)
                draft.region = f"{ent.province}{ent.city}{ent.county}{ent.town}"
            except RegisterError as exc:
                problems.append(pr.FieldProblem("pick", "登记册中的企业", pr.register_message(exc)))
    elif action.startswith("adopt:"):  # 采用 a candidate of the 隐患描述 box
        match = await run_in_threadpool(adopt_candidate, kb, draft, action[len("adopt:"):], _determine_one(request))
    elif action:
        focus = apply_action(kb, draft, action, form)
    adds = {k[4:]: str(form.get(k)) for k in form.keys() if k.startswith("add.")}
    return await run_in_threadpool(_interview_page, request, draft, problems, focus, 200, False, adds, match)


def _determine_one(request: Request) -> Callable[[dict], dict]:
    """The engine as POST /v1/matches runs it: the child process when served, in-process otherwise."""
    determine, _, _ = _engine_determine(request)
    return lambda inspection: determine(inspection, None)


@router.post("/inspect/match")
async def inspect_match(request: Request):
    """隐患描述 → candidate items (the matcher's own path, as POST /v1/matches). htmx asks for the result only; without
    script the whole page comes back with it."""
    form = await _form(request)
    kb = _kb(request)
    draft = from_form(kb, form)

    def work():
        match = run_match(kb, draft, _determine_one(request))
        if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "match-result":
            return render(request, "_match_result.html", {"match": match})  # 200: htmx swaps it, problems included
        return _interview_page(request, draft, status=422 if match.problems else 200, match=match)
    return await run_in_threadpool(work)


class _PlainYaml(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: an uploaded file cannot expand into a huge structure."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not accepted")
        return super().compose_node(parent, index)


@router.post("/inspect/load")
async def inspect_load(request: Request):
    """An inspection as JSON (the determination page's 返回修改) or an uploaded YAML/JSON file, back into the form."""
    form = await _form(request)
    kb = _kb(request)
    text = form.get("inspection")
    upload = form.get("file")
    if upload is not None and hasattr(upload, "read"):
        raw = await upload.read()
        text = raw.decode("utf-8", errors="replace")
    try:
        data = yaml.load(text or "", Loader=_PlainYaml)  # noqa: S506 - a SafeLoader without aliases
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("inspection"), dict):
        data = data["inspection"]  # a fixture file: description, inspection, expected
    if not isinstance(data, dict) or not isinstance(data.get("enterprise"), dict):
        message = "导入的内容不是检查记录：需要 YAML 或 JSON，含 enterprise（企业）和 objects（对象）。"
        return await run_in_threadpool(lambda: render(request, "inspect.html", _empty_ctx(request, message), 422))
    draft = from_inspection(kb, data)
    return await run_in_threadpool(_interview_page, request, draft)


def _empty_ctx(request: Request, message: str) -> dict:
    kb = _kb(request)
    industries, regimes = _sectors(kb)
    draft = Draft(date=today_iso())
    return {"draft": draft, "view": build_view(kb, draft, None, None, [pr.FieldProblem("file", "导入", message)]),
            "industries": industries, "regimes": regimes, "focus": None, "who": _who(request), "enterprises": [], "det": None,
            "today": today_iso()}


@router.post("/inspect/result")
async def inspect_result(request: Request):
    form = await _form(request)
    kb = _kb(request)
    draft = from_form(kb, form)
    return await run_in_threadpool(_result, request, draft)


def _result(request: Request, draft: Draft):
    kb = _kb(request)
    if not draft.started or not draft.name:
        problems = []
        if not draft.name:
            problems.append(pr.FieldProblem("name", "企业名称", "必填"))
        if not draft.started:
            problems.append(pr.FieldProblem("industries", "行业", "请至少选择一个行业"))
        return _interview_page(request, draft, problems, status=422, need_name=True)
    det, _, _, problems = determine_draft(request, draft, need_name=True)
    if problems or det is None:
        return _interview_page(request, draft, status=422, need_name=True)
    who = _who(request)
    return render(request, "determination.html", {
        "det": det, "kb": kb, "inspection_json": json.dumps(draft.inspection(), ensure_ascii=False), "who": who,
        "can_save": who is not None and who.can("records.create"), "rule_zh": lambda r: pr.rule_zh(kb, r)})


def _class_zh(kb, name: str) -> str:
    onto = kb.ontology
    cls = onto.classes.get(onto.class_aliases.get(name, name))
    return cls.label if cls else name


def _inspection_from_field(form) -> dict:
    try:
        data = json.loads(form.get("inspection") or "")
    except ValueError:
        raise PageError(422, "检查记录有误", "页面携带的检查记录不是有效的 JSON，请返回重新填写。") from None
    if not isinstance(data, dict):
        raise PageError(422, "检查记录有误", "页面携带的检查记录不完整，请返回重新填写。")
    return data


@router.post("/inspect/record")
async def inspect_print(request: Request):
    """The printable 检查记录 of the inspection the determination page carries (determined again: same input, same
    knowledge base, same answer)."""
    form = await _form(request)
    data = _inspection_from_field(form)
    kb = _kb(request)

    def work():
        draft = from_inspection(kb, data)
        det, _, _, problems = determine_draft(request, draft, need_name=True)
        if det is None or problems:
            raise PageError(422, "检查记录有误", "；".join(p.text for p in problems) or "无法判定。")
        return render(request, "print.html", {"det": det, "inspection": draft.inspection(), "record": None, "kb": kb,
                                              "class_zh": lambda c: _class_zh(kb, c),
                                              "rule_zh": lambda r: pr.rule_zh(kb, r), "inspectors": form.get("inspectors") or ""})
    return await run_in_threadpool(work)


# ------------------------------------------------------------------------------------------------ records
@router.post("/records")
async def save_record(request: Request):
    form = await _form(request)
    data = _inspection_from_field(form)

    def work():
        who = _login(request)
        who.reg.require(who.actor, "records.create")
        determine, version, content_hash = _engine_determine(request)
        try:
            body = InspectionIn.model_validate(data).model_dump(mode="json", by_alias=True)
            output = determine(body, None)
        except (ValidationError, InspectionError):
            raise PageError(422, "检查记录有误", "检查记录无法判定，请返回修改后再保存。") from None
        rec = who.reg.save_record(who.actor, body, output, version, content_hash)
        return RedirectResponse(f"/app/records/{rec.id}?saved=1", status_code=303)
    return await run_in_threadpool(work)


@router.get("/records")
def records_page(request: Request, enterprise: str | None = None):
    who = _login(request)
    recs = who.reg.records(who.actor, enterprise or None, 200, 0)
    return render(request, "records.html", {"records": recs, "enterprise": enterprise or ""})


def _record_context(request: Request, who: Who, record_id: int) -> dict:
    kb = _kb(request)
    rec = who.reg.record(who.actor, record_id)
    try:
        det = Determination.model_validate(rec.output)
    except ValidationError:
        det = None
    registered = {}
    if rec.enterprise_id is not None and rec.credit_code:
        for e in who.reg.entries(who.actor, enterprise=rec.credit_code, limit=None).items:
            if e.record_id == rec.id and e.basis:
                registered[e.basis.pinpoint] = e
    enterprises = who.reg.enterprises(who.actor) if rec.enterprise_id is None else []
    return {"rec": rec, "det": det, "kb": kb, "registered": registered, "enterprises": enterprises,
            "can_register": who.can("entries.create"), "can_read": who.can("read"), "rule_zh": lambda r: pr.rule_zh(kb, r)}


@router.get("/records/{record_id}")
def record_page(request: Request, record_id: int, saved: int = 0):
    who = _login(request)
    return render(request, "record.html", {**_record_context(request, who, record_id), "saved": bool(saved)})


REEVAL_TARGET = "reevaluation"


@router.get("/records/{record_id}/reevaluation")
def record_reevaluation(request: Request, record_id: int):
    """按现行知识库重新判定: the register's own re-evaluation (Register.reevaluate, as GET
    /v1/records/{id}/reevaluation; nothing is stored). htmx asks for the result only, refusals included (200, so
    it is swapped in); without script the record page comes back with it, refusals as error pages."""
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == REEVAL_TARGET
    who = _who(request) if partial else _login(request)
    if who is None:
        return render(request, "_reevaluation.html", {"failure": "登录已失效，请重新登录后再试。", "login": True,
                                                      "record_id": record_id})
    kb = _kb(request)
    try:
        determine, version, _ = _engine_determine(request)
        rv = who.reg.reevaluate(who.actor, record_id, determine, version)
    except ValidationError:
        failure = (422, "无法重新判定",
                   "该记录保存的检查内容不符合现行检查记录的格式，无法按现行知识库重新判定；记录本身不受影响。")
    except RegisterError as exc:
        if not partial:
            raise
        failure = (exc.status, "未能完成", pr.register_message(exc))
    except (EngineTimeout, EngineBusy, EngineFailure) as exc:
        if not partial:
            raise
        failure = _engine_trouble(exc)
    else:
        failure = None
    if failure is not None:
        if partial:
            return render(request, "_reevaluation.html", {"failure": failure[2]})
        raise PageError(*failure)
    objects = None
    if rv.input_problems:
        rec = who.reg.record(who.actor, record_id)
        objects = [(o.get("ref"), o.get("class")) for o in rec.input.get("objects", []) if isinstance(o, dict)]
    ctx = {"reeval": pr.reevaluation_view(kb, rv, objects)}
    if partial:
        return render(request, "_reevaluation.html", ctx)
    return render(request, "record.html", {**_record_context(request, who, record_id), **ctx, "saved": False})


@router.get("/records/{record_id}/print")
def record_print(request: Request, record_id: int, inspectors: str = ""):
    who = _login(request)
    kb = _kb(request)
    rec = who.reg.record(who.actor, record_id)
    try:
        det = Determination.model_validate(rec.output)
    except ValidationError:
        raise PageError(409, "无法打印", "该判定记录的输出格式较旧，无法生成检查记录；可“以此为底稿再检查”后打印。") from None
    return render(request, "print.html", {"det": det, "inspection": rec.input, "record": rec, "kb": kb,
                                          "class_zh": lambda c: _class_zh(kb, c),
                                          "rule_zh": lambda r: pr.rule_zh(kb, r), "inspectors": inspectors})


@router.post("/records/{record_id}/entries")
async def register_from_record(request: Request, record_id: int):
    form = await _form(request)

    def work():
        who = _login(request)
        deadline = _date(form.get("deadline"), "deadline")
        try:
            entry = who.reg.register_from_record(who.actor, record_id, form.get("pinpoint") or "",
                                                 enterprise=form.get("enterprise") or None, deadline=deadline,
                                                 description=(form.get("description") or "").strip() or None)
        except RegisterError as exc:
            if exc.status == 401:
                raise
            ctx = _record_context(request, who, record_id)
            return render(request, "record.html", {**ctx, "error": pr.register_message(exc), "saved": False}, exc.status)
        return RedirectResponse(f"/app/register/{entry.id}?done=registered", status_code=303)
    return await run_in_threadpool(work)


def _date(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PageError(422, "日期有误", f"{pr.FIELD_ZH.get(field, field)}：日期格式应为 年-月-日（如 2026-12-31）。") from None


# ------------------------------------------------------------------------------------------------ enterprises
@router.get("/enterprises")
def enterprises_page(request: Request):
    who = _login(request)
    industries, _ = _sectors(_kb(request))
    return render(request, "enterprises.html", {"enterprises": who.reg.enterprises(who.actor), "industries": industries,
                                                "values": {}, "errors": []})


@router.post("/enterprises")
async def add_enterprise(request: Request):
    form = await _form(request)

    def work():
        who = _login(request)
        industries, _ = _sectors(_kb(request))
        values = {k: (form.get(k) or "").strip() for k in ("name", "credit_code", "province", "city", "county", "town", "address")}
        values["credit_code"] = values["credit_code"].upper()
        data = {k: v for k, v in values.items() if v or k != "address"}
        if not data.get("address"):
            data.pop("address", None)
        data["industries"] = [x for x in form.getlist("industries") if x]
        errors: list[str] = []
        try:
            who.reg.add_enterprise(who.actor, EnterpriseIn.model_validate(data))
        except ValidationError as exc:
            errors = [m for _, m in pr.form_problems(exc)]
        except RegisterError as exc:
            if exc.status == 401:
                raise
            errors = [pr.register_message(exc)]
        if errors:
            return render(request, "enterprises.html", {"enterprises": who.reg.enterprises(who.actor), "industries": industries,
                                                        "values": {**values, "industries": data["industries"]}, "errors": errors}, 422)
        return RedirectResponse("/app/enterprises?added=1", status_code=303)
    return await run_in_threadpool(work)


# ------------------------------------------------------------------------------------------------ register
FILTERS = ("status", "overdue", "industry", "standard", "source", "supervised", "province", "city", "county", "town", "enterprise")
PAGE = 50


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    if q.get("status") in STATUSES:
        out["status"] = q["status"]
    if q.get("source") in SOURCES:
        out["source"] = q["source"]
    for key in ("overdue", "supervised"):
        if q.get(key) in ("1", "0"):
            out[key] = q[key] == "1"
    for key in ("industry", "standard", "province", "city", "county", "town", "enterprise"):
        if q.get(key):
            out[key] = q[key].strip()[:200]
    return out


@router.get("/register")
def register_page(request: Request, page: int = 1):
    who = _login(request)
    kb = _kb(request)
    filters = _filters(request)
    page = max(1, min(page, 100_000))
    result = who.reg.entries(who.actor, limit=PAGE, offset=(page - 1) * PAGE, **filters)
    industries, _ = _sectors(kb)
    standards = [s for s in cat.standards(kb) if s.kind == "standard"]
    query = {k: ("1" if v is True else "0" if v is False else v) for k, v in filters.items()}
    return render(request, "register.html", {
        "entries": result.items, "total": result.total, "page": page, "pages": max(1, -(-result.total // PAGE)),
        "filters": query, "statuses": STATUSES, "sources": SOURCES, "industries": industries, "standards": standards,
        "query": "&".join(f"{k}={quote(str(v))}" for k, v in query.items())})


def _entry_actions(who: Who, e) -> list[str]:
    """The forms to offer: what the user's roles may do (register PERMISSIONS) in the entry's status (the register
    decides again, and refuses with its reason, when the form is sent)."""
    status = e.status
    mine = {c.user.id for c in e.confirmations}
    done_roles = {c.role for c in e.confirmations}
    offer = {
        "acknowledge": status in OPEN_STATUSES and not e.acknowledged,
        "plan": status in (REGISTERED, RECTIFYING),
        "progress": status in OPEN_STATUSES,
        "supervise": status in OPEN_STATUSES or e.supervision is not None,
        "request_closeout": status == RECTIFYING,
        "confirm": status == CLOSEOUT_REQUESTED and who.actor.user_id not in mine
        and bool(set(CONFIRMING_ROLES) & who.actor.roles - done_roles),
        "reject": status == CLOSEOUT_REQUESTED,
        "close": status == CLOSEOUT_REQUESTED and not e.missing_confirmations,
    }
    return [a for a, ok in offer.items() if ok and who.can(a)]


DONE_ZH = {"registered": "已登记。", "acknowledge": "已签收。", "plan": "整改方案已保存。", "progress": "整改进展已记录。",
           "supervise": "督办信息已保存。", "request_closeout": "已申请销号。", "confirm": "已确认。", "reject": "已驳回。",
           "close": "已销号。"}


def _entry_page(request: Request, who: Who, entry_id: int, status: int = 200, error: str | None = None,
                form_errors: list[str] | None = None, values: dict | None = None, action: str | None = None,
                done: str | None = None) -> HTMLResponse:
    kb = _kb(request)
    e = who.reg.entry(who.actor, entry_id)
    events = who.reg.events(who.actor, entry_id)
    confirm_roles = [r for r in CONFIRMING_ROLES if r in who.actor.roles and r not in {c.role for c in e.confirmations}]
    return render(request, "entry.html", {
        "e": e, "events": events, "actions": _entry_actions(who, e), "error": error, "form_errors": form_errors or [],
        "values": values or {}, "failed_action": action, "done": DONE_ZH.get(done or ""), "kb": kb,
        "levels": SUPERVISION_LEVELS, "confirm_roles": confirm_roles, "statuses": STATUSES, "today": today_iso(),
        "rule_zh": lambda r: pr.rule_zh(kb, r)}, status)


@router.get("/register/{entry_id}")
def entry_page(request: Request, entry_id: int, done: str | None = None):
    who = _login(request)
    return _entry_page(request, who, entry_id, done=done)


ACTIONS: dict[str, tuple[type, Callable]] = {
    "acknowledge": (AcknowledgeIn, lambda reg, a, i, b: reg.acknowledge(a, i, b.reason)),
    "plan": (PlanIn, lambda reg, a, i, b: reg.set_plan(a, i, b.model_dump(exclude={"reason"}), b.reason)),
    "progress": (ProgressIn, lambda reg, a, i, b: reg.progress(a, i, b.note)),
    "supervise": (SupervisionIn, lambda reg, a, i, b: reg.supervise(a, i, b.level, b.authority, b.reason)),
    "request_closeout": (CloseoutRequestIn, lambda reg, a, i, b: reg.request_closeout(a, i, b.report, b.completed_on, b.reason)),
    "confirm": (ConfirmIn, lambda reg, a, i, b: reg.confirm(a, i, b.role, b.opinion, b.checked_on)),
    "reject": (RejectIn, lambda reg, a, i, b: reg.reject(a, i, b.reason, b.findings)),
    "close": (CloseIn, lambda reg, a, i, b: reg.close_out(a, i, b.reason)),
}


@router.post("/register/{entry_id}/{action}")
async def entry_action(request: Request, entry_id: int, action: str):
    if action not in ACTIONS:
        raise PageError(404, "没有这个操作", f"登记册没有“{action}”这一操作。")
    form = await _form(request)
    values = {k: (form.get(k) or "").strip() for k in form.keys() if k != "action"}

    def work():
        who = _login(request)
        schema, call = ACTIONS[action]
        data: dict[str, Any] = {k: v for k, v in values.items() if v and k in schema.model_fields}
        if action == "supervise" and "level" not in data:
            data["level"] = None  # 摘牌
        try:
            body = schema.model_validate(data)
        except ValidationError as exc:
            msgs = [m for _, m in pr.form_problems(exc)]
            return _entry_page(request, who, entry_id, 422, form_errors=msgs, values=values, action=action)
        try:
            call(who.reg, who.actor, entry_id, body)
        except RegisterError as exc:
            if exc.status in (401, 404):
                raise
            return _entry_page(request, who, entry_id, exc.status, error=pr.register_message(exc), values=values, action=action)
        return RedirectResponse(f"/app/register/{entry_id}?done={action}", status_code=303)
    return await run_in_threadpool(work)


# ------------------------------------------------------------------------------------------------ statistics
@router.get("/stats")
def stats_page(request: Request, level: str = "county", on: str | None = None):
    who = _login(request)
    if level not in st.LEVELS:
        level = "county"
    day = _date(on, "date") if on else None
    stats = who.reg.stats(who.actor, day, level)
    charts = []
    for dim, title in (("region", f"按地区（{st.LEVEL_ZH[level]}）"), ("industry", "按行业"), ("item", "按判定条款"),
                       ("standard", "按标准")):
        rows, more = pr.bar_rows(stats["by"][dim])
        charts.append({"dim": dim, "title": title, "rows": rows, "more": more, "table": stats["by"][dim]})
    return render(request, "stats.html", {"stats": stats, "charts": charts, "level": level, "levels": st.LEVELS,
                                          "level_zh": st.LEVEL_ZH, "on": on or "", "t": stats["totals"]})


@router.get("/stats/export")
def stats_export(request: Request, level: str = "county", format: str = "csv"):
    who = _login(request)
    if level not in st.LEVELS:
        level = "county"
    stats = who.reg.stats(who.actor, None, level)
    if format == "xlsx":
        return Response(st.stats_xlsx(stats), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="register-stats.xlsx"'})
    return Response(st.to_csv(st.STATS_HEADERS, st.stats_rows(stats)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="register-stats.csv"'})

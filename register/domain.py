"""The life of a register entry as pure functions: which change is allowed in which state (`decide_*`), and
how an event changes the state (`apply`). The state is only ever the fold of the entry's events; the service
stores it as a projection and `replay` recomputes it from the events to check that projection.

Status flow: 登记 → 整改中 (a rectification plan is set) → 申请销号 (the enterprise applies for close-out)
→ 已销号 (closed after the on-site check confirmed by 监管人员, 安全专家 and 企业负责人: three different users in
the three roles); 驳回 sends an application back to 整改中 and starts a new round of confirmations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .errors import Conflict, Invalid

try:
    from zoneinfo import ZoneInfo

    TZ = ZoneInfo("Asia/Shanghai")  # deadlines are calendar days in China
except Exception:  # pragma: no cover - no tz database on the machine
    from datetime import timedelta, timezone

    TZ = timezone(timedelta(hours=8), "CST")


def local_date(moment: datetime) -> date:
    return moment.astimezone(TZ).date()

REGISTERED, RECTIFYING, CLOSEOUT_REQUESTED, CLOSED = "登记", "整改中", "申请销号", "已销号"
STATUSES = (REGISTERED, RECTIFYING, CLOSEOUT_REQUESTED, CLOSED)
OPEN_STATUSES = (REGISTERED, RECTIFYING, CLOSEOUT_REQUESTED)
SOURCES = ("企业自查", "监督检查", "群众举报查实")
SUPERVISION_LEVELS = ("国家级", "省级", "市级", "县级")

INSPECTOR, EXPERT, PRINCIPAL, AUDITOR, ADMIN = "inspector", "expert", "enterprise_principal", "auditor", "admin"
ROLES = (INSPECTOR, EXPERT, PRINCIPAL, AUDITOR, ADMIN)
ROLE_ZH = {INSPECTOR: "监管人员", EXPERT: "安全专家", PRINCIPAL: "企业负责人", AUDITOR: "审计（只读）", ADMIN: "管理员"}
CONFIRMING_ROLES = (INSPECTOR, EXPERT, PRINCIPAL)

EVENT_ZH = {
    "registered": "登记", "acknowledged": "企业签收", "plan_set": "制定整改方案", "plan_revised": "修改整改方案",
    "progress": "整改进展", "supervision_set": "挂牌督办", "supervision_lifted": "摘牌",
    "closeout_requested": "申请销号", "confirmed": "现场核查确认", "rejected": "驳回", "closed": "销号",
}


@dataclass(frozen=True)
class Draft:
    """An event not yet stored: what the service appends (with seq, actor, time) if the transaction commits."""

    kind: str
    data: dict[str, Any]
    reason: str | None
    role: str


@dataclass
class Event:
    seq: int
    kind: str
    actor_id: int
    actor_role: str
    at: datetime
    reason: str | None
    data: dict[str, Any] = field(default_factory=dict)


def _need(state: dict, *statuses: str, action: str) -> None:
    if state["status"] not in statuses:
        raise Conflict(f"cannot {action} an entry in status {state['status']}; allowed in: {'、'.join(statuses)}",
                       "/problems/invalid-transition", "Not allowed in this status", entry_status=state["status"],
                       allowed_in=list(statuses))


def _reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise Invalid(f"{what} needs a reason", errors=[{"field": "reason", "message": "a reason is required",
                                                          "expected": "a non-empty text"}])
    return reason.strip()


# ---------------------------------------------------------------------------------------------- decisions
def decide_acknowledge(state: dict, user_id: int, role: str, reason: str | None) -> Draft:
    _need(state, *OPEN_STATUSES, action="acknowledge")
    if state.get("acknowledged"):
        raise Conflict(f"already acknowledged by user {state['acknowledged']['by']} at {state['acknowledged']['at']}",
                       "/problems/already-done", "Already acknowledged")
    return Draft("acknowledged", {}, reason, role)


def decide_plan(state: dict, plan: dict, role: str, reason: str | None, today: date) -> Draft:
    _need(state, REGISTERED, RECTIFYING, action="set the rectification plan of")
    deadline = date.fromisoformat(plan["deadline"])
    registered = local_date(datetime.fromisoformat(state["registered_at"]))
    if deadline < registered:
        raise Invalid(f"时限 {deadline} is before the entry was registered ({registered})",
                      errors=[{"field": "deadline", "message": "before the registration date", "expected": f"≥ {registered}"}])
    if state["plan"] is None:
        return Draft("plan_set", {"plan": plan}, reason, role)
    return Draft("plan_revised", {"plan": plan, "previous": state["plan"]}, _reason(reason, "revising a rectification plan"), role)


def decide_progress(state: dict, note: str, role: str) -> Draft:
    _need(state, *OPEN_STATUSES, action="report progress on")
    return Draft("progress", {"note": note}, None, role)


def decide_supervision(state: dict, level: str | None, authority: str | None, role: str, reason: str | None) -> Draft:
    if level is None:
        if state["supervision"] is None:
            raise Conflict("the entry is not under listed supervision (挂牌督办)", "/problems/invalid-transition",
                           "Not allowed in this status")
        return Draft("supervision_lifted", {"previous": state["supervision"]}, _reason(reason, "lifting 挂牌督办"), role)
    _need(state, *OPEN_STATUSES, action="list for supervision (挂牌督办)")
    if level not in SUPERVISION_LEVELS:
        raise Invalid(f"unknown supervising level {level!r}", errors=[{"field": "level", "message": "unknown level",
                                                                       "expected": "one of " + "、".join(SUPERVISION_LEVELS)}])
    return Draft("supervision_set", {"level": level, "authority": authority}, _reason(reason, "挂牌督办"), role)


def decide_closeout_request(state: dict, report: str, completed_on: date | None, role: str, reason: str | None) -> Draft:
    _need(state, RECTIFYING, action="apply for close-out of")
    return Draft("closeout_requested", {"report": report, "completed_on": completed_on.isoformat() if completed_on else None},
                 reason, role)


def decide_confirm(state: dict, user_id: int, role: str, opinion: str | None, checked_on: date | None) -> Draft:
    _need(state, CLOSEOUT_REQUESTED, action="confirm the close-out check of")
    if role not in CONFIRMING_ROLES:
        raise Invalid(f"confirmations are given as one of {', '.join(CONFIRMING_ROLES)}, not {role}")
    for c in state["confirmations"]:
        if c["user_id"] == user_id:
            raise Conflict(f"user {user_id} has already confirmed this close-out (as {c['role']}); the three confirmations "
                           "must come from three different users", "/problems/closeout-refused", "Close-out refused",
                           reason_code="same_user_twice")
        if c["role"] == role:
            raise Conflict(f"the {role} ({ROLE_ZH[role]}) confirmation was already given by user {c['user_id']}",
                           "/problems/closeout-refused", "Close-out refused", reason_code="role_already_confirmed")
    return Draft("confirmed", {"role": role, "opinion": opinion, "checked_on": checked_on.isoformat() if checked_on else None},
                 None, role)


def decide_reject(state: dict, role: str, reason: str | None, findings: str | None) -> Draft:
    _need(state, CLOSEOUT_REQUESTED, action="reject the close-out of")
    return Draft("rejected", {"findings": findings, "confirmations_discarded": state["confirmations"]},
                 _reason(reason, "驳回"), role)


def closeout_gaps(state: dict) -> dict[str, Any]:
    """What is still missing for close-out: roles without a confirmation, users counted twice."""
    confirmations = state["confirmations"]
    roles = {c["role"] for c in confirmations}
    users = [c["user_id"] for c in confirmations]
    return {"missing_roles": [r for r in CONFIRMING_ROLES if r not in roles],
            "repeated_users": sorted({u for u in users if users.count(u) > 1})}


def decide_close(state: dict, role: str, reason: str | None) -> Draft:
    _need(state, CLOSEOUT_REQUESTED, action="close out")
    gaps = closeout_gaps(state)
    distinct = {c["user_id"] for c in state["confirmations"]}
    if gaps["missing_roles"] or gaps["repeated_users"] or len(distinct) < len(CONFIRMING_ROLES):
        missing = "、".join(f"{r}（{ROLE_ZH[r]}）" for r in gaps["missing_roles"])
        raise Conflict("close-out needs the on-site check confirmed by three different users as inspector, expert and "
                       f"enterprise_principal; missing: {missing or 'none'}"
                       + (f"; confirmed twice by users {gaps['repeated_users']}" if gaps["repeated_users"] else ""),
                       "/problems/closeout-refused", "Close-out refused", **gaps,
                       confirmations=[{"role": c["role"], "user_id": c["user_id"]} for c in state["confirmations"]])
    return Draft("closed", {"confirmations": state["confirmations"]}, reason, role)


# ---------------------------------------------------------------------------------------------- folding
def new_state(entry_id: int, data: dict, ev: Event) -> dict:
    return {
        "id": entry_id, "enterprise_id": data["enterprise_id"], "source": data["source"], "record_id": data.get("record_id"),
        "basis": data.get("basis"), "description": data["description"], "evidence": data.get("evidence"),
        "discovered_on": data.get("discovered_on"), "registered_at": ev.at.isoformat(), "registered_by": ev.actor_id,
        "notified": data.get("notified", []), "status": REGISTERED, "deadline": data.get("deadline"), "plan": None,
        "acknowledged": None, "supervision": None, "closeout_request": None, "confirmations": [], "rounds": 1,
        "closed_at": None, "closed_by": None, "closed_late": None, "progress_notes": 0,
        "history": [{"status": REGISTERED, "at": ev.at.isoformat(), "by": ev.actor_id, "seq": ev.seq}], "version": ev.seq,
    }


def apply(state: dict | None, entry_id: int, ev: Event) -> dict:
    """The state after one event (the input state is not modified)."""
    if ev.kind == "registered":
        if state is not None:
            raise ValueError(f"entry {entry_id}: registered twice")
        return new_state(entry_id, ev.data, ev)
    if state is None:
        raise ValueError(f"entry {entry_id}: event {ev.seq} ({ev.kind}) before registration")
    if ev.seq != state["version"] + 1:
        raise ValueError(f"entry {entry_id}: event seq {ev.seq} follows {state['version']}")
    s = copy.deepcopy(state)
    at = ev.at.isoformat()

    def move(status: str) -> None:
        s["status"] = status
        s["history"].append({"status": status, "at": at, "by": ev.actor_id, "seq": ev.seq})

    k, d = ev.kind, ev.data
    if k == "acknowledged":
        s["acknowledged"] = {"by": ev.actor_id, "at": at}
    elif k in ("plan_set", "plan_revised"):
        s["plan"] = d["plan"]
        s["deadline"] = d["plan"]["deadline"]
        if s["status"] == REGISTERED:
            move(RECTIFYING)
    elif k == "progress":
        s["progress_notes"] += 1
    elif k == "supervision_set":
        s["supervision"] = {"level": d["level"], "authority": d.get("authority"), "since": at, "by": ev.actor_id}
    elif k == "supervision_lifted":
        s["supervision"] = None
    elif k == "closeout_requested":
        s["closeout_request"] = {"report": d["report"], "completed_on": d.get("completed_on"), "by": ev.actor_id, "at": at}
        s["confirmations"] = []
        move(CLOSEOUT_REQUESTED)
    elif k == "confirmed":
        s["confirmations"].append({"role": d["role"], "user_id": ev.actor_id, "at": at, "opinion": d.get("opinion"),
                                   "checked_on": d.get("checked_on")})
    elif k == "rejected":
        s["confirmations"] = []
        s["rounds"] += 1
        move(RECTIFYING)
    elif k == "closed":
        s["closed_at"] = at
        s["closed_by"] = ev.actor_id
        s["closed_late"] = bool(s["deadline"]) and local_date(ev.at) > date.fromisoformat(s["deadline"])
        move(CLOSED)
    else:
        raise ValueError(f"entry {entry_id}: unknown event kind {k!r}")
    s["version"] = ev.seq
    return s


def replay(entry_id: int, events: list[Event]) -> dict | None:
    state = None
    for ev in sorted(events, key=lambda e: e.seq):
        state = apply(state, entry_id, ev)
    return state

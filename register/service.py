"""The register as one object over a database: users and tokens, enterprises, determination records, entries.

Every change to an entry is one transaction that (1) locks the entry (PostgreSQL: SELECT … FOR UPDATE on its
projection row; SQLite: the transaction began with BEGIN IMMEDIATE, which holds the database's write lock),
(2) decides from the current state whether the change is allowed, (3) appends the event with the next seq and
(4) writes the new state to the projection row. The event and the projection commit together or not at all;
UNIQUE(entry_id, seq) is the backstop should two writers ever read the same version. Lock waits, deadlocks,
serialisation failures and seq collisions are retried (the decision is remade on the fresh state).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import auth, domain, records, validate
from .db import database_url, make_engine, read_engine, upgrade
from .domain import ADMIN, AUDITOR, CLOSED, EXPERT, INSPECTOR, OPEN_STATUSES, PRINCIPAL, ROLE_ZH, ROLES, Draft, Event
from .errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from .models import ApiToken, DeterminationRecord, Enterprise, RegisterEntry, RegisterEvent, User, UserRole
from .schemas import (Basis, Confirmation, EnterpriseIn, EnterpriseView, EntryPage, EntryView, EventView, HazardRef, Me,
                      Plan, RecordSummary, RecordView, Reevaluation, StatusChange, Supervision, UserRef)

T = TypeVar("T")
MAX_ATTEMPTS = 8
ALL_ROLES = frozenset(ROLES)
# who may do what; an enterprise principal only ever for its own enterprise
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": ALL_ROLES,
    "enterprises.create": frozenset({INSPECTOR, ADMIN}),
    "records.create": frozenset({INSPECTOR, EXPERT, PRINCIPAL, ADMIN}),
    "entries.create": frozenset({INSPECTOR, EXPERT, PRINCIPAL, ADMIN}),
    "acknowledge": frozenset({PRINCIPAL}),
    "plan": frozenset({PRINCIPAL, INSPECTOR, ADMIN}),
    "progress": frozenset({PRINCIPAL, INSPECTOR, EXPERT, ADMIN}),
    "supervise": frozenset({INSPECTOR, ADMIN}),
    "request_closeout": frozenset({PRINCIPAL, INSPECTOR, ADMIN}),
    "confirm": frozenset({INSPECTOR, EXPERT, PRINCIPAL}),
    "reject": frozenset({INSPECTOR, EXPERT}),
    "close": frozenset({INSPECTOR, ADMIN}),
}
ROLE_ORDER = (INSPECTOR, EXPERT, ADMIN, PRINCIPAL, AUDITOR)


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    roles: frozenset[str]
    enterprise_id: int | None = None
    display_name: str = ""

    @property
    def scope(self) -> int | None:
        """The only enterprise this user may see (enterprise principals), or None for all."""
        return self.enterprise_id if PRINCIPAL in self.roles else None


MAX_ID = 2**31 - 1  # ids are 32-bit integers on both databases


def _known_id(value: int, what: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise NotFound(f"no {what} {value}")
    return value


def parse_token(token: str | None) -> tuple[str, str]:
    """(key id, secret) of a well-formed token; Unauthorized, saying what is wrong, otherwise."""
    if not token:
        raise Unauthorized("this endpoint needs a bearer token (Authorization: Bearer hk_…); `hazard-kb users add` issues one")
    parsed = auth.parse(token)
    if parsed is None:
        raise Unauthorized("malformed token: expected hk_<key>_<secret>")
    return parsed


def _now() -> datetime:
    return datetime.now(UTC)


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    if code in ("40001", "40P01", "55P03"):  # serialization failure, deadlock, lock not available
        return True
    if isinstance(exc, IntegrityError):
        return code in (None, "23505")  # a unique key taken by a concurrent writer: decide again on fresh state
    text = str(orig).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


class Register:
    def __init__(self, url: str | None = None, *, migrate: bool = True, kb=None, clock: Callable[[], datetime] | None = None):
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.reader = read_engine(self.engine)
        self.kb = kb  # CompiledKB: checks industries and pinpoints, gives the legal basis of entries from other channels
        self.clock = clock or _now
        self.before_commit: Callable[[str], None] | None = None  # test hook: called inside each write transaction
        if migrate:
            upgrade(self.engine)

    def close(self) -> None:
        """Release the database connections (not the close-out of an entry: that is close_out)."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def today(self) -> date:
        return domain.local_date(self.clock())

    # ------------------------------------------------------------------------------------------- plumbing
    def _write(self, fn: Callable[[Session], T], label: str = "write") -> T:
        for attempt in range(MAX_ATTEMPTS):
            try:
                with Session(self.engine, expire_on_commit=False, autoflush=False) as s:
                    with s.begin():
                        result = fn(s)
                        s.flush()
                        if self.before_commit is not None:
                            self.before_commit(label)
                    return result
            except DBAPIError as exc:
                if attempt == MAX_ATTEMPTS - 1 or not _retryable(exc):
                    if isinstance(exc, IntegrityError):
                        raise Conflict(f"the change conflicts with stored data: {str(exc.orig).splitlines()[0]}") from None
                    raise
                time.sleep(min(0.5, 0.01 * 2 ** attempt) * random.random())
        raise AssertionError("unreachable")

    def _read(self, fn: Callable[[Session], T]) -> T:
        with Session(self.reader, expire_on_commit=False) as s:
            with s.begin():
                return fn(s)

    def require(self, actor: Actor, action: str, wanted: str | None = None) -> str:
        """The role the actor does `action` in; Forbidden when it holds none that may (see PERMISSIONS)."""
        return self._role(actor, action, wanted)

    @staticmethod
    def _role(actor: Actor, action: str, wanted: str | None = None) -> str:
        allowed = PERMISSIONS[action]
        if wanted is not None:
            if wanted not in actor.roles:
                raise Forbidden(f"you do not hold the role {wanted}", held=sorted(actor.roles))
            if wanted not in allowed:
                raise Forbidden(f"{action} is not done as {wanted}", needed=sorted(allowed))
            return wanted
        for r in ROLE_ORDER:
            if r in actor.roles and r in allowed:
                return r
        raise Forbidden(f"{action} needs one of the roles {', '.join(sorted(allowed))}; you hold {', '.join(sorted(actor.roles)) or 'none'}",
                        needed=sorted(allowed), held=sorted(actor.roles))

    @staticmethod
    def _visible(actor: Actor, enterprise_id: int | None) -> bool:
        return actor.scope is None or enterprise_id == actor.scope

    @staticmethod
    def _user_refs(s: Session, ids: Iterable[int | None]) -> dict[int, UserRef]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = s.execute(select(User.id, User.username, User.display_name).where(User.id.in_(wanted))).all()
        return {r.id: UserRef(id=r.id, username=r.username, display_name=r.display_name) for r in rows}

    # ------------------------------------------------------------------------------------------- users and tokens
    def add_user(self, username: str, roles: Iterable[str], display_name: str | None = None,
                 enterprise: str | None = None, token_label: str | None = None) -> tuple[Me, str]:
        """Create a user with roles and a first API token; returns the user and the token (shown only now)."""
        roles = sorted(set(roles))
        if not roles:
            raise Invalid("a user needs at least one role", errors=[{"field": "roles", "message": "no role", "expected": ", ".join(ROLES)}])
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise Invalid(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
        if PRINCIPAL in roles and len(roles) > 1:
            raise Invalid("an enterprise principal holds no other role (the close-out check needs the enterprise and the "
                          "regulators to be different people)")
        if (PRINCIPAL in roles) != (enterprise is not None):
            raise Invalid("an enterprise principal is linked to its enterprise (--enterprise CREDIT_CODE), and only a principal is")
        if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise Invalid(f"invalid username {username!r}: letters, digits, '-', '_' and '.', at most 64")

        def work(s: Session):
            if s.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"user {username!r} exists")
            ent_id = None
            if enterprise is not None:
                code = validate.check_credit_code(enterprise, "enterprise")
                ent_id = s.scalar(select(Enterprise.id).where(Enterprise.credit_code == code))
                if ent_id is None:
                    raise NotFound(f"no enterprise with 统一社会信用代码 {code}; add it first")
            now = self.clock()
            user = User(username=username, display_name=display_name or username, enterprise_id=ent_id, created_at=now,
                        roles=[UserRole(role=r, granted_at=now) for r in roles])
            s.add(user)
            s.flush()
            token = self._new_token(s, user.id, token_label)
            return user.id, token

        user_id, token = self._write(work, "users.add")
        return self.user(user_id), token

    def _new_token(self, s: Session, user_id: int, label: str | None) -> str:
        token, key_id, secret = auth.new_token()
        scheme, salt, digest = auth.hash_secret(secret)
        s.add(ApiToken(user_id=user_id, key_id=key_id, scheme=scheme, salt=salt, digest=digest, label=label, created_at=self.clock()))
        return token

    def issue_token(self, username: str, label: str | None = None) -> str:
        def work(s: Session):
            uid = s.scalar(select(User.id).where(User.username == username))
            if uid is None:
                raise NotFound(f"no user {username!r}")
            return self._new_token(s, uid, label)
        return self._write(work, "tokens.issue")

    def revoke_token(self, key_or_token: str) -> None:
        parsed = auth.parse(key_or_token)
        key_id = parsed[0] if parsed else key_or_token

        def work(s: Session):
            tok = s.scalar(select(ApiToken).where(ApiToken.key_id == key_id))
            if tok is None:
                raise NotFound(f"no token {key_id!r}")
            if tok.revoked_at is None:
                tok.revoked_at = self.clock()
        self._write(work, "tokens.revoke")

    def authenticate(self, token: str | None) -> Actor:
        key_id, secret = parse_token(token)

        def work(s: Session):
            row = s.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.key_id == key_id)).first()
            if row is None:
                return None
            tok, user = row
            return tok, Actor(user.id, user.username, user.role_names, user.enterprise_id, user.display_name)

        found = self._read(work)
        if found is None or not auth.verify(token, secret, found[0].scheme, found[0].salt, found[0].digest):
            raise Unauthorized("invalid token")
        if found[0].revoked_at is not None:
            raise Unauthorized("this token was revoked")
        return found[1]

    def user(self, user_id: int) -> Me:
        def work(s: Session):
            u = s.get(User, user_id)
            if u is None:
                raise NotFound(f"no user {user_id}")
            ent = s.get(Enterprise, u.enterprise_id) if u.enterprise_id else None
            return Me(id=u.id, username=u.username, display_name=u.display_name, roles=sorted(u.role_names),
                      enterprise=EnterpriseView.model_validate(ent, from_attributes=True) if ent else None)
        return self._read(work)

    def users(self) -> list[Me]:
        ids = self._read(lambda s: list(s.scalars(select(User.id).order_by(User.id))))
        return [self.user(i) for i in ids]

    # ------------------------------------------------------------------------------------------- enterprises
    def add_enterprise(self, actor: Actor | None, data: EnterpriseIn | dict) -> EnterpriseView:
        """Register an enterprise (actor None: the local CLI operator). Enterprises are append-only."""
        if actor is not None:
            self._role(actor, "enterprises.create")
        data = data if isinstance(data, EnterpriseIn) else EnterpriseIn.model_validate(data)
        code = validate.check_credit_code(data.credit_code)
        industries = validate.industries(self.kb, data.industries)

        def work(s: Session):
            if s.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) is not None:
                raise Conflict(f"an enterprise with 统一社会信用代码 {code} is registered", "/problems/duplicate", "Already registered")
            ent = Enterprise(**data.model_dump(exclude={"credit_code", "industries"}), credit_code=code, industries=industries,
                             created_at=self.clock(), created_by=actor.user_id if actor else None)
            s.add(ent)
            s.flush()
            return EnterpriseView.model_validate(ent, from_attributes=True)
        return self._write(work, "enterprises.add")

    def enterprises(self, actor: Actor) -> list[EnterpriseView]:
        self._role(actor, "read")

        def work(s: Session):
            q = select(Enterprise).order_by(Enterprise.id)
            if actor.scope is not None:
                q = q.where(Enterprise.id == actor.scope)
            return [EnterpriseView.model_validate(e, from_attributes=True) for e in s.scalars(q)]
        return self._read(work)

    def enterprise(self, actor: Actor, credit_code: str) -> EnterpriseView:
        self._role(actor, "read")

        def work(s: Session):
            e = s.scalar(select(Enterprise).where(Enterprise.credit_code == credit_code.strip().upper()))
            if e is None or not self._visible(actor, e.id):
                raise NotFound(f"no enterprise {credit_code}")
            return EnterpriseView.model_validate(e, from_attributes=True)
        return self._read(work)

    # ------------------------------------------------------------------------------------------- determination records
    def save_record(self, actor: Actor, inspection: dict, output: dict, kb_version: str, kb_content_hash: str) -> RecordView:
        """Store a determination with its full input and output; records are never changed afterwards."""
        self._role(actor, "records.create")
        enterprise = inspection.get("enterprise") or {}
        code = enterprise.get("credit_code")
        if code:
            code = validate.check_credit_code(code, "inspection.enterprise.credit_code")
        if output.get("kb_version") != kb_version:
            raise Invalid(f"the determination was made with kb {output.get('kb_version')}, not {kb_version}")

        def work(s: Session):
            ent_id = s.scalar(select(Enterprise.id).where(Enterprise.credit_code == code)) if code else None
            if actor.scope is not None:
                if code and ent_id != actor.scope:
                    raise Forbidden("an enterprise principal saves determinations of its own enterprise only")
                ent_id = actor.scope
            rec = DeterminationRecord(
                created_at=self.clock(), created_by=actor.user_id, enterprise_id=ent_id, enterprise_name=enterprise.get("name", ""),
                credit_code=code, as_of=date.fromisoformat(output["as_of"]), answer=output["answer"],
                hazards=[h["pinpoint"] for h in output.get("hazards", [])], kb_version=kb_version, kb_content_hash=kb_content_hash,
                engine=output.get("engine", ""), input=inspection, output=output, input_sha256=records.sha256(inspection),
                output_sha256=records.sha256(output))
            s.add(rec)
            s.flush()
            return rec.id
        rid = self._write(work, "records.save")
        return self.record(actor, rid)

    def _record_row(self, s: Session, actor: Actor, record_id: int) -> DeterminationRecord:
        rec = s.get(DeterminationRecord, _known_id(record_id, "determination record"))
        if rec is None or not self._visible(actor, rec.enterprise_id):
            raise NotFound(f"no determination record {record_id}")
        return rec

    def _record_summary(self, rec: DeterminationRecord, users: dict[int, UserRef], cls=RecordSummary, **extra):
        return cls(id=rec.id, created_at=rec.created_at, created_by=users[rec.created_by], enterprise_id=rec.enterprise_id,
                   enterprise_name=rec.enterprise_name, credit_code=rec.credit_code, as_of=rec.as_of, answer=rec.answer,
                   hazards=[HazardRef(**h) for h in records.hazard_refs(rec.output)], kb_version=rec.kb_version,
                   kb_content_hash=rec.kb_content_hash, engine=rec.engine, input_sha256=rec.input_sha256,
                   output_sha256=rec.output_sha256, **extra)

    def record(self, actor: Actor, record_id: int) -> RecordView:
        self._role(actor, "read")

        def work(s: Session):
            rec = self._record_row(s, actor, record_id)
            intact = records.sha256(rec.input) == rec.input_sha256 and records.sha256(rec.output) == rec.output_sha256
            return self._record_summary(rec, self._user_refs(s, [rec.created_by]), RecordView, input=rec.input,
                                        output=rec.output, intact=intact)
        return self._read(work)

    def records(self, actor: Actor, enterprise: str | None = None, limit: int = 100, offset: int = 0) -> list[RecordSummary]:
        self._role(actor, "read")

        def work(s: Session):
            q = select(DeterminationRecord).order_by(DeterminationRecord.id.desc()).limit(limit).offset(offset)
            if actor.scope is not None:
                q = q.where(DeterminationRecord.enterprise_id == actor.scope)
            if enterprise:
                q = q.where(DeterminationRecord.credit_code == enterprise.strip().upper())
            recs = list(s.scalars(q))
            users = self._user_refs(s, [r.created_by for r in recs])
            return [self._record_summary(r, users) for r in recs]
        return self._read(work)

    def reevaluate(self, actor: Actor, record_id: int, determine: Callable[[dict, date], dict], kb_version: str,
                   on: date | None = None, include_determination: bool = False) -> Reevaluation:
        """Determine the saved input again with today's knowledge base (as of the record's date unless `on` is
        given) and say what would change. Nothing is stored: the record itself never changes."""
        from hazard_kb.engine.inspection import InspectionError

        rec = self.record(actor, record_id)
        as_of = on or rec.as_of
        inp = dict(rec.input)
        if on is not None:
            inp["date"] = on.isoformat()
        base = {"record_id": rec.id, "as_of": as_of, "then_kb_version": rec.kb_version, "now_kb_version": kb_version,
                "then_answer": rec.answer}
        try:
            now = determine(inp, as_of)
        except InspectionError as exc:
            return Reevaluation(**base, kb_changed=rec.kb_version != kb_version, now_answer=None, unchanged=False,
                                input_problems=[{"field": ".".join(map(str, p.loc)), "message": p.msg, "expected": p.expected,
                                                 "suggestions": list(p.suggestions)} for p in exc.problems])
        diff = records.compare(rec.output, now)
        return Reevaluation(**base, kb_changed=rec.kb_version != kb_version, now_answer=now["answer"], **diff,
                            unchanged=not diff["changes"] and not diff["hazards_added"] and not diff["hazards_removed"]
                            and now["answer"] == rec.answer, now=now if include_determination else None)

    # ------------------------------------------------------------------------------------------- entries: creation
    def _basis_from_kb(self, pinpoint: str) -> dict:
        if self.kb is None:
            raise Invalid("a pinpoint can only be checked against the knowledge base, which is not loaded here")
        from hazard_kb.engine.determine import citation

        prov = self.kb.ontology.provisions.get(pinpoint)
        if prov is None or prov.kind != "criterion":
            raise Invalid(f"no criterion {pinpoint!r} in the knowledge base (pinpoints look like gongmao-2023/art12/item2)",
                          errors=[{"field": "pinpoint", "message": "unknown criterion", "expected": "a criterion pinpoint"}])
        c = citation(self.kb, pinpoint)
        return Basis(pinpoint=pinpoint, standard=prov.doc, document=c.document, doc_number=c.doc_number, article=c.article,
                     item=c.item, text=c.text, kb_version=self.kb.version).model_dump(mode="json")

    def _source_for(self, role: str, source: str | None) -> str:
        if role == PRINCIPAL:
            if source not in (None, "企业自查"):
                raise Forbidden("an enterprise principal registers hazards found by its own self-inspection (企业自查) only")
            return "企业自查"
        return source or "监督检查"

    def register_from_record(self, actor: Actor, record_id: int, pinpoint: str, *, enterprise: str | None = None,
                             source: str | None = None, description: str | None = None, evidence: str | None = None,
                             deadline: date | None = None, reason: str | None = None) -> EntryView:
        """An entry for one violated item of a saved determination; it carries the item's text and the evidence."""
        role = self._role(actor, "entries.create")
        source = self._source_for(role, source)

        def work(s: Session):
            rec = self._record_row(s, actor, record_id)
            hazard = next((h for h in rec.output.get("hazards", []) if h["pinpoint"] == pinpoint), None)
            if hazard is None:
                raise Invalid(f"{pinpoint!r} is not a violated item of determination {record_id}; its hazards are "
                              f"{', '.join(rec.hazards) or 'none'}", errors=[{"field": "pinpoint", "message": "not violated in this record",
                                                                             "expected": "one of " + ", ".join(rec.hazards)}])
            ent = self._entry_enterprise(s, actor, enterprise, rec)
            existing = s.scalar(select(RegisterEntry.id).where(RegisterEntry.record_id == record_id, RegisterEntry.pinpoint == pinpoint))
            if existing is not None:
                raise Conflict(f"item {pinpoint} of determination {record_id} is already register entry {existing}",
                               "/problems/duplicate", "Already registered", entry_id=existing)
            basis = Basis(pinpoint=pinpoint, standard=hazard["standard"], document=hazard["document"], doc_number=hazard["doc_number"],
                          article=hazard.get("article"), item=hazard.get("item"), text=hazard["text"],
                          findings=hazard.get("findings", []), kb_version=rec.kb_version).model_dump(mode="json")
            subjects = "、".join(dict.fromkeys(f["subject"] for f in hazard.get("findings", [])))
            desc = description or (f"{subjects}：{hazard['text']}" if subjects else hazard["text"])
            data = {"source": source, "record_id": record_id, "basis": basis, "description": desc, "evidence": evidence,
                    "discovered_on": rec.as_of.isoformat(), "deadline": deadline.isoformat() if deadline else None}
            return self._register(s, actor, role, ent, data, reason)
        return self.entry(actor, self._write(work, "entries.register"))

    def register_entry(self, actor: Actor, *, source: str | None, enterprise: str, description: str, pinpoint: str | None = None,
                       evidence: str | None = None, discovered_on: date | None = None, deadline: date | None = None,
                       reason: str | None = None) -> EntryView:
        """An entry reported through another channel: 企业自查, 监督检查, 群众举报查实."""
        role = self._role(actor, "entries.create")
        source = self._source_for(role, source)
        if not description or not description.strip():
            raise Invalid("an entry needs a description of the hazard", errors=[{"field": "description", "message": "required",
                                                                               "expected": "隐患描述"}])
        basis = self._basis_from_kb(pinpoint) if pinpoint else None

        def work(s: Session):
            ent = self._entry_enterprise(s, actor, enterprise, None)
            data = {"source": source, "record_id": None, "basis": basis, "description": description.strip(), "evidence": evidence,
                    "discovered_on": (discovered_on or self.today()).isoformat(),
                    "deadline": deadline.isoformat() if deadline else None}
            return self._register(s, actor, role, ent, data, reason)
        return self.entry(actor, self._write(work, "entries.register"))

    def _entry_enterprise(self, s: Session, actor: Actor, code: str | None, rec: DeterminationRecord | None) -> Enterprise:
        ent = None
        if code:
            code = validate.check_credit_code(code, "enterprise")
            ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == code))
            if ent is None or not self._visible(actor, ent.id):
                raise NotFound(f"no registered enterprise with 统一社会信用代码 {code}")
            if rec is not None and rec.enterprise_id is not None and rec.enterprise_id != ent.id:
                raise Invalid(f"determination {rec.id} is of another enterprise ({rec.enterprise_name}, {rec.credit_code})")
        elif rec is not None and rec.enterprise_id is not None:
            ent = s.get(Enterprise, rec.enterprise_id)
        if ent is None:
            raise Invalid("name the enterprise (its 统一社会信用代码): the determination does not name a registered one",
                          errors=[{"field": "enterprise", "message": "required", "expected": "统一社会信用代码 of a registered enterprise"}])
        return ent

    def _register(self, s: Session, actor: Actor, role: str, ent: Enterprise, data: dict, reason: str | None) -> int:
        data = {**data, "enterprise_id": ent.id}
        data["notified"] = list(s.scalars(select(User.username).join(UserRole, UserRole.user_id == User.id)
                                          .where(User.enterprise_id == ent.id, UserRole.role == PRINCIPAL).order_by(User.username)))
        basis = data.get("basis") or {}
        now = self.clock().astimezone(UTC)
        row = RegisterEntry(enterprise_id=ent.id, source=data["source"], record_id=data.get("record_id"), pinpoint=basis.get("pinpoint"),
                            standard=basis.get("standard"), status=domain.REGISTERED, deadline=None, supervision_level=None,
                            registered_at=now, registered_by=actor.user_id, closed_at=None, version=0, state={})
        s.add(row)
        s.flush()
        self._append(s, row, None, Draft("registered", data, reason, role), actor, now)
        return row.id

    def _append(self, s: Session, row: RegisterEntry, state: dict | None, draft: Draft, actor: Actor, at: datetime | None = None) -> dict:
        ev = Event(seq=row.version + 1, kind=draft.kind, actor_id=actor.user_id, actor_role=draft.role,
                   at=(at or self.clock()).astimezone(UTC),
                   reason=draft.reason, data=draft.data)
        new = domain.apply(state, row.id, ev)
        s.add(RegisterEvent(entry_id=row.id, seq=ev.seq, kind=ev.kind, actor_id=ev.actor_id, actor_role=ev.actor_role, at=ev.at,
                            reason=ev.reason, data=ev.data))
        _project(row, new)
        return new

    # ------------------------------------------------------------------------------------------- entries: changes
    def _change(self, actor: Actor, entry_id: int, action: str, decide: Callable[[dict, str], Draft], wanted_role: str | None = None) -> EntryView:
        role = self._role(actor, action, wanted_role)
        _known_id(entry_id, "register entry")

        def work(s: Session):
            row = s.scalar(select(RegisterEntry).where(RegisterEntry.id == entry_id).with_for_update())
            if row is None or not self._visible(actor, row.enterprise_id):
                raise NotFound(f"no register entry {entry_id}")
            self._append(s, row, row.state, decide(row.state, role), actor)
            return row.id
        return self.entry(actor, self._write(work, f"entries.{action}"))

    def acknowledge(self, actor: Actor, entry_id: int, reason: str | None = None) -> EntryView:
        return self._change(actor, entry_id, "acknowledge", lambda st, r: domain.decide_acknowledge(st, actor.user_id, r, reason))

    def set_plan(self, actor: Actor, entry_id: int, plan: Plan | dict, reason: str | None = None) -> EntryView:
        plan = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
        data = plan.model_dump(mode="json")
        return self._change(actor, entry_id, "plan", lambda st, r: domain.decide_plan(st, data, r, reason, self.today()))

    def progress(self, actor: Actor, entry_id: int, note: str) -> EntryView:
        return self._change(actor, entry_id, "progress", lambda st, r: domain.decide_progress(st, note, r))

    def supervise(self, actor: Actor, entry_id: int, level: str | None, authority: str | None, reason: str) -> EntryView:
        return self._change(actor, entry_id, "supervise", lambda st, r: domain.decide_supervision(st, level, authority, r, reason))

    def request_closeout(self, actor: Actor, entry_id: int, report: str, completed_on: date | None = None,
                         reason: str | None = None) -> EntryView:
        return self._change(actor, entry_id, "request_closeout",
                            lambda st, r: domain.decide_closeout_request(st, report, completed_on, r, reason))

    def confirm(self, actor: Actor, entry_id: int, role: str | None = None, opinion: str | None = None,
                checked_on: date | None = None) -> EntryView:
        if role is None:
            held = [r for r in domain.CONFIRMING_ROLES if r in actor.roles]
            if len(held) > 1:
                raise Invalid(f"you hold {', '.join(held)}: say which role you confirm in", errors=[{"field": "role", "message": "ambiguous",
                                                                                                   "expected": " or ".join(held)}])
            role = held[0] if held else None
        return self._change(actor, entry_id, "confirm", lambda st, r: domain.decide_confirm(st, actor.user_id, r, opinion, checked_on), role)

    def reject(self, actor: Actor, entry_id: int, reason: str, findings: str | None = None) -> EntryView:
        return self._change(actor, entry_id, "reject", lambda st, r: domain.decide_reject(st, r, reason, findings))

    def close_out(self, actor: Actor, entry_id: int, reason: str | None = None) -> EntryView:
        return self._change(actor, entry_id, "close", lambda st, r: domain.decide_close(st, r, reason))

    # ------------------------------------------------------------------------------------------- entries: reading
    def entry(self, actor: Actor, entry_id: int, on: date | None = None) -> EntryView:
        self._role(actor, "read")
        _known_id(entry_id, "register entry")

        def work(s: Session):
            row = s.execute(select(RegisterEntry, Enterprise).join(Enterprise).where(RegisterEntry.id == entry_id)).first()
            if row is None or not self._visible(actor, row[0].enterprise_id):
                raise NotFound(f"no register entry {entry_id}")
            return self._views(s, [row], on or self.today())[0]
        return self._read(work)

    def _views(self, s: Session, rows, today: date) -> list[EntryView]:
        ids = set()
        for e, _ in rows:
            st = e.state
            ids |= {st["registered_by"], st.get("closed_by"), *(c["user_id"] for c in st["confirmations"]),
                    *(h["by"] for h in st["history"])}
            if st["supervision"]:
                ids.add(st["supervision"]["by"])
        users = self._user_refs(s, ids)
        return [entry_view(e.state, EnterpriseView.model_validate(ent, from_attributes=True), users, today) for e, ent in rows]

    def _entries_query(self, actor: Actor, *, status: str | None = None, overdue: bool | None = None, enterprise: str | None = None,
                       province: str | None = None, city: str | None = None, county: str | None = None, town: str | None = None,
                       standard: str | None = None, pinpoint: str | None = None, source: str | None = None,
                       supervised: bool | None = None, on: date | None = None) -> Select:
        today = on or self.today()
        q = select(RegisterEntry, Enterprise).join(Enterprise)
        if actor.scope is not None:
            q = q.where(RegisterEntry.enterprise_id == actor.scope)
        if status:
            q = q.where(RegisterEntry.status == status)
        if overdue is not None:
            late = (RegisterEntry.status != CLOSED) & (RegisterEntry.deadline < today)
            q = q.where(late if overdue else ~late | RegisterEntry.deadline.is_(None))
        for col, val in ((Enterprise.credit_code, enterprise), (Enterprise.province, province), (Enterprise.city, city),
                         (Enterprise.county, county), (Enterprise.town, town), (RegisterEntry.standard, standard),
                         (RegisterEntry.pinpoint, pinpoint), (RegisterEntry.source, source)):
            if val:
                q = q.where(col == val)
        if supervised is not None:
            q = q.where(RegisterEntry.supervision_level.is_not(None) if supervised else RegisterEntry.supervision_level.is_(None))
        return q

    def entries(self, actor: Actor, *, industry: str | None = None, limit: int | None = 100, offset: int = 0,
                on: date | None = None, **filters) -> EntryPage:
        self._role(actor, "read")
        today = on or self.today()

        def work(s: Session):
            q = self._entries_query(actor, on=today, **filters)
            if industry:  # a list inside JSON: filtered here, on both databases alike
                rows = [r for r in s.execute(q.order_by(RegisterEntry.id)).all() if industry in r[1].industries]
                total, rows = len(rows), rows[offset:offset + limit if limit else None]
            else:
                total = s.scalar(select(func.count()).select_from(q.subquery()))
                page = q.order_by(RegisterEntry.id).offset(offset)
                rows = s.execute(page.limit(limit) if limit else page).all()
            return EntryPage(total=total, items=self._views(s, rows, today))
        return self._read(work)

    def overdue(self, actor: Actor, on: date | None = None) -> list[EntryView]:
        return self.entries(actor, overdue=True, on=on, limit=None).items

    def events(self, actor: Actor, entry_id: int) -> list[EventView]:
        self._role(actor, "read")
        _known_id(entry_id, "register entry")

        def work(s: Session):
            ent_id = s.scalar(select(RegisterEntry.enterprise_id).where(RegisterEntry.id == entry_id))
            if ent_id is None or not self._visible(actor, ent_id):
                raise NotFound(f"no register entry {entry_id}")
            evs = list(s.scalars(select(RegisterEvent).where(RegisterEvent.entry_id == entry_id).order_by(RegisterEvent.seq)))
            users = self._user_refs(s, [e.actor_id for e in evs])
            return [EventView(entry_id=e.entry_id, seq=e.seq, kind=e.kind, kind_zh=domain.EVENT_ZH.get(e.kind, e.kind),
                              actor=users[e.actor_id], actor_role=e.actor_role, at=e.at, reason=e.reason, data=e.data) for e in evs]
        return self._read(work)

    def stats(self, actor: Actor, on: date | None = None, level: str = "county") -> dict:
        from .stats import compute

        self._role(actor, "read")
        today = on or self.today()

        def work(s: Session):
            q = select(RegisterEntry, Enterprise).join(Enterprise)
            if actor.scope is not None:
                q = q.where(RegisterEntry.enterprise_id == actor.scope)
            return [(e.state, ent) for e, ent in s.execute(q.order_by(RegisterEntry.id)).all()]
        return compute(self._read(work), today, level)

    # ------------------------------------------------------------------------------------------- consistency
    def verify(self) -> dict:
        """Replay every entry's events and compare with its projection; check every record against its hashes."""
        problems: list[str] = []

        def work(s: Session):
            events: dict[int, list[Event]] = {}
            for e in s.scalars(select(RegisterEvent).order_by(RegisterEvent.entry_id, RegisterEvent.seq)):
                events.setdefault(e.entry_id, []).append(Event(e.seq, e.kind, e.actor_id, e.actor_role, e.at, e.reason, e.data))
            n_entries = 0
            for row in s.scalars(select(RegisterEntry).order_by(RegisterEntry.id)):
                n_entries += 1
                evs = events.pop(row.id, [])
                seqs = [e.seq for e in evs]
                if seqs != list(range(1, len(seqs) + 1)):
                    problems.append(f"entry {row.id}: event seqs {seqs} are not 1..{len(seqs)}")
                    continue
                try:
                    replayed = domain.replay(row.id, evs)
                except ValueError as exc:
                    problems.append(str(exc))
                    continue
                if replayed is None:
                    problems.append(f"entry {row.id}: no events")
                elif replayed != row.state or _columns(replayed) != _columns_of(row):
                    problems.append(f"entry {row.id}: projection (version {row.version}) differs from its {len(evs)} events")
            for entry_id in events:
                problems.append(f"events of entry {entry_id}, which has no projection row")
            n_records = 0
            for rec in s.scalars(select(DeterminationRecord)):
                n_records += 1
                if records.sha256(rec.input) != rec.input_sha256 or records.sha256(rec.output) != rec.output_sha256:
                    problems.append(f"determination record {rec.id}: stored input or output does not match its sha256")
            n_events = s.scalar(select(func.count()).select_from(RegisterEvent))
            return {"entries": n_entries, "events": n_events, "records": n_records}

        counts = self._read(work)
        return {"ok": not problems, **counts, "problems": problems}


def _columns(state: dict) -> dict:
    basis = state.get("basis") or {}
    return {"status": state["status"], "deadline": date.fromisoformat(state["deadline"]) if state["deadline"] else None,
            "supervision_level": (state["supervision"] or {}).get("level"), "version": state["version"],
            "closed_at": datetime.fromisoformat(state["closed_at"]) if state["closed_at"] else None,
            "pinpoint": basis.get("pinpoint"), "source": state["source"], "enterprise_id": state["enterprise_id"]}


def _columns_of(row: RegisterEntry) -> dict:
    return {k: getattr(row, k) for k in ("status", "deadline", "supervision_level", "version", "closed_at", "pinpoint", "source",
                                         "enterprise_id")}


def _project(row: RegisterEntry, state: dict) -> None:
    for k, v in _columns(state).items():
        setattr(row, k, v)
    row.state = state


def entry_number(entry_id: int, registered_at: str) -> str:
    return f"ZDYH-{registered_at[:4]}-{entry_id:06d}"


def entry_view(st: dict, enterprise: EnterpriseView, users: dict[int, UserRef], today: date) -> EntryView:
    deadline = date.fromisoformat(st["deadline"]) if st["deadline"] else None
    late = st["status"] in OPEN_STATUSES and deadline is not None and deadline < today
    sup = st["supervision"]
    gaps = domain.closeout_gaps(st) if st["status"] == domain.CLOSEOUT_REQUESTED else {"missing_roles": []}
    return EntryView(
        id=st["id"], number=entry_number(st["id"], st["registered_at"]), status=st["status"], source=st["source"],
        enterprise=enterprise, record_id=st["record_id"], basis=st["basis"], description=st["description"], evidence=st["evidence"],
        discovered_on=st["discovered_on"], registered_at=st["registered_at"], registered_by=users[st["registered_by"]],
        notified=st["notified"], acknowledged=st["acknowledged"], deadline=deadline, overdue=late,
        days_overdue=(today - deadline).days if late else None, plan=st["plan"],
        supervision=Supervision(level=sup["level"], authority=sup.get("authority"), since=sup["since"], by=users[sup["by"]]) if sup else None,
        closeout_request=st["closeout_request"],
        confirmations=[Confirmation(role=c["role"], role_zh=ROLE_ZH[c["role"]], user=users[c["user_id"]], at=c["at"],
                                    opinion=c.get("opinion"), checked_on=c.get("checked_on")) for c in st["confirmations"]],
        missing_confirmations=gaps["missing_roles"], rounds=st["rounds"], progress_notes=st["progress_notes"],
        closed_at=st["closed_at"], closed_by=users.get(st["closed_by"]) if st["closed_by"] else None, closed_late=st["closed_late"],
        history=[StatusChange(status=h["status"], at=h["at"], by=users[h["by"]], seq=h["seq"]) for h in st["history"]],
        version=st["version"])

"""`hazard-kb db|users|enterprises|records|register …`: the major-hazard register from the command line.

The database is --db, else $HAZARD_KB_DATABASE_URL, else ./hazard-kb.sqlite (migrations are applied on open).
Changes to the register are made as a user: --token, else $HAZARD_KB_TOKEN (the token `users add` printed).
`users add`, `enterprises add` without a token, and `db …` are the local operator's (whoever can open the
database); reading without a token reads as a local auditor.

Exit codes: 0 done; 1 refused (not found, not allowed in this status, close-out refused, no permission);
2 invalid input."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

db_app = typer.Typer(help="The register's database: migrations and a consistency check.", no_args_is_help=True)
users_app = typer.Typer(help="Users of the register, their roles and API tokens.", no_args_is_help=True)
enterprises_app = typer.Typer(help="Enterprises (统一社会信用代码, 属地 down to 乡镇/街道, 行业).", no_args_is_help=True)
records_app = typer.Typer(help="Saved determinations: full input and output, KB version, who and when; re-evaluation.",
                          no_args_is_help=True)
register_app = typer.Typer(help="The major-hazard register: entries, rectification, 挂牌督办, three-party close-out, statistics.",
                           no_args_is_help=True)

# tests replace these to reuse one engine; by default the project's knowledge base is loaded on demand
ENGINE_FACTORY: Callable[[], Any] | None = None

Db = Annotated[Optional[str], typer.Option("--db", envvar="HAZARD_KB_DATABASE_URL", show_envvar=True,
                                           help="database URL (default: ./hazard-kb.sqlite)")]
Token = Annotated[Optional[str], typer.Option("--token", envvar="HAZARD_KB_TOKEN", show_envvar=True, help="your API token (hk_…)")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable output")]
On = Annotated[Optional[str], typer.Option("--on", help="the day (YYYY-MM-DD) overdue is judged on; default today")]


# ------------------------------------------------------------------------------------------------ helpers
def _engine():
    global ENGINE_FACTORY
    if ENGINE_FACTORY is None:
        from hazard_kb.engine.service import Engine

        loaded = Engine.load()
        ENGINE_FACTORY = lambda: loaded  # noqa: E731
    return ENGINE_FACTORY()


def _kb():
    if ENGINE_FACTORY is not None:
        return ENGINE_FACTORY().kb
    from hazard_kb import project_root
    from hazard_kb.engine.compiler import compile_kb

    return compile_kb(project_root())


def _open(db: str | None, kb: bool = False):
    from hazard_kb.register import Register

    return Register(db, kb=_kb() if kb else None)


def _actor(reg, token: str | None, required: bool = True):
    from hazard_kb.register import Actor

    if token:
        return reg.authenticate(token)
    if required:
        _fail(1, "this changes the register as a user: give --token or set HAZARD_KB_TOKEN (from `hazard-kb users add`)")
    return Actor(0, "(local)", frozenset({"auditor"}))


def _fail(code: int, message: str, errors: list | None = None):
    typer.echo(f"error: {message}", err=True)
    for e in errors or []:
        hint = f" (expected {e['expected']})" if e.get("expected") else ""
        near = f"; did you mean {', '.join(e['suggestions'])}?" if e.get("suggestions") else ""
        typer.echo(f"  {e.get('field', '')}: {e.get('message', '')}{hint}{near}", err=True)
    raise typer.Exit(code)


def _run(fn: Callable[[], Any]) -> Any:
    from pydantic import ValidationError

    from hazard_kb.register import Invalid, RegisterError

    try:
        return fn()
    except Invalid as exc:
        _fail(2, exc.detail, exc.extra.get("errors"))
    except RegisterError as exc:
        extra = {k: v for k, v in exc.extra.items() if k in ("missing_roles", "repeated_users", "allowed_in", "needed")}
        _fail(1, exc.detail + (f" {json.dumps(extra, ensure_ascii=False)}" if extra else ""))
    except ValidationError as exc:
        _fail(2, "invalid input", [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()])


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(2, f"{name}: {value!r} is not a date (YYYY-MM-DD)")


def _print_json(value: Any) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _entry_line(e) -> str:
    basis = f"{e.basis.article or ''}{e.basis.item or ''} " if e.basis else ""
    late = f" 逾期{e.days_overdue}天" if e.overdue else ""
    sup = f" 挂牌督办({e.supervision.level})" if e.supervision else ""
    return f"#{e.id} {e.number} [{e.status}]{late}{sup} {e.enterprise.name} {basis}{e.description[:60]}"


def _show_entry(e, as_json: bool) -> None:
    if as_json:
        _print_json(e)
        return
    typer.echo(_entry_line(e))
    if e.status == "申请销号":
        typer.echo(f"  confirmations: {', '.join(f'{c.role}={c.user.username}' for c in e.confirmations) or 'none'}; "
                   f"missing: {', '.join(e.missing_confirmations) or 'none'}")
    if e.deadline:
        typer.echo(f"  时限 {e.deadline}")


def _export(path: Path, csv_bytes: Callable[[], bytes], xlsx_bytes: Callable[[], bytes]) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        _fail(2, f"--export {path}: the file name must end in .csv or .xlsx")
    path.write_bytes(csv_bytes() if suffix == ".csv" else xlsx_bytes())
    typer.echo(f"wrote {path}")


# ------------------------------------------------------------------------------------------------ db
@db_app.command("upgrade")
def db_upgrade(db: Db = None, revision: str = typer.Option("head", help="target revision")) -> None:
    """Apply the shipped migrations (also done automatically whenever the register is opened)."""
    from hazard_kb.register.db import make_engine, upgrade
    from sqlalchemy.engine import make_url

    engine = make_engine(db)
    try:
        rev = upgrade(engine, revision)
    finally:
        engine.dispose()
    typer.echo(f"{make_url(str(engine.url)).render_as_string(hide_password=True)} at revision {rev}")


@db_app.command("current")
def db_current(db: Db = None) -> None:
    """The database's revision and the newest shipped one."""
    from hazard_kb.register.db import current_revision, head_revision, make_engine

    engine = make_engine(db)
    try:
        typer.echo(f"current {current_revision(engine) or '(empty)'}; head {head_revision()}")
    finally:
        engine.dispose()


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Option("--message", "-m", help="what the migration does")], db: Db = None,
                autogenerate: Annotated[bool, typer.Option(help="diff the models against the database (at head)")] = True) -> None:
    """For developers: write the next migration into register/migrations/versions (after changing models.py)."""
    from alembic import command

    from hazard_kb.register.db import alembic_config, head_revision, make_engine, upgrade

    engine = make_engine(db)
    try:
        upgrade(engine)
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            script = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=f"{int(head_revision()) + 1:04d}")
    finally:
        engine.dispose()
    typer.echo(f"wrote {script.path}; review it, then `hazard-kb db upgrade`")


@db_app.command("verify")
def db_verify(db: Db = None, as_json: AsJson = False) -> None:
    """Replay every entry's events and compare with the stored state; check records against their sha256."""
    report = _open(db).verify()
    if as_json:
        _print_json(report)
    else:
        typer.echo(f"{'ok' if report['ok'] else 'PROBLEMS'}: {report['entries']} entries, {report['events']} events, "
                   f"{report['records']} determination records")
        for p in report["problems"]:
            typer.echo(f"  {p}")
    if not report["ok"]:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------------ users
@users_app.command("add")
def users_add(username: str, role: Annotated[list[str], typer.Option("--role", "-r", help="inspector, expert, enterprise_principal, auditor, admin (repeatable)")],
              name: Annotated[Optional[str], typer.Option("--name", help="display name")] = None,
              enterprise: Annotated[Optional[str], typer.Option("--enterprise", help="统一社会信用代码 (enterprise principals)")] = None,
              db: Db = None, as_json: AsJson = False) -> None:
    """Create a user with roles and print its first API token (shown only this once)."""
    reg = _open(db)
    user, token = _run(lambda: reg.add_user(username, role, name, enterprise))
    if as_json:
        _print_json({"user": user.model_dump(mode="json"), "token": token})
        return
    typer.echo(f"user {user.username} (#{user.id}) roles {', '.join(user.roles)}"
               + (f" of {user.enterprise.name}" if user.enterprise else ""), err=True)
    typer.echo("token (shown once; store it now):", err=True)
    typer.echo(token)


@users_app.command("list")
def users_list(db: Db = None, as_json: AsJson = False) -> None:
    """Users and their roles."""
    users = _open(db).users()
    if as_json:
        _print_json(users)
        return
    for u in users:
        typer.echo(f"#{u.id} {u.username} ({u.display_name}): {', '.join(u.roles)}" + (f" — {u.enterprise.name}" if u.enterprise else ""))


@users_app.command("token")
def users_token(username: str, label: Annotated[Optional[str], typer.Option(help="what the token is for")] = None, db: Db = None) -> None:
    """Issue another API token for a user (printed once)."""
    typer.echo(_run(lambda: _open(db).issue_token(username, label)))


@users_app.command("revoke")
def users_revoke(token_or_key: Annotated[str, typer.Argument(help="the token, or its key id (the part after hk_)")], db: Db = None) -> None:
    """Revoke an API token."""
    _run(lambda: _open(db).revoke_token(token_or_key))
    typer.echo("revoked")


# ------------------------------------------------------------------------------------------------ enterprises
@enterprises_app.command("add")
def enterprises_add(name: Annotated[str, typer.Option("--name", help="企业名称")],
                    credit_code: Annotated[str, typer.Option("--credit-code", help="统一社会信用代码")],
                    province: Annotated[str, typer.Option(help="省")], city: Annotated[str, typer.Option(help="市")],
                    county: Annotated[str, typer.Option(help="县（区）")], town: Annotated[str, typer.Option(help="乡镇（街道）")],
                    industry: Annotated[list[str], typer.Option("--industry", "-i", help="行业 (repeatable)")],
                    address: Annotated[Optional[str], typer.Option(help="地址")] = None,
                    db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Register an enterprise (as the local operator, or as the user of --token)."""
    reg = _open(db, kb=True)
    actor = _run(lambda: _actor(reg, token, required=False)) if token else None
    ent = _run(lambda: reg.add_enterprise(actor, dict(name=name, credit_code=credit_code, province=province, city=city,
                                                      county=county, town=town, industries=industry, address=address)))
    if as_json:
        _print_json(ent)
    else:
        typer.echo(f"enterprise #{ent.id} {ent.name} {ent.credit_code} {ent.region} {'、'.join(ent.industries)}")


@enterprises_app.command("list")
def enterprises_list(db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Registered enterprises."""
    reg = _open(db)
    ents = _run(lambda: reg.enterprises(_actor(reg, token, required=False)))
    if as_json:
        _print_json(ents)
        return
    for e in ents:
        typer.echo(f"#{e.id} {e.credit_code} {e.name} {e.region} {'、'.join(e.industries)}")


# ------------------------------------------------------------------------------------------------ records
@records_app.command("save")
def records_save(file: Path, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Determine an inspection file (YAML/JSON, as for `classify`) and save the determination."""
    from hazard_kb.cli import read_inspection
    from hazard_kb.engine.inspection import InspectionError, InspectionIn

    if not file.exists():
        _fail(2, f"no such file: {file}")
    reg = _open(db)
    actor = _run(lambda: _actor(reg, token))
    _run(lambda: reg.require(actor, "records.create"))
    engine = _engine()
    try:
        inspection = InspectionIn.model_validate(read_inspection(file)).model_dump(mode="json", by_alias=True)
        output = engine.determine(inspection).model_dump(mode="json")
    except InspectionError as exc:
        _fail(2, f"{file}: the inspection does not fit the ontology",
              [{"field": ".".join(map(str, p.loc)), "message": p.msg, "expected": p.expected, "suggestions": list(p.suggestions)}
               for p in exc.problems])
    except ValueError as exc:
        _fail(2, f"{file}: {exc}")
    rec = _run(lambda: reg.save_record(actor, inspection, output, engine.kb.version, engine.kb.content_hash))
    if as_json:
        _print_json(rec)
        return
    typer.echo(f"determination record #{rec.id}: {rec.enterprise_name} as of {rec.as_of}: {rec.answer} (kb {rec.kb_version})")
    for h in rec.hazards:
        typer.echo(f"  violated {h.pinpoint} {h.article or ''}{h.item or ''} {h.text}")


@records_app.command("list")
def records_list(enterprise: Annotated[Optional[str], typer.Option(help="统一社会信用代码")] = None, db: Db = None, token: Token = None,
                 as_json: AsJson = False) -> None:
    """Saved determinations, newest first."""
    reg = _open(db)
    recs = _run(lambda: reg.records(_actor(reg, token, required=False), enterprise))
    if as_json:
        _print_json(recs)
        return
    for r in recs:
        typer.echo(f"#{r.id} {r.created_at:%Y-%m-%d %H:%M} {r.created_by.username} {r.enterprise_name} as of {r.as_of}: {r.answer} "
                   f"({len(r.hazards)} hazards, kb {r.kb_version})")


@records_app.command("show")
def records_show(record_id: int, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """One saved determination, with its full input and output."""
    reg = _open(db)
    rec = _run(lambda: reg.record(_actor(reg, token, required=False), record_id))
    if as_json:
        _print_json(rec)
        return
    typer.echo(f"#{rec.id} {rec.enterprise_name} as of {rec.as_of}: {rec.answer}; saved {rec.created_at:%Y-%m-%d %H:%M} by "
               f"{rec.created_by.username}; kb {rec.kb_version} ({rec.kb_content_hash[:16]}…); "
               f"{'intact' if rec.intact else 'DOES NOT MATCH ITS SHA256'}")
    for h in rec.hazards:
        typer.echo(f"  violated {h.pinpoint} {h.article or ''}{h.item or ''} {h.text}")


@records_app.command("reevaluate")
def records_reevaluate(record_id: int, on: On = None, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Determine a saved input again with today's knowledge base and show what would change (nothing is stored)."""
    reg = _open(db)
    actor = _run(lambda: _actor(reg, token, required=False))
    engine = _engine()
    result = _run(lambda: reg.reevaluate(actor, record_id, lambda inp, today: engine.determine(inp, today=today).model_dump(mode="json"),
                                         engine.kb.version, _date(on, "--on")))
    if as_json:
        _print_json(result)
        return
    typer.echo(f"record #{record_id} as of {result.as_of}: kb {result.then_kb_version} → {result.now_kb_version}; "
               f"answer {result.then_answer} → {result.now_answer}; {'unchanged' if result.unchanged else 'CHANGED'}")
    for c in result.changes:
        typer.echo(f"  {c.pinpoint} {c.label}: {c.before} → {c.after}")
    for p in result.input_problems:
        typer.echo(f"  input no longer valid: {p['field']}: {p['message']}")


# ------------------------------------------------------------------------------------------------ register
@register_app.command("add")
def register_add(record: Annotated[Optional[int], typer.Option("--record", help="a saved determination")] = None,
                 pinpoint: Annotated[Optional[str], typer.Option(help="the violated item; with --record and no --pinpoint: every violated item")] = None,
                 source: Annotated[Optional[str], typer.Option(help="企业自查、监督检查、群众举报查实")] = None,
                 enterprise: Annotated[Optional[str], typer.Option(help="统一社会信用代码")] = None,
                 description: Annotated[Optional[str], typer.Option(help="隐患描述")] = None,
                 evidence: Annotated[Optional[str], typer.Option(help="证据、核查情况")] = None,
                 discovered_on: Annotated[Optional[str], typer.Option(help="发现日期")] = None,
                 deadline: Annotated[Optional[str], typer.Option(help="整改时限 YYYY-MM-DD")] = None,
                 reason: Annotated[Optional[str], typer.Option()] = None,
                 db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Register a major hazard: a violated item of a saved determination, or one reported through a channel."""
    reg = _open(db, kb=record is None and pinpoint is not None)
    actor = _run(lambda: _actor(reg, token))
    dl = _date(deadline, "--deadline")
    if record is not None:
        pins = [pinpoint] if pinpoint else [h.pinpoint for h in _run(lambda: reg.record(actor, record)).hazards]
        if not pins:
            _fail(1, f"determination {record} found no major hazard")
        entries = [_run(lambda p=p: reg.register_from_record(actor, record, p, enterprise=enterprise, source=source,
                                                             description=description, evidence=evidence, deadline=dl, reason=reason))
                   for p in pins]
    else:
        if not enterprise or not description:
            _fail(2, "without --record, give --enterprise and --description (and --source)")
        entries = [_run(lambda: reg.register_entry(actor, source=source, enterprise=enterprise, description=description, pinpoint=pinpoint,
                                                   evidence=evidence, discovered_on=_date(discovered_on, "--discovered-on"),
                                                   deadline=dl, reason=reason))]
    if as_json:
        _print_json(entries)
        return
    for e in entries:
        typer.echo(_entry_line(e))


def _filters(status, overdue, enterprise, province, city, county, town, industry, standard, supervised, on) -> dict:
    return {"status": status, "overdue": overdue, "enterprise": enterprise, "province": province, "city": city, "county": county,
            "town": town, "industry": industry, "standard": standard, "supervised": supervised, "on": _date(on, "--on")}


@register_app.command("list")
def register_list(status: Annotated[Optional[str], typer.Option(help="登记、整改中、申请销号、已销号")] = None,
                  overdue: Annotated[Optional[bool], typer.Option("--overdue/--not-overdue")] = None,
                  enterprise: Annotated[Optional[str], typer.Option(help="统一社会信用代码")] = None,
                  province: Optional[str] = None, city: Optional[str] = None, county: Optional[str] = None, town: Optional[str] = None,
                  industry: Optional[str] = None, standard: Optional[str] = None,
                  supervised: Annotated[Optional[bool], typer.Option("--supervised/--not-supervised", help="挂牌督办")] = None,
                  on: On = None,
                  export: Annotated[Optional[Path], typer.Option(help="write the list to FILE.xlsx or FILE.csv")] = None,
                  db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """The register (重大事故隐患清单), filtered; --export writes it to Excel or CSV."""
    from hazard_kb.register import stats as st

    reg = _open(db)
    actor = _run(lambda: _actor(reg, token, required=False))
    page = _run(lambda: reg.entries(actor, limit=None, **_filters(status, overdue, enterprise, province, city, county, town, industry,
                                                                  standard, supervised, on)))
    if export:
        _export(export, lambda: st.to_csv(st.ENTRY_HEADERS, st.entry_rows(page.items)), lambda: st.entries_xlsx(page.items))
    elif as_json:
        _print_json(page)
    else:
        for e in page.items:
            typer.echo(_entry_line(e))
        typer.echo(f"{page.total} entries", err=True)


@register_app.command("overdue")
def register_overdue(on: On = None, export: Annotated[Optional[Path], typer.Option(help="FILE.xlsx or FILE.csv")] = None,
                     db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Open entries past their 时限."""
    register_list(overdue=True, on=on, export=export, db=db, token=token, as_json=as_json, status=None, enterprise=None, province=None,
                  city=None, county=None, town=None, industry=None, standard=None, supervised=None)


@register_app.command("show")
def register_show(entry_id: int, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """One entry: state, legal basis, plan, supervision, confirmations, and every event."""
    reg = _open(db)
    actor = _run(lambda: _actor(reg, token, required=False))
    e = _run(lambda: reg.entry(actor, entry_id))
    events = _run(lambda: reg.events(actor, entry_id))
    if as_json:
        _print_json({"entry": e.model_dump(mode="json"), "events": [v.model_dump(mode="json") for v in events]})
        return
    _show_entry(e, False)
    if e.basis:
        typer.echo(f"  依据 {e.basis.document}{e.basis.article or ''}{e.basis.item or ''} {e.basis.text}")
    if e.plan:
        p = e.plan
        typer.echo(f"  整改方案 措施:{p.measures} 责任人:{p.responsible} 资金:{p.funds:g}元 时限:{p.deadline} 预案:{p.contingency}")
    for v in events:
        typer.echo(f"  {v.seq:>3} {v.at:%Y-%m-%d %H:%M} {v.kind_zh}（{v.kind}） {v.actor.username}/{v.actor_role}"
                   + (f" — {v.reason}" if v.reason else ""))


def _change(db, token, as_json, do: Callable[[Any, Any], Any]) -> None:
    reg = _open(db)
    actor = _run(lambda: _actor(reg, token))
    _show_entry(_run(lambda: do(reg, actor)), as_json)


@register_app.command("ack")
def register_ack(entry_id: int, reason: Optional[str] = None, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """企业负责人签收 (enterprise principal)."""
    _change(db, token, as_json, lambda reg, a: reg.acknowledge(a, entry_id, reason))


@register_app.command("plan")
def register_plan(entry_id: int, measures: Annotated[str, typer.Option(help="整改措施")],
                  responsible: Annotated[str, typer.Option(help="责任人")], funds: Annotated[float, typer.Option(help="资金（元）")],
                  deadline: Annotated[str, typer.Option(help="时限 YYYY-MM-DD")], contingency: Annotated[str, typer.Option(help="预案")],
                  reason: Annotated[Optional[str], typer.Option(help="required when revising a plan")] = None,
                  db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Set (or revise) the rectification plan: 措施、责任人、资金、时限、预案 (登记 → 整改中)."""
    plan = {"measures": measures, "responsible": responsible, "funds": funds, "deadline": deadline, "contingency": contingency}
    _change(db, token, as_json, lambda reg, a: reg.set_plan(a, entry_id, plan, reason))


@register_app.command("progress")
def register_progress(entry_id: int, note: str, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Record rectification progress."""
    _change(db, token, as_json, lambda reg, a: reg.progress(a, entry_id, note))


@register_app.command("supervise")
def register_supervise(entry_id: int, reason: Annotated[str, typer.Option(help="why")],
                       level: Annotated[Optional[str], typer.Option(help="国家级、省级、市级、县级")] = None,
                       authority: Annotated[Optional[str], typer.Option(help="督办单位")] = None,
                       lift: Annotated[bool, typer.Option("--lift", help="摘牌")] = False,
                       db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """挂牌督办 at a supervising level, or --lift it."""
    if not lift and not level:
        _fail(2, "give --level (国家级、省级、市级、县级) or --lift")
    _change(db, token, as_json, lambda reg, a: reg.supervise(a, entry_id, None if lift else level, authority, reason))


@register_app.command("request-closeout")
def register_request_closeout(entry_id: int, report: Annotated[str, typer.Option(help="整改完成情况")],
                              completed_on: Annotated[Optional[str], typer.Option(help="YYYY-MM-DD")] = None,
                              db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """申请销号 (整改中 → 申请销号)."""
    _change(db, token, as_json, lambda reg, a: reg.request_closeout(a, entry_id, report, _date(completed_on, "--completed-on")))


@register_app.command("confirm")
def register_confirm(entry_id: int, role: Annotated[Optional[str], typer.Option(help="inspector, expert or enterprise_principal")] = None,
                     opinion: Annotated[Optional[str], typer.Option(help="现场核查意见")] = None,
                     checked_on: Annotated[Optional[str], typer.Option(help="核查日期")] = None,
                     db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Confirm the on-site close-out check in your role (three different users: 监管人员, 安全专家, 企业负责人)."""
    _change(db, token, as_json, lambda reg, a: reg.confirm(a, entry_id, role, opinion, _date(checked_on, "--checked-on")))


@register_app.command("reject")
def register_reject(entry_id: int, reason: Annotated[str, typer.Option(help="驳回理由")],
                    findings: Optional[str] = None, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """驳回 a close-out application (申请销号 → 整改中)."""
    _change(db, token, as_json, lambda reg, a: reg.reject(a, entry_id, reason, findings))


@register_app.command("close")
def register_close(entry_id: int, reason: Optional[str] = None, db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """销号 (申请销号 → 已销号), refused until the three confirmations are in."""
    _change(db, token, as_json, lambda reg, a: reg.close_out(a, entry_id, reason))


@register_app.command("stats")
def register_stats(level: Annotated[str, typer.Option(help="province, city, county or town")] = "county", on: On = None,
                   export: Annotated[Optional[Path], typer.Option(help="FILE.xlsx (a sheet per dimension) or FILE.csv")] = None,
                   db: Db = None, token: Token = None, as_json: AsJson = False) -> None:
    """Open, overdue and closed major hazards by region, industry, standard and item; close-out times."""
    from hazard_kb.register import stats as st

    reg = _open(db)
    actor = _run(lambda: _actor(reg, token, required=False))
    stats = _run(lambda: reg.stats(actor, _date(on, "--on"), level))
    if export:
        _export(export, lambda: st.to_csv(st.STATS_HEADERS, st.stats_rows(stats)), lambda: st.stats_xlsx(stats))
    elif as_json:
        _print_json(stats)
    else:
        from rich.console import Console
        from rich.table import Table

        for dim in st.DIMENSIONS:
            table = Table(title=f"按{st.DIMENSION_ZH[dim]}（{stats['as_of']}）", title_justify="left")
            for h in ("", "未销号", "逾期", "已销号", "平均销号天数"):
                table.add_column(h)
            for r in stats["by"][dim]:
                mean = r["closeout_days"]["mean"]
                table.add_row(r["label"], str(r["open"]), str(r["overdue"]), str(r["closed"]), "" if mean is None else f"{mean:g}")
            Console().print(table)
        t = stats["totals"]
        typer.echo(f"合计：未销号 {t['open']}，逾期 {t['overdue']}，已销号 {t['closed']}")

"""Command-line interface: classify, checklist, serve, validate, kb build, law show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
import yaml

from hazard_kb import project_root
from hazard_kb.cli_audit import audit
from hazard_kb.cli_quiz import quiz_app
from hazard_kb.cli_register import db_app, enterprises_app, records_app, register_app, users_app

app = typer.Typer(help="hazard-kb: 重大事故隐患判定知识库", no_args_is_help=True, add_completion=False)
law_app = typer.Typer(help="Read the legal sources the knowledge base is built from.", no_args_is_help=True)
kb_app = typer.Typer(help="Build the generated parts of the knowledge base.", no_args_is_help=True)
app.add_typer(law_app, name="law")
app.add_typer(kb_app, name="kb")
app.command("audit", help="Law-to-rule traceability audit: coverage, fidelity, citations, consistency.")(audit)
from hazard_kb.cli_match import match as _match; app.command("match")(_match)  # noqa: E402,E702 - hazard-kb match
app.add_typer(quiz_app, name="quiz")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(enterprises_app, name="enterprises")
app.add_typer(records_app, name="records")
app.add_typer(register_app, name="register")

DEFAULT_EXAMPLE = "fixtures/inspections/aluminium-deep-well-casting.yaml"


def read_inspection(path: Path) -> dict:
    """An inspection file is YAML or JSON: the inspection itself, or {inspection: …, description: …}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: expected a mapping with enterprise and objects")
    return data["inspection"] if "inspection" in data else data


@app.command()
def classify(
    file: Optional[Path] = typer.Argument(None, help="inspection (YAML or JSON); default: the embedded example"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="also list every item's verdict"),
) -> None:
    """Determine whether an inspection shows major accident hazards, with their legal basis."""
    from rich.console import Console

    from hazard_kb.engine.inspection import InspectionError
    from hazard_kb.engine.report import render
    from hazard_kb.engine.service import Engine

    console = Console()
    if file is None:
        file = project_root() / DEFAULT_EXAMPLE
        if not as_json:
            console.print(f"[dim]no FILE given: classifying the embedded example {DEFAULT_EXAMPLE}[/dim]")
    if not file.exists():
        raise typer.BadParameter(f"no such file: {file}")
    engine = Engine.load()
    try:
        result = engine.determine(read_inspection(file))
    except InspectionError as exc:
        for p in exc.problems:
            hint = f" (expected {p.expected})" if p.expected else ""
            near = f"; did you mean {', '.join(p.suggestions)}?" if p.suggestions else ""
            typer.echo(f"{file}: {'.'.join(map(str, p.loc))}: {p.msg}{hint}{near}", err=True)
        raise typer.Exit(2)
    except ValueError as exc:  # pydantic structure errors
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        render(result, console, verbose)


@app.command()
def checklist(
    industry: list[str] = typer.Option([], "--industry", "-i", help="行业，如 冶金（可重复）"),
    regime: list[str] = typer.Option([], "--regime", "-r", help="专项领域，如 粉尘涉爆、井工煤矿（可重复）"),
    inspection: Path | None = typer.Option(None, "--inspection", help="已有的观察（YAML/JSON）：只列出仍需查看的对象和提问"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The questions an inspector must answer for an enterprise of these sectors (检查重点事项清单); with
    --inspection, only what is still needed after the answers already given (guided interview)."""
    from rich.console import Console
    from rich.table import Table

    if inspection is not None:
        _interview(inspection, as_json)
        return
    if not industry:
        raise typer.BadParameter("give at least one --industry (行业), or --inspection FILE", param_hint="--industry")

    from hazard_kb.engine.checklist import build_checklist
    from hazard_kb.engine.determine import documents_in_force
    from hazard_kb.engine.inspection import InspectionError, InspectionIn, normalize
    from hazard_kb.engine.service import Engine

    engine = Engine.load(backend="reference")
    try:
        insp = normalize(engine.kb, InspectionIn(enterprise={"name": "-", "industries": industry, "regimes": regime}))
    except InspectionError as exc:
        for p in exc.problems:
            typer.echo(f"{p.msg}; expected {p.expected}" + (f"; did you mean {', '.join(p.suggestions)}?" if p.suggestions else ""), err=True)
        raise typer.Exit(2)
    cl = build_checklist(engine.kb, list(insp.sectors), insp.as_of, documents_in_force(engine.kb, insp))
    if as_json:
        typer.echo(json.dumps(cl.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console = Console()
    n = 0
    for g in cl.groups:
        table = Table(title=f"{g.label}（{g.presence_question}）", expand=True, title_justify="left")
        table.add_column("#", no_wrap=True)
        table.add_column("检查提问")
        table.add_column("取值", no_wrap=True)
        table.add_column("条款", no_wrap=True)
        for q in g.questions:
            n += 1
            kind = {"boolean": "是/否", "device": "已设置？有效？", "relation": "对象编号"}.get(q.kind, q.unit or "、".join(q.allowed))
            table.add_row(str(n), q.question, kind, "\n".join(c.split("/", 1)[1] for c in q.criteria))
        console.print(table)


def _interview(path: Path, as_json: bool) -> None:
    """Guided interview: the objects and questions still needed after the observations in the file."""
    from rich.console import Console
    from rich.table import Table

    from hazard_kb.engine.inspection import InspectionError
    from hazard_kb.engine.interview import next_questions
    from hazard_kb.engine.service import Engine

    engine = Engine.load(backend="reference")
    try:
        iv = next_questions(engine.determine(read_inspection(path)))
    except InspectionError as exc:
        for p in exc.problems:
            typer.echo(f"{'.'.join(map(str, p.loc))}: {p.msg}; expected {p.expected}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(iv.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"当前结论：{iv.answer_zh}；已判定 {iv.decided} 项，尚不能判定 {iv.undetermined} 项，还需 {iv.asked} 个提问")
    for g in iv.groups:
        title = f"{g.object}（{g.object_class_label}）" if g.object else f"尚未记录：{g.object_class_label}"
        table = Table(title=title, expand=True, title_justify="left")
        table.add_column("检查提问")
        table.add_column("取值", no_wrap=True)
        table.add_column("可判定", no_wrap=True)
        for q in g.questions:
            kind = {"boolean": "是/否", "device": "已设置？有效？", "relation": "对象编号", None: ""}.get(q.kind, q.unit or "、".join(q.allowed))
            table.add_row(q.question, kind, "\n".join(c.split("/", 1)[1] for c in q.decides))
        console.print(table)


@app.command()
def diff(
    old: str = typer.Argument(..., help="the earlier standard, e.g. gongmao-2017"),
    new: str = typer.Argument(..., help="the later standard, e.g. gongmao-2023"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Items added, removed and changed between two standards, matched by meaning through the ontology."""
    from rich.console import Console
    from rich.table import Table

    from hazard_kb.engine.compiler import compile_kb
    from hazard_kb.engine.diff import diff_standards

    kb = compile_kb(project_root())
    try:
        result = diff_standards(kb, old, new)
    except KeyError as exc:
        known = ", ".join(sorted(d.id for d in kb.ontology.documents.values() if d.kind == "standard"))
        typer.echo(f"unknown standard {exc.args[0]!r}; known: {known}", err=True)
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    names = {"unchanged": "未变", "changed": "修改", "added": "新增", "removed": "删除"}
    table = Table(title=f"{old} → {new}：" + "，".join(f"{names[k]} {v}" for k, v in result.counts.items()), expand=True)
    table.add_column("变化", no_wrap=True)
    table.add_column(old)
    table.add_column(new)
    table.add_column("相同观察对象/指标")
    for e in result.entries:
        table.add_row(names[e.change] + (f"\n{e.score:.2f}" if e.score is not None else ""),
                      f"{e.old.label}\n{e.old.text}" if e.old else "", f"{e.new.label}\n{e.new.text}" if e.new else "",
                      "、".join(e.shared_vocabulary))
    Console().print(table)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers <= 1:
        uvicorn.run("hazard_kb.api.main:app", host=host, port=port)
        return
    # With several workers uvicorn shares a socket it created without IPPROTO_TCP, so TCP_NODELAY is never set
    # on the connections and every small response waits ~40 ms (Nagle; uvicorn issue #3149). Re-wrap it as TCP.
    config = uvicorn.Config("hazard_kb.api.main:app", host=host, port=port, workers=workers)
    bound = config.bind_socket()
    sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


@app.command()
def validate() -> None:
    """Load ontology, rules and test cases; refuse anything inconsistent, naming it."""
    from hazard_kb.engine.cases import load_cases
    from hazard_kb.engine.compiler import KBError, compile_kb
    from hazard_kb.engine.inspection import InspectionError, normalize
    from hazard_kb.engine.ontology import OntologyError

    root = project_root()
    try:
        kb = compile_kb(root)
    except (KBError, OntologyError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    try:
        cases = load_cases(root)
    except ValueError as exc:
        typer.echo(f"test cases refused: {exc}", err=True)
        raise typer.Exit(1)
    bad = 0
    for lc in cases:
        if lc.case.criterion not in kb.ontology.provisions:
            typer.echo(f"{lc.label}: unknown criterion {lc.case.criterion}", err=True)
            bad += 1
            continue
        try:
            normalize(kb, lc.case.inspection)
        except InspectionError as exc:
            typer.echo(f"{lc.label}: {exc}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(1)
    typer.echo(f"ok: {len(kb.criteria)} criteria, {kb.rule_count()} branch rules in {len(kb.rulesets)} rulesets, "
               f"{len(kb.ontology.classes)} classes, {len(kb.ontology.properties)} properties, {len(cases)} cases; kb {kb.version}")


@kb_app.command("build")
def kb_build() -> None:
    """Regenerate ontology/law/*.ttl from the sources and ontology/build/hazard-kb.owl (RDF/XML for owlready2)."""
    from hazard_kb.engine.lawgen import build_law
    from hazard_kb.engine.owlexport import export_owl

    root = project_root()
    for path in build_law(root):
        typer.echo(f"wrote {path.relative_to(root)}")
    typer.echo(f"wrote {export_owl(root).relative_to(root)}")


@law_app.command("show")
def law_show(pinpoint: str) -> None:
    """Print the verbatim text and sha256 of an article or item, e.g. gongmao-2023/art12/item2."""
    from hazard_kb.engine.lawtext import load_sources

    doc = pinpoint.split("/")[0]
    sources = load_sources(project_root() / "ontology" / "sources")
    if doc not in sources:
        raise typer.BadParameter(f"unknown document {doc!r}; known: {', '.join(sorted(sources))}")
    src = sources[doc]
    provision = src.provisions().get(pinpoint)
    if provision is None:
        section = next((s for s in src.sections if s.pinpoint == pinpoint), None)
        if section is None:
            raise typer.BadParameter(f"no provision {pinpoint!r} in {doc}")
        typer.echo(f"{section.pinpoint}\n{section.heading}\n{section.text}")
        return
    typer.echo(f"{provision.pinpoint}\nsha256 {provision.sha256}\n{provision.text}")


if __name__ == "__main__":
    app()

"""Command-line interface: classify, checklist, serve, validate, law."""

from __future__ import annotations

import typer

from hazard_kb import project_root

app = typer.Typer(help="hazard-kb: 重大事故隐患判定知识库", no_args_is_help=True, add_completion=False)
law_app = typer.Typer(help="Read the legal sources the knowledge base is built from.", no_args_is_help=True)
app.add_typer(law_app, name="law")


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


if __name__ == "__main__":
    app()

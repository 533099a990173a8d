"""`hazard-kb audit`: the law-to-rule traceability audit; exit code 1 when any check fails (CI gates on it)."""

from __future__ import annotations

from pathlib import Path

import typer

from hazard_kb import project_root


def audit(
    json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
    html: Path | None = typer.Option(None, "--html", metavar="PATH", help="Also write a self-contained HTML report."),
) -> None:
    """Audit law-to-rule traceability: coverage, fidelity, citations, consistency (exit 1 on failure)."""
    from rich.console import Console

    from hazard_kb.engine.audit import run_audit
    from hazard_kb.engine.audit_report import print_table, to_json, write_html

    report = run_audit(project_root())
    if html is not None:
        write_html(report, html)
    if json:
        typer.echo(to_json(report))
    else:
        print_table(report, Console())
        if html is not None:
            typer.echo(f"HTML report: {html}")
    if not report.ok:
        raise typer.Exit(1)

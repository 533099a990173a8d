"""`hazard-kb match`: plain-Chinese hazard descriptions → candidate items, observations and open questions.

    hazard-kb match register.xlsx --column 隐患描述 [--industry 冶金 ...] [--output out.xlsx] [--top 3]
    hazard-kb match --text "速冻间内有12名作业人员" [--industry 轻工 --regime 涉氨制冷] [--json]
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Optional

import typer


def match(
    file: Optional[Path] = typer.Argument(None, help="register (Excel .xlsx or CSV) with a description column"),
    text: Optional[str] = typer.Option(None, "--text", "-t", help="one description instead of a file"),
    column: str = typer.Option("隐患描述", "--column", "-c", help="the column holding the descriptions"),
    industry: list[str] = typer.Option([], "--industry", "-i", help="行业，如 冶金（可重复）；不填则不按行业过滤"),
    regime: list[str] = typer.Option([], "--regime", "-r", help="专项领域，如 粉尘涉爆（可重复）"),
    on: Optional[str] = typer.Option(None, "--date", help="检查日期 YYYY-MM-DD（按当日有效的标准）；缺省为今天"),
    top: int = typer.Option(3, "--top", "-n", min=1, max=10, help="候选条款数"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="where to write the register (default: <file>.matched.<ext>)"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Excel sheet (default: the active one)"),
    as_json: bool = typer.Option(False, "--json", help="with --text: machine-readable output"),
) -> None:
    """Match hazard descriptions (隐患描述) to the items they may fall under, with what is still needed to decide."""
    from hazard_kb.engine.inspection import InspectionError
    from hazard_kb.engine.matching.dialogue import resolve_sectors
    from hazard_kb.engine.matching.matcher import get_matcher
    from hazard_kb.engine.service import Engine

    if (file is None) == (text is None):
        raise typer.BadParameter("give a FILE or --text (one of them)")
    try:
        as_of = date.fromisoformat(on) if on else None
    except ValueError:
        raise typer.BadParameter(f"--date {on!r}: expected YYYY-MM-DD") from None
    engine = Engine.load()
    try:
        resolve_sectors(engine.kb, industry, regime)
    except InspectionError as exc:
        for p in exc.problems:
            near = f"; did you mean {', '.join(p.suggestions)}?" if p.suggestions else ""
            typer.echo(f"{p.msg}" + (f" (expected {p.expected})" if p.expected else "") + near, err=True)
        raise typer.Exit(2)
    matcher = get_matcher(engine.kb)

    def determine(inspection: dict) -> dict:
        return engine.determine(inspection).model_dump(mode="json")

    if text is not None:
        _one(matcher, determine, text, industry, regime, as_of, top, as_json)
    else:
        _register(matcher, determine, file, column, sheet, industry, regime, as_of, top, output)


def _one(matcher, determine, text, industry, regime, as_of, top, as_json) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    from hazard_kb.engine.matching.batch import show_value
    from hazard_kb.engine.matching.dialogue import converse
    from hazard_kb.engine.matching.models import MatchRequest

    if not text.strip() or len(text) > 2000:
        raise typer.BadParameter("--text: between 1 and 2000 characters")
    result = converse(matcher, MatchRequest(text=text, industries=industry, regimes=regime, date=as_of, top=top),
                      determine)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console = Console()
    console.print(f"[dim]分词：{' / '.join(result.tokens)}　日期：{result.as_of}"
                  + (f"　行业：{'、'.join(result.sectors)}" if result.sectors else "　（未指定行业，不按行业过滤）") + "[/dim]")
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    for c in result.candidates:
        head = f"{c.rank}. {c.document}{c.article or ''}{c.item or ''}  [bold]{c.score:.2f}[/bold]  {c.pinpoint}"
        console.print(f"\n[bold]{head}[/bold]\n   {c.text}")
        console.print(f"   初步判定：[bold]{c.verdict_zh or c.reason}[/bold]"
                      + (f"（假定行业：{'、'.join(c.assumed_sectors)}）" if c.assumed_sectors else ""))
        if c.observations:
            t = RichTable(show_header=True, box=None, padding=(0, 2))
            for col in ("对象", "观测", "值", "依据"):
                t.add_column(col)
            for o in c.observations:
                t.add_row(o.object, o.label, show_value(o), o.span or "回答")
            console.print(t)
        for q in c.questions:
            console.print(f"   ?\u00a0{q.question}" + (f"（对象：{q.object}）" if q.object else ""))


def _register(matcher, determine, file, column, sheet, industry, regime, as_of, top, output) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from hazard_kb.engine.matching.batch import columns, match_rows
    from hazard_kb.engine.matching.table import TableError, read_table, write_table

    try:
        table = read_table(file, column, sheet)
    except TableError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    out = output or file.with_name(f"{file.stem}.matched{file.suffix}")
    values = {}
    total = len(table.data_rows())
    with Progress(TextColumn("[bold]匹配"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False, disable=total < 2) as progress:
        task = progress.add_task("match", total=total)
        for i, cells in match_rows(matcher, table, determine, top, industry, regime, as_of,
                                   lambda n: progress.advance(task, n)):
            values[i] = cells
    write_table(table, columns(top), values, out)
    typer.echo(f"{len(values)} rows matched; written to {out}")

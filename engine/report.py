"""Readable terminal report of a determination (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .result import Determination

_STYLE = {"yes": "bold red", "no": "bold green", "undetermined": "bold yellow"}


def _value(v) -> str:
    if isinstance(v, dict):
        parts = []
        if "installed" in v:
            parts.append("已设置" if v["installed"] else "未设置")
        if "functional" in v:
            parts.append("正常有效" if v["functional"] else "失效/无效")
        return "，".join(parts)
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list):
        return "、".join(map(str, v)) or "（无）"
    return str(v)


def _refutation(r, enterprise: str) -> str:
    """Why a branch does not hold, in the inspector's words: the observed values that rule it out."""
    seen = "，".join(f"{e.label}：{_value(e.value)}{e.unit or ''}" for e in r.evidence) or r.condition
    who = enterprise if r.subject == "enterprise" else r.subject
    return f"{who}（{seen}）不符合情形{r.branch}"


def render(d: Determination, console: Console, verbose: bool = False) -> None:
    head = Text()
    head.append(f"{d.enterprise}  ", style="bold")
    head.append(f"（{'、'.join(d.sectors)}；检查日期 {d.as_of}）\n")
    head.append("是否构成重大事故隐患：")
    head.append(d.answer_zh, style=_STYLE[d.answer])
    head.append(f"    构成 {len(d.hazards)} 项，尚不能判定 {len(d.undetermined)} 项\n")
    for s in d.standards:
        since = f"{s.in_force_from} 起施行" + ("（假定，见注意）" if s.date_assumption else "")
        verdict = {"yes": "构成", "no": "不构成", "undetermined": "尚不能判定"}[s.answer]
        head.append(f"依据：《{s.title}》（{s.doc_number}，{since}）：{verdict}\n", style="dim")
    head.append(f"知识库 {d.kb_version} · 引擎 {d.engine}", style="dim")
    console.print(Panel(head, title="hazard-kb 判定结果", expand=False))

    for h in d.hazards:
        parts = [Text(h.text, style="bold")]
        for f in h.findings:
            t = Text()
            t.append(f"\n对象：{f.subject}（{f.subject_class}）  情形：{'；'.join(f.quote)}\n", style="cyan")
            for e in f.evidence:
                unit = e.unit or ""
                t.append(f"  · {e.object} {e.label}：{_value(e.value)}{unit}\n")
            t.append("  依据：", style="bold")
            t.append("；".join(f"{c.document}{c.article or ''}{c.item or ''}" for c in f.cites) + "\n")
            t.append("  规则链：" + " → ".join(r.rule for r in f.rules_fired), style="dim")
            parts.append(t)
        console.print(Panel(Group(*parts), title=f"[red]重大事故隐患[/red] {h.article}{h.item}  {h.pinpoint}", expand=True))

    if d.undetermined:
        table = Table(title="尚不能判定的项目及需补充的观察", show_lines=False, expand=True)
        table.add_column("条款", no_wrap=True)
        table.add_column("对象")
        table.add_column("需要回答的问题")
        for i in d.undetermined:
            for q in i.missing or []:
                table.add_row(f"{i.article}{i.item}", q.object or f"（{q.object_class_label}）", q.question)
            if not i.missing:
                table.add_row(f"{i.article}{i.item}", "", i.reason or "")
        console.print(table)

    if d.deferred:
        for x in d.deferred:
            console.print(f"[magenta]另有规定[/magenta] {x.object}（{x.object_class}）：{x.note}")
    if d.legal_consequences and d.hazards:
        console.print("[bold]法律责任与依据：[/bold]" + "；".join(f"{c.document}{c.article or ''}{c.item or ''}" for c in d.legal_consequences))
    if verbose:
        table = Table(title="逐项结论", expand=True)
        table.add_column("条款", no_wrap=True)
        table.add_column("结论", no_wrap=True)
        table.add_column("说明")
        for i in d.items:
            why = "；".join(_refutation(r, d.enterprise) for r in i.not_violated_because[:2]) or (i.reason or "")
            table.add_row(f"{i.article}{i.item}", i.verdict_zh, why)
        console.print(table)
    for n in d.notes:
        console.print(f"[yellow]注意[/yellow] {n}")

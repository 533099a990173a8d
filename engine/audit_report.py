"""Render an AuditReport: a rich table for the terminal, JSON, and a self-contained HTML page that sets
each clause of the law beside the rule branches and cases that implement it (Catala's law-beside-code
view). No template engine: html.escape on every value, inline CSS, no external assets."""

from __future__ import annotations

from html import escape
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .audit import AuditReport, BranchReport, Check, ItemReport, StandardReport

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red"}
MARK = {"pass": "✔", "warn": "!", "fail": "✘"}
EXPECT_ZH = {"violated": "构成隐患", "not_violated": "不构成", "undetermined": "尚不能判定", "not_applicable": "不适用"}
SHOWN_PER_CHECK = 8


# ------------------------------------------------------------------------------------------ terminal


def print_table(report: AuditReport, console: Console | None = None) -> None:
    console = console or Console()
    # one column per standard, one row per figure: stays readable in an 80-column terminal
    summary = Table(title="Law-to-rule traceability audit", title_justify="left")
    summary.add_column("")
    for s in report.standards:
        summary.add_column(f"[{STYLE[s.status]}]{s.id}[/]", justify="right")
    rows = [
        ("items in the text", lambda c: str(c.items_in_text)),
        ("official count (ontology / source)", lambda c: f"{_num(c.official_count)} / {_num(c.official_count_source)}"),
        ("criteria in the ontology", lambda c: str(c.criteria_in_ontology)),
        ("items encoded", lambda c: f"{c.encoded}" + (f" ({c.not_automatable} not automatable)" if c.not_automatable else "")),
        ("branch rules", lambda c: str(c.branch_rules)),
        ("positive cases", lambda c: str(c.positive_cases)),
        ("negative cases", lambda c: str(c.negative_cases)),
        ("other cases (undetermined, n/a)", lambda c: str(c.other_cases)),
        ("failures", lambda c: _red(c.failures)),
        ("warnings", lambda c: str(c.warnings)),
    ]
    for label, cell in rows:
        summary.add_row(label, *(cell(s.counts) for s in report.standards))
    console.print(summary)

    checks = Table(title="Checks", title_justify="left")
    checks.add_column("scope", no_wrap=True)
    checks.add_column("check", no_wrap=True)
    checks.add_column("status", no_wrap=True)
    checks.add_column("#", justify="right")
    checks.add_column("summary")
    last = None
    for scope, chk in _all_checks(report):
        checks.add_row(scope if scope != last else "", chk.name, f"[{STYLE[chk.status]}]{MARK[chk.status]} {chk.status}[/]",
                       str(len(chk.problems)) if chk.problems else "", chk.summary, end_section=False)
        last = scope
    console.print(checks)

    for scope, chk in _all_checks(report):
        if not chk.problems:
            continue
        console.print(f"[{STYLE[chk.status]}]{scope} · {chk.name}[/] — {chk.title}")
        for p in chk.problems[:SHOWN_PER_CHECK]:
            where = f" [dim]({p.where})[/]" if p.where else ""
            console.print(f"  [{STYLE[p.level]}]{MARK[p.level]}[/] {escape_rich(p.message)}{where}", soft_wrap=True)
        if len(chk.problems) > SHOWN_PER_CHECK:
            console.print(f"  [dim]… and {len(chk.problems) - SHOWN_PER_CHECK} more (--json or --html for all)[/]")
    verdict = "PASS" if report.status == "pass" else "PASS with warnings" if report.ok else "FAIL"
    console.print(f"[{STYLE[report.status]}]audit {verdict}[/] · kb {report.kb_version or '(does not compile)'} · "
                  f"inputs {report.inputs_sha256[:12]}")


def escape_rich(text: str) -> str:
    return text.replace("[", r"\[")


def _num(v: int | None) -> str:
    return "—" if v is None else str(v)


def _red(n: int) -> str:
    return f"[bold red]{n}[/]" if n else "0"


def _all_checks(report: AuditReport):
    yield from (("KB", c) for c in report.checks)
    for s in report.standards:
        yield from ((s.id, c) for c in s.checks)


# ------------------------------------------------------------------------------------------ JSON


def to_json(report: AuditReport) -> str:
    return report.model_dump_json(indent=2)


# ------------------------------------------------------------------------------------------ HTML


CSS = """
:root{--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--ink:#1f2328;--mute:#656d76;--line:#d0d7de;--law:#fbf8f1;--code:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.55 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;color:var(--ink);background:#fff}
main{max-width:1280px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 6px;padding-top:8px;border-top:3px solid var(--ink)}
h3{font-size:16px;margin:28px 0 8px;padding:6px 10px;background:#eef1f4;border-left:4px solid var(--ink)}
.meta,.mute{color:var(--mute);font-size:12.5px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;vertical-align:1px;white-space:nowrap}
.b-pass{background:var(--ok)}.b-warn{background:var(--warn)}.b-fail{background:var(--bad)}.b-info{background:#57606a}
.b-neutral{background:#eaeef2;color:var(--ink);font-weight:500}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:6px 12px;min-width:96px}
.card b{display:block;font-size:20px}.card span{font-size:12px;color:var(--mute)}
table.checks{border-collapse:collapse;width:100%;margin:8px 0 4px}
table.checks td,table.checks th{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
table.checks th{font-size:12px;color:var(--mute);font-weight:600}
details>summary{cursor:pointer}
ul.problems{margin:4px 0 2px 0;padding-left:18px}ul.problems li{margin:2px 0}
li.fail{color:var(--bad)}li.warn{color:var(--warn)}
.toc{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0}
.toc a{text-decoration:none;color:var(--ink);border:1px solid var(--line);border-radius:6px;padding:3px 9px;font-size:13px}
.toc a.fail{border-color:var(--bad)}.toc a.warn{border-color:var(--warn)}
.lead{font-family:"Noto Serif CJK SC","Songti SC","SimSun",serif;color:#3d444d;margin:0 0 10px;font-size:14.5px}
.item{display:grid;grid-template-columns:minmax(300px,5fr) 7fr;gap:0;border:1px solid var(--line);border-radius:8px;margin:14px 0;overflow:hidden}
.item.fail{border-color:var(--bad);box-shadow:inset 4px 0 0 var(--bad)}.item.warn{box-shadow:inset 4px 0 0 var(--warn)}
.item.pass{box-shadow:inset 4px 0 0 var(--ok)}
.law{background:var(--law);padding:12px 16px;border-right:1px solid var(--line)}
.law .pin{position:sticky;top:8px}
.law .clause{font-family:"Noto Serif CJK SC","Songti SC","SimSun",serif;font-size:16px;line-height:1.85;margin:6px 0}
.law mark{background:#fde58a;padding:1px 0;border-radius:2px}
.code{padding:12px 16px;min-width:0}
.head{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:2px}
.head .label{font-weight:700;font-size:15px}
.branch{border:1px solid var(--line);border-radius:6px;margin:8px 0;background:#fff}
.branch .bh{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:5px 10px;background:var(--code);border-bottom:1px solid var(--line)}
.branch .bb{padding:6px 10px}
.quote{font-family:"Noto Serif CJK SC","Songti SC","SimSun",serif;margin:2px 0 6px}
.quote::before{content:"「";color:var(--mute)}.quote::after{content:"」";color:var(--mute)}
ul.when{list-style:none;margin:2px 0;padding:0}ul.when li{margin:2px 0}
ul.when li code{background:var(--code);border:1px solid #e4e8ec;border-radius:4px;padding:1px 6px}
ul.when li::before{content:"∧ ";color:var(--mute)}ul.when li:first-child::before{content:"   ";white-space:pre}
.note{font-size:12.5px;color:#3d444d;border-left:3px solid var(--line);padding-left:8px;margin:6px 0 2px}
.k{color:var(--mute);font-size:12px;margin-right:4px}
table.cases{border-collapse:collapse;width:100%;margin-top:8px;font-size:13px}
table.cases td{border-top:1px solid #eaeef2;padding:3px 6px;vertical-align:top}
.basis{font-size:13px;background:#f3f6fb;border-radius:4px;padding:4px 8px;margin:4px 0}
footer{margin-top:40px;color:var(--mute);font-size:12px}
@media print{.item{break-inside:avoid}details{open:true}}
"""


def render_html(report: AuditReport) -> str:
    kb_checks = _checks_table(report.checks)
    stds = "\n".join(_standard(s) for s in report.standards)
    verdict = {"pass": "审计通过 pass", "warn": "通过（有警告） pass with warnings", "fail": "未通过 fail"}[report.status]
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>法规—规则追溯审计 · hazard-kb</title><style>{CSS}</style></head>
<body><main>
<h1>法规—规则追溯审计 <span class="mute" style="font-weight:400">Law-to-rule traceability audit</span>
 <span class="badge b-{report.status}">{escape(verdict)}</span></h1>
<div class="meta">generated {escape(report.generated_at)} · kb {escape(report.kb_version or "does not compile")} ·
 inputs sha256 <span class="mono">{escape(report.inputs_sha256[:16])}</span> · {escape(report.root)}</div>
<h2>知识库 Knowledge base</h2>
{kb_checks}
{stds}
<footer>Each item shows the verbatim clause (left, quoted passages highlighted) beside the rule branches that
implement it (right): a branch holds when all its conditions hold for one subject object; the item is violated
when any branch holds. Generated by <code>hazard-kb audit --html</code>.</footer>
</main></body></html>
"""


def _badge(status: str, text: str | None = None) -> str:
    return f'<span class="badge b-{status}">{escape(text or status)}</span>'


def _checks_table(checks: list[Check]) -> str:
    rows = []
    for c in checks:
        problems = ""
        if c.problems:
            lis = "".join(f'<li class="{p.level}">{escape(p.message)}'
                          + (f' <span class="mute mono">{escape(p.where)}</span>' if p.where else "") + "</li>" for p in c.problems)
            problems = (f"<details{' open' if c.status == 'fail' and len(c.problems) <= 10 else ''}>"
                        f"<summary>{len(c.problems)} problem{'s' if len(c.problems) != 1 else ''}</summary>"
                        f'<ul class="problems">{lis}</ul></details>')
        rows.append(f"<tr><td>{_badge(c.status)}</td><td><code>{escape(c.name)}</code><br><span class='mute'>"
                    f"{escape(c.title)}</span></td><td>{escape(c.summary)}{problems}</td></tr>")
    return ('<table class="checks"><tr><th>status</th><th>check</th><th>result</th></tr>' + "".join(rows) + "</table>")


def _standard(s: StandardReport) -> str:
    c = s.counts
    cards = [("items in text", c.items_in_text), ("official count", "—" if c.official_count is None else c.official_count),
             ("criteria in ontology", c.criteria_in_ontology), ("encoded", c.encoded), ("branch rules", c.branch_rules),
             ("positive cases", c.positive_cases), ("negative cases", c.negative_cases), ("failures", c.failures),
             ("warnings", c.warnings)]
    cards_html = "".join(f'<div class="card"><b>{escape(str(v))}</b><span>{escape(k)}</span></div>' for k, v in cards)
    toc = "".join(
        f'<a class="{_worst_item(a.items)}" href="#{_anchor(a.pinpoint)}">{escape(a.label)} '
        f'<span class="mute">{sum(i.encoded for i in a.items)}/{len(a.items)}</span></a>' for a in s.articles)
    arts = []
    for a in s.articles:
        sectors = " ".join(_badge("neutral", x) for x in a.applies_to)
        items = "\n".join(_item(it) for it in a.items)
        arts.append(f'<section id="{_anchor(a.pinpoint)}"><h3>{escape(a.label)} <span class="mute mono">{escape(a.pinpoint)}</span> '
                    f'{sectors}</h3><p class="lead">{_lines(a.lead)}</p>{items}</section>')
    return (f'<section id="{_anchor(s.id)}"><h2>《{escape(s.title)}》 {_badge(s.status)}</h2>'
            f'<div class="meta">{escape(s.doc_number)} · <span class="mono">{escape(s.id)}</span></div>'
            f'<div class="cards">{cards_html}</div>{_checks_table(s.checks)}<div class="toc">{toc}</div>{"".join(arts)}</section>')


def _worst_item(items: list[ItemReport]) -> str:
    st = {i.status for i in items}
    return "fail" if "fail" in st else "warn" if "warn" in st else "pass"


def _anchor(pin: str) -> str:
    return pin.replace("/", "-")


def _lines(text: str) -> str:
    return "<br>".join(escape(line) for line in text.splitlines())


def _highlight(text: str, quotes: list[str]) -> str:
    """Escape text and wrap every passage a branch quotes in <mark>."""
    marked = [False] * len(text)
    for q in quotes:
        start = text.find(q) if q else -1
        while start != -1:
            for k in range(start, start + len(q)):
                marked[k] = True
            start = text.find(q, start + 1)
    out, run, state = [], [], False
    for ch, m in zip(text, marked):
        if m != state and run:
            out.append(f"<mark>{escape(''.join(run))}</mark>" if state else escape("".join(run)))
            run = []
        state = m
        run.append(ch)
    if run:
        out.append(f"<mark>{escape(''.join(run))}</mark>" if state else escape("".join(run)))
    return "".join(out)


def _item(it: ItemReport) -> str:
    law_quotes = [q for b in it.branches if not b.basis for q in [*b.quotes, *b.except_quotes]]
    problems = ""
    if it.problems:
        problems = '<ul class="problems">' + "".join(
            f'<li class="{p.level}">{escape(p.message)}</li>' for p in it.problems) + "</ul>"
    if not it.encoded:
        state = _badge("fail", "not encoded 未编码")
    elif not it.automatable:
        state = _badge("warn", "not automatable") + f' <span class="mute">{escape(it.not_automatable_reason or "")}</span>'
    else:
        state = _badge("pass" if it.status != "fail" else "fail", f"{len(it.branches)} branch{'es' if len(it.branches) != 1 else ''}")
    counts = (_badge("info" if it.positive else "fail", f"{it.positive} positive")
              + " " + _badge("info" if it.negative else "fail", f"{it.negative} negative")
              + (" " + _badge("neutral", f"{it.other} other") if it.other else ""))
    law = (f'<div class="law"><div class="pin"><div class="head"><span class="label">{escape(it.label)}</span>'
           f'<span class="mute mono">{escape(it.pinpoint)}</span></div>'
           f'<div class="clause">{_highlight(it.text, law_quotes)}</div>'
           f'<div class="mute mono">sha256 {escape(it.sha256[:16])}…</div>{problems}</div></div>')
    branches = "".join(_branch(b) for b in it.branches)
    where = f' <span class="mute mono">{escape(it.rule_file)}</span>' if it.rule_file else ""
    code = (f'<div class="code"><div class="head">{state} {counts}{where}</div>{branches}{_cases(it)}</div>')
    return f'<div class="item {it.status}" id="{_anchor(it.pinpoint)}">{law}{code}</div>'


def _branch(b: BranchReport) -> str:
    quotes = "".join(f'<div class="quote">{escape(q)}</div>' for q in b.quotes)
    when = "".join(f"<li><code>{escape(w)}</code></li>" for w in b.when)
    extra = ""
    if b.except_quotes:
        extra += "".join(f'<div><span class="k">except 除外</span><span class="quote">{escape(q)}</span></div>'
                         for q in b.except_quotes)
    if b.basis:
        extra += (f'<div class="basis"><span class="k">basis 依据</span><code>{escape(b.basis)}</code>'
                  f'<details><summary class="mute">interpretation text 解读原文</summary>'
                  f'<div class="quote">{_highlight(b.basis_text or "", b.quotes)}</div></details></div>')
    if b.note:
        extra += f'<div class="note">{escape(b.note)}</div>'
    fired = _badge("info" if b.positive_cases else "fail", f"{b.positive_cases} positive case{'s' if b.positive_cases != 1 else ''}")
    return (f'<div class="branch"><div class="bh"><b class="mono">#{escape(b.id)}</b>'
            f'<span><span class="k">subject</span><code>{escape(b.subject)}</code></span>{fired}</div>'
            f'<div class="bb">{quotes}<span class="k">when all of</span><ul class="when">{when}</ul>{extra}</div></div>')


def _cases(it: ItemReport) -> str:
    if not it.cases:
        return '<p class="mute">no test cases</p>'
    rows = []
    for c in it.cases:
        status = {"violated": "fail", "not_violated": "pass"}.get(c.expect, "neutral")
        br = f'<code>{escape(", ".join(c.branches))}</code>' if c.branches else ""
        rows.append(f"<tr><td>{_badge(status, EXPECT_ZH.get(c.expect, c.expect))}</td><td>{escape(c.name)}</td>"
                    f'<td>{br}</td><td class="mute mono">{escape(c.where)}</td></tr>')
    opened = " open" if len(it.cases) <= 6 else ""
    return (f'<details{opened}><summary class="mute">{len(it.cases)} test case{"s" if len(it.cases) != 1 else ""}</summary>'
            f'<table class="cases">{"".join(rows)}</table></details>')


def write_html(report: AuditReport, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path

"""Accuracy of the plain-Chinese matcher: top-1 and top-3 per standard.

    python -m bench.match_eval                  # the labelled evaluation set, tests/eval/matching.yaml
    python -m bench.match_eval --set dev        # the development set: names of the positive rule test cases
    python -m bench.match_eval --json           # machine-readable (what tests/test_matching_eval.py reads)
    python -m bench.match_eval --misses         # also list the rows whose expected item is not in the top 3

The evaluation set is public material (published enforcement cases that name the clause, and the examples of the
official interpretation), kept out of everything the matcher is built from: the matcher reads the knowledge base
only. The interpretation's examples are scored against an index built *without* the interpretation field, since
the index otherwise contains their text. The development set (the one the ranking weights were chosen on) is the
case names of tests/cases, written by this project's authors; it says how well the matcher reads the project's
own phrasing, not how it generalises.

A row is a hit at k when any of its expected pinpoints is among the first k candidates, or an item of the same
standard with the same words: the law repeats some items verbatim for two sectors (工贸 第七条（七） for 机械 and
第八条（六） for 轻工); only the enterprise's sector tells them apart, and rows are ranked without an industry filter
(the harder setting: every standard in force on the row's date competes), on the row's date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import yaml

from hazard_kb import project_root
from hazard_kb.engine.compiler import compile_kb
from hazard_kb.engine.matching.matcher import get_matcher

EVAL_FILE = Path("tests/eval/matching.yaml")
KINDS = ("enforcement case", "interpretation example")


def load_eval(root: Path) -> list[dict]:
    rows = yaml.safe_load((root / EVAL_FILE).read_text(encoding="utf-8"))["rows"]
    for r in rows:
        r.setdefault("expected", [])
        if isinstance(r["expected"], str):
            r["expected"] = [r["expected"]]
    return rows


def load_dev(root: Path) -> list[dict]:
    from hazard_kb.engine.cases import load_cases

    rows = []
    for lc in load_cases(root):
        c = lc.case
        if c.expect != "violated":
            continue
        rows.append({"text": c.name, "standard": c.criterion.split("/")[0], "expected": [c.criterion],
                     "date": c.inspection.date, "kind": "dev"})
    return rows


def same_words(kb) -> dict[str, set[str]]:
    """pinpoint -> the criteria of the same standard whose text is the same but for the ordinal."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in kb.ontology.criteria():
        body = re.sub(r"^[（(]?[一二三四五六七八九十百\d]+[）)、.．]\s*", "", p.text).rstrip("；。;.")
        groups[(p.doc, body)].add(p.pinpoint)
    return {pin: group for group in groups.values() for pin in group}


def evaluate(rows: list[dict], kb=None, top: int = 3) -> dict:
    kb = kb or compile_kb(project_root())
    twins = same_words(kb)
    matchers = {True: get_matcher(kb, include_jiedu=True), False: get_matcher(kb, include_jiedu=False)}
    per: dict[str, dict] = defaultdict(lambda: {"rows": 0, "top1": 0, "top3": 0})
    misses = []
    for r in rows:
        m = matchers[r.get("kind") != "interpretation example"]
        as_of = r.get("date") or date.today()
        if isinstance(as_of, str):
            as_of = date.fromisoformat(as_of)
        _, cands = m.rank(r["text"], None, as_of, top=top, min_score=0.0)
        got = [c.pinpoint for c in cands]
        accepted = set().union(*(twins.get(p, {p}) for p in r["expected"]))
        hit1 = bool(got[:1]) and got[0] in accepted
        hit3 = any(p in accepted for p in got[:3])
        for key in (r["standard"], f"({r.get('kind', 'dev')})", "all"):
            s = per[key]
            s["rows"] += 1
            s["top1"] += hit1
            s["top3"] += hit3
        if not hit3:
            misses.append({"text": r["text"], "expected": r["expected"], "got": got})
    out = {}
    for k, s in sorted(per.items(), key=lambda kv: (kv[0] == "all", kv[0].startswith("("), kv[0])):
        out[k] = {"rows": s["rows"], "top1": round(s["top1"] / s["rows"], 3), "top3": round(s["top3"] / s["rows"], 3)}
    return {"accuracy": out, "misses": misses}


def table(result: dict) -> str:
    lines = ["| standard | rows | top-1 | top-3 |", "|---|---|---|---|"]
    for k, s in result["accuracy"].items():
        name = "**all**" if k == "all" else (f"*{k[1:-1]}*" if k.startswith("(") else k)
        lines.append(f"| {name} | {s['rows']} | {s['top1']:.0%} | {s['top3']:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("eval", "dev"), default="eval")
    ap.add_argument("--kind", choices=KINDS, help="only rows of this kind (eval set)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args(argv)
    root = project_root()
    rows = load_eval(root) if args.set == "eval" else load_dev(root)
    if args.kind:
        rows = [r for r in rows if r.get("kind") == args.kind]
    result = evaluate(rows)
    if args.json:
        json.dump(result if args.misses else {"accuracy": result["accuracy"]}, sys.stdout, ensure_ascii=False, indent=2,
                  default=str)
        print()
        return 0
    print(table(result))
    if args.misses:
        for m in result["misses"]:
            print(f"- {m['text']}\n  expected {', '.join(m['expected'])}; got {', '.join(m['got'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

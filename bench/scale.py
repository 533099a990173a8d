"""How the knowledge base scales with the large standards (issue 9): ontology size, durable-rules rules per
ruleset, API cold start, determination time per realistic inspection of each kind, and how many questions an
inspector of a coal mine is asked - for one knowledge base (HAZARD_KB_ROOT or --root).

    .venv/bin/python bench/scale.py --label after --json /tmp/after.json
    git worktree add /tmp/before <commit>; .venv/bin/python bench/scale.py --root /tmp/before --label before ...
    .venv/bin/python bench/scale.py --table /tmp/before.json /tmp/after.json   # the README table

The code measured is always this checkout's; only the knowledge base (ontology, rules) changes with --root, so
"before" and "after" differ in the data alone. Inspections come from this checkout's fixtures/inspections; one a
knowledge base has no standard for is reported as such."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
KINDS = {  # fixture -> kind of inspection, in README order
    "aluminium-deep-well-casting": "工贸·有色（铝深井铸造）",
    "cold-storage-food-plant": "工贸·轻工（涉氨冷库）",
    "machinery-foundry-paint-shop": "工贸·机械（铸造涂装）",
    "residential-high-rise-site": "房屋市政工程（高层住宅工地）",
    "coal-fired-power-plant": "电力（燃煤电厂）",
    "high-gas-underground-coal-mine": "煤矿（井工高瓦斯矿井）",
    "open-pit-coal-mine": "煤矿（露天煤矿）",
}
TODAY = date(2026, 11, 29)


def measure(root: Path, repeats: int, startups: int) -> dict:
    os.environ["HAZARD_KB_ROOT"] = str(root)
    from hazard_kb.engine.checklist import build_checklist
    from hazard_kb.engine.compiler import compile_kb
    from hazard_kb.engine.determine import documents_in_force
    from hazard_kb.engine.inspection import InspectionIn, normalize
    from hazard_kb.engine.interview import next_questions
    from hazard_kb.engine.service import Engine

    out: dict = {"root": str(root)}
    os.environ["HAZARD_KB_NO_CACHE"] = "1"
    t = time.perf_counter()
    kb = compile_kb(root)
    out["compile_s"] = time.perf_counter() - t
    os.environ.pop("HAZARD_KB_NO_CACHE")
    onto = kb.ontology
    standards = sorted(d.id for d in onto.documents.values() if d.kind == "standard" and any(
        c.standard == d.id for c in kb.criteria.values()))
    out["ontology"] = {"triples": onto.triple_count, "classes": len(onto.classes), "properties": len(onto.properties),
                       "standards": standards, "criteria": len(kb.criteria),
                       "branches": sum(len(c.branches) for c in kb.criteria.values())}
    engine = Engine(kb)
    counts = sorted(engine.backend.rule_counts.values())
    out["rules"] = {"rulesets": len(counts), "durable_rules": sum(counts), "max_per_ruleset": max(counts),
                    "median_per_ruleset": statistics.median(counts)}

    out["determinations"] = {}
    for stem, kind in KINDS.items():
        path = REPO / "fixtures" / "inspections" / f"{stem}.yaml"
        if not path.exists():
            continue
        insp = yaml.safe_load(path.read_text(encoding="utf-8"))["inspection"]
        try:
            first = engine.determine(insp, today=TODAY)
        except Exception as exc:  # noqa: BLE001 - an old knowledge base may not know the vocabulary
            out["determinations"][stem] = {"kind": kind, "error": type(exc).__name__}
            continue
        applied = [s.id for s in first.standards]
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            engine.determine(insp, today=TODAY)
            times.append(time.perf_counter() - t)
        out["determinations"][stem] = {
            "kind": kind, "standards": applied, "objects": len(insp.get("objects", [])),
            "items": len(first.items), "hazards": len(first.hazards), "median_ms": 1000 * statistics.median(times),
            "questions_left": next_questions(first).asked}

    # questions for a coal mine: the static checklist by declared kind, and what the interview still asks
    def checklist_size(industries, regimes):
        try:
            insp = normalize(kb, InspectionIn(date=TODAY, enterprise={"name": "-", "industries": industries, "regimes": regimes}))
        except Exception:  # noqa: BLE001 - sector unknown to an old knowledge base
            return None
        cl = build_checklist(kb, list(insp.sectors), insp.as_of, documents_in_force(kb, insp))
        return {"questions": sum(len(g.questions) for g in cl.groups), "object_kinds": len(cl.groups)}

    out["coal_checklist"] = {
        "煤矿 (no kind declared)": checklist_size(["煤矿"], []),
        "煤矿 + 井工 + 突出 + 高瓦斯 + 冲击地压 (every kind)": checklist_size(["煤矿"], ["井工煤矿", "突出矿井", "高瓦斯矿井", "冲击地压矿井"]),
        "煤矿 + 井工 + 高瓦斯": checklist_size(["煤矿"], ["井工煤矿", "高瓦斯矿井"]),
        "煤矿 + 露天": checklist_size(["煤矿"], ["露天煤矿"]),
    }

    # the guided interview of a 井工 high-gas mine before anything is recorded: only presence questions
    try:
        empty = engine.determine({"date": TODAY.isoformat(), "enterprise": {
            "name": "-", "industries": ["煤矿"], "regimes": ["井工煤矿", "高瓦斯矿井"]}, "objects": []}, today=TODAY)
        iv = next_questions(empty)
        out["coal_interview_start"] = {"questions": iv.asked, "object_kinds": len(iv.groups)}
    except Exception:  # noqa: BLE001 - no coal sectors in an old knowledge base
        out["coal_interview_start"] = None

    if startups:
        from bench.api_bench import startup

        body = yaml.safe_load((REPO / "fixtures" / "inspections" / "aluminium-deep-well-casting.yaml").read_text("utf-8"))["inspection"]
        with tempfile.TemporaryDirectory() as logs:
            os.environ["HAZARD_KB_ROOT"] = str(root)
            runs = startup(json.loads(json.dumps(body, default=str)), startups, logs)
        out["cold_start"] = {"healthz_s": statistics.median(r["healthz_s"] for r in runs),
                             "first_determination_s": statistics.median(r["determination_s"] for r in runs),
                             "rss_mib": statistics.median(sum(k for _, k in r["rss_kib"].values()) for r in runs) / 1024,
                             "runs": len(runs)}
    return out


def table(before: dict, after: dict) -> str:
    def row(name, f, unit=""):
        b, a = f(before), f(after)
        return f"| {name} | {b if b is not None else '—'}{unit if b is not None else ''} | {a if a is not None else '—'}{unit if a is not None else ''} |"

    o = lambda r, k: r["ontology"][k]  # noqa: E731
    lines = ["| | before | after |", "|---|---:|---:|",
             row("standards encoded", lambda r: len(o(r, "standards"))),
             row("criteria (判定情形)", lambda r: o(r, "criteria")),
             row("branch rules", lambda r: o(r, "branches")),
             row("ontology triples", lambda r: o(r, "triples")),
             row("classes / properties", lambda r: f"{o(r, 'classes')} / {o(r, 'properties')}"),
             row("durable-rules rules / rulesets", lambda r: f"{r['rules']['durable_rules']} / {r['rules']['rulesets']}"),
             row("rules per ruleset: largest / median", lambda r: f"{r['rules']['max_per_ruleset']} / {r['rules']['median_per_ruleset']:g}"),
             row("compile (no cache)", lambda r: f"{r['compile_s']:.2f}", " s")]
    if "cold_start" in before and "cold_start" in after:
        lines += [row("API cold start → first 200 /healthz", lambda r: f"{r['cold_start']['healthz_s']:.2f}", " s"),
                  row("API cold start → first determination", lambda r: f"{r['cold_start']['first_determination_s']:.2f}", " s"),
                  row("API resident memory after start (server + engine child)", lambda r: f"{r['cold_start']['rss_mib']:.0f}", " MiB")]
    for stem, kind in KINDS.items():
        def det(r, stem=stem):
            d = r["determinations"].get(stem)
            if not d or "error" in d or not d["standards"]:
                return None
            return f"{d['median_ms']:.1f} ms ({d['items']} items, {d['hazards']} hazards)"
        lines.append(row(f"determination: {kind}", det))
    for name in after["coal_checklist"]:
        def cl(r, name=name):
            c = r["coal_checklist"].get(name)
            return f"{c['questions']} questions / {c['object_kinds']} object kinds" if c and c["questions"] else None
        lines.append(row(f"checklist {name}", cl))
    start = after.get("coal_interview_start")
    if start:
        lines.append(f"| guided interview of a 井工 高瓦斯 mine, nothing recorded yet: questions (whether each kind of object exists) | — | "
                     f"{start['questions']} |")
    coal = after["determinations"].get("high-gas-underground-coal-mine")
    if coal and "questions_left" in coal:
        lines.append(f"| guided interview after the high-gas mine fixture's observations ({coal['objects']} objects): questions left | — | "
                     f"{coal['questions_left']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("HAZARD_KB_ROOT", REPO)))
    ap.add_argument("--label", default="after")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--startups", type=int, default=3, help="API cold starts to time (0: skip)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="print the README table of two runs")
    args = ap.parse_args()
    if args.table:
        print(table(*(json.loads(p.read_text()) for p in args.table)))
        return
    res = {"label": args.label, **measure(args.root.resolve(), args.repeats, args.startups)}
    text = json.dumps(res, ensure_ascii=False, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

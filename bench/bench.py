"""hazard-kb benchmarks against the issue's targets; writes bench/RESULTS.md (and results.json) and prints it.

    bench/run                       # everything, 9-14 minutes on a 2-core machine
    bench/run --quick               # every section, short durations (about 3 minutes)
    bench/run --skip memory,api     # sections: engine, api, startup, memory

Every duration is an option (or BENCH_<OPTION> in the environment, e.g. BENCH_API_DURATION=5).
The knowledge base is the checkout's, or HAZARD_KB_ROOT's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]  # bench/ itself: its module names must not shadow anything
# after the installed package (and PYTHONPATH), so hazard_kb is the installed one; `bench` importable
sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench import api_bench, engine_bench  # noqa: E402
from bench.inspections import build, describe, strip  # noqa: E402

SECTIONS = ("engine", "api", "startup", "memory")


def _env(name: str, default):
    v = os.environ.get(f"BENCH_{name.upper()}")
    return type(default)(v) if v is not None else default


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine-seconds", type=float, default=_env("engine_seconds", 6.0),
                    help="seconds per backend per inspection size (default 6)")
    ap.add_argument("--api-duration", type=float, default=_env("api_duration", 8.0), help="seconds per wrk run (default 8)")
    ap.add_argument("--connections", default=_env("connections", "1,8,32"))
    ap.add_argument("--workers", default=_env("workers", "1,2"))
    ap.add_argument("--api-size", default=_env("api_size", "typical"), choices=["small", "typical", "large"])
    ap.add_argument("--startup-repeats", type=int, default=_env("startup_repeats", 3))
    ap.add_argument("--memory-n", type=int, default=_env("memory_n", 100_000))
    ap.add_argument("--memory-every", type=int, default=_env("memory_every", 5_000))
    ap.add_argument("--memory-size", default=_env("memory_size", "small"), choices=["small", "typical", "large"])
    ap.add_argument("--skip", default=_env("skip", ""), help="comma-separated sections to skip: " + ",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="short durations everywhere (a smoke run, not figures)")
    ap.add_argument("--out", default=str(REPO / "bench" / "RESULTS.md"))
    a = ap.parse_args()
    if a.quick:
        a.engine_seconds, a.api_duration, a.startup_repeats = 1.0, 2.0, 1
        a.memory_n, a.memory_every = 5_000, 1_000
    a.skip = {s.strip() for s in a.skip.split(",") if s.strip()}
    a.connections = [int(x) for x in str(a.connections).split(",")]
    a.workers = [int(x) for x in str(a.workers).split(",")]
    return a


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    git = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    try:
        from importlib.metadata import version
        durable = version("durable_rules")
    except Exception:  # noqa: BLE001
        durable = "?"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[:1] if api_bench.wrk_available() else []
    import hazard_kb

    return {"code": str(Path(hazard_kb.__file__).resolve().parent), "cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "durable_rules": durable,
            "git": git, "wrk": wrk[0] if wrk else "not installed", "kb_root": os.environ.get("HAZARD_KB_ROOT", "(checkout)"),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def load(res: dict, section: str) -> None:
    """1-minute load average when a section starts: figures taken on a busy machine are not the machine's."""
    res.setdefault("load", {})[section] = round(os.getloadavg()[0], 2)


def main() -> None:
    a = parse()
    t_start = time.perf_counter()
    from hazard_kb import project_root
    from hazard_kb.engine.service import Engine

    res: dict = {"machine": machine(), "options": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(a).items()}}
    log(f"machine: {res['machine']}")
    t0 = time.perf_counter()
    durable = Engine.load()
    res["kb_compile_s"] = time.perf_counter() - t0
    reference = Engine(durable.kb, backend="reference")
    res["kb_version"] = durable.kb.version
    res["rules"] = sum(getattr(durable.backend, "rule_counts", {}).values())
    res["rulesets"] = len(getattr(durable.backend, "rule_counts", {}))
    insps = build(durable.kb, project_root())
    res["inspections"] = {k: {"shape": describe(v), "source": v["_source"],
                              "answer": durable.determine(strip(v), today=engine_bench.TODAY).answer,
                              "hazards": len(durable.determine(strip(v), today=engine_bench.TODAY).hazards),
                              "facts": engine_bench.facts_asserted(durable, v)} for k, v in insps.items()}
    log(f"inspections: {res['inspections']}")

    if "engine" not in a.skip:
        load(res, "engine")
        res["engine"] = {}
        for size in ("small", "typical", "large"):
            log(f"engine: {size} ({res['inspections'][size]['shape']}), {a.engine_seconds:g} s per backend")
            res["engine"][size] = engine_bench.compare(durable, reference, insps[size], a.engine_seconds)
        log("engine: stage breakdown (typical)")
        res["stages"] = {"durable": engine_bench.stages(durable, insps["typical"]),
                         "reference": engine_bench.stages(reference, insps["typical"])}

    tmp = tempfile.mkdtemp(prefix="hazard-kb-bench-logs-")
    expected = res["inspections"][a.api_size]["answer"]
    if "startup" not in a.skip:
        load(res, "startup")
        log(f"startup: {a.startup_repeats} cold starts of `hazard-kb serve`")
        res["startup"] = api_bench.startup(strip(insps["typical"]), a.startup_repeats, tmp)

    if "api" not in a.skip:
        if not api_bench.wrk_available():
            log("api: wrk is not installed; skipped (bench/run installs it with apt-get)")
            res["api_skipped"] = "wrk not installed"
        else:
            res["api"] = []
            load(res, "api")
            for w in a.workers:
                log(f"api: {w} worker(s), connections {a.connections}, {a.api_duration:g} s per run")
                res["api"].append(api_bench.bench(w, strip(insps[a.api_size]), expected, a.connections, a.api_duration, tmp))

    if "memory" not in a.skip:
        load(res, "memory")
        log(f"memory: {a.memory_n} in-process determinations ({a.memory_size}) in a fresh process")
        out = os.path.join(tmp, "memory.json")
        subprocess.run([sys.executable, str(REPO / "bench" / "memory.py"), "--n", str(a.memory_n), "--every",
                        str(a.memory_every), "--size", a.memory_size, "--json", out], cwd=REPO, check=True)
        res["memory"] = json.loads(Path(out).read_text(encoding="utf-8"))

    load(res, "end")
    res["bench_seconds"] = time.perf_counter() - t_start
    from bench.report import render

    md = render(res)
    Path(a.out).write_text(md, encoding="utf-8")
    Path(a.out).with_name("results.json").write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str),
                                                      encoding="utf-8")
    print(md)
    log(f"wrote {a.out} in {res['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()

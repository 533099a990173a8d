"""Resident memory over many in-process determinations (run in a fresh process by bench/run):
`python bench/memory.py --n 100000 --every 5000 --size small --json out.json`."""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]  # bench/ itself: its module names must not shadow anything
# after the installed package (and PYTHONPATH), so hazard_kb is the installed one; `bench` importable
sys.path.append(str(Path(__file__).resolve().parent.parent))

from bench.engine_bench import TODAY  # noqa: E402
from bench.inspections import build, describe, strip  # noqa: E402
from bench.stats import rss_kib  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=5_000)
    ap.add_argument("--warmup", type=int, default=1_000)
    ap.add_argument("--size", default="small", choices=["small", "typical", "large"])
    ap.add_argument("--json", required=True)
    a = ap.parse_args()

    from hazard_kb import project_root
    from hazard_kb.engine.service import Engine

    engine = Engine.load()
    insp = build(engine.kb, project_root())[a.size]
    body = strip(insp)
    rss_loaded = rss_kib()
    for _ in range(a.warmup):
        engine.determine(body, today=TODAY)
    gc.collect()
    samples = [(0, rss_kib(), 0.0)]
    t0 = time.perf_counter()
    for i in range(1, a.n + 1):
        engine.determine(body, today=TODAY)
        if i % a.every == 0 or i == a.n:
            samples.append((i, rss_kib(), time.perf_counter() - t0))
            print(f"memory: {i:>7} determinations, RSS {samples[-1][1] / 1024:.1f} MiB", file=sys.stderr, flush=True)
    gc.collect()
    final_after_gc = rss_kib()
    base = samples[0][1]
    result = {"n": a.n, "size": a.size, "inspection": describe(insp), "source": insp.get("_source"),
              "rss_loaded_kib": rss_loaded, "rss_after_warmup_kib": base, "rss_final_kib": samples[-1][1],
              "rss_final_after_gc_kib": final_after_gc, "rss_peak_kib": max(s[1] for s in samples),
              "growth_pct": (samples[-1][1] - base) / base * 100, "seconds": samples[-1][2],
              "samples": samples}
    Path(a.json).write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

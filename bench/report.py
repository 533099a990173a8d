"""bench/RESULTS.md from the measurements (see bench/bench.py)."""

from __future__ import annotations

import statistics


def _ok(cond) -> str:
    return "n/a" if cond is None else ("**met**" if cond else "**not met**")


def _f(x, nd=1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _run(api: dict, path: str, c: int) -> dict | None:
    return next((r for r in api["runs"] if r["path"] == path and r["connections"] == c), None)


def targets(res: dict) -> list[tuple[str, str, str]]:
    rows = []
    eng = res.get("engine")
    if eng:
        med = eng["typical"]["durable"]["p50"]
        rows.append(("typical inspection, median in-process (durable-rules, whole KB)", "≤ 2 ms", f"{med:.2f} ms",
                     _ok(med <= 2.0)))
        ratio = eng["typical"]["durable"]["p50"] / eng["typical"]["reference"]["p50"]
        rows.append(("durable-rules ÷ plain-Python reference, typical, median", "≤ 3×", f"{ratio:.2f}×", _ok(ratio <= 3.0)))
    api = res.get("api") or []
    cmax = max((r["connections"] for a in api for r in a["runs"]), default=None)
    for a in api:
        det, hz = _run(a, "/v1/determinations", cmax), _run(a, "/healthz", cmax)
        if det and hz:
            share = det["rps"] / hz["rps"] * 100
            rows.append((f"API throughput at {cmax} clients, {a['workers']} worker(s), vs GET /healthz",
                         "≥ 50 %", f"{share:.1f} % ({det['rps']:.0f} vs {hz['rps']:.0f} req/s)", _ok(share >= 50)))
            rows.append((f"API p99 at {cmax} clients, {a['workers']} worker(s), vs GET /healthz", "≤ 2×",
                         f"{det['p99'] / hz['p99']:.1f}× ({det['p99']:.0f} vs {hz['p99']:.1f} ms)",
                         _ok(det["p99"] <= 2 * hz["p99"])))
    if len(api) >= 2:
        one = next((a for a in api if a["workers"] == 1), api[0])
        more = max(api, key=lambda a: a["workers"])
        d1, dn = _run(one, "/v1/determinations", cmax), _run(more, "/v1/determinations", cmax)
        if d1 and dn:
            s = dn["rps"] / d1["rps"]
            rows.append((f"scaling: determinations/s with {more['workers']} workers ÷ 1 worker at {cmax} clients",
                         "scales (≥ 1.5× on 2 cores)", f"{s:.2f}×", _ok(s >= 1.5)))
    st = res.get("startup")
    if st:
        med = statistics.median(s["determination_s"] for s in st)
        rows.append(("cold start: process start → first answered determination (median)", "≤ 2 s", f"{med:.2f} s",
                     _ok(med <= 2.0)))
    mem = res.get("memory")
    if mem:
        rows.append((f"RSS growth over {mem['n']:,} in-process determinations", "≤ 5 %",
                     f"{mem['growth_pct']:+.1f} % ({mem['rss_after_warmup_kib'] / 1024:.0f} → {mem['rss_final_kib'] / 1024:.0f} MiB)",
                     _ok(mem["growth_pct"] <= 5.0)))
    return rows


def render(res: dict) -> str:
    m = res["machine"]
    L = ["# hazard-kb benchmark results", "",
         f"{m['date']} · git `{m['git']}` · KB `{res['kb_version']}` ({res.get('rules', '?')} durable rules in "
         f"{res.get('rulesets', '?')} rulesets) · KB root {m['kb_root']} · code {m.get('code', '?')}  ",
         f"{m['cores']} cores ({m['cpu']}) · Python {m['python']} · durable-rules {m['durable_rules']} · {m['wrk']}  ",
         f"Produced by `bench/run` in {res['bench_seconds'] / 60:.1f} min; options: `{_opts(res)}`.", "",
         *_load_note(res),
         "## Against the targets (issue 4)", "",
         "| target | goal | measured | |", "|---|---|---|---|"]
    for name, goal, got, ok in targets(res):
        L.append(f"| {name} | {goal} | {got} | {ok} |")
    L += ["", "## Inspections", "", "| size | shape | facts asserted | answer | hazards | built from |", "|---|---|---|---|---|---|"]
    for k, v in res["inspections"].items():
        L.append(f"| {k} | {v['shape']} | {v['facts'] or '–'} | {v['answer']} | {v['hazards']} | {v['source']} |")
    eng = res.get("engine")
    if eng:
        L += ["", "## Engine, in-process (whole knowledge base; `Engine.determine`, result object not serialised)", "",
              "| size | backend | determinations/s | p50 ms | p95 ms | p99 ms | CPU ms (p50) | runs | durable ÷ reference (p50) |",
              "|---|---|---|---|---|---|---|---|---|"]
        for size, r in eng.items():
            ratio = r["durable"]["p50"] / r["reference"]["p50"]
            for b in ("durable", "reference"):
                s = r[b]
                L.append(f"| {size} | {'durable-rules' if b == 'durable' else 'reference (Python)'} | {s['per_s']:.0f} | "
                         f"{s['p50']:.2f} | {s['p95']:.2f} | {s['p99']:.2f} | {s.get('cpu_p50', float('nan')):.2f} | {s['n']} | {f'{ratio:.2f}×' if b == 'durable' else ''} |")
        st = res.get("stages") or {}
        if st.get("durable"):
            L += ["", "Where the time goes (typical inspection, median ms per stage, same steps as `engine/service.py`):", "",
                  "| stage | durable-rules | reference |", "|---|---|---|"]
            for k in st["durable"]:
                ref = (st.get("reference") or {}).get(k)
                L.append(f"| {k} | {st['durable'][k]:.2f} | {_f(ref, 2)} |")
            L.append(f"| **sum** | **{sum(st['durable'].values()):.2f}** | **{_f(sum((st.get('reference') or {}).values()) or None, 2)}** |")
    api = res.get("api")
    if api:
        L += ["", f"## API (wrk, keep-alive, loopback; `hazard-kb serve --workers N`; POST body {api[0]['body_bytes']:,} bytes)", "",
              "wrk runs on the same machine and takes CPU from the server; latency is closed-loop (wrk 4, not wrk2).", "",
              "| workers | clients | endpoint | req/s | p50 ms | p95 ms | p99 ms | max ms | non-2xx | socket errors |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for a in api:
            for r in a["runs"]:
                ep = "GET /healthz" if r["path"] == "/healthz" else "POST /v1/determinations"
                L.append(f"| {a['workers']} | {r['connections']} | {ep} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                         f"{r['p99']:.1f} | {r['max']:.0f} | {r['non2xx']} | {r['socket_errors']} |")
        nag = _nagle_note(api)
        if nag:
            L += [""] + nag
        L += ["", "| workers | first /healthz | all engines ready | RSS before (MiB) | RSS after (MiB) |", "|---|---|---|---|---|"]
        for a in api:
            L.append(f"| {a['workers']} | {a['ready_s']:.2f} s | {a['all_workers_ready_s']:.2f} s | {_rss(a['rss_before_kib'])} | "
                     f"{_rss(a['rss_after_kib'])} |")
    st = res.get("startup")
    if st:
        L += ["", "## Start-up (`hazard-kb serve`, 1 worker, cold: a new process each time)", "",
              f"In-process KB compile (`Engine.load`) in this run: {res['kb_compile_s']:.2f} s.", "",
              "| run | process start → first 200 /healthz | → first determination answered | RSS (MiB) |", "|---|---|---|---|"]
        for i, s in enumerate(st, 1):
            L.append(f"| {i} | {s['healthz_s']:.2f} s | {s['determination_s']:.2f} s | {_rss(s['rss_kib'])} |")
    mem = res.get("memory")
    if mem:
        L += ["", f"## Memory: {mem['n']:,} in-process determinations ({mem['size']}: {mem['inspection']}), fresh process", "",
              f"RSS: {mem['rss_loaded_kib'] / 1024:.1f} MiB after loading, {mem['rss_after_warmup_kib'] / 1024:.1f} MiB after "
              f"warm-up, {mem['rss_final_kib'] / 1024:.1f} MiB at the end ({mem['growth_pct']:+.2f} %), peak "
              f"{mem['rss_peak_kib'] / 1024:.1f} MiB, {mem['rss_final_after_gc_kib'] / 1024:.1f} MiB after gc; "
              f"{mem['n'] / mem['seconds']:.0f} determinations/s.", "",
              "| determinations | " + " | ".join(f"{n:,}" for n, _, _ in _thin(mem["samples"])) + " |",
              "|---|" + "---|" * len(_thin(mem["samples"])),
              "| RSS MiB | " + " | ".join(f"{r / 1024:.1f}" for _, r, _ in _thin(mem["samples"])) + " |"]
    if res.get("api_skipped"):
        L += ["", f"API section skipped: {res['api_skipped']}."]
    return "\n".join(L) + "\n"


def _load_note(res: dict) -> list[str]:
    ld = res.get("load") or {}
    cores = res["machine"]["cores"] or 1
    if not ld:
        return []
    text = ", ".join(f"{k} {v:g}" for k, v in ld.items())
    if max(ld.values()) > 0.75 * cores:
        return [f"**Warning: the machine was busy** (1-min load average at each section: {text}; {cores} cores). "
                "Wall-clock figures are then inflated by other processes; the engine's CPU-time column is less affected.", ""]
    return [f"1-min load average at each section: {text}.", ""]


def _nagle_note(api: list) -> list[str]:
    """uvicorn --workers N>1 binds its socket with proto 0, so asyncio never sets TCP_NODELAY (uvicorn issue
    #3149): every keep-alive response then waits ~40 ms for a delayed ACK. Its signature: ~40-48 ms at 1 client."""
    one = next((a for a in api if a["workers"] == 1), None)
    out = []
    for a in api:
        if a["workers"] > 1 and one:
            m, s = _run(a, "/healthz", 1), _run(one, "/healthz", 1)
            if m and s and 35 <= m["p50"] <= 60 and s["p50"] < 15:
                out.append(f"**{a['workers']} workers: GET /healthz at 1 client takes {m['p50']:.0f} ms (1 worker: "
                           f"{s['p50']:.1f} ms), the Nagle/delayed-ACK signature**: uvicorn's multi-worker path binds "
                           "the socket with proto 0, so asyncio never sets TCP_NODELAY on its connections "
                           "(uvicorn issue #3149). The multi-worker figures measure that bug, not the engine.")
    return out


def _rss(d: dict) -> str:
    by: dict[str, int] = {}
    for role, kib in d.values():
        by[role] = by.get(role, 0) + kib
    total = sum(by.values())
    return f"{total / 1024:.0f} (" + ", ".join(f"{k} {v / 1024:.0f}" for k, v in sorted(by.items())) + ")"


def _thin(samples: list, k: int = 11) -> list:
    if len(samples) <= k:
        return samples
    step = (len(samples) - 1) / (k - 1)
    return [samples[round(i * step)] for i in range(k)]


def _opts(res: dict) -> str:
    o = res["options"]
    return (f"engine {o['engine_seconds']:g} s/backend/size, wrk {o['api_duration']:g} s/run at {o['connections']} "
            f"clients, workers {o['workers']}, {o['startup_repeats']} cold starts, memory {o['memory_n']:,} × {o['memory_size']}")

"""In-process engine benchmark: durable-rules against the plain-Python reference in the same run,
on the same inspections, interleaved in blocks so that drift (CPU frequency, other load) hits both."""

from __future__ import annotations

import gc
import time
from datetime import date

from .inspections import strip
from .stats import summary_ms

TODAY = date(2026, 11, 29)


def _time_block(engine, insp: dict, seconds: float, out: list[int], cpu: list[int]) -> None:
    end = time.perf_counter() + seconds
    pc, cc = time.perf_counter_ns, time.process_time_ns
    while True:
        t0, c0 = pc(), cc()
        engine.determine(insp, today=TODAY)
        out.append(pc() - t0)
        cpu.append(cc() - c0)
        if time.perf_counter() >= end:
            return


def compare(durable, reference, insp: dict, seconds: float, block: float = 0.5) -> dict:
    """seconds per backend, in alternating blocks; returns {backend: summary}."""
    insp = strip(insp)
    for e in (durable, reference):  # warm caches (citations, indexes, durable's first session)
        for _ in range(5):
            e.determine(insp, today=TODAY)
    lat = {"durable": [], "reference": []}
    cpu = {"durable": [], "reference": []}
    gc.collect()
    spent = 0.0
    while spent < seconds:
        b = min(block, seconds - spent)
        _time_block(durable, insp, b, lat["durable"], cpu["durable"])
        _time_block(reference, insp, b, lat["reference"], cpu["reference"])
        spent += b
    out = {}
    for k in lat:
        out[k] = summary_ms(lat[k])
        c = sorted(cpu[k])
        out[k]["cpu_p50"] = c[len(c) // 2] / 1e6  # CPU time: less disturbed than wall time by other load
    return out


def stages(engine, insp: dict, n: int = 200) -> dict[str, float] | None:
    """Median ms per stage of one determination (as engine/service.py does it, plus JSON), or None when
    the engine's internals no longer have this shape."""
    try:
        from hazard_kb.engine.determine import applicable, determine, documents_in_force
        from hazard_kb.engine.evaluate import explain
        from hazard_kb.engine.inspection import normalize
        from hazard_kb.engine.records import route
    except ImportError:
        return None
    kb = engine.kb
    insp = strip(insp)
    names = ["normalize", "applicable criteria", "route facts", "backend.run", "explain", "determine (build result)",
             "model_dump_json"]
    times: dict[str, list[int]] = {k: [] for k in names}
    pc = time.perf_counter_ns
    try:
        for _ in range(n):
            t0 = pc()
            ni = normalize(kb, insp, TODAY)
            t1 = pc()
            criteria = {p.pinpoint for d in documents_in_force(kb, ni) for p in kb.ontology.criteria(d)
                        if applicable(kb, ni, p.pinpoint)}
            t2 = pc()
            routed = route(kb, ni, criteria)
            t3 = pc()
            recs = engine.backend.run(routed)
            t4 = pc()
            recs += explain(kb, routed)
            t5 = pc()
            result = determine(kb, ni, recs, engine.backend.name)
            t6 = pc()
            result.model_dump_json()
            t7 = pc()
            for k, a, b in zip(names, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
                times[k].append(b - a)
    except Exception:  # noqa: BLE001 - internals changed: the breakdown is optional
        return None
    return {k: sorted(v)[len(v) // 2] / 1e6 for k, v in times.items()}


def facts_asserted(engine, insp: dict) -> int | None:
    try:
        from hazard_kb.engine.determine import applicable, documents_in_force
        from hazard_kb.engine.inspection import normalize
        from hazard_kb.engine.records import route
        kb = engine.kb
        ni = normalize(kb, strip(insp), TODAY)
        criteria = {p.pinpoint for d in documents_in_force(kb, ni) for p in kb.ontology.criteria(d)
                    if applicable(kb, ni, p.pinpoint)}
        routed = route(kb, ni, criteria)
        return sum(len(f) + 1 for f in routed.values())  # +1: the session-opening fact per ruleset
    except Exception:  # noqa: BLE001
        return None

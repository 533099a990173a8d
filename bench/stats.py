"""Percentiles and RSS, with the standard library only."""

from __future__ import annotations

import os


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summary_ms(latencies_ns: list[int]) -> dict:
    s = sorted(latencies_ns)
    total = sum(s)
    return {"n": len(s), "per_s": len(s) / (total / 1e9) if total else float("nan"),
            "p50": percentile(s, 50) / 1e6, "p95": percentile(s, 95) / 1e6, "p99": percentile(s, 99) / 1e6,
            "mean": total / len(s) / 1e6 if s else float("nan")}


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """pid and every process below it (from /proc/*/stat parent links)."""
    return list(tree(pid))


def tree(pid: int) -> dict[int, int]:
    """pid and every process below it -> depth below pid (from /proc/*/stat parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = {}, [(pid, 0)]
    while todo:
        p, d = todo.pop()
        out[p] = d
        todo.extend((c, d + 1) for c in children.get(p, []))
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""

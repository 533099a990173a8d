"""HTTP benchmark with wrk against a real `hazard-kb serve` (loopback only, bounded durations)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .server import Server, dumps, request

LUA = Path(__file__).with_name("wrk.lua")


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(port: int, path: str, connections: int, duration: float, body_file: str | None = None,
            threads: int = 1, timeout: float = 30.0) -> dict:
    url = f"http://127.0.0.1:{port}{path}"
    env = {**os.environ, "BODY_FILE": body_file or ""}
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(duration))}s",
           f"--timeout={timeout:g}s", "-s", str(LUA), url]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + timeout + 30)
    line = next((l for l in p.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
    r = json.loads(line[len("WRKJSON "):])
    secs = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {"path": path, "connections": connections, "requests": r["requests"], "rps": r["requests"] / secs if secs else 0,
            "p50": r["p50_us"] / 1e3, "p90": r["p90_us"] / 1e3, "p95": r["p95_us"] / 1e3, "p99": r["p99_us"] / 1e3,
            "max": r["max_us"] / 1e3, "non2xx": r["status"], "socket_errors": errors}


def bench(workers: int, body: dict, expected_answer: str | None, connections: list[int], duration: float,
          log_dir: str, warmup: float = 2.0) -> dict:
    """One server with `workers` uvicorn processes: /healthz and POST /v1/determinations at each
    connection count, plus the server's resident memory before and after."""
    tmp = tempfile.mkdtemp(prefix="hazard-kb-bench-")
    body_file = os.path.join(tmp, "body.json")
    raw = dumps(body)
    with open(body_file, "wb") as f:
        f.write(raw)
    out: dict = {"workers": workers, "runs": [], "body_bytes": len(raw)}
    srv = Server(workers=workers, log_dir=log_dir).start()
    try:
        out["ready_s"] = srv.wait_ready()
        srv.wait_all_workers(raw)
        out["all_workers_ready_s"] = time.perf_counter() - srv.started_at
        status, headers, resp = request(srv.port, "POST", "/v1/determinations", raw)
        if status != 200:
            raise RuntimeError(f"POST /v1/determinations answered {status}: {resp[:500]!r}")
        answer = json.loads(resp)["answer"]
        if expected_answer is not None and answer != expected_answer:
            raise RuntimeError(f"the server answered {answer!r}, in-process gives {expected_answer!r}")
        out["rss_before_kib"] = srv.rss_kib()
        run_wrk(srv.port, "/v1/determinations", max(connections), warmup, body_file)  # warm every path
        for c in connections:
            for path, bf in (("/healthz", None), ("/v1/determinations", body_file)):
                r = run_wrk(srv.port, path, c, duration, bf)
                out["runs"].append(r)
        out["rss_after_kib"] = srv.rss_kib()
        out["log_tail"] = srv.log_tail(1500) if any(r["non2xx"] or r["socket_errors"] for r in out["runs"]) else ""
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def startup(body: dict, repeats: int, log_dir: str) -> list[dict]:
    """Process start -> first 200 on /healthz, and -> first answered determination (1 worker)."""
    raw = dumps(body)
    out = []
    for _ in range(repeats):
        srv = Server(workers=1, log_dir=log_dir).start()
        try:
            t_health = srv.wait_ready()
            status, _, _ = request(srv.port, "POST", "/v1/determinations", raw)
            t_det = time.perf_counter() - srv.started_at
            if status != 200:
                raise RuntimeError(f"first determination answered {status}")
            rss = srv.rss_kib()
        finally:
            srv.stop()
        out.append({"healthz_s": t_health, "determination_s": t_det, "rss_kib": rss})
    return out

"""Load: 32 concurrent clients against a real `hazard-kb serve` (127.0.0.1, a free port, started and stopped
here), one request in ten malformed. Every good request must be answered exactly as the same inspection is
determined sequentially in-process; every bad one with a 4xx problem+json; never a 5xx; the engine child
process must survive it all (no crash, no restart). Bounded: a few hundred requests, well under 60 s.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from hazard_kb.engine.cases import load_cases

CLIENTS = 32
REQUESTS_PER_CLIENT = 10  # 320 in all, 32 of them malformed
TODAY = "2026-11-29"
DEADLINE = 50.0  # seconds for the whole load phase


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("hazard-kb")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hazard-kb")
    return [found] if found else [sys.executable, "-c", "from hazard_kb.cli import app; app()"]


def _request(port, method, path, body=None, headers=None, timeout=60.0, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("content-type", ""), r.read()
    finally:
        if own:
            conn.close()


def _engine_children(pid: int) -> list[int]:
    """The server's child processes started by multiprocessing's spawn (the engine), from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmd:
            out.append(int(entry))
    return sorted(out)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"hazard-kb serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                if _request(port, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"hazard-kb serve did not answer in 90 s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield port, proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the process group this fixture started
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _good_inspections(root) -> list[dict]:
    """The knowledge base's own cases (one inspection each) and whole-enterprise fixtures, all dated."""
    out = []
    for lc in load_cases(root):
        insp = lc.case.inspection.model_dump(mode="json", by_alias=True, exclude_none=True)
        insp.setdefault("date", TODAY)
        out.append(insp)
    for path in sorted((root / "fixtures" / "inspections").glob("*.yaml")):
        insp = yaml.safe_load(path.read_text(encoding="utf-8"))["inspection"]
        out.append(json.loads(json.dumps({"date": TODAY, **insp}, default=str)))
    return out


def _bad_requests(good: dict) -> list[tuple[str, bytes, dict]]:
    """(what, body, headers): malformed in every way a client can get it wrong."""
    j = {"Content-Type": "application/json"}

    def with_(**changes):
        d = copy.deepcopy(good)
        d.update(changes)
        return json.dumps(d, ensure_ascii=False).encode()

    obj = {"ref": "x1", "class": "速冻间", "properties": {}}
    return [
        ("invalid JSON", '{"enterprise": {"name": "a", "industries": ["轻工"]'.encode(), j),
        ("not an object", b'[1, 2, 3]', j),
        ("empty body", b"", j),
        ("missing enterprise", json.dumps({"objects": []}).encode(), j),
        ("unknown field", with_(inspector="张三"), j),
        ("unknown industry", with_(enterprise={"name": "某企业", "industries": ["冶金x"]}), j),
        ("unknown class", with_(objects=[{**obj, "class": "速冻间x"}]), j),
        ("unknown property", with_(objects=[{**obj, "properties": {"作业人员数量x": 3}}]), j),
        ("wrong value type", with_(objects=[{**obj, "properties": {"作业人员数量": "twelve"}}]), j),
        ("negative number", with_(objects=[{**obj, "properties": {"作业人员数量": -1}}]), j),
        ("duplicate ref", with_(objects=[obj, obj]), j),
        ("bad date", with_(date="2026-13-45"), j),
        ("too many objects", with_(objects=[{**obj, "ref": f"o{i}"} for i in range(2001)]), j),
        ("name too long", with_(enterprise={"name": "某" * 201, "industries": ["轻工"]}), j),
        ("oversized body", b'{"enterprise": "' + b"a" * 1_100_000 + b'"}', j),
        ("wrong content type", json.dumps(good, ensure_ascii=False).encode(), {"Content-Type": "text/plain"}),
    ]


def test_32_clients_with_malformed_requests_mixed_in(server, engine, root):
    port, proc, log = server
    rng = random.Random(4)
    goods = _good_inspections(root)
    bads = _bad_requests(goods[0])
    expected = {}  # index in goods -> the sequential in-process determination, as JSON
    plan: list[list[tuple]] = [[] for _ in range(CLIENTS)]
    n = 0
    for c in range(CLIENTS):
        for _ in range(REQUESTS_PER_CLIENT):
            n += 1
            if n % 10 == 0:
                what, body, headers = bads[(n // 10) % len(bads)]
                plan[c].append(("bad", what, body, headers))
            else:
                i = rng.randrange(len(goods))
                if i not in expected:
                    expected[i] = engine.determine(copy.deepcopy(goods[i])).model_dump(mode="json")
                plan[c].append(("good", i, json.dumps(goods[i], ensure_ascii=False).encode(),
                                {"Content-Type": "application/json"}))
    children_before = _engine_children(proc.pid)

    results: list[tuple] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    deadline = time.monotonic() + DEADLINE

    def client(requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        for kind, what, body, headers in requests:
            if time.monotonic() > deadline:
                with lock:
                    errors.append("deadline passed before every request was sent")
                return
            try:
                status, ctype, data = _request(port, "POST", "/v1/determinations", body, headers, conn=conn)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(f"{kind} {what}: {type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            with lock:
                results.append((kind, what, status, ctype, data))
            if kind == "bad":  # the server may close a connection after refusing a body
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=client, args=(p,), daemon=True) for p in plan]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 5))
    elapsed = time.monotonic() - t0
    assert not any(t.is_alive() for t in threads), f"clients still waiting after {elapsed:.0f} s"
    assert not errors, errors[:5]
    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT

    server_errors = [(k, w, s, d[:300]) for k, w, s, _, d in results if s >= 500]
    assert not server_errors, server_errors[:5]
    wrong_bad = [(w, s, c) for k, w, s, c, _ in results if k == "bad" and not (400 <= s < 500 and "problem+json" in c)]
    assert not wrong_bad, wrong_bad
    mismatched = []
    for kind, i, status, _, data in results:
        if kind != "good":
            continue
        if status != 200:
            mismatched.append((goods[i]["enterprise"]["name"], status, data[:300]))
        elif json.loads(data) != expected[i]:
            mismatched.append((goods[i]["enterprise"]["name"], "differs from the sequential in-process result"))
    assert not mismatched, mismatched[:5]
    assert sum(1 for r in results if r[0] == "bad") == CLIENTS * REQUESTS_PER_CLIENT // 10

    # the engine process neither crashed nor was restarted, and the server still answers
    if sys.platform.startswith("linux"):
        assert _engine_children(proc.pid) == children_before
    assert proc.poll() is None
    assert _request(port, "POST", "/v1/determinations", json.dumps(goods[0]).encode(),
                    {"Content-Type": "application/json"})[0] == 200

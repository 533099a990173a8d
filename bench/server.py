"""Start and stop a real `hazard-kb serve` on 127.0.0.1 (a free port), as the benchmark and the load test do."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hazard_kb_command() -> list[str]:
    """The `hazard-kb` of this interpreter; BENCH_SERVE_COMMAND (split on spaces) replaces it, e.g. to compare
    a patched server: BENCH_SERVE_COMMAND="python /tmp/patched_serve.py" bench/run --skip engine,memory."""
    override = os.environ.get("BENCH_SERVE_COMMAND")
    if override:
        return override.split()
    exe = Path(sys.executable).with_name("hazard-kb")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("hazard-kb")
    if found:
        return [found]
    return [sys.executable, "-c", "from hazard_kb.cli import app; app()"]


def request(port: int, method: str, path: str, body: bytes | None = None, timeout: float = 30.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


class Server:
    """`hazard-kb serve --workers N --port P` in its own process group; stop() ends that group only."""

    def __init__(self, workers: int = 1, port: int | None = None, env: dict | None = None, log_dir: str | None = None):
        self.workers = workers
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="hazard-kb-serve-")
        self.log_path = os.path.join(self.log_dir, f"serve-w{workers}-p{self.port}.log")
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> "Server":
        cmd = [*hazard_kb_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self._log = open(self.log_path, "wb")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 120.0, path: str = "/healthz") -> float:
        """Seconds from process start to the first 200 on `path`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hazard-kb serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _, _ = request(self.port, "GET", path, timeout=2.0)
                if status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"hazard-kb serve did not answer within {timeout} s:\n{self.log_tail()}")

    def wait_all_workers(self, body: bytes, timeout: float = 120.0) -> None:
        """With several uvicorn workers, each builds its own engine: wait until every one can answer a
        determination (each has an engine child process), so no start-up lands inside a measurement."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if sum(1 for role in self.roles().values() if role == "engine child") >= self.workers:
                break
            time.sleep(0.1)
        for _ in range(4 * self.workers):
            request(self.port, "POST", "/v1/determinations", body)

    def pids(self) -> list[int]:
        from .stats import descendants
        return descendants(self.proc.pid) if self.proc else []

    def roles(self) -> dict[int, str]:
        """pid -> supervisor | server | engine child | helper. uvicorn --workers N>1 spawns its servers and
        each server spawns its engine child, both with multiprocessing's spawn_main command line."""
        from .stats import tree
        out = {}
        engine_depth = 1 if self.workers == 1 else 2
        for pid, depth in tree(self.proc.pid).items() if self.proc else ():
            spawned = "spawn_main" in _cmd(pid)
            if depth == 0:
                out[pid] = "server" if self.workers == 1 else "supervisor"
            elif spawned and depth == engine_depth:
                out[pid] = "engine child"
            elif spawned and depth == 1:
                out[pid] = "server"
            else:
                out[pid] = "helper"
        return out

    def rss_kib(self) -> dict[int, tuple[str, int]]:
        from .stats import rss_kib
        return {p: (role, rss_kib(p)) for p, role in self.roles().items()}

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the group this Server started, by its id
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        else:  # the leader is gone; its group may not be
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _cmd(pid: int) -> str:
    from .stats import cmdline
    return cmdline(pid)




def dumps(insp: dict) -> bytes:
    return json.dumps(insp, ensure_ascii=False).encode("utf-8")

"""The engine in a child process, so that a crash in durable-rules' C code (segfaults and aborts were
seen here) or a run that hangs cannot take the API process down with it.

The parent sends an inspection, the child answers with the determination as JSON bytes (or the
input problems); a child that dies is restarted and the request fails with EngineFailure, a child that
takes longer than the timeout is killed and restarted and the request fails with EngineTimeout.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from .backend_durable import EngineFailure
from .inspection import InputProblem, InspectionError

FAULTS_ENV = "HAZARD_KB_TEST_FAULTS"  # fault injection for the isolation tests only: crash|hang on an enterprise name


class EngineTimeout(EngineFailure):
    """The determination took longer than allowed; the engine was restarted."""


class EngineBusy(EngineFailure):
    """Other determinations held the engine for longer than a request may wait; nothing was run."""


def _serve(conn, root: str | None) -> None:
    """Child process: build the engine once, then answer requests until the pipe closes."""
    from .service import Engine

    engine = Engine.load(Path(root) if root else None)
    faults = os.environ.get(FAULTS_ENV, "")
    conn.send(("ready", engine.kb.version))
    while True:
        try:
            kind, payload, today = conn.recv()
        except (EOFError, OSError):
            return
        if faults and isinstance(payload, dict):
            name = (payload.get("enterprise") or {}).get("name")
            if f"crash:{name}" in faults:
                os.abort()  # what a segfault in the C engine looks like from outside
            if f"hang:{name}" in faults:
                time.sleep(3600)
        try:
            result = engine.determine(payload, today=today)
            conn.send(("ok", result.model_dump_json().encode("utf-8")))
        except InspectionError as exc:
            conn.send(("invalid", [asdict(p) for p in exc.problems]))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))


class EngineWorker:
    """One engine child process; requests to it are serialised (the engine is single-threaded anyway)."""

    def __init__(self, root: Path | None = None, timeout: float = 10.0, start_timeout: float = 60.0):
        self.root = str(root) if root else None
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.lock = threading.Lock()
        self.restarts = 0
        self.kb_version = ""
        self._process = None
        self._conn = None
        self._start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _start(self) -> None:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no state inherited from the parent's engine
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_serve, args=(child, self.root), daemon=True, name="hazard-kb-engine")
        process.start()
        child.close()
        if not parent.poll(self.start_timeout):
            process.kill()
            raise EngineFailure("the engine process did not start in time")
        try:
            status, version = parent.recv()
        except EOFError:
            process.join(5)
            raise EngineFailure(f"the engine process exited while starting (exit code {process.exitcode})") from None
        self._process, self._conn, self.kb_version = process, parent, version

    def _restart(self) -> None:
        self.restarts += 1
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._start()

    def determine_json(self, inspection: dict, today: date | None = None) -> bytes:
        # wait for the engine no longer than a run may take: a queue that grows without bound only hides overload
        if not self.lock.acquire(timeout=self.timeout):
            raise EngineBusy(f"the engine stayed busy for {self.timeout:g} s with other determinations; retry shortly")
        try:
            return self._determine_locked(inspection, today)
        finally:
            self.lock.release()

    def _determine_locked(self, inspection: dict, today: date | None) -> bytes:
        if self._process is None or not self._process.is_alive():
            self._restart()  # it died between requests: nobody was waiting on it
        try:
            self._conn.send(("determine", inspection, today))
            if not self._conn.poll(self.timeout):
                self._restart()
                raise EngineTimeout(f"the determination took longer than {self.timeout:g} s; the engine was restarted")
            status, body = self._conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._restart()
            raise EngineFailure("the engine process stopped during the determination; it was restarted") from None
        if status == "ok":
            return body
        if status == "invalid":
            raise InspectionError([InputProblem(tuple(p["loc"]), p["msg"], p["expected"], tuple(p["suggestions"]))
                                   for p in body])
        raise EngineFailure(body)

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()
            if self._process is not None:
                self._process.kill()
                self._process.join(5)

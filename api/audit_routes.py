"""GET /v1/audit: the traceability audit as JSON. Needs no running engine, so the route also works
(and says why) when the knowledge base does not compile.

The audit takes seconds, so the report is kept until an input file changes, only one computation runs
at a time, and a request arriving while one runs gets 503 with Retry-After instead of holding a worker."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from hazard_kb import project_root
from hazard_kb.engine.audit import AuditReport, run_audit

audit_router = APIRouter(tags=["audit"])

_lock = threading.Lock()  # one audit at a time: it is CPU-bound and SHACL validation is serialised anyway
_cache: dict[str, AuditReport] = {}
INPUTS = ("ontology", "rules", "tests/cases", "fixtures")


def _inputs_key(root: Path) -> str:
    """Cheap identity of the audit's inputs: every file's path, size and modification time."""
    h = hashlib.sha256(str(root).encode())
    for folder in INPUTS:
        for path in sorted((root / folder).rglob("*")) if (root / folder).is_dir() else ():
            if path.is_file():
                st = path.stat()
                h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _audit() -> AuditReport:
    root = project_root()
    key = _inputs_key(root)
    if key in _cache:
        return _cache[key]
    if not _lock.acquire(timeout=1):
        raise HTTPException(503, "the audit is being computed for another request; retry shortly",
                            headers={"Retry-After": "10"})
    try:
        if key not in _cache:
            _cache.clear()
            _cache[key] = run_audit(root)
        return _cache[key]
    finally:
        _lock.release()


@audit_router.get("/v1/audit", response_model=AuditReport, summary="Law-to-rule traceability audit")
async def get_audit() -> AuditReport:
    """Coverage, fidelity, citation and consistency checks per standard; `ok` is false when any check fails."""
    return await run_in_threadpool(_audit)

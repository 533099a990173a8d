"""GET /v1/audit: the traceability audit as JSON. Needs no running engine, so the route also works
(and says why) when the knowledge base does not compile."""

from __future__ import annotations

import threading

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from hazard_kb import project_root
from hazard_kb.engine.audit import AuditReport, run_audit

audit_router = APIRouter(tags=["audit"])

_lock = threading.Lock()  # one audit at a time: it is CPU-bound and SHACL validation is serialised anyway


def _audit() -> AuditReport:
    with _lock:
        return run_audit(project_root())


@audit_router.get("/v1/audit", response_model=AuditReport, summary="Law-to-rule traceability audit")
async def get_audit() -> AuditReport:
    """Coverage, fidelity, citation and consistency checks per standard; `ok` is false when any check fails."""
    return await run_in_threadpool(_audit)

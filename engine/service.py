"""The engine as one object: load and validate the knowledge base once, warm durable-rules once,
then determine inspections (each in a fresh engine session that is always deleted)."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from hazard_kb import project_root

from .backend_durable import DurableBackend
from .backend_reference import ReferenceBackend
from .compiler import CompiledKB, compile_kb
from .determine import applicable, determine, documents_in_force
from .evaluate import explain
from .inspection import InspectionIn, normalize
from .records import route
from .result import Determination


class Engine:
    def __init__(self, kb: CompiledKB, backend: str = "durable"):
        self.kb = kb
        self.backend = DurableBackend(kb) if backend == "durable" else ReferenceBackend(kb)

    @classmethod
    def load(cls, root: Path | None = None, backend: str = "durable") -> "Engine":
        return cls(compile_kb(root or project_root()), backend)

    def determine(self, inspection: InspectionIn | dict, today: date | None = None) -> Determination:
        insp = normalize(self.kb, inspection, today)
        criteria = {p.pinpoint for d in documents_in_force(self.kb, insp) for p in self.kb.ontology.criteria(d)
                    if applicable(self.kb, insp, p.pinpoint)}
        routed = route(self.kb, insp, criteria)
        # the rules' positive conclusions, then what did not fire and why (same compiled conditions)
        records = self.backend.run(routed) + explain(self.kb, routed)
        return determine(self.kb, insp, records, self.backend.name)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The process-wide engine over the project's knowledge base, built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Engine.load()
        return _default

"""Determination records: canonical hashes of what is stored, and the comparison of a saved determination with
the same input determined again under today's knowledge base."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def hazard_refs(output: dict) -> list[dict]:
    return [{k: h.get(k) for k in ("pinpoint", "document", "doc_number", "article", "item", "text")}
            for h in output.get("hazards", [])]


def _label(item: dict) -> str:
    return f"{item.get('document', '')}{item.get('article') or ''}{item.get('item') or ''}"


def compare(then: dict, now: dict) -> dict:
    """Items whose verdict differs (or that are applied only then or only now), hazards added and removed."""
    before = {i["pinpoint"]: i for i in then.get("items", [])}
    after = {i["pinpoint"]: i for i in now.get("items", [])}
    changes = []
    for pin in sorted(set(before) | set(after)):
        b, a = before.get(pin), after.get(pin)
        vb, va = (b or {}).get("verdict"), (a or {}).get("verdict")
        if vb != va:
            changes.append({"pinpoint": pin, "label": _label(a or b), "before": vb, "after": va})
    hb = [h["pinpoint"] for h in then.get("hazards", [])]
    ha = [h["pinpoint"] for h in now.get("hazards", [])]
    return {"changes": changes, "hazards_added": [p for p in ha if p not in hb], "hazards_removed": [p for p in hb if p not in ha]}

"""Benchmark inspections built from the knowledge base's own examples.

small (~10 objects), typical (~40 objects, ~120 values) and large (~200 objects) inspections are cut
from the whole-enterprise fixtures (fixtures/inspections/*.yaml) when there are any, else assembled
from the expert test cases (tests/cases/*/*.yaml). Relations that point at an object left out are
dropped (the value becomes unknown), so every inspection built here is valid for the knowledge base
it is built against; `build()` checks that by normalising each one.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _fixture_dirs(root: Path) -> list[Path]:
    # the KB root's own fixtures first; the checkout's when the KB root is a snapshot without any
    return [d for d in (root / "fixtures" / "inspections", REPO / "fixtures" / "inspections") if d.is_dir()]


def _values(insp: dict) -> int:
    return sum(len(o.get("properties") or {}) for o in insp.get("objects", [])) + len(
        (insp.get("enterprise") or {}).get("properties") or {})


def _relation_names(kb) -> set[str]:
    onto = kb.ontology
    names = {n for n, p in onto.properties.items() if p.kind == "relation"}
    return names | {alias for alias, n in onto.property_aliases.items() if n in names}


def _prune(kb, insp: dict) -> dict:
    """Drop relation targets that are not objects of this inspection (a missing single target: unknown)."""
    rel = _relation_names(kb)
    refs = {o["ref"] for o in insp["objects"]}
    for o in insp["objects"]:
        props = o.get("properties") or {}
        for k in [k for k in props if k in rel]:
            v = props[k]
            if isinstance(v, str):
                if v not in refs:
                    del props[k]
            elif isinstance(v, list):
                kept = [t for t in v if t in refs]
                if len(kept) != len(v):
                    if kept:
                        props[k] = kept
                    else:
                        del props[k]  # "[]" would assert "none"; the truth is "not known here"
    return insp


def _rename(kb, insp: dict, prefix: str) -> list[dict]:
    rel = _relation_names(kb)
    out = []
    for o in insp["objects"]:
        o = copy.deepcopy(o)
        o["ref"] = prefix + o["ref"]
        props = o.get("properties") or {}
        for k in [k for k in props if k in rel]:
            v = props[k]
            props[k] = prefix + v if isinstance(v, str) else [prefix + t for t in v]
        out.append(o)
    return out


def _merge(kb, parts: list[dict], name: str, limit: int | None = None) -> dict:
    """One enterprise made of several plants: objects renamed per plant, sectors united."""
    industries, regimes, absent, eprops, objects = [], [], [], {}, []
    for i, p in enumerate(parts):
        e = p["enterprise"]
        industries += [x for x in e.get("industries", []) if x not in industries]
        regimes += [x for x in e.get("regimes", []) if x not in regimes]
        absent += [x for x in p.get("absent", []) if x not in absent]
        for k, v in (e.get("properties") or {}).items():
            eprops.setdefault(k, v)
        objects += _rename(kb, p, f"P{i + 1}-")
    if limit is not None:
        objects = objects[:limit]
    onto = kb.ontology
    listed = {onto.class_aliases.get(o["class"], o["class"]) for o in objects}
    # a class declared absent by one plant may be listed by another: then it is not absent
    absent = [a for a in absent if not any(onto.is_a(c, onto.class_aliases.get(a, a)) for c in listed if c in onto.classes)]
    insp = {"date": parts[0].get("date"), "enterprise": {"name": name, "industries": industries, "regimes": regimes,
                                                        "properties": eprops},
            "absent": absent, "objects": objects}
    if insp["date"] is None:
        del insp["date"]
    return _prune(kb, insp)


def _from_fixtures(kb, root: Path) -> list[dict]:
    out = []
    for d in _fixture_dirs(root):
        for path in sorted(d.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            insp = data.get("inspection")
            if isinstance(insp, dict) and insp.get("objects"):
                insp = _jsonable(insp)
                insp["_source"] = str(path.relative_to(d.parent.parent))
                out.append(insp)
        if out:
            return out
    return out


def _from_cases(kb, root: Path) -> list[dict]:
    """Enterprises assembled from the test cases of one standard, one case per criterion and polarity."""
    from hazard_kb.engine.cases import load_cases

    chosen, seen = [], set()
    for lc in load_cases(root):
        c = lc.case
        key = (c.criterion, c.expect)
        if key in seen or c.expect not in ("violated", "not_violated") or not c.inspection.objects:
            continue
        if c.inspection.date is not None and c.inspection.date.year < 2023:
            continue
        seen.add(key)
        chosen.append(_jsonable(c.inspection.model_dump(mode="json", by_alias=True, exclude_none=True)))
    # a few plants of ~40 objects each, so the typical inspection has a few hazards among many negatives
    plants, cur = [], []
    for insp in chosen:
        cur.append(insp)
        if sum(len(i["objects"]) for i in cur) >= 40:
            plants.append(_merge(kb, cur, "某综合工贸企业"))
            cur = []
    if cur:
        plants.append(_merge(kb, cur, "某综合工贸企业"))
    for p in plants:
        p["_source"] = "tests/cases"
    return plants


def _jsonable(x):
    """YAML dates → ISO strings, so an inspection can be posted as JSON as well as determined in-process."""
    import datetime

    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, (datetime.date, datetime.datetime)):
        return x.isoformat()
    return x


def build(kb, root: Path) -> dict[str, dict]:
    """{"small": …, "typical": …, "large": …}, each a JSON-able inspection valid for `kb`, with `_source`."""
    from hazard_kb.engine.inspection import normalize

    plants = _from_fixtures(kb, root) or _from_cases(kb, root)
    if not plants:
        raise SystemExit("no fixtures and no test cases to build benchmark inspections from")
    # typical: the plant closest to 40 objects and 120 values
    typical = min(plants, key=lambda p: abs(len(p["objects"]) - 40) + abs(_values(p) - 120) / 3)
    # small: the first 10 objects of the smallest plant (a site walked for one topic)
    smallest = min(plants, key=lambda p: len(p["objects"]))
    small = _prune(kb, {**copy.deepcopy(smallest), "objects": copy.deepcopy(smallest["objects"][:10])})
    listed = {kb.ontology.class_aliases.get(o["class"], o["class"]) for o in small["objects"]}
    # classes declared absent stay absent; nothing listed conflicts since we only removed objects
    small["absent"] = [a for a in small.get("absent", []) if a not in listed]
    # large: every plant, repeated as further sites of one group, cut at 200 objects
    reps = []
    while sum(len(p["objects"]) for p in reps) < 200:
        reps += plants
    large = _merge(kb, [copy.deepcopy(p) for p in reps], "某集团（多厂区）", limit=200)
    large["_source"] = "+".join(sorted({p.get("_source", "?") for p in plants})) + " (merged, repeated)"
    out = {"small": small, "typical": typical, "large": large}
    for name, insp in out.items():
        insp.setdefault("_source", "?")
        normalize(kb, strip(insp))  # raises InspectionError if the cut made it invalid
    return out


def strip(insp: dict) -> dict:
    """The inspection without bench bookkeeping keys."""
    return {k: v for k, v in insp.items() if not k.startswith("_")}


def describe(insp: dict) -> str:
    return f"{len(insp['objects'])} objects, {_values(insp)} values"

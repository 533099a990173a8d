"""Whole-enterprise inspection fixtures (fixtures/inspections/*.yaml): each is determined by the engine
and by the CLI, and must give the verdicts its `expected:` mapping states."""

from datetime import date

import pytest
import yaml
from typer.testing import CliRunner

from hazard_kb import project_root
from hazard_kb.cli import app

TODAY = date(2026, 11, 29)
FIXTURE_DIR = project_root() / "fixtures" / "inspections"
FIXTURES = sorted(FIXTURE_DIR.glob("*.yaml"))
VERDICTS = {"violated", "not_violated", "undetermined", "not_applicable"}


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def determinations(engine):
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = engine.determine(_load(path)["inspection"], today=TODAY)
        return cache[path]

    return get


def test_there_are_fixtures():
    assert FIXTURES, f"no fixtures in {FIXTURE_DIR}"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_shape(path):
    data = _load(path)
    assert set(data) == {"description", "inspection", "expected"}, sorted(data)
    assert isinstance(data["description"], str) and data["description"].strip()
    expected = data["expected"]
    assert isinstance(expected, dict) and expected
    assert set(expected.values()) <= VERDICTS, set(expected.values()) - VERDICTS
    assert "violated" in expected.values()
    assert 25 <= len(data["inspection"]["objects"]) <= 50, len(data["inspection"]["objects"])


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_expected_verdicts(path, determinations, reference_engine):
    expected = _load(path)["expected"]
    result = determinations(path)
    items = {i.pinpoint: i for i in result.items}
    for pinpoint, verdict in expected.items():
        assert pinpoint in items, f"{pinpoint} is not among the determined items"
        item = items[pinpoint]
        assert item.verdict == verdict, (
            f"{path.name}: {pinpoint} expected {verdict}, got {item.verdict}; "
            f"findings={[(f.subject, f.branch) for f in item.findings]} "
            f"missing={[(q.object, q.label) for q in item.missing]} reason={item.reason}")
        if verdict == "violated":
            assert item.findings and item in result.hazards
        if verdict == "undetermined":
            assert item.missing, f"{pinpoint}: undetermined but the engine asks nothing"
    if "violated" in expected.values():
        assert result.answer == "yes"
    # the plain-Python reference evaluation agrees with durable-rules
    reference = reference_engine.determine(_load(path)["inspection"], today=TODAY)
    assert reference.model_dump(exclude={"engine"}) == result.model_dump(exclude={"engine"})


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_deferred_objects(path, engine, determinations):
    """Objects of another regime are deferred under the applied standard's own clause (工贸 第二条, 电力 第三条);
    a standard without such a clause (房屋市政, 煤矿) judges what it names and defers nothing."""
    onto = engine.kb.ontology
    objects = _load(path)["inspection"]["objects"]
    applied = {s.id for s in determinations(path).standards}
    if not applied & {onto.provisions[p].doc for p in onto.defers_to}:
        assert determinations(path).deferred == []
        return
    governed = {}
    for o in objects:
        cls = onto.class_aliases.get(o["class"], o["class"])
        if onto.classes[cls].governed_by:
            governed[o["ref"]] = sorted(onto.sectors[r].label for r in onto.classes[cls].governed_by)
    assert governed, f"{path.name} has no object of another regime (第二条)"
    deferred = {d.object: d for d in determinations(path).deferred}
    for ref, regimes in governed.items():
        assert ref in deferred, f"{ref} is not reported as deferred"
        assert sorted(deferred[ref].regimes) == regimes
        basis = deferred[ref].basis.pinpoint  # the applied standard's own clause: 工贸 第二条, 电力 第三条
        assert basis in onto.defers_to and onto.provisions[basis].doc in applied


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_cli_classify(path, determinations):
    run = CliRunner().invoke(app, ["classify", str(path)])
    assert run.exit_code == 0, run.output
    result = determinations(path)
    assert f"是否构成重大事故隐患：{result.answer_zh}" in run.output
    expected = _load(path)["expected"]
    for pinpoint, verdict in expected.items():
        if verdict != "violated":
            continue
        item = next(i for i in result.items if i.pinpoint == pinpoint)
        assert f"{item.article}{item.item}" in run.output, f"{pinpoint} ({item.article}{item.item}) not printed"
        assert pinpoint in run.output

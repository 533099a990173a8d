"""The law-to-rule traceability audit (engine/audit.py), on the shipped knowledge base and on a small
knowledge base built in tmp_path where only 第十二条 is encoded, then mutated one way at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from hazard_kb import project_root
from hazard_kb.engine.audit import AuditReport, LawIndex, Problem, _contradiction, _parsed, check_citations, run_audit
from hazard_kb.engine.audit_report import render_html, to_json
from hazard_kb.engine.lawgen import build_law

REPO = project_root()
ART12 = {"gongmao-2023/art12/item1", "gongmao-2023/art12/item2"}
FRAGMENT = "rules/gongmao-2023.d/art12.yaml"
CASES = "tests/cases/gongmao-2023/art12.yaml"
SOURCE = "ontology/sources/gongmao-2023.md"
LAW_TTL = "ontology/law/gongmao-2023.ttl"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A knowledge base with the whole law but only 第十二条 encoded."""
    for rel in ("ontology/core.ttl", "ontology/applicability.ttl", "ontology/vocab/shared.ttl", "ontology/vocab/ammonia.ttl",
                CASES):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    # the standard's rule file without criteria, and 第十二条's criteria as a fragment the tests can edit
    rules = yaml.safe_load((REPO / "rules" / "gongmao-2023.yaml").read_text(encoding="utf-8"))
    art12 = [c for c in rules.pop("criteria") if c["criterion"] in ART12]
    (tmp_path / FRAGMENT).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "rules" / "gongmao-2023.yaml").write_text(yaml.safe_dump({**rules, "criteria": []}, allow_unicode=True,
                                                                        sort_keys=False), encoding="utf-8")
    (tmp_path / FRAGMENT).write_text(yaml.safe_dump(art12, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for folder in ("ontology/law", "ontology/sources"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture(scope="module")
def all_items() -> set[str]:
    index = LawIndex.load(REPO)
    return {p for p in index.texts if p.startswith("gongmao-2023/") and "/item" in p}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drifted: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(change(data), allow_unicode=True, sort_keys=False), encoding="utf-8")


def std(report: AuditReport, standard: str = "gongmao-2023"):
    return next(s for s in report.standards if s.id == standard)


def check(report: AuditReport, name: str, standard: str = "gongmao-2023"):
    found = [c for c in report.checks if c.name == name] + [c for s in report.standards if s.id == standard
                                                            for c in s.checks if c.name == name]
    assert len(found) == 1, f"no single check {name}"
    return found[0]


def named(problems: list[Problem], level: str = "fail") -> set[str]:
    return {p.item for p in problems if p.level == level}


# ------------------------------------------------------------------------------------------ baseline


OFFICIAL = {"gongmao-2023": 64, "gongmao-2017": 59, "huagong-2017": 20, "yanhua-2017": 20, "chengzhen-ranqi-2023": 22,
            "fangwu-2024": 53, "dianli-2026": 49, "meikuang-2026": 123}
# standards only partly in the sources: items in the text (the official count, where known, is larger)
PARTIAL = {"fangwu-2022": (13, None), "meikuang-2020": (6, 81)}


def test_shipped_kb_audit_runs():
    report = run_audit(REPO)
    in_text = {**OFFICIAL, **{k: n for k, (n, _) in PARTIAL.items()}}
    assert {s.id: s.counts.items_in_text for s in report.standards} == in_text
    for std in report.standards:
        assert std.counts.official_count == (PARTIAL[std.id][1] if std.id in PARTIAL else OFFICIAL[std.id])
        assert sum(len(a.items) for a in std.articles) == in_text[std.id]
    assert AuditReport.model_validate_json(to_json(report)) == report  # JSON round trip


def test_only_article_12_encoded(kb, all_items):
    report = run_audit(kb)
    others = all_items - ART12
    assert len(others) == 62
    assert check(report, "coverage.rules").status == "fail"
    assert named(check(report, "coverage.rules").problems) == others
    assert named(check(report, "coverage.cases").problems) == others
    failing = {c.name for c in report.failing()}
    assert failing == {"coverage.rules", "coverage.cases"}, failing
    assert report.kb_version is not None and not report.ok
    items = {it.pinpoint: it for a in std(report).articles for it in a.items}
    assert items["gongmao-2023/art12/item2"].rule_ids == ["gongmao-2023/art12/item2#a", "gongmao-2023/art12/item2#b"]
    assert (items["gongmao-2023/art12/item2"].positive, items["gongmao-2023/art12/item2"].negative) == (2, 1)
    assert items["gongmao-2023/art12/item2"].status == "pass" and items["gongmao-2023/art3/item1"].status == "fail"


# ------------------------------------------------------------------------------------------ fidelity


def test_changed_source_regenerated_flags_rules(kb):
    edit(kb / SOURCE, "作业人员数量超过9人", "作业人员数量超过10人")
    build_law(kb)
    report = run_audit(kb)
    hashes = check(report, "fidelity.rule_hashes")
    assert named(hashes.problems) == {"gongmao-2023/art12/item2"}
    assert set(hashes.problems[0].related) == {"gongmao-2023/art12/item2#a", "gongmao-2023/art12/item2#b"}
    assert "gongmao-2023/art12/item2#b" in hashes.problems[0].message
    assert check(report, "fidelity.ontology_text").status == "pass"  # regenerated: ontology agrees with source
    assert "gongmao-2023/art12/item2#b" in named(check(report, "fidelity.quotes").problems)
    assert check(report, "compile").status == "fail"


def test_changed_source_not_regenerated_flags_ontology_text(kb):
    edit(kb / SOURCE, "作业人员数量超过9人", "作业人员数量超过10人")
    report = run_audit(kb)
    text = check(report, "fidelity.ontology_text")
    assert "gongmao-2023/art12/item2" in named(text.problems)
    assert any("character" in p.message and p.item == "gongmao-2023/art12/item2" for p in text.problems)
    assert "gongmao-2023/art12/item2" in named(check(report, "fidelity.rule_hashes").problems)


def test_hand_edited_law_turtle(kb):
    edit(kb / LAW_TTL, "空调系统采用氨直接蒸发制冷", "空调系统采用氨间接蒸发制冷")
    report = run_audit(kb)
    assert "gongmao-2023/art12/item1" in named(check(report, "fidelity.ontology_text").problems)
    assert check(report, "fidelity.rule_hashes").status == "pass"  # the rules follow the source, which is unchanged


# ------------------------------------------------------------------------------------------ coverage, citations


def test_deleted_rule(kb):
    edit_yaml(kb / FRAGMENT, lambda rules: [r for r in rules if r["criterion"] != "gongmao-2023/art12/item1"])
    report = run_audit(kb)
    assert "gongmao-2023/art12/item1" in named(check(report, "coverage.rules").problems)
    msg = next(p.message for p in check(report, "coverage.rules").problems if p.item == "gongmao-2023/art12/item1")
    assert "第十二条（一）" in msg and "no rule" in msg


def test_rule_for_nonexistent_item(kb):
    def add(rules):
        extra = dict(rules[0], criterion="gongmao-2023/art12/item3")
        return rules + [extra]

    edit_yaml(kb / FRAGMENT, add)
    report = run_audit(kb)
    orphans = check(report, "consistency.orphans")
    assert named(orphans.problems) == {"gongmao-2023/art12/item3"}
    assert "has 2 items" in orphans.problems[0].message
    assert "gongmao-2023/art12/item3" in named(check(report, "citations").problems)
    assert check(report, "compile").status == "fail"


def test_dropped_negative_case(kb):
    edit_yaml(kb / CASES, lambda cases: [c for c in cases
                                         if not (c["criterion"] == "gongmao-2023/art12/item2" and c["expect"] == "not_violated")])
    report = run_audit(kb)
    problems = [p for p in check(report, "coverage.cases").problems if p.item == "gongmao-2023/art12/item2"]
    assert len(problems) == 1 and "no negative" in problems[0].message and "positive" not in problems[0].message


def test_branch_without_positive_case(kb):
    edit_yaml(kb / CASES, lambda cases: [c for c in cases if c.get("branches") != ["b"]])
    report = run_audit(kb)
    assert named(check(report, "coverage.branches").problems) == {"gongmao-2023/art12/item2#b"}


def test_not_automatable_is_reported_never_skipped(kb):
    def mark(rules, reason):
        rules[0]["automatable"] = False
        if reason:
            rules[0]["not_automatable_reason"] = reason
        return rules

    edit_yaml(kb / FRAGMENT, lambda r: mark(r, "需要现场判断空调形式"))
    report = run_audit(kb)
    warns = [p for p in check(report, "coverage.rules").problems if p.item == "gongmao-2023/art12/item1"]
    assert len(warns) == 1 and warns[0].level == "warn" and "需要现场判断空调形式" in warns[0].message
    assert std(report).counts.not_automatable == 1
    edit_yaml(kb / FRAGMENT, lambda r: (r[0].pop("not_automatable_reason"), r)[1])
    report = run_audit(kb)
    assert "gongmao-2023/art12/item1" in named(check(report, "coverage.rules").problems)


WRONG = {
    "gongmao-2023/art16/item1": "has 15 articles in the sources (up to art15); there is no art16",  # wrong article
    "gongmao-2023/art12/item3": "there is no item3",  # item that does not exist
    "gongmao-2017/art1/item1": "repealed",  # the 2017 standard, repealed and not in the sources
    "gongkuang-2023/art5/item1": "no document 'gongkuang-2023'",  # invented document
}


def test_check_citations_rejects_known_wrong_citations(kb):
    index = LawIndex.load(kb)
    right = ["gongmao-2023/art12/item2", "gongmao-2023/art14", "gongmao-2023-jiedu/art11/item2",
             "anquan-shengchan-fa-2021/art113/item1", "gongmao-2023"]
    problems = check_citations([*right, *WRONG], index)
    assert [p.item for p in problems] == list(WRONG)
    for p in problems:
        assert WRONG[p.item] in p.message, p.message
    assert check_citations(["gongmao-2023/art99"], root=kb)[0].item == "gongmao-2023/art99"


def test_wrong_citations_in_cases_and_fixtures(kb):
    edit_yaml(kb / CASES, lambda cases: [dict(cases[0], cites=["gongmao-2023/art16/item1"]), *cases[1:]])
    (kb / "fixtures" / "inspections").mkdir(parents=True)
    (kb / "fixtures" / "inspections" / "x.json").write_text(json.dumps({"expected": ["gongkuang-2023/art5/item1"]}))
    # a pinpoint used as a key (expected: {pinpoint: verdict}) is a citation too
    (kb / "fixtures" / "inspections" / "y.yaml").write_text("expected:\n  gongmao-2023/art12/item3: violated\n")
    report = run_audit(kb)
    assert named(check(report, "citations").problems) == {"gongmao-2023/art16/item1"}
    assert named(check(report, "citations.ontology").problems) == {"gongkuang-2023/art5/item1", "gongmao-2023/art12/item3"}


# ------------------------------------------------------------------------------------------ consistency


def _add_branch(kb: Path, criterion: str, branch: dict) -> None:
    def add(rules):
        for r in rules:
            if r["criterion"] == criterion:
                r["branches"].append(branch)
        return rules

    edit_yaml(kb / FRAGMENT, add)


def test_contradictory_branch(kb):
    _add_branch(kb, "gongmao-2023/art12/item2", {"id": "c", "quote": "快速冻结装置作业间内作业人员数量超过9人",
                                                "subject": "QuickFreezeWorkroom", "when": ["workerCount > 9", "workerCount < 5"]})
    report = run_audit(kb)
    sat = check(report, "consistency.satisfiable")
    assert named(sat.problems) == {"gongmao-2023/art12/item2#c"}
    assert "workerCount > 9" in sat.problems[0].message and "workerCount < 5" in sat.problems[0].message


def test_duplicate_branch_within_and_across_criteria(kb):
    _add_branch(kb, "gongmao-2023/art12/item2", {"id": "c", "quote": "快速冻结装置作业间内作业人员数量超过9人",
                                                "subject": "QuickFreezeWorkroom", "when": ["workerCount > 9.0"]})
    report = run_audit(kb)
    dup = check(report, "consistency.duplicates")
    assert dup.status == "fail" and named(dup.problems) == {"gongmao-2023/art12/item2#b"}
    kb_rules = kb / FRAGMENT
    edit_yaml(kb_rules, lambda rules: [dict(r, branches=r["branches"][:2]) for r in rules])
    _add_branch(kb, "gongmao-2023/art12/item1", {"id": "b", "quote": "空调系统采用氨直接蒸发制冷",
                                                "subject": "QuickFreezeWorkroom", "when": ["workerCount > 9"]})
    dup = check(run_audit(kb), "consistency.duplicates")
    assert dup.status == "warn" and named(dup.problems, "warn") == {"gongmao-2023/art12/item1#b"}
    assert "gongmao-2023/art12/item2#b" in dup.problems[0].related


@pytest.mark.parametrize("when, contradictory", [
    (["x > 9", "x < 5"], True),
    (["x >= 5", "x <= 5"], False),
    (["x > 5", "x < 5"], True),
    (["count(r) > 4", "count(r) < 5"], True),  # counts are integers
    (["x > 4", "x < 5"], False),  # x is a decimal here
    (["b == true", "b == false"], True),
    (["b == true", "b != true"], True),
    (["e in [甲, 乙]", "e in [丙]"], True),
    (["e in [甲, 乙]", "e not in [甲]"], False),
    (["e == 甲", "e not in [甲, 乙]"], True),
    (["r.e == 甲", "r.e != 甲"], False),  # through a relation: any related object, may be two objects
    (["present(d) == false", "installed(d) == true", "functional(d) == true"], True),
    (["present(d) == false", "installed(d) == true"], False),
    (["present(d) == true", "installed(d) == false"], True),
])
def test_contradiction_detection(when, contradictory):
    assert (_contradiction(_parsed(when), lambda name: False) is not None) == contradictory


def test_shacl_flags_numeric_property_without_unit(kb):
    (kb / "ontology" / "vocab" / "extra.ttl").write_text(
        "@prefix hk: <https://w3id.org/hazard-kb/ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        'hk:pipeLength a owl:DatatypeProperty ; rdfs:range xsd:decimal ; rdfs:label "管道长度"@zh ;\n'
        '    hk:observedOn hk:QuickFreezeWorkroom ; hk:question "管道有多长？"@zh .\n', encoding="utf-8")
    report = run_audit(kb)
    shacl = check(report, "consistency.shacl")
    assert named(shacl.problems) == {"hk:pipeLength"}
    assert "hk:unit" in shacl.problems[0].message and shacl.problems[0].where == "ontology/vocab/extra.ttl"
    assert check(report, "compile").status == "fail"  # the loader agrees


def test_shacl_flags_criterion_with_two_texts(kb):
    edit(kb / LAW_TTL, 'hk:pinpoint "gongmao-2023/art12/item1" ;', 'hk:pinpoint "gongmao-2023/art12/item1" ; hk:verbatimText "另一段文字" ;')
    report = run_audit(kb)
    assert "gongmao-2023/art12/item1" in named(check(report, "consistency.shacl").problems)
    assert "gongmao-2023/art12/item1" in named(check(report, "fidelity.ontology_text").problems)


def test_kb_that_does_not_compile_is_still_audited(kb):
    edit(kb / FRAGMENT, "workerCount > 9", "workerCounts > 9")
    report = run_audit(kb)
    compile_check = check(report, "compile")
    assert compile_check.status == "fail" and report.kb_version is None
    assert {p.item for p in compile_check.problems} == {"gongmao-2023/art12/item2#b"}
    assert check(report, "fidelity.rule_hashes").status == "pass"  # the other checks still ran
    assert named(check(report, "coverage.rules").problems) >= {"gongmao-2023/art3/item1"}


def test_refused_rule_entry_does_not_hide_the_others(kb):
    # the compiler refuses the whole rule file for one bad entry; the audit reads entry by entry
    (kb / "rules" / "gongmao-2023.d" / "zz.yaml").write_text("- criterion: gongmao-2023/art3/item1\n  branches: []\n", encoding="utf-8")
    report = run_audit(kb)
    assert check(report, "compile").status == "fail"
    assert named(check(report, "load.rules").problems) == {"gongmao-2023/art3/item1"}
    refused = next(p for p in check(report, "coverage.rules").problems if p.item == "gongmao-2023/art3/item1")
    assert "refused" in refused.message
    assert std(report).counts.encoded == 2


# ------------------------------------------------------------------------------------------ outputs


def test_html_is_self_contained_and_readable(kb):
    html = render_html(run_audit(kb))
    assert '<meta charset="utf-8">' in html
    assert "快速冻结装置未设置在单独的作业间内" in html and "<mark>" in html  # clause with the quoted passage marked
    assert "workerCount &gt; 9" in html  # the branch condition beside it
    assert "<link" not in html and "<script" not in html and "src=" not in html


def test_cli_exit_code_and_json(kb, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from hazard_kb.cli_audit import audit

    app = typer.Typer()
    app.command()(audit)
    app.command("noop")(lambda: None)  # two commands: `audit` is addressed by name, as under hazard-kb
    monkeypatch.setenv("HAZARD_KB_ROOT", str(kb))
    out = tmp_path / "out" / "audit.html"
    result = CliRunner().invoke(app, ["audit", "--json", "--html", str(out)])
    assert result.exit_code == 1, result.output
    standards = {s["id"]: s for s in json.loads(result.stdout)["standards"]}
    assert standards["gongmao-2023"]["counts"]["encoded"] == 2
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    table = CliRunner().invoke(app, ["audit"])
    assert table.exit_code == 1 and "coverage.rules" in table.stdout


def test_api_route(kb, monkeypatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from hazard_kb.api.audit_routes import audit_router

    app = FastAPI()
    app.include_router(audit_router)
    monkeypatch.setenv("HAZARD_KB_ROOT", str(kb))
    body = TestClient(app).get("/v1/audit").json()
    standards = {s["id"]: s for s in body["standards"]}
    assert body["ok"] is False and standards["gongmao-2023"]["counts"]["items_in_text"] == 64


def test_subitem_quotes_are_checked_against_the_subitem(kb):
    """A branch with `subitem:` quotes that sub-item's text (房屋市政 第五条（四）1.-4.)."""
    from hazard_kb.engine.lawtext import load_sources

    item = load_sources(kb / "ontology" / "sources")["fangwu-2024"].provisions()["fangwu-2024/art5/item4"]
    rule = {"standard": "fangwu-2024", "criteria": [{
        "criterion": "fangwu-2024/art5/item4", "text_sha256": item.sha256, "branches": [
            {"id": "a", "subitem": "fangwu-2024/art5/item4/sub2", "quote": "基坑侧壁出现大量漏水、流土",
             "subject": "Building", "when": ["storeyCount > 1"]},
            {"id": "b", "subitem": "fangwu-2024/art5/item4/sub3", "quote": "基坑侧壁出现大量漏水、流土",
             "subject": "Building", "when": ["storeyCount > 1"]}]}]}
    (kb / "rules" / "fangwu-2024.yaml").write_text(yaml.safe_dump(rule, allow_unicode=True), encoding="utf-8")
    problems = check(run_audit(kb), "fidelity.quotes", "fangwu-2024").problems
    assert [p.item for p in problems] == ["fangwu-2024/art5/item4#b"]
    assert "fangwu-2024/art5/item4/sub3" in problems[0].message

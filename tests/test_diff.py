"""Comparing standards: every item of both versions is accounted for once, matched by meaning."""

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hazard_kb.api.app import create_app
from hazard_kb.cli import app
from hazard_kb.engine.diff import diff_standards


def test_every_item_is_accounted_for_once(engine):
    d = diff_standards(engine.kb, "gongmao-2017", "gongmao-2023")
    old = [e.old.pinpoint for e in d.entries if e.old]
    new = [e.new.pinpoint for e in d.entries if e.new]
    assert sorted(old) == sorted(p.pinpoint for p in engine.kb.ontology.criteria("gongmao-2017"))
    assert sorted(new) == sorted(p.pinpoint for p in engine.kb.ontology.criteria("gongmao-2023"))
    assert d.counts["changed"] + d.counts["unchanged"] + d.counts["removed"] == 59
    assert d.counts["changed"] + d.counts["unchanged"] + d.counts["added"] == 64


def test_items_are_matched_by_what_they_observe(engine):
    pairs = {e.old.pinpoint: e for e in diff_standards(engine.kb, "gongmao-2017", "gongmao-2023").entries
             if e.old and e.new}
    freezer = pairs["gongmao-2017/part1/sec2/item2"]
    assert freezer.new.pinpoint == "gongmao-2023/art12/item2" and freezer.change == "changed"
    assert "作业人员数量" in freezer.shared_vocabulary
    # the 2017 冶金/有色 assessment item became 2023 第三条（三） 管理类
    assert pairs["gongmao-2017/part2/sec2/item10"].new.pinpoint == "gongmao-2023/art3/item3"
    # matches stay within a sector: nothing of 粉尘 is paired with 冶金
    dust = [e for k, e in pairs.items() if k.startswith("gongmao-2017/part1/sec1/")]
    assert all(e.new.pinpoint.startswith("gongmao-2023/art11/") for e in dust)


def test_diff_cli_and_api(engine):
    result = CliRunner().invoke(app, ["diff", "gongmao-2017", "gongmao-2023", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["counts"]["added"] > 0
    bad = CliRunner().invoke(app, ["diff", "gongmao-2016", "gongmao-2023"])
    assert bad.exit_code == 2 and "gongmao-2017" in bad.output
    with TestClient(create_app(engine)) as client:
        r = client.get("/v1/diff", params={"old": "gongmao-2017", "new": "gongmao-2023"})
        assert r.status_code == 200 and r.json()["old"] == "gongmao-2017"
        assert client.get("/v1/diff", params={"old": "x", "new": "gongmao-2023"}).status_code == 404

"""The command line: classify, checklist, validate, law show; bad input gets a message naming the field."""

import json

import yaml
from typer.testing import CliRunner

from hazard_kb.cli import app

runner = CliRunner()
INSPECTION = {"date": "2026-11-20",
              "enterprise": {"name": "某冷冻食品公司", "industries": ["轻工"], "regimes": ["涉氨制冷"]},
              "objects": [{"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 10}}]}


def write(tmp_path, data, name="inspection.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_classify_prints_hazard_with_legal_basis(tmp_path):
    result = runner.invoke(app, ["classify", str(write(tmp_path, INSPECTION))])
    assert result.exit_code == 0, result.output
    assert "是否构成重大事故隐患：是" in result.output
    assert "第十二条（二）" in result.output
    assert "作业人员数量：10人" in result.output


def test_classify_json_is_the_api_shape(tmp_path):
    result = runner.invoke(app, ["classify", "--json", str(write(tmp_path, {"inspection": INSPECTION, "description": "x"}))])
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["answer"] == "yes"
    assert [h["pinpoint"] for h in body["hazards"]] == ["gongmao-2023/art12/item2"]


def test_classify_bad_input_names_the_field(tmp_path):
    bad = {**INSPECTION, "objects": [{"ref": "a", "class": "速冻间", "properties": {"作业人员数": 3}}]}
    result = runner.invoke(app, ["classify", str(write(tmp_path, bad))])
    assert result.exit_code == 2
    assert "objects.0.properties.作业人员数" in result.output
    assert "作业人员数量" in result.output  # the nearest valid name


def test_checklist_lists_questions_for_the_sector():
    result = runner.invoke(app, ["checklist", "--industry", "轻工", "--regime", "涉氨制冷", "--json"])
    assert result.exit_code == 0
    groups = {g["object_class"]: g for g in json.loads(result.output)["groups"]}
    assert groups["QuickFreezeWorkroom"]["questions"][0]["unit"] == "人"
    assert "PaintRoom" in groups  # 第八条（六） applies to 轻工
    assert "CraneSpan" not in groups  # 冶金/有色/机械 only


def test_checklist_unknown_industry():
    result = runner.invoke(app, ["checklist", "--industry", "冶金业"])
    assert result.exit_code == 2
    assert "冶金" in result.output


def test_validate_and_law_show():
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0 and result.output.startswith("ok: ")
    assert "criteria" in result.output and "cases" in result.output
    result = runner.invoke(app, ["law", "show", "gongmao-2023/art14"])
    assert "失效或者无效均判定为重大事故隐患" in result.output

"""Plain-Chinese matching (issue #10): tokenizer, synonyms, filters, extraction, dialogue, register batch, API."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hazard_kb.api.app import create_app
from hazard_kb.cli import app as cli
from hazard_kb.engine.matching.dialogue import converse
from hazard_kb.engine.matching.extract import extract
from hazard_kb.engine.matching.index import load_index
from hazard_kb.engine.matching.matcher import get_matcher
from hazard_kb.engine.matching.models import AnswerIn, MatchRequest

PAINT = "使用油性油漆的喷漆车间内未设置可燃气体浓度监测报警装置"
PIT = "铸造车间熔炼炉的炉坑内有积水"
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def matcher(engine):
    return get_matcher(engine.kb)


@pytest.fixture(scope="module")
def determine(engine):
    return lambda inspection: engine.determine(inspection).model_dump(mode="json")


def ask(matcher, determine, text, **kw):
    return converse(matcher, MatchRequest(text=text, date=kw.pop("date", DAY), **kw), determine)


# ---------------------------------------------------------------- tokenizer and index


def test_tokenizer_keeps_the_terms_of_the_standards_whole(matcher):
    tokens = matcher.tokenizer.tokens(PAINT)
    assert "可燃气体浓度监测报警装置" in tokens and "喷漆车间" in tokens
    assert "锁气卸灰装置" in matcher.tokenizer.tokens("车间内旋风除尘器未设置锁气卸灰装置")
    assert "内未" not in tokens  # a merge of jieba's general dictionary across two words is removed
    assert "的" not in tokens  # stopwords
    # the index also gets the dictionary words inside a long term, so a shorter name still matches
    assert "监测报警装置" in matcher.tokenizer.terms("固定式可燃气体浓度监测报警装置")


def test_the_index_is_built_once_per_knowledge_base(engine, matcher):
    assert get_matcher(engine.kb) is matcher
    again, _ = load_index(engine.kb)  # from the disk cache: the same documents
    assert [d.pinpoint for d in again.docs] == [d.pinpoint for d in matcher.index.docs]
    assert len(matcher.index.docs) >= len(engine.kb.criteria)


# ---------------------------------------------------------------- ranking, synonyms, filters


def test_the_issue_examples_rank_their_items_first(matcher):
    _, cands = matcher.rank("5号压铸机配属铝液保温炉的炉底在生产时存在积水", None, DAY)
    assert cands[0].pinpoint == "gongmao-2023/art7/item3"
    _, cands = matcher.rank(PAINT, ["Machinery"], DAY)
    assert cands[0].pinpoint == "gongmao-2023/art7/item7"
    assert 0 < cands[-1].score <= cands[0].score <= 1


def test_colloquial_names_match_through_the_ontology_synonyms(matcher, engine):
    # 溶剂型涂料 (hk:synonym of 使用非水性漆), 可燃气体报警器 (of the device), 有水 (of 存在积水)
    q = matcher.query("调漆室使用溶剂型涂料，没有安装可燃气体报警器")
    assert "@usesNonWaterborneCoating" in q.terms and "@FlammableGasAlarm" in q.terms
    _, cands = matcher.rank("调漆室使用溶剂型涂料，没有安装可燃气体报警器", ["LightIndustry"], DAY)
    assert cands[0].pinpoint == "gongmao-2023/art8/item6"
    ex = extract(engine.kb, "gongmao-2023/art8/item6", "调漆室使用溶剂型涂料，没有安装可燃气体报警器")
    values = {o.property: o.value for o in ex.observations}
    assert values == {"usesNonWaterborneCoating": True, "hasFlammableGasAlarm": {"installed": False}}
    ex = extract(engine.kb, "gongmao-2023/art7/item3", "熔炼炉炉坑内有水")
    assert {o.property: o.value for o in ex.observations}["waterAccumulated"] is True


def test_industries_and_date_filter_the_candidates(matcher):
    _, light = matcher.rank(PAINT, ["LightIndustry"], DAY, top=10)
    pins = [c.pinpoint for c in light]
    assert pins[0] == "gongmao-2023/art8/item6" and "gongmao-2023/art7/item7" not in pins
    _, metallurgy = matcher.rank(PAINT, ["Metallurgy"], DAY, top=10)
    assert not {"gongmao-2023/art8/item6", "gongmao-2023/art7/item7"} & {c.pinpoint for c in metallurgy}
    _, before = matcher.rank(PAINT, None, date(2020, 6, 1), top=10)  # the 2017 version was in force
    assert before and all(c.standard != "gongmao-2023" for c in before)
    assert any(c.standard == "gongmao-2017" for c in before)


def test_nothing_matches_a_description_that_says_nothing(matcher):
    _, cands = matcher.rank("下午开会讨论明年的预算", None, DAY)
    assert cands == []


# ---------------------------------------------------------------- extraction


def test_extraction_reads_a_stated_number_and_never_invents_one(engine):
    pin = "gongmao-2023/art12/item2"
    got = extract(engine.kb, pin, "作业间内有12名作业人员").observations
    assert [(o.property, o.value) for o in got] == [("workerCount", 12)]
    assert extract(engine.kb, pin, "速冻间内有十二名作业人员").observations[0].value == 12
    for vague in ("作业间内人员较多", "速冻间内约12名作业人员", "速冻间内10余名作业人员", "速冻间作业人员超过9人"):
        assert [o for o in extract(engine.kb, pin, vague).observations if o.property == "workerCount"] == [], vague


def test_extraction_reads_devices_booleans_and_units(engine):
    ex = extract(engine.kb, "gongmao-2023/art7/item7", "喷漆室可燃气体报警装置已安装但已损坏")
    assert ex.observations[0].value == {"installed": True, "functional": False}
    ex = extract(engine.kb, "gongmao-2023/art7/item7", "喷漆室未按规定设置可燃气体报警装置")
    assert not [o for o in ex.observations if o.property == "hasFlammableGasAlarm"]  # says wrong, not what
    ex = extract(engine.kb, "gongmao-2023/art4/item8", "煤气管道水封式排水器最高封堵煤气压力29.9kPa（小于30kPa）")
    assert [(o.property, o.value) for o in ex.observations if o.rule == "number"] == [("maxSealingGasPressure", 29.9)]
    ex = extract(engine.kb, "gongmao-2023/art12/item2", "速冻机未设置在单独的作业间内")
    assert [(o.property, o.value) for o in ex.observations] == [("inSeparateWorkroom", False)]


# ---------------------------------------------------------------- dialogue


def test_the_dialogue_asks_and_the_answers_decide(matcher, determine):
    first = ask(matcher, determine, PIT, industries=["机械"])
    cand = first.candidates[0]
    assert cand.pinpoint == "gongmao-2023/art7/item3" and cand.verdict == "undetermined"
    assert {o.property for o in cand.observations} >= {"waterAccumulated"}
    assert cand.questions
    yes = [AnswerIn(pinpoint=cand.pinpoint, object=q.object, object_class=q.object_class, property=q.property, value=True)
           for q in cand.questions]
    second = ask(matcher, determine, PIT, industries=["机械"], answers=yes)
    decided = next(c for c in second.candidates if c.pinpoint == cand.pinpoint)
    assert decided.verdict == "violated" and decided.questions == []
    assert decided.findings[0].cites[0].pinpoint == "gongmao-2023/art7/item3"
    # ruled out: not in production, and no other area of the item
    no = [AnswerIn(pinpoint=cand.pinpoint, object=q.object, object_class=q.object_class, property=q.property,
                   value=False) for q in cand.questions]
    third = ask(matcher, determine, PIT, industries=["机械"], answers=no)
    assert next(c for c in third.candidates if c.pinpoint == cand.pinpoint).verdict == "not_violated"


def test_a_candidate_the_text_decides_needs_no_question(matcher, determine):
    result = ask(matcher, determine, PAINT, industries=["机械"])
    top = result.candidates[0]
    assert top.verdict == "violated" and top.questions == [] and top.assumed_sectors == []
    # the candidate's inspection is the one the normal engine determined: it can be posted as is
    assert top.inspection["objects"][0]["properties"]["hasFlammableGasAlarm"] == {"installed": False}


def test_without_industries_the_item_sectors_are_assumed_and_said(matcher, determine):
    result = ask(matcher, determine, "速冻间内有12名作业人员", top=1)
    top = result.candidates[0]
    assert top.pinpoint == "gongmao-2023/art12/item2" and top.verdict == "violated"
    assert "涉氨制冷" in top.assumed_sectors


# ---------------------------------------------------------------- register batch


def _xlsx(path: Path, rows: list[list]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["某公司隐患排查治理台账"])  # a title row above the header, as registers have
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_register_excel_round_trip(tmp_path):
    src, out = tmp_path / "台账.xlsx", tmp_path / "out.xlsx"
    _xlsx(src, [["序号", "隐患描述", "责任人"], [1, PAINT, "张三"], [2, "速冻间内有12名作业人员", "李四"], [3, None, None]])
    r = CliRunner().invoke(cli, ["match", str(src), "--column", "隐患描述", "--industry", "机械", "--industry", "轻工",
                                 "--regime", "涉氨制冷", "--date", "2026-11-20", "--output", str(out), "--top", "2"])
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    rows = [list(x) for x in load_workbook(out).active.iter_rows(values_only=True)]
    assert rows[0][0] == "某公司隐患排查治理台账"
    assert rows[1] == ["序号", "隐患描述", "责任人", "候选条款1", "候选条款2", "得分", "初步判定", "已提取观测", "仍需确认"]
    assert rows[2][:3] == [1, PAINT, "张三"] and "gongmao-2023/art" in rows[2][3]
    assert "构成重大事故隐患" in rows[2][6] and "固定式可燃气体浓度监测报警装置=未设置" in rows[2][7]
    assert "gongmao-2023/art12/item2" in rows[3][3] and "作业人员数量=12人" in rows[3][7]
    assert rows[4][3:] == [None] * 6  # no description, nothing added


def test_register_csv_round_trip_and_one_sentence(tmp_path):
    src = tmp_path / "register.csv"
    src.write_text("编号,隐患描述\nA1,铸造车间熔炼炉的炉坑内有积水\n", encoding="gb18030")
    r = CliRunner().invoke(cli, ["match", str(src), "--column", "隐患描述", "--industry", "机械", "--date", "2026-11-20"])
    assert r.exit_code == 0, r.output
    with (tmp_path / "register.matched.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["编号", "隐患描述"] and rows[0][-1] == "仍需确认"
    assert "gongmao-2023/art7/item3" in rows[1][2] and rows[1][-1]  # the questions still open
    r = CliRunner().invoke(cli, ["match", "--text", "作业间内有12名作业人员", "--json", "--date", "2026-11-20"])
    assert r.exit_code == 0 and '"workerCount"' in r.output


def test_register_without_the_column_is_refused_naming_the_columns(tmp_path):
    src = tmp_path / "r.csv"
    src.write_text("序号,问题描述,整改期限\n1,喷漆房未设置可燃气体报警器,2026-12-01\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["match", str(src), "--column", "隐患描述"])
    assert r.exit_code == 2
    assert "no column '隐患描述'" in r.output and "序号、问题描述、整改期限" in r.output
    assert not (tmp_path / "r.matched.csv").exists()


# ---------------------------------------------------------------- API


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine)) as c:
        yield c


def test_api_match_and_answer(client):
    r = client.post("/v1/matches", json={"text": PIT, "industries": ["机械"], "date": "2026-11-20"})
    assert r.status_code == 200
    top = r.json()["candidates"][0]
    assert top["pinpoint"] == "gongmao-2023/art7/item3" and top["verdict"] == "undetermined"
    answers = [{"pinpoint": top["pinpoint"], "object": q["object"], "object_class": q["object_class"],
                "property": q["property"], "value": True} for q in top["questions"]]
    r = client.post("/v1/matches", json={"text": PIT, "industries": ["机械"], "date": "2026-11-20", "answers": answers})
    assert r.status_code == 200 and r.json()["candidates"][0]["verdict"] == "violated"
    # the candidate's inspection goes through POST /v1/determinations to the same verdict
    r2 = client.post("/v1/determinations", json=r.json()["candidates"][0]["inspection"])
    assert r2.status_code == 200 and "gongmao-2023/art7/item3" in [h["pinpoint"] for h in r2.json()["hazards"]]
    assert "/v1/matches" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("body, field", [
    ({"text": "x" * 2001}, "text"),
    ({"text": ""}, "text"),
    ({"text": PAINT, "industries": ["冶金x"]}, "industries.0"),
    ({"text": PAINT, "top": 0}, "top"),
    ({"text": PIT, "answers": [{"pinpoint": "gongmao-2023/art7/item3", "object": "炉坑", "object_class": "FurnacePit",
                                "property": "waterAccumulated", "value": 3}]}, "answers.0.value"),
    ({"text": PIT, "answers": [{"pinpoint": "gongmao-2023/art99/item1", "property": "x", "value": True}]},
     "answers.0.pinpoint"),
])
def test_api_bad_requests_are_problem_json_naming_the_field(client, body, field):
    r = client.post("/v1/matches", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]
    if field == "industries.0":
        assert r.json()["errors"][0]["suggestions"] == ["冶金"]

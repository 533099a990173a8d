"""The guided interview asks only what is still needed: it shrinks as objects are declared absent, recorded
and observed, and never asks about an item already decided."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hazard_kb.api.app import create_app
from hazard_kb.cli import app as cli
from hazard_kb.engine.interview import next_questions

TODAY = date(2026, 11, 29)
PLANT = {"name": "某食品冷库公司", "industries": ["轻工"], "regimes": ["涉氨制冷"]}


def interview(engine, objects=(), absent=()):
    return next_questions(engine.determine({"date": "2026-11-20", "enterprise": PLANT, "objects": list(objects),
                                            "absent": list(absent)}, today=TODAY))


def presence(iv):
    return {g.object_class for g in iv.groups if g.object is None}


def test_interview_shrinks_as_answers_come_in(engine):
    empty = interview(engine)
    assert "QuickFreezeWorkroom" in presence(empty) and empty.asked > 0
    # declaring a kind of object absent (不涉及) removes its presence question
    no_freezer = interview(engine, absent=["QuickFreezeWorkroom", "QuickFreezeDevice"])
    assert not {"QuickFreezeWorkroom", "QuickFreezeDevice"} & presence(no_freezer)
    assert no_freezer.asked < empty.asked
    # a recorded object is asked about by its ref, the kind is no longer asked for
    room = {"ref": "速冻间1", "class": "速冻间", "properties": {}}
    recorded = interview(engine, [room])
    assert "QuickFreezeWorkroom" not in presence(recorded)
    asked_room = next(g for g in recorded.groups if g.object == "速冻间1")
    assert "workerCount" in {q.property for q in asked_room.questions}
    assert all(q.decides for g in recorded.groups for q in g.questions)


def test_decided_items_are_not_asked_again(engine):
    room = {"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 12}}
    iv = interview(engine, [room])
    assert "gongmao-2023/art12/item2" in iv.hazards
    assert all("gongmao-2023/art12/item2" not in q.decides for g in iv.groups for q in g.questions)
    room_questions = {q.property for g in iv.groups if g.object == "速冻间1" for q in g.questions}
    assert "workerCount" not in room_questions


@pytest.fixture()
def client(engine):
    with TestClient(create_app(engine)) as c:
        yield c


def test_interview_api(client):
    body = {"date": "2026-11-20", "enterprise": PLANT, "objects": [], "absent": ["速冻间"]}
    r = client.post("/v1/interviews", json=body)
    assert r.status_code == 200
    data = r.json()
    assert data["asked"] == sum(len(g["questions"]) for g in data["groups"]) > 0
    assert all(g["object_class"] != "QuickFreezeWorkroom" for g in data["groups"])
    bad = client.post("/v1/interviews", json={**body, "absent": ["不存在的对象"]})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_interview_cli(tmp_path):
    f = tmp_path / "partial.yaml"
    f.write_text("date: 2026-11-20\nenterprise: {name: 某食品冷库公司, industries: [轻工], regimes: [涉氨制冷]}\n"
                 "objects:\n  - {ref: 速冻间1, class: 速冻间, properties: {作业人员数量: 12}}\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["checklist", "--inspection", str(f)])
    assert out.exit_code == 0, out.output
    assert "当前结论：是" in out.output and "还需" in out.output and "art3/item2" in out.output
    missing = CliRunner().invoke(cli, ["checklist"])
    assert missing.exit_code != 0 and "--industry" in missing.output

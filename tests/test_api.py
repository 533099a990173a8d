"""HTTP API: determinations, catalogue, checklists, and problem+json errors that name the field."""

import pytest
from fastapi.testclient import TestClient

from hazard_kb.api.app import KB_VERSION_HEADER, create_app

FREEZER = {"enterprise": {"name": "某冷冻食品公司", "industries": ["轻工"], "regimes": ["涉氨制冷"]},
           "objects": [{"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 12}}]}


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(engine)) as c:
        yield c


def test_determination_with_legal_basis(client, engine):
    r = client.post("/v1/determinations", json=FREEZER)
    assert r.status_code == 200
    assert r.headers[KB_VERSION_HEADER] == engine.kb.version
    body = r.json()
    assert body["answer"] == "yes" and body["answer_zh"] == "是"
    hazard = body["hazards"][0]
    assert hazard["pinpoint"] == "gongmao-2023/art12/item2"
    assert hazard["doc_number"] == "中华人民共和国应急管理部令第10号"
    assert hazard["article"] == "第十二条" and hazard["item"] == "（二）"
    assert hazard["findings"][0]["evidence"][0]["value"] == 12
    assert {c["pinpoint"] for c in body["legal_consequences"]} >= {"anquan-shengchan-fa-2021/art102"}


def test_unknown_names_get_422_problem_with_suggestions(client):
    bad = {"enterprise": {"name": "x", "industries": ["冶金x"]},
           "objects": [{"ref": "a", "class": "速冻间x", "properties": {}}]}
    r = client.post("/v1/determinations", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert errors["enterprise.industries.0"]["suggestions"] == ["冶金"]
    assert "速冻间" in errors["objects.0.class"]["suggestions"]


def test_wrong_type_and_unit_name_the_field(client):
    bad = {"enterprise": {"name": "x", "industries": ["轻工"], "regimes": ["涉氨制冷"]},
           "objects": [{"ref": "a", "class": "速冻间", "properties": {"作业人员数量": "十"}},
                       {"ref": "b", "class": "速冻间", "properties": {"作业人员数量": {"value": 3, "unit": "kPa"}}}]}
    r = client.post("/v1/determinations", json=bad)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["objects.0.properties.作业人员数量", "objects.1.properties.作业人员数量"]
    assert "whole number" in r.json()["errors"][0]["expected"]


def test_malformed_json_and_missing_industry(client):
    r = client.post("/v1/determinations", content=b'{"enterprise": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/malformed-json"
    r = client.post("/v1/determinations", json={"enterprise": {"name": "x", "industries": []}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enterprise.industries"
    r = client.post("/v1/determinations", json={"objects": []})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enterprise"


def test_catalogue_routes(client):
    standards = {s["id"]: s for s in client.get("/v1/standards").json()}
    assert standards["gongmao-2023"]["criteria"] == 64
    std = client.get("/v1/standards/gongmao-2023").json()
    assert [a["ordinal"] for a in std["articles"]][:3] == ["第一条", "第二条", "第三条"]
    crit = client.get("/v1/criteria/gongmao-2023/art12/item2").json()
    assert crit["encoded"] and [b["branch"] for b in crit["branches"]] == ["a", "b"]
    assert client.get("/v1/criteria/gongmao-2023/art16/item1").status_code == 404
    assert client.get("/v1/standards/gongkuang-2023").json()["status"] == 404
    labels = [s["label"] for s in client.get("/v1/industries").json()]
    assert "冶金" in labels and "粉尘涉爆" in labels


def test_checklist_orders_questions_by_object(client):
    r = client.get("/v1/checklists", params={"industry": "轻工", "regime": "涉氨制冷"})
    assert r.status_code == 200
    groups = {g["object_class"]: g for g in r.json()["groups"]}
    assert "QuickFreezeWorkroom" in groups
    assert [q["property"] for q in groups["QuickFreezeWorkroom"]["questions"]] == ["workerCount"]
    bad = client.get("/v1/checklists", params={"industry": "冶金x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.industry.0"


def test_openapi_describes_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/determinations", "/v1/standards", "/v1/criteria/{pinpoint}", "/v1/checklists"} <= set(paths)


def test_method_not_allowed_names_the_allowed_methods_and_lists_are_bounded(client):
    r = client.request("TRACE", "/healthz")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    assert r.headers["content-type"] == "application/problem+json"
    r = client.get("/v1/checklists", params={"industry": ["冶金"] * 21})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.industry"


def test_every_error_status_is_documented_as_problem_json(client):
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/v1/determinations"]["post"]["responses"]
    for code in ("400", "413", "422", "503", "504"):
        assert "application/problem+json" in responses[code]["content"]
    assert "ProblemDetails" in spec["components"]["schemas"]


def test_standard_view_lists_every_criterion(client, engine):
    """Notice-style documents (化工 一、二、…; 工贸 2017 一、（一）1.) and whole-article criteria (城镇燃气 第八条) were
    missing from GET /v1/standards/{id} (found by the web app's engineer)."""
    for doc in ("huagong-2017", "gongmao-2017", "chengzhen-ranqi-2023", "fangwu-2024", "dianli-2026", "meikuang-2026"):
        body = client.get(f"/v1/standards/{doc}").json()
        listed = [i["citation"]["pinpoint"] for a in body["articles"] for i in a["items"]]
        assert listed == [p.pinpoint for p in engine.kb.ontology.criteria(doc)], doc

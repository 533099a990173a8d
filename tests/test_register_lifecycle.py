"""The register through the API on SQLite and PostgreSQL: inspection → determination record → register entry →
rectification → three-party close-out, statistics and exports; refusals; immutability; migrations."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from test_register_common import (CODE_A, CODE_B, FREEZER, VIOLATED, db_url, make_client, module_db_url,  # noqa: F401
                                  module_world, world)

PLAN = {"measures": "速冻间作业人员减至9人以下，螺旋速冻机移入单独作业间", "responsible": "张三（生产副总）", "funds": 85000,
        "deadline": "2026-12-31", "contingency": "整改期间每班限员、设氨泄漏应急处置卡"}


@pytest.fixture
def client(world, engine):
    with make_client(engine, world.reg) as c:
        yield c


def _ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def test_full_lifecycle_through_the_api(world, client):
    H = world.headers
    # the determination endpoint stays open
    assert _ok(client.post("/v1/determinations", json=FREEZER))["answer"] == "yes"
    rec = _ok(client.post("/v1/records", json={"inspection": FREEZER}, headers=H("insp")), 201)
    assert rec["answer"] == "yes" and rec["enterprise_id"] is not None and rec["intact"]
    assert rec["input"]["enterprise"]["credit_code"] == CODE_A and rec["output"]["hazards"][0]["pinpoint"] == VIOLATED
    assert rec["kb_content_hash"] and rec["kb_version"].endswith(rec["kb_content_hash"][:12])
    assert rec["created_by"]["username"] == "insp" and rec["as_of"] == "2026-11-20"

    e = _ok(client.post("/v1/register/entries", json={"record_id": rec["id"], "pinpoint": VIOLATED, "deadline": "2026-12-20"},
                        headers=H("insp")), 201)
    eid = e["id"]
    assert e["status"] == "登记" and e["source"] == "监督检查" and e["notified"] == ["boss"]
    assert e["basis"]["article"] == "第十二条" and e["basis"]["item"] == "（二）" and e["basis"]["findings"]
    assert e["enterprise"]["credit_code"] == CODE_A and e["enterprise"]["town"] == "甲街道"
    # the same violated item of the same determination is registered once
    dup = client.post("/v1/register/entries", json={"record_id": rec["id"], "pinpoint": VIOLATED}, headers=H("insp"))
    assert dup.status_code == 409 and dup.json()["entry_id"] == eid
    assert dup.headers["content-type"] == "application/problem+json"

    _ok(client.post(f"/v1/register/entries/{eid}/acknowledgement", json={}, headers=H("boss")))
    e = _ok(client.post(f"/v1/register/entries/{eid}/plan", json=PLAN, headers=H("boss")))
    assert e["status"] == "整改中" and e["deadline"] == "2026-12-31" and e["plan"]["funds"] == 85000
    # a revision needs a reason
    r = client.post(f"/v1/register/entries/{eid}/plan", json={**PLAN, "deadline": "2027-01-15"}, headers=H("boss"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    e = _ok(client.post(f"/v1/register/entries/{eid}/plan", json={**PLAN, "deadline": "2027-01-15", "reason": "设备到货延期"},
                        headers=H("boss")))
    assert e["deadline"] == "2027-01-15"
    e = _ok(client.post(f"/v1/register/entries/{eid}/supervision", json={"level": "市级", "authority": "济南市应急管理局",
                                                                           "reason": "涉氨制冷，人员密集"}, headers=H("insp")))
    assert e["supervision"]["level"] == "市级"
    _ok(client.post(f"/v1/register/entries/{eid}/progress", json={"note": "人员已调整"}, headers=H("boss")))

    # first application is rejected: back to 整改中, confirmations start again
    _ok(client.post(f"/v1/register/entries/{eid}/closeout-request", json={"report": "已整改"}, headers=H("boss")))
    _ok(client.post(f"/v1/register/entries/{eid}/confirmations", json={"opinion": "人员已减少"}, headers=H("insp")))
    r = client.post(f"/v1/register/entries/{eid}/rejection", json={"reason": "速冻机仍未移入单独作业间"}, headers=H("expert"))
    e = _ok(r)
    assert e["status"] == "整改中" and e["confirmations"] == [] and e["rounds"] == 2

    e = _ok(client.post(f"/v1/register/entries/{eid}/closeout-request", json={"report": "速冻机已移入单独作业间",
                                                                              "completed_on": "2026-12-28"}, headers=H("boss")))
    assert e["status"] == "申请销号" and e["missing_confirmations"] == ["inspector", "expert", "enterprise_principal"]
    for who in ("insp", "expert", "boss"):
        e = _ok(client.post(f"/v1/register/entries/{eid}/confirmations", json={"checked_on": "2026-12-29"}, headers=H(who)))
    assert e["missing_confirmations"] == [] and {c["user"]["username"] for c in e["confirmations"]} == {"insp", "expert", "boss"}
    e = _ok(client.post(f"/v1/register/entries/{eid}/closeout", json={"reason": "三方核查合格"}, headers=H("insp")))
    assert e["status"] == "已销号" and e["closed_by"]["username"] == "insp" and e["closed_at"]
    assert [h["status"] for h in e["history"]] == ["登记", "整改中", "申请销号", "整改中", "申请销号", "已销号"]

    events = _ok(client.get(f"/v1/register/entries/{eid}/events", headers=H("auditor")))
    assert [v["seq"] for v in events] == list(range(1, len(events) + 1))
    assert [v["kind"] for v in events] == ["registered", "acknowledged", "plan_set", "plan_revised", "supervision_set", "progress",
                                           "closeout_requested", "confirmed", "rejected", "closeout_requested", "confirmed",
                                           "confirmed", "confirmed", "closed"]
    assert events[3]["reason"] == "设备到货延期" and events[3]["data"]["previous"]["deadline"] == "2026-12-31"
    assert events[8]["actor"]["username"] == "expert" and events[8]["actor_role"] == "expert"
    # nothing more happens to a closed entry
    r = client.post(f"/v1/register/entries/{eid}/progress", json={"note": "x"}, headers=H("boss"))
    assert r.status_code == 409 and r.json()["type"] == "/problems/invalid-transition"

    # statistics reflect it
    stats = _ok(client.get("/v1/register/stats", params={"level": "town"}, headers=H("insp")))
    assert stats["totals"]["closed"] == 1 and stats["totals"]["open"] == 0
    assert stats["by"]["region"][0]["key"] == "山东省/济南市/历下区/甲街道"
    assert stats["by"]["item"][0]["key"] == VIOLATED and stats["by"]["standard"][0]["key"] == "gongmao-2023"
    assert stats["by"]["industry"][0]["key"] == "轻工" and stats["by"]["item"][0]["closeout_days"]["count"] == 1
    assert world.reg.verify()["ok"]


def test_other_channels_overdue_list_and_statistics(world, client):
    H = world.headers
    today = world.reg.today()
    past, future = (today - timedelta(days=10)).isoformat(), (today + timedelta(days=30)).isoformat()
    report = _ok(client.post("/v1/register/entries", json={
        "source": "群众举报查实", "enterprise": CODE_B, "pinpoint": "gongmao-2023/art8/item6", "deadline": past,
        "description": "举报：调漆间未设可燃气体报警装置，经现场核查属实", "evidence": "12345热线转办"}, headers=H("insp")), 201)
    assert report["basis"]["article"] == "第八条" and report["source"] == "群众举报查实"
    assert report["overdue"] and report["days_overdue"] == 10
    own = _ok(client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "自查：液氨储罐区喷淋装置损坏",
                                                        "deadline": future}, headers=H("boss")), 201)
    assert own["source"] == "企业自查" and own["basis"] is None and not own["overdue"]

    overdue = _ok(client.get("/v1/register/overdue", headers=H("insp")))
    assert [e["id"] for e in overdue] == [report["id"]]
    # as of another day
    assert [e["id"] for e in _ok(client.get("/v1/register/overdue", params={"on": (today + timedelta(days=31)).isoformat()},
                                            headers=H("insp")))] == [report["id"], own["id"]]
    listed = _ok(client.get("/v1/register/entries", params={"industry": "有色"}, headers=H("auditor")))
    assert [e["id"] for e in listed["items"]] == [report["id"]] and listed["total"] == 1
    assert _ok(client.get("/v1/register/entries", params={"overdue": "false"}, headers=H("insp")))["total"] == 1
    assert _ok(client.get("/v1/register/entries", params={"county": "章丘区", "source": "群众举报查实"}, headers=H("insp")))["total"] == 1

    stats = _ok(client.get("/v1/register/stats", headers=H("expert")))
    assert stats["totals"] == {**stats["totals"], "open": 2, "overdue": 1, "closed": 0}
    industries = {r["key"]: r for r in stats["by"]["industry"]}
    assert industries["有色"]["overdue"] == 1 and industries["冶金"]["open"] == 1 and industries["轻工"]["overdue"] == 0
    items = {r["key"]: r["open"] for r in stats["by"]["item"]}
    assert items == {"gongmao-2023/art8/item6": 1, "（未指明条款）": 1}

    # exports: CSV (UTF-8 with BOM) and Excel, of statistics and of the list
    r = client.get("/v1/register/stats", params={"format": "csv", "dimension": "industry"}, headers=H("insp"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["维度", "键", "名称", "未销号"] and {row[1] for row in rows[1:]} == {"有色", "冶金", "轻工", "total"}
    r = client.get("/v1/register/stats", params={"format": "xlsx"}, headers=H("insp"))
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["按地区", "按行业", "按标准", "按判定条款"]
    assert wb["按地区"]["B2"].value == "山东省/济南市/历下区" or wb["按地区"]["B2"].value == "山东省/济南市/章丘区"
    r = client.get("/v1/register/entries", params={"format": "xlsx"}, headers=H("insp"))
    ws = load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["登记编号", "状态", "来源"] and ws.max_row == 3
    assert {ws.cell(row=i, column=header.index("是否逾期") + 1).value for i in (2, 3)} == {"是", "否"}
    r = client.get("/v1/register/overdue", params={"format": "csv"}, headers=H("insp"))
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) == 2


def test_closeout_needs_three_roles_from_three_different_users(world, client):
    H = world.headers
    e = _ok(client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "x", "source": "监督检查"},
                        headers=H("insp")), 201)
    eid = e["id"]
    _ok(client.post(f"/v1/register/entries/{eid}/plan", json=PLAN, headers=H("insp")))
    _ok(client.post(f"/v1/register/entries/{eid}/closeout-request", json={"report": "done"}, headers=H("boss")))

    # two roles only: refused, naming the missing one
    _ok(client.post(f"/v1/register/entries/{eid}/confirmations", json={"role": "inspector"}, headers=H("both")))
    _ok(client.post(f"/v1/register/entries/{eid}/confirmations", json={}, headers=H("boss")))
    r = client.post(f"/v1/register/entries/{eid}/closeout", headers=H("insp"))
    assert r.status_code == 409 and r.json()["type"] == "/problems/closeout-refused"
    assert r.json()["missing_roles"] == ["expert"]
    # the same user again, in its other role: refused
    r = client.post(f"/v1/register/entries/{eid}/confirmations", json={"role": "expert"}, headers=H("both"))
    assert r.status_code == 409 and r.json()["reason_code"] == "same_user_twice"
    # a second inspector for a role already confirmed: refused
    r = client.post(f"/v1/register/entries/{eid}/confirmations", json={}, headers=H("insp2"))
    assert r.status_code == 409 and r.json()["reason_code"] == "role_already_confirmed"
    # a user with two confirming roles must say which
    r = client.post(f"/v1/register/entries/{eid}/confirmations", json={}, headers=H("both"))
    assert r.status_code in (409, 422)
    # a role the user does not hold
    r = client.post(f"/v1/register/entries/{eid}/confirmations", json={"role": "expert"}, headers=H("insp2"))
    assert r.status_code == 403
    assert _ok(client.get(f"/v1/register/entries/{eid}", headers=H("insp")))["status"] == "申请销号"

    _ok(client.post(f"/v1/register/entries/{eid}/confirmations", json={}, headers=H("expert")))
    e = _ok(client.post(f"/v1/register/entries/{eid}/closeout", headers=H("insp2")))
    assert e["status"] == "已销号"
    kinds = [v.kind for v in world.reg.events(world.actors["auditor"], eid)]
    assert kinds.count("confirmed") == 3 and kinds[-1] == "closed"  # refusals leave no event


def test_refused_transitions_and_input_errors(world, client):
    H = world.headers
    eid = _ok(client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "x"}, headers=H("insp")), 201)["id"]
    r = client.post(f"/v1/register/entries/{eid}/closeout-request", json={"report": "done"}, headers=H("boss"))
    assert r.status_code == 409 and r.json()["entry_status"] == "登记" and r.json()["allowed_in"] == ["整改中"]
    r = client.post(f"/v1/register/entries/{eid}/closeout", headers=H("insp"))
    assert r.status_code == 409
    r = client.post(f"/v1/register/entries/{eid}/plan", json={**PLAN, "funds": -1, "deadline": "soon"}, headers=H("boss"))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {"funds", "deadline"} and r.json()["title"] == "Invalid request"
    r = client.post(f"/v1/register/entries/{eid}/plan", json={k: v for k, v in PLAN.items() if k != "contingency"}, headers=H("boss"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "contingency"
    r = client.post(f"/v1/register/entries/{eid}/plan", json={**PLAN, "deadline": "2000-01-01"}, headers=H("boss"))
    assert r.status_code == 422
    r = client.post(f"/v1/register/entries/{eid}/supervision", json={"level": "乡级", "reason": "x"}, headers=H("insp"))
    assert r.status_code == 422
    r = client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "x", "pinpoint": "gongmao-2023/art99"},
                    headers=H("insp"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pinpoint"
    r = client.post("/v1/register/entries", json={"enterprise": "91370100MA00000000", "description": "x"}, headers=H("insp"))
    assert r.status_code == 422 and "check character" in r.json()["detail"]
    r = client.post("/v1/enterprises", json={"name": "x", "credit_code": CODE_A, "province": "a", "city": "b", "county": "c",
                                             "town": "d", "industries": ["冶金x"]}, headers=H("insp"))
    assert r.status_code == 422 and r.json()["errors"][0]["suggestions"] == ["冶金"]
    r = client.post("/v1/enterprises", json={"name": "x", "credit_code": CODE_A, "province": "a", "city": "b", "county": "c",
                                             "town": "d", "industries": ["冶金"]}, headers=H("insp"))
    assert r.status_code == 409
    assert client.get("/v1/register/entries/999", headers=H("insp")).status_code == 404
    rec = _ok(client.post("/v1/records", json={"inspection": FREEZER}, headers=H("insp")), 201)
    r = client.post("/v1/register/entries", json={"record_id": rec["id"], "pinpoint": "gongmao-2023/art8/item6"}, headers=H("insp"))
    assert r.status_code == 422 and VIOLATED in r.json()["detail"]
    bad = {**FREEZER, "objects": [{"ref": "a", "class": "速冻间x"}]}
    r = client.post("/v1/records", json={"inspection": bad}, headers=H("insp"))
    assert r.status_code == 422 and r.json()["errors"][0]["suggestions"]


def test_reevaluation_shows_what_would_change(world, client, engine):
    H = world.headers
    rec = _ok(client.post("/v1/records", json={"inspection": FREEZER}, headers=H("insp")), 201)
    same = _ok(client.get(f"/v1/records/{rec['id']}/reevaluation", headers=H("auditor")))
    assert same["unchanged"] and not same["kb_changed"] and same["as_of"] == "2026-11-20"
    # as of a day before the 2023 standard was in force
    earlier = _ok(client.get(f"/v1/records/{rec['id']}/reevaluation", params={"on": "2020-01-01"}, headers=H("auditor")))
    assert not earlier["unchanged"] and earlier["hazards_removed"] == [VIOLATED]
    assert any(c["pinpoint"] == VIOLATED and c["before"] == "violated" and c["after"] is None for c in earlier["changes"])
    # a record made with an older knowledge base in which the item was not violated
    output = engine.determine(FREEZER).model_dump(mode="json")
    old = {**output, "kb_version": "0.0.9+000000000000", "answer": "no", "hazards": [],
           "items": [{**i, "verdict": "not_violated"} if i["pinpoint"] == VIOLATED else i for i in output["items"]]}
    saved = world.reg.save_record(world.actors["insp"], FREEZER, old, old["kb_version"], "0" * 64)
    diff = _ok(client.get(f"/v1/records/{saved.id}/reevaluation", params={"include_determination": True}, headers=H("insp")))
    assert diff["kb_changed"] and diff["then_answer"] == "no" and diff["now_answer"] == "yes"
    assert diff["hazards_added"] == [VIOLATED] and diff["changes"] == [
        {"pinpoint": VIOLATED, "label": "《工贸企业重大事故隐患判定标准》第十二条（二）", "before": "not_violated", "after": "violated"}]
    assert diff["now"]["hazards"][0]["pinpoint"] == VIOLATED
    # the record itself is unchanged
    again = _ok(client.get(f"/v1/records/{saved.id}", headers=H("insp")))
    assert again["answer"] == "no" and again["intact"] and again["kb_version"] == "0.0.9+000000000000"
    assert [r["id"] for r in _ok(client.get("/v1/records", headers=H("insp")))] == [saved.id, rec["id"]]


def test_records_events_and_enterprises_are_append_only_in_the_database(world, client):
    H = world.headers
    rec = _ok(client.post("/v1/records", json={"inspection": FREEZER}, headers=H("insp")), 201)
    _ok(client.post("/v1/register/entries", json={"record_id": rec["id"], "pinpoint": VIOLATED}, headers=H("insp")), 201)
    for sql in ("UPDATE determination_records SET answer = 'no'", "DELETE FROM determination_records",
                "UPDATE register_events SET reason = 'x'", "DELETE FROM register_events", "UPDATE enterprises SET name = 'x'"):
        with pytest.raises(Exception, match="append-only"):
            with world.reg.engine.begin() as conn:
                conn.execute(text(sql))
    assert _ok(client.get(f"/v1/records/{rec['id']}", headers=H("insp")))["answer"] == "yes"
    assert world.reg.verify() == {"ok": True, "entries": 1, "events": 1, "records": 1, "problems": []}


def test_migrations_create_exactly_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hazard_kb.register import Register
    from hazard_kb.register.db import current_revision, head_revision, upgrade
    from hazard_kb.register.models import Base

    reg = Register(db_url)
    try:
        assert current_revision(reg.engine) == head_revision()
        assert upgrade(reg.engine) == head_revision()  # idempotent
        with reg.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        reg.close()


def test_served_app_migrates_at_start_up_and_saves_through_the_isolated_engine(tmp_path):
    """What `hazard-kb serve` runs: the engine in a child process, the database opened (and migrated) at start-up."""
    from fastapi.testclient import TestClient

    from hazard_kb.api.app import create_app
    from hazard_kb.api.routes import register as register_routes
    from hazard_kb.register import Register
    from hazard_kb.register.db import current_revision, head_revision, make_engine
    from test_register_common import USERS

    url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    app = create_app(isolate=True)
    register_routes.install(app, database_url=url, open_at_startup=True)  # as create_app(isolate=True) wires it, with our URL
    with TestClient(app) as client:
        probe = make_engine(url)
        assert current_revision(probe) == head_revision()  # before any request
        probe.dispose()
        reg = Register(url)
        reg.add_enterprise(None, {"name": "某冷冻食品有限公司", "credit_code": CODE_A, "province": "山东省", "city": "济南市",
                                  "county": "历下区", "town": "甲街道", "industries": ["轻工"]})
        _, token = reg.add_user("insp", USERS["insp"][0])
        rec = _ok(client.post("/v1/records", json={"inspection": FREEZER}, headers={"Authorization": f"Bearer {token}"}), 201)
        assert rec["hazards"][0]["pinpoint"] == VIOLATED and rec["engine"] == "durable-rules" and rec["intact"]
        again = _ok(client.get(f"/v1/records/{rec['id']}/reevaluation", headers={"Authorization": f"Bearer {token}"}))
        assert again["unchanged"]
        assert "/v1/register/entries" in client.get("/openapi.json").json()["paths"]
        reg.close()
    assert app.state.register is None  # closed with the app

"""Who may do what in the register, on SQLite and PostgreSQL: every write for every role, tokens, and an
enterprise principal seeing only its own enterprise."""

import pytest

from test_register_common import (CODE_A, CODE_B, FREEZER, USERS, VIOLATED, make_client, module_db_url,  # noqa: F401
                                  module_world)

PLAN = {"measures": "m", "responsible": "r", "funds": 1, "deadline": "2099-01-01", "contingency": "c"}
ROLES = list(USERS)  # insp insp2 expert boss boss_b auditor admin both


@pytest.fixture(scope="module")
def client(module_world, engine):
    with make_client(engine, module_world.reg) as c:
        yield c


def _entry(w, status: str, code: str = CODE_A) -> int:
    """A fresh entry of enterprise `code` brought to `status` through the service."""
    reg, a = w.reg, w.actors
    e = reg.register_entry(a["insp"], source="监督检查", enterprise=code, description="permission probe")
    if status in ("整改中", "申请销号", "confirmed"):
        reg.set_plan(a["insp"], e.id, PLAN)
    if status in ("申请销号", "confirmed"):
        reg.request_closeout(a["insp"], e.id, "done")
    if status == "confirmed":
        boss = "boss" if code == CODE_A else "boss_b"
        for who in ("insp", "expert", boss):
            reg.confirm(a[who], e.id)
    return e.id


# action -> (state the entry must be in, request, {role: expected status}); unlisted roles: 403
ACTIONS = {
    "acknowledge": ("登记", lambda c, i, h: c.post(f"/v1/register/entries/{i}/acknowledgement", json={}, headers=h),
                    {"boss": 200, "boss_b": 404}),
    "plan": ("登记", lambda c, i, h: c.post(f"/v1/register/entries/{i}/plan", json=PLAN, headers=h),
             {"insp": 200, "insp2": 200, "boss": 200, "admin": 200, "both": 200, "boss_b": 404}),
    "progress": ("整改中", lambda c, i, h: c.post(f"/v1/register/entries/{i}/progress", json={"note": "n"}, headers=h),
                 {"insp": 200, "insp2": 200, "expert": 200, "boss": 200, "admin": 200, "both": 200, "boss_b": 404}),
    "supervise": ("整改中", lambda c, i, h: c.post(f"/v1/register/entries/{i}/supervision", json={"level": "县级", "reason": "r"}, headers=h),
                  {"insp": 200, "insp2": 200, "admin": 200, "both": 200}),
    "request_closeout": ("整改中", lambda c, i, h: c.post(f"/v1/register/entries/{i}/closeout-request", json={"report": "r"}, headers=h),
                         {"insp": 200, "insp2": 200, "boss": 200, "admin": 200, "both": 200, "boss_b": 404}),
    "confirm": ("申请销号", lambda c, i, h: c.post(f"/v1/register/entries/{i}/confirmations", json={}, headers=h),
                {"insp": 200, "insp2": 200, "expert": 200, "boss": 200, "both": 422, "boss_b": 404}),
    "reject": ("申请销号", lambda c, i, h: c.post(f"/v1/register/entries/{i}/rejection", json={"reason": "r"}, headers=h),
               {"insp": 200, "insp2": 200, "expert": 200, "both": 200}),
    "close_out": ("confirmed", lambda c, i, h: c.post(f"/v1/register/entries/{i}/closeout", json={}, headers=h),
                  {"insp": 200, "insp2": 200, "admin": 200, "both": 200}),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_role_may_do_only_its_part(module_world, client, action):
    state, call, allowed = ACTIONS[action]
    got = {}
    for role in ROLES:
        eid = _entry(module_world, state)
        r = call(client, eid, module_world.headers(role))
        got[role] = r.status_code
        assert r.headers["content-type"] == ("application/json" if r.status_code == 200 else "application/problem+json")
    assert got == {role: allowed.get(role, 403) for role in ROLES}


def test_who_may_register_save_records_and_add_enterprises(module_world, client):
    w = module_world
    expected = {"insp": 201, "insp2": 201, "expert": 201, "boss": 201, "boss_b": 404, "auditor": 403, "admin": 201, "both": 201}
    got = {r: client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "d"}, headers=w.headers(r)).status_code
           for r in ROLES}
    assert got == expected
    # a principal registers its own self-inspection findings only
    r = client.post("/v1/register/entries", json={"enterprise": CODE_A, "description": "d", "source": "监督检查"}, headers=w.headers("boss"))
    assert r.status_code == 403
    got = {r: client.post("/v1/records", json={"inspection": FREEZER}, headers=w.headers(r)).status_code for r in ROLES}
    assert got == {**expected, "boss_b": 403}  # boss_b may save determinations, but not of enterprise A
    body = {"name": "n", "province": "p", "city": "c", "county": "x", "town": "t", "industries": ["机械"]}
    from test_register_common import credit_code
    got = {r: client.post("/v1/enterprises", json={**body, "credit_code": credit_code(100 + i)}, headers=w.headers(r)).status_code
           for i, r in enumerate(ROLES)}
    assert got == {"insp": 201, "insp2": 201, "expert": 403, "boss": 403, "boss_b": 403, "auditor": 403, "admin": 201, "both": 201}


def test_an_enterprise_principal_sees_only_its_own_enterprise(module_world, client):
    w = module_world
    a_id, b_id = _entry(w, "登记", CODE_A), _entry(w, "登记", CODE_B)
    rec_a = client.post("/v1/records", json={"inspection": FREEZER}, headers=w.headers("insp")).json()["id"]
    for boss, mine, other, code in (("boss", a_id, b_id, CODE_A), ("boss_b", b_id, a_id, CODE_B)):
        h = w.headers(boss)
        listed = client.get("/v1/register/entries", params={"limit": 1000}, headers=h).json()["items"]
        assert mine in [e["id"] for e in listed] and {e["enterprise"]["credit_code"] for e in listed} == {code}
        assert client.get(f"/v1/register/entries/{mine}", headers=h).status_code == 200
        assert client.get(f"/v1/register/entries/{other}", headers=h).status_code == 404
        assert client.get(f"/v1/register/entries/{other}/events", headers=h).status_code == 404
        assert [e["credit_code"] for e in client.get("/v1/enterprises", headers=h).json()] == [code]
        other_code = CODE_B if code == CODE_A else CODE_A
        assert client.get(f"/v1/enterprises/{other_code}", headers=h).status_code == 404
        regions = {r["key"] for r in client.get("/v1/register/stats", params={"level": "county"}, headers=h).json()["by"]["region"]}
        assert regions == {"山东省/济南市/" + ("历下区" if code == CODE_A else "章丘区")}
        rows = client.get("/v1/register/entries", params={"format": "csv"}, headers=h).content.decode("utf-8-sig").splitlines()[1:]
        assert rows and all(code in row for row in rows)
        records = [r["id"] for r in client.get("/v1/records", headers=h).json()]
        assert (rec_a in records) == (boss == "boss")
        assert client.get(f"/v1/records/{rec_a}", headers=h).status_code == (200 if boss == "boss" else 404)
    # everyone else sees both
    for role in ("insp", "expert", "auditor", "admin"):
        ids = [e["id"] for e in client.get("/v1/register/entries", params={"limit": 1000}, headers=w.headers(role)).json()["items"]]
        assert a_id in ids and b_id in ids


def test_tokens(module_world, client):
    w = module_world
    # the determination endpoint stays open; register endpoints need a token
    assert client.post("/v1/determinations", json=FREEZER).status_code == 200
    for method, path in (("get", "/v1/register/entries"), ("get", "/v1/register/stats"), ("get", "/v1/records"),
                         ("post", "/v1/register/entries"), ("get", "/v1/me"), ("get", "/v1/register/overdue")):
        r = getattr(client, method)(path)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json" and r.json()["type"] == "/problems/unauthorized"
    token = w.tokens["insp"]
    key = token.split("_")[1]
    for bad in ("nonsense", f"hk_{key}_wrongsecret", "hk_000000000000_" + token.split("_", 2)[2]):
        r = client.get("/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
    assert client.get("/v1/me", headers={"Authorization": f"Basic {token}"}).status_code == 401
    me = client.get("/v1/me", headers=w.headers("boss")).json()
    assert me["roles"] == ["enterprise_principal"] and me["enterprise"]["credit_code"] == CODE_A
    # a second token, then revoked
    extra = w.reg.issue_token("auditor", "for the test")
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {extra}"}).json()["username"] == "auditor"
    w.reg.revoke_token(extra.split("_")[1])
    r = client.get("/v1/me", headers={"Authorization": f"Bearer {extra}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.get("/v1/me", headers=w.headers("auditor")).status_code == 200  # the first token still works
    # only digests are stored
    from sqlalchemy import text
    with w.reg.engine.connect() as conn:
        stored = " ".join(" ".join(map(str, row)) for row in conn.execute(text("SELECT * FROM api_tokens")))
    assert all(t.split("_", 2)[2] not in stored for t in w.tokens.values())


def test_users_are_checked(module_world):
    from hazard_kb.register import Conflict, Invalid, NotFound

    reg = module_world.reg
    with pytest.raises(Invalid):
        reg.add_user("x1", ["enterprise_principal"])  # a principal needs its enterprise
    with pytest.raises(Invalid):
        reg.add_user("x2", ["enterprise_principal", "inspector"], enterprise=CODE_A)
    with pytest.raises(Invalid):
        reg.add_user("x3", ["inspector"], enterprise=CODE_A)
    with pytest.raises(Invalid):
        reg.add_user("x4", ["superuser"])
    with pytest.raises(Conflict):
        reg.add_user("insp", ["inspector"])
    from test_register_common import credit_code
    with pytest.raises(NotFound):
        reg.add_user("x5", ["enterprise_principal"], enterprise=credit_code(999))


def test_an_app_without_tokens_never_opens_a_database(engine, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from hazard_kb.api.app import create_app
    from hazard_kb.api.routes import register as register_routes

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HAZARD_KB_DATABASE_URL", raising=False)
    app = create_app(engine)
    register_routes.install(app)
    with TestClient(app) as client:
        assert client.get("/v1/register/entries").status_code == 401
        assert client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        assert client.post("/v1/determinations", json=FREEZER).status_code == 200
    assert list(tmp_path.iterdir()) == []

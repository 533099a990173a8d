"""Shared fixtures of the register tests (no tests here). Every register test runs on SQLite and on PostgreSQL:
the PostgreSQL leg uses $HAZARD_KB_TEST_POSTGRES_URL (`.ci/postgres.sh` starts a server and sets it), one
fresh schema per database fixture; it is skipped only when that variable is unset. Set
HAZARD_KB_REQUIRE_POSTGRES=1 to make a missing server an error instead of a skip."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from hazard_kb.register import Actor, Register, database_url
from hazard_kb.register.validate import credit_code_check_char

PG_ENV = "HAZARD_KB_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
SKIP_REASON = (f"PostgreSQL leg skipped: {PG_ENV} is not set. Run `source .ci/postgres.sh` (starts a throw-away "
               "PostgreSQL 15 on 127.0.0.1 and exports it), as .ci/run does.")


def credit_code(n: int, prefix: str = "913701") -> str:
    """A valid 统一社会信用代码 (check character per GB 32100-2015) numbered n."""
    body = f"{prefix}00MA{n:07d}"[:17]
    return body + credit_code_check_char(body)


CODE_A, CODE_B = credit_code(1), credit_code(2, "913201")
FREEZER = {"date": "2026-11-20",
           "enterprise": {"name": "某冷冻食品有限公司", "industries": ["轻工"], "regimes": ["涉氨制冷"], "credit_code": CODE_A},
           "objects": [{"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 12}},
                       {"ref": "螺旋速冻机1", "class": "快速冻结装置", "properties": {"设置在单独的作业间内": False}}]}
VIOLATED = "gongmao-2023/art12/item2"


@contextmanager
def _pg_schema():
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("HAZARD_KB_REQUIRE_POSTGRES"):
            pytest.fail(f"HAZARD_KB_REQUIRE_POSTGRES is set but {PG_ENV} is not")
        pytest.skip(SKIP_REASON)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(database_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE SCHEMA {schema}")
        u = make_url(database_url(base)).update_query_dict({"options": f"-csearch_path={schema}"})
        yield u.render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@contextmanager
def database(backend: str, tmp_path):
    """A URL of an empty database of this backend, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.sqlite'}"
    else:
        with _pg_schema() as url:
            yield url


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS, scope="module")
def module_db_url(request, tmp_path_factory):
    with database(request.param, tmp_path_factory.mktemp("register")) as url:
        yield url


@dataclass
class World:
    """A register with two enterprises and a user of every role."""

    reg: Register
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


USERS = {
    "insp": (["inspector"], None), "insp2": (["inspector"], None), "expert": (["expert"], None),
    "boss": (["enterprise_principal"], CODE_A), "boss_b": (["enterprise_principal"], CODE_B),
    "auditor": (["auditor"], None), "admin": (["admin"], None), "both": (["inspector", "expert"], None),
}


def make_world(url: str, kb) -> World:
    reg = Register(url, kb=kb)
    for code, name, town, industries in ((CODE_A, "某冷冻食品有限公司", "甲街道", ["轻工"]),
                                         (CODE_B, "某某铝业有限公司", "乙镇", ["有色", "冶金"])):
        reg.add_enterprise(None, {"name": name, "credit_code": code, "province": "山东省", "city": "济南市",
                                  "county": "历下区" if code == CODE_A else "章丘区", "town": town, "industries": industries})
    w = World(reg)
    for name, (roles, ent) in USERS.items():
        user, token = reg.add_user(name, roles, display_name=name.upper(), enterprise=ent)
        w.tokens[name] = token
        w.actors[name] = Actor(user.id, user.username, frozenset(user.roles), user.enterprise.id if user.enterprise else None,
                               user.display_name)
    return w


@pytest.fixture
def world(db_url, engine):
    w = make_world(db_url, engine.kb)
    yield w
    w.reg.close()


@pytest.fixture(scope="module")
def module_world(module_db_url, engine):
    w = make_world(module_db_url, engine.kb)
    yield w
    w.reg.close()


def make_client(engine, reg: Register):
    from fastapi.testclient import TestClient

    from hazard_kb.api.app import create_app
    from hazard_kb.api.routes import register as register_routes

    app = create_app(engine)
    register_routes.install(app)  # idempotent: a no-op once create_app wires it
    app.state.register = reg
    return TestClient(app)


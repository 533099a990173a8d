"""Database engines for the register and Alembic migrations shipped in the package.

SQLite (the embedded default, a file in the working directory) is opened in WAL mode with full sync and
foreign keys on; every write transaction starts with BEGIN IMMEDIATE, so writers are serialised by SQLite's
own lock (no lock upgrade from reader to writer can deadlock) and wait up to busy_timeout for it. Read-only
work goes through `read_engine(...)`, whose transactions start with a plain deferred BEGIN (WAL readers never
wait for the writer). PostgreSQL is reached with psycopg 3; a bare postgresql:// URL is given that driver.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

DATABASE_URL_ENV = "HAZARD_KB_DATABASE_URL"
DEFAULT_SQLITE_FILE = "hazard-kb.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_PG_MIGRATION_LOCK = 0x68617A6B  # "hazk": advisory lock held while migrating, so concurrent start-ups queue


def database_url(url: str | None = None) -> str:
    """The URL given, else $HAZARD_KB_DATABASE_URL, else ./hazard-kb.sqlite; postgres URLs get psycopg 3."""
    raw = url or os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{Path.cwd() / DEFAULT_SQLITE_FILE}"
    u = make_url(raw)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str | None = None) -> Engine:
    u = make_url(database_url(url))
    if u.get_backend_name() == "sqlite":
        memory = u.database in (None, "", ":memory:")
        engine = create_engine(u, json_serializer=_dumps, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                               **({"poolclass": StaticPool} if memory else {"pool_size": 10, "max_overflow": 20}))

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # transactions are begun by us (below), not by pysqlite
            cur = dbapi_connection.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("hk_readonly") else "BEGIN IMMEDIATE")

        return engine
    return create_engine(u, json_serializer=_dumps, pool_size=10, max_overflow=20, pool_pre_ping=True)


def read_engine(engine: Engine) -> Engine:
    """The same pool, but transactions that only read (deferred BEGIN on SQLite)."""
    return engine.execution_options(hk_readonly=True)


def alembic_config(engine: Engine | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the shipped migrations up to `revision` in one transaction; returns the revision now current.
    Concurrent callers (several API workers starting at once) queue on a lock and the later ones find
    nothing left to do."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE holds the write lock for the whole upgrade
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with read_engine(engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()

"""The major-hazard register (重大事故隐患清单/台账): determination records, register entries with their event
history, users and tokens, statistics. Storage through SQLAlchemy 2 with Alembic migrations; SQLite file by
default, PostgreSQL by URL."""

from .db import DATABASE_URL_ENV, database_url
from .errors import Conflict, Forbidden, Invalid, NotFound, RegisterError, Unauthorized
from .service import Actor, Register

__all__ = ["Actor", "Conflict", "DATABASE_URL_ENV", "Forbidden", "Invalid", "NotFound", "Register", "RegisterError",
           "Unauthorized", "database_url"]

"""Tables of the register (SQLAlchemy 2 typed ORM). The migrations in migrations/versions create exactly these
(a test compares them with Alembic's autogenerate on both databases).

Append-only tables, refused UPDATE and DELETE by database triggers: enterprises, determination_records,
register_events. register_entries is the projection of register_events: one row per entry holding the state
derived from its events, written in the same transaction as each event (its `version` is the seq of the last
event folded in)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(60))
    city: Mapped[str] = mapped_column(String(60))
    county: Mapped[str] = mapped_column(String(60))
    town: Mapped[str] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(300))
    industries: Mapped[list[str]] = mapped_column()
    created_at: Mapped[datetime]
    created_by: Mapped[int | None]  # user id (no FK: users reference enterprises); None when added by the local CLI


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    created_at: Mapped[datetime]
    roles: Mapped[list[UserRole]] = relationship(lazy="selectin", order_by="UserRole.role")

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token: `hk_<key_id>_<secret>`; only a salted scrypt digest of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(24), unique=True)
    scheme: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DeterminationRecord(Base):
    """A saved determination: the full input and output, the knowledge base it was made with, who and when."""

    __tablename__ = "determination_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    as_of: Mapped[date]
    answer: Mapped[str] = mapped_column(String(16))
    hazards: Mapped[list[str]] = mapped_column()
    kb_version: Mapped[str] = mapped_column(String(64))
    kb_content_hash: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(32))
    input: Mapped[dict[str, Any]]
    output: Mapped[dict[str, Any]]
    input_sha256: Mapped[str] = mapped_column(String(64))
    output_sha256: Mapped[str] = mapped_column(String(64))


class RegisterEntry(Base):
    """Projection: the current state of an entry, derived from its events (never the source of truth)."""

    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("record_id", "pinpoint", name="uq_register_entries_record_pinpoint"),
        Index("ix_register_entries_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("determination_records.id"))
    pinpoint: Mapped[str | None] = mapped_column(String(120), index=True)
    standard: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(8))
    deadline: Mapped[date | None]
    supervision_level: Mapped[str | None] = mapped_column(String(8))
    registered_at: Mapped[datetime]
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]]


class RegisterEvent(Base):
    """One change to one entry: who, when, what (kind + data), why (reason). Append-only."""

    __tablename__ = "register_events"
    __table_args__ = (UniqueConstraint("entry_id", "seq", name="uq_register_events_entry_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entries.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]]


APPEND_ONLY_TABLES = ("enterprises", "determination_records", "register_events")

"""The register: users and tokens, enterprises, determination records, entries (projection) and their events.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("enterprises", "determination_records", "register_events")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province", sa.String(60), nullable=False),
        sa.Column("city", sa.String(60), nullable=False),
        sa.Column("county", sa.String(60), nullable=False),
        sa.Column("town", sa.String(60), nullable=False),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("industries", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_enterprises"),
        sa.UniqueConstraint("credit_code", name="uq_enterprises_credit_code"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], name="fk_users_enterprise_id_enterprises"),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        _ts("granted_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_roles_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_user_roles"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(24), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("key_id", name="uq_api_tokens_key_id"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "determination_records",
        sa.Column("id", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("hazards", sa.JSON(), nullable=False),
        sa.Column("kb_version", sa.String(64), nullable=False),
        sa.Column("kb_content_hash", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("output_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_determination_records_created_by_users"),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], name="fk_determination_records_enterprise_id_enterprises"),
        sa.PrimaryKeyConstraint("id", name="pk_determination_records"),
    )
    op.create_index("ix_determination_records_enterprise_id", "determination_records", ["enterprise_id"])
    op.create_table(
        "register_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("pinpoint", sa.String(120), nullable=True),
        sa.Column("standard", sa.String(60), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("supervision_level", sa.String(8), nullable=True),
        _ts("registered_at"),
        sa.Column("registered_by", sa.Integer(), nullable=False),
        _ts("closed_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], name="fk_register_entries_enterprise_id_enterprises"),
        sa.ForeignKeyConstraint(["record_id"], ["determination_records.id"], name="fk_register_entries_record_id_determination_records"),
        sa.ForeignKeyConstraint(["registered_by"], ["users.id"], name="fk_register_entries_registered_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_register_entries"),
        sa.UniqueConstraint("record_id", "pinpoint", name="uq_register_entries_record_pinpoint"),
    )
    op.create_index("ix_register_entries_enterprise_id", "register_entries", ["enterprise_id"])
    op.create_index("ix_register_entries_pinpoint", "register_entries", ["pinpoint"])
    op.create_index("ix_register_entries_status_deadline", "register_entries", ["status", "deadline"])
    op.create_table(
        "register_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        _ts("at"),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_register_events_actor_id_users"),
        sa.ForeignKeyConstraint(["entry_id"], ["register_entries.id"], name="fk_register_events_entry_id_register_entries"),
        sa.PrimaryKeyConstraint("id", name="pk_register_events"),
        sa.UniqueConstraint("entry_id", "seq", name="uq_register_events_entry_seq"),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE on the append-only tables in the database itself, not only in the code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION hk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'hazard-kb: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION hk_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION hk_append_only()")
    else:
        for table in APPEND_ONLY:
            for op_name in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'hazard-kb: {table} is append-only ({op_name} refused)'); END")


def downgrade() -> None:
    for table in ("register_events", "register_entries", "determination_records", "api_tokens", "user_roles", "users",
                  "enterprises"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hk_append_only()")

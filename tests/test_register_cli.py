"""The register from the command line on SQLite and PostgreSQL: users add, db upgrade, enterprises add,
records save, register add → plan → request-closeout → three confirmations → close, stats and exports."""

import json

import pytest
import typer
import typer.main
import typer.testing
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from hazard_kb import cli_register
from test_register_common import CODE_A, FREEZER, VIOLATED, db_url  # noqa: F401


def _app() -> typer.Typer:
    """The sub-apps mounted as hazard_kb/cli.py mounts them."""
    app = typer.Typer()
    app.add_typer(cli_register.db_app, name="db")
    app.add_typer(cli_register.users_app, name="users")
    app.add_typer(cli_register.enterprises_app, name="enterprises")
    app.add_typer(cli_register.records_app, name="records")
    app.add_typer(cli_register.register_app, name="register")
    return app


@pytest.fixture
def cli(db_url, engine, monkeypatch):
    monkeypatch.setattr(cli_register, "ENGINE_FACTORY", lambda: engine)
    monkeypatch.delenv("HAZARD_KB_TOKEN", raising=False)
    monkeypatch.setenv("HAZARD_KB_DATABASE_URL", db_url)
    app, runner = _app(), CliRunner()
    command = typer.main.get_command(app)  # built once: typer rebuilds the whole tree on every invoke otherwise
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: command)

    def run(*args, token=None, code=0):
        result = runner.invoke(app, [str(a) for a in args], env={"HAZARD_KB_TOKEN": token} if token else None)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    return run


def test_lifecycle_from_the_command_line(cli, tmp_path):
    assert "at revision 0001" in cli("db", "upgrade").output
    assert "current 0001; head 0001" in cli("db", "current").output
    cli("enterprises", "add", "--name", "某冷冻食品有限公司", "--credit-code", CODE_A, "--province", "山东省", "--city", "济南市",
        "--county", "历下区", "--town", "甲街道", "--industry", "轻工")
    tokens = {}
    for name, role, extra in (("insp", "inspector", []), ("expert", "expert", []),
                              ("boss", "enterprise_principal", ["--enterprise", CODE_A])):
        out = json.loads(cli("users", "add", name, "--role", role, "--name", name.upper(), *extra, "--json").stdout)
        assert out["user"]["roles"] == [role] and out["token"].startswith("hk_")
        tokens[name] = out["token"]
    assert "boss (BOSS): enterprise_principal" in cli("users", "list").output

    inspection = tmp_path / "freezer.yaml"
    inspection.write_text(yaml.safe_dump({"inspection": FREEZER}, allow_unicode=True), encoding="utf-8")
    cli("records", "save", inspection, code=1)  # a change needs a token
    rec = json.loads(cli("records", "save", inspection, "--json", token=tokens["insp"]).stdout)
    assert rec["answer"] == "yes" and rec["created_by"]["username"] == "insp" and rec["intact"]
    assert "unchanged" in cli("records", "reevaluate", rec["id"], token=tokens["insp"]).output
    assert "CHANGED" in cli("records", "reevaluate", rec["id"], "--on", "2020-01-01").output

    added = json.loads(cli("register", "add", "--record", rec["id"], "--deadline", "2026-12-20", "--json", token=tokens["insp"]).stdout)
    assert [e["basis"]["pinpoint"] for e in added] == [VIOLATED]
    eid = added[0]["id"]
    cli("register", "add", "--record", rec["id"], token=tokens["insp"], code=1)  # already registered
    cli("register", "plan", eid, "--measures", "减员", "--responsible", "张三", "--funds", "5000", "--deadline", "2026-12-31",
        "--contingency", "限员", token=tokens["boss"])
    cli("register", "supervise", eid, "--level", "县级", "--reason", "涉氨", token=tokens["boss"], code=1)  # not the principal's
    cli("register", "supervise", eid, "--level", "县级", "--reason", "涉氨", token=tokens["insp"])
    cli("register", "request-closeout", eid, "--report", "已减员", token=tokens["boss"])
    cli("register", "confirm", eid, token=tokens["insp"])
    cli("register", "confirm", eid, token=tokens["insp"], code=1)  # the same user twice
    refused = cli("register", "close", eid, token=tokens["insp"], code=1)
    assert "close-out needs" in refused.output and "expert" in refused.output
    cli("register", "confirm", eid, "--opinion", "合格", token=tokens["expert"])
    cli("register", "confirm", eid, token=tokens["boss"])
    closed = cli("register", "close", eid, "--json", token=tokens["insp"])
    assert json.loads(closed.stdout)["status"] == "已销号"

    shown = cli("register", "show", eid).output
    assert "销号（closed）" in shown and "挂牌督办（supervision_set）" in shown and "第十二条（二）" in shown
    stats = json.loads(cli("register", "stats", "--json").stdout)
    assert stats["totals"]["closed"] == 1 and stats["by"]["item"][0]["key"] == VIOLATED
    cli("register", "stats", "--export", tmp_path / "stats.xlsx")
    assert load_workbook(tmp_path / "stats.xlsx").sheetnames[0] == "按地区"
    cli("register", "list", "--export", tmp_path / "register.csv")
    assert "已销号" in (tmp_path / "register.csv").read_text(encoding="utf-8-sig")
    cli("register", "list", "--export", tmp_path / "register.txt", code=2)
    assert "0 entries" in cli("register", "overdue").output
    assert cli("db", "verify").output.startswith("ok: 1 entries, 8 events, 1 determination records")


def test_command_line_errors_are_named(cli):
    cli("users", "add", "x", "--role", "boss", code=2)
    cli("users", "add", "x", "--role", "enterprise_principal", code=2)  # needs --enterprise
    r = cli("enterprises", "add", "--name", "n", "--credit-code", "91370100MA00000000", "--province", "p", "--city", "c",
            "--county", "x", "--town", "t", "--industry", "冶金", code=2)
    assert "check character" in r.output
    r = cli("enterprises", "add", "--name", "n", "--credit-code", CODE_A, "--province", "p", "--city", "c", "--county", "x",
            "--town", "t", "--industry", "冶金x", code=2)
    assert "did you mean 冶金" in r.output
    cli("register", "plan", "1", "--measures", "m", "--responsible", "r", "--funds", "1", "--deadline", "2026-12-31",
        "--contingency", "c", token="hk_nope_nope", code=1)
    cli("users", "revoke", "nope", code=1)

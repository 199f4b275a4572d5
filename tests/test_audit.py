"""Audit log (issue 12 item 13): append-only, chained, written by the dashboard and the CLI, read by
admins on the Dữ liệu page and by `motcua audit` with filters."""

from __future__ import annotations

import json
import multiprocessing
from datetime import datetime
from pathlib import Path

import dbfactory
import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from cli.main import main as cli_main
from dashboard import auth_ui
from motcua import audit, auth

PASSWORD = "mat-khau-dai-1234"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    codes = dbfactory.commune_codes()
    frame = dbfactory.make_dossiers(200, codes, datetime(2026, 1, 2), datetime(2026, 6, 28))
    db_path = dbfactory.build_db(tmp_path / "motcua.duckdb", frame)
    users = tmp_path / "users.toml"
    auth.save_users(auth.UserDirectory(path=users, users={
        "admin": auth.User("admin", "admin", password_hash=auth.hash_password(PASSWORD)),
        "chair": auth.User("chair", "chair", (codes[0],), password_hash=auth.hash_password(PASSWORD)),
    }))
    monkeypatch.setenv("MOTCUA_DB", str(db_path))
    monkeypatch.setenv(auth.USERS_ENV, str(users))
    monkeypatch.delenv(audit.AUDIT_ENV, raising=False)
    auth.THROTTLE.reset()
    return {"db": db_path, "codes": codes, "log": audit.audit_path(db_path)}


def test_log_lives_beside_the_database(env):
    assert env["log"] == env["db"].with_name("motcua.audit.jsonl")


def test_record_read_and_filters(env):
    audit.record(audit.Event("sign_in", "chair", units=[env["codes"][0]]), env["db"])
    audit.record(audit.Event("export", "chair", "bang.csv", [env["codes"][0]]), env["db"])
    audit.record(audit.Event("import", "admin", "tep.xlsx", [env["codes"][1]], via="cli"), env["db"])
    newest_first = audit.read(env["db"])
    assert [e["action"] for e in newest_first] == ["import", "export", "sign_in"]
    assert [e["target"] for e in audit.read(env["db"], audit.Filter(users=["CHAIR"], actions=["export"]))] == \
        ["bang.csv"]
    assert [e["user"] for e in audit.read(env["db"], audit.Filter(units=[env["codes"][1]]))] == ["admin"]
    assert audit.read(env["db"], audit.Filter(since=datetime(2100, 1, 1))) == []
    assert audit.verify(env["db"]) == []


def test_editing_or_deleting_a_line_breaks_the_chain(env):
    for index in range(4):
        audit.record(audit.Event("export", "chair", f"bang-{index}.csv"), env["db"])
    lines = env["log"].read_text(encoding="utf-8").splitlines()
    edited = lines.copy()
    edited[1] = edited[1].replace("chair", "admin")
    env["log"].write_text("\n".join(edited) + "\n", encoding="utf-8")
    assert [p.split(":")[0] for p in audit.verify(env["db"])] == ["Dòng 3"]
    env["log"].write_text("\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    assert [p.split(":")[0] for p in audit.verify(env["db"])] == ["Dòng 2"]


def test_a_torn_last_line_does_not_swallow_the_next_event(env):
    audit.record(audit.Event("sign_in", "chair"), env["db"])
    with open(env["log"], "ab") as handle:
        handle.write(b'{"action": "exp')  # the process died mid-write
    audit.record(audit.Event("sign_in", "admin"), env["db"])
    assert [e["user"] for e in audit.read(env["db"])] == ["admin", "chair"]
    assert [p.split(":")[0] for p in audit.verify(env["db"])] == ["Dòng 2"]


def _write_many(db_path: str, writer: int) -> None:
    for index in range(40):
        audit.record(audit.Event("export", f"user{writer}", f"f{index}.csv"), db_path)


def test_concurrent_writers_never_interleave(env):
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_write_many, args=(str(env["db"]), w)) for w in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    lines = env["log"].read_bytes().splitlines()
    assert len(lines) == 160 and all(json.loads(line)["action"] == "export" for line in lines)
    assert audit.verify(env["db"]) == []


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="motcua_login_user").input(username)
    at.text_input(key="motcua_login_password").input(password)
    at.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_dashboard_sign_ins_are_recorded(env):
    at = AppTest.from_string("from dashboard.auth_ui import login_gate\nlogin_gate()\n", default_timeout=30)
    at.run()
    _login(at, "chair", "sai-mat-khau-1")
    _login(at, "chair", PASSWORD)
    events = audit.read(env["db"])
    assert [(e["action"], e["user"]) for e in events] == [("sign_in", "chair"), ("sign_in_failed", "chair")]
    assert events[0]["units"] == [env["codes"][0]] and events[0]["role"] == "chair" and events[0]["address"]


AUDITED_DOWNLOAD = """
from dashboard import components as ui, pickers, state
state.begin_run()
pickers.render_sidebar()
content = ui.audited(lambda: b"du lieu", "export", "bang.csv", "Bảng thử")()
"""


def test_a_download_records_user_file_and_allowed_units(env):
    at = AppTest.from_string(AUDITED_DOWNLOAD, default_timeout=60)
    at.session_state[auth_ui.SESSION_KEY] = "chair"
    at.query_params["unit"] = env["codes"][1]  # not the chair's: the scope (and the log) stay on their own
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    event = audit.read(env["db"], audit.Filter(actions=["export"]))[0]
    assert (event["user"], event["target"], event["units"]) == ("chair", "bang.csv", [env["codes"][0]])


DATA_PAGE = ("from dashboard import pickers, state\nfrom dashboard.views import du_lieu\n"
             "state.begin_run()\npickers.render_sidebar()\ndu_lieu.render()\n")


def test_admin_sees_the_log_on_the_data_page_and_a_chair_does_not(env):
    audit.record(audit.Event("report", "chair", "xa-a-2026Q2.docx", [env["codes"][0]]), env["db"])
    admin = AppTest.from_string(DATA_PAGE, default_timeout=60)
    admin.session_state[auth_ui.SESSION_KEY] = "admin"
    admin.run()
    assert not admin.exception, [e.value for e in admin.exception]
    assert "Nhật ký truy cập" in [s.value for s in admin.subheader]
    table = next(d.value for d in admin.dataframe if "Thao tác" in d.value.columns)
    assert table["Tệp"].tolist() == ["xa-a-2026Q2.docx"] and table["Thao tác"].tolist() == ["Tải báo cáo"]
    chair = AppTest.from_string(DATA_PAGE, default_timeout=60)
    chair.session_state[auth_ui.SESSION_KEY] = "chair"
    chair.run()
    assert "Nhật ký truy cập" not in [s.value for s in chair.subheader]


def test_cli_load_and_report_are_recorded_and_motcua_audit_filters(env, tmp_path):
    export = tmp_path / "xa.csv"
    export.write_text("Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Trạng thái\n"
                      f"HS-1;{env['codes'][0]};02/03/2026 08:00;Đang giải quyết\n", encoding="utf-8")
    runner = CliRunner()
    loaded = runner.invoke(cli_main, ["load", str(export), "--db", str(env["db"]), "--user", "canbo.nap"])
    assert loaded.exit_code == 0, loaded.output
    reported = runner.invoke(cli_main, ["report", "--db", str(env["db"]), "--unit", env["codes"][0], "--period",
                                        "2026Q2", "--out", str(tmp_path / "out"), "--no-charts"])
    assert reported.exit_code == 0, reported.output
    listed = runner.invoke(cli_main, ["audit", "--db", str(env["db"]), "--action", "import", "--json"])
    events = [json.loads(line) for line in listed.output.splitlines()]
    assert [(e["user"], e["target"], e["via"]) for e in events] == [("canbo.nap", "xa.csv", "cli")]
    reports = runner.invoke(cli_main, ["audit", "--db", str(env["db"]), "--unit", env["codes"][0],
                                       "--action", "report"])
    assert reports.exit_code == 0 and reports.output.count("Tải báo cáo") == 2  # xlsx + docx
    assert "nguyên vẹn" in runner.invoke(cli_main, ["audit", "--db", str(env["db"]), "--verify"]).output
    env["log"].write_text(env["log"].read_text(encoding="utf-8").replace("canbo.nap", "ai-do"), encoding="utf-8")
    tampered = runner.invoke(cli_main, ["audit", "--db", str(env["db"]), "--verify"])
    assert tampered.exit_code == 1 and "bị sửa" in tampered.output


def test_dashboard_import_is_recorded_per_file(env, tmp_path):
    export = tmp_path / "xa.csv"
    export.write_text("Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Trạng thái\n"
                      f"HS-9;{env['codes'][0]};02/03/2026 08:00;Đang giải quyết\n", encoding="utf-8")
    script = (DATA_PAGE.replace("du_lieu.render()\n", "") + "class Upload:\n    name = '[x](http://h) tệp.csv'\n"
              f"    def getvalue(self):\n        return open({str(export)!r}, 'rb').read()\n"
              "du_lieu.run_import([Upload()], '', state.current_user())\n")
    at = AppTest.from_string(script, default_timeout=60)
    at.session_state[auth_ui.SESSION_KEY] = "admin"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    event = audit.read(env["db"], audit.Filter(actions=["import"]))[0]
    assert (event["user"], event["target"], event["via"]) == ("admin", "[x](http://h) tệp.csv", "dashboard")
    assert "Đã nạp" in event["detail"] and event["units"]


def test_failed_sign_in_with_an_unknown_name_does_not_log_the_name(env):
    at = AppTest.from_string("from dashboard.auth_ui import login_gate\nlogin_gate()\n", default_timeout=30)
    at.run()
    _login(at, "MatKhauGoNham-123", "sai-mat-khau-1")  # a password typed into the name field
    event = audit.read(env["db"])[0]
    assert event["action"] == "sign_in_failed" and "matkhaugonham" not in json.dumps(event).lower()

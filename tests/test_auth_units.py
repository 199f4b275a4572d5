"""Unit entries of a user (issue 12 item 1): a commune code is never read as a province code."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.user import user_group
from motcua import auth, units
from motcua import db as dbmod

PASSWORD = "mat-khau-dai-1234"


@pytest.fixture(scope="module")
def catalogue():
    con = dbmod.connect_memory()
    units.seed_units(con)
    yield con
    con.close()


def test_every_commune_code_resolves_to_that_commune_for_an_officer(catalogue):
    codes = [r[0] for r in catalogue.execute("SELECT code FROM units WHERE level = 'commune' AND in_catalogue"
                                             ).fetchall()]
    assert len(codes) == 3321
    wrong = [c for c in codes if auth.resolve_unit_entry(catalogue, c, "officer").code != c]
    assert wrong == []  # was 1,346 codes such as 11140 -> province '11' (Điện Biên)


@pytest.mark.parametrize(("entry", "expected"), [("1", "01"), ("01", "01"), ("11", "11"), ("31", "31"),
                                                 (" 31 ", "31"), ("11140", "11140"), ("11242", "11242")])
def test_code_lengths_one_two_and_five(catalogue, entry, expected):
    assert auth.resolve_unit_entry(catalogue, entry, "officer").code == expected


@pytest.mark.parametrize("entry", ["111", "1114", "011140", "111400", "１１"])
def test_other_code_lengths_never_become_a_province(catalogue, entry):
    try:
        unit = auth.resolve_unit_entry(catalogue, entry, "officer")
    except units.UnitError:
        return
    assert unit.level == "commune"  # never the province whose code is the first two digits


def test_province_code_of():
    assert [auth.province_code_of(t) for t in ("1", "01", "31", "311", "11140", "", "a1")] == \
        ["01", "01", "31", None, None, None, None]


def test_officer_with_commune_codes_is_granted_those_communes_only(catalogue):
    allowed = auth.resolve_allowed_codes(catalogue, "officer", ["11140", "11242"])
    assert {"11140", "11242"} <= set(allowed)
    others = catalogue.execute("SELECT code, in_catalogue, successor_code FROM units WHERE code IN "
                               "(SELECT unnest(?)) AND code NOT IN ('11140', '11242')", [list(allowed)]).fetchall()
    # Only the abolished communes merged into those two (their history), never a province's communes.
    assert all(not in_catalogue and successor in ("11140", "11242") for _code, in_catalogue, successor in others)
    assert len(allowed) < 30


def _cli(args, users_file, stdin=None):
    return CliRunner().invoke(user_group, [*args, "--users", str(users_file), "--db", str(users_file) + ".nodb"],
                              input=stdin)


def test_user_add_and_list_show_the_resolved_commune_names(tmp_path, catalogue):
    users_file = tmp_path / "users.toml"
    added = _cli(["add", "canbo.x", "--role", "officer", "--unit", "11140", "--unit", "11242", "--password-stdin"],
                 users_file, PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert auth.load_users(users_file).get("canbo.x").units == ("11140", "11242")
    listed = _cli(["list"], users_file).output
    names = [units.resolve_unit(catalogue, code).name for code in ("11140", "11242")]
    assert all(name in listed for name in names), listed
    assert "cả tỉnh" not in listed
    rows = json.loads(_cli(["list", "--json"], users_file).output)
    assert [u.split(" (mã")[0] for u in rows[0]["unit_labels"]] == [
        f"{units.resolve_unit(catalogue, c).name}, {units.resolve_unit(catalogue, c).province_name}"
        for c in ("11140", "11242")]


def test_unit_labels_name_provinces_and_unknown_entries(catalogue):
    user = auth.User("o", "officer", ("31", "11140", "Xã Không Có Thật"))
    labels = auth.unit_labels(catalogue, user)
    assert labels[0].endswith("– cả tỉnh") and "Hải Phòng" in labels[0]
    assert "(mã 11140)" in labels[1]
    assert "không tìm thấy" in labels[2]


def test_sidebar_names_the_units_an_officer_was_granted(tmp_path, monkeypatch):
    from datetime import datetime

    import dbfactory
    from streamlit.testing.v1 import AppTest

    from dashboard import auth_ui

    codes = ["11140", "11242"]
    frame = dbfactory.make_dossiers(40, codes, datetime(2026, 1, 2), datetime(2026, 3, 30))
    db_path = dbfactory.build_db(tmp_path / "m.duckdb", frame)
    users = tmp_path / "users.toml"
    auth.save_users(auth.UserDirectory(path=users, users={
        "canbo": auth.User("canbo", "officer", tuple(codes), password_hash=auth.hash_password(PASSWORD))}))
    monkeypatch.setenv("MOTCUA_DB", str(db_path))
    monkeypatch.setenv(auth.USERS_ENV, str(users))
    at = AppTest.from_string("from dashboard import pickers, state\nstate.begin_run()\npickers.render_sidebar()\n",
                             default_timeout=60)
    at.session_state[auth_ui.SESSION_KEY] = "canbo"
    at.run()
    assert not at.exception
    shown = " ".join(c.value for c in at.sidebar.caption)
    con = dbmod.Database(db_path).cursor()
    for code in codes:
        assert units.resolve_unit(con, code).name in shown
    assert "Điện Biên – cả tỉnh" not in shown

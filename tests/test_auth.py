"""Access control: password hashes, login, roles, and scope enforcement in the query layer."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime

import pandas as pd
import pytest
from click.testing import CliRunner

from cli.user import user_group
from motcua import auth, db, units
from motcua.filters import Scope
from motcua.settings import Settings

TU_KY = "11074"  # Xã Tứ Kỳ, TP Hải Phòng (31)
HAI_PHONG = "31"
PASSWORD = "mat-khau-dai-1234"


def _other_commune_in(con, province: str, not_code: str) -> str:
    return con.execute("SELECT min(code) FROM units WHERE province_code = ? AND level = 'commune' AND code <> ?",
                       [province, not_code]).fetchone()[0]


@pytest.fixture(scope="module")
def kpi_db(tmp_path_factory):
    """A published database: catalogue, a legacy unit merged into Tứ Kỳ, dossiers in 4 communes."""
    path = tmp_path_factory.mktemp("authdb") / "kpi.duckdb"
    with db.write_transaction(path) as con:
        units.seed_units(con)
        other_hp = _other_commune_in(con, HAI_PHONG, TU_KY)
        hanoi = _other_commune_in(con, "01", "")
        con.execute("INSERT INTO units VALUES ('L-xa-cu', 'Xã Cũ', 'xã', '31', 'Thành phố Hải Phòng', 'commune', "
                    "false, ?, 'cu')", [TU_KY])
        rows = [(code, f"HS-{code}-{i}") for code, n in ((TU_KY, 3), (other_hp, 5), (hanoi, 7), ("L-xa-cu", 2))
                for i in range(n)]
        frame = pd.DataFrame({
            "source": "local", "dossier_code": [r[1] for r in rows], "receiving_unit_code": [r[0] for r in rows],
            "resolving_unit_code": [r[0] for r in rows], "dvc_level": "unknown", "channel": "direct",
            "received_at": datetime(2025, 8, 1), "state_at": datetime(2025, 8, 1), "import_id": 1,
        })
        con.register("new_rows", frame)
        con.execute("INSERT INTO dossiers BY NAME SELECT * FROM new_rows")
    database = db.Database(path)
    database.other_hp, database.hanoi = other_hp, hanoi
    return database


def _directory(tmp_path, **users) -> auth.UserDirectory:
    directory = auth.UserDirectory(path=tmp_path / "users.toml", users={})
    for name, (role, unit_list) in users.items():
        directory.users[name] = auth.User(name, role, tuple(unit_list), password_hash=auth.hash_password(PASSWORD))
    auth.save_users(directory)
    return auth.load_users(directory.path)


def _visible_units(database: db.Database, scope: Scope) -> set[str]:
    # As the metrics read a scope: default settings (current boundaries: predecessors come with their
    # successor), on the dossiers table.
    where, params = scope.with_settings(Settings()).where(on_facts=False)
    rows = database.query_rows(f"SELECT DISTINCT receiving_unit_code FROM dossiers d WHERE {where}", params)
    return {r[0] for r in rows}


# ------------------------------------------------------------------------------------------ hashing


def test_password_is_stored_only_as_salted_argon2_hash():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and PASSWORD not in first
    assert first != second  # salted
    assert auth.verify_password(first, PASSWORD)
    assert not auth.verify_password(first, PASSWORD + "x")
    assert not auth.verify_password("not-a-hash", PASSWORD)


def test_saved_file_is_private_and_has_no_clear_password(tmp_path):
    directory = _directory(tmp_path, chair=("chair", [TU_KY]))
    text = directory.path.read_text(encoding="utf-8")
    assert PASSWORD not in text and "$argon2id$" in text
    assert stat.S_IMODE(os.stat(directory.path).st_mode) == 0o600


# --------------------------------------------------------------------------------------- login


def test_authenticate_right_wrong_and_unknown(tmp_path):
    directory = _directory(tmp_path, chair=("chair", [TU_KY]))
    throttle = auth.LoginThrottle()
    assert auth.authenticate("chair", PASSWORD, directory, throttle).role == "chair"
    assert auth.authenticate("CHAIR", PASSWORD, directory, throttle) is not None  # names are case-insensitive
    assert auth.authenticate("chair", "wrong-password", directory, throttle) is None
    assert auth.authenticate("nobody", PASSWORD, directory, throttle) is None
    assert auth.authenticate("chair", "", directory, throttle) is None


def test_unknown_user_costs_a_hash_verification_too(tmp_path, monkeypatch):
    """No user enumeration by timing: an unknown name still runs one argon2 verification."""
    directory = _directory(tmp_path, chair=("chair", [TU_KY]))
    calls = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    auth.authenticate("nobody", PASSWORD, directory, throttle=None)
    auth.authenticate("chair", "wrong-password", directory, throttle=None)
    assert len(calls) == 2 and calls[0] == auth._dummy_hash()


def test_throttle_blocks_after_repeated_failures(tmp_path):
    directory = _directory(tmp_path, chair=("chair", [TU_KY]))
    throttle = auth.LoginThrottle(per_account_address=auth.ThrottleRule(2, 60.0, 60.0))
    for _ in range(3):
        assert auth.authenticate("chair", "wrong-password", directory, throttle) is None
    assert auth.authenticate("chair", PASSWORD, directory, throttle) is None  # even the right one, for a while
    assert throttle.blocked("chair") and not throttle.blocked("other")


def test_demo_mode_without_users_file(tmp_path, monkeypatch):
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv(auth.USERS_ENV, str(missing))
    monkeypatch.delenv(auth.REQUIRE_LOGIN_ENV, raising=False)
    assert auth.load_users() is None and auth.is_demo_mode()
    assert auth.authenticate("admin", PASSWORD) is None  # nobody logs in; the app shows the demo banner
    monkeypatch.setenv(auth.REQUIRE_LOGIN_ENV, "1")
    assert not auth.is_demo_mode()
    with pytest.raises(auth.AuthConfigError, match="yêu cầu đăng nhập"):
        auth.load_users()


@pytest.mark.parametrize("content, message", [
    ("[users.a\nrole = 'admin'", "Không đọc được"),
    ("[users.boss]\nrole = 'king'\n", "vai trò 'king'"),
    ("[users.chair]\nrole = 'chair'\n", "ít nhất một đơn vị"),
    ("[users.chair]\nrole = 'chair'\nunits = '11074'\n", "danh sách"),
    ("[users.admin]\nrole = 'admin'\npassword = 'abc'\n", "mật khẩu rõ"),
    ("[users.admin]\nrole = 'admin'\npassword_hash = 'plain'\n", "argon2"),
    ("[users.'Bad Name!']\nrole = 'admin'\n", "tên đăng nhập"),
    ("[users.a1]\nrole = 'admin'\n[oidc.emails]\n'x@y.vn' = 'ghost'\n", "không tồn tại"),
])
def test_broken_users_file_fails_closed(tmp_path, content, message):
    path = tmp_path / "users.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(auth.AuthConfigError, match=message):
        auth.load_users(path)


def test_oidc_email_mapping(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text("[users.chair]\nrole = 'chair'\nunits = ['11074']\nemail = 'Chair@HP.gov.vn'\n"
                    "[users.officer]\nrole = 'officer'\nunits = ['31']\n"
                    "[oidc.emails]\n'canbo@hp.gov.vn' = 'officer'\n", encoding="utf-8")
    directory = auth.load_users(path)
    assert directory.user_for_email("canbo@HP.gov.vn").username == "officer"
    assert directory.user_for_email("chair@hp.gov.vn").username == "chair"
    assert directory.user_for_email("stranger@hp.gov.vn") is None
    assert directory.user_for_email("") is None
    # OIDC-only users have no password: they can never log in with the password form.
    assert auth.authenticate("chair", "", directory, throttle=None) is None


def test_example_users_file_parses():
    directory = auth.load_users("config/users.example.toml")
    assert {u.role for u in directory.users.values()} == set(auth.ROLES)


# ------------------------------------------------------------------------------ scope enforcement


def test_admin_sees_everything(kpi_db):
    admin = auth.User("admin", "admin")
    assert admin.allowed_unit_codes(kpi_db) is None
    assert auth.restrict_scope(Scope(), admin, kpi_db).unit_codes == ()
    assert auth.restrict_scope(Scope(unit_codes=(kpi_db.hanoi,)), admin, kpi_db).unit_codes == (kpi_db.hanoi,)
    assert _visible_units(kpi_db, auth.restrict_scope(Scope(), admin, kpi_db)) == {
        TU_KY, kpi_db.other_hp, kpi_db.hanoi, "L-xa-cu"}


def test_chair_sees_own_commune_and_its_merged_legacy_unit(kpi_db):
    chair = auth.User("chair", "chair", ("Xã Tứ Kỳ, TP Hải Phòng",))
    # Tứ Kỳ's predecessors from the unit history (issue 10) come with it, plus the test's own legacy unit.
    predecessors = {code for (code,) in kpi_db.query_rows("SELECT code FROM units WHERE successor_code = ?", [TU_KY])}
    assert {"L-xa-cu", "L-xa-quang-phuc-tu-ky"} <= predecessors
    assert chair.allowed_unit_codes(kpi_db) == tuple(sorted({TU_KY} | predecessors))
    for requested in ((), (TU_KY,), (kpi_db.hanoi,), (kpi_db.hanoi, kpi_db.other_hp), ("'; DROP TABLE x; --",)):
        scope = auth.restrict_scope(Scope(unit_codes=requested), chair, kpi_db)
        assert set(scope.unit_codes) <= {TU_KY} | predecessors, requested
        assert _visible_units(kpi_db, scope) <= {TU_KY, "L-xa-cu"}, requested


def test_forbidden_request_mixed_with_allowed_keeps_only_allowed(kpi_db):
    """A URL like ?unit=<own>&unit=<neighbour> must drop the neighbour, not widen or fail open."""
    chair = auth.User("chair", "chair", (TU_KY,))
    scope = auth.restrict_scope(Scope(unit_codes=(TU_KY, kpi_db.other_hp), channels=("online",)), chair, kpi_db)
    assert scope.unit_codes == (TU_KY,) and scope.channels == ("online",)
    # Only forbidden units asked: the default view (the commune; its predecessors come with it).
    assert auth.restrict_unit_codes([kpi_db.hanoi], chair, kpi_db) == (TU_KY,)
    assert not auth.can_see_unit(chair, kpi_db, kpi_db.hanoi) and auth.can_see_unit(chair, kpi_db, TU_KY)


def test_officer_with_province_sees_only_that_province(kpi_db):
    officer = auth.User("officer", "officer", (HAI_PHONG,))
    allowed = officer.allowed_unit_codes(kpi_db)
    assert TU_KY in allowed and kpi_db.other_hp in allowed and kpi_db.hanoi not in allowed
    assert len(allowed) > 100  # every commune of Hải Phòng
    for spelling in ("TP Hải Phòng", "Thành phố Hải Phòng", "hai phong"):
        assert auth.User("o2", "officer", (spelling,)).allowed_unit_codes(kpi_db) == allowed
    visible = _visible_units(kpi_db, auth.restrict_scope(Scope(), officer, kpi_db))
    assert visible == {TU_KY, kpi_db.other_hp, "L-xa-cu"}
    scope = auth.restrict_scope(Scope(unit_codes=(kpi_db.hanoi,)), officer, kpi_db)
    assert kpi_db.hanoi not in scope.unit_codes


def test_restricted_scopes_never_share_a_cache_key(kpi_db):
    """Dashboard caches key on the *restricted* scope, so one user's cached result never serves another."""
    chair = auth.User("chair", "chair", (TU_KY,))
    officer = auth.User("officer", "officer", (HAI_PHONG,))
    admin = auth.User("admin", "admin")
    keys = {auth.restrict_scope(Scope(), user, kpi_db).key() for user in (chair, officer, admin)}
    assert len(keys) == 3


def test_invalid_unit_in_config_denies_instead_of_granting(kpi_db):
    for user in (auth.User("c", "chair", ("Xã Không Có Thật",)), auth.User("c", "chair", (HAI_PHONG,)),
                 auth.User("c", "chair", ("Xã Tân Tiến",))):  # unknown, province for a chair, ambiguous
        with pytest.raises(auth.AccessDenied):
            auth.restrict_scope(Scope(), user, kpi_db)


def test_require_admin():
    auth.require_admin(auth.User("a", "admin"), "nạp dữ liệu")
    for user in (None, auth.User("c", "chair", (TU_KY,)), auth.User("o", "officer", (HAI_PHONG,))):
        with pytest.raises(auth.AccessDenied, match="quản trị viên"):
            auth.require_admin(user, "nạp dữ liệu")


# ------------------------------------------------------------------------------------------ CLI


def _cli(args, users_file, stdin=None):
    return CliRunner().invoke(user_group, [*args, "--users", str(users_file), "--db", str(users_file) + ".nodb"],
                              input=stdin)


def test_user_cli_add_list_remove(tmp_path):
    users_file = tmp_path / "conf" / "users.toml"
    result = _cli(["add", "chutich.tuky", "--role", "chair", "--unit", "Xã Tứ Kỳ, TP Hải Phòng",
                   "--display-name", "Chủ tịch Tứ Kỳ", "--password-stdin"], users_file, PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    text = users_file.read_text(encoding="utf-8")
    assert f'"{TU_KY}",  # Xã Tứ Kỳ, Thành phố Hải Phòng' in text and PASSWORD not in text
    assert _cli(["add", "canbo", "--role", "officer", "--unit", "Hải Phòng", "--password-stdin"], users_file,
                PASSWORD + "\n").exit_code == 0
    assert _cli(["add", "admin", "--role", "admin", "--password-stdin"], users_file, PASSWORD + "\n").exit_code == 0

    directory = auth.load_users(users_file)
    assert directory.get("canbo").units == (HAI_PHONG,)
    assert auth.authenticate("chutich.tuky", PASSWORD, directory, throttle=None).units == (TU_KY,)

    listed = json.loads(_cli(["list", "--json"], users_file).output)
    assert [row["username"] for row in listed] == ["admin", "canbo", "chutich.tuky"]
    assert "argon2" not in _cli(["list"], users_file).output

    assert _cli(["remove", "canbo"], users_file).exit_code == 0
    assert auth.load_users(users_file).get("canbo") is None
    assert f'"{TU_KY}",  # Xã Tứ Kỳ' in users_file.read_text(encoding="utf-8")  # comments survive a rewrite


def test_user_cli_refuses_bad_requests(tmp_path):
    users_file = tmp_path / "users.toml"
    ok = _cli(["add", "chair", "--role", "chair", "--unit", TU_KY, "--password-stdin"], users_file, PASSWORD + "\n")
    assert ok.exit_code == 0
    cases = [
        (["add", "chair", "--role", "chair", "--unit", TU_KY, "--password-stdin"], PASSWORD, "đã có"),
        (["add", "x2", "--role", "chair", "--unit", "Xã Không Có Thật", "--password-stdin"], PASSWORD, "Không tìm thấy"),
        (["add", "x3", "--role", "chair", "--unit", HAI_PHONG, "--password-stdin"], PASSWORD, "không gán cả tỉnh"),
        (["add", "x4", "--role", "chair", "--password-stdin"], PASSWORD, "--unit"),
        (["add", "x5", "--role", "chair", "--unit", TU_KY, "--password-stdin"], "short", "ít nhất"),
        (["add", "Bad Name", "--role", "admin", "--password-stdin"], PASSWORD, "Tên đăng nhập"),
        (["remove", "ghost"], None, "Không có người dùng"),
    ]
    for args, password, message in cases:
        result = _cli(args, users_file, None if password is None else password + "\n")
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert sorted(auth.load_users(users_file).users) == ["chair"]


def test_user_cli_prompts_with_confirmation(tmp_path):
    users_file = tmp_path / "users.toml"
    mismatch = _cli(["add", "admin", "--role", "admin"], users_file, f"{PASSWORD}\nkhac-hoan-toan-1\n"
                    f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0, mismatch.output
    assert PASSWORD not in mismatch.output  # hidden input is never echoed
    assert auth.authenticate("admin", PASSWORD, auth.load_users(users_file), throttle=None) is not None


def test_user_cli_passwd(tmp_path):
    users_file = tmp_path / "users.toml"
    _cli(["add", "admin", "--role", "admin", "--password-stdin"], users_file, PASSWORD + "\n")
    assert _cli(["passwd", "admin", "--password-stdin"], users_file, "mat-khau-moi-9999\n").exit_code == 0
    directory = auth.load_users(users_file)
    assert auth.authenticate("admin", PASSWORD, directory, throttle=None) is None
    assert auth.authenticate("admin", "mat-khau-moi-9999", directory, throttle=None) is not None


def test_user_command_is_registered():
    from cli.main import main

    assert "user" in main.commands


def test_chair_downloads_and_report_hold_only_own_data(kpi_db):
    """The same restricted scope drives lists, CSV/XLSX downloads and the report pack's numbers."""
    from dashboard.exports import to_csv_bytes
    from motcua import metrics
    from motcua.periods import custom_period
    from motcua.report import data as report_data

    chair = auth.User("chair", "chair", (TU_KY,))
    period = custom_period(datetime(2025, 7, 1).date(), datetime(2025, 9, 30).date())
    # A URL asking for the neighbours is cut down before any query runs.
    scope = auth.restrict_scope(Scope(unit_codes=(kpi_db.hanoi, kpi_db.other_hp)), chair, kpi_db)
    listing = metrics.dossier_list(kpi_db, scope, period, "received_total")
    codes = set(listing["dossier_code"])
    assert codes == {f"HS-{TU_KY}-{i}" for i in range(3)} | {f"HS-L-xa-cu-{i}" for i in range(2)}
    download = to_csv_bytes(listing).decode("utf-8-sig")
    assert f"HS-{kpi_db.hanoi}-" not in download and f"HS-{kpi_db.other_hp}-" not in download
    assert metrics.kpi_counts(kpi_db, scope, period)["received_total"] == 5
    report = report_data.collect(kpi_db, scope, period)
    assert report.counts["received_total"] == 5
    assert set(report.annex.get("dossier_code", pd.Series(dtype=object))) <= codes

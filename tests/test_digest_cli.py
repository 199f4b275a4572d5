"""`motcua digest`: .eml files with --dry-run, real sending over STARTTLS to a local SMTP server."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime

import pytest
from click.testing import CliRunner
from dbfactory import build_db, commune_codes, make_dossiers
from smtp_server import PASSWORD, smtp_server

from cli.digest import digest_command


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    frame = make_dossiers(600, commune_codes(), datetime(2026, 7, 1), datetime(2026, 11, 20), seed=9)
    return build_db(tmp_path_factory.mktemp("digest-cli") / "motcua.duckdb", frame)


@pytest.fixture
def config_dir(tmp_path):
    codes = commune_codes()
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "users.toml").write_text(f"""
[users.admin]
role = "admin"
email = "admin@tinh.gov.vn"

[users."ct.badinh"]
role = "chair"
email = "ct.badinh@hn.gov.vn"
units = ["{codes[0]}"]

[users."ct.hoankiem"]
role = "chair"
email = "ct.hoankiem@hn.gov.vn"
units = ["{codes[1]}"]

[users."ct.socson"]
role = "chair"
units = ["{codes[2]}"]

[users."canbo.hn"]
role = "officer"
email = "canbo@hn.gov.vn"
units = ["01"]
""", encoding="utf-8")
    return folder


def run(*args, env=None):
    return CliRunner().invoke(digest_command, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.fixture(autouse=True)
def _no_inherited_users(monkeypatch):
    for variable in ("MOTCUA_USERS", "MOTCUA_HOLIDAY_OVERRIDES", "MOTCUA_CONFIG_DIR"):
        monkeypatch.delenv(variable, raising=False)


def test_dry_run_writes_one_eml_per_recipient(db_path, config_dir, tmp_path):
    out = tmp_path / "eml"
    result = run("--db", db_path, "--config-dir", config_dir, "--dry-run", out, "--today", "2026-11-20")
    assert result.exit_code == 0, result.output
    assert "Bỏ qua ct.socson: chưa có email" in result.output
    files = sorted(out.glob("*.eml"))
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
    assert sorted(m["To"].addresses[0].addr_spec for m in parsed) == [
        "canbo@hn.gov.vn", "ct.badinh@hn.gov.vn", "ct.hoankiem@hn.gov.vn"]
    chair = next(m for m in parsed if "badinh" in m["To"])
    assert chair["Subject"].startswith("[Một Cửa KPI] Phường Ba Đình – Quý 4/2026: ")
    assert "Phường Hoàn Kiếm" not in chair.get_body(("html",)).get_content()


def test_send_over_starttls_to_a_local_smtp_server(db_path, config_dir, tmp_path, monkeypatch):
    with smtp_server(tmp_path) as box:
        (config_dir / "motcua.toml").write_text(box.config_toml() + "\n[digest]\nperiod = \"month\"\n",
                                                encoding="utf-8")
        monkeypatch.setenv("MOTCUA_TEST_SMTP_PASSWORD", PASSWORD)
        result = run("--db", db_path, "--config-dir", config_dir, "--send", "--today", "2026-11-20")
        assert result.exit_code == 0, result.output
        assert "Đã gửi 3 thư." in result.output
        received = {tuple(rcpt): message for rcpt, message in box.messages}
    assert set(received) == {("canbo@hn.gov.vn",), ("ct.badinh@hn.gov.vn",), ("ct.hoankiem@hn.gov.vn",)}
    officer = received[("canbo@hn.gov.vn",)]
    assert "Tháng 11/2026" in officer["Subject"]
    attachment = next(officer.iter_attachments())
    assert attachment.get_filename().endswith("-20261120.xlsx") and attachment.get_content()[:2] == b"PK"


def test_wrong_password_is_a_clear_error(db_path, config_dir, tmp_path, monkeypatch):
    with smtp_server(tmp_path) as box:
        (config_dir / "motcua.toml").write_text(box.config_toml(), encoding="utf-8")
        monkeypatch.setenv("MOTCUA_TEST_SMTP_PASSWORD", "sai")
        result = CliRunner().invoke(digest_command, ["--db", str(db_path), "--config-dir", str(config_dir),
                                                     "--send", "--today", "2026-11-20"])
        assert box.messages == []
    assert result.exit_code == 1
    assert "từ chối đăng nhập" in result.output and "MOTCUA_TEST_SMTP_PASSWORD" in result.output


def test_send_without_smtp_settings_and_both_modes_are_refused(db_path, config_dir, tmp_path):
    missing = CliRunner().invoke(digest_command, ["--db", str(db_path), "--config-dir", str(config_dir), "--send"])
    assert missing.exit_code == 2 and "Lỗi: Chưa cấu hình máy chủ thư" in missing.output
    both = CliRunner().invoke(digest_command, ["--send", "--dry-run", str(tmp_path)])
    assert both.exit_code == 2

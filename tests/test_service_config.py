"""motcua.toml (SMTP, digest, backup) and users' e-mail addresses: clear Vietnamese errors, safe defaults."""

from __future__ import annotations

import pytest

from motcua import auth
from motcua.service_config import ServiceConfigError, apply_config_dir, load_service_config


def test_missing_file_gives_defaults_with_starttls_on(tmp_path):
    config = load_service_config(tmp_path)
    assert config.smtp.starttls and config.smtp.host == "" and config.backup_keep == 14
    assert config.digest.period == "quarter"


def test_values_are_read_and_password_comes_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "motcua.toml").write_text('[smtp]\nhost = "mail.x.vn"\nport = 25\npassword_env = "PW_X"\n'
                                          '[digest]\nperiod = "month"\n[backup]\nkeep = 3\n', encoding="utf-8")
    monkeypatch.setenv("PW_X", "bí mật")
    config = load_service_config(tmp_path)
    assert (config.smtp.host, config.smtp.port, config.smtp.password) == ("mail.x.vn", 25, "bí mật")
    assert config.digest.period == "month" and config.backup_keep == 3


@pytest.mark.parametrize("text, message", [
    ('[smtp]\nport = "587"\n', "khóa 'port' phải là số nguyên"),
    ('[smtp]\npassword = "lộ"\n', "khóa không được hỗ trợ: password"),
    ('[digest]\nperiod = "week"\n', "'period' chỉ nhận month, quarter"),
    ('[backup]\nkeep = 0\n', "keep ≥ 1"),
    ("[smtp\n", "không đọc được"),
])
def test_bad_values_name_file_and_key(tmp_path, text, message):
    (tmp_path / "motcua.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ServiceConfigError, match=message) as error:
        load_service_config(tmp_path)
    assert str(tmp_path / "motcua.toml") in str(error.value)


def test_config_dir_points_users_and_holidays_at_its_files(tmp_path, monkeypatch):
    for variable in ("MOTCUA_USERS", "MOTCUA_HOLIDAY_OVERRIDES", "MOTCUA_CONFIG_DIR", "MOTCUA_TARGETS"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "users.toml").write_text("", encoding="utf-8")
    (tmp_path / "targets.toml").write_text("", encoding="utf-8")
    apply_config_dir(tmp_path)
    import os

    assert os.environ["MOTCUA_USERS"] == str(tmp_path / "users.toml")
    assert os.environ["MOTCUA_TARGETS"] == str(tmp_path / "targets.toml")
    assert "MOTCUA_HOLIDAY_OVERRIDES" not in os.environ  # absent file: the default one stays in use


@pytest.mark.parametrize("address", ["khong-phai-email", "a@b.vn\\nBcc: x@y.vn", "a b@c.vn", "<a@b.vn>"])
def test_invalid_user_email_is_refused(tmp_path, address):
    path = tmp_path / "users.toml"
    path.write_text(f'[users."ct.a"]\nrole = "chair"\nemail = "{address}"\nunits = ["01"]\n', encoding="utf-8")
    with pytest.raises(auth.AuthConfigError, match="'email' không phải địa chỉ thư hợp lệ"):
        auth.load_users(path)

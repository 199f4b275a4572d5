"""The Streamlit login gate (AppTest): demo banner, password login, wrong password, logout, fail closed."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from motcua import auth

pytestmark = pytest.mark.apptest

PASSWORD = "mat-khau-dai-1234"
SCRIPT = """
import streamlit as st
from dashboard.auth_ui import login_gate

user = login_gate()
if user is None:
    st.stop()
st.markdown(f"USER={user.username};ROLE={user.role};DEMO={user.demo}")
"""


def _app() -> AppTest:
    return AppTest.from_string(SCRIPT, default_timeout=30)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.fixture
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    directory = auth.UserDirectory(path=path, users={
        "chair": auth.User("chair", "chair", ("11074",), password_hash=auth.hash_password(PASSWORD)),
    })
    auth.save_users(directory)
    monkeypatch.setenv(auth.USERS_ENV, str(path))
    monkeypatch.delenv(auth.REQUIRE_LOGIN_ENV, raising=False)
    auth.THROTTLE._failures.clear()
    return path


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="motcua_login_user").input(username)
    at.text_input(key="motcua_login_password").input(password)
    at.button[0].click()
    return _run(at)


def test_demo_mode_says_so_in_the_sidebar(tmp_path, monkeypatch):
    monkeypatch.setenv(auth.USERS_ENV, str(tmp_path / "absent.toml"))
    monkeypatch.delenv(auth.REQUIRE_LOGIN_ENV, raising=False)
    at = _run(_app())
    assert any("Chế độ demo (không đăng nhập)" in w.value for w in at.sidebar.warning)
    assert "USER=demo;ROLE=admin;DEMO=True" in _shown(at)


def test_login_required_shows_form_and_nothing_else(users_file):
    at = _run(_app())
    assert "USER=" not in _shown(at)
    assert [t.label for t in at.text_input] == ["Tên đăng nhập", "Mật khẩu"]


def test_wrong_password_and_unknown_user_get_the_same_message(users_file):
    at = _login(_run(_app()), "chair", "sai-mat-khau-123")
    wrong_password = [e.value for e in at.error]
    at = _login(at, "nobody", "sai-mat-khau-123")
    unknown_user = [e.value for e in at.error]
    assert wrong_password == unknown_user == ["Tên đăng nhập hoặc mật khẩu không đúng."]
    assert "USER=" not in _shown(at)


def test_login_then_logout(users_file):
    at = _login(_run(_app()), "chair", PASSWORD)
    assert "USER=chair;ROLE=chair;DEMO=False" in _shown(at)
    assert "motcua_login_password" not in at.session_state or not at.session_state["motcua_login_password"]
    at.sidebar.button(key="motcua_logout").click()
    at = _run(at)
    assert "USER=" not in _shown(at)


def test_removed_user_is_logged_out_on_next_rerun(users_file):
    at = _login(_run(_app()), "chair", PASSWORD)
    assert "USER=chair" in _shown(at)
    directory = auth.load_users(users_file)
    directory.users.clear()
    directory.users["admin"] = auth.User("admin", "admin", password_hash=auth.hash_password(PASSWORD))
    auth.save_users(directory)
    at = _run(at)
    assert "USER=" not in _shown(at)


def test_broken_users_file_locks_the_app(users_file):
    users_file.write_text("[users.chair\nrole = 'chair'", encoding="utf-8")
    at = _run(_app())
    assert "USER=" not in _shown(at)
    assert any("Cấu hình người dùng lỗi" in e.value for e in at.error)

"""Streamlit login gate. The rules (roles, scopes, hashes) live in ``motcua.auth``; this only draws.

Usage at the top of every page (before any query)::

    user = login_gate()
    if user is None:
        st.stop()

Only the user *name* is kept in ``st.session_state``; the ``User`` is looked up again in the users file on
every rerun, so removing a user or changing their units takes effect on their next click.
"""

from __future__ import annotations

import streamlit as st

from motcua import auth

SESSION_KEY = "motcua_auth_username"
DEMO_BANNER = "Chế độ demo (không đăng nhập)"
_GENERIC_FAILURE = "Tên đăng nhập hoặc mật khẩu không đúng."


def _oidc_configured() -> bool:
    """True when Streamlit secrets have an ``[auth]`` section (then ``st.login`` is offered)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all raises, which simply means "not configured"
        return False


def _oidc_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except (AttributeError, KeyError):
        return False


def _session_user(directory: auth.UserDirectory) -> auth.User | None:
    username = st.session_state.get(SESSION_KEY)
    if username:
        user = directory.get(username)
        if user is not None:
            return user
        st.session_state.pop(SESSION_KEY, None)  # user removed from the file since login
    if _oidc_configured() and _oidc_logged_in():
        return directory.user_for_email(str(st.user.get("email") or ""))
    return None


def _logout() -> None:
    st.session_state.pop(SESSION_KEY, None)
    if _oidc_configured() and _oidc_logged_in():
        st.logout()


def _sidebar_account(user: auth.User) -> None:
    with st.sidebar:
        if user.demo:
            st.warning(f"**{DEMO_BANNER}**: mọi người dùng đều là quản trị viên. Tạo tệp người dùng bằng lệnh "
                       "`motcua user add TÊN --role admin` để bật đăng nhập.", icon="⚠️")
            return
        st.caption(f"Đăng nhập: **{user.label}**")
        st.button("Đăng xuất", key="motcua_logout", on_click=_logout)


def _password_form(directory: auth.UserDirectory) -> None:
    # clear_on_submit: the password does not stay in session_state after the attempt.
    with st.form("motcua_login", clear_on_submit=True):
        username = st.text_input("Tên đăng nhập", autocomplete="username", key="motcua_login_user")
        password = st.text_input("Mật khẩu", type="password", autocomplete="current-password",
                                 key="motcua_login_password")
        submitted = st.form_submit_button("Đăng nhập", type="primary")
    if not submitted:
        return
    if auth.THROTTLE.blocked(username):
        st.error("Đăng nhập sai quá nhiều lần. Hãy thử lại sau 5 phút.")
        return
    user = auth.authenticate(username, password, directory)
    if user is None:
        st.error(_GENERIC_FAILURE)
        return
    st.session_state[SESSION_KEY] = user.username
    st.rerun()


def _oidc_section(directory: auth.UserDirectory) -> None:
    if _oidc_logged_in():
        email = str(st.user.get("email") or "")
        st.error(f"Tài khoản '{email}' chưa được cấp quyền trong Một Cửa KPI. Hãy liên hệ quản trị viên.")
        st.button("Đăng xuất", key="motcua_oidc_logout", on_click=st.logout)
        return
    st.button("Đăng nhập bằng tài khoản công vụ (OIDC)", key="motcua_oidc_login", on_click=st.login)


def login_gate() -> auth.User | None:
    """The signed-in user (``auth.DEMO_USER`` in demo mode), or None after drawing the login page.

    A users file that cannot be read shows the error and returns None: never fall back to demo mode.
    """
    try:
        directory = auth.load_users()
    except auth.AuthConfigError as exc:
        st.error(f"Cấu hình người dùng lỗi, ứng dụng tạm khoá: {exc}")
        return None
    if directory is None:
        _sidebar_account(auth.DEMO_USER)
        return auth.DEMO_USER
    user = _session_user(directory)
    if user is not None:
        _sidebar_account(user)
        return user
    st.title("Đăng nhập Một Cửa KPI")
    if _oidc_configured():
        _oidc_section(directory)
        st.divider()
    if any(u.password_hash for u in directory.users.values()):
        _password_form(directory)
    elif not _oidc_configured():
        st.error(f"Tệp người dùng {directory.path} chưa có tài khoản nào đăng nhập được. Quản trị viên hãy chạy "
                 "`motcua user add TÊN --role admin`.")
    return None


def require_admin_page(user: auth.User) -> bool:
    """For admin-only pages (imports, deletes): draw a refusal and return False for other roles."""
    if user.is_admin:
        return True
    st.error("Trang này chỉ dành cho quản trị viên.")
    return False

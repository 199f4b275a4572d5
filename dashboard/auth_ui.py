"""Streamlit login gate. The rules (roles, scopes, hashes) live in ``motcua.auth``; this only draws.

Usage at the top of every page (before any query)::

    user = login_gate()
    if user is None:
        st.stop()

Only the user *name* is kept in ``st.session_state``; the ``User`` is looked up again in the users file on
every rerun, so removing a user or changing their units takes effect on their next click.
"""

from __future__ import annotations

import math

import streamlit as st

from motcua import audit, auth, fmt

SESSION_KEY = "motcua_auth_username"
_OIDC_AUDITED = "motcua_oidc_audited"
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
        user = directory.user_for_email(str(st.user.get("email") or ""))
        if user is not None and not st.session_state.get(_OIDC_AUDITED):
            st.session_state[_OIDC_AUDITED] = True  # once per browser session, not on every rerun
            _audit_sign_in(user, user.username, client_address(), via="OIDC")
        return user
    return None


def _logout() -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(_OIDC_AUDITED, None)
    if _oidc_configured() and _oidc_logged_in():
        st.logout()


def _sidebar_account(user: auth.User) -> None:
    with st.sidebar:
        if user.demo:
            st.warning(f"**{DEMO_BANNER}**: mọi người dùng đều là quản trị viên. Tạo tệp người dùng bằng lệnh "
                       "`motcua user add TÊN --role admin` để bật đăng nhập.", icon="⚠️")
            return
        st.caption(f"Đăng nhập: **{fmt.md(user.label)}**")
        st.button("Đăng xuất", key="motcua_logout", on_click=_logout)


def _audit_sign_in(user: auth.User | None, attempted: str, address: str, via: str = "mật khẩu",
                   directory: auth.UserDirectory | None = None) -> None:
    """Every checked sign-in goes to the audit log (attempts refused during a throttle wait do not).
    A failed attempt names the account only when it exists: an unknown "name" may be a password typed
    into the wrong field."""
    if user is None:
        known = directory is not None and directory.get(attempted) is not None
        event = audit.Event("sign_in_failed", auth.normalize_username(attempted) if known else "(tên không tồn tại)",
                            address=address, detail=f"Đăng nhập bằng {via} không thành công")
    else:
        event = audit.Event("sign_in", user.username, role=user.role, units=list(user.units), address=address,
                            detail=f"Đăng nhập bằng {via}")
    audit.record_quietly(event)


def client_address() -> str:
    """The browser's address as the server sees it (a reverse proxy's address when behind one: set the
    proxy to one address per client or accept that all its users share one address counter)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (bare scripts)
        return "?"
    return address if isinstance(address, str) and address else "?"  # tests get a mock object


def _password_form(directory: auth.UserDirectory) -> None:
    # clear_on_submit: the password does not stay in session_state after the attempt.
    with st.form("motcua_login", clear_on_submit=True):
        username = st.text_input("Tên đăng nhập", autocomplete="username", key="motcua_login_user")
        password = st.text_input("Mật khẩu", type="password", autocomplete="current-password",
                                 key="motcua_login_password")
        submitted = st.form_submit_button("Đăng nhập", type="primary")
    if not submitted:
        return
    address = client_address()
    wait = auth.THROTTLE.retry_after(username, address)
    if wait > 0:
        st.error(f"Đăng nhập sai nhiều lần. Hãy thử lại sau {math.ceil(wait)} giây.")
        return
    try:
        user = auth.authenticate(username, password, directory, address=address)
    except auth.LoginBusy as exc:
        st.warning(str(exc))
        return
    _audit_sign_in(user, username, address, directory=directory)
    if user is None:
        st.error(_GENERIC_FAILURE)
        return
    st.session_state[SESSION_KEY] = user.username
    st.rerun()


def _oidc_section(directory: auth.UserDirectory) -> None:
    if _oidc_logged_in():
        email = str(st.user.get("email") or "")
        st.error(f"Tài khoản '{fmt.md(email)}' chưa được cấp quyền trong Một Cửa KPI. Hãy liên hệ quản trị viên.")
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
        st.error(f"Cấu hình người dùng lỗi, ứng dụng tạm khoá: {fmt.md(exc)}")
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
        st.error(f"Tệp người dùng {fmt.md(directory.path)} chưa có tài khoản nào đăng nhập được. Quản trị viên hãy chạy "
                 "`motcua user add TÊN --role admin`.")
    return None


def require_admin_page(user: auth.User) -> bool:
    """For admin-only pages (imports, deletes): draw a refusal and return False for other roles."""
    if user.is_admin:
        return True
    st.error("Trang này chỉ dành cho quản trị viên.")
    return False

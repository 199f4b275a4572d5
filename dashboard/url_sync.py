"""The view <-> the browser's URL: a shared link seeds the widget state on a session's first run, and
every run mirrors the view back into the URL (``write_url``); pages seed and share their own parameters
(``url_choice``, ``url_value``, ``share``). The codec is ``dashboard.url_state`` (pure); the view itself
is read through ``dashboard.state``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state, url_state
from motcua.units import UnitError, resolve_unit


def load_url_once() -> None:
    """Seed the widget state from the URL on the first run of a session (a shared link)."""
    if st.session_state.get("_url_loaded"):
        return
    st.session_state["_url_loaded"] = True
    view, warnings = url_state.decode({key: st.query_params.get_all(key) for key in st.query_params})
    for message in warnings:
        url_warning(message)
    st.session_state[_URL_PAGE] = dict(view.page)
    if view.calendar:
        st.session_state[state.K_CALENDAR] = view.calendar
    for name, value in view.settings.items():
        st.session_state[state.SETTING_KEYS[name]] = list(value) if isinstance(value, tuple) else value
    if view.units:
        st.session_state[state.K_UNITS] = _allowed_url_units(_resolve_url_units(view.units))
    period = view.period
    if period is not None and period.kind == "custom":
        st.session_state[state.K_KIND] = "custom"
        st.session_state[state.K_CUSTOM] = (period.start, period.end)
    elif period is not None:
        st.session_state[state.K_KIND] = period.kind
        st.session_state[state.K_PERIOD] = period.code


_URL_PAGE = "_url_page_params"


def url_choice(param: str, widget_key: str, options, default) -> None:
    """Give a page widget its value before it is drawn: the session's, else its URL parameter (a shared
    link; a value the page does not offer is reported and ignored), else ``default``; written on every run
    (``state.keep_value``), through the state so the widget never changes identity."""
    value = st.session_state.get(_URL_PAGE, {}).pop(param, None)
    if value is not None and widget_key not in st.session_state:
        if value in list(options):
            st.session_state[widget_key] = value
        else:  # shown at once: the sidebar has already shown the link's other warnings
            st.warning(f"Giá trị '{value}' của tham số '{param}' trong đường dẫn không có trên trang này; "
                       "đang dùng mặc định.")
    state.keep_value(widget_key, default)


def url_value(param: str) -> str | None:
    """A page parameter of the shared link, once (the page checks it)."""
    return st.session_state.get(_URL_PAGE, {}).pop(param, None)


def url_has(param: str) -> bool:
    """Whether the shared link carries this page parameter (still to be read by ``url_value``)."""
    return st.session_state.get(_URL_PAGE, {}).get(param) is not None


def share(param: str, value: str | None) -> None:
    """Put a page-level choice into the URL so a copied link reopens it (None removes it)."""
    current = st.query_params.get(param)
    if value is None:
        if current is not None:
            del st.query_params[param]
    elif current != value:
        st.query_params[param] = value


def url_warning(message: str) -> None:
    st.session_state.setdefault("_url_warnings", []).append(message)


def pop_url_warnings() -> list[str]:
    return st.session_state.pop("_url_warnings", [])


def _resolve_url_units(values: list[str]) -> list[str]:
    """Unit codes for URL values that may be codes or names ('Xã Tứ Kỳ', 'tu ky')."""
    codes, problems = [], []
    cur = state.get_db().cursor()
    try:
        for value in values:
            try:
                codes.append(resolve_unit(cur, value).code)
            except UnitError as exc:
                problems.append(str(exc))
    finally:
        cur.close()
    for problem in problems:
        url_warning(problem)
    return list(dict.fromkeys(codes))


def _allowed_url_units(codes: list[str]) -> list[str]:
    """Drop (and report) the units of a shared link that this user may not see."""
    allowed = state.allowed_unit_codes()
    if allowed is None:
        return codes
    forbidden = [c for c in codes if c not in allowed]
    if forbidden:
        url_warning(f"Tài khoản không được xem đơn vị {', '.join(forbidden)} trong đường dẫn; "
                    "đang hiển thị các đơn vị được phân quyền.")
    return [c for c in codes if c in allowed]


def write_url() -> None:
    """Mirror the current view into the URL (rewritten on every page: page switches clear it)."""
    units = list(st.session_state.get(state.K_UNITS) or [])
    wanted = url_state.encode(units, state.current_period(), state.current_settings())
    current = {key: (st.query_params.get_all(key) if key == "unit" else st.query_params.get(key))
               for key in st.query_params}
    # The page's own parameters (metric, tab, drill-down, sort) are kept; the page rewrites them itself.
    wanted.update({key: value for key, value in current.items() if key in url_state.PAGE_PARAMS})
    if current != wanted:  # avoid needless browser history entries
        st.query_params.from_dict(wanted)

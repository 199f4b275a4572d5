"""Shared dashboard state: database handle, sign-in, and the current view (scope, period, settings).

Every page (including the report page) reads the view through ``current_scope()``, ``current_period()``
and ``current_settings()``. ``current_scope()`` ends with ``motcua.auth.restrict_scope`` for the signed-in
user (``current_user()``), AFTER the URL parameters were applied: a forbidden ``?unit=`` never reaches a
query, and ``restrict()`` lets the data layer re-check any scope a page builds itself. The widgets that set
the view are in ``dashboard.pickers``; the URL codec is ``dashboard.url_state`` (pure) and is applied here.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from datetime import date
from pathlib import Path

import streamlit as st

from dashboard import url_state
from dashboard.auth_ui import SESSION_KEY, login_gate
from motcua import auth, fmt, metrics, periods, vntime
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.settings import SETTINGS
from motcua.units import UnitError, resolve_unit

# `motcua serve --config-dir` exports MOTCUA_TARGETS (motcua.service_config.apply_config_dir).
TARGETS_PATH = Path(os.environ.get("MOTCUA_TARGETS") or Path(__file__).resolve().parent.parent / "config" / "targets.toml")

PERIOD_KINDS = {**periods.KIND_LABELS, "custom": "Tùy chọn (từ ngày – đến ngày)"}
_USER_KEY = "_current_user"  # the User of THIS run (set by sign_in, cleared by begin_run)
_SIDEBAR_FLAG = "_sidebar_rendered"

# Widget keys (session state). Settings: one key per ``SettingSpec``, ``s_<name>``.
K_UNITS, K_KIND, K_PERIOD, K_CUSTOM = "f_units", "f_kind", "f_period", "f_custom"
K_CALENDAR = "f_calendar"
SETTING_KEYS = {spec.name: (K_CALENDAR if spec.name == "calendar" else f"s_{spec.name}") for spec in SETTINGS}


@st.cache_resource(show_spinner=False)
def _database(path: str) -> dbmod.Database:
    return dbmod.Database(path)


@st.cache_resource(show_spinner=False)
def _lake(path: str):
    from motcua.lake import LakeDatabase

    return LakeDatabase(path)


def get_db() -> dbmod.Database:
    """One ``Database`` per process and file path; it reconnects by itself when a new version is published.

    With ``MOTCUA_LAKE=DIR`` the same pages read a Parquet lake (``motcua lake export``) through DuckDB.
    """
    lake = os.environ.get("MOTCUA_LAKE")
    if lake:
        return _lake(str(Path(lake).resolve()))
    return _database(str(dbmod.resolve_path().resolve()))


def sign_in() -> auth.User | None:
    """Run the login gate once per run; the user is kept in session state for ``current_user()``.

    None when the login page (or a locked-app message) was drawn instead: the caller stops the script.
    A user whose configured units cannot be resolved is refused here, before any page queries.
    """
    user = st.session_state.get(_USER_KEY)
    if user is not None:
        return user
    user = login_gate()
    if user is None:
        return None
    try:
        user.allowed_unit_codes(get_db())
        _sidebar_units(user)
    except auth.AccessDenied as exc:
        st.error(fmt.md(exc))
        return None
    except dbmod.DatabaseUnavailable:
        pass  # every page shows the database message itself; no query can run anyway
    st.session_state[_USER_KEY] = user
    return user


def _sidebar_units(user: auth.User) -> None:
    """The granted units in words under the account box, so a wrong grant is visible at once."""
    if user.is_admin:
        return
    with get_db().cursor() as cur:
        labels = auth.unit_labels(cur, user)
    st.sidebar.caption("Đơn vị được xem: " + "; ".join(fmt.md(label) for label in labels))


def sidebar_slot():
    """A sidebar container for the pickers, made before the login gate draws its account box so the
    pickers come first (demo or password session). None when nobody is signed in yet: the login page
    then has no sidebar at all, and ``render_sidebar`` falls back to appending to the sidebar."""
    if auth.is_demo_mode() or st.session_state.get(SESSION_KEY):
        return st.sidebar.container()
    return None


def current_user() -> auth.User:
    """The signed-in user of this run. Pages run without the entry script (tests) sign in here;
    nothing below this call ever runs for a visitor who is not signed in."""
    user = sign_in()
    if user is None:
        st.stop()
    return user


def allowed_unit_codes() -> tuple[str, ...] | None:
    """Units the signed-in user may see; ``None`` = all (admins, local demo mode)."""
    return current_user().allowed_unit_codes(get_db())


def officer_names_visible() -> bool:
    """Whether this user may see officials' names (site setting + role; see ``auth.may_see_officer_names``)."""
    return auth.may_see_officer_names(current_user())


def is_admin() -> bool:
    """Whether the user may import data and see the import history (always in demo mode)."""
    return current_user().is_admin


def restrict(scope: Scope) -> Scope:
    """``scope`` cut down to the units the signed-in user may see (idempotent; the data layer calls it
    again on every scope it receives, so a page that builds its own ``Scope`` cannot widen the view)."""
    return auth.restrict_scope(scope, current_user(), get_db())


# ---------------------------------------------------------------- targets

@st.cache_data(show_spinner=False)
def _read_targets(path: str, mtime: float) -> dict:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def targets() -> dict[str, float]:
    """Rate key -> target fraction, from ``config/targets.toml``."""
    if not TARGETS_PATH.exists():
        return {}
    config = _read_targets(str(TARGETS_PATH), TARGETS_PATH.stat().st_mtime)
    return {k: float(v) for k, v in config.get("targets", {}).items()}


def amber_margin() -> float:
    if not TARGETS_PATH.exists():
        return 0.05
    config = _read_targets(str(TARGETS_PATH), TARGETS_PATH.stat().st_mtime)
    return float(config.get("bands", {}).get("amber_margin", 0.05))


# ---------------------------------------------------------------- current view

def current_settings() -> metrics.Settings:
    """The settings chosen in the sidebar (or a link); defaults for whatever was never set."""
    values = {name: st.session_state[key] for name, key in SETTING_KEYS.items() if key in st.session_state}
    try:
        return metrics.Settings(**values)
    except ValueError:  # a stale or hand-edited session value: fall back to the defaults, never crash
        return metrics.Settings()


def current_scope() -> Scope:
    """Selected units (URL or picker) restricted to the allowed ones; empty selection = every allowed unit."""
    return restrict(Scope(unit_codes=tuple(st.session_state.get(K_UNITS) or ())))


def current_period() -> periods.Period:
    calendar = current_settings().calendar
    kind = st.session_state.get(K_KIND, "quarter")
    if kind == "custom":
        start, end = _custom_range()
        return periods.custom_period(start, end, calendar)  # its trend months follow the chosen calendar
    code = st.session_state.get(K_PERIOD)
    if code:
        try:
            return periods.parse_period(code, calendar)
        except ValueError:
            pass
    return default_period(default_periods(kind, calendar))


def scope_caption(scope: Scope | None = None) -> str:
    scope = scope or current_scope()
    from dashboard import data  # local: data imports state for get_db

    return scope.caption(data.unit_names(tuple(scope.unit_codes)))


def view_caption(extra: str = "") -> str:
    """'Xã Tứ Kỳ · Quý 3/2026 (15/06/2026–14/09/2026)' plus an optional suffix: every chart caption."""
    parts = [scope_caption(), current_period().caption]
    if extra:
        parts.append(extra)
    return " · ".join(parts)


# ---------------------------------------------------------------- period choices

def _custom_range() -> tuple[date, date]:
    value = st.session_state.get(K_CUSTOM)
    if isinstance(value, list | tuple) and len(value) == 2 and all(value):
        return value[0], value[1]
    first, last = data_range()
    return first, last


def data_range() -> tuple[date, date]:
    """First and last receipt day of the SELECTED units (every allowed unit when none is selected): a
    period without any of their dossiers is never offered."""
    from dashboard import data

    today = vntime.today()
    try:
        first, last = data.data_range(current_scope())
    except dbmod.DatabaseUnavailable:
        return today, today
    return first or today, min(last or today, today)


def default_periods(kind: str, calendar: str) -> list[periods.Period]:
    """Periods with data, newest first, never starting after today (Vietnam time)."""
    first, last = data_range()
    return periods_with_data(first, last, kind, calendar)


def periods_with_data(first: date, last: date, kind: str, calendar: str) -> list[periods.Period]:
    found = periods.periods_between(first, last, kind, calendar) if kind != "custom" else []
    if not found:
        found = periods.periods_between(last, last, kind, calendar)
    return [p for p in found if p.start <= vntime.today()] or found


def default_period(choices: list[periods.Period]) -> periods.Period:
    """The newest period the data covers to its end; the newest one only when none is complete (a
    report-calendar Q4 that began on 15/09 is not the default while the data ends on 30/09)."""
    _first, last = data_range()
    return newest_complete(choices, last)


def newest_complete(choices: list[periods.Period], last: date) -> periods.Period:
    complete = [p for p in choices if p.end <= last]
    return complete[0] if complete else choices[0]


def begin_run() -> None:
    """Called by the entry script at the start of every run (lets pages call render_sidebar too)."""
    st.session_state[_SIDEBAR_FLAG] = False
    st.session_state.pop(_USER_KEY, None)  # looked up again every run: removed users lose access at once


def sidebar_drawn() -> bool:
    """Whether the sidebar was drawn in this run already (the entry script draws it; pages call too)."""
    return bool(st.session_state.get(_SIDEBAR_FLAG))


def mark_sidebar_drawn() -> None:
    st.session_state[_SIDEBAR_FLAG] = True


_REQUESTED_UNITS = "_requested_units"


def request_units(codes: list[str]) -> None:
    """Select these units on the next run (a widget's value cannot change after it was drawn)."""
    st.session_state[_REQUESTED_UNITS] = list(codes)


def take_requested_units() -> list[str] | None:
    return st.session_state.pop(_REQUESTED_UNITS, None)


def keep_value(widget_key: str, default: object = None) -> None:
    """Write a keyed widget's value (``default`` when the session has none) into session state just before
    the widget is drawn, on EVERY run, so every run sends the browser the value.

    Why every run: a value set through session state (a default, a shared link) reaches the browser only
    with the run that set it. When a click cuts that run short before the widget was sent, the next run no
    longer counts the value as new: the browser draws the widget at its own first option ("Tháng" for a
    quarter) and sends that back with the next click. A value written every run is always sent."""
    st.session_state[widget_key] = st.session_state.get(widget_key, default)


def settings_key(settings: metrics.Settings) -> tuple:
    return dataclasses.astuple(settings)


# ---------------------------------------------------------------- URL <-> state

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
        st.session_state[K_CALENDAR] = view.calendar
    for name, value in view.settings.items():
        st.session_state[SETTING_KEYS[name]] = list(value) if isinstance(value, tuple) else value
    if view.units:
        st.session_state[K_UNITS] = _allowed_url_units(_resolve_url_units(view.units))
    period = view.period
    if period is not None and period.kind == "custom":
        st.session_state[K_KIND] = "custom"
        st.session_state[K_CUSTOM] = (period.start, period.end)
    elif period is not None:
        st.session_state[K_KIND] = period.kind
        st.session_state[K_PERIOD] = period.code


_URL_PAGE = "_url_page_params"


def url_choice(param: str, widget_key: str, options) -> None:
    """Seed a page widget from its URL parameter (a shared link) before the widget is drawn; a value the
    page does not offer is reported and ignored."""
    value = st.session_state.get(_URL_PAGE, {}).pop(param, None)
    if value is None or widget_key in st.session_state:
        return
    if value in list(options):
        st.session_state[widget_key] = value
    else:  # shown at once: the sidebar has already shown the link's other warnings
        st.warning(f"Giá trị '{value}' của tham số '{param}' trong đường dẫn không có trên trang này; "
                   "đang dùng mặc định.")


def url_value(param: str) -> str | None:
    """A page parameter of the shared link, once (the page checks it)."""
    return st.session_state.get(_URL_PAGE, {}).pop(param, None)


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
    cur = get_db().cursor()
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
    allowed = allowed_unit_codes()
    if allowed is None:
        return codes
    forbidden = [c for c in codes if c not in allowed]
    if forbidden:
        url_warning(f"Tài khoản không được xem đơn vị {', '.join(forbidden)} trong đường dẫn; "
                    "đang hiển thị các đơn vị được phân quyền.")
    return [c for c in codes if c in allowed]


def write_url() -> None:
    """Mirror the current view into the URL (rewritten on every page: page switches clear it)."""
    wanted = url_state.encode(list(st.session_state.get(K_UNITS) or []), current_period(), current_settings())
    current = {key: (st.query_params.get_all(key) if key == "unit" else st.query_params.get(key))
               for key in st.query_params}
    # The page's own parameters (metric, tab, drill-down, sort) are kept; the page rewrites them itself.
    wanted.update({key: value for key, value in current.items() if key in url_state.PAGE_PARAMS})
    if current != wanted:  # avoid needless browser history entries
        st.query_params.from_dict(wanted)

"""Shared dashboard state: database handle, sign-in, and the current view (scope, period, settings).

Every page (including the report page) reads the view through ``current_scope()``, ``current_period()``
and ``current_settings()``. ``current_scope()`` ends with ``motcua.auth.restrict_scope`` for the signed-in
user (``current_user()``), AFTER the URL parameters were applied: a forbidden ``?unit=`` never reaches a
query, and ``restrict()`` lets the data layer re-check any scope a page builds itself. The widgets that set
the view are in ``dashboard.pickers``; ``dashboard.url_sync`` seeds them from a shared link and mirrors the
view into the URL.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from datetime import date
from pathlib import Path

import streamlit as st

from dashboard.auth_ui import SESSION_KEY, login_gate
from motcua import auth, fmt, metrics, periods, vntime
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.settings import SETTINGS

# `motcua serve --config-dir` exports MOTCUA_TARGETS (motcua.service_config.apply_config_dir).
TARGETS_PATH = Path(os.environ.get("MOTCUA_TARGETS") or Path(__file__).resolve().parent.parent / "config" / "targets.toml")

PERIOD_KINDS = {**periods.KIND_LABELS, "custom": "Tùy chọn (từ ngày – đến ngày)"}
_USER_KEY = "_current_user"  # the User of THIS run (set by sign_in, cleared by begin_run)
_SIDEBAR_FLAG = "_sidebar_rendered"

# Widget keys (session state). Settings: one plain key per ``SettingSpec``, ``s_<name>``, that holds its
# value whether or not its widget (``pickers.setting_widget_key``) is drawn.
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
    return default_period_between(*data_range(), kind, calendar)


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

    try:
        return shown_range(*data.data_range(current_scope()))
    except dbmod.DatabaseUnavailable:
        return shown_range(None, None)


def shown_range(first: date | None, last: date | None) -> tuple[date, date]:
    """The receipt days periods are offered for: a future-dated dossier moves no default (never past today,
    Vietnam time); today alone without data."""
    today = vntime.today()
    return first or today, min(last or today, today)


def default_period_between(first: date | None, last: date | None, kind: str, calendar: str) -> periods.Period:
    """The default period for data received from ``first`` to ``last``, as the period picker chooses it;
    also what the server's warm start computes ahead (no session there)."""
    first, last = shown_range(first, last)
    return newest_complete(periods_with_data(first, last, kind, calendar), last)


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

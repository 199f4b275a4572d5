"""Shared dashboard state: database handle, unit/period/settings pickers mirrored in the URL.

Every page (including the report page) reads the view through ``current_scope()``, ``current_period()``
and ``current_settings()``. ``current_scope()`` ends with ``motcua.auth.restrict_scope`` for the signed-in
user (``current_user()``), AFTER the URL parameters were applied: a forbidden ``?unit=`` never reaches a
query, and ``restrict()`` lets the data layer re-check any scope a page builds itself. The sidebar widgets
live in the entry script, so their values survive page switches; the URL
(``?unit=..&period=2026Q3&calendar=report``) is rewritten on every run because Streamlit clears query
parameters when the page changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tomllib
from datetime import date
from pathlib import Path

import streamlit as st

from dashboard.auth_ui import SESSION_KEY, login_gate
from motcua import auth, metrics, periods
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.units import UnitError, resolve_unit

TARGETS_PATH = Path(__file__).resolve().parent.parent / "config" / "targets.toml"

PERIOD_KINDS = {
    "month": "Tháng",
    "quarter": "Quý",
    "half": "6 tháng",
    "nine_months": "9 tháng",
    "year": "Năm",
    "custom": "Tùy chọn (từ ngày – đến ngày)",
}
CALENDAR_LABELS = {
    "calendar": "Kỳ dương lịch (như Cổng DVC quốc gia)",
    "report": "Kỳ báo cáo (ngày 15 tháng trước – ngày 14, NĐ 09/2019)",
}
# Definition settings come from the KPI module (labels included), so the picker never drifts from it.
EARLY_RULE_LABELS = metrics.EARLY_RULES
RETURNED_POLICY_LABELS = metrics.RETURNED_POLICIES
DIGITIZATION_SCOPE_LABELS = metrics.DIGITIZATION_SCOPES
_CUSTOM_CODE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})$")
_SIDEBAR_FLAG = "_sidebar_rendered"
_USER_KEY = "_current_user"  # the User of THIS run (set by sign_in, cleared by begin_run)
DEMO_CAPTION = "Chế độ demo (không đăng nhập)"

# Widget keys (session state) and their URL parameter names.
K_UNITS, K_CALENDAR, K_KIND, K_PERIOD, K_CUSTOM = "f_units", "f_calendar", "f_kind", "f_period", "f_custom"
K_EARLY, K_RETURNED, K_AT_RISK, K_ONLINE_LEVELS = "s_early_rule", "s_returned", "s_at_risk", "s_online_levels"
K_DIGITIZATION = "s_digitization"


@st.cache_resource(show_spinner=False)
def _database(path: str) -> dbmod.Database:
    return dbmod.Database(path)


def get_db() -> dbmod.Database:
    """One ``Database`` per process and file path; it reconnects by itself when a new version is published."""
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
    except auth.AccessDenied as exc:
        st.error(str(exc))
        return None
    except dbmod.DatabaseUnavailable:
        pass  # every page shows the database message itself; no query can run anyway
    st.session_state[_USER_KEY] = user
    return user


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
    defaults = metrics.Settings()
    levels = st.session_state.get(K_ONLINE_LEVELS) or list(defaults.online_procedure_levels)
    return metrics.Settings(
        calendar=st.session_state.get(K_CALENDAR, defaults.calendar),
        early_rule=st.session_state.get(K_EARLY, defaults.early_rule),
        returned_policy=st.session_state.get(K_RETURNED, defaults.returned_policy),
        at_risk_days=int(st.session_state.get(K_AT_RISK, defaults.at_risk_days)),
        online_procedure_levels=tuple(levels),
        digitization_scope=st.session_state.get(K_DIGITIZATION, defaults.digitization_scope),
    )


def current_scope() -> Scope:
    """Selected units (URL or picker) restricted to the allowed ones; empty selection = every allowed unit."""
    return restrict(Scope(unit_codes=tuple(st.session_state.get(K_UNITS) or ())))


def current_period() -> periods.Period:
    calendar = st.session_state.get(K_CALENDAR, "calendar")
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
    return _default_periods(kind, calendar)[0]


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
    first, last = _data_range()
    return first, last


def _data_range() -> tuple[date, date]:
    from dashboard import data

    today = date.today()
    try:
        first, last = data.data_range(restrict(Scope()))  # every allowed unit, not only the selected ones
    except dbmod.DatabaseUnavailable:
        return today, today
    return first or today, last or today


def _default_periods(kind: str, calendar: str) -> list[periods.Period]:
    first, last = _data_range()
    found = periods.periods_between(first, last, kind, calendar) if kind != "custom" else []
    if not found:
        found = periods.periods_between(last, last, kind, calendar)
    return found


def _period_from_code(code: str, calendar: str) -> periods.Period | None:
    match = _CUSTOM_CODE.match(code)
    try:
        if match:
            return periods.custom_period(date.fromisoformat(match[1]), date.fromisoformat(match[2]))
        return periods.parse_period(code, calendar)
    except ValueError:
        return None


# ---------------------------------------------------------------- URL <-> state

def _load_url_once() -> None:
    """Seed the widget state from the URL on the first run of a session (a shared link)."""
    if st.session_state.get("_url_loaded"):
        return
    st.session_state["_url_loaded"] = True
    params = st.query_params
    calendar = params.get("calendar")
    if calendar in periods.CALENDARS:
        st.session_state[K_CALENDAR] = calendar
    units = [u for value in params.get_all("unit") for u in value.split(",") if u.strip()]
    if units:
        st.session_state[K_UNITS] = _allowed_url_units(_resolve_url_units(units))
    code = params.get("period")
    if code:
        period = _period_from_code(code, st.session_state.get(K_CALENDAR, "calendar"))
        if period is None:
            _url_warning(f"Kỳ '{code}' trong đường dẫn không hợp lệ; đang dùng kỳ mặc định.")
        elif period.kind == "custom":
            st.session_state[K_KIND] = "custom"
            st.session_state[K_CUSTOM] = (period.start, period.end)
        else:
            st.session_state[K_KIND] = period.kind
            st.session_state[K_PERIOD] = period.code
    _load_url_settings(params)


def _url_warning(message: str) -> None:
    st.session_state.setdefault("_url_warnings", []).append(message)


def _load_url_settings(params) -> None:
    if params.get("early_rule") in EARLY_RULE_LABELS:
        st.session_state[K_EARLY] = params.get("early_rule")
    if params.get("returned") in RETURNED_POLICY_LABELS:
        st.session_state[K_RETURNED] = params.get("returned")
    if (params.get("at_risk") or "").isdigit():
        st.session_state[K_AT_RISK] = int(params.get("at_risk"))
    if params.get("digitization") in DIGITIZATION_SCOPE_LABELS:
        st.session_state[K_DIGITIZATION] = params.get("digitization")
    levels = [v for v in (params.get("online_levels") or "").split(",") if v in metrics.LEVEL_LABELS]
    if levels:
        st.session_state[K_ONLINE_LEVELS] = levels


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
        _url_warning(problem)
    return list(dict.fromkeys(codes))


def _allowed_url_units(codes: list[str]) -> list[str]:
    """Drop (and report) the units of a shared link that this user may not see."""
    allowed = allowed_unit_codes()
    if allowed is None:
        return codes
    forbidden = [c for c in codes if c not in allowed]
    if forbidden:
        _url_warning(f"Tài khoản không được xem đơn vị {', '.join(forbidden)} trong đường dẫn; "
                     "đang hiển thị các đơn vị được phân quyền.")
    return [c for c in codes if c in allowed]


def _write_url() -> None:
    """Mirror the current view into the URL (rewritten on every page: page switches clear it)."""
    period = current_period()
    settings = current_settings()
    defaults = metrics.Settings()
    wanted: dict[str, str | list[str]] = {}
    if st.session_state.get(K_UNITS):
        wanted["unit"] = list(st.session_state[K_UNITS])
    wanted["period"] = period.code
    wanted["calendar"] = settings.calendar
    if settings.early_rule != defaults.early_rule:
        wanted["early_rule"] = settings.early_rule
    if settings.returned_policy != defaults.returned_policy:
        wanted["returned"] = settings.returned_policy
    if settings.at_risk_days != defaults.at_risk_days:
        wanted["at_risk"] = str(settings.at_risk_days)
    if settings.digitization_scope != defaults.digitization_scope:
        wanted["digitization"] = settings.digitization_scope
    if settings.online_procedure_levels != defaults.online_procedure_levels:
        wanted["online_levels"] = ",".join(settings.online_procedure_levels)
    current = {key: (st.query_params.get_all(key) if key == "unit" else st.query_params.get(key))
               for key in st.query_params}
    if current != wanted:  # avoid needless browser history entries
        st.query_params.from_dict(wanted)


# ---------------------------------------------------------------- sidebar

def begin_run() -> None:
    """Called by the entry script at the start of every run (lets pages call render_sidebar too)."""
    st.session_state[_SIDEBAR_FLAG] = False
    st.session_state.pop(_USER_KEY, None)  # looked up again every run: removed users lose access at once


def render_sidebar(target=None) -> None:
    """Unit, period, calendar and definition pickers; once per run, however many callers.

    ``target``: a sidebar container made before the login gate ran (the entry script), so the pickers sit
    above the account box / demo notice; pages call this without it (a no-op after the entry script).
    """
    if st.session_state.get(_SIDEBAR_FLAG):
        return
    user = current_user()  # before anything reads the URL or the database
    st.session_state[_SIDEBAR_FLAG] = True
    # Without a database the page shows the message; the sidebar still renders the period pickers.
    with contextlib.suppress(dbmod.DatabaseUnavailable):
        _load_url_once()
    _init_defaults()
    with target if target is not None else st.sidebar:
        if user.demo:  # a one-line reminder above the pickers; the login gate's box explains
            st.caption(DEMO_CAPTION)
        for message in st.session_state.pop("_url_warnings", []):
            st.warning(message)
        _unit_picker()
        _period_pickers()
        _settings_expander()
    _write_url()


def _unit_picker() -> None:
    from dashboard import data

    try:
        units = data.unit_options()
        allowed = allowed_unit_codes()
    except dbmod.DatabaseUnavailable:
        units, allowed = {}, None
    if allowed is not None:  # only the units this user may see are offered
        units = {c: n for c, n in units.items() if c in allowed}
    chosen = [c for c in st.session_state.get(K_UNITS, []) if c in units]
    if chosen != st.session_state.get(K_UNITS, []):
        st.session_state[K_UNITS] = chosen
    st.multiselect(
        "Đơn vị (xã/phường)", options=list(units), key=K_UNITS, format_func=lambda c: units.get(c, c),
        placeholder="Tất cả đơn vị – gõ tên để tìm" if allowed is None else "Tất cả đơn vị được phân quyền",
        help="Để trống để xem tất cả đơn vị có hồ sơ (mà tài khoản được xem).",
    )


def _init_defaults() -> None:
    """Give every widget its default through session state (never both a default and a state value)."""
    defaults = metrics.Settings()
    st.session_state.setdefault(K_UNITS, [])
    st.session_state.setdefault(K_CALENDAR, defaults.calendar)
    st.session_state.setdefault(K_KIND, "quarter")
    st.session_state.setdefault(K_EARLY, defaults.early_rule)
    st.session_state.setdefault(K_RETURNED, defaults.returned_policy)
    st.session_state.setdefault(K_AT_RISK, defaults.at_risk_days)
    st.session_state.setdefault(K_ONLINE_LEVELS, list(defaults.online_procedure_levels))
    st.session_state.setdefault(K_DIGITIZATION, defaults.digitization_scope)


def _period_pickers() -> None:
    st.radio("Cách tính kỳ", options=list(CALENDAR_LABELS), key=K_CALENDAR, format_func=CALENDAR_LABELS.get)
    kind = st.selectbox("Loại kỳ", options=list(PERIOD_KINDS), key=K_KIND, format_func=PERIOD_KINDS.get)
    calendar = st.session_state[K_CALENDAR]
    if kind == "custom":
        if K_CUSTOM not in st.session_state:
            st.session_state[K_CUSTOM] = _data_range()
        st.date_input("Từ ngày – đến ngày", key=K_CUSTOM, format="DD/MM/YYYY")
        return
    choices = _default_periods(kind, calendar)
    by_code = {p.code: p for p in choices}
    wanted = st.session_state.get(K_PERIOD)
    if wanted and wanted not in by_code:
        period = _period_from_code(wanted, calendar)
        if period is not None and period.kind == kind:
            by_code = {period.code: period, **by_code}  # a shared link may point outside the data range
    if st.session_state.get(K_PERIOD) not in by_code:
        st.session_state[K_PERIOD] = next(iter(by_code))
    st.selectbox("Kỳ", options=list(by_code), key=K_PERIOD, format_func=lambda c: by_code[c].label)
    st.caption(by_code[st.session_state[K_PERIOD]].caption)


def _settings_expander() -> None:
    with st.expander("Cách tính chỉ tiêu"):
        st.selectbox("Phân biệt trước hạn / đúng hạn", options=list(EARLY_RULE_LABELS), key=K_EARLY,
                     format_func=EARLY_RULE_LABELS.get)
        st.selectbox("Hồ sơ trả lại, rút, dừng", options=list(RETURNED_POLICY_LABELS), key=K_RETURNED,
                     format_func=RETURNED_POLICY_LABELS.get)
        st.number_input("Sắp đến hạn: còn tối đa (ngày làm việc)", min_value=0, max_value=30, step=1,
                        key=K_AT_RISK)
        st.multiselect("Mức độ tính là TTHC có DVC trực tuyến", options=list(metrics.LEVEL_LABELS),
                       key=K_ONLINE_LEVELS, format_func=metrics.LEVEL_LABELS.get)
        st.selectbox("Phạm vi tính tỷ lệ số hóa", options=list(DIGITIZATION_SCOPE_LABELS), key=K_DIGITIZATION,
                     format_func=DIGITIZATION_SCOPE_LABELS.get)


def settings_key(settings: metrics.Settings) -> tuple:
    return dataclasses.astuple(settings)

"""Cached calls into ``motcua.metrics`` (the dashboard never computes a KPI itself).

Every cache key holds the database version (changes on each import), the scope key (unit scope
included), the period code, the calendar and the settings; the real objects travel in ``_``-prefixed
arguments, which Streamlit leaves out of the hash. Each metrics call runs its queries on fresh cursors
of the shared read-only connection (``Database.query_df``).

Access control: every public function passes its scope through ``state.restrict`` before the cache
lookup, so the cache key always holds the *restricted* unit list and no caller (a page building its own
``Scope``, a drill-down, a stale session value) can query or hit a cached result outside the signed-in
user's units. Import history and rejected rows (raw values may name any commune) are admin-only.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from dashboard.state import current_user, get_db, restrict
from motcua import auth, index_estimate, metrics, units, vntime
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.filters import unit_names as _unit_names
from motcua.periods import Period

TTL = 15 * 60
ENTRIES = 256
REJECTS_SHOWN = 5000  # rejected rows listed on Dữ liệu


def _keys(scope: Scope, period: Period, settings: metrics.Settings) -> tuple:
    return (get_db().version(), scope.key(), period.code, period.calendar, dataclasses.astuple(settings))


# ---------------------------------------------------------------- units and ranges

@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _unit_options(version: str) -> dict[str, str]:
    cur = get_db().cursor()
    try:
        frame = units.list_units(cur, used_only=True)
    finally:
        cur.close()
    return dict(zip(frame["code"], frame["label"], strict=True))  # legacy: old district/province, successor


def unit_options() -> dict[str, str]:
    """code -> 'Xã Tứ Kỳ – Thành phố Hải Phòng' for the units that have dossiers."""
    return _unit_options(get_db().version())


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _names(version: str, codes: tuple[str, ...]) -> dict[str, str]:
    return _unit_names(get_db(), codes)


def unit_names(codes: tuple[str, ...]) -> dict[str, str]:
    return _names(get_db().version(), tuple(codes)) if codes else {}


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _data_range(version: str, scope_key: tuple, _scope: Scope) -> tuple[date | None, date | None]:
    return metrics.data_range(get_db(), _scope)


def data_range(scope: Scope) -> tuple[date | None, date | None]:
    scope = restrict(scope)
    return _data_range(get_db().version(), scope.key(), scope)


# ---------------------------------------------------------------- KPIs

@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _kpis(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> dict:
    return metrics.compute_kpis(get_db(), _scope, _period, _settings)


def kpis(scope: Scope, period: Period, settings: metrics.Settings) -> dict:
    scope = restrict(scope)
    return _kpis(_keys(scope, period, settings), scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _breakdown(keys: tuple, by: str, _scope: Scope, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return metrics.breakdown(get_db(), _scope, _period, by, _settings)


def breakdown(scope: Scope, period: Period, by: str, settings: metrics.Settings) -> pd.DataFrame:
    scope = restrict(scope)
    frame = _breakdown(_keys(scope, period, settings), by, scope, period, settings)
    return blank_months_without_data(frame, period, data_until(scope)) if by == "month" else frame


def blank_months_without_data(frame: pd.DataFrame, period: Period, until: date | None) -> pd.DataFrame:
    """Months that start after the last day with data are unknown, not 0 %: every number becomes NaN,
    so charts leave a gap and tables show "–" (open dossiers would otherwise read as overdue there)."""
    if until is None or frame.empty:
        return frame
    starts = {month.code: month.start for month in period.months()}
    future = frame["key"].map(lambda code: starts.get(code, until) > until).to_numpy(dtype=bool)
    if not future.any():
        return frame
    frame = frame.copy()
    numeric = [c for c in frame.columns if c not in ("key", "label")]
    frame[numeric] = frame[numeric].astype("float64")
    frame.loc[future, numeric] = float("nan")
    return frame


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _league(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return metrics.league_table(get_db(), _scope, _period, _settings)


def league_table(scope: Scope, period: Period, settings: metrics.Settings) -> pd.DataFrame:
    scope = restrict(scope)
    return _league(_keys(scope, period, settings), scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _unit_months(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    """Long frame (unit × month): one ``breakdown(by="unit")`` per month of the period."""
    frames = []
    for month in _period.months():
        part = metrics.breakdown(get_db(), _scope, month, "unit", _settings)
        if not part.empty:
            frames.append(part.assign(month=month.label, month_code=month.code))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def unit_months(scope: Scope, period: Period, settings: metrics.Settings) -> pd.DataFrame:
    scope = restrict(scope)
    return _unit_months(_keys(scope, period, settings), scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _dossiers(keys: tuple, bucket: str, limit: int, _scope: Scope, _period: Period,
              _settings: metrics.Settings) -> pd.DataFrame:
    return metrics.dossier_list(get_db(), _scope, _period, bucket, _settings, limit=limit)


def dossier_list(scope: Scope, period: Period, bucket: str, settings: metrics.Settings,
                 limit: int = 5000) -> pd.DataFrame:
    scope = restrict(scope)
    return _dossiers(_keys(scope, period, settings), bucket, limit, scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _at_risk(keys: tuple, as_of: date, _scope: Scope, _settings: metrics.Settings) -> pd.DataFrame:
    return metrics.at_risk(get_db(), _scope, as_of, _settings)


def _at_risk_keys(scope: Scope, settings: metrics.Settings) -> tuple:
    return get_db().version(), scope.key(), dataclasses.astuple(settings)


def at_risk(scope: Scope, as_of: date, settings: metrics.Settings) -> pd.DataFrame:
    scope = restrict(scope)
    return _at_risk(_at_risk_keys(scope, settings), as_of, scope, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _levels(keys: tuple, _scope: Scope, _period: Period) -> pd.DataFrame:
    return metrics.level_breakdown(get_db(), _scope, _period)


def level_breakdown(scope: Scope, period: Period) -> pd.DataFrame:
    scope = restrict(scope)
    return _levels(_keys(scope, period, metrics.Settings()), scope, period)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _procedure_levels(keys: tuple, by_unit: bool, _scope: Scope, _period: Period) -> pd.DataFrame:
    return metrics.procedures_by_level(get_db(), _scope, _period, by_unit)


def procedures_by_level(scope: Scope, period: Period, by_unit: bool = False) -> pd.DataFrame:
    scope = restrict(scope)
    return _procedure_levels(_keys(scope, period, metrics.Settings()), by_unit, scope, period)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _processing(keys: tuple, by: str, _scope: Scope, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return metrics.processing_time(get_db(), _scope, _period, by, _settings)


def processing_time(scope: Scope, period: Period, by: str, settings: metrics.Settings) -> pd.DataFrame:
    scope = restrict(scope)
    return _processing(_keys(scope, period, settings), by, scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _unused(keys: tuple, _scope: Scope, _period: Period) -> pd.DataFrame:
    return metrics.unused_procedures(get_db(), _scope, _period)


def unused_procedures(scope: Scope, period: Period) -> pd.DataFrame:
    scope = restrict(scope)
    return _unused(_keys(scope, period, metrics.Settings()), scope, period)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _reconciliation(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> dict[str, int]:
    return metrics.attribution_reconciliation(get_db(), _scope, _period, _settings)


def attribution_reconciliation(scope: Scope, period: Period, settings: metrics.Settings) -> dict[str, int]:
    scope = restrict(scope)
    return _reconciliation(_keys(scope, period, settings), scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _quality(version: str, scope_key: tuple, _scope: Scope) -> pd.DataFrame:
    return metrics.data_quality(get_db(), _scope)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _coverage(version: str, scope_key: tuple, by: str, _scope: Scope) -> pd.DataFrame:
    return metrics.coverage_table(get_db(), _scope, by)


def coverage_table(scope: Scope, by: str) -> pd.DataFrame:
    scope = restrict(scope)
    return _coverage(get_db().version(), scope.key(), by, scope)


def data_quality(scope: Scope) -> pd.DataFrame:
    scope = restrict(scope)
    return _quality(get_db().version(), scope.key(), scope)


# ---------------------------------------------------------------- service-index estimate

@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _index_league(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return index_estimate.league(get_db(), _scope.unit_codes or _all_units(), _period, _settings)


def _all_units() -> tuple[str, ...]:
    return tuple(unit_options())


def index_league(scope: Scope, period: Period, settings: metrics.Settings) -> pd.DataFrame:
    """Estimate, comparable score and rank of every unit of the (restricted) scope."""
    scope = restrict(scope)
    return _index_league(_keys(scope, period, settings), scope, period, settings)


# The rank and the 12-month trend of a commune compare it with its province's communes: that work is the
# same for every commune of the province, so it is cached per province (peers), not per commune. Only the
# rank and the count are shown, never another unit's numbers.
@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _peers(version: str, unit_code: str) -> tuple[str, ...]:
    return tuple(index_estimate.peer_units(get_db(), unit_code))


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _peer_league(keys: tuple, _peers: tuple[str, ...], _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return index_estimate.league(get_db(), _peers, _period, _settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _peer_months(keys: tuple, _peers: tuple[str, ...], _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    return index_estimate.ranked_months(get_db(), _peers, _period, _settings)


def _peer_keys(peers: tuple[str, ...], period: Period, settings: metrics.Settings) -> tuple:
    return _keys(Scope(unit_codes=peers), period, settings)


_warmed: set[tuple] = set()
_warm_lock = threading.Lock()


def _warm_key(version: str, period: Period, settings: metrics.Settings) -> tuple:
    return version, period.code, period.calendar, dataclasses.astuple(settings)


def warm_peer_caches(period: Period, settings: metrics.Settings) -> None:
    """Once per (database version, period, settings), in a background thread: the province-level league and
    12-month ranks of every province with dossiers. The first commune opened in a province then costs its
    own queries only (0.32 s less of ~1.0 s on the 1M-dossier database). Cached for everyone; nothing of it
    is shown but a unit's own rank."""
    try:
        version = get_db().version()
    except dbmod.DatabaseUnavailable:
        return
    key = _warm_key(version, period, settings)
    with _warm_lock:
        if key in _warmed:
            return
        _warmed.add(key)
    worker = threading.Thread(target=_warm_peers, args=(period, settings), name="motcua-warm", daemon=True)
    add_script_run_ctx(worker, get_script_run_ctx())  # the cached calls then run as in the session
    worker.start()


def _warm_peers(period: Period, settings: metrics.Settings, fresh: bool = False) -> None:
    """The province ranks of every province; ``fresh``: computed anew even when cached (``warm_start``)."""
    def call(cached, *args):
        return _fresh(cached, *args) if fresh else cached(*args)

    try:
        for code in index_estimate.province_representatives(get_db(), settings):
            peers = call(_peers, get_db().version(), code)
            keys = _peer_keys(peers, period, settings)
            call(_peer_league, keys, peers, period, settings)
            call(_peer_months, keys, peers, period, settings)
    except Exception:  # noqa: BLE001 - a warm-up only: the page computes what it needs itself
        logging.getLogger(__name__).warning("warming the province ranks failed", exc_info=True)


def _fresh(cached, *args):
    """``cached(*args)`` computed anew, not read from the cache: its entry (and TTL) starts now."""
    cached.clear(*args)
    return cached(*args)


def warm_start() -> str | None:
    """Before the first visitor (``dashboard/server.py`` runs this once when the server starts, in a
    thread): open and check the published database, list its units and compute what every first visit of
    an all-units user (admin, province officer, the local demo) asks for on the default period, the newest
    complete quarter: the data range, Tổng quan of all units, the data checks of Dữ liệu, the league and the
    service-index league of all units, and the province ranks. Everything lands in the shared caches the
    pages read, with the keys a page uses. Each entry is computed anew (``_fresh``), so its TTL starts
    again: ``keep_warm`` calls this before the entries expire and a visitor never finds them gone (a cache
    hit does not extend an entry's TTL). Returns the period warmed (None without a database)."""
    try:
        version = get_db().version()
    except dbmod.DatabaseUnavailable:
        return None
    from dashboard import state  # local: state imports data lazily too

    _fresh(_unit_options, version)
    everything = Scope()  # what ``restrict`` leaves for a user who may see every unit
    first, last = _fresh(_data_range, version, everything.key(), everything)
    if first is None or last is None:
        return None
    settings = metrics.Settings()
    period = state.default_period_between(first, last, "quarter", settings.calendar)
    keys = _keys(everything, period, settings)
    _warm_overview(everything, period, settings)
    _warm_data_checks(everything, period, settings)
    _fresh(_league, keys, everything, period, settings)
    _fresh(_index_league, keys, everything, period, settings)
    with _warm_lock:
        _warmed.add(_warm_key(version, period, settings))
    _warm_peers(period, settings, fresh=True)
    return period.code


def keep_warm(stop: threading.Event, check_every: float = 60.0, clock=time.monotonic,
              report: Callable[[str | None, float], None] | None = None) -> None:
    """``warm_start`` now, then again whenever a new database version is published or the cached entries
    are about to expire (``TTL``): a visitor hours after a restart or right after the nightly import still
    finds the default views computed. Runs until ``stop`` is set (dashboard/server.py, one thread). A
    check is a ``stat`` of the database file; a warm start recomputes its entries (seconds of one core,
    every ~13 minutes). ``report(period, seconds)`` after each warm start."""
    warmed_version, warmed_at = None, 0.0
    while True:
        try:
            version = get_db().version()
        except dbmod.DatabaseUnavailable:
            version = None
        due = clock() - warmed_at >= TTL - 2 * check_every
        if version is not None and (version != warmed_version or due):
            started = clock()
            try:
                period = warm_start()
            except Exception:  # noqa: BLE001 - a warm-up only: the pages compute what they need themselves
                logging.getLogger(__name__).warning("warm start failed", exc_info=True)
                period = None
            warmed_version, warmed_at = version, clock()
            if report is not None:
                report(period, warmed_at - started)
        if stop.wait(check_every):
            return


def _warm_data_checks(scope: Scope, period: Period, settings: metrics.Settings) -> None:
    """What Dữ liệu reads once per database version: the data checks, the coverage by unit and by file, the
    attribution reconciliation, the import history and the rejected rows (each a scan of every dossier)."""
    version = get_db().version()
    _fresh(_quality, version, scope.key(), scope)
    for by in ("unit", "file"):
        _fresh(_coverage, version, scope.key(), by, scope)
    _fresh(_reconciliation, _keys(scope, period, settings), scope, period, settings)
    _fresh(_imports, version)
    _fresh(_rejects, version, REJECTS_SHOWN)


def _warm_overview(scope: Scope, period: Period, settings: metrics.Settings) -> None:
    """What Tổng quan reads for ``scope`` (the default page), under the keys it uses: "Số liệu đến ngày",
    the KPIs of the period and of the one it is compared with, the estimate, the months, the at-risk list."""
    until = _fresh(_data_until, *_until_args(scope, settings))
    compare, _partial = index_estimate.comparison_period(period, until)
    keys = _keys(scope, period, settings)
    _fresh(_kpis, keys, scope, period, settings)
    _fresh(_kpis, _keys(scope, compare, settings), scope, compare, settings)
    _fresh(_index_block, keys, scope, period, settings)
    _fresh(_breakdown, keys, "month", scope, period, settings)
    _fresh(_at_risk, _at_risk_keys(scope, settings), min(vntime.today(), period.end), scope, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _index_block(keys: tuple, _scope: Scope, _period: Period, _settings: metrics.Settings) -> dict:
    single = _scope.unit_codes[0] if len(_scope.unit_codes) == 1 else None
    peer_league = None
    if single:
        peers = _peers(get_db().version(), single)
        peer_league = _peer_league(_peer_keys(peers, _period, _settings), peers, _period, _settings)
    return index_estimate.estimate_block(get_db(), _scope, _period, _settings, peer_league=peer_league)


def index_block(scope: Scope, period: Period, settings: metrics.Settings) -> dict:
    """The estimate of one scope; its rank compares the unit with the communes of its province (only the
    rank and the count are shown, never another unit's numbers)."""
    scope = restrict(scope)
    return _index_block(_keys(scope, period, settings), scope, period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _index_trend(keys: tuple, unit_code: str, _period: Period, _settings: metrics.Settings) -> pd.DataFrame:
    peers = _peers(get_db().version(), unit_code)
    ranked = _peer_months(_peer_keys(peers, _period, _settings), peers, _period, _settings)
    return index_estimate.trend(get_db(), unit_code, _period, _settings, ranked=ranked)


def index_trend(scope: Scope, period: Period, settings: metrics.Settings) -> pd.DataFrame | None:
    """12-month trend of score and rank of a single-unit scope (None for several units)."""
    scope = restrict(scope)
    if len(scope.unit_codes) != 1:
        return None
    return _index_trend(_keys(scope, period, settings), scope.unit_codes[0], period, settings)


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _data_until(version: str, scope_key: tuple, settings_key: tuple, _scope: Scope,
                _settings: metrics.Settings) -> date | None:
    return index_estimate.data_until(get_db(), _scope, _settings)


def data_until(scope: Scope) -> date | None:
    """Last day with data in the scope ("Số liệu đến ngày")."""
    scope = restrict(scope)
    from dashboard.state import current_settings

    return _data_until(*_until_args(scope, current_settings()))


def _until_args(scope: Scope, settings: metrics.Settings) -> tuple:
    return get_db().version(), scope.key(), dataclasses.astuple(settings), scope, settings


# ---------------------------------------------------------------- import history (not KPIs)

@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _imports(version: str) -> pd.DataFrame:
    return get_db().query_df(
        "SELECT import_id, imported_at, file_name, format, unit_code, period_from, period_to, rows_read, "
        "rows_loaded, rows_rejected, status, message, imported_by FROM imports ORDER BY import_id DESC"
    )


@st.cache_data(ttl=TTL, max_entries=ENTRIES, show_spinner=False)
def _rejects(version: str, limit: int) -> pd.DataFrame:
    return get_db().query_df(
        "SELECT import_id, file_name, row_number, column_name, raw_value, reason FROM rejects "
        "ORDER BY import_id DESC, row_number LIMIT ?", [limit]
    )


def imports(version: str) -> pd.DataFrame:
    """Import history (all communes): admins only, checked here and not just by hiding the section."""
    auth.require_admin(current_user(), "xem lịch sử nạp dữ liệu")
    return _imports(version)


def rejects(version: str, limit: int = REJECTS_SHOWN) -> pd.DataFrame:
    """Rejected rows with their raw values (may hold any commune's data): admins only."""
    auth.require_admin(current_user(), "xem các dòng bị loại")
    return _rejects(version, limit)


def clear_caches() -> None:
    """After an import: the version changes anyway, this also frees memory at once."""
    st.cache_data.clear()

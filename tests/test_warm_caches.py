"""The dashboard warms the province-level ranks in the background (``dashboard.data.warm_peer_caches``):
afterwards the first commune opened in any province ranks without recomputing its province."""

from __future__ import annotations

import threading

import dbfactory
import pytest

from motcua import index_estimate, metrics
from motcua.periods import parse_period


def test_warm_up_fills_the_province_caches_once(tmp_path, monkeypatch):
    path = dbfactory.sample_db(tmp_path / "s.duckdb", n=400)
    monkeypatch.setenv("MOTCUA_DB", str(path))
    from dashboard import data

    data._warmed.clear()
    period, settings = parse_period("2026Q3"), metrics.Settings()
    data.warm_peer_caches(period, settings)
    for worker in [t for t in threading.enumerate() if t.name == "motcua-warm"]:
        worker.join(60)
    codes = index_estimate.province_representatives(data.get_db(), settings)
    assert codes  # the sample's communes lie in at least one province

    def recomputed(*_args, **_kwargs):
        raise AssertionError("the province was computed again")

    monkeypatch.setattr(index_estimate, "league", recomputed)
    monkeypatch.setattr(index_estimate, "ranked_months", recomputed)
    for code in dbfactory.commune_codes():
        peers = data._peers(data.get_db().version(), code)
        keys = data._peer_keys(peers, period, settings)
        assert not data._peer_league(keys, peers, period, settings).empty
        assert not data._peer_months(keys, peers, period, settings).empty
    data.warm_peer_caches(period, settings)  # the same version, period and settings: no second warm-up
    assert not [t for t in threading.enumerate() if t.name == "motcua-warm"]


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()


# What each page's first visit (all units, default period) would compute if the warm start had not.
FIRST_VISIT = {
    "so_sanh": [(metrics, "league_table"), (index_estimate, "league"), (index_estimate, "ranked_months")],
    "tong_quan": [(metrics, "compute_kpis"), (metrics, "breakdown"), (metrics, "at_risk"),
                  (index_estimate, "estimate_block"), (index_estimate, "data_until")],
    "du_lieu": [(metrics, "data_quality"), (metrics, "coverage_table"), (metrics, "attribution_reconciliation")],
}


@pytest.mark.parametrize("page", sorted(FIRST_VISIT))
def test_warm_start_computes_what_a_first_visit_reads(tmp_path, monkeypatch, page):
    """``data.warm_start`` (run by dashboard/server.py when the server starts) fills the caches under the
    keys the pages use: the first visit of Tổng quan or So sánh (all units, default period) computes none
    of it again."""
    from streamlit.testing.v1 import AppTest

    path = dbfactory.sample_db(tmp_path / "s.duckdb", n=400)
    monkeypatch.setenv("MOTCUA_DB", str(path))
    from dashboard import data

    data._warmed.clear()
    warmed = data.warm_start()
    assert warmed is not None

    def recomputed(*_args, **_kwargs):
        raise AssertionError("computed again on the first visit")

    for module, name in FIRST_VISIT[page]:
        monkeypatch.setattr(module, name, recomputed)
    at = AppTest.from_string("from dashboard import pickers, state\nfrom dashboard.views import " + page + "\n"
                             "state.begin_run()\npickers.render_sidebar()\n" + page + ".render()\n",
                             default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["f_period"] == warmed  # the page's default period is the one warmed
    assert at.dataframe  # its tables are drawn (from the warm caches)


def test_warm_start_without_a_database_does_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(tmp_path / "missing.duckdb"))
    from dashboard import data

    assert data.warm_start() is None


class _Ticks:
    """A stand-in for the stop event of ``keep_warm``: each wait moves a fake clock on; stops after ``n``."""

    def __init__(self, n: int, step: float, versions: list[str]) -> None:
        self.now, self.n, self.step, self.versions = 0.0, n, step, versions
        self.waits = 0

    def clock(self) -> float:
        return self.now

    def wait(self, _timeout: float) -> bool:
        self.waits += 1
        self.now += self.step
        return self.waits >= self.n

    def version(self) -> str:
        return self.versions[min(self.waits, len(self.versions) - 1)]


def _keep_warm_calls(monkeypatch, ticks: _Ticks) -> list[float]:
    from dashboard import data

    calls = []
    monkeypatch.setattr(data, "warm_start", lambda: calls.append(ticks.now) or "2026Q3")
    monkeypatch.setattr(data, "get_db", lambda: type("Db", (), {"version": staticmethod(ticks.version)})())
    reports = []
    data.keep_warm(ticks, check_every=60, clock=ticks.clock, report=lambda p, s: reports.append(p))
    assert reports == ["2026Q3"] * len(calls)
    return calls


def test_keep_warm_warms_again_before_the_cached_entries_expire(monkeypatch):
    from dashboard import data

    ticks = _Ticks(n=40, step=60, versions=["v1"])  # 40 minutes, one database version
    calls = _keep_warm_calls(monkeypatch, ticks)
    assert calls[0] == 0  # at once
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps and all(gap < data.TTL for gap in gaps)  # every entry is recomputed before it expires
    assert len(calls) <= 40 * 60 / (data.TTL - 120) + 1  # and not more often than that


def test_keep_warm_warms_a_new_database_version_at_once(monkeypatch):
    ticks = _Ticks(n=5, step=60, versions=["v1", "v1", "v2", "v2", "v2"])  # a publish after 2 minutes
    assert _keep_warm_calls(monkeypatch, ticks) == [0, 120]


def test_keep_warm_waits_for_a_database(monkeypatch):
    from dashboard import data
    from motcua import db as dbmod

    ticks = _Ticks(n=3, step=60, versions=["v1"])
    state = {"missing": 2}

    def version() -> str:
        if state["missing"]:
            state["missing"] -= 1
            raise dbmod.DatabaseUnavailable("chưa có")
        return "v1"

    calls = []
    monkeypatch.setattr(data, "warm_start", lambda: calls.append(ticks.now) or None)
    monkeypatch.setattr(data, "get_db", lambda: type("Db", (), {"version": staticmethod(version)})())
    data.keep_warm(ticks, check_every=60, clock=ticks.clock)
    assert calls == [120]  # the first check after the database appeared


def test_each_warm_start_computes_its_entries_anew(tmp_path, monkeypatch):
    """A cache hit does not extend an entry's TTL: a warm start that only read the cache would leave the
    entries to expire minutes later. Each one recomputes what it warms, so the TTL starts again."""
    path = dbfactory.sample_db(tmp_path / "s.duckdb", n=400)
    monkeypatch.setenv("MOTCUA_DB", str(path))
    from dashboard import data

    calls = []
    real = metrics.league_table
    monkeypatch.setattr(metrics, "league_table", lambda *a, **k: calls.append(1) or real(*a, **k))
    data._warmed.clear()
    data.warm_start()
    data.warm_start()
    assert len(calls) == 2

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

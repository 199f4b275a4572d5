"""Shared links that used to crash a page (issue 12 item 9): a Vietnamese warning, the page keeps working."""

from __future__ import annotations

import dbfactory
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import url_state

pytestmark = pytest.mark.apptest

HOSTILE_LINKS = [
    {"at_risk": "\u00b2"},  # '²' (?at_risk=%C2%B2): str.isdigit() is True, int() raises
    {"at_risk": "99999999999999999999"},
    {"period": "0001-01-01_9999-12-31"},
    {"period": "9999Q4"},
    {"calendar": "\u00b2", "early_rule": "x" * 5000},
    {"unit": "\u00b2,![x](http://h/x.png)"},
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return dbfactory.sample_db(tmp_path_factory.mktemp("url") / "sample.duckdb")


@pytest.mark.parametrize("params", HOSTILE_LINKS, ids=lambda p: repr(p)[:40])
def test_hostile_link_warns_in_vietnamese_and_page_works(sample, params, monkeypatch, tmp_path):
    monkeypatch.setenv("MOTCUA_DB", str(sample))
    monkeypatch.setenv("MOTCUA_USERS", str(tmp_path / "absent.toml"))
    at = AppTest.from_string("from dashboard import pickers, state\nfrom dashboard.views import tong_quan\n"
                             "state.begin_run()\npickers.render_sidebar()\ntong_quan.render()\n",
                             default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "đường dẫn" in warnings.lower() or "không tìm thấy" in warnings.lower(), warnings
    assert at.metric  # the page still shows its numbers


@pytest.mark.parametrize("code", ["0001-01-01_9999-12-31", "2026-12-31_2026-01-01", "9999Q4", "0000Q1"])
def test_out_of_range_period_codes_decode_to_a_warning(code):
    view, warnings = url_state.decode({"period": code})
    assert view.period is None and warnings

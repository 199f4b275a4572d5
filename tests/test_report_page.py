"""AppTest of the Báo cáo page: preview numbers, download buttons, empty period."""

from __future__ import annotations

import pytest
from report_fixtures import build_report_db
from streamlit.testing.v1 import AppTest

from motcua import metrics
from motcua.db import Database
from motcua.filters import Scope
from motcua.fmt import fmt_count, fmt_pct
from motcua.periods import parse_period

pytestmark = pytest.mark.apptest

SCRIPT = ("from dashboard import pickers, state\nfrom dashboard.views import bao_cao\nstate.begin_run()\n"
          "pickers.render_sidebar()\nbao_cao.render()\n")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return build_report_db(tmp_path_factory.mktemp("report-page") / "motcua.duckdb")


def _run(monkeypatch, db_path, **params) -> AppTest:
    monkeypatch.setenv("MOTCUA_DB", str(db_path))
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_previews_the_report_and_offers_the_downloads(monkeypatch, db_path):
    at = _run(monkeypatch, db_path, unit="10001", period="2026Q2", calendar="calendar")
    kpis = metrics.compute_kpis(Database(db_path), Scope(unit_codes=("10001",)), parse_period("2026Q2"))
    texts = [m.value for m in at.markdown]
    received = next(t for t in texts if t.startswith("Tổng số hồ sơ tiếp nhận"))
    assert f"{fmt_count(kpis['received']['new'])} hồ sơ" in received
    assert fmt_pct(kpis["rates"]["online_rate"]) in received
    labels = [button.label for button in at.get("download_button")]
    assert labels == ["Tải Excel – Biểu 06 và phụ lục", "Tải Word – dự thảo báo cáo",
                      "Tải bản tóm tắt một trang (PDF)"]  # one unit: no zip
    bieu06 = at.dataframe[0].value
    assert bieu06.iloc[-1]["Lĩnh vực"] == "Tổng cộng"
    assert bieu06.iloc[-1]["Nhận: tổng số"] == kpis["received"]["total"]
    assert bieu06.iloc[-1]["Đang GQ: quá hạn"] == kpis["pending"]["overdue"]


def test_all_units_view_offers_the_batch_zip(monkeypatch, db_path):
    at = _run(monkeypatch, db_path, period="2026Q2", calendar="calendar")
    labels = [button.label for button in at.get("download_button")]
    assert "Tải bộ báo cáo (zip)" in labels
    assert any("3 đơn vị có hồ sơ trong kỳ" in caption.value for caption in at.caption)


def test_empty_period_shows_the_empty_state(monkeypatch, db_path):
    at = _run(monkeypatch, db_path, unit="10001", period="2024Q1", calendar="calendar")
    assert any("Không có hồ sơ trong kỳ" in info.value for info in at.info)
    assert not at.get("download_button")


def test_file_cache_builds_each_pack_once_and_evicts_the_oldest():
    import threading

    from dashboard.views.bao_cao import _FileCache

    cache, calls = _FileCache(2), []

    def build(value):
        def _build():
            calls.append(value)
            return value
        return _build

    threads = [threading.Thread(target=cache.get, args=(("a",), build("a"))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["a"]  # five concurrent clicks, one build
    cache.get(("b",), build("b"))
    cache.get(("c",), build("c"))
    assert cache.get(("a",), build("a2")) == "a2"  # "a" was evicted (size 2)

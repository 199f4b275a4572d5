"""AppTest checks of the second dashboard round (issue 13): ranks, numeric sorting, data freshness,
partial periods, one-click drill to a unit, the service-index estimate. Each failed on the old pages."""

from __future__ import annotations

import json
from datetime import datetime

import dbfactory
import pyarrow as pa
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest
from test_apptest_pages import APP, PAGES, page_app, query_param, run, texts

from dashboard.views import so_sanh
from motcua import db as dbmod
from motcua import fmt, metrics, periods
from motcua.filters import Scope

pytestmark = pytest.mark.apptest
_REAL_DOWNLOAD = DeltaGenerator.download_button


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return dbfactory.sample_db(tmp_path_factory.mktemp("round2") / "sample.duckdb")


def _app(module: str, sample, monkeypatch, **params) -> AppTest:
    monkeypatch.setenv("MOTCUA_DB", str(sample))
    at = page_app(module)
    for key, value in params.items():
        at.query_params[key] = value
    return run(at)


def display_values(element):
    """The text a user sees in a st.dataframe cell (the Styler's display values), by position."""
    return pa.ipc.open_stream(element.proto.arrow_data.styler.display_values).read_pandas()


def test_compare_rank_columns_are_distinct_and_rows_follow_the_chosen_metric(sample, monkeypatch):
    at = _app("so_sanh", sample, monkeypatch)
    league = at.dataframe[0].value
    rank_headers = [c for c in league.columns if c.startswith("Hạng")]
    assert len(rank_headers) == len(set(rank_headers)) >= 6  # one named rank per metric, none collapsed
    assert "Hạng – trực tuyến" in rank_headers and "Hạng – thanh toán trực tuyến" in rank_headers
    for key in ("on_time_rate_766", "online_rate"):
        at.selectbox(key="compare_rate").set_value(key)
        run(at)
        league = at.dataframe[0].value
        values = league[metrics.RATES[key].label].iloc[1:].tolist()  # row 0 is the scope total
        assert values == sorted(values, reverse=True)
        ranks = league[next(c for c in league.columns if c.startswith("Hạng"))].iloc[1:].tolist()
        assert ranks == sorted(ranks) and ranks[0] == 1


def test_numbers_stay_numeric_with_vietnamese_display(sample, monkeypatch):
    at = _app("so_sanh", sample, monkeypatch)
    element = at.dataframe[0]
    league = element.value
    column = metrics.RATES["online_rate"].label
    assert league[column].dtype.kind == "f"  # header clicks sort numbers, not text
    assert league["Tổng số hồ sơ nhận giải quyết"].dtype.kind in "fi"
    period = periods.parse_period(at.sidebar.selectbox(key="f_period").value)
    kpis = metrics.compute_kpis(dbmod.Database(sample), Scope(), period)
    shown = display_values(element)
    position = list(league.columns).index(column)
    assert shown.iloc[0, position] == fmt.fmt_pct(kpis["rates"]["online_rate"])


@pytest.mark.parametrize("module", [*PAGES, "bao_cao"])
def test_every_page_says_until_when_data_runs(module, sample, monkeypatch):
    at = _app(module, sample, monkeypatch)
    until = _until(sample)
    assert f"Số liệu đến ngày {fmt.fmt_date(until)}" in texts(at.caption)


def test_partial_period_is_marked_and_compared_with_the_same_span(sample, monkeypatch):
    # Data ends late September 2026; the report quarter Q4 runs 15/09–14/12.
    until = _until(sample)
    at = _app("tong_quan", sample, monkeypatch, period="2026Q4", calendar="report")
    warning = " ".join(texts(at.warning))
    assert "Kỳ chưa đủ số liệu" in warning and "cùng khoảng thời gian của kỳ trước" in warning
    # Cards compare with 15/06 to the same day in June (same number of days), not with the whole of Q3.
    same_span = f"cùng khoảng của kỳ trước (Từ 15/06/2026 đến {until.day:02d}/06/2026)"
    assert any(same_span in c for c in texts(at.caption)), texts(at.caption)


def _until(path):
    return dbmod.Database(path).query_rows("SELECT max(greatest(received_day, coalesce(closed_day, received_day))) "
                                           "FROM kpi_facts")[0][0]


def test_pending_rise_is_coloured_as_bad(sample, monkeypatch):
    at = _app("tong_quan", sample, monkeypatch)
    from streamlit.proto.Metric_pb2 import Metric as MetricProto

    for key in ("pending_total", "overdue"):
        card = next(m for m in at.metric if m.label == metrics.COUNTS[key])
        if card.proto.direction == MetricProto.MetricDirection.UP:
            assert card.proto.color == MetricProto.MetricColor.RED, key


def test_compare_row_click_opens_that_units_overview(sample, monkeypatch):
    at = _app("so_sanh", sample, monkeypatch)
    league = at.dataframe[0].value
    element = at.dataframe[0]
    code_by_label = {label: code for code, label in dbfactory_units(sample).items()}
    target = league.iloc[2]["Đơn vị"]
    assert element.proto.selection_mode  # the table is selectable (one row)
    at.session_state["compare_league"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    run(at)
    assert at.session_state["f_units"] == [code_by_label[target]]


@pytest.mark.parametrize("clicked", ["bar", "row"])
def test_compare_click_opens_the_overview_before_the_page_is_drawn_again(sample, monkeypatch, clicked):
    """The run a click starts switches to Tổng quan before So sánh draws the clicked chart or its 300-row
    table again (on 1M dossiers that redraw cost up to ~0.5 s of the click before the switch)."""
    import streamlit as st

    from dashboard import components
    from dashboard.views import so_sanh

    at = _app("so_sanh", sample, monkeypatch)
    code = dbfactory.commune_codes()[1]
    drawn, opened = [], []
    real_table, real_chart = components.table, components.chart
    monkeypatch.setattr(components, "table", lambda *a, **k: drawn.append("table") or real_table(*a, **k))
    monkeypatch.setattr(components, "chart", lambda *a, **k: drawn.append("chart") or real_chart(*a, **k))

    def open_overview(unit: str) -> None:
        opened.append((unit, list(drawn)))
        st.stop()

    monkeypatch.setattr(so_sanh, "_open_overview", open_overview)
    if clicked == "bar":
        at.session_state["compare_bars_online_rate"] = {
            "selection": {"points": [{"customdata": [code]}], "point_indices": [0], "box": [], "lasso": []}}
    else:
        league = at.dataframe[0].value
        row = next(i for i, label in enumerate(league["Đơn vị"]) if i and label == dbfactory_units(sample)[code])
        at.session_state["compare_league"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    run(at)
    # A bar click reruns only the charts' tab (a fragment; the table above is not redrawn in the browser).
    assert opened == [(code, ["table"] if clicked == "bar" else [])]


def dbfactory_units(path) -> dict[str, str]:
    return dict(dbmod.Database(path).query_rows(
        "SELECT code, name FROM units WHERE code IN (SELECT DISTINCT receiving_unit_code FROM dossiers)"))


def test_overview_shows_estimate_rank_and_actions(sample, monkeypatch):
    code = dbfactory.commune_codes()[0]
    at = _app("tong_quan", sample, monkeypatch, unit=code, period="2026Q3", calendar="calendar")
    assert any(s.value.startswith("Chỉ số phục vụ người dân, doanh nghiệp (ước tính)") for s in at.subheader)
    rank = next(m for m in at.metric if m.label == "Xếp hạng trong tỉnh")
    assert rank.value.startswith("hạng ") and rank.value.endswith("/3")  # the three sample communes, Hà Nội
    assert any("Tối đa" in (m.help or "") for m in at.metric)


def test_shared_link_carries_metric_sort_and_tab(sample, monkeypatch):
    tab = "ban-do-nhiet-don-vi-thang"  # the tab "Bản đồ nhiệt đơn vị × tháng"
    at = _app("so_sanh", sample, monkeypatch, metric="on_time_rate_766", sort="name", tab=tab)
    assert at.selectbox(key="compare_rate").value == "on_time_rate_766"
    league = at.dataframe[0].value
    names = league["Đơn vị"].iloc[1:].tolist()
    assert names == sorted(names)  # sorted by name, as the link said
    assert query_param(at, "metric") == ["on_time_rate_766"] and query_param(at, "sort") == ["name"]
    assert query_param(at, "tab") == [tab]
    # A colleague changing the metric gets it in the URL at once.
    at.selectbox(key="compare_rate").set_value("digitized_intake_rate")
    run(at)
    assert query_param(at, "metric") == ["digitized_intake_rate"]


def test_shared_link_reopens_the_drill_down(sample, monkeypatch):
    at = _app("tien_do", sample, monkeypatch, by="field", drill="field:Hộ tịch:late", period="2026Q3",
              calendar="calendar")
    assert at.button_group(key="progress_by").value == "field"
    assert any("lĩnh vực hộ tịch" in c.value.lower() and "quá hạn" in c.value.lower() for c in at.caption)
    assert query_param(at, "drill") == ["field:Hộ tịch:late"]
    bad = _app("tien_do", sample, monkeypatch, drill="field:Hộ tịch:nope")
    assert any("không hợp lệ" in w.value for w in bad.warning)


def test_default_period_is_complete_and_has_data_for_the_chosen_unit(sample, monkeypatch, tmp_path):
    # Report calendar: data ends late September, so Q4 (from 15/09) is partial; Q3 is the default.
    at = _app("tong_quan", sample, monkeypatch, calendar="report")
    assert at.sidebar.selectbox(key="f_period").value == "2026Q3"
    # A unit whose data starts in 2026 is never offered the empty quarters of another unit's 2025 data.
    import pandas as pd

    old, new = dbfactory.commune_codes()[:2]
    frame = pd.concat([dbfactory.make_dossiers(40, [old], datetime(2025, 1, 2), datetime(2026, 6, 30)),
                       dbfactory.make_dossiers(40, [new], datetime(2026, 4, 1), datetime(2026, 6, 30), seed=9)],
                      ignore_index=True)
    frame["dossier_code"] = [f"X-{i}" for i in range(len(frame))]
    path = dbfactory.build_db(tmp_path / "two.duckdb", frame)
    at = _app("tong_quan", path, monkeypatch, unit=new)
    assert at.sidebar.selectbox(key="f_period").options == ["Quý 2/2026"]


def test_default_period_between_is_the_one_rule_of_picker_and_warm_start(monkeypatch):
    """Never past today, never a period the data does not cover to its end (unless none is complete)."""
    from datetime import date

    from dashboard import state
    from motcua import vntime

    monkeypatch.setattr(vntime, "today", lambda: date(2026, 9, 30))

    def default(first, last, kind="quarter"):
        return state.default_period_between(first, last, kind, "calendar").code

    assert default(date(2025, 1, 2), date(2026, 12, 31)) == "2026Q3"  # a future-dated dossier moves nothing
    assert default(date(2025, 1, 2), date(2026, 8, 15)) == "2026Q2"  # Q3 runs past the data
    assert default(date(2026, 8, 1), date(2026, 8, 15)) == "2026Q3"  # none complete: the newest
    assert default(None, None) == "2026Q3"  # no data yet: today's period
    assert default(date(2026, 1, 5), date(2026, 9, 29), "month") == "2026M08"


def _download_names(module: str, sample, monkeypatch, **params) -> list[str]:
    """Every download file name a page offers (st.download_button spied before the page draws)."""
    monkeypatch.setenv("MOTCUA_DB", str(sample))
    script = (
        "import streamlit as st\n"
        "from dashboard import pickers, state\n"
        f"from dashboard.views import {module}\n"
        "from streamlit.delta_generator import DeltaGenerator\n"
        "names = []\n"
        "real = DeltaGenerator.download_button\n"
        "def spy(self, *args, **kwargs):\n"
        "    names.append(kwargs.get('file_name'))\n"
        "    return real(self, *args, **kwargs)\n"
        "DeltaGenerator.download_button = spy\n"
        "state.begin_run()\n"
        "pickers.render_sidebar()\n"
        f"{module}.render()\n"
        "st.session_state['_download_names'] = names\n"
    )
    at = AppTest.from_string(script, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    try:
        return run(at).session_state["_download_names"]
    finally:
        DeltaGenerator.download_button = _REAL_DOWNLOAD  # the spy must not outlive the test


@pytest.mark.parametrize("module", ["tong_quan", "so_sanh", "bao_cao"])
def test_download_names_are_vietnamese_and_carry_unit_period_calendar(module, sample, monkeypatch):
    import re

    code = dbfactory.commune_codes()[0]  # Phường Ba Đình
    names = {}
    for calendar in ("calendar", "report"):
        params = {"period": "2026Q3", "calendar": calendar}
        if module != "so_sanh":
            params["unit"] = code
        names[calendar] = _download_names(module, sample, monkeypatch, **params)
        assert names[calendar]
        suffix = "duong-lich" if calendar == "calendar" else "ky-bao-cao"
        for name in names[calendar]:
            assert re.fullmatch(rf"([a-z0-9-]+_)?[a-z0-9-]+_2026Q3_{suffix}\.(csv|xlsx|docx|zip|pdf)", name), name
            assert not re.search(r"overview|compare|progress|_at_risk|rate", name), name  # no English names
    assert not set(names["calendar"]) & set(names["report"])  # two calendars never collide


@pytest.mark.parametrize("module", ["tong_quan", "bao_cao"])
def test_brief_is_offered_on_overview_and_report(module, sample, monkeypatch):
    at = _app(module, sample, monkeypatch, unit=dbfactory.commune_codes()[0], period="2026Q3")
    assert "Tải bản tóm tắt một trang (PDF)" in [b.label for b in at.get("download_button")]


def test_months_without_data_are_not_drawn_as_zero(sample, monkeypatch):
    # Report Q4/2026 runs to 14/12; the data ends in late September: Nov and Dec have no data yet.
    at = _app("tong_quan", sample, monkeypatch, period="2026Q4", calendar="report", tab="ty-le-theo-thang")
    trend = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("overview_trend_rates"))
    import base64
    import math

    import numpy as np
    import plotly.io as pio

    for trace in pio.from_json(trend.proto.spec).data:
        y = trace.y
        if isinstance(y, dict):  # plotly's typed-array JSON
            y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
        values = dict(zip(trace.x, y, strict=True))
        assert math.isnan(values["Tháng 11/2026"]) and math.isnan(values["Tháng 12/2026"]), trace.name


def test_admin_enters_a_component_and_the_estimate_lists_it(tmp_path, monkeypatch):
    frame = dbfactory.make_dossiers(60, dbfactory.commune_codes()[:1], datetime(2026, 4, 1), datetime(2026, 6, 30))
    path = dbfactory.build_db(tmp_path / "inputs.duckdb", frame)
    code = dbfactory.commune_codes()[0]
    at = _app("du_lieu", path, monkeypatch, unit=code, period="2026Q2", calendar="calendar")
    _by_label(at.selectbox, "Thành phần").set_value("hl_pakn_on_time")
    _by_label(at.number_input, "Điểm").set_value(5.5)
    next(b for b in at.button if b.label.startswith("Lưu cho")).click()
    run(at)
    assert any("Đã lưu 1 điểm" in s.value for s in at.success)
    rows = dbmod.Database(path).query_rows("SELECT unit_code, component, points, entered_by FROM index_inputs")
    assert [row[:3] for row in rows] == [(code, "hl_pakn_on_time", 5.5)]
    overview = _app("tong_quan", path, monkeypatch, unit=code, period="2026Q2", calendar="calendar")
    assert any("nhập tay: 1" in c.value for c in overview.caption)
    too_much = _app("du_lieu", path, monkeypatch, unit=code, period="2026Q2", calendar="calendar")
    _by_label(too_much.selectbox, "Thành phần").set_value("ck_public")  # at most 4 points
    _by_label(too_much.number_input, "Điểm").set_value(9.0)
    next(b for b in too_much.button if b.label.startswith("Lưu cho")).click()
    run(too_much)
    assert any("ngoài khoảng" in e.value for e in too_much.error)


def _by_label(elements, label: str):
    return next(e for e in elements if e.label == label)


def test_long_tables_skip_the_slow_styler_but_stay_numeric():
    import pandas as pd

    from dashboard import components as ui

    cols = [ui.Col("code", "Mã"), ui.Col("left", "Còn (ngày LV)", "int")]
    frame = pd.DataFrame({"code": [f"X{i}" for i in range(6000)], "left": range(6000)})
    shown = ui.display_frame(frame, cols)
    assert ui.styled(shown, cols) is shown and shown["Còn (ngày LV)"].dtype.kind == "f"
    config = ui.column_config(cols, plain_numbers=True)
    assert config["Còn (ngày LV)"]["type_config"]["format"] == "%d"
    small = ui.display_frame(frame.iloc[995:1005], cols)
    assert ui.styled(small, cols) is not small  # 1.000 needs the Styler's Vietnamese display


def test_tables_skip_the_styler_where_plain_formats_show_the_same():
    """Whole numbers below 1.000 with none missing look the same through "%d": no Styler (its cost was
    0.08 s of a ranking click on the at-risk list). Thousands, decimals, rates and missing values keep it."""
    import pandas as pd

    from dashboard import components as ui

    def shown_plain(cols, frame) -> bool:
        shown = ui.display_frame(frame, cols)
        return ui.styled(shown, cols) is shown

    days = [ui.Col("code", "Mã"), ui.Col("left", "Còn (ngày LV)", "int"), ui.Col("due", "Hạn", "date")]
    frame = pd.DataFrame({"code": ["A", "B"], "left": [-999, 999], "due": pd.to_datetime(["2026-01-02", None])})
    assert shown_plain(days, frame)
    assert not shown_plain(days, frame.assign(left=[-1000, 3]))
    assert not shown_plain(days, frame.assign(left=[None, 3]))  # the Styler's "–"
    assert not shown_plain(days, frame.assign(left=[1.5, 3]))
    assert not shown_plain([ui.Col("rate", "Tỷ lệ", "pct")], pd.DataFrame({"rate": [0.5]}))
    assert not shown_plain([ui.Col("score", "Điểm", "num")], pd.DataFrame({"score": [5.0]}))
    assert shown_plain([ui.Col("code", "Mã")], pd.DataFrame({"code": ["A"]}))


def test_at_risk_grid_shows_its_days_through_plain_formats(sample, monkeypatch):
    at = _app("tong_quan", sample, monkeypatch, unit=dbfactory.commune_codes()[0], period="2026Q2",
              calendar="calendar")
    listing = next(d for d in at.dataframe if "Cảnh báo" in d.value.columns)
    assert not listing.proto.arrow_data.HasField("styler")
    config = json.loads(listing.proto.columns)
    assert config["Còn (ngày LV)"]["type_config"]["format"] == "%d"
    assert config["Hạn trả"]["type_config"]["format"] == "DD/MM/YYYY"
    assert listing.value["Còn (ngày LV)"].dtype.kind == "f"  # still numbers: a header click sorts numerically


def test_at_risk_list_puts_warning_days_due_and_procedure_first(sample, monkeypatch):
    at = _app("tong_quan", sample, monkeypatch, unit=dbfactory.commune_codes()[0], period="2026Q2",
              calendar="calendar")
    listing = next(d for d in at.dataframe if "Cảnh báo" in d.value.columns)
    columns = list(listing.value.columns)
    assert columns[:4] == ["Cảnh báo", "Còn (ngày LV)", "Hạn trả", "Thủ tục"]
    assert "Đơn vị giải quyết" in columns and "Phòng ban xử lý" in columns


def test_at_risk_phone_items_lead_with_warning_and_escape_data_text(sample, monkeypatch):
    """The phone view of the at-risk list (shown below 640 px): same order of facts, data text literal."""
    import pandas as pd

    from dashboard.views import tong_quan

    frame = pd.DataFrame({"risk": ["overdue", "due_soon"], "working_days_left": [-3, 2],
                          "due_at": pd.to_datetime(["2026-06-01", "2026-07-02"]),
                          "procedure_name": ["**Khai sinh** [x](http://e.vn)", "Kết hôn"],
                          "dossier_code": ["HS-1", "HS-2"]})
    items = tong_quan.phone_items(frame).splitlines()
    assert items[0] == "- 🔴 **Đã quá hạn** · quá 3 ngày LV · hạn 01/06/2026  "
    assert items[1] == f"  {fmt.md('**Khai sinh** [x](http://e.vn)')} · HS-1" and "\\*\\*Khai" in items[1]
    assert items[2].startswith("- 🟠 **Sắp đến hạn** · còn 2 ngày LV · hạn 02/07/2026")
    at = _app("tong_quan", sample, monkeypatch, unit=dbfactory.commune_codes()[0], period="2026Q2",
              calendar="calendar")
    phone = [m.value for m in at.markdown if "ngày LV · hạn" in m.value]
    assert phone and phone[0].startswith("- 🔴 **Đã quá hạn** · quá ")


def test_overview_opens_without_a_chart_and_draws_one_monthly_view_once_opened(sample, monkeypatch):
    """Tổng quan opens with no chart: its months are a closed section (the first chart a browser draws runs
    Plotly's module, which held the cards back ~1 s on a cold link). Opened, only the open tab of its two
    monthly views is drawn; a link that names a tab opens the section on it, and closing the section takes
    the tab out of the URL."""
    from dashboard.views import tong_quan

    code = dbfactory.commune_codes()[0]

    def chart_ids(at) -> list[str]:
        return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]

    at = _app("tong_quan", sample, monkeypatch, unit=code, period="2026Q3", calendar="calendar")
    assert tong_quan.TREND_LABEL in [e.label for e in at.expander]
    assert chart_ids(at) == [] and not at.tabs
    assert [h.value for h in at.subheader][-2:] == [tong_quan.TREND_HEADING, "Hồ sơ quá hạn và sắp đến hạn"]
    at.session_state["overview_trend_open"] = True  # what the browser sends when the user opens it
    run(at)
    assert [t.label for t in at.tabs][:2] == ["Tỷ lệ theo tháng", "Kết quả giải quyết theo tháng"]
    assert chart_ids(at) == ["overview_trend_rates"]
    assert at.query_params["tab"] == "ty-le-theo-thang"
    at.session_state["overview_trend_open"] = False
    run(at)
    assert chart_ids(at) == [] and "tab" not in at.query_params
    at = _app("tong_quan", sample, monkeypatch, unit=code, period="2026Q3", calendar="calendar",
              tab="ket-qua-giai-quyet-theo-thang")
    assert chart_ids(at) == ["overview_trend_buckets"]


def test_overview_index_trend_and_components_are_drawn_once_opened(sample, monkeypatch):
    """The 12-month score/rank chart and the components' table (formula and source of each part) are
    built only once their expander is opened (the chart was a second Plotly chart on every opening of a
    commune); opened, the chart comes with its caption and downloads."""
    from dashboard.views import tong_quan

    at = _app("tong_quan", sample, monkeypatch, unit=dbfactory.commune_codes()[0], period="2026Q3",
              calendar="calendar")

    def chart_ids() -> list[str]:
        return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]

    def component_tables() -> list:
        return [d for d in at.dataframe if "Cách tính" in d.value.columns]

    assert {tong_quan.INDEX_TREND_LABEL, tong_quan.COMPONENTS_LABEL} <= {e.label for e in at.expander}
    assert chart_ids() == [] and component_tables() == []
    at.session_state["overview_index_trend_open"] = True  # what the browser sends when the user opens it
    at.session_state["overview_index_parts"] = True
    run(at)
    assert chart_ids() == ["overview_index_trend"]
    assert any("12 tháng" in c.value for c in at.caption)
    assert {"overview_index_trend_data_csv", "overview_index_trend_data_xlsx"} <= {
        b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    (table,) = component_tables()
    assert {"Thành phần", "Điểm", "Nguồn"} <= set(table.value.columns) and len(table.value) >= 4


def test_side_by_side_card_is_one_element_with_each_metric_and_rank(sample, monkeypatch):
    """Each unit's card in "So sánh trực tiếp" is one Markdown element (it was nine: every element costs the
    browser a share of each page render), still naming the unit, its volume and every metric with its rank."""
    at = _app("so_sanh", sample, monkeypatch)
    chosen = at.multiselect(key="compare_units").value
    cards = [m.value for m in at.markdown if "hồ sơ nhận giải quyết" in m.value]
    assert chosen and len(cards) == len(chosen)
    for card in cards:
        assert card.count("(hạng ") >= len(so_sanh.METRIC_CHOICES) - 1  # a unit without a value has no rank
        assert all(so_sanh.metric_label(key) in card for key in so_sanh.METRIC_CHOICES)


def test_side_by_side_charts_are_drawn_once_their_section_is_opened(sample, monkeypatch):
    """"So sánh trực tiếp" opens with its cards only: the chosen units' monthly chart and the service-index
    radar are each built once their section is opened (the monthly chart was a Plotly chart on every opening
    of So sánh, a cold shared link included); opened, each draws the chosen units."""
    at = _app("so_sanh", sample, monkeypatch, metric="online_rate")
    chosen = at.multiselect(key="compare_units").value

    def chart_ids() -> list[str]:
        return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]

    assert {so_sanh.SIDE_MONTHS_LABEL, so_sanh.SIDE_RADAR_LABEL} <= {e.label for e in at.expander}
    assert chart_ids() == ["compare_bars_online_rate"]
    at.session_state["compare_side_months"] = True  # what the browser sends when the user opens it
    run(at)
    assert chart_ids() == ["compare_bars_online_rate", "compare_multiples_online_rate"]
    multiples = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert len(multiples["data"]) == len(chosen)
    at.session_state["compare_side_radar"] = True
    run(at)
    assert chart_ids()[-1] == "compare_radar"
    radar = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert radar["data"] and all(trace["type"] == "scatterpolar" for trace in radar["data"])
    # The service-index score has no monthly chart: only the radar is offered.
    at = _app("so_sanh", sample, monkeypatch, metric=so_sanh.SCORE)
    labels = {e.label for e in at.expander}
    assert so_sanh.SIDE_RADAR_LABEL in labels and so_sanh.SIDE_MONTHS_LABEL not in labels


def test_a_sessions_first_run_asks_for_the_chart_and_table_bundles_first(sample, monkeypatch):
    """``components.load_bundles_early``: the first run of a session opens with an empty Plotly chart and an
    empty table (hidden by CSS), so the browser loads both bundles while the page computes; later runs do not.
    Tổng quan, which opens without a chart, asks for the table's only: running Plotly's module held its
    cards back (the browser runs it once the page is drawn, ``server.idle_module_runs``)."""
    monkeypatch.setenv("MOTCUA_DB", str(sample))
    script = """
from dashboard import components
components.load_bundles_early()
components.load_bundles_early()  # a second call in the same session: nothing
"""
    at = run(AppTest.from_string(script, default_timeout=60))
    assert len(at.dataframe) == 1 and at.dataframe[0].value.empty and len(at.get("plotly_chart")) == 1
    hidden = json.loads(at.get("plotly_chart")[0].proto.spec)  # no axes or grid for Plotly to lay out and draw
    assert not hidden["data"] and hidden["layout"]["height"] <= 20
    assert hidden["layout"]["xaxis"]["visible"] is False and hidden["layout"]["yaxis"]["visible"] is False
    run(at)
    assert len(at.dataframe) == 0 and len(at.get("plotly_chart")) == 0

    at = run(AppTest.from_file(APP, default_timeout=60))  # Tổng quan, the default page
    first_tables = len(at.dataframe)
    assert at.dataframe[0].value.empty and first_tables >= 2  # the hidden one, then the page's own
    assert at.get("plotly_chart") == []  # neither a warm-up chart nor one of the page's
    run(at)
    assert len(at.dataframe) == first_tables - 1



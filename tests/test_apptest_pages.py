"""AppTest smoke tests: every dashboard page on a sample-like, an empty and a single-commune database."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import dbfactory
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import pickers
from motcua import db as dbmod
from motcua import fmt, metrics, periods
from motcua.filters import Scope

pytestmark = pytest.mark.apptest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
# module -> page title; the report page (bao_cao) is owned and tested by the report helper.
PAGES = {
    "tong_quan": "Tổng quan",
    "tien_do": "Tiến độ giải quyết",
    "truc_tuyen": "Trực tuyến & mức độ DVC",
    "so_hoa": "Số hóa & thanh toán",
    "so_sanh": "So sánh đơn vị",
    "du_lieu": "Dữ liệu",
}
KPI_PAGES = ("tong_quan", "tien_do", "truc_tuyen", "so_hoa", "so_sanh")
EMPTY = "Không có hồ sơ trong kỳ"


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("apptest-dbs")
    return {
        "sample": dbfactory.sample_db(folder / "sample.duckdb"),
        "empty": dbfactory.empty_db(folder / "empty.duckdb"),
        "single": dbfactory.single_commune_db(folder / "single.duckdb"),
    }


def page_app(module: str) -> AppTest:
    """One page rendered through the shared sidebar, as the entry script does."""
    script = (
        "from dashboard import pickers, state\n"
        f"from dashboard.views import {module}\n"
        "state.begin_run()\n"
        "pickers.render_sidebar()\n"
        f"{module}.render()\n"
    )
    return AppTest.from_string(script, default_timeout=60)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query_param(at: AppTest, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


@pytest.mark.parametrize("module", list(PAGES))
def test_page_on_sample_db(module, dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = run(page_app(module))
    assert texts(at.title) == [PAGES[module]]
    assert "Chế độ demo (không đăng nhập)" in texts(at.sidebar.caption)
    assert EMPTY not in texts(at.info)
    if module in ("tong_quan", "tien_do", "truc_tuyen", "so_hoa"):
        assert at.metric, "KPI cards expected"
        # Rates, counts, index points (decimal comma) and the rank "hạng 2/3"; nothing else in a card.
        assert all(re.fullmatch(r"[\d.]+(,\d+)?%?|–|hạng \d+/\d+", m.value) for m in at.metric), texts(at.metric)
    if module in ("so_sanh", "du_lieu"):
        assert at.dataframe, "tables expected"
    # Missing cells (e.g. the end date of a pending dossier) are blank, never Streamlit's "None".
    assert all(frame.proto.placeholder == "" and frame.proto.HasField("placeholder") for frame in at.dataframe)


@pytest.mark.parametrize("module", list(PAGES))
def test_page_on_empty_db(module, dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["empty"]))
    at = run(page_app(module))
    assert texts(at.title) == [PAGES[module]]
    if module in KPI_PAGES:
        assert EMPTY in texts(at.info)
        assert not at.metric
    else:
        assert "Chưa có lần nạp dữ liệu nào." in texts(at.info)


@pytest.mark.parametrize("module", list(PAGES))
def test_page_on_single_commune_db(module, dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["single"]))
    at = run(page_app(module))
    assert texts(at.title) == [PAGES[module]]
    # The only commune with dossiers is offered by its name, not its code.
    options = at.sidebar.multiselect(key="f_units").options
    assert len(options) == 1 and "Phường Ba Đình" in options[0]


def test_missing_database_shows_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(tmp_path / "none.duckdb"))
    at = run(page_app("tong_quan"))
    assert any("Chưa có cơ sở dữ liệu" in e for e in texts(at.error))


def test_overview_numbers_come_from_metrics(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = run(page_app("tong_quan"))
    period = periods.parse_period(at.sidebar.selectbox(key="f_period").value)
    kpis = metrics.compute_kpis(dbmod.Database(dbs["sample"]), Scope(), period)
    shown = {m.label: m.value for m in at.metric}
    assert shown[metrics.COUNTS["received_total"]] == fmt.fmt_int(kpis["received"]["total"])
    assert shown[metrics.COUNTS["overdue"]] == fmt.fmt_int(kpis["pending"]["overdue"])
    assert shown[metrics.RATES["online_rate"].label] == fmt.fmt_pct(kpis["rates"]["online_rate"])
    assert shown[metrics.RATES["on_time_rate_766"].label] == fmt.fmt_pct(kpis["rates"]["on_time_rate_766"])


def test_url_parameters_set_the_view_and_are_rewritten(dbs, monkeypatch):
    """A shared link (?unit=<name>&period=...&calendar=...) reproduces the view; the URL mirrors widgets."""
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = page_app("tong_quan")
    at.query_params["unit"] = "Xã Sóc Sơn"
    at.query_params["period"] = "2026-Q2"
    at.query_params["calendar"] = "report"
    run(at)
    code = dbfactory.commune_codes(["Xã Sóc Sơn"])[0]
    assert at.sidebar.multiselect(key="f_units").value == [code]
    assert at.sidebar.selectbox(key="f_period").value == "2026Q2"
    assert at.sidebar.radio(key="f_calendar").value == "report"
    assert query_param(at, "unit") == [code]
    assert query_param(at, "period") == ["2026Q2"]
    period = periods.parse_period("2026Q2", "report")
    kpis = metrics.compute_kpis(dbmod.Database(dbs["sample"]), Scope(unit_codes=(code,)), period)
    shown = {m.label: m.value for m in at.metric}
    assert shown[metrics.COUNTS["received_total"]] == fmt.fmt_int(kpis["received"]["total"])
    # Changing a widget rewrites the URL.
    at.sidebar.selectbox(key="f_kind").set_value("month")
    run(at)
    assert query_param(at, "period")[0].startswith("2026M")


def test_bad_url_period_falls_back_with_warning(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = page_app("tong_quan")
    at.query_params["period"] = "quý năm"
    at.query_params["unit"] = "Không Có Xã Này"
    run(at)
    warnings = " ".join(texts(at.sidebar.warning))
    assert "không hợp lệ" in warnings and "Không tìm thấy đơn vị" in warnings
    assert at.metric


def test_definition_settings_change_numbers(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = run(page_app("tien_do"))
    before = {m.label: m.value for m in at.metric}
    at.session_state[pickers.K_SETTINGS_OPEN] = True  # what the browser sends when the user opens it
    run(at)
    at.sidebar.selectbox(key=pickers.setting_widget_key("returned_policy")).set_value("excluded")
    run(at)
    assert query_param(at, "returned") == ["excluded"]
    period = periods.parse_period(at.sidebar.selectbox(key="f_period").value)
    kpis = metrics.compute_kpis(dbmod.Database(dbs["sample"]), Scope(), period,
                                metrics.Settings(returned_policy="excluded"))
    label = metrics.RATES["on_time_rate_resolved"].label
    assert {m.label: m.value for m in at.metric}[label] == fmt.fmt_pct(kpis["rates"]["on_time_rate_resolved"])
    assert before.keys() == {m.label: m.value for m in at.metric}.keys()


def test_progress_grouping_by_field_and_procedure(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = run(page_app("tien_do"))
    for group in ("field", "procedure"):
        at.button_group(key="progress_by").set_value(group)
        run(at)
        assert at.dataframe
        first_column = at.dataframe[0].value.iloc[:, 0].tolist()
        assert ("Hộ tịch" in first_column) if group == "field" else ("Đăng ký khai sinh" in first_column)


def test_compare_page_total_is_sum_over_sum(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = run(page_app("so_sanh"))
    league = at.dataframe[0].value
    assert league.iloc[0, 0] == "Tổng cộng (toàn phạm vi)"
    period = periods.parse_period(at.sidebar.selectbox(key="f_period").value)
    kpis = metrics.compute_kpis(dbmod.Database(dbs["sample"]), Scope(), period)
    column = metrics.RATES["online_rate"].label
    assert league.loc[0, column] == kpis["rates"]["online_rate"]  # numeric; shown as 71,56% by the Styler
    assert len(league) == 1 + 3  # total + three communes


def test_entry_app_runs_default_page(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = AppTest.from_file(APP, default_timeout=60)
    run(at)
    assert texts(at.title) == ["Tổng quan"]
    assert query_param(at, "period")


def test_exports_keep_numbers_numeric_and_headers_vietnamese(tmp_path):
    """Downloads hold the shown columns with the shown headers; XLSX cells stay typed numbers/dates."""
    import openpyxl
    import pandas as pd

    from dashboard import components, exports

    frame = pd.DataFrame({"label": ["Tháng 4/2026", "Tháng 5/2026"], "late": [1277, 3],
                          "online_rate": [0.8825, float("nan")], "received_at": pd.to_datetime(["2026-04-02", None]),
                          "hidden": ["x", "y"]})
    cols = [components.Col("label", "Tháng"), components.Col("late", "Giải quyết quá hạn", "int"),
            components.Col("online_rate", "Tỷ lệ trực tuyến", "pct"),
            components.Col("received_at", "Ngày tiếp nhận", "date")]
    shown = components.display_frame(frame, cols)
    assert list(shown.columns) == ["Tháng", "Giải quyết quá hạn", "Tỷ lệ trực tuyến", "Ngày tiếp nhận"]
    assert shown["Giải quyết quá hạn"].tolist() == [1277, 3]  # numbers stay numbers (numeric sorting)
    text = components.styled(shown, cols).to_html()
    assert "1.277" in text and "88,25%" in text and fmt.NA in text
    numeric = components.export_frame(frame, cols)
    csv = exports.to_csv_bytes(numeric)
    assert csv.startswith(b"\xef\xbb\xbf") and "Giải quyết quá hạn".encode() in csv and b"hidden" not in csv
    target = tmp_path / "t.xlsx"
    target.write_bytes(exports.to_xlsx_bytes(numeric, components.kinds_of(cols), title="Xã A · Quý 2/2026"))
    sheet = openpyxl.load_workbook(target).active
    assert sheet["A1"].value == "Xã A · Quý 2/2026"
    assert [c.value for c in sheet[3]] == list(numeric.columns)
    assert sheet["B4"].value == 1277 and sheet["B4"].number_format == fmt.EXCEL_INT_FORMAT
    assert sheet["C4"].value == 0.8825 and sheet["C4"].number_format == fmt.EXCEL_PCT_FORMAT
    assert sheet["C5"].value is None
    assert sheet["D4"].is_date and sheet["D4"].number_format == fmt.EXCEL_DATE_FORMAT


def test_custom_period_range_is_mirrored_in_url(dbs, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(dbs["sample"]))
    at = page_app("tien_do")
    at.query_params["period"] = "2026-02-10_2026-03-20"
    run(at)
    assert at.sidebar.selectbox(key="f_kind").value == "custom"
    assert query_param(at, "period") == ["2026-02-10_2026-03-20"]
    period = periods.custom_period(date(2026, 2, 10), date(2026, 3, 20))
    kpis = metrics.compute_kpis(dbmod.Database(dbs["sample"]), Scope(), period)
    label = metrics.RATES["on_time_rate_766"].label
    assert {m.label: m.value for m in at.metric}[label] == fmt.fmt_pct(kpis["rates"]["on_time_rate_766"])

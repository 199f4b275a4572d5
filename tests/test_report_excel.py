"""The Excel pack: Biểu 06 cells against the KPI engine, identities, layout and print setup."""

from __future__ import annotations

import io

import openpyxl
import pytest
from kpi_fixtures import make_db
from report_fixtures import build_report_db

from motcua import metrics
from motcua.db import Database
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.report import excel
from motcua.report.data import BIEU06_COLUMNS, collect

PERIOD = parse_period("2026Q2", "report")
SETTINGS = metrics.Settings(calendar="report")
UNIT = Scope(unit_codes=("10001",))
FIRST_DATA_ROW = excel.TABLE_FIRST_ROW + 5  # 1-based: 4 header rows after the 0-based first header row


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return Database(build_report_db(tmp_path_factory.mktemp("report") / "motcua.duckdb"))


@pytest.fixture(scope="module")
def workbook(database):
    data = collect(database, UNIT, PERIOD, SETTINGS)
    return openpyxl.load_workbook(io.BytesIO(excel.workbook_bytes(data))), data


def _table_rows(sheet):
    """(label, [13 values]) per data row, until the total row (inclusive)."""
    rows = []
    for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True):
        rows.append(row[:13])
        if row[0] == "Tổng cộng":
            break
    return rows


def _expected(kpis: dict) -> list[int]:
    r, d, p = kpis["received"], kpis["resolved"], kpis["pending"]
    return [r["total"], r["online"], r["direct"] + r["postal"], r["carried_over"], d["total"], d["early"],
            d["on_time"], d["late"], p["total"], p["within_deadline"], p["overdue"]]


def test_every_field_row_matches_the_kpi_engine_and_the_identities(workbook, database):
    book, _data = workbook
    rows = _table_rows(book["Biểu 06"])
    assert rows[-1][0] == "Tổng cộng"
    assert len(rows) >= 3  # several fields plus the total
    for number, row in enumerate(rows[:-1], start=1):
        assert row[0] == number
        field_scope = Scope(unit_codes=UNIT.unit_codes, field_names=(row[1],))
        assert list(row[2:]) == _expected(metrics.compute_kpis(database, field_scope, PERIOD, SETTINGS)), row[1]
    total = rows[-1]
    assert list(total[2:]) == _expected(metrics.compute_kpis(database, UNIT, PERIOD, SETTINGS))
    for row in rows:
        c = dict(zip(range(1, 14), row, strict=True))
        assert c[3] == c[4] + c[5] + c[6] == c[7] + c[11]
        assert c[7] == c[8] + c[9] + c[10]
        assert c[11] == c[12] + c[13]
    # The total row is the column sum of the field rows.
    for col in range(2, 13):
        assert total[col] == sum(row[col] for row in rows[:-1])


def test_bieu06_layout_headers_and_print_setup(workbook):
    book, data = workbook
    sheet = book["Biểu 06"]
    texts = [cell for row in sheet.iter_rows(max_row=6, values_only=True) for cell in row if cell]
    assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in texts
    assert "Kỳ báo cáo Quý 2/2026 (Từ ngày 15/03/2026 đến ngày 14/06/2026)" in texts
    assert "Đơn vị tính: Số hồ sơ TTHC" in texts
    assert "Tại xã Tứ Kỳ, Thành phố Hải Phòng" in texts and "ỦY BAN NHÂN DÂN XÃ TỨ KỲ" in texts
    assert "Biểu số 06/VPCP/KSTT" in texts
    top = excel.TABLE_FIRST_ROW + 1  # 1-based
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {f"A{top}:A{top + 2}", f"B{top}:B{top + 2}", f"C{top}:F{top}", f"G{top}:J{top}", f"K{top}:M{top}",
            f"C{top + 1}:C{top + 2}", f"D{top + 1}:F{top + 1}"} <= merged
    assert sheet.cell(top, 3).value == "Số hồ sơ nhận giải quyết"
    assert sheet.cell(top, 7).value == "Số hồ sơ đã giải quyết"
    assert sheet.cell(top, 11).value == "Số hồ sơ đang giải quyết"
    assert [sheet.cell(top + 2, col).value for col in (4, 5, 6, 8, 9, 10, 12, 13)] == [
        "Trực tuyến", "Trực tiếp, dịch vụ bưu chính", "Từ kỳ trước", "Trước hạn", "Đúng hạn", "Quá hạn",
        "Trong hạn", "Quá hạn"]
    assert [sheet.cell(top + 3, col).value for col in range(1, 14)] == [f"({n})" for n in range(1, 14)]
    first = sheet.cell(FIRST_DATA_ROW, 3)
    assert isinstance(first.value, int) and first.number_format == "#,##0"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # Fit to one page wide (1 is the OOXML default, so the attribute may be omitted), any number tall.
    assert sheet.page_setup.fitToWidth in (1, None) and sheet.page_setup.fitToHeight == 0
    assert len(BIEU06_COLUMNS) == 11


def test_kpi_sheet_rates_numerators_and_comparisons(workbook, database):
    book, data = workbook
    sheet = book["Chỉ tiêu"]
    rows = {row[1]: row for row in sheet.iter_rows(min_row=excel.TABLE_FIRST_ROW + 2, values_only=True)
            if row[1] in {m.label for m in metrics.RATES.values()}}
    assert len(rows) == len(metrics.RATES)
    kpis = metrics.compute_kpis(database, UNIT, PERIOD, SETTINGS)
    previous = metrics.compute_kpis(database, UNIT, PERIOD.previous(), SETTINGS)
    counts = metrics.kpi_counts(database, UNIT, PERIOD, SETTINGS)
    for key, metric in metrics.RATES.items():
        row = rows[metric.label]
        expected = kpis["rates"][key]
        no_data = "không có dữ liệu" if kpis["coverage"][key]["denominator"] else "–"  # no data is not 0%
        assert row[4] == (pytest.approx(expected) if expected is not None else no_data)
        assert row[5] == (pytest.approx(previous["rates"][key]) if previous["rates"][key] is not None else "–")
        if row[3]:
            assert row[2] / row[3] == pytest.approx(expected)
    online = rows[metrics.RATES["online_rate"].label]
    assert (online[2], online[3]) == (counts["online"], counts["new"])
    cell = next(c for c in sheet[excel.TABLE_FIRST_ROW + 2] if c.column == 5)
    assert cell.number_format == "0.00%"


def test_kpi_sheet_level_and_channel_tables_count_and_share(workbook):
    """The two small tables under the rates: one row per DVC level / channel with its count and its share of
    the table total, then the total row (levels: all received; channels: new dossiers)."""
    book, data = workbook
    rows = list(book["Chỉ tiêu"].iter_rows(values_only=True))
    kpis = data.kpis

    def table_after(title: str) -> tuple[list[tuple], tuple]:
        start = next(i for i, row in enumerate(rows) if row[0] == title)
        assert rows[start + 1][:4] == ("STT", rows[start + 1][1], "Số hồ sơ", "Tỷ trọng")
        end = next(i for i in range(start + 2, len(rows)) if rows[i][0] == "Tổng cộng")
        return [row[:4] for row in rows[start + 2:end]], rows[end]

    levels, level_total = table_after("Hồ sơ theo mức độ dịch vụ công trực tuyến")
    expected = {metrics.LEVEL_LABELS.get(k, k): int(v) for k, v in kpis["levels"].items()}
    assert {row[1]: row[2] for row in levels} == expected and [row[0] for row in levels] == list(
        range(1, len(expected) + 1))
    assert level_total[2] == sum(expected.values())
    channels, channel_total = table_after("Hồ sơ mới tiếp nhận theo kênh")
    assert [(row[1], row[2]) for row in channels] == [
        (metrics.CHANNEL_LABELS[c], int(kpis["received"][c])) for c in ("online", "direct", "postal")]
    assert channel_total[2] == int(kpis["received"]["new"])
    for table, total in ((levels, level_total[2]), (channels, channel_total[2])):
        assert all(row[3] == pytest.approx(row[2] / total) for row in table)


def test_annex_lists_late_and_overdue_dossiers_by_resolving_unit(workbook):
    book, data = workbook
    sheet = book["Hồ sơ quá hạn"]
    groups, dossiers = [], []
    for row in sheet.iter_rows(min_row=excel.TABLE_FIRST_ROW + 2, values_only=True):
        if isinstance(row[0], str) and row[0].startswith("Đơn vị giải quyết:"):
            groups.append(row[0])
        elif isinstance(row[0], int):
            dossiers.append(row)
    kpis = data.kpis
    assert len(dossiers) == kpis["resolved"]["late"] + kpis["pending"]["overdue"] > 0
    assert len(groups) == data.annex["resolving_unit"].nunique()
    assert all(row[9] is None or row[9] >= 0 for row in dossiers)
    assert {row[8] for row in dossiers} <= {"Đã giải quyết quá hạn", "Đang giải quyết quá hạn"}


def test_formula_like_text_is_neutralised_and_empty_annex_says_so():
    con = make_db([
        {"received_at": "2026-04-01", "due_at": "2026-04-10", "finished_at": "2026-04-02", "status": 10,
         "field_name": "=HYPERLINK(\"http://x\")", "channel": "online"},
    ])
    data = collect(con, UNIT, PERIOD, SETTINGS)
    book = openpyxl.load_workbook(io.BytesIO(excel.workbook_bytes(data)))
    label = book["Biểu 06"].cell(FIRST_DATA_ROW, 2).value
    assert label.startswith("'=")  # stays text in Excel, never a live formula
    texts = [c for row in book["Hồ sơ quá hạn"].iter_rows(values_only=True) for c in row if c]
    assert "Không có hồ sơ quá hạn trong kỳ báo cáo." in texts


def test_league_workbook_ranks_units(database):
    league = metrics.league_table(database, Scope(), PERIOD, SETTINGS)
    league = league[league["received_total"] > 0]
    book = openpyxl.load_workbook(io.BytesIO(excel.league_workbook_bytes(league, "Tất cả đơn vị", "Kỳ")))
    sheet = book.active
    header = [c.value for c in sheet[5]]
    rows = [r for r in sheet.iter_rows(min_row=6, values_only=True) if r[0]]
    assert len(rows) == len(league) == 3
    received = header.index(metrics.COUNTS["received_total"])
    by_unit = {r[1]: r for r in rows}
    for record in league.to_dict("records"):
        assert by_unit[record["label"]][received] == record["received_total"]
        rank_col = header.index(metrics.RATES["online_rate"].label) + 1
        assert by_unit[record["label"]][rank_col] == record["rank_online_rate"]

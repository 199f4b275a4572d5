"""`motcua report`: files, numbers against `motcua kpi --json`, batch zip, clear errors."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document
from report_fixtures import build_report_db

from cli.main import main
from cli.report import EXIT_BAD_INPUT, EXIT_EMPTY
from motcua.report import excel

FIRST_DATA_ROW = excel.TABLE_FIRST_ROW + 5


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return str(build_report_db(tmp_path_factory.mktemp("report-cli") / "motcua.duckdb"))


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _total_row(path) -> list:
    sheet = openpyxl.load_workbook(path)["Biểu 06"]
    for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True):
        if row[0] == "Tổng cộng":
            return list(row[2:13])
    raise AssertionError("no total row")


@pytest.mark.parametrize("calendar", ["calendar", "report"])
def test_report_writes_xlsx_and_docx_matching_kpi_json(db_path, tmp_path, calendar):
    result = _run("report", "--db", db_path, "--unit", "Tứ Kỳ", "--period", "2026Q2", "--calendar", calendar,
                  "--out", str(tmp_path), "--no-charts")
    assert result.exit_code == 0, result.output
    # The calendar is in the name: the two calendars' Q2 files never overwrite each other.
    stem = f"xa-tu-ky_2026Q2_{'ky-bao-cao' if calendar == 'report' else 'duong-lich'}"
    xlsx, docx = tmp_path / f"{stem}.xlsx", tmp_path / f"{stem}.docx"
    assert xlsx.exists() and docx.exists()
    kpi = _run("kpi", "--db", db_path, "--unit", "10001", "--period", "2026Q2", "--calendar", calendar, "--json")
    assert kpi.exit_code == 0, kpi.output
    k = json.loads(kpi.output)
    r, d, p = k["received"], k["resolved"], k["pending"]
    assert _total_row(xlsx) == [r["total"], r["online"], r["direct"] + r["postal"], r["carried_over"],
                                d["total"], d["early"], d["on_time"], d["late"], p["total"],
                                p["within_deadline"], p["overdue"]]
    text = "\n".join(paragraph.text for paragraph in Document(str(docx)).paragraphs)
    assert f"Từ ngày {k['period']['from'][8:10]}/{k['period']['from'][5:7]}/{k['period']['from'][:4]}" in text
    assert "Báo cáo được lập không kèm biểu đồ" in text


def test_all_units_writes_one_zip_with_a_pack_per_commune_and_the_league_table(db_path, tmp_path):
    result = _run("report", "--db", db_path, "--all-units", "--period", "2026Q2", "--out", str(tmp_path),
                  "--no-charts")
    assert result.exit_code == 0, result.output
    [archive_path] = list(tmp_path.glob("*.zip"))
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        league = openpyxl.load_workbook(io.BytesIO(archive.read("so-sanh-don-vi_2026Q2_ky-bao-cao.xlsx"))).active
        packs = {name.split("/")[0] for name in names if "/" in name}
        for folder in packs:
            assert {f"{folder}/{folder}.xlsx", f"{folder}/{folder}.docx"} <= names
            Document(io.BytesIO(archive.read(f"{folder}/{folder}.docx")))  # opens
    # The commune without dossiers gets no pack; the three with dossiers do.
    assert packs == {"xa-tu-ky_2026Q2_ky-bao-cao", "xa-phuong-ky_2026Q2_ky-bao-cao",
                     "phuong-duc-thuan_2026Q2_ky-bao-cao"}
    units = [row[1] for row in league.iter_rows(min_row=6, values_only=True) if row[0]]
    assert sorted(units) == ["Phường Đức Thuận", "Xã Phượng Kỳ", "Xã Tứ Kỳ"]


def test_all_units_can_be_limited_to_one_province(db_path, tmp_path):
    result = _run("report", "--db", db_path, "--all-units", "--province", "Hà Tĩnh", "--period", "2026Q2",
                  "--out", str(tmp_path), "--no-charts")
    assert result.exit_code == 0, result.output
    [archive_path] = list(tmp_path.glob("*.zip"))
    with zipfile.ZipFile(archive_path) as archive:
        assert {name.split("/")[0] for name in archive.namelist() if "/" in name} == {"phuong-duc-thuan_2026Q2_ky-bao-cao"}


def test_unknown_unit_exits_with_a_clear_message(db_path, tmp_path):
    result = _run("report", "--db", db_path, "--unit", "Xã Không Có Thật", "--period", "2026Q2",
                  "--out", str(tmp_path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Không tìm thấy đơn vị" in result.output
    assert not list(tmp_path.iterdir())


def test_empty_period_exits_non_zero_without_files(db_path, tmp_path):
    result = _run("report", "--db", db_path, "--unit", "10001", "--period", "2020Q1", "--out", str(tmp_path))
    assert result.exit_code == EXIT_EMPTY
    assert "Không có hồ sơ nào của Xã Tứ Kỳ" in result.output
    assert not list(tmp_path.iterdir())
    result = _run("report", "--db", db_path, "--all-units", "--period", "2020Q1", "--out", str(tmp_path))
    assert result.exit_code == EXIT_EMPTY


@pytest.mark.parametrize("args, message", [
    (("--period", "2026Q7", "--unit", "10001"), "Không hiểu kỳ báo cáo"),
    (("--period", "2026Q2"), "--unit ĐƠN_VỊ hoặc --all-units"),
    (("--period", "2026Q2", "--unit", "10001", "--all-units"), "--unit ĐƠN_VỊ hoặc --all-units"),
])
def test_bad_options_are_explained(db_path, tmp_path, args, message):
    result = _run("report", "--db", db_path, "--out", str(tmp_path), *args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.output


def test_missing_database_is_explained(tmp_path):
    result = _run("report", "--db", str(tmp_path / "none.duckdb"), "--unit", "10001", "--period", "2026Q2")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "Chưa có cơ sở dữ liệu" in result.output


def test_batch_keeps_communes_with_the_same_name_apart():
    from kpi_fixtures import make_db

    from motcua.metrics import Settings
    from motcua.periods import parse_period
    from motcua.report import batch_zip_bytes

    rows = [{"receiving_unit_code": code, "received_at": "2026-04-02", "due_at": "2026-04-10",
             "finished_at": "2026-04-03", "status": 10} for code in ("10001", "10009")]
    con = make_db(rows)
    con.execute("INSERT INTO units VALUES ('10009', 'Xã Tứ Kỳ', 'xã', '02', 'Tỉnh Hà Tĩnh', 'commune', true, "
                "NULL, 'tu ky')")
    _name, content = batch_zip_bytes(con, parse_period("2026Q2"), Settings(), with_charts=False)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        folders = {n.split("/")[0] for n in archive.namelist() if "/" in n}
    assert folders == {"xa-tu-ky_2026Q2_duong-lich", "xa-tu-ky-10009_2026Q2_duong-lich"}

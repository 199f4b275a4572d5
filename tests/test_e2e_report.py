"""Browser test of the Báo cáo page: click the download buttons and validate the files.

Starts `streamlit run dashboard/app.py` against a database built in tmp, opens the page for one commune
and quarter, downloads the Excel (Biểu 06), the Word draft and the batch zip, and checks them against
``motcua.metrics`` with openpyxl / python-docx.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from e2e_utils import ARTIFACTS, IDLE, chromium_browser, chromium_missing, streamlit_server
from report_fixtures import build_report_db

from motcua import metrics
from motcua.db import Database
from motcua.filters import Scope
from motcua.fmt import fmt_count, fmt_pct
from motcua.periods import parse_period
from motcua.report import excel

pytestmark = pytest.mark.e2e

UNIT_CODE, PERIOD_CODE = "10001", "2026Q2"
FILE_CODE = f"{PERIOD_CODE}_duong-lich"  # period and calendar in every file name

if chromium_missing():  # pragma: no cover - `make test` installs it
    pytest.skip("system Chromium not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return build_report_db(tmp_path_factory.mktemp("e2e-report") / "motcua.duckdb")


@pytest.fixture(scope="module")
def server(db_path):
    with streamlit_server(db_path, "e2e-report-streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def page(server):
    with chromium_browser() as browser:
        tab = browser.new_page(viewport={"width": 1280, "height": 1200}, accept_downloads=True)
        tab.goto(f"{server}/bao-cao?unit={UNIT_CODE}&period={PERIOD_CODE}&calendar=calendar")
        tab.wait_for_selector(IDLE, timeout=60_000)
        tab.get_by_role("heading", name="Báo cáo").first.wait_for()
        tab.get_by_text("Tổng số hồ sơ tiếp nhận trong kỳ báo cáo").wait_for(timeout=30_000)
        yield tab


def _download(page, label: str) -> tuple[str, bytes]:
    with page.expect_download(timeout=90_000) as info:
        page.get_by_role("button", name=label).click()
    download = info.value
    target = ARTIFACTS / download.suggested_filename
    download.save_as(str(target))
    return download.suggested_filename, target.read_bytes()


@pytest.fixture(scope="module")
def kpis(db_path) -> dict:
    return metrics.compute_kpis(Database(db_path), Scope(unit_codes=(UNIT_CODE,)), parse_period(PERIOD_CODE))


def test_excel_download_is_the_bieu06_of_the_selected_view(page, kpis):
    name, content = _download(page, "Tải Excel – Biểu 06 và phụ lục")
    assert name == f"xa-tu-ky_{FILE_CODE}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Biểu 06", "Chỉ tiêu", "Hồ sơ quá hạn"]
    rows = list(book["Biểu 06"].iter_rows(min_row=excel.TABLE_FIRST_ROW + 5, values_only=True))
    total = next(r for r in rows if r[0] == "Tổng cộng")
    r, d, p = kpis["received"], kpis["resolved"], kpis["pending"]
    assert list(total[2:13]) == [r["total"], r["online"], r["direct"] + r["postal"], r["carried_over"], d["total"],
                                 d["early"], d["on_time"], d["late"], p["total"], p["within_deadline"],
                                 p["overdue"]]


def test_word_download_has_the_numbers_and_the_charts(page, kpis):
    name, content = _download(page, "Tải Word – dự thảo báo cáo")
    assert name == f"xa-tu-ky_{FILE_CODE}.docx"
    document = Document(io.BytesIO(content))
    received = next(p.text for p in document.paragraphs if p.text.startswith("Tổng số hồ sơ tiếp nhận"))
    assert f"{fmt_count(kpis['received']['new'])} hồ sơ" in received
    assert fmt_pct(kpis["rates"]["online_rate"]) in received
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        images = [n for n in archive.namelist() if n.startswith("word/media/")]
    assert len(images) == 4  # Chromium is present (the module is skipped otherwise)


def test_batch_zip_download_has_a_pack_per_commune(page, server):
    page.goto(f"{server}/bao-cao?period={PERIOD_CODE}&calendar=calendar")  # no unit: every commune
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("button", name="Tải bộ báo cáo (zip)").wait_for(timeout=30_000)
    name, content = _download(page, "Tải bộ báo cáo (zip)")
    assert name == f"bao-cao_tat-ca-don-vi_{FILE_CODE}.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
    assert f"so-sanh-don-vi_{FILE_CODE}.xlsx" in names
    assert {n.split("/")[0] for n in names if "/" in n} == {
        f"xa-tu-ky_{FILE_CODE}", f"xa-phuong-ky_{FILE_CODE}", f"phuong-duc-thuan_{FILE_CODE}"}

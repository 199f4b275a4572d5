"""One-page A4 brief (motcua.brief, `motcua brief`): printed by the system Chromium, checked as PNG/text."""

from __future__ import annotations

import shutil
import subprocess
import time

import dbfactory
import pytest
from click.testing import CliRunner

from cli.main import main
from motcua import brief, fmt, metrics
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.report.images import find_chromium

needs_tools = pytest.mark.skipif(find_chromium() is None or shutil.which("pdftoppm") is None,
                                 reason="cần Chromium và poppler-utils (make chromium)")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return dbfactory.sample_db(tmp_path_factory.mktemp("brief") / "sample.duckdb")


def test_html_escapes_data_and_leaves_unknown_months_as_gaps(sample):
    database = dbmod.Database(sample)
    code = dbfactory.commune_codes()[0]
    data = brief.collect(database, Scope(unit_codes=(code,)), parse_period("2026Q3"))
    data.at_risk.loc[:, "procedure_name"] = "<script>alert(1)</script>"
    page = brief.html_brief(data)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The trend starts in October 2025, before the first dossier: those months have no point at 0 %.
    assert data.months["on_time_rate_766"].isna().iloc[0]
    assert page.count("<polyline") >= 3


@needs_tools
def test_cli_prints_one_a4_page_with_the_key_texts(sample, tmp_path):
    code = dbfactory.commune_codes()[0]
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["brief", "--db", str(sample), "--unit", code, "--period", "2026Q3",
                                       "--out", str(tmp_path)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    [pdf] = list(tmp_path.glob("*.pdf"))
    assert pdf.name == "tom-tat-mot-trang_phuong-ba-dinh_2026Q3_duong-lich.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].stat().st_size > 10_000  # one A4 page, with content
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    kpis = metrics.compute_kpis(dbmod.Database(sample), Scope(unit_codes=(code,)), parse_period("2026Q3"))
    for expected in ("Phường Ba Đình", "Quý 3/2026", "Số liệu đến ngày", "Chỉ số phục vụ", "ước tính", "hạng ",
                     "Hồ sơ quá hạn và sắp đến hạn", "Xu hướng", fmt.fmt_pct(kpis["rates"]["on_time_rate_766"]),
                     "Mục tiêu"):
        assert expected in text, expected
    assert elapsed < 20  # ≤ 5 s on an idle machine (README); generous here for a loaded CI box


def test_cli_refuses_an_empty_period(sample, tmp_path):
    code = dbfactory.commune_codes()[0]
    result = CliRunner().invoke(main, ["brief", "--db", str(sample), "--unit", code, "--period", "2024Q1",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 3 and "không có hồ sơ" in result.output

"""Browser journeys through the real dashboard (Playwright + system Chromium).

Starts `streamlit run dashboard/app.py` on a free port against a database built in tmp, then: pick a
commune and a quarter, compare the KPI cards with `motcua kpi --json`, reopen the shared URL, follow a
drill-down from a chart bar to its dossier list, download an XLSX and check it with openpyxl, and take
screenshots at 1280 px and 390 px into `test-artifacts/`. Interaction times are printed and written to
`test-artifacts/e2e-timings.json`.

Set MOTCUA_E2E_DB=<path> to run the same journeys against an existing database (e.g. the 1M-dossier
benchmark database built with `python tests/dbfactory.py --big PATH`); it must contain "Xã Sóc Sơn".
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dbfactory
import pytest
from e2e_utils import (
    ARTIFACTS,
    IDLE,
    ROOT,
    chromium_browser,
    chromium_missing,
    e2e_database,
    logged_page,
    measure_floor,
    overview_shown,
    save_timings,
    streamlit_server,
    time_in_browser,
)

from motcua import db as dbmod
from motcua import fmt, metrics, periods
from motcua.filters import Scope

pytestmark = pytest.mark.e2e

UNIT_NAME = "Xã Sóc Sơn"
PERIOD_CODE = "2026Q2"
PERIOD_LABEL = "Quý 2/2026"
TIMINGS: dict[str, float] = {}

if chromium_missing():  # pragma: no cover - `make test` installs it
    pytest.skip("system Chromium not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return e2e_database(tmp_path_factory, "e2e")


@pytest.fixture(scope="module")
def server(db_path):
    with streamlit_server(db_path, "e2e-streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as instance:
        yield instance


@pytest.fixture(scope="module", autouse=True)
def timings_file(browser):
    yield
    if TIMINGS:  # the floor of this run beside the journeys' figures (e2e_utils.measure_floor)
        TIMINGS.update(measure_floor(browser))
    save_timings(TIMINGS, "e2e-timings", "Thời gian tương tác")


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the script run triggered by the last action has finished."""
    with contextlib.suppress(Exception):
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=700)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(150)  # let the last delta paint


def timed(name: str, page, action, ready=None, *, since: float | None = None) -> float:
    """Time an interaction in the browser (``e2e_utils.time_in_browser``; pages from ``logged_page``)."""
    elapsed = time_in_browser(page, action, ready, since=since)
    if elapsed:  # 0: the action started no run (e.g. the option was already chosen): nothing to time
        TIMINGS[name] = elapsed
    return elapsed


def shown_metrics(page) -> dict[str, str]:
    result = {}
    for card in page.locator("[data-testid='stMetric']").all():
        label = card.locator("[data-testid='stMetricLabel']").inner_text().strip()
        result[label] = card.locator("[data-testid='stMetricValue']").inner_text().strip()
    return result


def settled_metrics(page, want: dict[str, str], timeout: float = 30.0) -> dict[str, str]:
    """The KPI cards once they show ``want`` (or the last values seen after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        got = {k: v for k, v in shown_metrics(page).items() if k in want}
        if got == want or time.monotonic() > deadline:
            return got
        page.wait_for_timeout(300)


def cli_kpis(db_path: Path) -> dict:
    out = subprocess.run(
        [str(Path(sys.executable).with_name("motcua")), "kpi", "--db", str(db_path), "--unit", UNIT_NAME,
         "--period", PERIOD_CODE, "--json"], check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    return json.loads(out)


def screenshot(page, name: str, width: int) -> Path:
    page.set_viewport_size({"width": width, "height": 2400 if width > 500 else 5200})
    page.wait_for_timeout(600)
    path = ARTIFACTS / f"{name}-{width}px.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pick_commune_and_quarter(page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    units = sidebar.get_by_role("combobox", name="Đơn vị (xã/phường)")
    units.click()
    units.fill("Sóc Sơn")
    timed("chọn đơn vị", page, lambda: page.get_by_role("option", name=UNIT_NAME, exact=False).first.click())
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile("unit="))
    wait_idle(page)
    # The unit was picked while the first run was still drawing: the browser must still show the quarter
    # (it showed "Tháng" and then sent it back when a run cut short never sent the value; state.keep_value).
    assert sidebar.get_by_role("combobox", name="Loại kỳ", exact=True).input_value() == "Quý"
    sidebar.get_by_role("combobox", name="Kỳ", exact=True).click()
    timed("chọn kỳ", page, lambda: page.get_by_role("option", name=PERIOD_LABEL, exact=True).click())
    page.wait_for_url(re.compile(f"period={PERIOD_CODE}"))
    wait_idle(page)


def expected_cards(kpis: dict) -> dict[str, str]:
    return {
        metrics.COUNTS["received_total"]: fmt.fmt_int(kpis["received"]["total"]),
        metrics.COUNTS["resolved_total"]: fmt.fmt_int(kpis["resolved"]["total"]),
        metrics.COUNTS["pending_total"]: fmt.fmt_int(kpis["pending"]["total"]),
        metrics.COUNTS["overdue"]: fmt.fmt_int(kpis["pending"]["overdue"]),
        **{metrics.RATES[k].label: fmt.fmt_pct(kpis["rates"][k])
           for k in ("online_rate", "on_time_rate_766", "on_time_rate_resolved", "digitized_intake_rate")},
    }


def test_overview_journey_matches_cli_and_shared_url(server, browser, db_path):
    page = logged_page(browser, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    timed("mở ứng dụng", page, lambda: page.goto(server), lambda: overview_shown(page), since=0)
    pick_commune_and_quarter(page)

    kpis = cli_kpis(db_path)
    want = expected_cards(kpis)
    assert settled_metrics(page, want) == want
    assert "Chế độ demo (không đăng nhập)" in page.get_by_test_id("stSidebar").inner_text()

    url = page.url
    code = dbfactory.commune_codes([UNIT_NAME])[0]
    assert f"unit={code}" in url and f"period={PERIOD_CODE}" in url

    # Page switches in the same session keep the view (URL rewritten on every page) and are timed.
    for title in ("Tiến độ giải quyết", "Trực tuyến & mức độ DVC", "Số hóa & thanh toán", "So sánh đơn vị",
                  "Tổng quan"):
        timed(f"chuyển trang {title}", page, lambda title=title: page.get_by_role("link", name=title).click(),
              lambda title=title: page.get_by_role("heading", name=title, exact=True).wait_for())
        assert f"period={PERIOD_CODE}" in page.url and f"unit={code}" in page.url
    assert settled_metrics(page, want) == want
    screenshot(page, "tong-quan", 1280)
    screenshot(page, "tong-quan", 390)

    # A colleague opens the shared link in a fresh session: same unit, period and numbers.
    other = browser.new_page(viewport={"width": 1280, "height": 900})
    other.goto(url)
    other.wait_for_selector(IDLE, timeout=60_000)
    other.get_by_role("heading", name="Tổng quan").wait_for()
    wait_idle(other)
    assert settled_metrics(other, want) == want
    sidebar_text = other.get_by_test_id("stSidebar").inner_text()
    assert "Sóc Sơn" in sidebar_text and PERIOD_LABEL in sidebar_text
    other.close()
    page.close()


def test_progress_drill_down_and_xlsx_download(server, browser, db_path):
    import openpyxl

    page = logged_page(browser, viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    code = dbfactory.commune_codes([UNIT_NAME])[0]
    page.goto(f"{server}/tien-do?unit={code}&period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Tiến độ giải quyết").wait_for()
    wait_idle(page)
    assert f"period={PERIOD_CODE}" in page.url  # the URL survives the page switch

    period = periods.parse_period(PERIOD_CODE)
    months = metrics.breakdown(dbmod.Database(db_path), Scope(unit_codes=(code,)), period, "month")

    # XLSX of the monthly table: same rows and numbers as metrics.breakdown, numbers stay numbers.
    table_block = page.locator("[data-testid=stDataFrame]:visible").first  # not the hidden warm-up table
    table_block.wait_for()
    with page.expect_download() as download_info:
        page.locator(".st-key-progress_table_month_xlsx button").click()
    download = download_info.value
    target = ARTIFACTS / "tien-do-theo-thang.xlsx"
    download.save_as(str(target))
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "Sóc Sơn" in str(rows[0][0]) and PERIOD_LABEL in str(rows[0][0])  # caption line
    header = list(rows[2])
    assert header[0] == "Tháng" and metrics.COUNTS["late"] in header
    body = {r[0]: r for r in rows[3:]}
    for month in months.itertuples():
        row = body[month.label]
        assert row[header.index(metrics.COUNTS["late"])] == month.late
        rate_cell = row[header.index(metrics.RATES["on_time_rate_766"].label)]
        assert rate_cell is None if month.on_time_rate_766 != month.on_time_rate_766 else \
            abs(rate_cell - month.on_time_rate_766) < 1e-9

    # Drill-down: click the "late" segment of the busiest month's bar.
    busiest = months.sort_values("late", ascending=False).iloc[0]
    month_index = months.index.get_loc(busiest.name)
    bucket_index = list(("early", "on_time", "late", "within_deadline", "overdue")).index("late")
    bar = page.locator(".js-plotly-plot .barlayer .trace").nth(bucket_index).locator("path").nth(month_index)
    # The dossier list caption names the clicked month (as a period) and the bucket.
    details = page.get_by_text(re.compile(re.escape(f"{busiest.label} (") + ".*" + metrics.COUNTS["late"]))
    elapsed = timed("bấm cột để xem hồ sơ", page, lambda: bar.click(force=True),
                    lambda: details.first.wait_for(timeout=20_000))
    assert elapsed < 30
    with page.expect_download() as download_info:
        page.locator(".st-key-progress_dossiers_xlsx button").click()
    listing = ARTIFACTS / "ho-so-qua-han.xlsx"
    download_info.value.save_as(str(listing))
    rows = list(openpyxl.load_workbook(listing).active.iter_rows(values_only=True))
    header = list(rows[2])
    assert header[:2] == ["Mã hồ sơ", "Đơn vị tiếp nhận"]
    assert len(rows) - 3 == busiest.late
    assert all(r[header.index("Số ngày trễ (ngày làm việc)")] >= 1 for r in rows[3:])
    # No personal data columns in the drill-down.
    assert not {"Họ tên", "Số điện thoại", "Địa chỉ", "Email"} & set(header)
    screenshot(page, "tien-do", 1280)
    screenshot(page, "tien-do", 390)
    page.close()


@pytest.mark.parametrize("path,heading", [("truc-tuyen", "Trực tuyến & mức độ DVC"), ("so-hoa", "Số hóa & thanh toán"),
                                          ("so-sanh", "So sánh đơn vị"), ("du-lieu", "Dữ liệu")])
def test_other_pages_render_and_screenshot(server, browser, path, heading):
    page = logged_page(browser, viewport={"width": 1280, "height": 900})
    timed(f"mở trang {path}", page, lambda: page.goto(f"{server}/{path}?period={PERIOD_CODE}"),
          lambda: page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=60_000), since=0)
    assert not page.get_by_test_id("stException").count()
    screenshot(page, path, 1280)
    screenshot(page, path, 390)
    page.close()


def test_dark_theme_overview_screenshot(server, browser):
    """System dark mode: the app follows it; the screenshot is checked by eye for readability."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page.goto(f"{server}/?period={PERIOD_CODE}")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Tổng quan", exact=True).wait_for()
    wait_idle(page)
    background = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
    assert background == "rgb(15, 20, 25)"  # theme.dark.backgroundColor in .streamlit/config.toml
    screenshot(page, "tong-quan-toi", 1280)
    page.close()


def test_bad_upload_shows_loader_message_and_page_keeps_working(server, browser, tmp_path):
    """Runs last: a failed import is recorded in the database of this module."""
    bad = tmp_path / "hong.xlsx"
    bad.write_bytes(b"day khong phai tep excel")
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    error = _upload_and_wait_for_its_error(page, server, bad, timeout=60_000)
    assert "tệp 'hong.xlsx'" in error.inner_text() or "hong.xlsx:" in error.inner_text()
    assert not page.get_by_test_id("stException").count()
    # The page keeps working: the failed import is listed in the history.
    wait_idle(page)
    page.get_by_text("Lịch sử nạp dữ liệu").wait_for()
    screenshot(page, "du-lieu-loi-nap", 1280)
    _overview_still_works(page)
    page.close()


def _upload_and_wait_for_its_error(page, server: str, path, timeout: float):
    """Dữ liệu: load ``path`` through the export uploader; the error alert that names the file."""
    page.goto(f"{server}/du-lieu")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Dữ liệu", exact=True).wait_for()
    page.locator(".st-key-upload_files input[type=file]").set_input_files(str(path))  # the export uploader
    page.get_by_text(path.name).first.wait_for()
    page.get_by_role("button", name="Nạp dữ liệu").click()
    error = page.get_by_test_id("stAlertContentError").filter(has_text=path.name).first
    error.wait_for(timeout=timeout)
    return error


def _overview_still_works(page) -> None:
    page.get_by_role("link", name="Tổng quan").click()
    page.get_by_role("heading", name="Tổng quan", exact=True).wait_for()
    wait_idle(page)
    assert page.get_by_test_id("stMetric").count() >= 8


def test_upload_of_a_5kb_grid_bomb_leaves_the_server_running(server, browser, tmp_path):
    """Issue 12: 5 KB of xlsx with cells at A1 and XFD1048576 made the Excel parser ask for 512 GiB and
    abort the whole Streamlit process. Now the parse dies in its own child: a Vietnamese error, a failed
    import in the history, and the dashboard keeps serving."""
    from corpus.build import far_cells_xlsx

    bomb = far_cells_xlsx(tmp_path / "bom-5kb.xlsx", declare_dimension=False)  # no early grid check: the child dies
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    error = _upload_and_wait_for_its_error(page, server, bomb, timeout=90_000)
    assert "bị dừng đột ngột" in error.inner_text()
    assert not page.get_by_test_id("stException").count()
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=5) as health:
        assert health.read() == b"ok"
    wait_idle(page)
    page.get_by_text("Lịch sử nạp dữ liệu").wait_for()
    _overview_still_works(page)
    page.close()

"""Browser checks of the second dashboard round (issue 13), Playwright + system Chromium.

Dark-theme primary buttons reach 4.5:1, KPI card titles are not cut, one click on the ranking chart opens
that unit's Tổng quan, a cold deep link (metric, sort, tab in the URL) opens fast and as shared, and the
chair's at-risk list is screenshotted at 390 px. Timings go to ``test-artifacts/e2e-round2-timings.json``.
Set MOTCUA_E2E_DB=<path> to run against an existing database (e.g. the 1M-dossier benchmark database).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import dbfactory
import pytest
from e2e_utils import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    chromium_missing,
    logged_page,
    streamlit_server,
    time_in_browser,
)
from test_e2e_dashboard import screenshot, wait_idle

pytestmark = pytest.mark.e2e
TIMINGS: dict[str, float] = {}
UNIT_NAME = "Xã Sóc Sơn"
PERIOD_CODE = "2026Q2"

if chromium_missing():  # pragma: no cover - `make test` installs it
    pytest.skip("system Chromium not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    existing = os.environ.get("MOTCUA_E2E_DB")
    if existing:
        return Path(existing)
    return dbfactory.sample_db(tmp_path_factory.mktemp("e2e2") / "sample.duckdb", n=900)


@pytest.fixture(scope="module")
def server(db_path):
    with streamlit_server(db_path, "e2e-round2-streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
    if TIMINGS:
        suffix = f"-{Path(os.environ['MOTCUA_E2E_DB']).stem}" if os.environ.get("MOTCUA_E2E_DB") else ""
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"e2e-round2-timings{suffix}.json").write_text(json.dumps(TIMINGS, indent=2, ensure_ascii=False))
        print("\nThời gian (giây):", json.dumps(TIMINGS, ensure_ascii=False))


def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _code() -> str:
    return dbfactory.commune_codes([UNIT_NAME])[0]


def test_dark_theme_primary_buttons_reach_aa_contrast(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, color_scheme="dark")
    page.goto(f"{server}/bao-cao?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    button = page.get_by_role("button", name="Tải Excel – Biểu 06 và phụ lục")
    button.wait_for(timeout=30_000)
    colours = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert contrast(*colours) >= 4.5, colours
    page.close()


def test_card_titles_are_not_cut_and_rising_overdue_is_red(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    page.goto(f"{server}/?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Tổng quan", exact=True).wait_for()
    wait_idle(page)
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stMetricLabel] *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).textOverflow === 'ellipsis')
        .map(e => e.textContent)""")
    assert cut == []
    screenshot(page, "tong-quan-vong-2", 1280)
    page.close()


def test_ranking_bar_click_opens_that_units_overview(server, browser):
    page = logged_page(browser, viewport={"width": 1280, "height": 1400})
    page.goto(f"{server}/so-sanh?period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="So sánh đơn vị", exact=True).wait_for()
    wait_idle(page)
    bar = page.locator(".js-plotly-plot .barlayer .trace path").first
    bar.wait_for(timeout=30_000)

    def overview_shown() -> None:
        page.wait_for_url(re.compile(r"/(tong-quan)?\?unit="), timeout=30_000)  # the default page is "/"
        page.get_by_role("heading", name="Tổng quan", exact=True).wait_for()

    TIMINGS["bấm thanh xếp hạng → Tổng quan của đơn vị"] = time_in_browser(page, lambda: bar.click(force=True),
                                                                         overview_shown)
    assert "unit=" in page.url and not page.get_by_test_id("stException").count()
    page.close()


def test_cold_deep_link_opens_the_shared_view(server, browser):
    page = logged_page(browser, viewport={"width": 1280, "height": 1000})  # a new context: nothing cached
    url = (f"{server}/so-sanh?period={PERIOD_CODE}&calendar=calendar&metric=on_time_rate_766&sort=name"
           "&tab=ban-do-nhiet-don-vi-thang")

    def view_shown() -> None:
        page.get_by_role("heading", name="So sánh đơn vị", exact=True).wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)

    elapsed = time_in_browser(page, lambda: page.goto(url), view_shown, since=0)
    TIMINGS["mở đường dẫn chia sẻ (lần đầu)"] = elapsed
    assert "metric=on_time_rate_766" in page.url and "sort=name" in page.url and "tab=ban-do-nhiet" in page.url
    chosen = page.locator(".st-key-compare_rate").evaluate(
        "e => (e.querySelector('input') || {}).value || e.innerText")
    assert "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766)" in chosen
    tab = page.get_by_role("tab", name="Bản đồ nhiệt đơn vị × tháng")
    assert tab.get_attribute("aria-selected") == "true"
    assert elapsed < 30  # ≤ 3 s measured on an idle machine (README); generous for a loaded CI box
    page.close()


def test_at_risk_list_at_phone_width(server, browser):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(f"{server}/?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Hồ sơ quá hạn và sắp đến hạn").wait_for(timeout=30_000)
    wait_idle(page)
    grid = page.locator(".st-key-overview_at_risk [data-testid='stDataFrame']")
    if grid.count():
        box = grid.first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1  # the table fits the phone width
    screenshot(page, "tong-quan-vong-2", 390)
    page.close()

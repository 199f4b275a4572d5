"""Browser checks of the second dashboard round (issue 13), Playwright + system Chromium.

Dark-theme primary buttons reach 4.5:1, KPI card titles are not cut, one click on the ranking chart opens
that unit's Tổng quan, a cold deep link (metric, sort, tab in the URL) opens fast and as shared, and the
chair's at-risk list is screenshotted at 390 px. Timings go to ``test-artifacts/e2e-round2-timings.json``.
Set MOTCUA_E2E_DB=<path> to run against an existing database (e.g. the 1M-dossier benchmark database).
"""

from __future__ import annotations

import contextlib
import re
import statistics
from pathlib import Path

import dbfactory
import pytest
from e2e_utils import (
    ARTIFACTS,
    IDLE,
    chromium_browser,
    chromium_missing,
    comparison_shown,
    e2e_database,
    health_checks,
    logged_page,
    measure_floor,
    overview_shown,
    plot_shown,
    save_timings,
    streamlit_server,
    time_in_browser,
)
from test_e2e_dashboard import screenshot, wait_idle

from dashboard import pickers
from motcua.settings import RETURNED_POLICIES

pytestmark = pytest.mark.e2e
TIMINGS: dict[str, float] = {}
UNIT_NAME = "Xã Sóc Sơn"
PERIOD_CODE = "2026Q2"

if chromium_missing():  # pragma: no cover - `make test` installs it
    pytest.skip("system Chromium not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return e2e_database(tmp_path_factory, "e2e2")


@pytest.fixture(scope="module")
def server(db_path):
    with streamlit_server(db_path, "e2e-round2-streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as instance:
        yield instance
    save_timings(TIMINGS, "e2e-round2-timings", "Thời gian")


def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _code() -> str:
    return dbfactory.commune_codes([UNIT_NAME])[0]


def test_streamlit_floor_in_the_same_run(browser):
    """The baseline of this run's timings (``e2e_utils.measure_floor``)."""
    floor = measure_floor(browser)
    TIMINGS.update(floor)
    assert min(floor.values()) > 0


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

    def unit_overview_shown() -> float:
        page.wait_for_url(re.compile(r"/(tong-quan)?\?unit="), timeout=30_000)  # the default page is "/"
        return overview_shown(page)

    TIMINGS["bấm thanh xếp hạng → Tổng quan của đơn vị"] = time_in_browser(page, lambda: bar.click(force=True),
                                                                         unit_overview_shown)
    assert "unit=" in page.url and not page.get_by_test_id("stException").count()
    page.close()


OFFICE_LINE = 20e6 / 8  # bytes per second: a commune office's 20 Mbit/s line


def _cold_opens(browser, server: str, link: str, shown, record: str) -> object:
    """``server + link`` opened in new browser contexts (nothing cached in the browser), timed until ``shown(page)``:
    the first open, which may also compute the view on the server, then three more, whose median is the
    figure (as the floor's: ``e2e_utils.measure_floor``). Both go to TIMINGS; returns the last page, open."""
    times = []
    for attempt in range(4):
        page = logged_page(browser, viewport={"width": 1280, "height": 1000})
        times.append(time_in_browser(page, lambda page=page: page.goto(server + link), lambda page=page: shown(page),
                                     since=0))
        # Streamlit found its server at the first probe (server.base_url_script), not at <page>/_stcore/health
        # first and at the root 100 ms later.
        assert health_checks(page) == {f"{server}/_stcore/health"}
        if attempt < 3:
            page.close()
    TIMINGS[f"{record} (lần đầu máy chủ tính dạng xem này)"] = times[0]
    TIMINGS[f"{record} (trình duyệt mới, trung vị 3 lần)"] = statistics.median(times[1:])
    return page


def test_cold_deep_link_opens_the_shared_view(server, browser):
    link = (f"/so-sanh?period={PERIOD_CODE}&calendar=calendar&metric=on_time_rate_766&sort=name"
            "&tab=ban-do-nhiet-don-vi-thang")
    page = _cold_opens(browser, server, link, comparison_shown, "mở đường dẫn chia sẻ So sánh")
    assert "metric=on_time_rate_766" in page.url and "sort=name" in page.url and "tab=ban-do-nhiet" in page.url
    # The metric picker shows the link's metric. Waited for: once in 8 runs it read blank right after the
    # chart was drawn (not reproduced alone in 14 more tries; cause not found).
    page.wait_for_function(
        """label => { const e = document.querySelector('.st-key-compare_rate');
                     return !!e && ((e.querySelector('input') || {}).value || e.innerText).includes(label); }""",
        arg="Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766)", timeout=10_000)
    tab = page.get_by_role("tab", name="Bản đồ nhiệt đơn vị × tháng")
    assert tab.get_attribute("aria-selected") == "true"
    assert max(TIMINGS[k] for k in TIMINGS if k.startswith("mở đường dẫn chia sẻ So sánh")) < 30  # ≤ 3 s: README
    page.close()


def test_behind_a_proxy_that_adds_a_prefix_the_page_finds_its_server_at_once(server, browser):
    """A proxy serves the app at /motcua/… and strips the prefix (here Playwright's routing): on a page's
    own path the shell has Streamlit look for its server at /motcua/, where the proxy forwards it, at the first
    probe."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    proxy = "http://proxy.test/motcua"

    def forward(route) -> None:
        response = route.fetch(url=server + route.request.url.removeprefix(proxy))
        route.fulfill(response=response)

    page.route(f"{proxy}/**", forward)
    page.goto(f"{proxy}/so-sanh?period={PERIOD_CODE}")
    page.wait_for_function("() => performance.getEntriesByType('resource').some(r => /_stcore.health$/.test(r.name))",
                           timeout=30_000)
    assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == f"{proxy}/"
    assert health_checks(page) == {f"{proxy}/_stcore/health"}
    page.close()


def test_cold_deep_link_over_a_commune_office_line(server, browser):
    """The same shared link, opened for the first time over a 20 Mbit/s line with 30 ms latency (Chromium's
    network emulation): there the bundles' size counts, which ``server.CompressedAssets`` cuts by gzip
    (Plotly's 4.7 MB as 1.4 MB)."""
    page = logged_page(browser, viewport={"width": 1280, "height": 1000})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 30, "downloadThroughput": OFFICE_LINE,
                                                  "uploadThroughput": OFFICE_LINE})
    url = f"{server}/so-sanh?period={PERIOD_CODE}&calendar=calendar&metric=on_time_rate_766&tab=ban-do-nhiet-don-vi-thang"

    TIMINGS["mở đường dẫn chia sẻ qua đường 20 Mbit/s (lần đầu)"] = time_in_browser(
        page, lambda: page.goto(url), lambda: comparison_shown(page), since=0)
    scripts = page.evaluate("""() => performance.getEntriesByType('resource').filter(r => /[.]js$/.test(r.name))
        .reduce((sum, r) => [sum[0] + r.transferSize, sum[1] + r.decodedBodySize], [0, 0])""")
    assert scripts[1] > 6_000_000 and scripts[0] < 3_000_000, scripts  # 6.5 MB of JavaScript sent as ~2 MB
    page.close()


def test_overview_opens_by_its_own_path_with_the_linked_view(server, browser):
    """/tong-quan is the default page's own path (links, bookmarks): Tổng quan with the URL's view, not
    Streamlit's "Page not found" (it serves the default page only at "/")."""
    page = _cold_opens(browser, server, f"/tong-quan?unit={_code()}&period=2026Q1&calendar=calendar", overview_shown,
                       "mở /tong-quan?unit=…")
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_text(f"{UNIT_NAME} · Quý 1/2026", exact=False).count() >= 1
    assert "period=2026Q1" in page.url and f"unit={_code()}" in page.url
    page.close()


# When Tổng quan's cards are all drawn and when Plotly's module ran (it adds its global style sheet then).
_ORDER = """window.__order = [];
new MutationObserver(() => {
  const seen = window.__order;
  if (!seen.includes('cards') && document.querySelectorAll('[data-testid=stMain] [data-testid=stMetric]').length >= 8)
    seen.push('cards');
  if (!seen.includes('plotly') && document.getElementById('plotly.js-style-global')) seen.push('plotly');
}).observe(document, {subtree: true, childList: true});"""


def test_overview_opens_without_a_chart_and_its_months_open_on_a_click(server, browser):
    """A cold Tổng quan link draws the whole page with no chart, and only then, in idle time, does the browser
    run Plotly's module (``server.idle_module_runs``; before, it ran first and the cards waited ~1 s for it);
    opening "Xu hướng theo tháng" then draws the monthly chart and puts its tab in the URL."""
    from dashboard.views import tong_quan

    page = logged_page(browser, viewport={"width": 1280, "height": 1000})
    page.add_init_script(_ORDER)
    page.goto(f"{server}/tong-quan?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
    overview_shown(page)
    assert page.locator(".js-plotly-plot").count() == 0
    page.wait_for_function("() => window.__order.length === 2", timeout=20_000)
    assert page.evaluate("() => window.__order") == ["cards", "plotly"]
    section = page.get_by_text(tong_quan.TREND_LABEL, exact=True)
    TIMINGS["mở Xu hướng theo tháng trên Tổng quan"] = time_in_browser(page, section.click, lambda: plot_shown(page))
    assert "tab=ty-le-theo-thang" in page.url and not page.get_by_test_id("stException").count()
    page.close()


def test_settings_panel_draws_on_opening_and_a_change_recomputes_the_page(server, browser):
    """The sidebar's "Cách tính chỉ tiêu" builds its widgets only once opened (a fragment: opening reruns just
    the panel); changing a definition there reruns the whole page, which the URL shows (only a run of the
    whole page writes it; the numbers that follow are checked by test_definition_settings_change_numbers)."""
    page = logged_page(browser, viewport={"width": 1280, "height": 1000})
    page.goto(f"{server}/tien-do?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
    page.wait_for_selector(IDLE, timeout=60_000)
    page.get_by_role("heading", name="Tiến độ giải quyết", exact=True).wait_for()
    wait_idle(page)
    widget = page.locator(f".st-key-{pickers.setting_widget_key('returned_policy')}")
    assert widget.count() == 0  # not built while the panel is closed
    sidebar = page.get_by_test_id("stSidebar")
    TIMINGS["mở Cách tính chỉ tiêu"] = time_in_browser(
        page, lambda: sidebar.get_by_text(pickers.SETTINGS_LABEL, exact=True).click(), widget.wait_for)
    wait_idle(page)  # the panel's own run has ended: a click during it is lost with the redrawn box
    # Mid-window: at the window's bottom edge (where the opened panel puts it) Streamlit's list does not open.
    widget.evaluate("e => e.scrollIntoView({block: 'center'})")
    widget.get_by_role("combobox").click()
    page.get_by_role("option", name=RETURNED_POLICIES["excluded"], exact=True).click()
    page.wait_for_url(re.compile(r"returned=excluded"), timeout=30_000)
    wait_idle(page)
    assert not page.get_by_test_id("stException").count()
    page.close()


PAGES = {"tong-quan": "Tổng quan", "tien-do": "Tiến độ giải quyết", "truc-tuyen": "Trực tuyến & mức độ DVC",
         "so-hoa": "Số hóa & thanh toán", "so-sanh": "So sánh đơn vị", "bao-cao": "Báo cáo", "du-lieu": "Dữ liệu"}
# Streamlit's English UI texts (1.67) that the app replaces or avoids (placeholders, select_all, CSS).
ENGLISH = ("Upload", "per file", "Drag and drop", "Browse files", "Choose an option", "Select all", "No results",
           "You can only select", "Page not found", "Download plot", "Reset axes", "yyyy")
# Text a person sees: text nodes that take space with a font size above 0, and CSS-generated ::after text.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest('script, style, noscript')) continue;
    const style = getComputedStyle(el);
    if (parseFloat(style.fontSize) === 0 || style.visibility === 'hidden' || !el.getClientRects().length) continue;
    out.push(node.textContent);
  }
  for (const el of document.querySelectorAll('*')) {
    const after = getComputedStyle(el, '::after').content;
    if (after && after.startsWith('"') && el.getClientRects().length) out.push(after);
  }
  return out.join('\\n');
}"""


# Text (chart text included) that runs past the right edge of a 390 px screen.
CUT_AT_THE_RIGHT = """() => [...document.querySelectorAll(
    '[data-testid=stMain] :is(text, p, span, h1, h2, h3, button)')]
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > 391)
  .map(e => (e.textContent || '').slice(0, 60))"""


def _english_shown(page) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT)
    return [word for word in ENGLISH if word in text]


def test_every_page_at_phone_width_in_vietnamese(server, browser):
    """Every page at 390×844 (screenshots in test-artifacts/): no English Streamlit text, the uploader
    and an empty dropdown in Vietnamese, card titles not cut, and the chair's at-risk list readable."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for path, heading in PAGES.items():
        page.goto(f"{server}/{path}?unit={_code()}&period={PERIOD_CODE}&calendar=calendar")
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=30_000)
        wait_idle(page)
        assert not page.get_by_test_id("stException").count(), path
        assert _english_shown(page) == [], path
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path  # no sideways page scroll
        # e.g. a chart subtitle running off the screen; once the layout has settled (charts resize after
        # their first draw, and a caption under one was seen past the edge for a moment under load)
        with contextlib.suppress(Exception):
            page.wait_for_function(f"({CUT_AT_THE_RIGHT})().length === 0", timeout=5_000)
        assert page.evaluate(CUT_AT_THE_RIGHT) == [], path
        page.screenshot(path=str(ARTIFACTS / f"{path}-390x844.png"))
        if path == "tong-quan":
            _check_at_risk_list_and_cards(page)
        elif path == "du-lieu":
            button = page.locator("[data-testid='stFileUploaderDropzone'] button").first
            label = button.evaluate("b => getComputedStyle(b.querySelector('[data-testid=stMarkdownContainer]'), "
                                    "'::after').content")
            assert label == '"Chọn tệp"' and button.bounding_box()["width"] > 60  # drawn by our CSS
            page.locator("[data-testid='stFileUploaderDropzone']").first.evaluate(
                """zone => { const files = new DataTransfer(); files.items.add(new File(['x'], 'a.csv'));
                            zone.dispatchEvent(new DragEvent('dragenter', {dataTransfer: files, bubbles: true})); }""")
            page.get_by_text("Drag and drop files here").wait_for(state="attached", timeout=10_000)
            assert "Thả tệp vào đây" in page.evaluate(VISIBLE_TEXT) and _english_shown(page) == []
        elif path == "so-sanh":
            units = page.locator(".st-key-compare_units input").first
            units.click()
            page.keyboard.type("zzzz")
            page.locator("[role='listbox'][data-empty='true']").wait_for(timeout=10_000)
            assert "Không có lựa chọn phù hợp" in page.evaluate(VISIBLE_TEXT)
            assert _english_shown(page) == []
            page.keyboard.press("Escape")
    page.close()


def _check_at_risk_list_and_cards(page) -> None:
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stMetricLabel] *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).textOverflow === 'ellipsis')
        .map(e => e.textContent)""")
    assert cut == []
    assert not page.locator(".st-key-overview_at_risk_grid").is_visible()  # the wide table is for wide screens
    item = page.locator(".st-key-overview_at_risk_phone li").first
    item.wait_for(timeout=10_000)
    item.scroll_into_view_if_needed()
    box = item.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    first_line, second_line = item.inner_text().split("\n")[:2]
    # Warning, working days left and due date first; the procedure on the next line.
    assert re.fullmatch(r"\S+ (Đã quá hạn|Sắp đến hạn|Chờ bổ sung \(dừng tính hạn\)) · (còn|quá) \d+ ngày LV · "
                        r"hạn \d\d/\d\d/\d{4}", first_line), first_line
    assert any(name in second_line for name in (p[1] for p in dbfactory.PROCEDURES)), second_line
    screenshot(page, "tong-quan-vong-2", 390)

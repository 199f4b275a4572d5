"""Shared pieces of the browser tests: system Chromium, a Streamlit server on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Background-networking flags: the closed network here refuses Chromium's own connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
APP = ROOT / "dashboard" / "server.py"  # the app (dashboard/app.py) as `motcua serve` runs it
BASELINE_APP = Path(__file__).resolve().parent / "baseline_app.py"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def chromium_missing() -> bool:
    return not Path(CHROMIUM).exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db_path: Path | None, log_name: str, extra_env: dict | None = None,
                     script: Path = APP, cwd: Path = ROOT) -> Iterator[str]:
    """Run `streamlit run <script>` (the dashboard) on ``db_path``; yield its base URL once healthy.

    ``cwd``: the checkout whose packages the server imports (``tests/browser_ab.py`` runs other revisions)."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    env = {**os.environ, **({"MOTCUA_DB": str(db_path)} if db_path else {}), **(extra_env or {})}
    with open(ARTIFACTS / log_name, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port",
             str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, process)
            if script.name == APP.name and script.parent.name == APP.parent.name:
                _wait_warm_start(ARTIFACTS / log_name)
            yield base
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
            if process.poll() is None:
                process.kill()


def _wait_warm_start(log_path: Path, timeout: float = 180) -> None:
    """Until dashboard/server.py logged the end of its warm start: the timed visits are those of a server
    that has been up a while, as in production (the warm start is timed by the log line itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Khởi động trước" in log_path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError("the dashboard's warm start did not finish")


def _wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return
        if process.poll() is not None:
            raise RuntimeError("streamlit exited early")
        time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy")


# Added to the pages of the timed journeys: the browser time of every change of the app's script state.
# A timing then ends when the app's last run ended (and what the test waits for is shown), not at the end
# of a fixed wait in the test (``wait_idle`` adds up to 0.85 s of polling to whatever it follows).
STATE_LOG = """
window.__motcuaRuns = [];
new MutationObserver(records => {
  for (const r of records) window.__motcuaRuns.push([performance.now(), r.target.getAttribute(r.attributeName)]);
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""
_STATE = """() => [performance.now(),
  (document.querySelector("[data-testid='stApp']") || {getAttribute: () => null}).getAttribute('data-test-script-state'),
  window.__motcuaRuns || []]"""


def logged_page(browser, **options):
    """A new page (own context) that logs the app's script runs from its first document on."""
    page = browser.new_page(**options)
    page.add_init_script(STATE_LOG)
    return page


def browser_now(page) -> float:
    return page.evaluate("performance.now()")


def run_finished_at(page, since: float, quiet_ms: float = 600, timeout_s: float = 60) -> float:
    """Browser time (ms) at which the last script run after ``since`` ended, once the app has stayed idle for
    ``quiet_ms`` (a rerun the app asks for itself belongs to the same interaction); ``since`` when no run
    started within 3 s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now, state, runs = page.evaluate(_STATE)
        changes = [(at, value) for at, value in runs if at >= since]
        if state == "notRunning":
            if changes and now - changes[-1][0] >= quiet_ms:
                return max((at for at, value in changes if value == "notRunning"), default=changes[-1][0])
            if not changes and now - since >= 3000:
                return since
        time.sleep(0.05)
    raise TimeoutError("the app did not settle")


def time_in_browser(page, action, ready=None, *, since: float | None = None) -> float:
    """Seconds from the action (or from ``since``, browser ms; 0 = this document's navigation start) until
    the app's runs ended and ``ready()`` (waiting for what the user came for) returned, or until the browser
    time ``ready()`` returns (the moment it found the view drawn)."""
    start = browser_now(page) if since is None else since
    action()
    shown = start
    if ready is not None:
        drawn_at = ready()  # a browser time when ``ready`` timed the view itself
        shown = drawn_at if isinstance(drawn_at, float | int) else browser_now(page)
    return round((max(run_finished_at(page, start), shown) - start) / 1000, 3)


def e2e_database(tmp_path_factory, name: str) -> Path:
    """``MOTCUA_E2E_DB`` (e.g. the 1M-dossier benchmark database) or a fresh 900-dossier sample database."""
    existing = os.environ.get("MOTCUA_E2E_DB")
    if existing:
        return Path(existing)
    import dbfactory

    return dbfactory.sample_db(tmp_path_factory.mktemp(name) / "sample.duckdb", n=900)


@contextlib.contextmanager
def chromium_browser() -> Iterator:
    """The system Chromium driven by Playwright (never ``playwright install``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def save_timings(timings: dict[str, float], stem: str, title: str) -> None:
    """Print the journey's timings and save them as ``test-artifacts/<stem>[-<database>].json``."""
    if not timings:
        return
    suffix = f"-{Path(os.environ['MOTCUA_E2E_DB']).stem}" if os.environ.get("MOTCUA_E2E_DB") else ""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{stem}{suffix}.json").write_text(json.dumps(timings, indent=2, ensure_ascii=False))
    print(f"\n{title} (giây):", json.dumps(timings, ensure_ascii=False))


# When the view the user came for is drawn: checked at each change of the page (a MutationObserver) and timed
# at the frame that follows it, in the page itself. A poll from the test comes late whenever the browser's main
# thread is busy right after: drawing the rest of the page below a chart (on a cold So sánh link the poll read
# 3.91 s where the heatmap was drawn at 3.54 s, medians of 6), or running Plotly's module in idle time once
# Tổng quan is drawn. ``condition`` is a JavaScript expression of ``arg``.
_DRAWN_AT = """(arg) => new Promise((resolve, reject) => {
  const drawn = () => %s;
  const done = () => requestAnimationFrame(() => resolve(performance.now()));
  if (drawn()) return done();
  const observer = new MutationObserver(() => { if (drawn()) { observer.disconnect(); done(); } });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  setTimeout(() => { observer.disconnect(); reject(new Error('view not drawn in 60 s')); }, 60000);
})"""


def _drawn_at(condition: str) -> str:
    return _DRAWN_AT % condition


# The page's heading and a Plotly chart laid out on the page (its SVG has a size: not the hidden warm-up chart).
_PLOT_DRAWN_AT = _drawn_at("""document.querySelector('[data-testid=stMain] h1')
    && [...document.querySelectorAll('.js-plotly-plot .main-svg')].some((svg) => {
      const box = svg.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && getComputedStyle(svg).visibility !== 'hidden';
    })""")


def plot_shown(page) -> float:
    """A page's heading and its first visible Plotly chart are drawn; returns the browser time of the frame
    that shows them (``time_in_browser`` uses it)."""
    return page.evaluate(_PLOT_DRAWN_AT)


def comparison_shown(page) -> float:
    """So sánh đơn vị's heading and its first visible chart drawn (``plot_shown``): a shared link's view."""
    page.get_by_role("heading", name="So sánh đơn vị", exact=True).wait_for(timeout=60_000)
    return plot_shown(page)


def health_checks(page) -> set[str]:
    """Where the page looked for its server (``…/_stcore/health``). A set: a reconnection checks the same address
    again, which is not a second probe."""
    return set(page.evaluate("""() => performance.getEntriesByType('resource').map(r => r.name)
        .filter(name => name.endsWith('/_stcore/health'))"""))


# Every element of the page drawn: none still a placeholder (Streamlit draws a skeleton where an element waits
# for its code), and the page's last section there, so the run has sent the whole page.
_PAGE_DRAWN_AT = _drawn_at("""!document.querySelector('[data-testid=stSkeleton]')
    && [...document.querySelectorAll('[data-testid=stMain] h3')].some((h) => h.textContent.trim() === arg)""")
OVERVIEW_LAST_HEADING = "Hồ sơ quá hạn và sắp đến hạn"


def overview_shown(page) -> float:
    """Tổng quan as a chair opens it, whole: its heading, the KPI cards, the estimate and the at-risk list,
    every element drawn (none still waiting for its code); returns the browser time of the frame that shows
    it (``time_in_browser`` uses it). The page opens without a chart: its months are drawn once opened.
    (Stop 15 timed heading, first card and the monthly chart; the heading alone came ~1.5 s before the
    cards on a cold link.)"""
    return page.evaluate(_PAGE_DRAWN_AT, OVERVIEW_LAST_HEADING)


def measure_floor(browser) -> dict[str, float]:
    """The baseline of a run's timings: Streamlit alone (tests/baseline_app.py: a heading and one small
    Plotly chart, no data) opened cold in a new browser context, and one click that reruns it (medians of
    3). The machine's speed varies from run to run by 2x and more; the dashboard's figures are read beside
    these, measured in the same run."""

    def visit(base: str) -> tuple[float, float]:
        page = logged_page(browser, viewport={"width": 1280, "height": 1000})
        opened = time_in_browser(page, lambda: page.goto(base), lambda: plot_shown(page), since=0)
        button = page.get_by_role("button", name="Chạy lại")
        clicked = time_in_browser(page, button.click, lambda: page.get_by_text("Số lần bấm: 1").wait_for())
        page.close()
        return opened, clicked

    with streamlit_server(None, "e2e-baseline-streamlit.log", script=BASELINE_APP) as base:
        visit(base)  # the first visit pays the server's imports: not counted
        opens, clicks = zip(*(visit(base) for _ in range(3)), strict=True)
    return {FLOOR_OPEN: statistics.median(opens), FLOOR_CLICK: statistics.median(clicks)}


FLOOR_OPEN = "nền: Streamlit + 1 biểu đồ Plotly, mở lần đầu (trung vị 3 lần)"
FLOOR_CLICK = "nền: bấm nút, chạy lại và vẽ lại biểu đồ (trung vị 3 lần)"

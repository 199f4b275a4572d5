"""Two or more versions of the dashboard in the browser, measured in turn on the same database.

    python tests/browser_ab.py --db PATH [--scenario ranking-click|cold-link|cold-overview|cold-home] [--reps 8]
                               [--mbps 20]
                               REV REV…

Each REV is a git revision (``.`` is the working tree). A revision gets its own checkout (a detached git
worktree in a temporary directory) and its own server (``dashboard/server.py``, after its warm start). The
measurements alternate between the servers, in the opposite order every other round, so a machine whose
speed drifts (this one's changed 2x within an afternoon) slows every version alike. The README's "against
the code before it" figures of round 2 come from this: e.g. ``browser_ab.py --db big.duckdb HEAD~1 HEAD``.

- ``ranking-click``: So sánh of the period, then a click on a ranking bar until that unit's Tổng quan has
  finished drawing: its runs ended and the whole page drawn (``e2e_utils.overview_shown``; a different
  unit each round, the same one for every version).
- ``cold-link``: a shared So sánh link (metric, sort, heatmap tab) opened in a new browser context, until
  its chart is drawn; ``--mbps`` emulates a line of that speed with 30 ms latency.
- ``cold-overview``: a shared link of one commune's Tổng quan (``/tong-quan?unit=…``) opened the same way,
  until its runs ended and the whole page is drawn: heading, KPI cards, estimate, at-risk list, no element
  still waiting for its code (``e2e_utils.overview_shown``, as ``tests/test_e2e_round2.py`` times it).
- ``cold-home``: the app's address (``/``: Tổng quan of all units) opened the same way, as
  ``tests/test_e2e_dashboard.py`` times "mở ứng dụng".
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dbfactory
from e2e_utils import (
    IDLE,
    ROOT,
    chromium_browser,
    comparison_shown,
    logged_page,
    overview_shown,
    streamlit_server,
    time_in_browser,
)

PERIOD = "2026Q2"
COLD_LINK = (f"/so-sanh?period={PERIOD}&calendar=calendar&metric=on_time_rate_766&sort=name"
             "&tab=ban-do-nhiet-don-vi-thang")


@contextlib.contextmanager
def checkout(rev: str, stack: contextlib.ExitStack) -> Iterator[Path]:
    """The tree of ``rev``: the working tree itself for ".", else a detached worktree removed afterwards."""
    if rev == ".":
        yield ROOT
        return
    where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="motcua-ab-"))) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False,
                       capture_output=True)


def _throttle(page, mbps: float | None) -> None:
    if mbps:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        rate = mbps * 1e6 / 8
        cdp.send("Network.emulateNetworkConditions",
                 {"offline": False, "latency": 30, "downloadThroughput": rate, "uploadThroughput": rate})


def ranking_click(browser, base: str, round_no: int, _mbps: float | None) -> float:
    page = logged_page(browser, viewport={"width": 1280, "height": 1400})
    try:
        page.goto(f"{base}/so-sanh?period={PERIOD}&calendar=calendar")
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_role("heading", name="So sánh đơn vị", exact=True).wait_for()
        page.wait_for_timeout(1000)  # the page settled, as a user's click comes
        bar = page.locator(".js-plotly-plot .barlayer .trace path").nth(round_no * 5 + 1)

        def unit_overview_shown() -> float:
            page.wait_for_url(re.compile(r"/(tong-quan)?\?unit="), timeout=30_000)
            return overview_shown(page)

        return time_in_browser(page, lambda: bar.click(force=True), unit_overview_shown)
    finally:
        page.close()


def _cold_open(browser, url: str, view_shown, mbps: float | None) -> float:
    page = logged_page(browser, viewport={"width": 1280, "height": 1000})
    try:
        _throttle(page, mbps)
        return time_in_browser(page, lambda: page.goto(url), lambda: view_shown(page), since=0)
    finally:
        page.close()


def cold_link(browser, base: str, _round_no: int, mbps: float | None) -> float:
    return _cold_open(browser, base + COLD_LINK, comparison_shown, mbps)


def cold_overview(browser, base: str, _round_no: int, mbps: float | None) -> float:
    unit = dbfactory.commune_codes(["Xã Sóc Sơn"])[0]
    return _cold_open(browser, f"{base}/tong-quan?unit={unit}&period=2026Q1&calendar=calendar", overview_shown, mbps)


def cold_home(browser, base: str, _round_no: int, mbps: float | None) -> float:
    return _cold_open(browser, base + "/", overview_shown, mbps)


SCENARIOS = {"ranking-click": ranking_click, "cold-link": cold_link, "cold-overview": cold_overview,
             "cold-home": cold_home}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="e.g. python tests/dbfactory.py --big PATH")
    parser.add_argument("--scenario", choices=SCENARIOS, default="ranking-click")
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--mbps", type=float, help="cold links only: emulated line speed")
    parser.add_argument("revs", nargs="+")
    args = parser.parse_args()
    measure = SCENARIOS[args.scenario]
    with contextlib.ExitStack() as stack:
        browser = stack.enter_context(chromium_browser())
        bases = {}
        for n, rev in enumerate(args.revs):
            tree = stack.enter_context(checkout(rev, stack))
            bases[rev] = stack.enter_context(streamlit_server(
                args.db, f"browser-ab-{n}.log", script=tree / "dashboard" / "server.py", cwd=tree))
        timings: dict[str, list[float]] = {rev: [] for rev in args.revs}
        for round_no in range(args.reps):
            for rev in args.revs if round_no % 2 == 0 else args.revs[::-1]:
                timings[rev].append(measure(browser, bases[rev], round_no, args.mbps))
            print(round_no, {rev: values[-1] for rev, values in timings.items()}, flush=True)
    for rev, values in timings.items():
        print(f"{rev}: median {statistics.median(values):.3f} s  {values}")


if __name__ == "__main__":
    main()

"""`motcua serve` in a real browser: the app under a base URL path (as behind nginx), health endpoint, XSRF
cookie, structured logs, clean stop on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import dbfactory
import pytest
from e2e_utils import ARTIFACTS, IDLE, ROOT, chromium_browser, chromium_missing, free_port, health_checks

from dashboard.launch import ServeOptions, child_record, normalise_base_path, streamlit_argv
from dashboard.views import tong_quan
from motcua import db as dbmod

if chromium_missing():  # pragma: no cover - `make test` installs it
    pytest.skip("system Chromium not installed", allow_module_level=True)


def test_production_flags_and_base_path_rules():
    argv = streamlit_argv(ServeOptions(base_path="kpi"))
    flags = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert flags["--server.enableXsrfProtection"] == "true" and flags["--server.enableCORS"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false" and flags["--server.headless"] == "true"
    assert flags["--server.baseUrlPath"] == "kpi" and flags["--server.address"] == "127.0.0.1"
    assert normalise_base_path("/tinh/kpi/") == "tinh/kpi" and normalise_base_path(None) == ""
    with pytest.raises(ValueError, match="không hợp lệ"):
        normalise_base_path("kpi?x=<script>")
    assert child_record("ERROR|streamlit.x|boom", ("info", "s")) == ("error", "streamlit.x", "boom")
    assert child_record("  File 'a.py', line 1", ("error", "streamlit.x")) == (
        "error", "streamlit.x", "  File 'a.py', line 1")


@pytest.mark.e2e
def test_app_runs_through_motcua_serve_under_a_base_path(tmp_path):
    db_path = dbfactory.sample_db(tmp_path / "sample.duckdb", n=300)
    port, log = free_port(), tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--base-path", "/tinh/kpi/", "--db",
         str(db_path), "--config-dir", str(tmp_path), "--log-file", str(log)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/tinh/kpi"
    try:
        _wait_health(f"{base}/_stcore/health", process)
        with pytest.raises(urllib.error.HTTPError):  # nothing is served outside the base path
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
        # The page shell is Vietnamese (dashboard/server.py), for "/" and for a page's own path.
        for path in ("/", "/so-sanh?metric=online_rate"):
            shell = urllib.request.urlopen(f"{base}{path}", timeout=10).read().decode()
            assert '<html lang="vi">' in shell and "<title>Một Cửa KPI</title>" in shell, path
            # The app's CSS is in the shell, before any run: card titles are never drawn cut first.
            head = shell.split("</head>")[0]
            assert 'text-overflow: clip !important' in head and "stFileUploaderDropzone" in head, path
        with chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # The default page by its own path under the base path (a link): Tổng quan, no "Page not found".
            page.goto(f"{base}/tong-quan?period=2026Q2", wait_until="domcontentloaded")
            page.wait_for_selector(IDLE, timeout=60_000)
            page.get_by_text("Chế độ demo").first.wait_for(timeout=30_000)
            page.get_by_role("heading", name="Tổng quan", exact=True).wait_for(timeout=30_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            assert page.get_by_text("Page not found").count() == 0 and "period=2026Q2" in page.url
            # Streamlit looked for its server once, at the base path (server.base_url_script), not first at
            # …/tong-quan/_stcore/health.
            assert health_checks(page) == {f"{base}/_stcore/health"}
            assert page.evaluate("document.documentElement.lang") == "vi"
            # Tổng quan opens without a chart; the browser runs Plotly's module in idle time once the page is
            # drawn (server.idle_module_runs: it adds Plotly's global style sheet then), from the URL Streamlit
            # imports it from under the base path (fetched once: below), and the monthly section draws.
            page.wait_for_function("() => !!document.getElementById('plotly.js-style-global')", timeout=30_000)
            page.get_by_text(tong_quan.TREND_LABEL, exact=True).click()
            # Streamlit's bundles come gzipped (server.CompressedAssets) and decode: Plotly's 4.7 MB as 1.4 MB.
            page.wait_for_selector(".js-plotly-plot:visible", timeout=30_000)
            sizes = page.evaluate("""() => performance.getEntriesByType('resource')
                .filter(r => /PlotlyChart[^/]*[.]js$/.test(r.name)).map(r => [r.transferSize, r.decodedBodySize])""")
            assert sizes and all(0 < sent < decoded / 2 for sent, decoded in sizes), sizes
            # ... requested once, by the shell's preload (server.bundle_preloads): before Streamlit's own entry
            # script had even arrived, where without it the first chart of a run asks for it.
            fetched = page.evaluate("""() => { const r = performance.getEntriesByType('resource');
                const at = re => r.filter(e => re.test(e.name));
                return [at(/PlotlyChart[^/]*[.]js$/).map(e => e.startTime), at(/[/]index[.][\\w-]+[.]js$/)
                        .map(e => e.responseEnd)] }""")
            assert len(fetched[0]) == 1 and len(fetched[1]) == 1 and fetched[0][0] < fetched[1][0], fetched
            page.get_by_role("link", name="Dữ liệu").first.click()
            page.wait_for_url(f"{base}/du-lieu*", timeout=30_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            # An upload is the request XSRF protection guards: it must pass under the base path.
            page.locator(".st-key-upload_files input[type=file]").set_input_files(_export(tmp_path / "moi.csv"))
            page.get_by_text("moi.csv").first.wait_for(timeout=30_000)
            page.get_by_role("button", name="Nạp dữ liệu").click()
            page.get_by_text("Đã nạp xong").first.wait_for(timeout=60_000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "e2e-serve-base-path.png"))
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert "_streamlit_xsrf" in cookies  # XSRF protection is on
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    assert code == 0
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    assert records[0]["health"] == f"{base}/_stcore/health"
    assert any(r["logger"].startswith("streamlit") for r in records)
    # The warm start ran once the server was up (the default period's tables were computed before a visit).
    assert any(r["logger"] == "motcua.server" and r["msg"].startswith("Khởi động trước xong") for r in records)
    assert records[-1]["msg"] == "Bảng điều khiển đã dừng" and records[-1]["exit_code"] in (0, -15)
    assert dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers WHERE dossier_code = 'HS-MOI-1'") == [(1,)]


def _export(path):
    path.write_text("Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Trạng thái\n"
                    "HS-MOI-1;Phường Ba Đình;01/03/2026 08:00;Đang xử lý\n", encoding="utf-8")
    return str(path)


def _wait_health(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(process.stdout.read().decode(errors="replace"))
        time.sleep(0.3)
    raise RuntimeError("motcua serve did not become healthy")

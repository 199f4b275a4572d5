"""Dashboard under load: N concurrent browser sessions (Playwright + system Chromium) walk every page while
an optional import publishes a new database version; reports page errors and the server's memory.

    python -m scripts.bench_sessions --db bench-out/bench_kpi_10000000.duckdb [--sessions 20]
        [--rounds 2] [--import-file export.csv] [--out bench-out]

Memory is the Streamlit server process (VmRSS now and VmHWM peak, from /proc/<pid>/status), the figure
the issue asks for (target <= 1.5 GB with the 10M-dossier database). Errors are pages that show a Streamlit
exception box or fail to load; sessions that see the old or the new database are both fine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PAGES = ("tong-quan", "tien-do", "truc-tuyen", "so-hoa", "so-sanh", "du-lieu")
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RSS_TARGET_MB = 1536


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS / VmHWM of a process in MB (Linux)."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def start_server(db_path: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "MOTCUA_DB": str(db_path)}
    log = open(log_path, "w")  # noqa: SIM115 - the server owns it until it exits
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return process
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early, see {log_path}")
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not become healthy")


class Sampler(threading.Thread):
    """Samples the server's memory every 0.2 s (the peak matters, not only the end value)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError):
                self.peak_rss = max(self.peak_rss, memory_mb(self.pid).get("VmRSS", 0.0))
            time.sleep(0.2)


async def walk_pages(browser, base: str, rounds: int, index: int) -> dict:
    """One session: its own browser context (cookies, websocket), every page ``rounds`` times."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    loads = errors = 0
    messages = []
    try:
        for round_number in range(rounds):
            for offset in range(len(PAGES)):
                name = PAGES[(offset + index + round_number) % len(PAGES)]  # sessions spread over pages
                try:
                    await page.goto(f"{base}/{name}", wait_until="domcontentloaded", timeout=180_000)
                    with contextlib.suppress(Exception):
                        await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']",
                                                     timeout=3000)
                    await page.wait_for_selector(IDLE, timeout=300_000)
                    loads += 1
                    boxes = await page.locator("[data-testid='stException']").count()
                    if boxes:
                        errors += 1
                        messages.append(f"{name}: {boxes} exception box(es)")
                except Exception as exc:  # a page that does not load is an error of the run
                    errors += 1
                    messages.append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
    finally:
        await context.close()
    return {"session": index, "loads": loads, "errors": errors, "messages": messages}


async def _sessions(base: str, sessions: int, rounds: int) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return list(await asyncio.gather(*(walk_pages(browser, base, rounds, i) for i in range(sessions))))
        finally:
            await browser.close()


def run(db_path: Path, sessions: int, rounds: int, import_file: Path | None, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = start_server(db_path, port, out / "bench-sessions-streamlit.log")
    base = f"http://127.0.0.1:{port}"
    idle_mb = memory_mb(server.pid)
    sampler = Sampler(server.pid)
    sampler.start()
    importer, import_result = None, {}
    started = time.monotonic()
    try:
        if import_file is not None:  # publishes a new version while the sessions are loading pages
            def load() -> None:
                begin = time.monotonic()
                command = [sys.executable, "-c", "from cli.main import main; main()", "load", str(import_file),
                           "--db", str(db_path)]
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
                import_result.update(exit_code=done.returncode, seconds=round(time.monotonic() - begin, 1),
                                     finished_after_s=round(time.monotonic() - started, 1))

            importer = threading.Timer(5.0, load)
            importer.start()
        results = asyncio.run(_sessions(base, sessions, rounds))
        if importer is not None:
            importer.join()
        final_mb = memory_mb(server.pid)
    finally:
        sampler.stop.set()
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
        if server.poll() is None:
            server.kill()
    report = {
        "db": str(db_path), "db_size_mb": round(db_path.stat().st_size / 2**20, 1), "sessions": sessions,
        "rounds": rounds, "page_loads": sum(r["loads"] for r in results),
        "errors": sum(r["errors"] for r in results), "error_messages": [m for r in results for m in r["messages"]],
        "seconds": round(time.monotonic() - started, 1), "import_file": str(import_file) if import_file else None, "import": import_result,
        "rss_idle_mb": round(idle_mb.get("VmRSS", 0), 1), "rss_end_mb": round(final_mb.get("VmRSS", 0), 1),
        "rss_peak_mb": round(max(sampler.peak_rss, final_mb.get("VmHWM", 0)), 1), "rss_target_mb": RSS_TARGET_MB,
    }
    (out / "bench-sessions.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return report


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Default: the 1M-dossier database that bench_kpi (run before this by `make bench`) leaves in bench-out/.
    parser.add_argument("--db", type=Path, default=Path("bench-out/bench_kpi_1000000.duckdb"))
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--import-file", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args(argv)
    if not args.db.exists():
        raise FileNotFoundError(f"Không có cơ sở dữ liệu {args.db}: chạy `python -m scripts.bench kpi` trước.")
    report = run(args.db, args.sessions, args.rounds, args.import_file, args.out)
    verdict = "đạt" if report["rss_peak_mb"] <= RSS_TARGET_MB else "CHƯA ĐẠT"
    print(f"Phiên trình duyệt: {report['sessions']} · lượt tải trang: {report['page_loads']} · lỗi: {report['errors']}"
          f" · RSS lúc chờ {report['rss_idle_mb']} MB · cao nhất {report['rss_peak_mb']} MB "
          f"(mục tiêu ≤ {RSS_TARGET_MB} MB: {verdict})")
    for message in report["error_messages"][:20]:
        print("  -", message)
    return [report]


if __name__ == "__main__":
    main()

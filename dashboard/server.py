"""The dashboard's server: ``streamlit run dashboard/server.py`` (``motcua serve``, ``make run``, the browser
tests). It serves the app of ``dashboard/app.py`` unchanged, as a Streamlit ``st.App`` (Streamlit ≥ 1.67),
for what a plain ``streamlit run dashboard/app.py`` cannot do:

- **Warm start.** Streamlit imports an app's code and fills its caches on the first visit, so the first
  visitor after a restart (or after the cached entries expired, or a new import) waited for all of it:
  9.3 s on the 1M-dossier database where a later visit takes ~3.5 s. The lifespan hook starts one thread
  when the server starts (``motcua-start``) that imports the pages and runs ``dashboard.data.keep_warm``:
  the database opened and checked, the unit list, Tổng quan of all units, the data checks, the default
  period's league tables and the province ranks, in the caches the pages read; again after each new
  database version and before those entries expire. The server answers at once; a visitor who comes
  during a warm-up finds whatever is ready and computes the rest as before.
- **A Vietnamese page shell.** Streamlit's ``index.html`` says ``<html lang="en">`` and
  ``<title>Streamlit</title>``: a browser then offers to translate the Vietnamese page from English and a
  screen reader reads it with English rules, and a tab shows "Streamlit" until the first run sets the
  title. The middleware rewrites those two in the HTML responses (only ``text/html``; scripts, data and
  downloads pass untouched; a page Streamlit gzipped is unpacked first and sent as is). It also puts the
  app's CSS (``dashboard.pickers.page_style``) in the shell's ``<head>``: each run sends the same CSS
  through ``st.html``, but the browser mounts that element a moment after the run, so a busy browser
  first drew KPI card titles cut to "Tổng số hồ sơ nhận giải…" and Streamlit's English uploader texts.
  And it names, as ``<link rel="modulepreload">``, the bundles of Plotly's chart, of the table and of the
  KPI card with their dependencies (``bundle_preloads``). Streamlit loads each only when the first element
  that needs it arrives; preloaded, the browser fetches and compiles them while it still loads Streamlit
  itself. On 1M dossiers (medians of 8, servers in turn): a cold shared So sánh link 3.39 s against
  3.72 s with the chart and table bundles; the card's then took a cold Tổng quan link from 3.32 s to
  3.19 s and a ranking click from 1.07 s to 1.02 s. Last, it has the browser run Plotly's module in its idle
  time once a page's first run is drawn (``idle_module_runs``): Tổng quan opens without a chart, and the
  first chart the user opens there, or on the next page, does not wait for the module.

- **No Nagle delay.** Every connection the server accepts sends at once (``TCP_NODELAY``,
  ``send_without_delay``). Without it a reused connection's small response waited ~40 ms for the browser's
  delayed ACK, and a first visit fetches ~100 small scripts, 6 at a time.
- **One connection probe.** On a page's own path (``/so-sanh``), Streamlit first looks for its server at
  ``/so-sanh/_stcore/health``, gets a 404, and tries the app's root 100 ms later. The shell tells it the app's
  base URL (``base_url_script``), so the browser connects at once.

- **Compressed bundles.** Streamlit sends its JavaScript uncompressed (it skips gzip on its static
  paths rather than compress 23 MB of bundles on every request), so a first visit downloads Plotly's
  4.7 MB bundle as is: seconds on a commune office's line. ``CompressedAssets`` gzips each bundle once,
  keeps it in memory and sends it to every browser that accepts gzip (1.4 MB for Plotly's).

AppTest tests keep using ``dashboard/app.py`` directly; the pages draw the same CSS themselves."""

from __future__ import annotations

import asyncio
import asyncio.base_events
import functools
import gzip
import json
import re
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import streamlit as st
from starlette.middleware import Middleware
from streamlit.logger import get_logger

PAGE_TITLE = "Một Cửa KPI"
_HTML_REWRITES = ((b'<html lang="en">', b'<html lang="vi">'),
                  (b"<title>Streamlit</title>", f"<title>{PAGE_TITLE}</title>".encode()))
_log = get_logger("motcua.server")  # Streamlit's log format: `motcua serve` turns it into JSON lines


def vietnamese_shell(html: bytes, page_path: str = "") -> bytes:
    """Streamlit's ``index.html`` as this app serves it. ``page_path``: the part of the request's path after the
    app's base path (``/so-sanh``; ``""`` at the root)."""
    for old, new in _HTML_REWRITES:
        html = html.replace(old, new, 1)
    head = base_url_script(page_path) + bundle_preloads(html) + idle_module_runs(html) + _shell_style()
    return html.replace(b"</head>", head + b"</head>", 1)


# Streamlit's frontend reads ``window.__streamlit`` (its settings for a page whose server is elsewhere) once,
# when its index script runs; ``BACKEND_BASE_URL`` is where its health check and websocket go. Without it, on a
# page's own path it probes that path first (``/so-sanh/_stcore/health``: 404), then the app's root 100 ms
# later: ~0.15 s before every cold page link connects. The base is taken from the browser's own address, less
# the page part the server saw, so a proxy that adds or strips a prefix gets its own. A classic script in the
# head runs before Streamlit's module scripts; a host page that set ``__streamlit`` itself is left alone.
_BASE_URL_SCRIPT = """<script>(() => {
  const page = %s;
  const path = location.pathname.replace(/\\/+$/, "");
  if (window.__streamlit || !path.endsWith(page)) return;
  window.__streamlit = {BACKEND_BASE_URL: location.origin + path.slice(0, path.length - page.length) + "/"};
})();</script>"""


def base_url_script(page_path: str) -> bytes:
    """The script that gives Streamlit its server's base URL on the page at ``page_path`` (after the base
    path); nothing at the app's root, where Streamlit's first probe is right. The path comes from the request:
    written as a JSON string with ``<`` escaped, so it can never end the script."""
    page = page_path.rstrip("/")
    if not page:
        return b""
    return (_BASE_URL_SCRIPT % json.dumps(page).replace("<", "\\u003c")).encode()


def page_path_of(scope) -> str:
    """The request's path after the app's base path (``server.baseUrlPath``), as the browser sent it
    (percent-encoded, like ``location.pathname``); ``""`` if it is not under the base path."""
    raw = scope.get("raw_path") or quote(scope.get("path", "")).encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    base = "/" + (st.get_option("server.baseUrlPath") or "").strip("/")
    if base == "/":
        return path
    return path[len(base):] if path == base or path.startswith(base + "/") else ""


# Streamlit's lazy chunks of st.plotly_chart, st.dataframe and st.metric. Preloading the bundles of all the
# widgets a first run draws too (pickers, downloads, tabs…) was measured and not kept: the cold So sánh link's
# chart came 0.37 s later (medians of 8, in turn).
EARLY_BUNDLES = ("PlotlyChart", "DataFrame", "Metric")
_STATIC_JS = Path(st.__file__).parent / "static" / "static" / "js"
_INDEX_SCRIPT = re.compile(rb'<script type="module" crossorigin src="\./static/js/([\w.-]+\.js)"')
_DEPS_TABLE = re.compile(r"m\.f=\[([^\]]*)\]")  # Vite's __vite__mapDeps: every lazy chunk's files, once


def bundle_preloads(html: bytes, chunks: Sequence[str] = EARLY_BUNDLES) -> bytes:
    """``<link>`` tags that have the browser fetch and compile the bundles of ``chunks`` with their
    dependencies while it loads Streamlit's own scripts, rather than when a run's first chart or table
    arrives. Files the page already preloads are left out; nothing when Streamlit's index script no longer
    reads as expected (a newer Streamlit: the page works as before, only without the head start)."""
    found = _INDEX_SCRIPT.search(html)
    tags = []
    for name in _chunk_files(found.group(1).decode(), tuple(chunks)) if found else ():
        folder = "css" if name.endswith(".css") else "js"
        href = f"./static/{folder}/{name}"
        if href.encode() not in html:
            tags.append(f'<link rel="preload" as="style" crossorigin href="{href}">' if folder == "css"
                        else f'<link rel="modulepreload" crossorigin href="{href}">')
    return "".join(tags).encode()


# Run in the browser's idle time once the page's first run is drawn: Plotly's module, so the first chart of a
# page that opens without one (Tổng quan) does not wait ~0.5-0.9 s of main thread for it, nor hold up the
# rest of that page while it runs.
IDLE_BUNDLES = ("PlotlyChart",)
# Streamlit marks its root with the script's state: "notRunning" at first, "running", then "notRunning" again
# once the run is over; an element still waiting for its code is drawn as a skeleton. So the module runs once
# the first run is over and nothing is left a skeleton (an idle moment while a card's bundle still loads must
# not start it), or 10 s after the run at the latest. A browser without requestIdleCallback (older Safari)
# waits half a second instead.
_IDLE_SCRIPT = """<script type="module">
const files = %s;
const idle = window.requestIdleCallback || ((run) => setTimeout(run, 500));
let ran = false, started = false, fallback = null;
const start = () => {
  if (started) return;
  started = true;
  observer.disconnect();
  idle(() => files.forEach((file) => import(file).catch(() => {})), {timeout: 5000});
};
const observer = new MutationObserver(() => {
  const state = document.querySelector("[data-testid=stApp]")?.getAttribute("data-test-script-state");
  if (state === "running") ran = true;
  if (!ran || state !== "notRunning") return;
  fallback = fallback || setTimeout(start, 10000);
  if (!document.querySelector("[data-testid=stSkeleton]")) start();
});
observer.observe(document.documentElement,
                 {subtree: true, childList: true, attributes: true, attributeFilter: ["data-test-script-state"]});
</script>"""


def idle_module_runs(html: bytes, chunks: Sequence[str] = IDLE_BUNDLES) -> bytes:
    """A script that imports the modules of ``chunks`` (Streamlit's lazy bundles) once the page's first run
    has ended and is drawn, when the browser is idle; the same URLs Streamlit imports them from, so they run
    once. Nothing when Streamlit's index script does not read as expected."""
    found = _INDEX_SCRIPT.search(html)
    files = [name for chunk in chunks if (name := _chunk_module(found.group(1).decode(), chunk))] if found else []
    if not files:
        return b""
    return (_IDLE_SCRIPT % json.dumps([f"./static/js/{name}" for name in files])).encode()


def _chunk_import(chunk: str) -> str:
    return r"import\(`\./(" + re.escape(chunk) + r"\.[\w-]+\.js)`\)"


@functools.cache
def _index_source(index_script: str) -> str | None:
    """Streamlit's index script (~1 MB), read once for the preloads and the idle module runs."""
    try:
        return (_STATIC_JS / index_script).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


@functools.cache
def _chunk_module(index_script: str, chunk: str) -> str | None:
    """The file of one lazy chunk's own module, as Streamlit's index script imports it."""
    source = _index_source(index_script)
    call = re.search(_chunk_import(chunk), source) if source else None
    return call.group(1) if call and (_STATIC_JS / call.group(1)).is_file() else None


@functools.cache
def _chunk_files(index_script: str, chunks: tuple[str, ...]) -> tuple[str, ...]:
    """Each chunk's file and the files it imports, as the index script's Vite dependency map lists them (one
    table of files; each lazy ``import(`./PlotlyChart.<hash>.js`)`` followed by its indexes into it)."""
    source = _index_source(index_script) or ""
    try:
        table = _DEPS_TABLE.search(source)
        files = [item.strip().strip("\"'").rsplit("/", 1)[-1] for item in table.group(1).split(",")] if table else []
        found: dict[str, None] = {}
        for chunk in chunks:
            call = re.search(_chunk_import(chunk) + r"[^;]{0,80}?__vite__mapDeps\(\[([\d,]+)\]\)", source)
            if call:
                found.update(dict.fromkeys(files[int(i)] for i in call.group(2).split(",")))
    except IndexError:
        found = {}
    if not found:
        _log.warning("Không đọc được danh sách tệp JavaScript của Streamlit (%s): trang vẫn chạy, chỉ không "
                     "tải trước mã của biểu đồ, bảng và thẻ chỉ tiêu.", index_script)
    return tuple(name for name in found if name.endswith((".js", ".css")))


@functools.cache
def _shell_style() -> bytes:
    from dashboard import pickers  # the first page request, not the server's start, imports the app

    return pickers.page_style().encode()


async def _replace_whole_responses(app, scope, receive, send, wants, replace) -> None:
    """Run ``app``; a response whose start ``wants(start, headers)`` accepts is held until its whole body is
    in and sent as ``await replace(start, headers, body)`` returns it, (headers, body); any other response
    streams through unchanged. Both middlewares below work this way."""
    held: dict = {}
    body: list[bytes] = []

    async def relay(message) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            if wants(message, headers):
                held["start"], held["headers"] = message, headers
                return
        elif "start" in held and message["type"] == "http.response.body":
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            start = held.pop("start")
            new_headers, new_body = await replace(start, held["headers"], b"".join(body))
            await send({**start, "headers": new_headers})
            await send({"type": "http.response.body", "body": new_body})
            return
        await send(message)

    await app(scope, receive, relay)


class VietnameseShell:
    """ASGI middleware: ``vietnamese_shell`` applied to every ``text/html`` response (Streamlit's index.html,
    served for "/" and for every page path); other responses are streamed through unchanged."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async def vietnamese_page(start, headers, page: bytes) -> tuple[list, bytes]:
            return await _vietnamese_page(start, headers, page, page_path_of(scope))

        await _replace_whole_responses(self.app, scope, receive, send, _is_html, vietnamese_page)


def _is_html(_start, headers) -> bool:
    return headers.get(b"content-type", b"").startswith(b"text/html")  # held: the whole (small) page


async def _vietnamese_page(start, headers, page: bytes, page_path: str) -> tuple[list, bytes]:
    if headers.get(b"content-encoding") == b"gzip":
        page = gzip.decompress(page)  # Streamlit's gzip runs inside this middleware; 8 KB page
    page = vietnamese_shell(page, page_path)
    return [(name, str(len(page)).encode() if name == b"content-length" else value)
            for name, value in start.get("headers", []) if name != b"content-encoding"], page


_COMPRESSIBLE = (b"application/javascript", b"text/javascript", b"text/css", b"application/json", b"image/svg+xml")
_GZIP_LEVEL = 6  # Plotly's bundle: 4.7 MB -> 1.4 MB in 0.13 s, once per server


def _accepts_gzip(scope) -> bool:
    accepted = dict(scope.get("headers") or []).get(b"accept-encoding", b"")
    return b"gzip" in accepted.lower()


def _compressible(start, headers) -> bool:
    return (start.get("status") == 200 and b"content-encoding" not in headers and b"etag" in headers
            and headers.get(b"content-type", b"").split(b";")[0].strip() in _COMPRESSIBLE)


class CompressedAssets:
    """ASGI middleware: Streamlit's static files (``…/static/…``: hashed, immutable JS and CSS bundles) sent
    gzipped to browsers that accept it, each compressed once and kept (by path and ETag: a new Streamlit
    version has new files). Streamlit's own handler still answers every request, so its path checks,
    cache headers, 304s and 404s stand; only a whole 200 response of a text type is replaced."""

    def __init__(self, app) -> None:
        self.app = app
        self.compressed: dict[tuple[str, bytes], bytes] = {}

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] != "http" or scope.get("method") != "GET" or "/static/" not in scope.get("path", "")
                or not _accepts_gzip(scope)):
            await self.app(scope, receive, send)
            return

        async def gzipped(start, headers, raw: bytes) -> tuple[list, bytes]:
            etag = headers[b"etag"]
            packed = await self._packed(scope["path"], etag, raw)
            # A weak ETag, as for any re-encoded body (a 304 still matches it); no byte ranges of it.
            return [*((name, value) for name, value in start.get("headers", [])
                      if name not in (b"content-length", b"vary", b"etag", b"accept-ranges")),
                    (b"etag", b"W/" + etag.removeprefix(b"W/")), (b"content-encoding", b"gzip"),
                    (b"vary", b"Accept-Encoding"), (b"content-length", str(len(packed)).encode())], packed

        await _replace_whole_responses(self.app, scope, receive, send, _compressible, gzipped)

    async def _packed(self, path: str, etag: bytes, raw: bytes) -> bytes:
        key = (path, etag)
        packed = self.compressed.get(key)
        if packed is None:  # off the event loop: 0.13 s for the largest bundle
            packed = await asyncio.to_thread(gzip.compress, raw, compresslevel=_GZIP_LEVEL, mtime=0)
            self.compressed[key] = packed
        return packed


def _keep_warm(stop: threading.Event) -> None:
    started = time.perf_counter()
    try:
        from dashboard import data
        from dashboard.views import bao_cao, du_lieu, so_hoa, so_sanh, tien_do, tong_quan, truc_tuyen  # noqa: F401
    except Exception:  # noqa: BLE001 - a warm-up only: the first visit imports and computes it itself
        _log.warning("Khởi động trước thất bại; lượt xem đầu tiên sẽ tự tính.", exc_info=True)
        return
    first = True

    def report(period: str | None, seconds: float) -> None:
        nonlocal first
        if first:
            seconds = time.perf_counter() - started  # the imports included
        _log.info("%s sau %.1f s (kỳ %s).", "Khởi động trước xong" if first else "Đã tính lại trước",
                  seconds, period or "không có dữ liệu")
        first = False

    data.keep_warm(stop, report=report)


def send_without_delay() -> bool:
    """Have asyncio set ``TCP_NODELAY`` on every TCP connection it makes or accepts in this process; returns
    whether it could.

    asyncio does so only for a socket whose protocol number reads ``IPPROTO_TCP``. Streamlit 1.67 binds the
    listening socket it hands to uvicorn as ``socket.socket(family=…)``, whose protocol reads 0, and each
    accepted connection inherits that: so they all kept Nagle's algorithm, and a response written in two parts
    (headers, then a small body), or a websocket message after another, waited for the browser's delayed ACK,
    ~40 ms. On a reused connection: ``/_stcore/health`` 48 ms → 0.5 ms, a 124-byte script 48 → 1.9 ms; the 97
    scripts of a first visit over 6 connections 800 → 281 ms. The same cause as uvicorn's own pre-bound
    sockets (github.com/Kludex/uvicorn issue 3149). Called when uvicorn imports this module, before it
    accepts a connection. A later Python without the hook keeps its own behaviour (and a warning)."""
    if not callable(getattr(asyncio.base_events, "_set_nodelay", None)):
        _log.warning("Không đặt được TCP_NODELAY cho các kết nối: trang vẫn chạy, có thể chậm hơn.")
        return False
    asyncio.base_events._set_nodelay = _set_nodelay
    return True


def _set_nodelay(sock: socket.socket) -> None:
    # Protocol 0 of an INET stream socket is TCP: the case asyncio's own check leaves out.
    if (sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM
            and sock.proto in (0, socket.IPPROTO_TCP)):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@asynccontextmanager
async def _lifespan(_app):
    # After Streamlit's runtime started (st.App runs this hook then), so the caches filled are the ones
    # the sessions use. A thread: the server answers while it works; it ends with the server.
    stop = threading.Event()
    threading.Thread(target=_keep_warm, args=(stop,), name="motcua-start", daemon=True).start()
    yield
    stop.set()


send_without_delay()
app = st.App("app.py", lifespan=_lifespan, middleware=[Middleware(VietnameseShell), Middleware(CompressedAssets)])

"""dashboard/server.py's ``CompressedAssets``: Streamlit's static bundles sent gzipped, each compressed once,
everything else (other paths, 304, 206, HTML, browsers without gzip) passed through as Streamlit sent it; and
the page shell's preloads of the chart, table and card bundles (``bundle_preloads``)."""

from __future__ import annotations

import asyncio
import asyncio.base_events
import gzip
import json
import re
import socket

import pytest

from dashboard import server

BUNDLE = b"function plotly(){return 1}\n" * 4000
ETAG = b'"abc123"'


def _static_app(status: int = 200, content_type: bytes = b"application/javascript", body: bytes = BUNDLE,
                headers: tuple = (), etag: bytes = ETAG):
    """A stand-in for Streamlit's static handler: the body in 64 KB chunks, like Starlette's FileResponse."""
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"etag", etag),
            (b"accept-ranges", b"bytes"), (b"cache-control", b"public, immutable, max-age=31536000"), *headers]})
        chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)] or [b""]
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    return app, calls


def _get(middleware, path: str = "/static/js/PlotlyChart.D9Z0_fxz.js", accept: bytes | None = b"gzip, br"):
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    headers = [(b"accept-encoding", accept)] if accept is not None else []
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_a_static_bundle_is_sent_gzipped_and_compressed_once(monkeypatch):
    app, calls = _static_app()
    middleware = server.CompressedAssets(app)
    compressions = []
    real = gzip.compress
    monkeypatch.setattr(server.gzip, "compress", lambda *a, **k: compressions.append(1) or real(*a, **k))
    for _ in range(3):
        status, headers, body = _get(middleware)
        assert status == 200 and headers[b"content-encoding"] == b"gzip"
        assert gzip.decompress(body) == BUNDLE and len(body) < len(BUNDLE) / 10
        assert headers[b"content-length"] == str(len(body)).encode() and headers[b"vary"] == b"Accept-Encoding"
        assert headers[b"etag"] == b'W/"abc123"' and b"accept-ranges" not in headers  # a re-encoded body
        assert headers[b"cache-control"] == b"public, immutable, max-age=31536000"  # Streamlit's, kept
    assert len(calls) == 3 and len(compressions) == 1  # Streamlit answered each time; compressed once


@pytest.mark.parametrize(("path", "accept", "status", "content_type", "extra"), [
    ("/static/js/a.js", None, 200, b"application/javascript", ()),  # a client without gzip
    ("/static/js/a.js", b"identity", 200, b"application/javascript", ()),
    ("/_stcore/health", b"gzip", 200, b"text/plain", ()),  # not a static asset
    ("/static/js/a.js", b"gzip", 304, b"application/javascript", ()),  # the browser's copy is current
    ("/static/js/a.js", b"gzip", 206, b"application/javascript", ()),  # a byte range
    ("/static/index.html", b"gzip", 200, b"text/html", ()),  # the page shell: Streamlit and VietnameseShell
    ("/static/media/logo.png", b"gzip", 200, b"image/png", ()),  # already compressed
    ("/static/js/a.js", b"gzip", 200, b"application/javascript", ((b"content-encoding", b"br"),)),
])
def test_everything_else_passes_through_unchanged(path, accept, status, content_type, extra):
    app, _calls = _static_app(status=status, content_type=content_type, headers=extra)
    got_status, headers, body = _get(server.CompressedAssets(app), path, accept)
    assert got_status == status and body == BUNDLE and headers[b"etag"] == ETAG
    assert headers.get(b"content-encoding") in (None, b"br") and headers[b"content-length"] == str(len(BUNDLE)).encode()


def test_a_new_file_version_is_compressed_again():
    """Kept by path and ETag: a file that changed under the same path (a new Streamlit) is not sent stale."""
    middleware = server.CompressedAssets(_static_app()[0])
    _get(middleware)
    middleware.app = _static_app(body=b"changed();\n" * 5000, etag=b'"def456"')[0]
    _status, headers, body = _get(middleware)
    assert gzip.decompress(body) == b"changed();\n" * 5000 and headers[b"etag"] == b'W/"def456"'


def _streamlit_shell() -> bytes:
    return (server._STATIC_JS.parent.parent / "index.html").read_bytes()


def test_the_shell_preloads_the_chart_and_table_bundles_with_their_dependencies():
    """``vietnamese_shell`` names Streamlit's chunks of the chart, the table and the KPI card, and every file they
    import that the page does not already preload, so the browser fetches and compiles them with Streamlit's
    own scripts. Read from the installed Streamlit: an upgrade whose index script no longer parses fails here,
    not silently."""
    html = _streamlit_shell()
    head = server.vietnamese_shell(html).split(b"</head>")[0].decode()
    hrefs = re.findall(r'<link rel="(?:modulepreload|preload)"(?: as="style")? crossorigin href="\./static/([^"]+)"',
                       head)
    added = [h for h in hrefs if f"./static/{h}".encode() not in html]
    names = [h.rsplit("/", 1)[-1] for h in added]
    assert any(n.startswith("PlotlyChart.") and n.endswith(".js") for n in names), names
    assert any(n.startswith("DataFrame.") and n.endswith(".js") for n in names), names
    assert any(n.startswith("Metric.") and n.endswith(".js") for n in names), names
    assert any(h.startswith("css/DataFrame.") for h in added)
    assert 'rel="stylesheet" crossorigin href="./static/css/DataFrame.' not in head  # fetched early, applied as before
    assert len(added) == len(set(added)) and len(added) > 10  # each chunk's own imports too, once
    for href in added:
        assert (server._STATIC_JS.parent / href).is_file(), href


def test_a_shell_the_preloads_cannot_read_is_served_without_them():
    assert server.bundle_preloads(b"<html><head></head></html>") == b""
    unknown = _streamlit_shell().replace(b'src="./static/js/index.', b'src="./static/js/index.nope', 1)
    assert server.bundle_preloads(unknown) == b""
    assert '<html lang="vi">' in server.vietnamese_shell(unknown).decode()


def test_the_shell_runs_plotlys_module_once_the_first_run_is_drawn():
    """``idle_module_runs``: the shell imports Plotly's chunk, from the URL Streamlit's own lazy import uses,
    once Streamlit's root has gone from "running" back to "notRunning", no element is left a skeleton (waiting
    for its code) and the browser is idle — a page that
    opens without a chart (Tổng quan) then draws its first chart without waiting for the module. Read from the
    installed Streamlit; nothing when its index script does not parse."""
    html = _streamlit_shell()
    head = server.vietnamese_shell(html).split(b"</head>")[0].decode()
    (files,) = re.findall(r"const files = (\[[^\]]*\]);", head)
    (plotly,) = json.loads(files)
    index_script = re.search(r'src="\./static/js/([\w.-]+\.js)"', html.decode()).group(1)
    assert f"import(`./{plotly.rsplit('/', 1)[-1]}`)" in (server._STATIC_JS / index_script).read_text()
    assert plotly.startswith("./static/js/PlotlyChart.") and (server._STATIC_JS.parent / plotly[9:]).is_file()
    script = head[head.index("const files"):]
    assert 'state === "running"' in script and 'state !== "notRunning"' in script and "requestIdleCallback" in script
    assert "stSkeleton" in script
    unknown = html.replace(b'src="./static/js/index.', b'src="./static/js/index.nope', 1)
    assert server.idle_module_runs(unknown) == b"" and server.idle_module_runs(b"<html></html>") == b""


def _html_app(page: bytes):
    """A stand-in for Streamlit's handler of the page shell (``index.html`` for every page path)."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/html"), (b"content-length", str(len(page)).encode())]})
        await send({"type": "http.response.body", "body": page})

    return app


def _shell_at(raw_path: bytes, base_path: str, monkeypatch) -> str:
    monkeypatch.setattr(server.st, "get_option", lambda name: base_path if name == "server.baseUrlPath" else None)
    _status, _headers, body = _get(server.VietnameseShell(_html_app(_streamlit_shell())), raw_path.decode(), None)
    return body.split(b"</head>")[0].decode()


@pytest.mark.parametrize(("raw_path", "base_path", "page"), [
    (b"/so-sanh", "", "/so-sanh"),
    (b"/tinh/kpi/so-sanh/", "tinh/kpi", "/so-sanh"),  # under the base path: its own part left out
    (b"/tinh/kpi/tong-quan", "/tinh/kpi/", "/tong-quan"),
    (b"/s%C3%B3", "", "/s%C3%B3"),  # as the browser sent it, like location.pathname
])
def test_a_page_path_shell_tells_streamlit_its_base_url(raw_path, base_path, page, monkeypatch):
    """On a page's own path Streamlit probes ``<path>/_stcore/health`` first (a 404) and the app's root 100 ms
    later; the shell names the page part the server saw, so the browser takes its base URL from its own
    address (behind a proxy too) and connects at once."""
    head = _shell_at(raw_path, base_path, monkeypatch)
    assert f"const page = {json.dumps(page)};" in head and "window.__streamlit = {BACKEND_BASE_URL:" in head
    # A classic inline script: it runs as the parser meets it, before Streamlit's (deferred) module scripts.
    assert "<script>(() => {\n  const page" in head
    assert "if (window.__streamlit ||" in head  # a host page's own setting is kept


@pytest.mark.parametrize(("raw_path", "base_path"), [(b"/", ""), (b"/tinh/kpi/", "tinh/kpi"), (b"/tinh/kpi", "tinh/kpi"),
                                                     (b"/khac/so-sanh", "tinh/kpi")])
def test_the_app_root_shell_leaves_streamlit_to_find_its_server(raw_path, base_path, monkeypatch):
    assert "__streamlit" not in _shell_at(raw_path, base_path, monkeypatch)


def test_a_hostile_page_path_cannot_end_the_script(monkeypatch):
    head = _shell_at(b"/so-sanh</script><script>alert(1)</script>", "", monkeypatch)
    script = head[head.index("window.__streamlit") - 200:]
    assert "<script>alert" not in head and "\\u003c/script>\\u003cscript>alert(1)" in script


def test_every_accepted_connection_sends_without_delay(monkeypatch):
    """``send_without_delay``: a connection accepted on a listening socket bound as Streamlit 1.67 binds it
    (``socket.socket(family=…)``, protocol 0) gets ``TCP_NODELAY``, which asyncio's own check leaves off (Nagle's
    algorithm then held a small response ~40 ms for the browser's delayed ACK)."""

    def asyncio_own_check(sock):  # asyncio 3.11-3.13: only a socket whose protocol reads IPPROTO_TCP
        if sock.proto == socket.IPPROTO_TCP:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    monkeypatch.setattr(asyncio.base_events, "_set_nodelay", asyncio_own_check)
    assert _nodelay_of_an_accepted_connection() == 0
    assert server.send_without_delay()
    assert _nodelay_of_an_accepted_connection() == 1


def _nodelay_of_an_accepted_connection() -> int:
    async def accept_one() -> int:
        loop = asyncio.get_running_loop()
        listener = socket.socket(family=socket.AF_INET)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        accepted = loop.create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport):
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        tcp_server = await loop.create_server(Protocol, sock=listener)
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return int(await asyncio.wait_for(accepted, 5) != 0)
        finally:
            writer.close()
            tcp_server.close()

    return asyncio.run(accept_one())


def test_page_path_of_a_server_without_raw_path(monkeypatch):
    """An ASGI server that leaves out ``raw_path`` (optional in the spec): the decoded path, encoded again as a
    browser's ``location.pathname`` shows it."""
    monkeypatch.setattr(server.st, "get_option", lambda name: "kpi" if name == "server.baseUrlPath" else None)
    assert server.page_path_of({"type": "http", "path": "/kpi/só"}) == "/s%C3%B3"
    assert server.page_path_of({"type": "http", "path": "/kpi"}) == "" and server.page_path_of({"path": "/x"}) == ""

"""dashboard/server.py's ``CompressedAssets``: Streamlit's static bundles sent gzipped, each compressed once,
everything else (other paths, 304, 206, HTML, browsers without gzip) passed through as Streamlit sent it; and
the page shell's preloads of the chart, table and card bundles (``bundle_preloads``)."""

from __future__ import annotations

import asyncio
import gzip
import json
import re

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
    asyncio.run(middleware({"type": "http", "method": "GET", "path": path, "headers": headers}, receive, send))
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

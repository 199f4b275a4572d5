"""PNG export of Plotly figures with kaleido and the system Chromium.

Starting Chromium costs about two seconds, so one ``ChartRenderer`` session renders every figure of a
pack (and, in a batch, of every pack). When Chromium is missing or fails, rendering degrades: no
images, and ``note`` explains why in Vietnamese so the document can say so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import plotly.graph_objects as go
import plotly.io as pio

log = logging.getLogger(__name__)

PNG_WIDTH = 1000
PNG_HEIGHT = 480
PNG_SCALE = 1.6  # 1600 px across 16 cm: sharp in print, light in the .docx
RENDER_TIMEOUT_S = 90
RENDER_TABS = 1  # a second tab did not speed up four small figures in our runs, and slows the start
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# No MathJax: the figures have no LaTeX and fetching it from a CDN fails on a closed network.
pio.defaults.mathjax = None


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``BROWSER_PATH`` first), or None."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in _CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _missing_note(reason: str) -> str:
    return (f"Không tạo được biểu đồ ({reason}); báo cáo vẫn đầy đủ số liệu. "
            "Quản trị viên cài Chromium trên máy chủ (lệnh `make chromium`) để có biểu đồ.")


class ChartRenderer:
    """One kaleido/Chromium session on a private event-loop thread (safe inside Streamlit).

    Chromium starts in the background on ``__enter__`` (the caller meanwhile queries the numbers) and
    ``release()`` closes it in the background while the documents are built; ``__exit__`` waits for
    both. ``render(figures)`` returns one PNG (bytes) per figure, or ``[]`` when charts are unavailable
    (``note`` then holds the reason, in Vietnamese).
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.note: str | None = None if enabled else "Báo cáo được lập không kèm biểu đồ (theo lựa chọn)."
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._opening: Future | None = None
        self._closing: Future | None = None
        self._kaleido = None

    def __enter__(self) -> ChartRenderer:
        if not self.enabled:
            return self
        browser = find_chromium()
        if browser is None:
            self.note = _missing_note("không tìm thấy trình duyệt Chromium trên máy chủ")
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido-loop", daemon=True)
        self._thread.start()
        self._opening = asyncio.run_coroutine_threadsafe(self._open(browser), self._loop)
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        if self._closing is not None:
            try:
                self._closing.result(timeout=RENDER_TIMEOUT_S)
            except Exception as exc:  # closing must never hide the real result
                log.warning("kaleido close failed: %s", exc)
            self._closing = None
        self._stop_loop()

    def _session(self):
        """The open kaleido session (waits for the background start), or None when unavailable."""
        if self._opening is not None:
            try:
                self._kaleido = self._opening.result(timeout=RENDER_TIMEOUT_S)
            except Exception as exc:  # Chromium present but unusable (sandbox, missing libraries...)
                log.warning("kaleido could not start: %s", exc)
                self.note = _missing_note(f"Chromium không khởi động được: {exc}")
            self._opening = None
        return self._kaleido

    @property
    def available(self) -> bool:
        return self._session() is not None

    def release(self) -> None:
        """Start closing Chromium in the background (no more ``render`` calls after this)."""
        session = self._session()
        if session is not None and self._closing is None:
            self._closing = asyncio.run_coroutine_threadsafe(session.__aexit__(None, None, None), self._loop)
            self._kaleido = None

    async def _open(self, browser: str):
        import kaleido

        session = kaleido.Kaleido(n=RENDER_TABS, mathjax=False, path=browser)
        await session.__aenter__()
        return session

    def _stop_loop(self) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop.close()
        self._loop, self._thread = None, None

    def render(self, figures: Sequence[go.Figure], width: int = PNG_WIDTH,
               height: int | None = None) -> list[bytes]:
        session = self._session()
        if session is None or not figures:
            return []
        try:
            future = asyncio.run_coroutine_threadsafe(self._render_all(session, figures, width, height),
                                                      self._loop)
            return future.result(timeout=RENDER_TIMEOUT_S * len(figures))
        except Exception as exc:
            log.warning("chart rendering failed: %s", exc)
            self.note = _missing_note(f"lỗi khi vẽ biểu đồ: {exc}")
            return []

    @staticmethod
    async def _render_all(session, figures, width, height) -> list[bytes]:
        def options(figure) -> dict:
            fig_height = height or int(figure.layout.height or PNG_HEIGHT)
            return {"format": "png", "width": width, "height": fig_height, "scale": PNG_SCALE}

        # gather keeps the order of the figures; kaleido hands each call a free tab (RENDER_TABS).
        return list(await asyncio.gather(*(session.calc_fig(f, opts=options(f)) for f in figures)))


def render_pngs(figures: Sequence[go.Figure], enabled: bool = True) -> tuple[list[bytes], str | None]:
    """Render figures in one short-lived session: (images, note). ``images`` is [] when unavailable."""
    with ChartRenderer(enabled) as renderer:
        return renderer.render(figures), renderer.note

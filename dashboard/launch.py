"""Production launcher of the dashboard (``motcua serve``): Streamlit as a supervised child process.

The child is ``python -m streamlit run dashboard/server.py`` (the app of ``dashboard/app.py`` with a warm
start) with the production flags set explicitly (headless, XSRF protection and CORS on, usage statistics
off, no file watcher, no error details shown to users), bound to ``host:port`` under ``base_path`` (behind
a reverse proxy, e.g. ``/kpi``). Its output is turned into structured logs: one JSON object per line
(``ts``, ``level``, ``logger``, ``msg``) on stdout (journald) or appended to ``log_file`` (reopened after
logrotate moves it). SIGTERM/SIGINT are forwarded so systemd stops it cleanly.

Health check: ``GET http://HOST:PORT/<base_path>/_stcore/health`` answers ``200 ok`` once the server is up.

This module imports no Streamlit: it only builds the command line and supervises the child.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from motcua.jsonlog import json_line

APP = Path(__file__).resolve().parent / "server.py"  # dashboard/app.py served with a warm start (server.py)
ROOT = APP.parent.parent  # holds .streamlit/config.toml (theme); the child runs there
_BASE_PATH_RE = re.compile(r"[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*")
_CHILD_LINE_RE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL)\|([^|]*)\|(.*)")
_CHILD_FORMAT = "%(levelname)s|%(name)s|%(message)s"


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8501
    base_path: str = ""  # "kpi" -> http://host:port/kpi/
    db_path: str | None = None
    log_file: str | None = None
    require_login: bool = False  # a missing users file is an error instead of the demo mode
    max_upload_mb: int = 200


def normalise_base_path(text: str | None) -> str:
    """'/kpi/' -> 'kpi'; raises ValueError (Vietnamese) for anything that is not a plain URL path."""
    path = (text or "").strip().strip("/")
    if path and not _BASE_PATH_RE.fullmatch(path):
        raise ValueError(f"Đường dẫn gốc '{text}' không hợp lệ: chỉ dùng chữ, số, '.', '_', '~', '-' và '/'.")
    return path


def local_url(options: ServeOptions) -> str:
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host
    base = f"/{options.base_path}" if options.base_path else ""
    return f"http://{host}:{options.port}{base}/"


def health_url(options: ServeOptions) -> str:
    return local_url(options) + "_stcore/health"


def streamlit_argv(options: ServeOptions) -> list[str]:
    flags = {
        "server.address": options.host,
        "server.port": options.port,
        "server.baseUrlPath": options.base_path,
        "server.headless": "true",
        "server.enableXsrfProtection": "true",
        "server.enableCORS": "true",  # Streamlit requires CORS protection on for XSRF protection to hold
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "server.maxUploadSize": options.max_upload_mb,
        "browser.gatherUsageStats": "false",
        "client.showErrorDetails": "none",
        # Streamlit's own grid CSV download would bypass the formula-neutralising exports (issue 12).
        "client.disableDataExport": "true",
        "client.toolbarMode": "minimal",
        "global.developmentMode": "false",
        "logger.level": "info",
        "logger.messageFormat": _CHILD_FORMAT,
    }
    argv = [sys.executable, "-m", "streamlit", "run", str(APP)]
    for key, value in flags.items():
        argv += [f"--{key}", str(value)]
    return argv


def child_env(options: ServeOptions) -> dict[str, str]:
    env = dict(os.environ)
    if options.db_path:
        env["MOTCUA_DB"] = str(Path(options.db_path).resolve())
    if options.require_login:
        env["MOTCUA_REQUIRE_LOGIN"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _log_sink(log_file: str | None):
    """A function writing one finished JSON line (file: reopened when logrotate moves it)."""
    if not log_file:
        def write_stdout(line: str) -> None:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        return write_stdout
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))

    def write_file(line: str) -> None:
        handler.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
    return write_file


def child_record(line: str, previous: tuple[str, str]) -> tuple[str, str, str]:
    """(level, logger, message) of one child output line; continuation lines (tracebacks) keep the level
    and logger of the line before them."""
    match = _CHILD_LINE_RE.fullmatch(line)
    if match:
        return match.group(1).lower(), match.group(2) or "streamlit", match.group(3)
    return previous[0], previous[1], line


def serve(options: ServeOptions) -> int:
    """Run Streamlit until it exits or we are told to stop; returns its exit code."""
    write = _log_sink(options.log_file)
    argv = streamlit_argv(options)
    write(json_line("info", "motcua.serve", "Khởi động bảng điều khiển", url=local_url(options),
                    health=health_url(options), db=child_env(options).get("MOTCUA_DB"), pid=os.getpid()))
    child = subprocess.Popen(argv, cwd=ROOT, env=child_env(options), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace", bufsize=1)

    def forward(signum, _frame) -> None:
        write(json_line("info", "motcua.serve", "Nhận tín hiệu dừng", signal=signal.Signals(signum).name))
        child.send_signal(signal.SIGTERM)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        state = ("info", "streamlit")
        for raw in child.stdout:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            level, logger, message = child_record(line, state)
            state = (level, logger)
            write(json_line(level, logger, message.strip()))
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if child.poll() is None:
            child.kill()
    write(json_line("info" if code in (0, -signal.SIGTERM) else "error", "motcua.serve",
                    "Bảng điều khiển đã dừng", exit_code=code))
    return 0 if code in (0, -signal.SIGTERM) else code

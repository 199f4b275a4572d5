"""Structured logs for the service commands: one JSON object per line (journald, Loki, grep + jq).

``setup_logging(log_file)`` sends the ``motcua`` and ``loaders`` loggers to stderr or a file. Extra fields
passed as ``logger.info("...", extra={"fields": {...}})`` become top-level keys.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

_OWN_LOGGERS = ("motcua", "loaders", "cli")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_line(level: str, logger: str, msg: str, **fields) -> str:
    """The same shape for lines that do not come from ``logging`` (the Streamlit child's output)."""
    entry = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "logger": logger,
             "msg": msg, **fields}
    return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> logging.Handler:
    """Attach one JSON handler (file in append mode, else stderr) to the project's loggers."""
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in _OWN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h.formatter, JsonFormatter)]
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    return handler

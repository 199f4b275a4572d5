"""Append-only audit log: who signed in, who imported which file, who took which export or report.

Storage: one JSON object per line in ``<database>.audit.jsonl`` beside the published database (or
``$MOTCUA_AUDIT``). Not a DuckDB table, deliberately:

- the published database is *replaced* by every import (private copy + atomic rename, see ``db.py``):
  an event written into it would need a whole write transaction (a copy of the file) per sign-in or
  download, would block importers, and an event written during an import would be lost by the rename;
- a separate DuckDB file allows one writing process at a time, while several dashboard processes and the
  CLI write events concurrently;
- the dashboard opens databases read-only; the log is the one thing it appends to.

Each event is appended under an exclusive ``flock`` with ``O_APPEND`` and ``fsync``, so events from many
processes never interleave and a crash loses at most the event being written. Every line carries the
SHA-256 of the previous line (``prev``): editing or deleting a past line breaks the chain, which
``verify`` (``motcua audit --verify``) reports. Events never hold passwords or dossier contents, only
who, what (file name, export, unit codes) and when. Recording never stops the user's action: a log that
cannot be written is reported on stderr/the server log (``AuditError`` for callers that must know).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from motcua.db import resolve_path

AUDIT_ENV = "MOTCUA_AUDIT"
LOG = logging.getLogger(__name__)

# action -> Vietnamese label (page, CLI output)
ACTIONS = {
    "sign_in": "Đăng nhập",
    "sign_in_failed": "Đăng nhập sai",
    "import": "Nạp tệp",
    "export": "Tải bảng (CSV/Excel)",
    "report": "Tải báo cáo",
    "report_batch": "Tải bộ báo cáo (zip)",
}
_GENESIS = "0" * 64
_TAIL_BYTES = 64 * 1024


class AuditError(RuntimeError):
    """The audit log could not be read or written; the message is Vietnamese."""


@dataclass
class Event:
    action: str
    user: str
    target: str = ""  # file name of the import, export or report
    units: list[str] = field(default_factory=list)  # unit codes; empty = every unit the user may see
    detail: str = ""  # Vietnamese summary: scope caption, rows, result
    role: str = ""
    address: str = ""
    via: str = "dashboard"  # dashboard | cli
    at: str = ""  # ISO timestamp (local time), set when recorded


def audit_path(db_path: str | os.PathLike | None = None) -> Path:
    explicit = os.environ.get(AUDIT_ENV)
    if explicit:
        return Path(explicit)
    db_file = resolve_path(db_path)
    return db_file.with_name(db_file.stem + ".audit.jsonl")


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(handle) -> bytes | None:
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return None
    start = max(0, end - _TAIL_BYTES)
    handle.seek(start)
    tail = handle.read()
    lines = tail.rstrip(b"\n").split(b"\n")
    if start > 0 and len(lines) < 2:  # one enormous line: read it whole
        handle.seek(0)
        lines = handle.read().rstrip(b"\n").split(b"\n")
    return lines[-1]


def _ends_without_newline(handle) -> bool:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) != b"\n"


def record(event: Event, db_path: str | os.PathLike | None = None) -> dict:
    """Append ``event`` (with time and chain hash) and return the stored record."""
    path = audit_path(db_path)
    entry = {**asdict(event), "at": event.at or datetime.now().isoformat(timespec="seconds")}
    entry["units"] = sorted({str(u) for u in entry["units"]})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # one writer at a time across processes
            try:
                last = _last_line(handle)
                entry["prev"] = _GENESIS if last is None else _line_hash(last)
                torn = last is not None and _ends_without_newline(handle)  # a crash mid-line
                handle.write((b"\n" if torn else b"") + json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as exc:
        raise AuditError(f"Không ghi được nhật ký truy cập '{path}': {exc}") from exc
    return entry


def record_quietly(event: Event, db_path: str | os.PathLike | None = None) -> None:
    """``record``, but a failure is logged instead of breaking the user's sign-in or download."""
    try:
        record(event, db_path)
    except AuditError:
        LOG.exception("audit log not written")


def _lines(path: Path) -> list[tuple[int, bytes]]:
    try:
        with open(path, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)  # never read a half-written last line
            try:
                return list(enumerate(handle, start=1))
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"Không đọc được nhật ký truy cập '{path}': {exc}") from exc


@dataclass(frozen=True)
class Filter:
    users: Sequence[str] = ()
    actions: Sequence[str] = ()
    units: Sequence[str] = ()  # events touching any of these units (or every unit)
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def keeps(self, entry: dict) -> bool:
        if self.users and entry.get("user", "").lower() not in {u.lower() for u in self.users}:
            return False
        if self.actions and entry.get("action") not in self.actions:
            return False
        if self.units and entry.get("units") and not set(entry["units"]) & set(self.units):
            return False
        at = datetime.fromisoformat(entry.get("at", "1970-01-01T00:00:00"))
        return not ((self.since and at < self.since) or (self.until and at >= self.until))


def read(db_path: str | os.PathLike | None = None, where: Filter | None = None,
         limit: int | None = None) -> list[dict]:
    """Events matching ``where``, newest first (at most ``limit``)."""
    where = where or Filter()
    kept = []
    for _number, line in _lines(audit_path(db_path)):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if where.keeps(entry):
                kept.append(entry)
    kept.reverse()
    return kept[:limit] if limit is not None else kept


def verify(db_path: str | os.PathLike | None = None) -> list[str]:
    """Problems in the chain (Vietnamese, naming the line); empty when the log is intact."""
    problems, previous = [], _GENESIS
    for number, line in _lines(audit_path(db_path)):
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"Dòng {number}: không phải JSON hợp lệ.")
            previous = _line_hash(line)
            continue
        if entry.get("prev") != previous:
            problems.append(f"Dòng {number}: chuỗi băm không khớp (dòng trước đã bị sửa, xoá hoặc chèn).")
        previous = _line_hash(line)
    return problems


def describe_units(units: Iterable[str]) -> str:
    codes = sorted(set(units))
    return ", ".join(codes) if codes else "tất cả đơn vị được xem"

"""Drop folder: import export files that appear in a folder (``motcua watch DIR``).

Officers copy exports into ``DIR`` (a shared folder). Every poll:

1. **Leave files still being written alone.** A file is taken only when its size and modification time
   are unchanged since the previous poll (or, seen for the first time, when nothing has written to it for
   ``settle_seconds``), and no process holds a lock on it (flock or POSIX lock probe). Hidden files and
   the temporary names of copy tools (``*.part``, ``*.tmp``, ``~$…``, ``*.crdownload``) are ignored.
2. **Import every ready file in one run** of ``loaders.pipeline.import_files``: all-or-nothing, idempotent.
3. **Move** each file to ``done/`` (loaded, or already loaded before) or to ``failed/`` with a ``.txt``
   beside it giving the Vietnamese reason.

Restart safety: the move comes after the publish, so a crash in between leaves an imported file in
``DIR``. The next poll imports it again, the pipeline recognises its sha256 (``duplicate_file``), writes
nothing, and the file moves to ``done/``: a file is never imported twice. A run that raises (disk full, a
bug) publishes nothing; its files are retried one by one so that one poisonous file cannot block the folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loaders.pipeline import STATUS_FAILED, FileResult, import_files
from motcua import units as unitsmod

LOG = logging.getLogger("loaders.watch")
DONE, FAILED = "done", "failed"
_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".download", ".swp")
_TEMP_PREFIXES = (".", "~$", "~")


@dataclass(frozen=True)
class Observation:
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: where it went and why."""

    file_name: str
    status: str  # done | failed
    path: Path
    message: str
    import_status: str = ""  # loaded | duplicate_file | failed | error


def is_candidate(path: Path) -> bool:
    name = path.name
    return (path.is_file() and not name.startswith(_TEMP_PREFIXES)
            and not name.lower().endswith(_TEMP_SUFFIXES))


def is_locked(path: Path) -> bool:
    """True when another process holds a flock or a POSIX write lock on the file (the writer is not done)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        for lock, unlock in ((fcntl.flock, fcntl.flock), (fcntl.lockf, fcntl.lockf)):
            try:
                lock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return True
                raise
            unlock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def unique_destination(directory: Path, name: str) -> Path:
    """``directory/name``, or ``name (2).ext`` … when a file of that name was dropped before."""
    candidate = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 2
    while candidate.exists():
        candidate = directory / f"{stem} ({counter}){suffix}"
        counter += 1
    return candidate


def failure_text(result: FileResult) -> str:
    """The Vietnamese reason written beside a failed file."""
    lines = [f"Tệp '{result.file_name}' KHÔNG được nạp.", f"Lý do: {result.message or 'không rõ'}"]
    for sample in result.reject_samples:
        column = f", cột '{sample['column_name']}'" if sample.get("column_name") else ""
        lines.append(f"  - dòng {sample['row_number']}{column}: {sample['reason']}")
    if result.rows_rejected > len(result.reject_samples):
        lines.append(f"  ... và các dòng khác (tổng {result.rows_rejected} dòng bị từ chối; xem trang Dữ liệu).")
    lines.append("Sửa tệp rồi chép lại vào thư mục nạp (tên tệp có thể giữ nguyên).")
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class DropFolder:
    """One watched folder. ``poll()`` does one pass; ``run()`` loops (bounded by ``max_polls`` in tests)."""

    def __init__(self, inbox: str | os.PathLike, *, db_path: str | os.PathLike | None = None,
                 unit: str | None = None, user: str = "motcua-watch", settle_seconds: float = 10.0,
                 clock: Callable[[], float] = time.time,
                 importer: Callable[..., object] = import_files):
        self.inbox = Path(inbox)
        self.done_dir, self.failed_dir = self.inbox / DONE, self.inbox / FAILED
        self.db_path, self.unit, self.user = db_path, unit, user
        self.settle_seconds, self.clock, self.importer = settle_seconds, clock, importer
        self._seen: dict[str, Observation] = {}

    # --- readiness -------------------------------------------------------------------------------------
    def _is_ready(self, path: Path) -> bool:
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._seen.pop(path.name, None)
            return False
        now = Observation(stat.st_size, stat.st_mtime_ns)
        previous = self._seen.get(path.name)
        self._seen[path.name] = now
        quiet = self.clock() - stat.st_mtime_ns / 1e9 >= self.settle_seconds
        # Unchanged since the last poll; a file first seen (e.g. after a restart) or still empty (a copy
        # tool creates the file before writing) must also have been left alone for settle_seconds.
        stable = quiet if previous is None or now.size == 0 else previous == now
        return stable and not is_locked(path)

    def ready_files(self) -> list[Path]:
        """Complete files of the folder, oldest first (the pipeline applies files of a run in this order)."""
        if not self.inbox.is_dir():
            raise NotADirectoryError(f"Thư mục nạp '{self.inbox}' không tồn tại.")
        present = sorted((p for p in self.inbox.iterdir() if is_candidate(p)),
                         key=lambda p: (p.stat().st_mtime_ns, p.name))
        for gone in set(self._seen) - {p.name for p in present}:
            del self._seen[gone]
        return [p for p in present if self._is_ready(p)]

    # --- import and move -------------------------------------------------------------------------------
    def poll(self) -> list[Outcome]:
        ready = self.ready_files()
        if not ready:
            return []
        try:
            results = self._import(ready)
        except unitsmod.UnitError:  # --unit cannot be resolved: a configuration error, not the files' fault
            raise
        except OSError as exc:  # disk full, permissions: nothing published; try again next poll
            LOG.error("Lỗi hệ thống khi nạp, sẽ thử lại: %s", exc, extra={"fields": {"files": [p.name for p in ready]}})
            return []
        except Exception:
            LOG.exception("Lần nạp chung bị lỗi; nạp lại từng tệp", extra={"fields": {"files": len(ready)}})
            return [outcome for path in ready for outcome in self._import_alone(path)]
        return [self._settle(path, result) for path, result in zip(ready, results, strict=True)]

    def _import(self, paths: list[Path]) -> list[FileResult]:
        summary = self.importer([str(p) for p in paths], db_path=self.db_path, unit=self.unit, user=self.user)
        return summary.files

    def _import_alone(self, path: Path) -> list[Outcome]:
        try:
            (result,) = self._import([path])
        except unitsmod.UnitError:
            raise
        except OSError as exc:
            LOG.error("Lỗi hệ thống khi nạp '%s', sẽ thử lại: %s", path.name, exc)
            return []
        except Exception as exc:  # a bug on this file only: park it with the reason instead of looping on it
            LOG.exception("Không nạp được '%s'", path.name)
            result = FileResult(path.name, path.suffix.lstrip(".").lower(), "error",
                                message=f"lỗi hệ thống khi nạp tệp ({type(exc).__name__}: {exc}). "
                                        "Báo cho quản trị viên kèm tệp này.")
        return [self._settle(path, result)]

    def _settle(self, path: Path, result: FileResult) -> Outcome:
        failed = result.status in (STATUS_FAILED, "error")
        directory = self.failed_dir if failed else self.done_dir
        directory.mkdir(exist_ok=True)
        destination = unique_destination(directory, path.name)
        if failed:
            _write_atomic(destination.with_name(destination.name + ".txt"), failure_text(result))
        os.replace(path, destination)
        self._seen.pop(path.name, None)
        outcome = Outcome(path.name, FAILED if failed else DONE, destination, result.message, result.status)
        LOG.log(logging.WARNING if failed else logging.INFO, "%s -> %s/: %s", path.name, outcome.status,
                result.message, extra={"fields": {"file": path.name, "status": outcome.status,
                                                  "import_status": result.status, "import_id": result.import_id,
                                                  "rows_loaded": result.rows_loaded,
                                                  "rows_rejected": result.rows_rejected}})
        return outcome

    def run(self, *, interval: float = 5.0, max_polls: int | None = None,
            stop: threading.Event | None = None) -> list[Outcome]:
        """Poll until ``stop`` is set or ``max_polls`` passes ran; returns every outcome."""
        stop = stop or threading.Event()
        outcomes: list[Outcome] = []
        polls = 0
        while not stop.is_set() and (max_polls is None or polls < max_polls):
            with contextlib.suppress(FileNotFoundError):  # a file vanishing mid-poll is picked up next time
                outcomes.extend(self.poll())
            polls += 1
            if max_polls is None or polls < max_polls:
                stop.wait(interval)
        return outcomes

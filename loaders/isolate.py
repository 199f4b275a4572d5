"""Parse one untrusted file in a child process with a memory and a time allowance (README "An toàn").

A hostile file can make a native parser ask for hundreds of GiB and abort the whole process (calamine on
an xlsx with cells at A1 and XFD1048576). So no reader runs in the caller: ``parse_in_child`` forks a
child from a fork server started once per process (its reader modules already imported, so a child starts
in milliseconds), caps the child's address space (``RLIMIT_AS``) and waits at most ``seconds``.

The child sends back its tables as Arrow IPC files in a private temp directory (the parent memory-maps
them, so a 1M-row table is not copied through a pipe) plus one metadata dict per table. A crash, a
timeout or an exhausted allowance becomes a ``LoadError`` for that file only, with ``reason`` set to
``crash`` / ``timeout`` / ``memory``; the caller records it like any unreadable file.
"""

from __future__ import annotations

import dataclasses
import io
import multiprocessing
import multiprocessing.context
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from loaders.model import LoadError, RawTable


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class ParseLimits:
    # Address space the child may add to what it maps at start (virtual memory: the allocator's 1 GiB arena
    # reserved by pyarrow's import, thread stacks and file mappings count too, so this is a kill switch;
    # the grid limits of ``loaders.safety`` keep the resident peak of any accepted file near 1 GB).
    memory_bytes: int
    seconds: float


DEFAULT_LIMITS = ParseLimits(memory_bytes=_env_int("MOTCUA_PARSE_MEMORY_MB", 2048) * 1024 * 1024,
                             seconds=_env_int("MOTCUA_PARSE_SECONDS", 300))
# Imported once by the fork server, inherited by every child.
_PRELOAD = ["loaders.readers", "loaders.read_csv", "loaders.read_markup", "loaders.read_json", "fastexcel"]
_SHARED_MEMORY = "/dev/shm"  # tables handed back through RAM, not written to disk (tmpfs; else the temp dir)
_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


class _Popen(popen_forkserver.Popen):
    """The fork server's launcher without the caller's ``__main__``.

    multiprocessing re-imports the parent's main script in the child so pickled functions from it resolve.
    Our target lives in this module, and under Streamlit ``__main__`` is the page script being run: the
    child would execute the dashboard. So the preparation data goes without its ``init_main_*`` keys
    (otherwise the same steps as ``popen_forkserver.Popen._launch`` of Python 3.11-3.13).
    """

    def _launch(self, process_obj):
        prep_data = {key: value for key, value in spawn.get_preparation_data(process_obj._name).items()
                     if not key.startswith("init_main")}
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in the original
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as handle:
            handle.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _Popen(process_obj)


def _mp_context() -> multiprocessing.context.BaseContext:
    """The fork-server context: children are forked from a clean single-threaded server, never from the
    caller (forking a process that runs DuckDB or Streamlit threads can deadlock the child)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_PRELOAD)
            _context = context
        return _context


def start_fork_server() -> None:
    """Start the fork server now: its reader imports (~1 s) then overlap the caller's own set-up instead of
    delaying the first parse. Cheap when it already runs."""
    _mp_context()
    forkserver.ensure_running()


def parse_in_child(path: str | os.PathLike, *, file_name: str | None = None,
                   limits: ParseLimits | None = None) -> list[RawTable]:
    """``loaders.readers.read_file`` in a limited child process; raises ``LoadError`` for this file only."""
    limits = limits or DEFAULT_LIMITS
    name = file_name or Path(path).name
    out_dir = tempfile.mkdtemp(prefix="motcua-parse-", dir=_SHARED_MEMORY if os.access(_SHARED_MEMORY, os.W_OK) else None)
    try:
        receiver, sender = _mp_context().Pipe(duplex=False)
        _mp_context()  # the fork server's preload is set before it first starts
        child = _Process(target=_child_main, args=(str(path), name, out_dir, limits.memory_bytes, sender),
                                      name="motcua-parse", daemon=True)
        child.start()
        sender.close()
        try:
            outcome, timed_out = _wait_for(child, receiver, limits.seconds)
        finally:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
        if outcome is None:
            raise _lost_child(name, child.exitcode, timed_out, limits)
        return _tables_from(outcome, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _wait_for(child, receiver: Connection, seconds: float) -> tuple[tuple | None, bool]:
    """(the child's message or None when it died without one, whether its time ran out)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            child.kill()
            return None, True
        ready = wait([receiver, child.sentinel], timeout=left)
        if receiver in ready:
            try:
                return receiver.recv(), False
            except (EOFError, OSError):  # closed without a message: the child died
                return None, False
        if child.sentinel in ready and not receiver.poll():
            return None, False


def _lost_child(name: str, exitcode: int | None, timed_out: bool, limits: ParseLimits) -> LoadError:
    """The error of a child that sent nothing: stopped on time, or killed by a signal (exit code -N)."""
    if timed_out:
        return LoadError(f"đọc tệp quá {limits.seconds:g} giây nên đã bị dừng; tệp quá lớn hoặc có cấu trúc "
                         "bất thường.", file_name=name, reason="timeout")
    signal_name = _signal_name(-exitcode) if exitcode is not None and exitcode < 0 else f"mã thoát {exitcode}"
    return LoadError(f"bộ đọc tệp bị dừng đột ngột ({signal_name}), thường do tệp đòi quá "
                     f"{limits.memory_bytes // 1024 // 1024} MB bộ nhớ; có thể là tệp độc hại. Hãy xuất lại tệp "
                     "từ hệ thống một cửa.", file_name=name, reason="crash")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"tín hiệu {number}"


def _tables_from(outcome: tuple, out_dir: str) -> list[RawTable]:
    status, payload = outcome
    if status != "ok":
        raise LoadError(payload["detail"], file_name=payload["file_name"], row=payload["row"],
                        column=payload["column"], reason=payload["reason"])
    tables = []
    for index, meta in enumerate(payload):
        path = os.path.join(out_dir, f"{index}.arrow")
        table = ipc.open_file(pa.memory_map(path)).read_all()  # zero-copy: buffers keep the mapping alive
        os.unlink(path)  # the mapping stays valid; the disk space returns when the table is freed
        tables.append(RawTable(table=table, **meta))
    return tables


# ---------------------------------------------------------------------------------------------------
# Child side


def _child_main(path: str, name: str, out_dir: str, memory_bytes: int, sender: Connection) -> None:
    limit = _mapped_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write a core file of the bomb
    try:
        sender.send(("ok", _parse(path, name, out_dir)))
    except LoadError as error:
        sender.send(("error", _error_dict(error)))
    except MemoryError:
        sender.send(("error", _error_dict(_memory_error(name))))
    except Exception as error:  # a reader bug on a hostile file: this file fails, the run goes on
        # Native code reports a refused allocation in its own ways (e.g. a thread it cannot start): when the
        # address space came close to the allowance, that is the reason, whatever the exception says.
        if _peak_mapped_bytes() >= limit - max(64 << 20, memory_bytes // 4):
            sender.send(("error", _error_dict(_memory_error(name))))
        else:
            sender.send(("error", _error_dict(LoadError(
                f"bộ đọc gặp lỗi không lường trước ({type(error).__name__}); tệp có thể bị hỏng hoặc độc hại.",
                file_name=name, reason="crash"))))
    finally:
        sender.close()


def _mapped_bytes() -> int:
    """The address space this process maps now (VmSize)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _peak_mapped_bytes() -> int:
    """The largest address space this process has mapped (VmPeak)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    return 0


def _parse(path: str, name: str, out_dir: str) -> list[dict]:
    from loaders.readers import read_file

    metas = []
    for index, raw in enumerate(read_file(Path(path), file_name=name)):
        with pa.OSFile(os.path.join(out_dir, f"{index}.arrow"), "wb") as sink, \
                ipc.new_file(sink, raw.table.schema) as writer:
            writer.write_table(raw.table)
        metas.append({field.name: getattr(raw, field.name) for field in dataclasses.fields(raw)
                      if field.name != "table"})
    return metas


def _error_dict(error: LoadError) -> dict:
    return {"detail": error.detail, "file_name": error.file_name, "row": error.row, "column": error.column,
            "reason": error.reason}


def _memory_error(name: str) -> LoadError:
    return LoadError("tệp đòi quá nhiều bộ nhớ khi đọc nên đã bị dừng; có thể là tệp độc hại. "
                     "Hãy xuất lại tệp từ hệ thống một cửa.", file_name=name, reason="memory")


__all__ = ["DEFAULT_LIMITS", "ParseLimits", "parse_in_child"]

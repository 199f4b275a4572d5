"""The one module that opens DuckDB files.

Write side: ``write_transaction`` is the single writer. It takes an exclusive lock file, copies the
published database to a private temporary file, lets the caller write there, refreshes the derived
(pre-aggregated) tables, checkpoints, closes and atomically renames the file over the published one.
Readers therefore never see a half import, never block the writer (they hold the *old* inode, not the
file the writer opens) and a killed import leaves only a stale temp file that the next run removes.

Standby copy (imports through the pipeline): right after publishing, the writer copies the new file to
``<db>.standby-<version>`` (still under the lock, after readers already see the new data). The next
import renames that copy into its private temp file instead of copying ~1 GB (10M dossiers) first, so the
copy leaves the path from "import starts" to "new data visible". A standby is used only when its version
tag matches the published file (inode, mtime, size); it is written as a temp file and renamed when
complete, so a killed copy leaves nothing usable. It doubles the disk space of the database;
``MOTCUA_STANDBY_COPY=0`` turns it off.

Read side: ``Database`` keeps one read-only connection per published file version and runs every
query on its own ``cursor()`` (sharing one connection across threads returns wrong numbers).

Integrity: DuckDB checks a block's checksum only when a query reads that block, so a file with flipped
bytes opens fine and fails in the middle of some later page. Every publish therefore writes the file's
checksum to ``<db>.checksum`` (the new and the previous value, so a reader opening the old file during the
swap still matches), and a reader verifies the whole file once per published version before using it.
The sum is xxh3-64 over the memory-mapped file (0.27 s per GB here, against 0.59 s for CRC-32; files
published with CRC-32 are still checked with it); it guards against disk and copy damage, not against
someone who can write the database directory anyway. The writer checks the same sum while it copies.
The replaced file is kept as a hard link until after publishing: freeing its blocks is not on the path
to "new data visible".
A full disk or a damaged file gives a Vietnamese ``DatabaseUnavailable``, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import mmap
import os
import shutil
import threading
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import xxhash

from motcua import schema
from motcua.sql_dialect import QueryEngine

DEFAULT_DB_PATH = Path(os.environ.get("MOTCUA_DB", "data/motcua.duckdb"))
_TMP_SUFFIX = ".tmp-"


class DatabaseUnavailable(RuntimeError):
    """The published database is missing or unreadable; the message is Vietnamese, for the admin."""


class StorageFull(DatabaseUnavailable):
    """The disk (or quota) filled up while writing; nothing was published and the temp file is gone."""


class DatabaseCorrupt(DatabaseUnavailable):
    """The published file does not match the checksum written when it was published."""


_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_CHUNK = 4 << 20


def _full_disk_message(path: Path) -> str:
    return (f"Ổ đĩa chứa '{path.parent}' đã đầy (hoặc hết hạn mức) nên không ghi được dữ liệu. Dữ liệu đã công "
            "bố không thay đổi và tệp tạm đã được xoá; quản trị viên hãy giải phóng dung lượng rồi nạp lại.")


def _corrupt_message(path: Path, detail: str) -> str:
    return (f"Cơ sở dữ liệu '{path}' bị hỏng ({detail}). Quản trị viên hãy khôi phục bản sao lưu hoặc nạp "
            "lại dữ liệu vào một tệp mới.")


def _is_full_disk(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and ("no space left" in text or "disk quota" in text
                                              or "file too large" in text)


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".checksum")


class Checksum(NamedTuple):
    algorithm: str
    value: int


CHECKSUM_ALGORITHM = "xxh3_64"  # files published before it carry "crc32", still accepted


class _Crc32:
    """The hashlib-like face of zlib's CRC-32 (the sum of files published before xxh3)."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data) -> None:
        self._value = zlib.crc32(data, self._value)

    def intdigest(self) -> int:
        return self._value


_HASHERS = {"xxh3_64": xxhash.xxh3_64, "crc32": _Crc32}


def file_checksum(handle, algorithm: str = CHECKSUM_ALGORITHM) -> Checksum:
    """Checksum of an open binary file, whole (memory-mapped: no copy through Python buffers)."""
    hasher = _HASHERS[algorithm]()
    handle.seek(0, os.SEEK_END)
    if handle.tell():
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            hasher.update(mapped)
    return Checksum(algorithm, hasher.intdigest())


def _parse_checksums(data: dict) -> list[Checksum]:
    if "checksums" in data:
        return [Checksum(str(item["algorithm"]), int(item["value"])) for item in data["checksums"]
                if item["algorithm"] in _HASHERS]
    return [Checksum("crc32", int(v)) for v in data["crc32"]]  # the first format: CRC-32 values only


def expected_checksums(path: Path) -> list[Checksum] | None:
    """Checksums a published file may have (newest first); None when the file predates checksums."""
    try:
        return _parse_checksums(json.loads(checksum_path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatabaseCorrupt(_corrupt_message(path, f"tệp tổng kiểm tra {checksum_path(path).name} "
                                                     f"không đọc được: {exc}")) from exc


def matches_checksums(handle, accepted: Sequence[Checksum]) -> Checksum | None:
    """The accepted checksum the open file has, if any (one pass per algorithm listed, normally one)."""
    for algorithm in dict.fromkeys(item.algorithm for item in accepted):
        actual = file_checksum(handle, algorithm)
        if actual in accepted:
            return actual
    return None


def _write_checksums(path: Path, values: list[Checksum]) -> None:
    """Atomically replace ``<db>.checksum`` (written BEFORE the database is renamed into place)."""
    target = checksum_path(path)
    temp = target.with_name(f"{target.name}{_TMP_SUFFIX}{os.getpid()}")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump({"checksums": [item._asdict() for item in values]}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
        raise


def _copy_hashed(source: Path, dest: Path, algorithms: Sequence[str]) -> list[Checksum]:
    """Copy ``source`` to ``dest`` (flushed to disk) hashing the bytes copied with each algorithm."""
    hashers = {algorithm: _HASHERS[algorithm]() for algorithm in algorithms}
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    with open(source, "rb") as src, open(dest, "wb") as dst:
        while size := src.readinto(buffer):
            for hasher in hashers.values():
                hasher.update(view[:size])
            dst.write(view[:size])
        dst.flush()
        os.fsync(dst.fileno())
    return [Checksum(algorithm, hasher.intdigest()) for algorithm, hasher in hashers.items()]


def _copy_verified(source: Path, temp: Path) -> Checksum:
    """Copy the published file to ``temp`` hashing it on the way; refuse a damaged source.

    Returns the published file's checksum as recorded (or, for a file without one, computed)."""
    accepted = expected_checksums(source)
    algorithms = list(dict.fromkeys(item.algorithm for item in accepted)) if accepted else [CHECKSUM_ALGORITHM]
    actual = _copy_hashed(source, temp, algorithms)
    if accepted is None:
        return actual[0]
    match = next((item for item in actual if item in accepted), None)
    if match is None:
        raise DatabaseCorrupt(_corrupt_message(source, "tổng kiểm tra không khớp với lúc công bố: tệp đã bị "
                                                       "thay đổi hoặc hỏng trên đĩa"))
    return match


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path) if path is not None else Path(os.environ.get("MOTCUA_DB", DEFAULT_DB_PATH))


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    # Fail fast instead of trying to download extensions on a closed network.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")


def connect_scratch() -> duckdb.DuckDBPyConnection:
    """An empty in-memory DuckDB (views over Parquet files of a lake), bounded like the readers."""
    con = duckdb.connect(":memory:")
    _configure(con)
    con.execute("SET memory_limit = ?", [os.environ.get("MOTCUA_READ_MEMORY_LIMIT", "1GB")])
    return con


def table_ddl(name: str) -> str:
    """The CREATE statement of one schema table (an empty stand-in where a table is not shipped)."""
    return next(sql for sql in schema.DDL if f"CREATE TABLE IF NOT EXISTS {name} " in sql
                or f"CREATE TABLE IF NOT EXISTS {name}(" in sql)


def connect_memory() -> duckdb.DuckDBPyConnection:
    """A private in-memory database with the schema (tests, validation)."""
    con = duckdb.connect(":memory:")
    _configure(con)
    schema.create_schema(con)
    return con


def _remove_stale_temp_files(path: Path) -> None:
    stale_files = [*glob.glob(f"{glob.escape(str(path))}{_TMP_SUFFIX}*"),
                   *glob.glob(f"{glob.escape(str(checksum_path(path)))}{_TMP_SUFFIX}*")]
    for stale in stale_files:
        with contextlib.suppress(FileNotFoundError):
            os.remove(stale)


_STANDBY = ".standby-"


def _standby_enabled() -> bool:
    return os.environ.get("MOTCUA_STANDBY_COPY", "1") != "0"


def _take_standby(target: Path, temp: Path) -> bool:
    """Move a standby copy of the current published file to ``temp``; False when there is none."""
    current = target.with_name(f"{target.name}{_STANDBY}{file_version(target)}")
    for other in glob.glob(f"{glob.escape(str(target))}{_STANDBY}*"):
        if Path(other) != current:  # a copy of an older version (another writer published since)
            with contextlib.suppress(FileNotFoundError):
                os.remove(other)
    if not current.exists():
        return False
    os.replace(current, temp)
    return True


def _private_copy(target: Path, temp: Path, *, use_standby: bool) -> Checksum | None:
    """Fill ``temp`` with the published file; return the published file's checksum (None: no file yet).

    The standby was checked against the published checksum when it was made, so taking it needs no re-read."""
    if not target.exists():
        return None
    if use_standby and _take_standby(target, temp):
        return (expected_checksums(target) or [None])[0]
    return _copy_verified(target, temp)


def _make_standby(target: Path, published: Checksum) -> None:
    """Copy the just-published file aside; a copy whose checksum differs from ``published`` is dropped."""
    partial = target.with_name(f"{target.name}{_TMP_SUFFIX}standby-{os.getpid()}")
    version = file_version(target)
    try:
        if _copy_hashed(target, partial, [published.algorithm]) != [published]:
            raise OSError("standby copy does not match the published checksum")
        os.replace(partial, target.with_name(f"{target.name}{_STANDBY}{version}"))
    except OSError:  # no standby: the next import copies the published file itself
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second importer waits here, readers never do
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_transaction(path: str | os.PathLike | None = None, *,
                      refresh: bool = True, incremental: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-write connection on a private copy; publish it atomically on success.

    On any exception (or a killed process) the published file is untouched. ``refresh=False`` skips the
    rebuild of the derived KPI tables, for writes that touch neither dossiers nor procedures. Otherwise the
    derived tables are rebuilt in full, or with ``incremental`` only for the dossiers this write changed:
    the caller promises that every dossier it inserts or updates carries a new ``import_id`` from
    ``import_seq`` and that it deletes none (the import pipeline); see ``motcua.aggregates``. Incremental writes also keep a standby copy for
    the next import (module docstring).
    """
    target = resolve_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target):
        _remove_stale_temp_files(target)
        temp = target.with_name(f"{target.name}{_TMP_SUFFIX}{os.getpid()}")
        con = duckdb.connect(":memory:")
        retired = None
        try:
            previous = _private_copy(target, temp, use_standby=incremental and _standby_enabled())
            _configure(con)
            _attach_writable(con, temp)
            schema.create_schema(con)
            from motcua import aggregates  # local import: aggregates depends on the schema only

            con.execute("BEGIN TRANSACTION")
            before = aggregates.snapshot(con) if (incremental and refresh) else None
            yield con
            if refresh:
                aggregates.refresh(con, before)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
                published = file_checksum(handle)
            _write_checksums(target, [published] + ([previous] if previous is not None else []))
            retired = _keep_until_published(target)
            os.replace(temp, target)
            _fsync_dir(target.parent)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                con.close()
            _remove_quietly(retired)
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)
            with contextlib.suppress(FileNotFoundError):
                os.remove(str(temp) + ".wal")
            if _is_full_disk(exc):
                raise StorageFull(_full_disk_message(target)) from exc
            raise
        try:
            if incremental and _standby_enabled():
                _make_standby(target, published)  # the new data is already visible; this prepares the next import
        finally:
            _remove_quietly(retired)


def _keep_until_published(target: Path) -> Path | None:
    """Hard-link the file about to be replaced, so the rename does not free its ~1 GB (10M dossiers) of
    blocks on the path to "new data visible"; ``_remove_quietly`` frees them after publishing."""
    if not target.exists():
        return None
    retired = target.with_name(f"{target.name}{_TMP_SUFFIX}retired-{os.getpid()}")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.remove(retired)
        os.link(target, retired)
    except OSError:  # a file system without hard links: the rename frees the blocks itself
        return None
    return retired


def _remove_quietly(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


# Rows per row group of the written file. DuckDB writes a full row group to disk while the INSERT runs
# (on all cores) and compresses a partial one only at COMMIT, on one core: with the default 122,880 rows a
# 100k-row export spent 0.39 s in COMMIT, with 32,768 rows almost nothing (``make bench``). Smaller groups
# also give the zone maps of ``kpi_facts`` finer ranges to skip; readers need no option (each row group
# records its own size).
WRITE_ROW_GROUP_SIZE = 32_768
_WRITING = "writing"


def _attach_writable(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(f"ATTACH ? AS {_WRITING} (ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE})", [str(path)])
    con.execute(f"USE {_WRITING}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_PUBLISHED = "published"


def _attach_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the current file behind ``path`` read-only.

    ``duckdb.connect(path)`` reuses a cached instance per path while an older connection is alive, so a
    process would keep seeing the replaced file; ATTACH from a fresh in-memory instance opens the new inode.
    """
    con = duckdb.connect(":memory:")
    _configure(con)
    # Bound DuckDB's buffer pool so the dashboard process stays within its memory budget (10M dossiers).
    con.execute("SET memory_limit = ?", [os.environ.get("MOTCUA_READ_MEMORY_LIMIT", "1GB")])
    con.execute(f"ATTACH ? AS {_PUBLISHED} (READ_ONLY)", [str(path)])
    con.execute(f"USE {_PUBLISHED}")
    return con


class ReadCursor:
    """A DuckDB cursor on the published catalog (a plain cursor would start in the in-memory one).

    Behaves like the DuckDB cursor it wraps; ``.cursor()`` gives another ``ReadCursor`` on the same
    snapshot, so code written for connections (``con.cursor()`` per query) works unchanged.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._cur = con.cursor()
        self._cur.execute(f"USE {_PUBLISHED}")

    def cursor(self) -> ReadCursor:
        return ReadCursor(self._con)

    def __getattr__(self, name: str):
        return getattr(self._cur, name)

    def __enter__(self) -> ReadCursor:
        return self

    def __exit__(self, *exc) -> None:
        self._cur.close()


def file_version(path: Path) -> str:
    """Identity of the published file; changes on every publish (new inode)."""
    st = os.stat(path)
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


class Database:
    """Read-only access to the published database, safe to share across threads (a ``QueryEngine``)."""

    dialect = "duckdb"

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = resolve_path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._version: str | None = None

    def version(self) -> str:
        """Current published version; part of every cache key so a new import shows at once."""
        try:
            return file_version(self.path)
        except FileNotFoundError as exc:
            raise DatabaseUnavailable(
                f"Chưa có cơ sở dữ liệu tại '{self.path}'. Quản trị viên hãy nạp dữ liệu "
                "(trang Dữ liệu hoặc lệnh `motcua load TỆP --db ĐƯỜNG_DẪN`)."
            ) from exc

    def _connection(self) -> duckdb.DuckDBPyConnection:
        version = self.version()
        with self._lock:
            if self._con is None or version != self._version:
                con, version = self._open_verified()
                # The previous connection is dropped, not closed: cursors still running on it finish
                # on the old (consistent) snapshot and release it when garbage-collected.
                self._con, self._version = con, version
            return self._con

    def _open_verified(self) -> tuple[duckdb.DuckDBPyConnection, str]:
        """Attach the published file and check it whole; retried when an import swaps it meanwhile."""
        for _attempt in range(5):
            version = self.version()
            try:
                con = _attach_read_only(self.path)
                con.execute("SELECT count(*) FROM dossiers").fetchall()
            except duckdb.Error as exc:
                raise DatabaseUnavailable(_corrupt_message(self.path, f"DuckDB không mở được: {exc}")) from exc
            accepted = expected_checksums(self.path)
            if accepted is None:  # a file published before checksums existed
                return con, version
            with open(self.path, "rb") as handle:
                matched = matches_checksums(handle, accepted)
            if matched is not None:
                if self.version() == version:
                    return con, version
            elif self.version() == version:
                con.close()
                raise DatabaseCorrupt(_corrupt_message(self.path, "tổng kiểm tra không khớp với lúc công bố: "
                                                                  "tệp đã bị thay đổi hoặc hỏng trên đĩa"))
            con.close()  # a new version was published while we checked: check that one
        raise DatabaseUnavailable(f"Cơ sở dữ liệu '{self.path}' đang được thay liên tục; hãy thử lại sau.")

    def cursor(self) -> ReadCursor:
        return ReadCursor(self._connection())

    def query_df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def explain(self, sql: str) -> str:
        """The statement ``query_df`` runs for ``sql`` (DuckDB is the source dialect: unchanged)."""
        return sql

    def query_rows(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()


def peek_rows(path: str | os.PathLike, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    """One query on the published file WITHOUT the whole-file check, for hints the writer checks again
    under its lock (which files of a run were loaded before); the check would cost ~0.3 s per GB."""
    try:
        con = _attach_read_only(Path(path))
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise DatabaseUnavailable(_corrupt_message(Path(path), f"DuckDB không mở được: {exc}")) from exc


def open_database(path: str | os.PathLike | None = None) -> Database:
    return Database(path)


def query_df(source: Database | duckdb.DuckDBPyConnection | ReadCursor, sql: str,
             params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
    """Run a read query on a query engine (``Database``, lake, Spark) or on a connection (tests, tools)."""
    if isinstance(source, QueryEngine):
        return source.query_df(sql, params)
    cur = source.cursor()
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def publish_copy(source: str | os.PathLike, path: str | os.PathLike | None = None) -> None:
    """Publish a complete database file (a restored backup) in place of the current one.

    Same guarantees as an import: the writer lock is held (an import running now finishes first, one
    starting later sees the restored file), the copy is made beside the target and renamed atomically,
    and the file is checked to open as a database before it replaces anything.
    """
    target = resolve_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target):
        _remove_stale_temp_files(target)
        temp = target.with_name(f"{target.name}{_TMP_SUFFIX}{os.getpid()}")
        try:
            shutil.copyfile(source, temp)
            try:
                check = _attach_read_only(temp)
                check.execute("SELECT count(*) FROM dossiers").fetchall()
                check.close()
            except duckdb.Error as exc:
                raise DatabaseUnavailable(f"Tệp '{source}' không phải cơ sở dữ liệu Một Cửa KPI đọc được: {exc}") from exc
            with open(temp, "rb") as handle:
                os.fsync(handle.fileno())
                published = file_checksum(handle)
            # The restored file gets its own checksum (else readers would refuse it as damaged); the current
            # one stays accepted too, for a reader that opened the old file just before the rename.
            current = (expected_checksums(target) or [None])[0] if target.exists() else None
            _write_checksums(target, [published] + ([current] if current is not None else []))
            os.replace(temp, target)
            _fsync_dir(target.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)

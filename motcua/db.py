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
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from motcua import schema
from motcua.sql_dialect import QueryEngine

DEFAULT_DB_PATH = Path(os.environ.get("MOTCUA_DB", "data/motcua.duckdb"))
_TMP_SUFFIX = ".tmp-"


class DatabaseUnavailable(RuntimeError):
    """The published database is missing or unreadable; the message is Vietnamese, for the admin."""


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
    for stale in glob.glob(f"{glob.escape(str(path))}{_TMP_SUFFIX}*"):
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


def _make_standby(target: Path) -> None:
    partial = target.with_name(f"{target.name}{_TMP_SUFFIX}standby-{os.getpid()}")
    version = file_version(target)
    shutil.copyfile(target, partial)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target.with_name(f"{target.name}{_STANDBY}{version}"))


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
        if target.exists() and not (incremental and _standby_enabled() and _take_standby(target, temp)):
            shutil.copyfile(target, temp)
        con = duckdb.connect(":memory:")
        try:
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
            os.replace(temp, target)
            _fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)
            with contextlib.suppress(FileNotFoundError):
                os.remove(str(temp) + ".wal")
            raise
        if incremental and _standby_enabled():
            _make_standby(target)  # the new data is already visible; this only prepares the next import


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
                try:
                    con = _attach_read_only(self.path)
                    con.execute("SELECT count(*) FROM dossiers").fetchall()
                except duckdb.Error as exc:
                    raise DatabaseUnavailable(
                        f"Không đọc được cơ sở dữ liệu '{self.path}': {exc}. Quản trị viên hãy khôi phục "
                        "bản sao lưu hoặc nạp lại dữ liệu vào một tệp mới."
                    ) from exc
                # The previous connection is dropped, not closed: cursors still running on it finish
                # on the old (consistent) snapshot and release it when garbage-collected.
                self._con, self._version = con, version
            return self._con

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
            os.replace(temp, target)
            _fsync_dir(target.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temp)

"""A Parquet lake of the published database, for national scale and for other engines (Spark).

Layout (``DIR``)::

    manifest.json                                   schema version, tables, partitions, row counts, checksums
    dossiers/p_province=01/p_year=2026/part-….parquet
    kpi_facts/p_province=01/p_year=2026/part-….parquet
    kpi_cube/p_province=01/part-….parquet
    units/, procedures/, imports/, workday_calendar/part-….parquet

* Partition values are strings in the path (``p_province=01``, ``p_year=2026``): Spark would infer ``01``
  as the integer 1 (readers disable that inference); the code columns (receiving_unit_code…) stay inside the
  files. ``p_province`` is the receiving unit's province (``XX`` when unknown), ``p_year`` the receipt year.
* Province × year keeps files large (about 735k rows each at 100M dossiers a year over 34 provinces); unit ×
  year gave 800 files at 1M dossiers and was 2–6× slower to read.
* No personal data: the tables are those of the database, which has no such column.
* Incremental: every partition has a content fingerprint (row count + xor of row hashes). An export
  rewrites only partitions whose fingerprint changed, under new file names, then swaps ``manifest.json``
  atomically and only then deletes the replaced files. Readers read the files the manifest lists, so they
  see the old or the new lake, never a mix.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from motcua import db as dbmod
from motcua import metrics_sql as msql

LAKE_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
UNKNOWN_PROVINCE = "XX"
PARTITION_COLUMNS = ("p_province", "p_year")
# Rows per Parquet row group: large enough for fast scans, small enough for min/max pruning of one unit.
ROW_GROUP_SIZE = 122_880


class LakeError(RuntimeError):
    """The lake is missing, unreadable or of another schema version; the message is Vietnamese."""


@dataclass(frozen=True)
class LakeTable:
    name: str
    partition_by: tuple[str, ...]  # () = one file
    year_sql: str | None = None  # receipt time of a row (p_year), for tables partitioned by year
    unit_sql: str | None = None  # receiving unit of a row (p_province)


LAKE_TABLES = (
    LakeTable("dossiers", PARTITION_COLUMNS, "t.received_at", "t.receiving_unit_code"),
    LakeTable(msql.FACTS_TABLE, PARTITION_COLUMNS, "t.received_day", "t.receiving_unit_code"),
    LakeTable(msql.CUBE_TABLE, ("p_province",), None, "t.receiving_unit_code"),
    LakeTable("units", ()),
    LakeTable("procedures", ()),
    LakeTable("imports", ()),  # import history (file names, counts); rejected raw values stay in the database
    LakeTable("meta", ()),  # schema and catalogue versions (unit name resolution reads them)
    LakeTable("workday_calendar", ()),  # working days (holidays, make-up days): derive kpi_facts on any engine
)
# Tables a reader of the lake gets empty (same columns as the database), so every page still runs.
_LOCAL_ONLY_TABLES = ("rejects",)


def _table_select(table: LakeTable) -> str:
    """The rows of ``table`` with their partition columns (strings)."""
    columns = ["t.*"]
    joins = ""
    if "p_province" in table.partition_by:
        columns.append(f"coalesce(pu.province_code, '{UNKNOWN_PROVINCE}') AS p_province")
        joins = f" LEFT JOIN units pu ON pu.code = {table.unit_sql}"
    if "p_year" in table.partition_by:
        columns.append(f"CAST(year({table.year_sql}) AS VARCHAR) AS p_year")
    return f"SELECT {', '.join(columns)} FROM {table.name} t{joins}"


def _partition_key(values: Sequence[str]) -> str:
    return "/".join(values) if values else "-"


@dataclass
class ExportResult:
    out: Path
    written: list[str] = field(default_factory=list)  # "table/partition" rewritten
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows per table in the lake
    bytes: int = 0  # size of the lake's data files


def _fingerprints(cur, table: LakeTable) -> dict[str, dict]:
    """partition key -> {values, rows, fingerprint} from one grouped pass over the table."""
    parts = ", ".join(table.partition_by)
    select = _table_select(table)
    group = f"SELECT {parts + ', ' if parts else ''}count(*) AS n, CAST(bit_xor(hash(q)) AS VARCHAR) AS fp " \
            f"FROM ({select}) q" + (f" GROUP BY {parts}" if parts else "")
    found = {}
    for row in cur.execute(group).fetchall():
        values = [str(v) for v in row[: len(table.partition_by)]]
        n, fp = row[-2], row[-1]
        if n:
            found[_partition_key(values)] = {"values": dict(zip(table.partition_by, values, strict=True)),
                                             "rows": int(n), "fingerprint": fp or "0"}
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(lake: str | os.PathLike) -> dict:
    path = Path(lake) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LakeError(f"Không có kho Parquet tại '{lake}' (thiếu {MANIFEST}). Hãy chạy "
                        f"`motcua lake export --db CSDL --out {lake}`.") from exc
    except (OSError, ValueError) as exc:
        raise LakeError(f"Không đọc được {path}: {exc}.") from exc
    if manifest.get("schema_version") != LAKE_SCHEMA_VERSION:
        raise LakeError(f"Kho Parquet '{lake}' có phiên bản {manifest.get('schema_version')}, phần mềm cần "
                        f"{LAKE_SCHEMA_VERSION}: hãy xuất lại (`motcua lake export`).")
    return manifest


def _old_manifest(out: Path) -> dict | None:
    try:
        return read_manifest(out)
    except LakeError:
        return None


def _write_manifest(out: Path, manifest: dict) -> None:
    temp = out / f".{MANIFEST}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, out / MANIFEST)
    fd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_partitions(cur, table: LakeTable, keys: list[str], staging: Path, export_id: str) -> None:
    """Write the rows of the changed partitions of ``table`` under ``staging`` (hive layout)."""
    select = _table_select(table)
    target = str(staging / table.name)
    staging.mkdir(parents=True, exist_ok=True)
    options = f"FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_SIZE}, FILENAME_PATTERN 'part-{export_id}-{{i}}'"
    if table.partition_by:
        key_sql = " || '/' || ".join(table.partition_by)
        sql = (f"COPY (SELECT * FROM ({select}) q WHERE list_contains(?, {key_sql}) "
               f"ORDER BY {', '.join(table.partition_by)}{_order_within(table)}) "
               f"TO '{target}' ({options}, PARTITION_BY ({', '.join(table.partition_by)}))")
        cur.execute(sql, [keys])
    else:
        os.makedirs(target, exist_ok=True)
        cur.execute(f"COPY ({select}) TO '{target}/part-{export_id}-0.parquet' (FORMAT parquet, "
                    f"ROW_GROUP_SIZE {ROW_GROUP_SIZE})")


def _order_within(table: LakeTable) -> str:
    # Rows of one unit together (as kpi_facts in the database): min/max statistics then skip row groups.
    return ", receiving_unit_code" + (", received_day" if table.name == msql.FACTS_TABLE else "") \
        if table.unit_sql else ""


def _partition_dir(table: LakeTable, values: dict) -> str:
    return "/".join([table.name, *(f"{column}={values[column]}" for column in table.partition_by)])


def export(db_path: str | os.PathLike, out: str | os.PathLike, *, force: bool = False) -> ExportResult:
    """Export (or refresh) the lake at ``out`` from the published database at ``db_path``."""
    out = Path(out)
    database = dbmod.Database(db_path)
    database.version()  # a clear error when the database is missing
    out.mkdir(parents=True, exist_ok=True)
    old = None if force else _old_manifest(out)
    export_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = out / f".staging-{export_id}"
    result = ExportResult(out)
    tables: dict[str, dict] = {}
    cur = database.cursor()
    try:
        # The partitioned, sorted COPY of a national database needs more than the readers' bound.
        cur.execute("SET memory_limit = ?", [os.environ.get("MOTCUA_EXPORT_MEMORY_LIMIT", "4GB")])
        db_schema = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        for table in LAKE_TABLES:
            tables[table.name] = _export_table(cur, table, old, staging, out, export_id, result)
    finally:
        cur.close()
        shutil.rmtree(staging, ignore_errors=True)
    manifest = {"schema_version": LAKE_SCHEMA_VERSION, "db_schema_version": db_schema[0] if db_schema else None,
                "export_id": export_id, "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "partition_columns": list(PARTITION_COLUMNS), "tables": tables}
    _write_manifest(out, manifest)
    _remove_unlisted_files(out, manifest)
    result.bytes = sum(f["bytes"] for t in tables.values() for p in t["partitions"].values() for f in p["files"])
    return result


def _export_table(cur, table: LakeTable, old: dict | None, staging: Path, out: Path, export_id: str,
                  result: ExportResult) -> dict:
    found = _fingerprints(cur, table)
    columns = [[name, str(kind)] for name, kind, *_ in cur.execute(f"DESCRIBE {table.name}").fetchall()]
    old_table = (old or {}).get("tables", {}).get(table.name)
    old_parts = old_table["partitions"] if old_table and old_table.get("columns") == columns else {}
    changed = [key for key, part in found.items()
               if old_parts.get(key, {}).get("fingerprint") != part["fingerprint"]]
    if changed:
        _copy_partitions(cur, table, changed, staging, export_id)
    partitions = {}
    for key, part in found.items():
        label = f"{table.name}/{key}"
        if key not in changed:
            partitions[key] = old_parts[key]
            result.unchanged.append(label)
            continue
        relative = _partition_dir(table, part["values"])
        destination = out / relative
        destination.mkdir(parents=True, exist_ok=True)
        files = []
        for produced in sorted((staging / relative).glob("*.parquet")):
            os.replace(produced, destination / produced.name)
            final = destination / produced.name
            files.append({"path": f"{relative}/{produced.name}", "sha256": _sha256(final),
                          "bytes": final.stat().st_size})
        partitions[key] = {**part, "files": files}
        result.written.append(label)
    result.removed += [f"{table.name}/{key}" for key in old_parts if key not in found]
    result.rows[table.name] = sum(part["rows"] for part in found.values())
    return {"partition_by": list(table.partition_by), "columns": columns, "partitions": partitions}


def _remove_unlisted_files(out: Path, manifest: dict) -> None:
    """Delete data files the (new) manifest no longer lists, then empty partition folders."""
    listed = {f["path"] for t in manifest["tables"].values() for p in t["partitions"].values() for f in p["files"]}
    for table in manifest["tables"]:
        root = out / table
        if not root.exists():
            continue
        for path in sorted(root.rglob("*.parquet")):
            if path.relative_to(out).as_posix() not in listed:
                path.unlink()
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def verify(lake: str | os.PathLike) -> list[str]:
    """Problems found by checking every listed file's size and sha256; [] when the lake is intact."""
    lake = Path(lake)
    manifest = read_manifest(lake)
    problems = []
    for table in manifest["tables"].values():
        for part in table["partitions"].values():
            for entry in part["files"]:
                path = lake / entry["path"]
                if not path.exists():
                    problems.append(f"Thiếu tệp {entry['path']}")
                elif path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
                    problems.append(f"Tệp {entry['path']} khác tổng kiểm (sha256)")
    return problems


def table_files(lake: Path, manifest: dict, table: str) -> list[str]:
    parts = manifest["tables"][table]["partitions"].values()
    return [str(lake / entry["path"]) for part in parts for entry in part["files"]]


def _empty_select(columns: list[list[str]] | list[tuple[str, str]]) -> str:
    return "SELECT " + ", ".join(f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in columns) + " WHERE false"


# --- partition predicates ------------------------------------------------------------------------------
# The metric SQL filters units with `d.receiving_unit_code = ?` or `… IN (SELECT unnest(?))` (filters.Scope)
# and active dossiers with `d.received_day <= ?` (metrics_sql.ACTIVE). On a lake the same conditions gain
# `d.p_province = ?` / `d.p_year <= ?`, so a commune-quarter reads its own province's partitions only.
# The new `?` follows the one it derives from, so positional parameters stay in textual order.
_PARTITIONED_ALIAS_RE = re.compile(r"\bFROM\s+(kpi_facts|dossiers|kpi_cube)\s+d\b")
_PRUNABLE_RE = re.compile(
    r"d\.receiving_unit_code = \?|d\.receiving_unit_code IN \(SELECT unnest\(\?\)\)|d\.received_day <= \?")


@functools.lru_cache(maxsize=2048)
def _prune_plan(sql: str) -> tuple[str, tuple[tuple[int, str], ...]]:
    """(rewritten SQL, ((index of the source parameter, kind), …)); kind: unit, units or year."""
    if not _PARTITIONED_ALIAS_RE.search(sql):
        return sql, ()
    tables = set(_PARTITIONED_ALIAS_RE.findall(sql))
    yearly = bool(tables & {"kpi_facts", "dossiers"}) and "kpi_cube" not in tables
    plan, pieces, last, seen = [], [], 0, 0
    for match in _PRUNABLE_RE.finditer(sql):
        text = match.group(0)
        index = seen + sql.count("?", last, match.start())
        if text.startswith("d.received_day"):
            if not yearly:
                continue
            kind, extra = "year", " AND d.p_year <= ?"
        elif "unnest" in text:
            kind, extra = "units", " AND d.p_province IN (SELECT unnest(?))"
        else:
            kind, extra = "unit", " AND d.p_province = ?"
        pieces.append(sql[last:match.start()] + f"({text}{extra})")
        last, seen = match.end(), index + 1
        plan.append((index, kind))
    return "".join(pieces) + sql[last:], tuple(plan)


def prune(sql: str, params: Sequence[Any], provinces: dict[str, str]) -> tuple[str, list]:
    """``sql`` and ``params`` with partition predicates (``provinces``: unit code -> p_province)."""
    rewritten, plan = _prune_plan(sql)
    if not plan:
        return sql, list(params)
    extra = {}
    for index, kind in plan:
        value = params[index]
        if kind == "year":
            extra[index] = str(value.year)
        elif kind == "unit":
            extra[index] = provinces.get(value, UNKNOWN_PROVINCE)
        else:
            extra[index] = sorted({provinces.get(code, UNKNOWN_PROVINCE) for code in value})
    result = []
    for index, value in enumerate(params):
        result.append(value)
        if index in extra:
            result.append(extra[index])
    return rewritten, result


def unit_provinces(query_rows) -> dict[str, str]:
    """unit code -> partition value, from the lake's units table (``query_rows(sql)``)."""
    return {code: province or UNKNOWN_PROVINCE
            for code, province in query_rows("SELECT code, province_code FROM units")}


class LakeDatabase:
    """DuckDB over a lake directory: a ``QueryEngine`` with the read interface of ``db.Database``
    (the dashboard serves a lake with ``MOTCUA_LAKE=DIR``).

    The views (dossiers, kpi_facts, kpi_cube, units, procedures, imports) read the files the manifest
    lists; a new export (new ``export_id``) is picked up on the next query. Read-only: imports go into a
    database, then ``motcua lake export``.
    """

    dialect = "duckdb"
    read_only = True

    def __init__(self, lake: str | os.PathLike):
        self.path = Path(lake)
        self._lock = threading.Lock()
        self._con = None
        self._version: str | None = None
        self._provinces: dict[str, str] | None = None

    def version(self) -> str:
        try:
            return read_manifest(self.path)["export_id"]
        except LakeError as exc:
            raise dbmod.DatabaseUnavailable(str(exc)) from exc

    def _connection(self):
        manifest = _manifest_or_unavailable(self.path)
        with self._lock:
            if self._con is None or manifest["export_id"] != self._version:
                con = dbmod.connect_scratch()
                for name in _LOCAL_ONLY_TABLES:
                    con.execute(dbmod.table_ddl(name))
                for name, spec in manifest["tables"].items():
                    con.execute(f"CREATE VIEW {name} AS {duckdb_table_sql(self.path, manifest, name, spec)}")
                self._con, self._version = con, manifest["export_id"]
                self._provinces = None
            return self._con

    def provinces(self) -> dict[str, str]:
        """unit code -> p_province of the current export (loaded once per export)."""
        con = self._connection()
        if self._provinces is None:
            cur = con.cursor()
            try:
                self._provinces = unit_provinces(lambda sql: cur.execute(sql).fetchall())
            finally:
                cur.close()
        return self._provinces

    def cursor(self):
        return self._connection().cursor()

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        sql, params = prune(sql, list(params or []), self.provinces())
        cur = self.cursor()
        try:
            return cur.execute(sql, params).df()
        finally:
            cur.close()

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        cur = self.cursor()
        try:
            return cur.execute(sql, list(params or [])).fetchall()
        finally:
            cur.close()

    def explain(self, sql: str) -> str:
        """The statement run for ``sql``: with the partition predicates of the lake."""
        return _prune_plan(sql)[0]


def _manifest_or_unavailable(lake: Path) -> dict:
    try:
        return read_manifest(lake)
    except LakeError as exc:
        raise dbmod.DatabaseUnavailable(str(exc)) from exc


def duckdb_table_sql(lake: Path, manifest: dict, name: str, spec: dict) -> str:
    files = table_files(lake, manifest, name)
    if not files:
        return _empty_select(spec["columns"])
    listed = ", ".join("'" + path.replace("'", "''") + "'" for path in files)
    hive = ", ".join(f"'{column}': VARCHAR" for column in spec["partition_by"])
    options = f", hive_partitioning = true, hive_types = {{{hive}}}" if spec["partition_by"] else ""
    return f"SELECT * FROM read_parquet([{listed}]{options})"


__all__ = ["LAKE_SCHEMA_VERSION", "LAKE_TABLES", "ExportResult", "LakeDatabase", "LakeError", "export",
           "read_manifest", "verify"]

"""Import pipeline: files -> readers -> normalisation -> one atomic write of the published database.

Rules (README "Nạp dữ liệu"):

- One ``motcua.db.write_transaction`` per run: all files are published together or not at all. A file that
  cannot be read gets an ``imports`` row with status ``failed`` and the run goes on; any other exception
  (a bug, disk full, a kill) aborts the run and leaves the published file untouched.
- Idempotent: a file whose sha256 was already loaded is skipped (``duplicate_file``). When every file of
  a run is a duplicate the database file is not even rewritten.
- Overlapping exports upsert by ``(source, dossier_code)``. ``state_at`` is the latest event timestamp of
  the row (submitted, received, finished, returned, supplement requested/received; due dates are deadlines,
  not events, and are left out). The incoming row replaces the stored one when its ``state_at`` is the same
  or newer, so on a tie the later import wins (files of one run count in the order given). Older incoming
  rows are counted as ``rows_older`` and leave the stored row alone. Duplicated codes inside one file keep
  the row with the latest ``state_at`` (ties: the last row); the others are rejected naming the kept row.
- The unit of a row is its unit column (receiving, else resolving / group row), else the unit in the
  file title, else ``--unit``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from loaders.model import LoadError, RawTable
from loaders.normalize import Normalizer, vietnam_now
from motcua import db as dbmod
from motcua import pii
from motcua import units as unitsmod
from motcua.fmt import fmt_datetime, fmt_int
from motcua.schema import DOSSIER_COLUMNS, NATIONAL_CODE_RE
from motcua.site import load_site

STATUS_LOADED, STATUS_DUPLICATE, STATUS_FAILED = "loaded", "duplicate_file", "failed"
_REJECT_VALUE, _REJECT_REASON = pii.scrub_sql("raw_value"), pii.scrub_sql("reason")
REJECT_SAMPLES = 5

def same_dossier(stored: str, incoming: str) -> str:
    """SQL: the stored row ``stored`` is the incoming dossier ``incoming``."""
    return (f"{stored}.source = {incoming}.source AND {stored}.dossier_code = {incoming}.dossier_code AND "
            f"(regexp_full_match({incoming}.dossier_code, '{NATIONAL_CODE_RE}') "
            f"OR {stored}.receiving_unit_code = {incoming}.receiving_unit_code)")


_UPDATABLE = [c for c in DOSSIER_COLUMNS if c not in ("source", "dossier_code")]
_UPSERT_DOSSIERS = (
    f"MERGE INTO dossiers USING norm_write n ON {same_dossier('dossiers', 'n')} "
    "WHEN MATCHED AND n.state_at >= dossiers.state_at THEN UPDATE SET "
    + ", ".join(f"{c} = n.{c}" for c in _UPDATABLE)
    + " WHEN NOT MATCHED THEN INSERT"
)
# Procedures seen in dossiers fill gaps only; catalogue rows (from_catalogue) are never overwritten.
_UPSERT_SEEN_PROCEDURES = """
    INSERT INTO procedures
    SELECT procedure_code, max(procedure_name), max(field_code), max(field_name),
           coalesce(mode(dvc_level) FILTER (WHERE dvc_level <> 'unknown'), 'unknown'), NULL, max(legal_days), false
    FROM norm_ok WHERE procedure_code IS NOT NULL GROUP BY procedure_code
    ON CONFLICT (procedure_code) DO UPDATE SET
        procedure_name = coalesce(excluded.procedure_name, procedures.procedure_name),
        field_code = coalesce(excluded.field_code, procedures.field_code),
        field_name = coalesce(excluded.field_name, procedures.field_name),
        dvc_level = CASE WHEN excluded.dvc_level <> 'unknown' THEN excluded.dvc_level ELSE procedures.dvc_level END,
        legal_days = coalesce(excluded.legal_days, procedures.legal_days)
    WHERE NOT procedures.from_catalogue
"""
_UPSERT_CATALOGUE = (
    "INSERT INTO procedures SELECT * FROM norm_ok ON CONFLICT (procedure_code) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("procedure_name", "field_code", "field_name", "dvc_level",
                                                 "has_fee", "legal_days", "from_catalogue"))
)


@dataclass
class FileResult:
    """Outcome of one file (one ``imports`` row, except for duplicates, which write nothing)."""

    file_name: str
    format: str
    status: str  # loaded | duplicate_file | failed
    rows_read: int = 0
    rows_loaded: int = 0  # accepted rows (new + updated + older)
    rows_rejected: int = 0
    message: str = ""
    import_id: int | None = None
    sha256: str = ""
    kind: str = "dossiers"
    unit_code: str | None = None
    rows_new: int = 0
    rows_updated: int = 0
    rows_older: int = 0  # accepted but not applied: the database already holds a newer state
    rows_skipped: int = 0  # not dossiers: never received (status 1/3 without a reception date)
    reject_samples: list[dict] = field(default_factory=list)
    reason: str | None = None  # failed files: ``loaders.model.REASONS`` (crash, timeout, memory ...)

    @property
    def usable(self) -> bool:
        return self.status == STATUS_DUPLICATE or (self.status == STATUS_LOADED and self.rows_loaded > 0)


@dataclass
class ImportSummary:
    files: list[FileResult]
    db_path: str

    @property
    def any_loaded(self) -> bool:
        return any(f.status == STATUS_LOADED and f.rows_loaded > 0 for f in self.files)

    @property
    def ok(self) -> bool:
        """Something usable came out of the run (duplicate skips are not failures)."""
        return any(f.usable for f in self.files)

    def to_dict(self) -> dict:
        return {
            "db_path": self.db_path,
            "any_loaded": self.any_loaded,
            "ok": self.ok,
            "totals": {key: sum(getattr(f, key) for f in self.files)
                       for key in ("rows_read", "rows_loaded", "rows_rejected", "rows_new", "rows_updated")},
            "files": [asdict(f) for f in self.files],
        }


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # reading | normalizing | writing | done | publishing
    file_index: int  # 0-based
    file_count: int
    file_name: str
    rows: int = 0


Progress = Callable[[ProgressEvent], None]
FileSpec = str | os.PathLike | tuple[str | os.PathLike, str]


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _try_sha256(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _split_spec(spec: FileSpec) -> tuple[Path, str]:
    """A path, or (path, display name) for uploads saved under a temporary name."""
    if isinstance(spec, tuple):
        return Path(spec[0]), spec[1]
    return Path(spec), Path(spec).name


def _format_from_name(name: str) -> str:
    return Path(name).suffix.lower().lstrip(".") or "không rõ"


def _loaded_before(con, sha256: str) -> tuple | None:
    rows = con.execute(
        "SELECT import_id, imported_at FROM imports WHERE sha256 = ? AND status = 'loaded' "
        "ORDER BY import_id LIMIT 1", [sha256]).fetchall()
    return rows[0] if rows else None


def _remove_earlier_load(con, sha256: str) -> None:
    """``--replace``: drop the dossiers written by the earlier loads of this file; their imports rows stay
    (status ``replaced``) as the history of what was loaded."""
    ids = [r[0] for r in con.execute("SELECT import_id FROM imports WHERE sha256 = ? AND status = 'loaded'",
                                     [sha256]).fetchall()]
    con.execute("DELETE FROM dossiers WHERE import_id IN (SELECT unnest(?))", [ids])
    con.execute("UPDATE imports SET status = 'replaced', message = message || ' (đã nạp lại bằng --replace)' "
                "WHERE import_id IN (SELECT unnest(?))", [ids])


def _duplicate(name: str, sha256: str, previous: tuple) -> FileResult:
    import_id, imported_at = previous
    return FileResult(name, _format_from_name(name), STATUS_DUPLICATE, sha256=sha256, import_id=import_id,
                      message=f"Tệp đã được nạp lúc {fmt_datetime(imported_at)} (lần nạp #{import_id})")


def _published_duplicates(db_path: Path, hashes: Iterable[str]) -> dict[str, tuple]:
    """Hashes already loaded in the published file (read-only; empty when there is no database yet)."""
    if not db_path.exists():
        return {}
    try:  # a hint only: each file is looked up again inside the write transaction
        rows = dbmod.peek_rows(db_path, "SELECT sha256, min(import_id), min(imported_at) FROM imports "
                                        "WHERE status = 'loaded' AND sha256 IN (SELECT unnest(?)) GROUP BY sha256",
                               [list(hashes)])
    except dbmod.DatabaseUnavailable:
        return {}
    return {sha: (import_id, imported_at) for sha, import_id, imported_at in rows}


def import_files(paths: Sequence[FileSpec], *, db_path: str | os.PathLike | None = None, unit: str | None = None,
                 user: str | None = None, progress: Progress | None = None, replace: bool = False) -> ImportSummary:
    """Import export files into the database in one atomic run.

    ``replace``: a file loaded before is imported again (e.g. with a corrected ``unit``) instead of being
    skipped; the rows its earlier loads wrote are removed first (rows a later file updated stay).

    Raises ``motcua.units.UnitError`` (Vietnamese message) before writing anything when ``unit`` is given
    but cannot be resolved.
    """
    target = dbmod.resolve_path(db_path)
    if not paths:
        return ImportSummary([], str(target))
    from loaders import isolate  # the readers are optional for library users of the pipeline

    isolate.start_fork_server()  # its imports overlap the hashing and the look-up below
    specs = [_split_spec(p) for p in paths]
    hashes = [_try_sha256(path) for path, _ in specs]
    published = {} if replace else _published_duplicates(target, hashes)
    if hashes and all(sha in published for sha in hashes):
        # Nothing new: do not even rewrite the file (its version, and the dashboard caches, stay the same).
        skipped = [_duplicate(name, sha, published[sha]) for (_, name), sha in zip(specs, hashes, strict=True)]
        return ImportSummary(skipped, str(target))
    results: list[FileResult] = []
    new_files = [sha is not None and sha not in published and sha not in hashes[:index]
                 for index, sha in enumerate(hashes)]
    with _ReadAhead(specs, new_files) as reads, dbmod.write_transaction(target, incremental=True) as con:
        unitsmod.seed_units(con)
        unit_option = unitsmod.resolve_unit(con, unit) if unit else None
        for index, ((_, name), sha) in enumerate(zip(specs, hashes, strict=True)):
            notify = _notifier(progress, index, len(specs), name)
            previous = _loaded_before(con, sha) if sha else None
            if previous and replace and sha not in hashes[:index]:
                _remove_earlier_load(con, sha)
                previous = None
            if sha is None:
                message = str(LoadError("không mở được tệp (không tồn tại hoặc không có quyền đọc).", file_name=name))
                results.append(_record_failure(con, name, "", _format_from_name(name), message, user))
            elif previous:
                results.append(_duplicate(name, sha, previous))
            else:
                notify("reading")
                results.append(_import_read(con, reads.take(index), name, sha, unit_option=unit_option,
                                            user=user, notify=notify))
            notify("done", results[-1].rows_loaded)
        if progress:
            progress(ProgressEvent("publishing", len(specs), len(specs), ""))
    return ImportSummary(results, str(target))


class _ReadAhead:
    """Reads the files of a run one file ahead of the import, each in a limited child process.

    Every parse runs in a child (``loaders.isolate``: memory and time allowance, a hostile file kills only
    its child); one worker thread waits for it, so on a 2-core machine the first file is parsed while the
    private copy of the database is made, and file i+1 while file i is normalised and written. At most two
    files' tables are in memory. ``take`` waits for a read and returns its future, whose ``result()`` gives
    the tables or raises the file's ``LoadError``; a file not read ahead (``wanted`` False: already loaded
    or repeated in the run) is read only if it is taken.
    """

    def __init__(self, specs: list[tuple[Path, str]], wanted: list[bool]):
        # Imported here: the readers are optional for library users of the pipeline.
        from loaders import isolate

        self._read_file, self._specs, self._wanted = isolate.parse_in_child, specs, wanted
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motcua-read")
        self._ahead: dict[int, Future] = {}
        self._schedule_after(-1)

    def _submit(self, index: int) -> Future:
        path, name = self._specs[index]
        return self._pool.submit(self._read_file, path, file_name=name)

    def _schedule_after(self, index: int) -> None:
        following = next((i for i in range(index + 1, len(self._specs)) if self._wanted[i]), None)
        if following is not None and following not in self._ahead:
            self._ahead[following] = self._submit(following)

    def take(self, index: int) -> Future:
        """The read of file ``index`` (finished or running); schedules the next wanted file once it is done."""
        future = self._ahead.pop(index, None) or self._submit(index)
        try:
            future.exception()  # wait: the next read starts only when this one is over (memory bound)
        finally:
            self._schedule_after(index)
        return future

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        # An aborted run does not wait for a read in flight; queued reads are dropped.
        self._pool.shutdown(wait=False, cancel_futures=True)


def _notifier(progress: Progress | None, index: int, count: int, name: str) -> Callable[[str, int], None]:
    def notify(stage: str, rows: int = 0) -> None:
        if progress:
            progress(ProgressEvent(stage, index, count, name, rows))
    return notify


def _import_read(con, read: Future, name: str, sha: str, *, unit_option, user, notify) -> FileResult:
    try:
        tables = read.result()
    except LoadError as exc:
        return _record_failure(con, name, sha, _format_from_name(name), str(exc), user, reason=exc.reason)
    return import_raw_tables(con, tables, file_name=name, sha256=sha, unit=unit_option, user=user, notify=notify)


def _record_failure(con, name: str, sha: str, file_format: str, message: str, user: str | None,
                    source: str | None = None, reason: str = "invalid") -> FileResult:
    import_id = _next_import_id(con)
    result = FileResult(name, file_format, STATUS_FAILED, message=message, import_id=import_id, sha256=sha,
                        reason=reason)
    _insert_import_row(con, result, source=source, period=(None, None), user=user)
    return result


def _next_import_id(con) -> int:
    return con.execute("SELECT nextval('import_seq')").fetchall()[0][0]


def _insert_import_row(con, result: FileResult, *, source, period, user) -> None:
    result.message = pii.scrub(result.message)  # a message may quote cells of the file
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [result.import_id, result.file_name, result.sha256, result.format, source, result.unit_code,
         period[0], period[1], result.rows_read, result.rows_loaded, result.rows_rejected, result.status,
         result.message, vietnam_now(), user],
    )


def _title_unit(con, table: RawTable, unit_option: unitsmod.Unit | None) -> unitsmod.Unit | None:
    """The unit written in the file title (province hint: --unit's), else --unit.

    A title naming a province, city or district ('Thành phố Hải Phòng') is never a commune: ignored; nor
    is a title holding a phone, ID number or email (never registered as a unit).
    """
    if (not table.title_unit or table.kind != "dossiers" or unitsmod.names_a_region(table.title_unit)
            or pii.contains_pii(table.title_unit)):
        return unit_option
    province = unit_option.province_code if unit_option else None
    try:
        return unitsmod.resolve_unit(con, table.title_unit, province=province)
    except unitsmod.UnitError as exc:
        if unit_option:
            return unit_option
        raise LoadError(f"Đơn vị ghi ở tiêu đề không xác định được: {exc} Hãy dùng --unit.",
                        file_name=table.file_name) from exc


def import_raw_tables(con, tables: Sequence[RawTable], *, file_name: str, sha256: str,
                      unit: unitsmod.Unit | str | None = None, user: str | None = None,
                      now: datetime | None = None, notify: Callable[[str, int], None] | None = None) -> FileResult:
    """Import the tables read from one file on an open write connection; records the ``imports`` row.

    A ``LoadError`` (missing columns, unknown unit ...) marks the file failed and writes no dossier.
    """
    notify = notify or (lambda stage, rows=0: None)
    if isinstance(unit, str):
        unit = unitsmod.resolve_unit(con, unit)
    file_format = tables[0].format if tables else _format_from_name(file_name)
    source = tables[0].source if tables else None
    if not tables:
        return _record_failure(con, file_name, sha256, file_format, "Tệp không có bảng dữ liệu nào.", user)
    import_id = _next_import_id(con)
    try:
        normalizers = [
            Normalizer(con, table, import_id=import_id, fallback_unit=_title_unit(con, table, unit),
                       province_code=unit.province_code if unit else None, now=now,
                       store_officer_names=load_site().store_officer_names)
            for table in tables
        ]
        for normalizer in normalizers:
            normalizer.check()
        if len(normalizers) > 1:  # the first table's own check runs inside its normalisation
            for normalizer in normalizers:
                normalizer.check_date_order()
    except LoadError as exc:
        result = FileResult(file_name, file_format, STATUS_FAILED, message=str(exc), import_id=import_id,
                            sha256=sha256, rows_read=sum(t.table.num_rows for t in tables), reason=exc.reason)
        _insert_import_row(con, result, source=source, period=(None, None), user=user)
        return result
    result = FileResult(file_name, file_format, STATUS_LOADED, import_id=import_id, sha256=sha256,
                        kind=tables[0].kind)
    unit_codes: dict[str, int] = {}
    for index, normalizer in enumerate(normalizers):
        notify("normalizing", normalizer.raw.table.num_rows)
        # Row numbers are per sheet: with several sheets, every reject names its sheet.
        sheet = normalizer.raw.sheet_name if len(normalizers) > 1 else None
        try:
            _load_table(con, normalizer, result, unit_codes,
                        reject_prefix=f"Trang tính '{sheet}': " if sheet else "")
        except LoadError as exc:
            if index:  # later tables were checked before the first was written
                raise
            failed = FileResult(file_name, file_format, STATUS_FAILED, message=str(exc), import_id=import_id,
                                sha256=sha256, rows_read=sum(t.table.num_rows for t in tables), reason=exc.reason)
            _insert_import_row(con, failed, source=source, period=(None, None), user=user)
            return failed
        notify("writing", result.rows_loaded)
    result.unit_code = max(unit_codes, key=unit_codes.get) if unit_codes else (unit.code if unit else None)
    _finish(result)
    _insert_import_row(con, result, source=source, period=(tables[0].period_from, tables[0].period_to), user=user)
    return result


def _load_table(con, normalizer: Normalizer, result: FileResult, unit_codes: dict[str, int], *,
                reject_prefix: str = "") -> None:
    is_catalogue = normalizer.raw.kind == "procedures"
    counts = normalizer.procedures() if is_catalogue else normalizer.dossiers()
    result.rows_read += counts.rows_read
    result.rows_loaded += counts.rows_ok
    result.rows_rejected += counts.rows_rejected
    result.rows_skipped += counts.rows_skipped
    if is_catalogue:
        _record_rejects(con, result, reject_prefix)
        con.execute(_UPSERT_CATALOGUE)
        result.rows_new += counts.rows_ok
        return
    collisions = _reject_collisions(con)
    result.rows_loaded -= collisions
    result.rows_rejected += collisions
    _record_rejects(con, result, reject_prefix)
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM dossiers LIMIT 1)").fetchall()[0][0]:
        # First load into an empty table: every row is new, no comparison join needed.
        new, updated, older = counts.rows_ok, 0, 0
    else:
        new, updated, older = _compare_with_stored(con)
    # A plain INSERT is faster than MERGE when no stored row shares a code (first load of an export).
    con.execute(_UPSERT_DOSSIERS if updated or older else "INSERT INTO dossiers SELECT * FROM norm_write")
    con.execute(_UPSERT_SEEN_PROCEDURES)
    result.rows_new += new
    result.rows_updated += updated
    result.rows_older += older
    for code, count in con.execute("SELECT receiving_unit_code, count(*) FROM norm_write GROUP BY 1").fetchall():
        unit_codes[code] = unit_codes.get(code, 0) + count


def _record_rejects(con, result: FileResult, reject_prefix: str) -> None:
    # Raw values and reasons (which quote them) are kept without phones, ID numbers and emails.
    con.execute(f"INSERT INTO rejects SELECT ?, ?, row_number, column_name, {_REJECT_VALUE}, ? || {_REJECT_REASON} "
                "FROM norm_rejects ORDER BY row_number, column_name", [result.import_id, result.file_name, reject_prefix])
    if len(result.reject_samples) < REJECT_SAMPLES:
        rows = con.execute(f"SELECT row_number, column_name, {_REJECT_VALUE}, ? || {_REJECT_REASON} FROM norm_rejects "
                           "ORDER BY row_number, column_name LIMIT ?", [reject_prefix, REJECT_SAMPLES]).fetchall()
        result.reject_samples += [dict(zip(("row_number", "column_name", "raw_value", "reason"), r, strict=True))
                                  for r in rows][: REJECT_SAMPLES - len(result.reject_samples)]


def _reject_collisions(con) -> int:
    """A national-format code already stored for ANOTHER receiving unit is a real collision: the incoming
    row is rejected with a reason (never an update moving the dossier). Defines ``norm_write`` (the rows
    to write) and returns the number of rows rejected."""
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM dossiers LIMIT 1)").fetchall()[0][0]:
        con.execute("CREATE OR REPLACE TEMP VIEW norm_write AS SELECT * FROM norm_ok")
        return 0
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE norm_collisions AS
        SELECT n.source_row, n.dossier_code, any_value(d.receiving_unit_code) AS stored_unit,
               any_value(d.import_id) AS stored_import
        FROM norm_ok n JOIN dossiers d ON d.source = n.source AND d.dossier_code = n.dossier_code
        WHERE regexp_full_match(n.dossier_code, '{NATIONAL_CODE_RE}') AND d.receiving_unit_code <> n.receiving_unit_code
        GROUP BY ALL
    """)
    collisions = con.execute("SELECT count(*) FROM norm_collisions").fetchall()[0][0]
    if not collisions:
        con.execute("CREATE OR REPLACE TEMP VIEW norm_write AS SELECT * FROM norm_ok")
        return 0
    con.execute("""
        INSERT INTO norm_rejects
        SELECT c.source_row, 'Mã hồ sơ', c.dossier_code,
               'Mã hồ sơ đã có ở đơn vị ' || coalesce(u.name, c.stored_unit) || ' (lần nạp #' || c.stored_import
               || '); mã định danh quốc gia chỉ thuộc một đơn vị, không ghi đè'
        FROM norm_collisions c LEFT JOIN units u ON u.code = c.stored_unit
    """)
    con.execute("CREATE OR REPLACE TEMP VIEW norm_write AS SELECT * FROM norm_ok "
                "WHERE source_row NOT IN (SELECT source_row FROM norm_collisions)")
    return collisions


def _compare_with_stored(con) -> tuple[int, int, int]:
    """(new, updated, older) counts of ``norm_write`` against the stored rows."""
    return con.execute(f"""
        SELECT count(*) FILTER (WHERE d.dossier_code IS NULL),
               count(*) FILTER (WHERE n.state_at >= d.state_at),
               count(*) FILTER (WHERE n.state_at < d.state_at)
        FROM norm_write n LEFT JOIN dossiers d ON {same_dossier('d', 'n')}
    """).fetchall()[0]


def _finish(result: FileResult) -> None:
    if result.rows_read == 0:
        result.status, result.message, result.reason = STATUS_FAILED, "Tệp không có dòng hồ sơ nào.", "invalid"
        return
    if result.rows_loaded == 0:
        result.status, result.reason = STATUS_FAILED, "invalid"
        result.message = f"Không có dòng hợp lệ: cả {fmt_int(result.rows_rejected)} dòng bị từ chối."
        return
    if result.kind == "procedures":
        result.message = f"Đã nạp {fmt_int(result.rows_loaded)} thủ tục vào danh mục"
    else:
        result.message = (f"Đã nạp {fmt_int(result.rows_loaded)} hồ sơ (mới {fmt_int(result.rows_new)}, "
                          f"cập nhật {fmt_int(result.rows_updated)}")
        if result.rows_older:
            result.message += f", giữ bản mới hơn đã có cho {fmt_int(result.rows_older)}"
        result.message += ")"
    if result.rows_rejected:
        result.message += f"; từ chối {fmt_int(result.rows_rejected)} dòng"
    if result.rows_skipped:
        result.message += (f"; bỏ qua {fmt_int(result.rows_skipped)} dòng không được tiếp nhận "
                           "(chưa có ngày tiếp nhận, không phải hồ sơ)")
    result.message += "."

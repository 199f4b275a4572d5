"""RawTable (strings as exported) -> canonical ``dossiers`` rows, vectorised in DuckDB.

Everything runs as a handful of SQL statements over the Arrow table: dates are parsed in SQL, labels
(status, channel, level, flags, money, unit names) are mapped once per DISTINCT value in Python through
``loaders.vocab`` and joined back. The result is left in two temp tables on the caller's connection:

- ``norm_ok`` (a view): the accepted rows, columns exactly ``DOSSIER_COLUMNS`` (or the ``procedures`` columns),
  one row per dossier code (duplicates inside the file keep the newest state, ties the last row);
- ``norm_rejects(row_number, column_name, raw_value, reason)``: every reason a row was refused.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from loaders import vocab
from loaders.locality import CURRENT_CODE_SQL, locate
from loaders.model import PROCEDURE_FIELDS, RAW_FIELDS, REQUIRED_FIELDS, LoadError, RawTable
from loaders.safety import MAX_CELL_CHARS
from motcua import pii
from motcua import units as unitsmod
from motcua.schema import DOSSIER_COLUMNS, NATIONAL_CODE_RE
from motcua.text import fold, nfc

MIN_DATE = datetime(2000, 1, 1)
EXCEL_EPOCH = date(1899, 12, 30)
VIETNAM_UTC_OFFSET_MINUTES = 7 * 60  # Asia/Ho_Chi_Minh: UTC+7, no daylight saving since 1975

# Vietnamese names of the raw fields, used in reject reasons when the file's own header is unknown.
FIELD_LABELS: dict[str, str] = {
    "dossier_code": "Mã hồ sơ", "receiving_unit": "Đơn vị tiếp nhận", "resolving_unit": "Đơn vị giải quyết",
    "group_label": "Đơn vị (dòng nhóm)", "procedure_code": "Mã TTHC", "procedure_name": "Tên thủ tục",
    "field_code": "Mã lĩnh vực", "field_name": "Lĩnh vực", "dvc_level": "Mức độ", "channel": "Kênh nộp",
    "submitted_at": "Ngày nộp", "received_at": "Ngày tiếp nhận", "due_at": "Ngày hẹn trả",
    "new_due_at": "Ngày hẹn trả mới", "finished_at": "Ngày có kết quả", "returned_at": "Ngày trả kết quả",
    "supplement_requested_at": "Ngày yêu cầu bổ sung", "supplement_received_at": "Ngày nhận bổ sung",
    "status": "Trạng thái", "time_status": "Tình trạng hạn", "digitized": "Đã số hóa",
    "electronic_result": "Kết quả điện tử", "reused": "Tái sử dụng dữ liệu số hóa",
    "paid_online": "Thanh toán trực tuyến", "fee": "Phí", "charge": "Lệ phí",
    "supplement_count": "Số lần bổ sung", "supplement_waiting_days": "Thời gian chờ bổ sung",
    "legal_days": "Thời hạn giải quyết", "has_fee": "Có phí",
    "handling_department": "Phòng ban xử lý", "handling_officer": "Cán bộ xử lý", "current_step": "Bước xử lý",
    "reappointment_count": "Số lần hẹn lại", "non_territorial": "Không phụ thuộc địa giới hành chính",
}

DATE_FIELDS = ("submitted_at", "received_at", "due_at", "new_due_at", "finished_at", "returned_at",
               "supplement_requested_at", "supplement_received_at")

# ``state_at`` (which copy of a dossier is newer) is the latest *event*. Due dates are deadlines, often in
# the future: counting them would make a finished dossier tie with its earlier, still-open copy.
EVENT_FIELDS = tuple(f for f in DATE_FIELDS if f not in ("due_at", "new_due_at"))
# Excel serial numbers are read as due dates up to this far ahead (time limits of months, not decades).
DUE_HORIZON_DAYS = 3 * 366

# Day-first only: "03/04/2025" is 3 April. Tried in order; the first that matches the whole text wins.
DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d%H%M%S",
    # Time first (the Thanh Hóa register: "08:15, 02/04/2026").
    "%H:%M, %d/%m/%Y", "%H:%M:%S, %d/%m/%Y", "%H:%M %d/%m/%Y", "%H:%M:%S %d/%m/%Y",
)
_STORED_TEXT = frozenset({"dossier_code", "procedure_code", "procedure_name", "field_code", "field_name",
                          "handling_department", "handling_officer", "current_step"})
_TZ_RE = r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})$"
_SERIAL_RE = r"^\d{5}(?:\.\d+)?$"
# A d/m/y-looking date whose middle part cannot be a month: typed month-first.
_MONTH_FIRST_RE = r"^\s*(0?[1-9]|1[0-2])[/.\-](1[3-9]|2[0-9]|3[01])[/.\-][0-9]{4}"


@dataclass(frozen=True)
class MappedField:
    output: str  # column name in the parsed table
    sql_type: str
    mapper: Callable[[str | None], tuple[object, str | None]]


MAPPED_FIELDS: dict[str, MappedField] = {
    "status": MappedField("status", "SMALLINT", vocab.map_status),
    "channel": MappedField("channel", "VARCHAR", vocab.map_channel),
    "dvc_level": MappedField("dvc_level", "VARCHAR", vocab.map_dvc_level),
    "online_flag": MappedField("online_flag", "BOOLEAN", vocab.map_online_flag),
    # Timeliness labels never refuse a row ("Tiến độ: 50%" is just not a label); see vocab.TIME_STATUS_ALIASES.
    "time_status": MappedField("time_label", "VARCHAR", vocab.map_time_label),
    "digitized": MappedField("has_digitized_components", "BOOLEAN", vocab.map_flag),
    "electronic_result": MappedField("has_electronic_result", "BOOLEAN", vocab.map_flag),
    "reused": MappedField("reused_digitized_data", "BOOLEAN", vocab.map_flag),
    "paid_online": MappedField("paid_online", "BOOLEAN", functools.partial(vocab.map_flag, paid_online=True)),
    "fee": MappedField("fee", "BIGINT", vocab.map_money),
    "charge": MappedField("charge", "BIGINT", vocab.map_money),
    "supplement_count": MappedField("supplement_count", "SMALLINT", vocab.map_count),
    "legal_days": MappedField("legal_days", "DOUBLE", vocab.map_time_limit),
    "reappointment_count": MappedField("reappointment_count", "SMALLINT", vocab.map_count),
    "non_territorial": MappedField("non_territorial_given", "BOOLEAN", vocab.map_flag),
    "supplement_waiting_days": MappedField("supplement_waiting_days", "DOUBLE", vocab.map_days),
}
# Yes/no columns where a blank cell means "no" when the export has the column at all. A column the export
# lacks leaves the attribute NULL (unknown): rates then count known values only (no data is not 0%).
BLANK_IS_NO = frozenset({"digitized", "electronic_result", "reused", "paid_online"})
PROCEDURE_MAPPED: dict[str, MappedField] = {
    "dvc_level": MAPPED_FIELDS["dvc_level"],
    "has_fee": MappedField("has_fee", "BOOLEAN", vocab.map_flag),
    "legal_days": MAPPED_FIELDS["legal_days"],
}


_STORED_TEXT_FIELDS = ("dossier_code", "procedure_code", "procedure_name", "field_code", "field_name", "status_raw",
                       "handling_department", "handling_officer", "current_step")


@dataclass(frozen=True)
class Check:
    """One reason to refuse a row. ``condition`` uses the parsed columns only (cheap, run on every row);
    ``detail`` may also use the raw text ``raw_<field>`` of the few rows picked; ``reason`` is a SQL
    expression giving the Vietnamese message."""

    condition: str
    field: str  # raw field named in the reject (shown with the file's own header)
    reason: str
    raw: str | None = None  # raw field whose text is recorded as the rejected value
    detail: str | None = None


@dataclass
class NormalizeResult:
    rows_read: int
    rows_ok: int
    rows_rejected: int  # distinct rows refused (a row may have several reasons)
    rows_skipped: int = 0  # rows that are not dossiers: never received (status 1 or 3, no reception date)


_SCRUBBED_FIELDS = ("procedure_name", "field_name", "status", "time_status", "handling_department",
                    "handling_officer", "current_step")


def scrub_text_columns(table: pa.Table, fields: tuple[str, ...]) -> pa.Table:
    """``table`` with ``motcua.pii`` patterns masked in the given text columns.

    Checked on DISTINCT values (procedure names, statuses: a few hundred per file), then mapped back with
    Arrow kernels only when one matches; a regex over a million cells in SQL would cost seconds."""
    for name in fields:
        if name not in table.column_names:
            continue
        column = table.column(name)
        found = [value for value in pc.unique(column).to_pylist() if value is not None and pii.contains_pii(value)]
        if not found:
            continue
        positions = pc.index_in(column, value_set=pa.array(found, type=column.type))
        masked = pc.take(pa.array([pii.scrub(value) for value in found], type=column.type), positions)
        table = table.set_column(table.schema.get_field_index(name), name, pc.coalesce(masked, column))
    return table


def vietnam_now() -> datetime:
    """Current local time in Vietnam as a naive timestamp (the machine may run on UTC)."""
    return datetime.utcnow() + timedelta(minutes=VIETNAM_UTC_OFFSET_MINUTES)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def date_sql(column: str, *, latest_serial: float) -> str:
    """SQL turning a text column into a local TIMESTAMP (NULL when it is not a date)."""
    text = _quote(column)
    formats = "[" + ", ".join(_literal(f) for f in DATE_FORMATS) + "]"
    zone = f"regexp_extract({text}, {_literal(_TZ_RE)}, 2)"
    offset_minutes = (
        f"CASE WHEN {zone} IN ('Z', 'UTC', 'GMT') THEN 0 ELSE "
        f"(CASE WHEN left({zone}, 1) = '-' THEN -1 ELSE 1 END) * "
        f"(CAST(substr({zone}, 2, 2) AS INTEGER) * 60 + CAST(right({zone}, 2) AS INTEGER)) END"
    )
    with_zone = (
        f"CASE WHEN regexp_matches({text}, {_literal(_TZ_RE)}) THEN "
        f"try_cast(replace(regexp_extract({text}, {_literal(_TZ_RE)}, 1), 'T', ' ') AS TIMESTAMP) "
        f"+ to_minutes(CAST({VIETNAM_UTC_OFFSET_MINUTES} - ({offset_minutes}) AS BIGINT)) END"
    )
    # Excel serial days (e.g. 45845.5) only within 2000 .. tomorrow, so codes are never read as dates.
    serial = (
        f"CASE WHEN regexp_matches({text}, {_literal(_SERIAL_RE)}) "
        f"AND CAST({text} AS DOUBLE) BETWEEN {_excel_serial(MIN_DATE)} AND {latest_serial} THEN "
        f"TIMESTAMP '{EXCEL_EPOCH.isoformat()}' + to_seconds(CAST(round(CAST({text} AS DOUBLE) * 86400) AS BIGINT)) END"
    )
    padded = f"try_strptime(trim({text}), {formats})"  # only reached when the fast paths failed
    return f"coalesce(try_strptime({text}, {formats}), {with_zone}, {serial}, {padded})"


def _excel_serial(moment: datetime) -> float:
    return (moment - datetime.combine(EXCEL_EPOCH, datetime.min.time())).total_seconds() / 86400


class Normalizer:
    """Normalises one RawTable on a connection (temp tables ``norm_*``)."""

    def __init__(self, con, raw: RawTable, *, import_id: int, fallback_unit: unitsmod.Unit | None = None,
                 province_code: str | None = None, now: datetime | None = None, store_officer_names: bool = False):
        # Phones, ID numbers and emails typed into stored text columns are masked before anything is staged.
        raw = dataclasses.replace(raw, table=scrub_text_columns(raw.table, _SCRUBBED_FIELDS))
        self.con, self.raw, self.import_id = con, raw, import_id
        self.store_officer_names = store_officer_names
        self.fallback_unit = fallback_unit
        self.province_code = province_code or (fallback_unit.province_code if fallback_unit else None)
        self.now = now or vietnam_now()
        self.present = {name for name in raw.table.column_names if name != "source_row"}
        header_of = {fld: header for header, fld in raw.column_map.items()}
        self.labels = {fld: header_of.get(fld) or FIELD_LABELS.get(fld, fld) for fld in FIELD_LABELS}

    # -- staging ---------------------------------------------------------------------------------------
    def _stage(self, fields: tuple[str, ...]) -> int:
        """Define ``self.raw_sql``: the Arrow table as text columns (NULL when absent).

        It stays a subquery over the Arrow data (no copy); ``_run`` makes the table visible to DuckDB.
        Readers already trim cells; only the columns stored verbatim are trimmed again here (trimming every
        column of a million rows costs more than parsing its dates). Label columns are stripped by the
        vocab mappers, dates by the parser's fallback.
        """
        columns = [
            f"CAST(NULL AS VARCHAR) AS {_quote(f)}" if f not in self.present
            else f"nullif(trim(CAST({_quote(f)} AS VARCHAR)), '') AS {_quote(f)}" if f in _STORED_TEXT
            else f"CAST({_quote(f)} AS VARCHAR) AS {_quote(f)}"
            for f in fields
        ]
        self.raw_sql = f"(SELECT CAST(source_row AS INTEGER) AS source_row, {', '.join(columns)} FROM norm_input)"
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE norm_rejects (row_number INTEGER, column_name VARCHAR, "
            "raw_value VARCHAR, reason VARCHAR)"
        )
        return self.raw.table.num_rows

    def _run(self, sql: str, params: list | None = None):
        """Execute with the Arrow table in scope (DuckDB replacement scan of the local name ``norm_input``;
        ``register`` would be refused while another helper leaves a result open on the connection)."""
        norm_input = self.raw.table  # noqa: F841
        return self.con.execute(sql, params or [])

    def _from_frame(self, name: str, frame, select: str) -> None:
        """Materialise an Arrow table / pandas frame as a temp table in one statement."""
        # Replacement scan of the local variable: ``register`` is refused while another result is open.
        norm_input = frame  # noqa: F841
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} FROM norm_input")

    def _distinct(self, fields: list[str]) -> list[str]:
        """Distinct non-null texts of some columns (Arrow's hash kernel: one pass, no SQL round trip)."""
        values: set[str] = set()
        for field in fields:
            column = self.raw.table.column(field)
            if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
                column = pc.cast(column, pa.string())
            values.update(v for v in pc.unique(column).to_pylist() if v is not None)
        return sorted(values)

    def _map_distinct(self, field: str, spec: MappedField, name: str | None = None) -> str | None:
        """Map the DISTINCT labels of one column in Python; returns the temp table name (None if absent)."""
        if field not in self.present:
            return None
        values = self._distinct([field])
        mapped = [spec.mapper(v) for v in values]
        frame = pd.DataFrame({"raw": pd.Series(values, dtype="object"),
                              "value": pd.Series([m[0] for m in mapped], dtype="object"),
                              "error": pd.Series([m[1] for m in mapped], dtype="object")})
        name = name or f"norm_map_{field}"
        self._from_frame(name, frame, f"CAST(raw AS VARCHAR) AS raw, CAST(value AS {spec.sql_type}) AS value, "
                         "CAST(error AS VARCHAR) AS error")
        return name

    def _mapping_joins(self, mapped: dict[str, MappedField]) -> tuple[list[str], list[str], list[Check]]:
        """(select expressions, join clauses, checks) for the label columns."""
        selects, joins, checks = [], [], []
        for field, spec in mapped.items():
            table = self._map_distinct(field, spec)
            alias = f"m_{field}"
            if table is None:
                selects.append(f"CAST(NULL AS {spec.sql_type}) AS {spec.output}, "
                               f"CAST(NULL AS VARCHAR) AS {field}_error")
                continue
            joins.append(f"LEFT JOIN {table} {alias} ON {alias}.raw = r.{_quote(field)}")
            value = f"{alias}.value"
            if field in BLANK_IS_NO:
                # The export has the column: an empty cell is an unticked box (no), not unknown.
                value = f"coalesce({value}, CASE WHEN nullif(trim(r.{_quote(field)}), '') IS NULL THEN false END)"
            selects.append(f"{value} AS {spec.output}, {alias}.error AS {field}_error")
            checks.append(Check(f"{field}_error IS NOT NULL", field, f"{field}_error", raw=field))
        return selects, joins, checks

    def _date_checks(self, field: str) -> list[Check]:
        label = self.labels[field]
        raw = f"raw_{field}"
        limit = self.now + timedelta(days=1)
        return [
            Check(f"{field} IS NULL AND {field}_given", field,
                  f"'Không đọc được ngày ''' || {raw} || ''' ở cột ''{label}'' "
                  "(dạng hợp lệ: dd/mm/yyyy hoặc dd/mm/yyyy HH:MM)'", raw=field, detail=f"trim({raw}) <> ''"),
            Check(f"{field} < TIMESTAMP '{MIN_DATE.isoformat(sep=' ')}'", field,
                  f"'Ngày ''' || {raw} || ''' ở cột ''{label}'' trước 01/01/2000'", raw=field),
        ] + ([] if field not in EVENT_FIELDS else [
            # Only events cannot lie in the future; a pending dossier's due date normally does.
            Check(f"{field} > TIMESTAMP '{limit.isoformat(sep=' ', timespec='seconds')}'", field,
                  f"'Ngày ''' || {raw} || ''' ở cột ''{label}'' ở tương lai (sau {limit:%d/%m/%Y %H:%M})'",
                  raw=field),
        ])

    def _before_received_check(self, field: str) -> Check:
        """Results cannot come before reception (compared by day: exports often give a date without time)."""
        label = self.labels[field]
        return Check(f"CAST({field} AS DATE) < CAST(received_at AS DATE)", field,
                     f"'Ngày ''' || raw_{field} || ''' ở cột ''{label}'' trước ngày tiếp nhận ' || "
                     "strftime(received_at, '%d/%m/%Y')", raw=field)

    def _collect_rejects(self, checks: list[Check]) -> None:
        """Fill ``norm_rejects``. The checks' cheap conditions pick the bad rows first; only those rows are
        joined back to their raw text (a clean export skips all of it)."""
        any_bad = " OR ".join(f"({c.condition})" for c in checks)
        if not self.con.execute(f"SELECT count(*) FROM norm_parsed WHERE {any_bad}").fetchall()[0][0]:
            return
        raw_fields = sorted({c.raw for c in checks if c.raw})
        raw_columns = "".join(f", r.{_quote(f)} AS raw_{f}" for f in raw_fields)
        self._run(f"""
            CREATE OR REPLACE TEMP TABLE norm_bad AS
            SELECT p.*{raw_columns}
            FROM (SELECT * FROM norm_parsed WHERE {any_bad}) p JOIN {self.raw_sql} r ON r.source_row = p.source_row
        """)
        queries = [
            f"SELECT source_row, {_literal(self.labels.get(c.field, c.field))}, "
            f"{f'raw_{c.raw}' if c.raw else 'CAST(NULL AS VARCHAR)'}, {c.reason} FROM norm_bad "
            f"WHERE ({c.condition})" + (f" AND ({c.detail})" if c.detail else "")
            for c in checks
        ]
        self.con.execute("INSERT INTO norm_rejects " + " UNION ALL ".join(queries))

    # -- units -------------------------------------------------------------------------------------------
    def _unit_sources(self) -> tuple[str | None, str | None]:
        receiving = "receiving_unit" if "receiving_unit" in self.present else None
        if "resolving_unit" in self.present:
            resolving = "resolving_unit"
        elif "group_label" in self.present:
            resolving = "group_label"
        else:
            resolving = None
        return receiving, resolving

    def _map_units(self, fields: list[str]) -> None:
        names = self._distinct(fields)
        codes, errors = self._resolve_names(names, self.province_code)
        if self.province_code is None and any(errors):
            # One export comes from one province's system: when every name that did resolve lies in a single
            # province, use it to settle the ambiguous ones ("Xã Tân Kỳ" exists in three provinces). A name
            # that resolves nowhere (an abolished commune's typo, a damaged byte) is rejected alone and does
            # not stop the others (it used to register a unit without province and block this step).
            provinces = {self._province_of(code) for code in codes if code} - {None}
            if len(provinces) == 1:
                retry = [i for i, error in enumerate(errors) if error]
                retried = self._resolve_names([names[i] for i in retry], provinces.pop())
                for i, code, error in zip(retry, *retried, strict=True):
                    codes[i], errors[i] = code, error
        frame = pd.DataFrame({"raw": pd.Series(names, dtype="object"), "code": pd.Series(codes, dtype="object"),
                              "error": pd.Series(errors, dtype="object")})
        self._from_frame("norm_units", frame, "CAST(raw AS VARCHAR) AS raw, CAST(code AS VARCHAR) AS code, "
                         "CAST(error AS VARCHAR) AS error")

    def _resolve_names(self, names: list[str], province_code: str | None) -> tuple[list, list]:
        codes, errors = [], []
        for name in names:
            if not nfc(name):  # a blank cell: no unit, the fallback applies
                codes.append(None)
                errors.append(None)
                continue
            if pii.contains_pii(name):  # "Ông … – 0966555444" must never become a unit
                codes.append(None)
                errors.append("Ô đơn vị chứa số điện thoại, số giấy tờ hoặc email (dữ liệu cá nhân), không phải tên "
                              "đơn vị; dòng không được nạp")
                continue
            try:
                codes.append(unitsmod.resolve_unit(self.con, name, province=province_code, suggest=False).code)
                errors.append(None)
            except unitsmod.UnitError as exc:
                codes.append(None)
                errors.append(str(exc))
        return codes, errors

    def _province_of(self, code: str) -> str | None:
        rows = self.con.execute("SELECT province_code FROM units WHERE code = ?", [code]).fetchall()
        return rows[0][0] if rows else None

    # -- applicant locality -> non_territorial --------------------------------------------------------------
    def _localities(self) -> tuple[str, str]:
        """(select, join) giving each row the applicant's commune and province, resolved from the address
        tail (never the address itself); both NULL when the file has no address or it does not resolve."""
        if "applicant_locality" not in self.present:
            return "CAST(NULL AS VARCHAR) AS applicant_commune, CAST(NULL AS VARCHAR) AS applicant_province", ""
        tails = self._distinct(["applicant_locality"])
        located = [locate(self.con, tail) for tail in tails]
        frame = pd.DataFrame({"raw": pd.Series(tails, dtype="object"),
                              "commune": pd.Series([c for c, _ in located], dtype="object"),
                              "province": pd.Series([p for _, p in located], dtype="object")})
        self._from_frame("norm_localities", frame, "CAST(raw AS VARCHAR) AS raw, CAST(commune AS VARCHAR) AS "
                         "commune, CAST(province AS VARCHAR) AS province")
        return ("loc.commune AS applicant_commune, loc.province AS applicant_province",
                "LEFT JOIN norm_localities loc ON loc.raw = r.applicant_locality")

    def _add_non_territorial(self) -> None:
        """``norm_parsed.non_territorial``: the exported flag, else derived from the applicant's locality: the
        applicant lives in another commune (compared after the 2025 reform, a legacy commune counting as
        its successor) or, when only the province is known, in another province. Unknown stays NULL."""
        if not {"non_territorial", "applicant_locality"} & self.present:
            self.con.execute("CREATE OR REPLACE TEMP TABLE norm_parsed AS "
                             "SELECT *, CAST(NULL AS BOOLEAN) AS non_territorial FROM norm_parsed")
            return
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE norm_parsed AS
            SELECT p.*, coalesce(p.non_territorial_given, CASE
                WHEN p.applicant_commune IS NOT NULL THEN p.applicant_commune <> {CURRENT_CODE_SQL}
                WHEN p.applicant_province IS NOT NULL AND ru.province_code IS NOT NULL
                    THEN p.applicant_province <> ru.province_code END) AS non_territorial
            FROM norm_parsed p LEFT JOIN units ru ON ru.code = p.receiving_unit_code
        """)

    # -- dossiers ----------------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise ``LoadError`` when the whole table cannot be imported (called before anything is written)."""
        if self.raw.kind == "procedures":
            if "procedure_code" not in self.present:
                raise LoadError("Danh mục thủ tục thiếu cột mã TTHC.", file_name=self.raw.file_name)
            return
        if self.raw.kind != "dossiers":
            raise LoadError(f"Loại bảng '{self.raw.kind}' không được hỗ trợ.", file_name=self.raw.file_name)
        missing = [FIELD_LABELS[f] for f in REQUIRED_FIELDS if f not in self.present]
        if missing:
            raise LoadError(f"Thiếu cột bắt buộc: {', '.join(missing)}.", file_name=self.raw.file_name)
        receiving, resolving = self._unit_sources()
        if receiving is None and resolving is None and self.fallback_unit is None:
            raise LoadError("Không xác định được đơn vị tiếp nhận hồ sơ (tệp không có cột đơn vị, tiêu đề không "
                            "ghi tên xã/phường); hãy dùng --unit để chỉ rõ đơn vị.", file_name=self.raw.file_name)

    def dossiers(self) -> NormalizeResult:
        self.check()
        receiving, resolving = self._unit_sources()
        rows_read = self._stage(RAW_FIELDS)
        self._map_units([f for f in (receiving, resolving) if f])
        selects, joins, checks = self._mapping_joins(MAPPED_FIELDS)
        latest_serial = _excel_serial(self.now + timedelta(days=1))
        latest_due = _excel_serial(self.now + timedelta(days=DUE_HORIZON_DAYS))
        dates = [f"{date_sql(f, latest_serial=latest_serial if f in EVENT_FIELDS else latest_due)} AS {f}"
                 for f in DATE_FIELDS]
        given = [f"r.{_quote(f)} IS NOT NULL AS {f}_given" for f in DATE_FIELDS]
        fallback = _literal(self.fallback_unit.code) if self.fallback_unit else "CAST(NULL AS VARCHAR)"
        recv = "u_recv.code" if receiving else "CAST(NULL AS VARCHAR)"
        resv = "u_resv.code" if resolving else "CAST(NULL AS VARCHAR)"
        unit_joins = ([f"LEFT JOIN norm_units u_recv ON u_recv.raw = r.{receiving}"] if receiving else []) + (
            [f"LEFT JOIN norm_units u_resv ON u_resv.raw = r.{resolving}"] if resolving else [])
        # A status column holding timeliness words ("Quá hạn") gives a time status too (status stays NULL).
        status_time = self._map_distinct("status", MappedField("status_time_label", "VARCHAR", vocab.map_time_label),
                                         "norm_map_status_time")
        if status_time:
            joins.append(f"LEFT JOIN {status_time} m_status_time ON m_status_time.raw = r.status")
        selects.append("m_status_time.value AS status_time_label" if status_time
                       else "CAST(NULL AS VARCHAR) AS status_time_label")
        officer = "r.handling_officer" if self.store_officer_names else "CAST(NULL AS VARCHAR)"
        locality_select, locality_join = self._localities()
        self._run(f"""
            CREATE OR REPLACE TEMP TABLE norm_parsed AS
            SELECT r.source_row, r.dossier_code, r.procedure_code, r.procedure_name, r.field_code, r.field_name,
                   r.status AS status_raw, r.time_status,
                   {"u_recv.error" if receiving else "NULL"} AS receiving_error,
                   {"u_resv.error" if resolving else "NULL"} AS resolving_error,
                   coalesce({recv}, {resv}, {fallback}) AS receiving_unit_code,
                   coalesce({resv}, {recv}, {fallback}) AS resolving_unit_code,
                   r.handling_department, {officer} AS handling_officer, r.current_step,
                   {locality_select},
                   {", ".join(selects)}, {", ".join(dates)}, {", ".join(given)}
            FROM {self.raw_sql} r {" ".join(unit_joins)} {" ".join(joins)} {locality_join}
        """)
        self._check_date_order()
        self._received_when_dated()
        rows_skipped = self._skip_not_received()
        for field in DATE_FIELDS:
            checks += self._date_checks(field)
        checks.append(self._resolved_without_end_check())
        checks += [
            *[self._before_received_check(f) for f in ("finished_at", "returned_at")],
            Check("dossier_code IS NULL", "dossier_code", "'Thiếu mã hồ sơ'"),
            Check("received_at IS NULL", "received_at",
                  f"'Thiếu ngày tiếp nhận (cột ''{self.labels['received_at']}'')'", raw="received_at",
                  detail="raw_received_at IS NULL OR trim(raw_received_at) = ''"),
            Check("receiving_error IS NOT NULL", receiving or "receiving_unit", "receiving_error", raw=receiving),
            Check("resolving_error IS NOT NULL", resolving or "resolving_unit", "resolving_error", raw=resolving),
            Check("receiving_unit_code IS NULL AND receiving_error IS NULL AND resolving_error IS NULL",
                  receiving or "receiving_unit", "'Thiếu tên đơn vị tiếp nhận; hãy dùng --unit để chỉ rõ đơn vị'"),
        ]
        checks += [self._overlong_check(f) for f in _STORED_TEXT_FIELDS]
        self._add_non_territorial()
        self._collect_rejects(checks)
        self._keep_newest_per_code()
        result = self._result(rows_read)
        result.rows_skipped = rows_skipped
        return result

    def _received_when_dated(self) -> None:
        """"Chờ xử lý" with a reception date is a received dossier waiting for an officer (status 2)."""
        if "status" not in self.present:
            return
        labels = [v for v in self._distinct(["status"]) if fold(v) in vocab.RECEIVED_WHEN_DATED]
        if labels:
            self.con.execute("UPDATE norm_parsed SET status = 2 WHERE status = 1 AND received_at_given "
                             "AND list_contains(?, status_raw)", [labels])

    def _skip_not_received(self) -> int:
        """Rows refused at reception or never received (status 3 / 1) without a reception date are not
        dossiers: they are counted as skipped, not rejected."""
        where = "status IN (1, 3) AND NOT received_at_given"
        skipped = self.con.execute(f"SELECT count(*) FROM norm_parsed WHERE {where}").fetchall()[0][0]
        if skipped:
            self.con.execute(f"DELETE FROM norm_parsed WHERE {where}")
        return skipped

    def _resolved_without_end_check(self) -> Check:
        """A resolved status (9, 10) needs an end date or a time status to be counted; a date is never made up
        (a portal push rewrites statuses 5, 6 and 8 into 9 and leaves the end dates empty)."""
        return Check(
            "status IN (9, 10) AND NOT finished_at_given AND NOT returned_at_given "
            "AND coalesce(coalesce(time_label, status_time_label) NOT IN ('truoc_han', 'dung_han', 'qua_han'), true)",
            "status",
            "'Trạng thái ''' || raw_status || ''' là đã giải quyết nhưng không có ngày kết thúc xử lý/trả kết quả "
            "và không có tình trạng hạn (sớm/đúng/quá hạn) để tính; không tự đặt ngày'", raw="status")

    # -- day/month order --------------------------------------------------------------------------------------
    def check_date_order(self) -> None:
        """The date-order check on its own (dates parsed into ``norm_parsed``), for files of several tables:
        all are checked before the first is written."""
        if self.raw.kind != "dossiers":
            return
        self._stage(RAW_FIELDS)
        latest_serial = _excel_serial(self.now + timedelta(days=1))
        dates = [f"{date_sql(f, latest_serial=latest_serial)} AS {f}" for f in DATE_FIELDS]
        given = [f"r.{_quote(f)} IS NOT NULL AS {f}_given" for f in DATE_FIELDS]
        self._run(f"CREATE OR REPLACE TEMP TABLE norm_parsed AS SELECT r.source_row, {', '.join(dates)}, "
                  f"{', '.join(given)} FROM {self.raw_sql} r")
        self._check_date_order()

    def _check_date_order(self) -> None:
        """Refuse a date column typed month-first (README "Nạp dữ liệu", ngày tháng).

        Dates are read day-first. A value whose middle part is over 12 ('03/25/2026') cannot be day-first:
        when such values outnumber the values whose first part is over 12 (day-first evidence), the
        column is month-first and '03/04/2026' in it would silently become 3 April. Both
        counts come cheaply from the parse: month-first values are among those it could not read."""
        for field in DATE_FIELDS:
            if field not in self.present:
                continue
            failed = self.con.execute(f"SELECT count(*) FROM norm_parsed WHERE {field} IS NULL AND {field}_given"
                                      ).fetchall()[0][0]
            if not failed:
                continue
            month_first = self._run(f"""
                SELECT count(*), min(r.source_row), arg_min(r.{_quote(field)}, r.source_row)
                FROM (SELECT source_row FROM norm_parsed WHERE {field} IS NULL AND {field}_given) p
                JOIN {self.raw_sql} r ON r.source_row = p.source_row
                WHERE regexp_matches(r.{_quote(field)}, {_literal(_MONTH_FIRST_RE)})
            """).fetchall()[0]
            if not month_first[0]:
                continue
            day_first = self.con.execute(f"SELECT count(*) FROM norm_parsed WHERE day({field}) > 12"
                                         ).fetchall()[0][0]
            if month_first[0] > day_first:
                count, row, text = month_first
                raise LoadError(
                    f"cột ngày ghi theo kiểu tháng trước ngày (mm/dd/yyyy): {count} giá trị như '{text}' (dòng "
                    f"{row}) có phần giữa lớn hơn 12, nhiều hơn số giá trị chứng tỏ kiểu ngày trước tháng "
                    f"({day_first}). Đọc theo dd/mm/yyyy sẽ đảo ngày và tháng của các ngày như 03/04, "
                    "nên tệp không được nạp. Hãy xuất lại tệp với ngày dạng dd/mm/yyyy.",
                    file_name=self.raw.file_name, column=self.labels[field])

    @staticmethod
    def _overlong_check(field: str) -> Check:
        """A cell longer than Excel's own limit is junk (or an attack): quarantine the row, keep a prefix."""
        return Check(f"length({field}) > {MAX_CELL_CHARS}", field,
                     f"'Nội dung ô dài ' || length({field}) || ' ký tự, vượt giới hạn {MAX_CELL_CHARS} ký tự: ' "
                     f"|| left({field}, 40) || '…'")

    def _keep_newest_per_code(self) -> None:
        """Build ``norm_ok``; duplicated codes inside the file keep the newest state (ties: the last row), the
        others are refused with a reason naming the kept row. The window runs on duplicated codes only."""
        outputs = {
            "source": _literal(self.raw.source),
            "dvc_level": f"coalesce(dvc_level, {_literal(vocab.DVC_LEVEL_DEFAULT)})",
            "channel": "coalesce(channel, CASE WHEN online_flag THEN 'online' WHEN NOT online_flag THEN 'direct' END, "
                       f"{_literal(vocab.CHANNEL_DEFAULT)})",
            "time_status": "coalesce(time_label, status_time_label)",
            "status_raw": "coalesce(status_raw, time_status)",
            "fee_amount": "CASE WHEN fee IS NULL AND charge IS NULL THEN NULL "
                          "ELSE coalesce(fee, 0) + coalesce(charge, 0) END",
            "state_at": "greatest(" + ", ".join(EVENT_FIELDS) + ")",
            "import_id": str(int(self.import_id)),
            "non_territorial": "non_territorial",
        }
        columns = [f"CAST({outputs.get(name, name)} AS {sql_type.replace(' NOT NULL', '')}) AS {name}"
                   for name, sql_type in DOSSIER_COLUMNS.items()]
        self._define_ok_view(columns)
        # A local receipt number is one dossier only within its receiving unit (loaders.pipeline.same_dossier).
        identity = (f"dossier_code, CASE WHEN regexp_full_match(dossier_code, '{NATIONAL_CODE_RE}') THEN '' "
                    "ELSE receiving_unit_code END")
        duplicated = f"SELECT {identity} FROM norm_ok GROUP BY ALL HAVING count(*) > 1"
        if not self.con.execute(f"SELECT count(*) FROM ({duplicated})").fetchall()[0][0]:
            return
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE norm_dups AS
            SELECT source_row, dossier_code, row_number() OVER w AS rank_in_file, first_value(source_row) OVER w AS kept_row
            FROM norm_ok WHERE ({identity}) IN ({duplicated})
            WINDOW w AS (PARTITION BY {identity} ORDER BY state_at DESC, source_row DESC)
        """)
        self.con.execute(f"""
            INSERT INTO norm_rejects SELECT source_row, {_literal(self.labels['dossier_code'])}, dossier_code,
                'Mã hồ sơ trùng trong tệp; giữ dòng ' || kept_row
            FROM norm_dups WHERE rank_in_file > 1
        """)
        self._define_ok_view(columns)

    def _define_ok_view(self, columns: list[str]) -> None:
        """``norm_ok`` is a view (one copy of a million rows fewer): the parsed rows without any reject."""
        has_rejects = self.con.execute("SELECT count(*) FROM norm_rejects").fetchall()[0][0] > 0
        where = " WHERE source_row NOT IN (SELECT row_number FROM norm_rejects)" if has_rejects else ""
        self.con.execute("CREATE OR REPLACE TEMP VIEW norm_ok AS SELECT " + ", ".join(columns)
                         + " FROM norm_parsed" + where)

    def _result(self, rows_read: int) -> NormalizeResult:
        rows_ok = self.con.execute("SELECT count(*) FROM norm_ok").fetchall()[0][0]
        rows_rejected = self.con.execute("SELECT count(DISTINCT row_number) FROM norm_rejects").fetchall()[0][0]
        return NormalizeResult(rows_read, rows_ok, rows_rejected)

    # -- procedure catalogue --------------------------------------------------------------------------------
    def procedures(self) -> NormalizeResult:
        self.check()
        rows_read = self._stage(PROCEDURE_FIELDS)
        selects, joins, checks = self._mapping_joins(PROCEDURE_MAPPED)
        self._run(f"""
            CREATE OR REPLACE TEMP TABLE norm_parsed AS
            SELECT r.source_row, r.procedure_code, r.procedure_name, r.field_code, r.field_name, {", ".join(selects)}
            FROM {self.raw_sql} r {" ".join(joins)}
        """)
        checks.append(Check("procedure_code IS NULL", "procedure_code", "'Thiếu mã TTHC'"))
        self._collect_rejects(checks)
        # A code listed twice: the last row wins (a catalogue has no timestamps to compare).
        self.con.execute(f"""
            CREATE OR REPLACE TEMP VIEW norm_ok AS
            SELECT procedure_code, procedure_name, field_code, field_name,
                   coalesce(dvc_level, {_literal(vocab.DVC_LEVEL_DEFAULT)}) AS dvc_level, has_fee, legal_days,
                   true AS from_catalogue
            FROM norm_parsed p
            WHERE NOT EXISTS (SELECT 1 FROM norm_rejects x WHERE x.row_number = p.source_row)
            QUALIFY row_number() OVER (PARTITION BY procedure_code ORDER BY source_row DESC) = 1
        """)
        return self._result(rows_read)

"""Contracts between the readers (bytes -> RawTable) and the import pipeline (RawTable -> DuckDB)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

# Canonical raw columns a reader may emit (all strings, NFC, as exported). Readers emit only the ones
# found; ``source_row`` (int32, 1-based row number in the file as a person sees it) is always present.
RAW_FIELDS: tuple[str, ...] = (
    "dossier_code",  # Mã hồ sơ / Số biên nhận / MaHoSo
    "receiving_unit",  # Đơn vị tiếp nhận / Bộ phận một cửa
    "resolving_unit",  # Đơn vị giải quyết / xử lý / DonViXuLy
    "group_label",  # unit name from an in-body group row (carried down to the rows below it)
    "procedure_code",
    "procedure_name",
    "field_code",
    "field_name",
    "dvc_level",  # Mức độ: 2/3/4, "Mức độ 3", "Toàn trình", "Một phần", ...
    "channel",  # Kênh / Hình thức nộp: 1/2/3, "Trực tuyến", ...
    "online_flag",  # OpenCPS "Trực tuyến": true/false (true -> online, false -> direct) when no channel column
    "submitted_at",
    "received_at",
    "due_at",
    "new_due_at",
    "finished_at",
    "returned_at",
    "supplement_requested_at",
    "supplement_received_at",
    "status",  # Trạng thái: 1..10 or a label
    "time_status",  # Trước hạn / Đúng hạn / Quá hạn ... (kept for checks, never a status)
    "digitized",  # yes/no flags: "Có", "x", "1", "true", "Đã số hóa" ...
    "electronic_result",
    "reused",
    "paid_online",
    "fee",  # Phí (VNĐ)
    "charge",  # Lệ phí (VNĐ)
    "supplement_count",
    "supplement_waiting_days",  # total waiting time of all answered rounds (days), from the DVCQG JSON
    "legal_days",
    "handling_department",  # Phòng ban xử lý / Bộ phận giải quyết (always kept)
    "handling_officer",  # Cán bộ / Người xử lý: an official's name, kept only where the site enables it
    "current_step",  # Bước xử lý hiện tại
    "reappointment_count",  # Số lần hẹn lại (xin lỗi và hẹn lại ngày trả, NĐ 61/2018 Art 19(9))
    "non_territorial",  # Hồ sơ không phụ thuộc địa giới hành chính (flag as exported)
    # Transient, never stored: the administrative tail of the applicant's address ("xã X, tỉnh Y"), cut out
    # of the address inside the reader (house number, street, hamlet dropped there) only to derive
    # ``non_territorial``; the normaliser reads it and no stored column ever receives it.
    "applicant_locality",
)
REQUIRED_FIELDS = ("dossier_code", "received_at")

# A procedure catalogue (danh mục TTHC) file: loaded into ``procedures`` instead of ``dossiers``.
PROCEDURE_FIELDS: tuple[str, ...] = (
    "procedure_code", "procedure_name", "field_code", "field_name", "dvc_level", "has_fee", "legal_days",
)

# Headers that carry personal data: never read into a RawTable, listed in ``RawTable.dropped_pii``.
PII_KINDS = ("applicant_name", "id_number", "phone", "address", "email")


# Why a file failed (``LoadError.reason``, ``FileResult.reason``):
REASONS = (
    "invalid",  # not a readable export (format, header, encoding, no rows ...)
    "too_large",  # file size, inflated size or grid (rows x columns) over the limits of ``loaders.safety``
    "memory",  # the parse ran out of its memory allowance
    "timeout",  # the parse took longer than its time allowance and was stopped
    "crash",  # the parser process died (signal) or failed unexpectedly
)


class LoadError(Exception):
    """A file that cannot be imported at all. ``str()`` is a Vietnamese message naming file/row/column.

    ``reason`` says why in a machine-readable word (``REASONS``), so callers never parse the message;
    ``detail`` is the message without the file/row/column prefix (to re-issue it under another name).
    """

    def __init__(self, message: str, *, file_name: str | None = None, row: int | None = None,
                 column: str | None = None, reason: str = "invalid"):
        self.file_name, self.row, self.column = file_name, row, column
        self.detail, self.reason = message, reason
        where = []
        if file_name:
            where.append(f"tệp '{file_name}'")
        if row is not None:
            where.append(f"dòng {row}")
        if column:
            where.append(f"cột '{column}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass
class RawTable:
    """What a reader found in one file (one sheet)."""

    file_name: str
    format: str  # xlsx | xls | html | spreadsheetml | csv | json
    source: str  # 'local' (one-stop-shop export) | 'dvcqg' (portal sync JSON)
    kind: str  # 'dossiers' (RAW_FIELDS columns) | 'procedures' (PROCEDURE_FIELDS columns)
    table: pa.Table  # string columns named by RAW_FIELDS + int32 source_row
    title_unit: str | None = None  # "ỦY BAN NHÂN DÂN XÃ …" -> "Xã …"
    period_from: date | None = None  # "(Từ ngày 01/01/2023 đến ngày 31/12/2023)"
    period_to: date | None = None
    sheet_name: str | None = None
    header_row: int | None = None  # 1-based
    column_map: dict[str, str] = field(default_factory=dict)  # source header -> raw field
    ignored_columns: list[str] = field(default_factory=list)
    dropped_pii: list[str] = field(default_factory=list)
    skipped_rows: dict[str, int] = field(default_factory=dict)  # title / group / total / blank -> count
    encoding: str | None = None

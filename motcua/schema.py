"""Canonical DuckDB schema (see README "Data model").

One row per dossier in ``dossiers``; personal data (applicant name, ID number, phone, address,
email) has no column anywhere and is dropped by the readers.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

# Dossier identity: a national-format code (TT 01/2018/TT-VPCP Art 19: 000.00.12.H56-250701-0001) names one
# dossier by itself; any other code (a local receipt number '0001/BN') only within its receiving unit.
NATIONAL_CODE_RE = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4,5}$"

# Column order of ``dossiers``; loaders produce exactly these columns.
DOSSIER_COLUMNS: dict[str, str] = {
    "source": "VARCHAR NOT NULL",  # 'local' for one-stop-shop exports, 'dvcqg' for portal sync JSON
    "dossier_code": "VARCHAR NOT NULL",  # mã hồ sơ, as exported (NFC, trimmed)
    "receiving_unit_code": "VARCHAR NOT NULL",  # units.code of the unit that received the dossier
    "resolving_unit_code": "VARCHAR NOT NULL",  # units.code of the resolving unit (= receiving if unknown)
    "procedure_code": "VARCHAR",  # mã TTHC as exported
    "procedure_name": "VARCHAR",
    "field_code": "VARCHAR",  # mã lĩnh vực
    "field_name": "VARCHAR",  # lĩnh vực
    "dvc_level": "VARCHAR NOT NULL",  # toan_trinh | mot_phan | thong_tin | unknown
    "channel": "VARCHAR NOT NULL",  # online | direct | postal (missing -> direct, as QĐ 766 does)
    "submitted_at": "TIMESTAMP",  # ngày nộp
    "received_at": "TIMESTAMP NOT NULL",  # ngày tiếp nhận (clock start)
    "due_at": "TIMESTAMP",  # ngày hẹn trả
    "new_due_at": "TIMESTAMP",  # ngày hẹn trả mới (after apology/extension)
    "finished_at": "TIMESTAMP",  # ngày kết thúc xử lý / có kết quả (also stop/withdraw/refusal time)
    "returned_at": "TIMESTAMP",  # ngày trả kết quả
    "supplement_requested_at": "TIMESTAMP",  # last supplement request
    "supplement_received_at": "TIMESTAMP",  # supplement handed in
    "status": "SMALLINT",  # national status 1-10 (NULL when only a time-status label was exported)
    "status_raw": "VARCHAR",  # label/code exactly as exported
    "has_digitized_components": "BOOLEAN",  # thành phần hồ sơ được số hóa khi tiếp nhận
    "has_electronic_result": "BOOLEAN",  # kết quả điện tử
    "reused_digitized_data": "BOOLEAN",  # tái sử dụng dữ liệu số hóa
    "paid_online": "BOOLEAN",  # thanh toán trực tuyến
    "fee_amount": "BIGINT",  # phí + lệ phí, VND (NULL = unknown, 0 = no fee)
    "supplement_count": "SMALLINT",  # số lần yêu cầu bổ sung
    "legal_days": "DOUBLE",  # thời hạn giải quyết theo quy định (ngày làm việc), if exported
    "state_at": "TIMESTAMP NOT NULL",  # latest timestamp of the record; the newer state wins on upsert
    "import_id": "BIGINT NOT NULL",
    "source_row": "INTEGER",  # 1-based row in the source file (spreadsheet row number)
    # Timeliness as exported (OpenCPS "Hạn xử lý", "Tiến độ", a status column saying "Quá hạn"):
    # truoc_han | dung_han | qua_han | trong_han | tam_dung, NULL when not exported. The KPI engine uses it only
    # where the dates cannot decide (no end date, or no due date).
    "time_status": "VARCHAR",
    # Added in schema version 3 (appended after time_status, so older files gain them by ALTER TABLE in place).
    "handling_department": "VARCHAR",  # phòng ban / bộ phận xử lý (always kept)
    "handling_officer": "VARCHAR",  # cán bộ xử lý: kept only where config/site.toml enables it (motcua.site)
    "current_step": "VARCHAR",  # bước xử lý hiện tại, as exported
    "reappointment_count": "SMALLINT",  # số lần hẹn lại ngày trả (NULL = not exported)
    "non_territorial": "BOOLEAN",  # received regardless of the applicant's commune (NULL = unknown)
    # Total waiting time of every answered supplement round (days), when the export lists the rounds
    # (DVCQG DanhSachHoSoBoSung); NULL: only the last round is known. Appended like the columns above.
    "supplement_waiting_days": "DOUBLE",
}
# Columns a file of an older schema version lacks: added in place by ``create_schema``.
ADDED_COLUMNS = ("time_status", "handling_department", "handling_officer", "current_step", "reappointment_count",
                 "non_territorial", "supplement_waiting_days")

DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS units (
        code VARCHAR PRIMARY KEY,          -- 5-digit GSO commune code, 2-digit province code, or L-... for legacy
        name VARCHAR NOT NULL,             -- 'Xã Tứ Kỳ'
        division_type VARCHAR,             -- xã | phường | đặc khu | tỉnh | thành phố trung ương | legacy ...
        province_code VARCHAR,
        province_name VARCHAR,
        level VARCHAR NOT NULL,            -- 'commune' | 'province'
        in_catalogue BOOLEAN NOT NULL,     -- False: not in the 2025 list (e.g. a pre-1/7/2025 commune)
        successor_code VARCHAR,            -- new unit after the 2025 reorganisation, when known
        fold_name VARCHAR NOT NULL         -- folded name without the type prefix, for matching
    )""",
    # Pre-1/7/2025 units (codes L-…, also in ``units``): where they were and until when. Filled from
    # motcua/data by ``motcua.units.seed_units``.
    """CREATE TABLE IF NOT EXISTS unit_history (
        code VARCHAR PRIMARY KEY,
        district_name VARCHAR,             -- old district ('Huyện Thanh Hà')
        old_province_name VARCHAR,         -- old province ('Tỉnh Hải Dương')
        gso_code VARCHAR,                  -- old GSO code (may equal a NEW code of another unit: never joined on)
        valid_to DATE,                     -- first day it no longer existed (NULL: earlier round, date unknown)
        accents_verified BOOLEAN NOT NULL  -- False: name rebuilt from a folded key (earlier-round alias)
    )""",
    # Many-to-many history: a merged unit has one successor, a split one several (one is the default).
    """CREATE TABLE IF NOT EXISTS unit_lineage (
        from_code VARCHAR NOT NULL,
        to_code VARCHAR NOT NULL,
        effective DATE,                    -- NULL: before 1/7/2025, date not in the source
        is_default BOOLEAN NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS procedures (
        procedure_code VARCHAR PRIMARY KEY,
        procedure_name VARCHAR,
        field_code VARCHAR,
        field_name VARCHAR,
        dvc_level VARCHAR,                 -- toan_trinh | mot_phan | thong_tin | unknown
        has_fee BOOLEAN,
        legal_days DOUBLE,
        from_catalogue BOOLEAN NOT NULL    -- True when imported from a procedure list, False when seen in dossiers
    )""",
    "CREATE SEQUENCE IF NOT EXISTS import_seq START 1",
    """CREATE TABLE IF NOT EXISTS imports (
        import_id BIGINT PRIMARY KEY,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        source VARCHAR,
        unit_code VARCHAR,
        period_from DATE,
        period_to DATE,
        rows_read INTEGER NOT NULL,
        rows_loaded INTEGER NOT NULL,
        rows_rejected INTEGER NOT NULL,
        status VARCHAR NOT NULL,           -- loaded | duplicate_file | failed | replaced (by load --replace)
        message VARCHAR,
        imported_at TIMESTAMP NOT NULL,
        imported_by VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS rejects (
        import_id BIGINT NOT NULL,
        file_name VARCHAR NOT NULL,
        row_number INTEGER,
        column_name VARCHAR,
        raw_value VARCHAR,
        reason VARCHAR NOT NULL
    )""",
    # One row per (source, dossier_code). The single writer keeps that key unique (``loaders.pipeline``:
    # in-file duplicates are rejected, every load is a MERGE on the key) instead of a PRIMARY KEY: its ART
    # index cost 0.1 s per 100k inserted rows and memory on every import, and no query looks rows up by
    # key. Files created before schema version 2 still carry the key; MERGE works on both.
    # Service-index components an admin enters per unit and period (motcua.index_estimate): the ones that
    # need data the exports do not carry (công khai, hài lòng, PAKN, ...).
    """CREATE TABLE IF NOT EXISTS index_inputs (
        unit_code VARCHAR NOT NULL,
        period_from DATE NOT NULL,
        period_to DATE NOT NULL,
        formula_version VARCHAR NOT NULL,  -- portal_2026 | qd766_2022 (never mixed)
        component VARCHAR NOT NULL,        -- motcua.index_estimate.ENTERED_KEYS
        points DOUBLE NOT NULL,
        note VARCHAR,
        entered_by VARCHAR,
        entered_at TIMESTAMP NOT NULL,     -- Vietnam time
        PRIMARY KEY (unit_code, period_from, period_to, formula_version, component)
    )""",
    "CREATE TABLE IF NOT EXISTS dossiers ("
    + ", ".join(f"{name} {sql_type}" for name, sql_type in DOSSIER_COLUMNS.items())
    + ")",
]


def create_schema(con) -> None:
    """Create every table if missing (idempotent); columns added since are appended to older files."""
    for statement in DDL:
        con.execute(statement)
    for name in ADDED_COLUMNS:
        con.execute(f"ALTER TABLE dossiers ADD COLUMN IF NOT EXISTS {name} {DOSSIER_COLUMNS[name]}")
    con.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [str(SCHEMA_VERSION)],
    )

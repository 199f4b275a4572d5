"""Personal data in an export (name, ID number, phone, address, email) never reaches the database."""

from __future__ import annotations

import xlsxwriter

from loaders import pipeline
from motcua import db as dbmod
from motcua.text import fold

HEADER = ["STT", "Mã hồ sơ", "Đơn vị tiếp nhận", "Chủ hồ sơ", "Số CCCD", "Số điện thoại", "Địa chỉ", "Email",
          "Ngày tiếp nhận", "Trạng thái"]
PERSONAL = {
    "name": "Nguyễn Văn Riêngtư",
    "id_number": "001085012345",
    "phone": "0912345678",
    "address": "12 Ngõ Bí Mật, Hà Nội",
    "email": "bimat@example.com",
}


def rows():
    values = list(PERSONAL.values())
    return [
        ["1", "HS-1", "Phường Ba Đình", *values, "01/03/2025", "Đang xử lý"],
        ["2", "HS-2", "Phường Ba Đình", *values, "ngày sai", "Đang xử lý"],  # rejected row
        ["3", "HS-3", "Phường Ba Đình", "Trần Thị Kín", "079190000111", "+84 987 654 321",
         "Số 5 đường Ẩn Danh", "kin@example.vn", "02/03/2025", "4"],
    ]


def write_csv(path):
    lines = [";".join(HEADER)] + [";".join(r) for r in rows()]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def write_xlsx(path):
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Hồ sơ")
    sheet.write_row(0, 0, ["ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH"])
    sheet.write_row(2, 0, HEADER)
    for index, row in enumerate(rows(), start=3):
        sheet.write_row(index, 0, [c.replace("HS-", "XL-") for c in row])
    workbook.close()
    return path


def test_no_personal_data_in_any_text_column(tmp_path):
    db_path = tmp_path / "motcua.duckdb"
    summary = pipeline.import_files([write_csv(tmp_path / "ds.csv"), write_xlsx(tmp_path / "ds.xlsx")],
                                    db_path=db_path)
    assert [f.rows_loaded for f in summary.files] == [2, 2]
    assert [f.rows_rejected for f in summary.files] == [1, 1]

    database = dbmod.Database(db_path)
    columns = database.query_rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema = 'main'")
    assert ("dossiers", "dossier_code") in columns and ("rejects", "raw_value") in columns
    needles = [*PERSONAL.values(), "Trần Thị Kín", "079190000111", "987 654 321", "Ẩn Danh", "kin@example.vn"]
    needles += [fold(n) for n in needles]
    found = []
    for table, column in columns:
        for needle in needles:
            hits = database.query_rows(
                f'SELECT count(*) FROM "{table}" WHERE contains(lower("{column}"), lower(?))', [needle])[0][0]
            if hits:
                found.append((table, column, needle))
    assert found == []


# An independent spelling of the patterns (not ``motcua.pii.PATTERN``), bounded so that codes and hashes
# with long digit runs inside words do not count. RE2 (DuckDB) has no look-around.
_SCAN_PATTERNS = {
    "phone": r"(^|[^0-9A-Za-z])(0|\+84)[0-9 .]{9,13}([^0-9A-Za-z]|$)",
    "id_number": r"(^|[^0-9A-Za-z])([0-9]{12}|[0-9]{9})([^0-9A-Za-z]|$)",
    "email": r"[A-Za-z0-9._-]+@[A-Za-z0-9-]+\.[A-Za-z]",
}
_NOT_TEXT_FROM_FILES = {("imports", "sha256")}  # a hex digest, not text from a file


def _pii_hits(db_path) -> list[tuple]:
    database = dbmod.Database(db_path)
    columns = database.query_rows(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type = 'VARCHAR' AND table_schema = 'main'")
    hits = []
    for table, column in columns:
        if (table, column) in _NOT_TEXT_FROM_FILES:
            continue
        for kind, pattern in _SCAN_PATTERNS.items():
            found = database.query_rows(
                f'SELECT "{column}" FROM "{table}" WHERE regexp_matches("{column}", ?) LIMIT 3', [pattern])
            hits += [(table, column, kind, value) for (value,) in found]
    return hits


def _csv(path, lines):
    path.write_text("\n".join(";".join(cells) for cells in lines) + "\n", encoding="utf-8")
    return path


def test_personal_data_typed_into_kept_columns_is_scrubbed_and_never_becomes_a_unit(tmp_path):
    header = ["STT", "Mã hồ sơ", "Đơn vị tiếp nhận", "Tên thủ tục hành chính", "Ngày tiếp nhận", "Trạng thái"]
    kept = _csv(tmp_path / "giu.csv", [
        header,
        ["1", "HS-1", "Phường Ba Đình", "Chứng thực bản sao", "01/03/2025", "Đang xử lý"],
        ["2", "HS-2", "Ông Trịnh Văn Tư – 0966555444", "Chứng thực bản sao", "01/03/2025", "Đang xử lý"],
        ["3", "HS-3", "Phường Ba Đình", "Khai sinh – gọi 0912.345.678 hoặc a.b@mail.vn", "02/03/2025",
         "Đang xử lý"],
        ["4", "HS-4", "Phường Ba Đình", "Khai sinh", "CCCD 001085012345", "Đang xử lý"],
        ["5", "HS-5", "Phường Ba Đình", "Khai tử", "03/03/2025", "Liên hệ +84 987 654 321"],
    ])
    # No header row at all: the best-scoring row is an applicant's data.
    headerless = _csv(tmp_path / "khong-tieu-de.csv", [
        ["1", "Nguyễn Văn Riêngtư", "0912345678", "001085012345", "bimat@example.com", "01/03/2025"],
        ["2", "Trần Thị Kín", "0987654321", "079190000111", "kin@example.vn", "02/03/2025"],
    ])
    db_path = tmp_path / "kpi.duckdb"
    summary = pipeline.import_files([kept, headerless], db_path=db_path)
    loaded, failed = summary.files
    assert (loaded.rows_loaded, loaded.rows_rejected) == (2, 3)  # unit, date and status rows refused
    assert failed.status == "failed"
    for secret in ("Riêngtư", "Trần Thị Kín", "0912345678", "001085012345", "bimat@"):
        assert secret not in failed.message
    database = dbmod.Database(db_path)
    assert database.query_rows("SELECT count(*) FROM units WHERE name ILIKE '%Trịnh Văn%' OR contains(name, '0966') OR contains(name, 'đã ẩn')")[0][0] == 0
    reasons = dict(database.query_rows("SELECT row_number, reason FROM rejects WHERE file_name = 'giu.csv'"))
    assert "dữ liệu cá nhân" in reasons[3]
    raw = dict(database.query_rows("SELECT row_number, raw_value FROM rejects WHERE file_name = 'giu.csv'"))
    assert raw[3] == "Ông Trịnh Văn Tư – [đã ẩn]" and raw[5] == "CCCD [đã ẩn]" and raw[6] == "Liên hệ [đã ẩn]"
    names = dict(database.query_rows("SELECT dossier_code, procedure_name FROM dossiers"))
    assert names["HS-3"] == "Khai sinh – gọi [đã ẩn] hoặc [đã ẩn]"
    assert _pii_hits(db_path) == []


def test_scan_finds_what_it_looks_for(tmp_path):
    """The scan itself can fail: a database holding a phone in a kept column is caught."""
    db_path = tmp_path / "kpi.duckdb"
    pipeline.import_files([write_csv(tmp_path / "ds.csv")], db_path=db_path)
    with dbmod.write_transaction(db_path) as con:
        con.execute("UPDATE dossiers SET procedure_name = 'gọi 0912345678' WHERE dossier_code = 'HS-1'")
    assert ("dossiers", "procedure_name", "phone") in [hit[:3] for hit in _pii_hits(db_path)]

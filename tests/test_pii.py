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

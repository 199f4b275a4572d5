"""Shared pytest fixtures: small export files built in ``tmp_path`` (xlsx, csv, html, xml, json)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
from collections.abc import Callable, Sequence

import pytest

Cell = object  # str | int | float | datetime | date | None
Merge = tuple[int, int, int, int, str]  # first_row, first_col, last_row, last_col, text (0-based)


def write_xlsx(path: pathlib.Path, sheets: dict[str, Sequence[Sequence[Cell]]],
               merges: dict[str, Sequence[Merge]] | None = None) -> pathlib.Path:
    """Write an .xlsx with xlsxwriter; datetime/date cells become real Excel dates."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    datetime_format = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for col_index, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(row_index, col_index, value, datetime_format)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(row_index, col_index, value, date_format)
                else:
                    sheet.write(row_index, col_index, value)
        for first_row, first_col, last_row, last_col, text in (merges or {}).get(name, ()):
            sheet.merge_range(first_row, first_col, last_row, last_col, text)
    workbook.close()
    return path


def csv_bytes(rows: Sequence[Sequence[Cell]], *, delimiter: str = ";", encoding: str = "utf-8",
              bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def make_file(tmp_path: pathlib.Path) -> Callable[[str, bytes | str], pathlib.Path]:
    """``make_file("a.xls", data)`` -> path in tmp_path (str data is written as UTF-8)."""

    def _make(name: str, data: bytes | str) -> pathlib.Path:
        path = tmp_path / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    return _make


@pytest.fixture
def make_xlsx(tmp_path: pathlib.Path) -> Callable[..., pathlib.Path]:
    def _make(name: str, sheets: dict[str, Sequence[Sequence[Cell]]],
              merges: dict[str, Sequence[Merge]] | None = None) -> pathlib.Path:
        return write_xlsx(tmp_path / name, sheets, merges)

    return _make


@pytest.fixture
def make_csv(tmp_path: pathlib.Path) -> Callable[..., pathlib.Path]:
    def _make(name: str, rows: Sequence[Sequence[Cell]], **options) -> pathlib.Path:
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, **options))
        return path

    return _make


@pytest.fixture
def make_json(tmp_path: pathlib.Path) -> Callable[[str, object], pathlib.Path]:
    def _make(name: str, payload: object) -> pathlib.Path:
        path = tmp_path / name
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        return path

    return _make


# A small dossier list used by several reader tests (header + 3 dossiers, one with an applicant).
DOSSIER_HEADER = ["STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Chủ hồ sơ", "Số điện thoại", "Ngày tiếp nhận",
                  "Ngày hẹn trả", "Trạng thái"]
DOSSIER_ROWS = [
    [1, "000.00.12.H23-230105-0001", "Đăng ký khai sinh", "Nguyễn Văn An", "0912345678", "05/01/2023 08:30",
     "06/01/2023 17:00", "Đã trả kết quả"],
    [2, "000.00.12.H23-230106-0002", "Chứng thực bản sao", "Trần Thị Bình", "0987654321", "06/01/2023 09:00",
     "06/01/2023 11:00", "Đang xử lý"],
    [3, "000.00.12.H23-230107-0003", "Đăng ký kết hôn", "Lê Văn Cường", "0901112223", "07/01/2023 10:15",
     "12/01/2023 17:00", "10"],
]
PII_VALUES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "0912345678", "0987654321", "0901112223")


@pytest.fixture
def dossier_rows() -> list[list[Cell]]:
    return [list(DOSSIER_HEADER), *[list(row) for row in DOSSIER_ROWS]]


@pytest.fixture(autouse=True)
def _config_env_restored(monkeypatch):
    """`--config-dir` exports MOTCUA_CONFIG_DIR/USERS/HOLIDAY_OVERRIDES into os.environ (so the Streamlit child
    and every library call read the same files); undo that after each test so no test leaks a users file."""
    import os

    for variable in ("MOTCUA_CONFIG_DIR", "MOTCUA_USERS", "MOTCUA_HOLIDAY_OVERRIDES", "MOTCUA_TARGETS",
                     "MOTCUA_SITE"):
        if variable not in os.environ:
            monkeypatch.setenv(variable, "")  # records "absent" so teardown removes what a test sets
            monkeypatch.delenv(variable)

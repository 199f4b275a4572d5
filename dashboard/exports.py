"""CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly) and XLSX bytes of a numeric frame.

The download holds exactly the columns a table or chart shows, with the same Vietnamese headers, but
numbers stay numbers: XLSX cells get the number formats from ``motcua.fmt`` (Excel then shows them
with the reader's separators).

Imported text is attacker-controlled: every CSV/XLSX goes through ``motcua.safe_export`` (text cells and
headers that a spreadsheet would run as a formula get a leading apostrophe) and xlsxwriter never turns
strings into formulas, links or numbers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd
import xlsxwriter

from motcua.fmt import EXCEL_DATE_FORMAT, EXCEL_DATETIME_FORMAT, EXCEL_INT_FORMAT, EXCEL_PCT_FORMAT
from motcua.safe_export import XLSXWRITER_OPTIONS, neutralize_formulas, neutralize_value

# Column kinds understood by both the display formatter (components) and the XLSX writer.
KINDS = ("text", "int", "pct", "num", "date", "datetime")


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8-BOM CSV; rates stay fractions with a dot decimal (machine readable)."""
    safe = neutralize_formulas(frame)
    return safe.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S").encode("utf-8-sig")


def _excel_value(value, kind: str):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind in ("date", "datetime"):
        return pd.Timestamp(value).to_pydatetime()
    if kind == "int":
        return int(value)
    if kind in ("pct", "num"):
        return float(value)
    return str(value)


def to_xlsx_bytes(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None, *, sheet_name: str = "Dữ liệu",
                  title: str | None = None) -> bytes:
    """One sheet: optional title line (the chart/table caption), bold header, typed cells, frozen header."""
    kinds = dict(kinds or {})
    # Kinds by position: neutralising may prefix a header with "'", the kinds map uses the original names.
    column_kinds = [kinds.get(name) or _guess_kind(frame[name]) for name in frame.columns]
    frame = neutralize_formulas(frame)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True, **XLSXWRITER_OPTIONS})
    formats = {
        "int": book.add_format({"num_format": EXCEL_INT_FORMAT}),
        "pct": book.add_format({"num_format": EXCEL_PCT_FORMAT}),
        "num": book.add_format({"num_format": "#,##0.00"}),
        "date": book.add_format({"num_format": EXCEL_DATE_FORMAT}),
        "datetime": book.add_format({"num_format": EXCEL_DATETIME_FORMAT}),
        "text": None,
    }
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
    sheet = book.add_worksheet(sheet_name[:31])
    row = 0
    if title:
        sheet.write_string(0, 0, neutralize_value(title), book.add_format({"bold": True}))
        row = 2
    columns = list(frame.columns)
    for col, (name, kind) in enumerate(zip(columns, column_kinds, strict=True)):
        sheet.write_string(row, col, neutralize_value(str(name)), header)
        width = max(10, min(60, len(str(name)) + 2))
        sheet.set_column(col, col, width)
        for offset, value in enumerate(frame.iloc[:, col].tolist(), start=1):
            cell = _excel_value(value, kind)
            if cell is None:
                sheet.write_blank(row + offset, col, None)
            elif isinstance(cell, str):
                sheet.write_string(row + offset, col, neutralize_value(cell))
            elif kind in ("date", "datetime"):
                sheet.write_datetime(row + offset, col, cell, formats[kind])
            else:
                sheet.write_number(row + offset, col, cell, formats[kind])
    sheet.freeze_panes(row + 1, 0)
    if len(frame):
        sheet.autofilter(row, 0, row + len(frame), max(0, len(columns) - 1))
    book.close()
    return buffer.getvalue()


def _guess_kind(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "num"
    return "text"

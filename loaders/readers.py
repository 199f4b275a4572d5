"""Readers: an exported file (bytes) -> one ``RawTable`` per sheet/table holding a dossier list.

The pipeline calls exactly ``read_file(path, file_name=...)``. Formats are sniffed from the bytes, never
from the extension. Every reader produces a grid of text cells; ``loaders.headers`` finds the header,
the title metadata and the body rows, so all formats share one set of rules. Personal-data columns
(applicant, ID number, phone, address, email) are recognised by their header and never copied: the
CSV parser does not even convert them, the other grids replace them by nulls before any cleaning.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from loaders.headers import (
    HEADER_SCAN_ROWS,
    HeaderMatch,
    build_body,
    detect_header,
    parse_title,
    realign_short_rows,
)
from loaders.model import LoadError, RawTable
from loaders.sniff import SNIFF_BYTES, sniff_format
from motcua.text import nfc

SUPPORTED = "Excel (.xlsx, .xls), HTML lưu dạng .xls, XML Spreadsheet 2003, CSV, JSON đồng bộ DVCQG"


@dataclass
class SheetGrid:
    """One sheet/table as text cells: the first rows for header detection plus a body loader."""

    name: str | None
    head_rows: list[list[str | None]]
    # (first body row (0-based), personal-data columns to leave unread as nulls) -> cells, row numbers
    load_body: Callable[[int, frozenset[int]], tuple[pa.Table, np.ndarray]]
    excel_numbers: bool = False  # numbers came from numeric cells: "1.0" -> "1" for code/flag columns
    encoding: str | None = None
    text_is_clean: bool = False  # cells known to be NFC without odd whitespace (CSV scanned as a whole)
    # Cells each grid row really had (HTML: a body row may lack a <td> the header has); None: not known.
    row_widths: np.ndarray | None = None
    # Tables of one document (HTML): a table without a header before the data table is its title.
    title_tables: bool = False


def read_file(path: pathlib.Path, *, file_name: str | None = None) -> list[RawTable]:
    """Read every dossier list / procedure catalogue in ``path``; raise ``LoadError`` if there is none."""
    path = pathlib.Path(path)
    name = file_name or path.name
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as error:
        raise LoadError(f"không đọc được tệp ({_os_reason(error)}).", file_name=name) from error
    _check_safety(path, name)
    kind = sniff_format(head)
    if kind == "empty":
        raise LoadError("tệp rỗng, không có dữ liệu.", file_name=name)
    if kind == "unknown":
        raise LoadError(f"không nhận ra định dạng tệp. Hỗ trợ: {SUPPORTED}.", file_name=name)
    if kind == "json":
        from loaders.read_json import read_dvcqg_json

        return [read_dvcqg_json(path, name)]
    sheets = _GRID_READERS[kind](path, name)
    return tables_from_sheets(sheets, file_name=name, file_format=kind)


def _os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "không tồn tại"
    if isinstance(error, PermissionError):
        return "không có quyền đọc"
    if isinstance(error, IsADirectoryError):
        return "đây là thư mục, không phải tệp"
    return error.strerror or type(error).__name__


def _check_safety(path: pathlib.Path, name: str) -> None:
    """Size and zip-bomb limits (``loaders.safety``) before any parser touches the bytes."""
    from loaders.safety import check_file

    try:
        check_file(path, file_name=name)  # errors name the file as the user knows it
    except (OSError, EOFError, ValueError) as error:  # e.g. zipfile.BadZipFile from a damaged container
        raise LoadError(f"tệp bị hỏng, không đọc được ({error}).", file_name=name) from error


def tables_from_sheets(sheets: list[SheetGrid], *, file_name: str, file_format: str,
                       source: str = "local") -> list[RawTable]:
    """Header detection + body extraction for every sheet; sheets without a table are skipped."""
    tables: list[RawTable] = []
    errors: list[tuple[int, LoadError]] = []
    title_rows: list[list[str | None]] = []  # text of the header-less tables above (HTML title tables)
    for sheet in sheets:
        if not any(any(row) for row in sheet.head_rows):
            continue
        try:
            match = detect_header(sheet.head_rows, file_name=file_name)
        except LoadError as error:
            errors.append((getattr(error, "header_hits", 0), _with_sheet(error, sheet, len(sheets), file_name)))
            if sheet.title_tables:
                title_rows += sheet.head_rows
            continue
        tables.append(_sheet_table(sheet, match, file_name=file_name, file_format=file_format, source=source,
                                   title_rows=title_rows))
        title_rows = []
    if any(table.table.num_rows for table in tables):
        return [table for table in tables if table.table.num_rows]
    if tables:
        first = tables[0]
        raise LoadError("chỉ có dòng tiêu đề, không có dòng hồ sơ nào.", file_name=file_name,
                        row=first.header_row)
    if errors:
        # The table that looked most like a dossier list explains the failure, not a title table.
        raise max(errors, key=lambda item: item[0])[1]
    raise LoadError("tệp không có dữ liệu (mọi trang tính đều trống).", file_name=file_name)


def _with_sheet(error: LoadError, sheet: SheetGrid, sheet_count: int, file_name: str) -> LoadError:
    if sheet_count <= 1 or not sheet.name:
        return error
    return LoadError(f"trang tính '{sheet.name}': {error.detail}", file_name=file_name, row=error.row,
                     column=error.column, reason=error.reason)


def _sheet_table(sheet: SheetGrid, match: HeaderMatch, *, file_name: str, file_format: str,
                 source: str, title_rows: list[list[str | None]] | None = None) -> RawTable:
    title = parse_title([*(title_rows or []), *sheet.head_rows[: match.first_row]])
    body, rows = _load_body(sheet, match, file_name)
    header_row = sheet.head_rows[match.last_row]
    header_texts = {index: nfc(text) for index, text in enumerate(header_row) if text}
    result = build_body(body, rows, match, header_texts=header_texts, excel_numbers=sheet.excel_numbers,
                        text_is_clean=sheet.text_is_clean)
    return RawTable(
        file_name=file_name, format=file_format, source=source, kind=match.kind, table=result.table,
        title_unit=title.unit, period_from=title.period_from, period_to=title.period_to,
        sheet_name=sheet.name, header_row=match.header_row,
        column_map={nfc(label): result.retyped.get(raw, raw) for label, raw in match.column_map.items()},
        ignored_columns=[nfc(label) for label in match.ignored_columns],
        dropped_pii=[nfc(label) for label in match.dropped_pii],
        skipped_rows={"title": match.first_row, **result.skipped_rows} if match.first_row
        else result.skipped_rows,
        encoding=sheet.encoding,
    )


def _load_body(sheet: SheetGrid, match: HeaderMatch, file_name: str) -> tuple[pa.Table, np.ndarray]:
    """Body cells with personal-data columns blanked; rows one cell short of the header realigned first.

    The address column alone stays readable to ``build_body``, which keeps only its administrative tail."""
    pii = frozenset(match.pii_columns) - {match.address_column}
    widths = sheet.row_widths
    start = match.last_row + 1
    if widths is None or len(widths) <= start:
        return sheet.load_body(start, pii)
    header_width = int(widths[match.first_row: start].max())
    body_widths = widths[start:]
    if not ((body_widths >= 2) & (body_widths < header_width)).any():
        return sheet.load_body(start, pii)
    body, rows = sheet.load_body(start, frozenset())
    first_row_number = int(rows[0]) if len(rows) else start + 1
    body = realign_short_rows(body, body_widths, header_width, match, file_name=file_name,
                              first_row_number=first_row_number)
    return blank_out(body, pii), rows


# ---------------------------------------------------------------------------------------------------
# Shared grid helpers


def head_cell(value: object) -> str | None:
    """A header-area cell: NFC, spaces collapsed per line (line breaks kept for title parsing)."""
    if value is None:
        return None
    lines = [nfc(line) for line in str(value).splitlines()]
    text = "\n".join(line for line in lines if line)
    return text or None


def arrow_grid_sheet(table: pa.Table, name: str | None, *, row_offset: int = 0, excel_numbers: bool = False,
                     encoding: str | None = None, row_widths: list[int] | None = None,
                     title_tables: bool = False) -> SheetGrid:
    """A sheet whose whole grid is already an Arrow table of string columns (row i = file row i+1+offset)."""
    head_part = table.slice(0, HEADER_SCAN_ROWS).to_pydict()
    columns = list(head_part.values())
    head_rows = [[head_cell(column[index]) for column in columns] for index in range(min(table.num_rows,
                                                                                        HEADER_SCAN_ROWS))]

    def load_body(start: int, blank_columns: frozenset[int]) -> tuple[pa.Table, np.ndarray]:
        rows = np.arange(start, table.num_rows, dtype=np.int64) + 1 + row_offset
        return blank_out(table.slice(start), blank_columns), rows

    return SheetGrid(name=name, head_rows=head_rows, load_body=load_body, excel_numbers=excel_numbers,
                     encoding=encoding, title_tables=title_tables,
                     row_widths=None if row_widths is None else np.asarray(row_widths, dtype=np.int32))


def blank_out(table: pa.Table, columns: frozenset[int]) -> pa.Table:
    """Replace the given columns by nulls (personal data: dropped, positions kept for the header map)."""
    for index in sorted(columns):
        if index < table.num_columns:
            table = table.set_column(index, table.field(index), pa.nulls(table.num_rows, pa.string()))
    return table


def rows_to_arrow(rows: list[list[str | None]]) -> pa.Table:
    """Ragged Python rows -> Arrow table of string columns c0..cN (missing cells are null)."""
    width = max((len(row) for row in rows), default=0)
    columns = [[row[index] if index < len(row) else None for row in rows] for index in range(width)]
    return pa.table({f"c{index}": pa.array(column, type=pa.string()) for index, column in enumerate(columns)})


# ---------------------------------------------------------------------------------------------------
# Excel (xlsx / BIFF xls) via fastexcel


def _read_excel(path: pathlib.Path, name: str) -> list[SheetGrid]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        sheet_names = reader.sheet_names
    except Exception as error:  # fastexcel raises its own error tree for zip/BIFF corruption
        raise LoadError(f"tệp Excel bị hỏng hoặc không đầy đủ, không mở được ({_short(error)}).",
                        file_name=name) from error
    sheets = []
    for index, sheet_name in enumerate(sheet_names):
        try:
            # skip_rows=0 keeps leading blank rows so row numbers match what Excel shows. Eager loading
            # builds the Arrow batch inside the parse (one pass less) and runs without the GIL.
            batch = reader.load_sheet(index, header_row=None, dtypes="string", skip_rows=0, eager=True)
            table = pa.Table.from_batches([batch])
        except Exception as error:
            raise LoadError(f"trang tính '{sheet_name}' bị hỏng, không đọc được ({_short(error)}).",
                            file_name=name) from error
        sheets.append(arrow_grid_sheet(table, sheet_name, excel_numbers=True))
    return sheets


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _read_html_file(path: pathlib.Path, name: str) -> list[SheetGrid]:
    from loaders.read_markup import read_html

    return read_html(path, name)


def _read_spreadsheetml_file(path: pathlib.Path, name: str) -> list[SheetGrid]:
    from loaders.read_markup import read_spreadsheetml

    return read_spreadsheetml(path, name)


def _read_csv_file(path: pathlib.Path, name: str) -> list[SheetGrid]:
    from loaders.read_csv import read_csv

    return [read_csv(path, name)]


_GRID_READERS: dict[str, Callable[[pathlib.Path, str], list[SheetGrid]]] = {
    "xlsx": _read_excel,
    "xls": _read_excel,
    "html": _read_html_file,
    "spreadsheetml": _read_spreadsheetml_file,
    "csv": _read_csv_file,
}

__all__ = ["SheetGrid", "arrow_grid_sheet", "blank_out", "head_cell", "read_file", "rows_to_arrow", "tables_from_sheets"]

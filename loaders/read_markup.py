"""Markup "Excel" exports: HTML tables saved as .xls and SpreadsheetML 2003 XML.

Both are parsed with lxml without executing or fetching anything (scripts dropped, no entities, no
network). Merged cells behave like Excel's: a ``colspan``/``MergeAcross`` value sits in its first cell
only (the header detector forward-fills parent labels); HTML ``rowspan`` text is repeated downwards.
"""

from __future__ import annotations

import pathlib
import re

from lxml import etree

from loaders.model import LoadError
from loaders.readers import SheetGrid, arrow_grid_sheet, rows_to_arrow
from loaders.safety import MAX_SPAN, check_grid
from loaders.sniff import detect_text_encoding

_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w-]+)", re.IGNORECASE)
SS_NS = "urn:schemas-microsoft-com:office:spreadsheet"


def _decode_html(data: bytes) -> tuple[str, str]:
    declared = _META_CHARSET_RE.search(data[:4096])
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        charset = declared.group(1).decode("ascii").lower()
        if charset in ("windows-1258", "cp1258"):
            return data.decode("cp1258", errors="replace"), "cp1258"
    return detect_text_encoding(data)


def _cell_text(cell) -> str | None:
    text = "".join(cell.itertext()).strip()
    return text or None


def _span(cell, attribute: str) -> int:
    value = cell.get(attribute)
    if value is None:
        return 1
    try:
        return max(1, min(int(value), MAX_SPAN))
    except ValueError:
        return 1


def _table_rows(table, *, file_name: str, sheet: str | None = None) -> list[list[str | None]]:
    """Expand a <table> into a grid: colspan text in its first column, rowspan text repeated downwards.

    A rowspan is kept as one record (first column, width, last row, text), not as one entry per covered
    cell, and the grid size is checked before each row is built: 7 KB of ``colspan=1000 rowspan=1000``
    cells would otherwise ask for hundreds of millions of cells."""
    for line_break in table.iter("br"):  # <br> inside a cell separates lines, not words
        line_break.tail = "\n" + (line_break.tail or "")
    grid: list[list[str | None]] = []
    carried: dict[int, tuple[int, int, str | None]] = {}  # first column -> (colspan, last row, text)
    width, tall = 0, 0
    for row_index, tr in enumerate(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")):
        row: list[str | None] = []
        for start in [start for start, (_, last_row, _) in carried.items() if last_row < row_index]:
            del carried[start]  # a span whose columns the rows below never reached
        cells = [cell for cell in tr if cell.tag in ("td", "th")]
        planned = sum(_span(cell, "colspan") for cell in cells) + sum(span for span, _, _ in carried.values())
        tall = max(tall, row_index + 1, *(last + 1 for _, last, _ in carried.values()))
        width = max(width, planned)
        check_grid(tall, width, file_name=file_name, sheet=sheet)
        for cell in cells:
            _fill_carried(row, carried, row_index)
            text = _cell_text(cell)
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            if rowspan > 1:
                carried[len(row)] = (colspan, row_index + rowspan - 1, text)
            # Like Excel merged cells: the text sits in the first column of a colspan only, so a group row
            # ("UBND xã ...", colspan=8) keeps its dossier-code cell empty.
            row.append(text)
            row.extend([None] * (colspan - 1))
        _fill_carried(row, carried, row_index)
        grid.append(row)
    return grid


def _fill_carried(row: list[str | None], carried: dict[int, tuple[int, int, str | None]], row_index: int) -> None:
    """Append the cells that rowspans from rows above cover at the current end of ``row``."""
    while (start := len(row)) in carried:
        colspan, last_row, text = carried.pop(start)
        row.append(text)
        row.extend([None] * (colspan - 1))
        if last_row > row_index:
            carried[start] = (colspan, last_row, text)


def _text_before(table) -> list[list[str | None]]:
    """Title lines written above the table (<h3>, <p>, <div> ...) up to the previous table, one per row."""
    blocks: list[str] = []
    node, stop = table, False
    while node is not None and node.tag not in ("body", "html") and not stop:
        for sibling in node.itersiblings(preceding=True):  # nearest first
            if not isinstance(sibling.tag, str):
                continue  # comments, processing instructions
            if sibling.tag == "table" or sibling.find(".//table") is not None:
                stop = True
                break
            blocks.insert(0, "".join(sibling.itertext()))
        node = node.getparent()
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [[line] for line in lines if line]


def read_html(path: pathlib.Path, name: str) -> list[SheetGrid]:
    text, encoding = _decode_html(path.read_bytes())
    text = _XML_DECL_RE.sub("", text.lstrip("\ufeff"))
    # Plain etree elements (not lxml.html's element classes): several times faster on big exports.
    parser = etree.HTMLParser(no_network=True, remove_comments=True, huge_tree=True)
    try:
        document = etree.fromstring(text, parser)
    except (etree.ParserError, ValueError) as error:
        raise LoadError(f"tệp HTML hỏng, không đọc được ({error}).", file_name=name) from error
    if document is None:
        raise LoadError("tệp HTML (lưu dạng .xls) không có bảng dữ liệu (<table>).", file_name=name)
    for element in document.xpath("//script|//style|//noscript"):
        element.getparent().remove(element)  # never executed anyway; their text must not become cells
    tables = document.xpath("//table[not(.//table)]")  # leaf tables: layout tables only wrap them
    if not tables:
        raise LoadError("tệp HTML (lưu dạng .xls) không có bảng dữ liệu (<table>).", file_name=name)
    sheets = []
    for index, table in enumerate(tables, start=1):
        label = f"Bảng {index}" if len(tables) > 1 else None
        rows = _text_before(table) + _table_rows(table, file_name=name, sheet=label)
        sheets.append(arrow_grid_sheet(rows_to_arrow(rows), label, encoding=encoding,
                                       row_widths=[len(row) for row in rows], title_tables=True))
    return sheets


# ---------------------------------------------------------------------------------------------------
# SpreadsheetML 2003


def _ss(name: str) -> str:
    return f"{{{SS_NS}}}{name}"


def _ss_index(element, default: int) -> int:
    value = element.get(_ss("Index"))
    try:
        return int(value) - 1 if value else default
    except ValueError:
        return default


def _data_text(cell) -> str | None:
    data = cell.find(_ss("Data"))
    if data is None:
        return None
    text = "".join(data.itertext()).strip()
    if not text:
        return None
    kind = data.get(_ss("Type"), "String")
    if kind == "DateTime":
        # "2024-01-05T08:30:00.000" -> "2024-01-05 08:30:00", the text real Excel dates become.
        return text.replace("T", " ").split(".")[0]
    if kind == "Boolean":
        return "true" if text in ("1", "true", "True") else "false"
    return text


def _worksheet_rows(table, *, file_name: str, sheet: str | None) -> list[list[str | None]]:
    """The sheet's grid. ``ss:Index`` may jump anywhere (512 bytes can ask for 30 million rows), so the
    cells are collected sparse first and the grid size is checked before the rows are built."""
    sparse: list[tuple[int, list[tuple[int, str | None, int]]]] = []  # (row, [(column, text, merge)])
    row_index, width = -1, 0
    for row_element in table.iterfind(_ss("Row")):
        row_index = max(_ss_index(row_element, row_index + 1), row_index + 1)
        cells, column = [], -1
        for cell in row_element.iterfind(_ss("Cell")):
            column = max(_ss_index(cell, column + 1), column + 1)
            merge = _merge_across(cell)
            cells.append((column, _data_text(cell), merge))
            column += merge
        width = max(width, column + 1)
        check_grid(row_index + 1, width, file_name=file_name, sheet=sheet)
        sparse.append((row_index, cells))
    rows: list[list[str | None]] = [[] for _ in range(row_index + 1)]
    for index, cells in sparse:
        row = rows[index]
        for column, text, merge in cells:
            row.extend([None] * (column - len(row)))
            row.append(text)
            row.extend([None] * merge)
    return rows


def _merge_across(cell) -> int:
    try:
        return max(0, min(int(cell.get(_ss("MergeAcross"), "0") or 0), MAX_SPAN))
    except ValueError:
        return 0


def read_spreadsheetml(path: pathlib.Path, name: str) -> list[SheetGrid]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as error:
        raise LoadError(f"tệp XML hỏng, không đọc được ({error}).", file_name=name,
                        row=getattr(error, "lineno", None)) from error
    sheets = []
    for worksheet in root.iterfind(_ss("Worksheet")):
        table = worksheet.find(_ss("Table"))
        if table is None:
            continue
        sheet_name = worksheet.get(_ss("Name"))
        rows = _worksheet_rows(table, file_name=name, sheet=sheet_name)
        sheets.append(arrow_grid_sheet(rows_to_arrow(rows), sheet_name, excel_numbers=True))
    if not sheets:
        raise LoadError("tệp XML Spreadsheet không có trang tính nào có bảng.", file_name=name)
    return sheets

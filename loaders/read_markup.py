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
        return max(1, min(int(value), 1000))
    except ValueError:
        return 1


def _table_rows(table) -> list[list[str | None]]:
    """Expand a <table> into a grid: colspan text in its first column, rowspan text repeated downwards."""
    for line_break in table.iter("br"):  # <br> inside a cell separates lines, not words
        line_break.tail = "\n" + (line_break.tail or "")
    grid: list[list[str | None]] = []
    carried: dict[tuple[int, int], str | None] = {}  # (row, column) -> text from a rowspan above
    for row_index, tr in enumerate(table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")):
        row: list[str | None] = []
        column = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (row_index, column) in carried:
                row.append(carried.pop((row_index, column)))
                column += 1
            text = _cell_text(cell)
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            for offset in range(colspan):
                # Like Excel merged cells: the text sits in the first column of a colspan only, so a
                # group row ("UBND xã ...", colspan=8) keeps its dossier-code cell empty.
                row.append(text if offset == 0 else None)
                for below in range(1, rowspan):
                    carried[(row_index + below, column + offset)] = text if offset == 0 else None
            column += colspan
        while (row_index, column) in carried:
            row.append(carried.pop((row_index, column)))
            column += 1
        grid.append(row)
    return grid


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
        rows = _text_before(table) + _table_rows(table)
        label = f"Bảng {index}" if len(tables) > 1 else None
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


def _worksheet_rows(table) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for row_element in table.iterfind(_ss("Row")):
        row_index = _ss_index(row_element, len(rows))
        while len(rows) < row_index:
            rows.append([])
        row: list[str | None] = []
        for cell in row_element.iterfind(_ss("Cell")):
            column = _ss_index(cell, len(row))
            while len(row) < column:
                row.append(None)
            row.append(_data_text(cell))
            merge = int(cell.get(_ss("MergeAcross"), "0") or 0)
            row.extend([None] * max(0, min(merge, 1000)))
        rows.append(row)
    return rows


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
        rows = _worksheet_rows(table)
        sheets.append(arrow_grid_sheet(rows_to_arrow(rows), worksheet.get(_ss("Name")), excel_numbers=True))
    if not sheets:
        raise LoadError("tệp XML Spreadsheet không có trang tính nào có bảng.", file_name=name)
    return sheets

"""CSV exports: encoding + delimiter sniffing on the header area, body parsed by ``pyarrow.csv``.

Speed matters (1M-row files): the text is decoded and NFC-normalised once in Python only when needed,
the header is found on the first lines with the stdlib ``csv`` module, then the body is parsed in one
``pyarrow.csv`` call with every column as string. Rows keep their physical line numbers.
"""

from __future__ import annotations

import csv
import io
import pathlib
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loaders.headers import HEADER_SCAN_ROWS, detect_header
from loaders.model import LoadError
from loaders.readers import SheetGrid, blank_out, head_cell, rows_to_arrow
from loaders.safety import check_grid
from loaders.sniff import may_be_non_nfc, needs_space_folding

DELIMITERS = (";", ",", "\t", "|")
HEAD_BYTES = 4 * 1024 * 1024  # header area read with the stdlib parser (a 1M-character title cell fits)
BOM = b"\xef\xbb\xbf"


def _nfc_utf8(text: str) -> bytes:
    return unicodedata.normalize("NFC", text).encode("utf-8")


def read_without_bom(path: pathlib.Path) -> tuple[bytes, bool]:
    """File bytes without a UTF-8 BOM (skipped by seeking: no copy of a big file), and whether it had one."""
    with path.open("rb") as handle:
        has_bom = handle.read(len(BOM)) == BOM
        if not has_bom:
            handle.seek(0)
        return handle.read(), has_bom


def decode_to_utf8(data: bytes, *, had_bom: bool = False) -> tuple[bytes, str]:
    """UTF-8 (BOM or not), UTF-16 (BOM) or Windows-1258 -> NFC UTF-8 bytes without BOM, encoding name.

    Fast path for big NFC UTF-8 files: only the head is decoded; the body is validated by pyarrow
    (``read_csv`` falls back to cp1258 if it is not UTF-8) and scanned for combining-mark bytes.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _nfc_utf8(data.decode("utf-16")), "utf-16"
    encoding = "utf-8-sig" if had_bom else "utf-8"
    if data.startswith(BOM):
        data, encoding = data[len(BOM):], "utf-8-sig"
    try:
        _head_text(data, HEADER_SCAN_ROWS + 10, errors="strict")
    except UnicodeDecodeError:
        return decode_legacy(data)
    if may_be_non_nfc(data):
        text = data.decode("utf-8", errors="replace")
        if not unicodedata.is_normalized("NFC", text):
            return _nfc_utf8(text), encoding
    return data, encoding


def decode_legacy(data: bytes) -> tuple[bytes, str]:
    """Bytes that are not valid UTF-8: Windows-1258, unless it is UTF-8 with a few damaged bytes.

    A real cp1258 file has almost no valid multi-byte UTF-8 sequences, a damaged UTF-8 file has many.
    """
    data = data.removeprefix(BOM)
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    valid_non_ascii = len(text) - len(text.encode("ascii", errors="ignore")) - damaged
    if valid_non_ascii > damaged:
        return _nfc_utf8(text), "utf-8"  # damaged bytes become U+FFFD, the rest stays readable
    # Windows-1258 spells tones as combining marks: NFC turns them into composed letters.
    return _nfc_utf8(data.decode("cp1258", errors="replace")), "cp1258"


def _head_text(data: bytes, max_lines: int, errors: str = "replace") -> str:
    """The first ``max_lines`` lines, at most ``HEAD_BYTES`` (a file of one endless line stays cheap)."""
    end = 0
    for _ in range(max_lines):
        found = data.find(b"\n", end, HEAD_BYTES)
        if found < 0:
            end = min(len(data), HEAD_BYTES)
            break
        end = found + 1
    while 0 < end < len(data) and 0x80 <= data[end] < 0xC0:
        end -= 1  # never cut a UTF-8 sequence: the strict decode decides the encoding
    return data[:end].decode("utf-8", errors=errors)


def _parse_head(head: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Records of the head and, for each, the number of physical lines consumed after it."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    records, line_ends = [], []
    try:
        for record in reader:
            records.append(record)
            line_ends.append(reader.line_num)
    except csv.Error:
        pass  # a quoted field cut by the head limit: the rows read so far are enough to find the header
    return records, line_ends


def _choose_delimiter(head: str, file_name: str) -> tuple[str, list[list[str]], list[int]]:
    best: tuple[int, str, list[list[str]], list[int]] | None = None
    fallback: tuple[int, str, list[list[str]], list[int]] | None = None
    for delimiter in DELIMITERS:
        records, line_ends = _parse_head(head, delimiter)
        head_rows = [[head_cell(cell) for cell in record] for record in records]
        width = max((len(record) for record in records), default=0)
        if fallback is None or width > fallback[0]:
            fallback = (width, delimiter, records, line_ends)
        try:
            match = detect_header(head_rows, file_name=file_name)
        except LoadError:
            continue
        if best is None or len(match.columns) > best[0]:
            best = (len(match.columns), delimiter, records, line_ends)
    chosen = best or fallback
    assert chosen is not None
    return chosen[1], chosen[2], chosen[3]


def read_csv(path: pathlib.Path, name: str) -> SheetGrid:
    raw, had_bom = read_without_bom(path)
    data, encoding = decode_to_utf8(raw, had_bom=had_bom)
    del raw  # the fast path returns the same object; a transcoded copy frees the original here
    head = _head_text(data, HEADER_SCAN_ROWS + 10)
    delimiter, records, line_ends = _choose_delimiter(head, name)
    records, line_ends = records[:HEADER_SCAN_ROWS], line_ends[:HEADER_SCAN_ROWS]
    width = max((len(record) for record in records), default=0)
    check_grid(len(records), width, file_name=name)
    head_rows = [[head_cell(cell) for cell in record] for record in records]
    grid = SheetGrid(name=None, head_rows=head_rows, load_body=lambda start, skip: (pa.table({}), np.array([])),
                     encoding=encoding, text_is_clean=not needs_space_folding(data, delimiter))

    def load_body(start: int, blank_columns: frozenset[int]) -> tuple[pa.Table, np.ndarray]:
        nonlocal data
        first_line = line_ends[start - 1] if start > 0 else 0  # physical lines before the body
        try:
            table, rows, exact = _parse_body(data, first_line, delimiter, width, name, blank_columns)
        except _NotUtf8:
            # The head was UTF-8 but the body is not: the whole file is Windows-1258.
            data, grid.encoding = decode_legacy(path.read_bytes())
            grid.text_is_clean = not needs_space_folding(data, delimiter)
            table, rows, exact = _parse_body(data, first_line, delimiter, width, name, blank_columns)
        if not exact:
            grid.text_is_clean = False  # quoted cells may hold line breaks: fold them like other spaces
            header = head_rows[start - 1] if start > 0 else []
            _check_swallowed_records(table, rows, delimiter, max(width, 1), name, header)
        return table, rows

    grid.load_body = load_body
    return grid


class _NotUtf8(Exception):
    pass


def _line_offset(data: bytes, lines: int) -> int:
    offset = 0
    for _ in range(lines):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset


def _parse_body(data: bytes, first_line: int, delimiter: str, width: int, name: str,
                blank_columns: frozenset[int] = frozenset()) -> tuple[pa.Table, np.ndarray, bool]:
    """Body cells, physical line numbers, and whether the fast one-line-per-row path applied."""
    offset = _line_offset(data, first_line)
    lines = data.count(b"\n", offset) + (0 if data.endswith(b"\n") or offset >= len(data) else 1)
    check_grid(lines, width, file_name=name)  # before pyarrow allocates the columns
    names = [f"c{index}" for index in range(max(width, 1))]
    # Personal-data columns are tokenised but never converted: their text never reaches Arrow memory.
    wanted = [column for index, column in enumerate(names) if index not in blank_columns] or names[:1]
    buffer = pa.py_buffer(data).slice(offset)
    try:
        parsed = pacsv.read_csv(
            pa.BufferReader(buffer),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(wanted, pa.string()), include_columns=wanted, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        if "utf8" in str(error).lower():
            raise _NotUtf8 from error
        # Ragged rows or line breaks inside quoted cells: the stdlib parser accepts both.
        return (*_parse_body_python(data[offset:], first_line, delimiter, name, blank_columns), False)
    table = pa.table({column: parsed.column(column) if column in parsed.column_names
                      else pa.nulls(parsed.num_rows, pa.string()) for column in names})
    if table.num_rows == lines:
        return table, np.arange(table.num_rows, dtype=np.int64) + first_line + 1, True
    # Blank lines or line breaks inside quoted cells: recover physical line numbers with the stdlib.
    starts = _record_start_lines(data[offset:], first_line, delimiter)
    if len(starts) == table.num_rows:
        return table, starts, False
    return (*_parse_body_python(data[offset:], first_line, delimiter, name, blank_columns), False)


def _record_start_lines(body: bytes, first_line: int, delimiter: str) -> np.ndarray:
    reader = csv.reader(io.StringIO(body.decode("utf-8", errors="replace"), newline=""), delimiter=delimiter)
    starts, previous_end = [], 0
    for record in reader:
        if record:
            starts.append(first_line + previous_end + 1)
        previous_end = reader.line_num
    return np.array(starts, dtype=np.int64)


def _parse_body_python(body: bytes, first_line: int, delimiter: str, name: str,
                       blank_columns: frozenset[int]) -> tuple[pa.Table, np.ndarray]:
    reader = csv.reader(io.StringIO(body.decode("utf-8", errors="replace"), newline=""), delimiter=delimiter)
    rows: list[list[str | None]] = []
    starts: list[int] = []
    previous_end = 0
    try:
        for record in reader:
            if record:
                rows.append([cell if cell != "" else None for cell in record])
                starts.append(first_line + previous_end + 1)
            previous_end = reader.line_num
    except csv.Error as error:
        # In practice one '"' that is never closed: the parser reads the rest of the file as one cell.
        raise LoadError(f"dấu ngoặc kép (\") mở ở dòng {first_line + previous_end + 1} không được đóng, nên mọi "
                        "dòng sau đó bị gộp vào một ô; không nạp tệp để không mất dòng nào. Hãy xoá hoặc đóng "
                        "dấu ngoặc kép đó rồi nạp lại.", file_name=name,
                        row=first_line + previous_end + 1) from error
    return blank_out(rows_to_arrow(rows), blank_columns), np.array(starts, dtype=np.int64)


def _check_swallowed_records(table: pa.Table, rows: np.ndarray, delimiter: str, width: int, name: str,
                             header: list[str | None]) -> None:
    """Refuse the file when a quoted cell holds whole records (a stray '"' opened it).

    A real multi-line cell (an address, a note) holds a few words per line; a cell opened by a stray
    quote holds the next lines of the file with their delimiters. Those records would otherwise vanish
    from the count without a reject, so the file is refused naming the row and column of the quote.
    """
    needed = max(2, (width - 1) // 2)
    for index, column in enumerate(table.columns):
        if not pa.types.is_string(column.type):
            continue
        hits = pc.indices_nonzero(pc.fill_null(pc.match_substring(column, "\n"), False)).to_pylist()
        for position in hits:
            text = column[position].as_py().rstrip("\n")
            swallowed = [line for line in text.split("\n")[1:] if line.count(delimiter) >= needed]
            if swallowed:
                label = header[index] if index < len(header) and header[index] else f"cột {index + 1}"
                raise LoadError(f"dấu ngoặc kép (\") trong ô này gộp {text.count(chr(10))} dòng tiếp theo "
                                f"vào một ô (đến dòng {int(rows[position]) + text.count(chr(10))}); không nạp tệp "
                                "để không mất dòng nào. Hãy xoá hoặc đóng dấu ngoặc kép đó rồi nạp lại.",
                                file_name=name, row=int(rows[position]), column=label)

"""Limits for untrusted input files: upload size/type, zip bombs, oversized cells.

Uploaded files are only ever *parsed* (never executed, never opened by their own name): ``save_upload``
stores the bytes under a fresh private temp directory with a sanitised name. Call ``check_file`` before
a reader touches a file (size, and for zip containers such as xlsx the inflated size read from the zip
directory *and* verified by streaming inflation, since a hostile directory can lie about sizes).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

from loaders.model import LoadError


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _env_mb(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default)) * 1024 * 1024
    except ValueError:
        return default * 1024 * 1024


# Upload / file limits (MB values overridable by env for a big provincial import).
MAX_FILE_BYTES = _env_mb("MOTCUA_MAX_FILE_MB", 500)
MAX_UPLOAD_BYTES = _env_mb("MOTCUA_MAX_UPLOAD_MB", 200)  # keep in step with server.maxUploadSize
MAX_UNCOMPRESSED_BYTES = _env_mb("MOTCUA_MAX_UNCOMPRESSED_MB", 4096)  # all members of one xlsx together
# Grid limits, checked before a reader allocates the grid: rows x columns of one sheet/table. A cell costs
# ~50 bytes in Arrow and ~100 in the Excel parser, so these keep the parse of any accepted file near 1 GB.
MAX_GRID_CELLS = _env_int("MOTCUA_MAX_GRID_CELLS", 20_000_000)  # CSV, HTML, XML Spreadsheet, JSON
MAX_XLSX_CELLS = _env_int("MOTCUA_MAX_XLSX_CELLS", 8_000_000)  # xlsx/xls: about 400k rows x 20 columns
MAX_GRID_COLUMNS = 2_000  # exports have 10-60 columns; Excel allows 16,384
MAX_SPAN = 1_000  # HTML colspan/rowspan, XML MergeAcross
MAX_COMPRESSION_RATIO = 150  # real xlsx sheets inflate 5-30x; deflate bombs 1000x+
RATIO_CHECK_MIN_BYTES = 16 * 1024 * 1024  # tiny members may compress extremely well (empty styles)
MAX_ZIP_MEMBERS = 5_000
MAX_CELL_CHARS = 32_767  # Excel's own cell limit; longer cells are cut and the row is flagged
ALLOWED_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".csv", ".txt", ".tsv", ".json", ".html", ".htm", ".xml")

_INFLATE_CHUNK = 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _fmt_mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB".replace(",", ".")


def check_extension(file_name: str) -> None:
    if not file_name.lower().endswith(ALLOWED_EXTENSIONS):
        raise LoadError(f"loại tệp không được hỗ trợ; chỉ nhận {', '.join(ALLOWED_EXTENSIONS)}.",
                        file_name=os.path.basename(file_name))


def check_size(path: str | os.PathLike, limit: int = MAX_FILE_BYTES, *, file_name: str | None = None) -> int:
    name = file_name or Path(path).name
    size = os.path.getsize(path)
    if size > limit:
        raise LoadError(f"tệp quá lớn ({_fmt_mb(size)}, giới hạn {_fmt_mb(limit)}).", file_name=name,
                        reason="too_large")
    if size == 0:
        raise LoadError("tệp rỗng (0 byte).", file_name=name)
    return size


def check_zip_bomb(path: str | os.PathLike, *, max_total: int = MAX_UNCOMPRESSED_BYTES,
                   max_ratio: float = MAX_COMPRESSION_RATIO, deep: bool = True, file_name: str | None = None) -> None:
    """Refuse a zip container (xlsx) that would inflate beyond the limits. No-op for other files.

    The central directory is checked first (instant). With ``deep`` every member is then really inflated
    in 1 MB steps, without keeping the output, and stopped as soon as a limit is passed, because the
    directory's sizes are written by whoever made the file.
    """
    name = file_name or Path(path).name
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_directory(name, members, max_total, max_ratio)
            if deep:
                with open(path, "rb") as handle:
                    _check_inflated(name, handle, members, max_total, max_ratio)
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError) as exc:
        raise LoadError(f"tệp nén (xlsx) hỏng hoặc bị cắt cụt: {exc}.", file_name=name) from exc


def _bomb(name: str, detail: str) -> LoadError:
    return LoadError(f"tệp bị từ chối vì giải nén ra quá lớn ({detail}); có thể là tệp độc hại "
                     "(zip bomb). Hãy xuất lại tệp từ hệ thống một cửa.", file_name=name, reason="too_large")


def _fmt_count(count: int) -> str:
    return f"{count:,}".replace(",", ".")


def check_grid(rows: int, columns: int, *, file_name: str, sheet: str | None = None,
               limit: int | None = None) -> None:
    """Refuse a grid of ``rows`` x ``columns`` cells over the limits, before anything is allocated for it."""
    limit = MAX_GRID_CELLS if limit is None else limit
    if columns <= MAX_GRID_COLUMNS and rows * columns <= limit:
        return
    where = f"trang tính '{sheet}' có " if sheet else "bảng có "
    raise LoadError(f"{where}{_fmt_count(rows)} dòng × {_fmt_count(columns)} cột, vượt giới hạn "
                    f"{_fmt_count(limit)} ô và {_fmt_count(MAX_GRID_COLUMNS)} cột; có thể là tệp độc hại. "
                    "Hãy xuất lại tệp hoặc chia thành nhiều tệp nhỏ hơn.", file_name=file_name, reason="too_large")


def _check_directory(name: str, members: list[zipfile.ZipInfo], max_total: int, max_ratio: float) -> None:
    if len(members) > MAX_ZIP_MEMBERS:
        raise _bomb(name, f"{len(members)} thành phần")
    total = sum(m.file_size for m in members)
    if total > max_total:
        raise _bomb(name, f"{_fmt_mb(total)} > {_fmt_mb(max_total)}")
    for member in members:
        if member.file_size >= RATIO_CHECK_MIN_BYTES and member.file_size > max_ratio * max(member.compress_size, 1):
            raise _bomb(name, f"'{member.filename}' nén {member.file_size // max(member.compress_size, 1)} lần")


def _check_inflated(name: str, handle, members: list[zipfile.ZipInfo], max_total: int, max_ratio: float) -> None:
    total = 0
    for member in members:
        scan = _SheetScan(name, member.filename) if _is_worksheet(member.filename) else None
        if member.compress_type == zipfile.ZIP_STORED:
            total += member.compress_size
            if scan:
                handle.seek(member.header_offset)
                with zipfile.ZipFile(handle).open(member) as stored:
                    for chunk in iter(lambda: stored.read(_INFLATE_CHUNK), b""):
                        scan.feed(chunk)
        elif member.compress_type == zipfile.ZIP_DEFLATED:
            total += _inflated_size(name, handle, member, max_total - total, max_ratio, scan)
        else:
            raise LoadError(f"kiểu nén không hỗ trợ ({member.compress_type}) ở '{member.filename}'.", file_name=name)
        if total > max_total:
            raise _bomb(name, f"hơn {_fmt_mb(max_total)}")


def _is_worksheet(member_name: str) -> bool:
    return member_name.startswith("xl/worksheets/") and member_name.endswith(".xml")


_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?"')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


class _SheetScan:
    """Grid limits of one xlsx worksheet, read from its XML while it is inflated anyway (bomb check).

    The declared ``<dimension ref="A1:XFD1048576">`` is the grid the Excel parser allocates (5 KB of XML
    can declare 17 billion cells), and the number of ``<c`` elements bounds the cells it stores."""

    def __init__(self, file_name: str, member_name: str):
        self.file_name, self.member_name = file_name, member_name
        self.cells, self.head = 0, b""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < 65536:
            self.head += chunk[:65536]
            found = _DIMENSION_RE.search(self.head)
            if found and found.group(3):
                rows = int(found.group(4)) - int(found.group(2)) + 1
                columns = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
                self._check(max(rows, 1), max(columns, 1))
                self.head = b"x" * 65536  # checked: stop looking
        self.cells += chunk.count(b"<c")  # <c r=..>, <c> and <c/> (a few <col> too: an upper bound)
        if self.cells > MAX_XLSX_CELLS:
            raise LoadError(f"trang tính ('{self.member_name}') có hơn {_fmt_count(MAX_XLSX_CELLS)} ô, vượt giới "
                            "hạn cho tệp Excel; có thể là tệp độc hại. Hãy xuất CSV hoặc chia thành nhiều tệp.",
                            file_name=self.file_name, reason="too_large")

    def _check(self, rows: int, columns: int) -> None:
        check_grid(rows, columns, file_name=self.file_name, limit=MAX_XLSX_CELLS)


def _inflated_size(name: str, handle, member: zipfile.ZipInfo, budget: int, max_ratio: float,
                   scan: _SheetScan | None = None) -> int:
    handle.seek(member.header_offset)
    header = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    if header[0] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {member.filename}")
    handle.seek(header[-2] + header[-1], os.SEEK_CUR)  # skip file name + extra field
    inflater = zlib.decompressobj(-15)
    left, produced = member.compress_size, 0
    while left > 0 and not inflater.eof:
        chunk = handle.read(min(_INFLATE_CHUNK, left))
        if not chunk:
            raise EOFError(f"'{member.filename}' bị cắt cụt")
        left -= len(chunk)
        data = chunk
        while data and not inflater.eof:
            output = inflater.decompress(data, _INFLATE_CHUNK)
            produced += len(output)
            if scan:
                scan.feed(output)
            data = inflater.unconsumed_tail
            read_so_far = member.compress_size - left
            if produced > budget:
                raise _bomb(name, f"'{member.filename}' vượt giới hạn tổng")
            if produced >= RATIO_CHECK_MIN_BYTES and produced > max_ratio * max(read_so_far, 1):
                raise _bomb(name, f"'{member.filename}' nén hơn {int(max_ratio)} lần")
    return produced


def check_file(path: str | os.PathLike, file_name: str | None = None) -> None:
    """Every check a reader needs before parsing an untrusted file (``file_name``: the name users know)."""
    check_size(path, file_name=file_name)
    check_zip_bomb(path, file_name=file_name)


_UNSAFE_NAME_RE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_file_name(file_name: str) -> str:
    """Base name only (no directories, no '..', no control characters), keeping Vietnamese letters."""
    base = os.path.basename(file_name.replace("\\", "/")).strip().lstrip(".")
    base = _UNSAFE_NAME_RE.sub("_", base)[:150]
    return base or "tep-tai-len"


def save_upload(file_name: str, data: bytes, directory: str | os.PathLike | None = None) -> Path:
    """Write an uploaded file into a new private temp directory and return its path (checks first).

    The caller parses it and deletes the directory (``shutil.rmtree(path.parent)``) when done.
    """
    name = safe_file_name(file_name)
    check_extension(name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise LoadError(f"tệp tải lên quá lớn ({_fmt_mb(len(data))}, giới hạn {_fmt_mb(MAX_UPLOAD_BYTES)}).",
                        file_name=name)
    folder = Path(tempfile.mkdtemp(prefix="motcua-upload-", dir=directory))
    target = folder / name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        check_file(target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target

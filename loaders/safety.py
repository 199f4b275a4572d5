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


def _env_mb(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default)) * 1024 * 1024
    except ValueError:
        return default * 1024 * 1024


# Upload / file limits (MB values overridable by env for a big provincial import).
MAX_FILE_BYTES = _env_mb("MOTCUA_MAX_FILE_MB", 500)
MAX_UPLOAD_BYTES = _env_mb("MOTCUA_MAX_UPLOAD_MB", 200)  # keep in step with server.maxUploadSize
MAX_UNCOMPRESSED_BYTES = _env_mb("MOTCUA_MAX_UNCOMPRESSED_MB", 4096)  # all members of one xlsx together
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
        raise LoadError(f"tệp quá lớn ({_fmt_mb(size)}, giới hạn {_fmt_mb(limit)}).", file_name=name)
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
                     "(zip bomb). Hãy xuất lại tệp từ hệ thống một cửa.", file_name=name)


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
        if member.compress_type == zipfile.ZIP_STORED:
            total += member.compress_size
        elif member.compress_type == zipfile.ZIP_DEFLATED:
            total += _inflated_size(name, handle, member, max_total - total, max_ratio)
        else:
            raise LoadError(f"kiểu nén không hỗ trợ ({member.compress_type}) ở '{member.filename}'.", file_name=name)
        if total > max_total:
            raise _bomb(name, f"hơn {_fmt_mb(max_total)}")


def _inflated_size(name: str, handle, member: zipfile.ZipInfo, budget: int, max_ratio: float) -> int:
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
            produced += len(inflater.decompress(data, _INFLATE_CHUNK))
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

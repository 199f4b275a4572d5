"""Recognise an export's real format from its first bytes (extensions lie: HTML saved as .xls ...)."""

from __future__ import annotations

import re

import numpy as np

SNIFF_BYTES = 4096

_HTML_START_RE = re.compile(rb"^(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|table|meta|style|title|div)\b",
                            re.IGNORECASE | re.DOTALL)


def _text_head(head: bytes) -> bytes:
    """The head without BOM and leading whitespace, as ASCII-compatible bytes (UTF-16 decoded)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        head = head[2:len(head) - (len(head) % 2)].decode(encoding, errors="replace").encode("utf-8")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def sniff_format(head: bytes) -> str:
    """One of xlsx, xls, html, spreadsheetml, json, csv, empty, unknown."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    text = _text_head(head)
    if not text:
        return "empty"
    lowered = text[:1024].lower()
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<workbook"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head.lower() or b"mso-application" in lowered:
            return "spreadsheetml"
        return "html" if b"<html" in lowered or b"<table" in lowered else "unknown"
    if _HTML_START_RE.match(lowered):
        return "html"
    if lowered[:1] in (b"{", b"["):
        return "json"
    return "csv" if _looks_like_text(head) else "unknown"


def _looks_like_text(head: bytes) -> bool:
    """Text files have no NUL bytes (UTF-16 aside) and few control characters."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13, 12))
    return controls <= max(2, len(head) // 100)


def detect_text_encoding(data: bytes) -> tuple[str, str]:
    """Decode export text: UTF-8 (with/without BOM), UTF-16 with BOM, else Windows-1258.

    Returns (text, encoding name). cp1258 yields base letters + combining tone marks: callers NFC it.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1258", errors="replace"), "cp1258"


# UTF-8 lead bytes of combining marks U+0300..U+037F: NFD / cp1258 Vietnamese always contains them.
_COMBINING_LEADS = (b"\xcc", b"\xcd")
# Byte sequences that need whitespace folding in cells (line breaks, NBSP, zero-width space, stray BOM).
_ODD_SPACES = (b"\n", b"\r", b"\x0c", b"\xc2\xa0", b"\xe2\x80\x8b", b"\xef\xbb\xbf")


def may_be_non_nfc(data: bytes) -> bool:
    """Cheap byte scan: False means the UTF-8 text has no combining marks, so it is NFC already."""
    return any(data.find(lead) >= 0 for lead in _COMBINING_LEADS)


def _contains(data: bytes, pattern: bytes) -> bool:
    # memchr on the (rare) lead byte first: multi-byte ``find`` is several times slower on big files.
    return data.find(pattern[:1]) >= 0 and data.find(pattern) >= 0


def _has_double_space(data: bytes) -> bool:
    # "  " at an even or odd offset, checked as 16-bit words (one vectorised pass each).
    if len(data) < 2:
        return False
    pairs = 0x2020
    even = np.frombuffer(data, dtype=np.uint16, count=len(data) // 2)
    odd = np.frombuffer(data, dtype=np.uint16, offset=1, count=(len(data) - 1) // 2)
    return bool((even == pairs).any() or (odd == pairs).any())


def needs_space_folding(data: bytes, delimiter: str | None = None) -> bool:
    """Whether any cell text in ``data`` may hold tabs, line breaks, NBSP, zero-width or double spaces.

    ``delimiter``/line breaks of a CSV body are structure, not cell content: pass the delimiter for a
    CSV body (its line breaks are then ignored too); pass None for concatenated cell texts.
    """
    odd = _ODD_SPACES if delimiter is None else _ODD_SPACES[2:]
    if delimiter != "\t" and data.find(b"\t") >= 0:
        return True
    return any(_contains(data, pattern) for pattern in odd) or _has_double_space(data)


__all__ = ["SNIFF_BYTES", "detect_text_encoding", "may_be_non_nfc", "needs_space_folding", "sniff_format"]

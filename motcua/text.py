"""Vietnamese text normalisation shared by loaders, unit matching and the UI."""

from __future__ import annotations

import re
import unicodedata

_SPACE_RE = re.compile(r"[\s\u00a0\u200b\ufeff]+")
_FOLD_SEP_RE = re.compile(r"[\s/\\_\-–—.,;:()\[\]'\"`*‘’]+")


def nfc(value: object) -> str:
    """Return the cell as NFC text with single spaces (None -> "")."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACE_RE.sub(" ", text).strip()


def fold(value: object) -> str:
    """Matching key: no diacritics, đ->d, lower case, punctuation/space runs folded to one space.

    Works the same for NFC and NFD input, so "Phường Đức Thuận", "PHUONG DUC THUAN" and an
    NFD-encoded copy all fold to "phuong duc thuan".
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFD", str(value))
    text = text.replace("\u0111", "d").replace("\u0110", "D")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return _FOLD_SEP_RE.sub(" ", text).strip().lower()


def slug(value: object) -> str:
    """ASCII file-name-safe slug ("Xã Tứ Kỳ" -> "xa-tu-ky")."""
    return fold(value).replace(" ", "-") or "x"

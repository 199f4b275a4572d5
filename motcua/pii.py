"""Personal-data patterns (phone, ID number, email) scrubbed from every text the database keeps.

Columns of personal data are dropped by their header (``loaders.headers``). This catches the rest: a phone
number typed into a unit cell, a CCCD in a procedure name, a data row echoed into an error message. One
pattern serves Python (``re``) and DuckDB (RE2, no look-around), so bulk text is scrubbed in SQL.

- phone: ``0`` or ``+84``/``84`` and 8-10 more digits, spaces, dots or dashes allowed between them
  (0912345678, 0912.345.678, +84 987 654 321);
- ID number: a standalone run of 9 (CMND) or 12 (CCCD) digits;
- email: ``name@domain.tld``.
"""

from __future__ import annotations

import re

MASK = "[đã ẩn]"
_PHONE = r"(?:\+84|\b84|\b0)(?:[ .\-]?[0-9]){8,10}\b"
_ID_NUMBER = r"\b(?:[0-9]{12}|[0-9]{9})\b"
# Bounded repeats: an unbounded local part makes Python's backtracking quadratic on a 1M-character cell.
_EMAIL = r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,8}"
PATTERN = f"{_EMAIL}|{_PHONE}|{_ID_NUMBER}"  # RE2- and re-compatible
_RE = re.compile(PATTERN, re.ASCII)


def contains_pii(text: str | None) -> bool:
    return bool(text) and _RE.search(text) is not None


def scrub(text: str | None) -> str | None:
    """``text`` with every phone, ID number and email replaced by ``MASK``."""
    if not text:
        return text
    return _RE.sub(MASK, text)


def scrub_sql(expression: str) -> str:
    """A DuckDB expression: ``expression`` scrubbed (NULL stays NULL)."""
    return f"regexp_replace({expression}, '{PATTERN}', '{MASK}', 'g')"


__all__ = ["MASK", "PATTERN", "contains_pii", "scrub", "scrub_sql"]

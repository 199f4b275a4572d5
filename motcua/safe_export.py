"""Spreadsheet formula-injection defence for CSV/XLSX downloads and report annexes.

Imported cells are attacker-controlled (a procedure name such as ``=HYPERLINK("http://…")`` or
``@SUM(1+1)*cmd|' /C calc'!A0`` would run when an official opens the CSV in Excel). Every text cell that
a spreadsheet could read as a formula gets a leading apostrophe, the OWASP-recommended neutraliser.
Real numbers stay numbers, and text that is *only* a number ("-2,5", "+3%") is left alone: a bare number
cannot execute anything and the minus sign of a formatted delta must stay readable.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Full-width look-alikes that some spreadsheet versions normalise to ASCII before parsing.
_WIDE_TRIGGERS = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?\d[\d.,\s\u00a0]*(?:%|\s?điểm %)?")
_DASHES_RE = re.compile(r"-{1,3}")
# A spreadsheet set to another list separator splits an unquoted cell ``x;=1+1`` into ``x`` and ``=1+1``:
# every piece after a separator is checked like a cell of its own.
_SEPARATORS_RE = re.compile(r"([;,\t|])")

# Pass to ``xlsxwriter.Workbook(path, XLSXWRITER_OPTIONS)`` (or pandas ``engine_kwargs={"options": …}``):
# by default xlsxwriter turns strings starting with "=" into live formulas and text into links.
XLSXWRITER_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def is_dangerous(text: str) -> bool:
    """Would a spreadsheet treat this text cell as a formula (or a DDE payload)?"""
    stripped = text.lstrip(" \u00a0")
    if not stripped:
        return text[:1] in ("\t", "\r", "\n")
    if not stripped.startswith(FORMULA_TRIGGERS + _WIDE_TRIGGERS) and not text.startswith(FORMULA_TRIGGERS):
        return False
    # A bare number, or a dash placeholder for "no data", cannot execute anything.
    return not (_PLAIN_NUMBER_RE.fullmatch(stripped) or _DASHES_RE.fullmatch(stripped))


def neutralize_value(value):
    """The value to write: dangerous strings get a leading apostrophe (also each piece after a ``;`` ``,``
    tab or ``|`` that would start a formula once split), everything else is unchanged."""
    if not isinstance(value, str):
        return value
    if is_dangerous(value):
        value = "'" + value
    if not _SEPARATORS_RE.search(value):
        return value
    parts = _SEPARATORS_RE.split(value)  # text, separator, text, separator, …
    for index in range(2, len(parts), 2):
        if parts[index] and is_dangerous(parts[index]):
            parts[index] = "'" + parts[index]
    return "".join(parts)


def _neutralize_labels(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return pd.MultiIndex.from_tuples([tuple(neutralize_value(v) for v in t) for t in labels],
                                         names=labels.names)
    return pd.Index([neutralize_value(v) for v in labels], name=labels.name)


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to write as CSV/XLSX (header and index labels included).

    Numeric, boolean and datetime columns are untouched; text, object and categorical columns are
    neutralised cell by cell (numbers inside object columns keep their type).
    """
    result = frame.copy()
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if _is_text_like(series):
            result.isetitem(position, series.astype(object).map(neutralize_value))
    result.columns = _neutralize_labels(frame.columns)
    if not isinstance(frame.index, pd.RangeIndex):
        result.index = _neutralize_labels(frame.index)
    return result


def _is_text_like(series: pd.Series) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)

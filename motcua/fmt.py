"""Vietnamese number/date formatting: the only place that turns numbers into text.

Data stays numeric until shown: ``1277 -> '1.277'``, ``0.8825 -> '88,25%'``, dates ``dd/mm/yyyy``.
Excel keeps numbers with the number formats below (Excel shows them with the reader's separators).
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime

import pandas as pd

EXCEL_INT_FORMAT = "#,##0"
EXCEL_PCT_FORMAT = "0.00%"
EXCEL_DATE_FORMAT = "dd/mm/yyyy"
EXCEL_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
PLOTLY_SEPARATORS = ",."  # decimal comma, dot thousands
NA = "–"


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value) -> str:
    """1277 -> '1.277'; None -> '–'."""
    if _missing(value):
        return NA
    return f"{int(round(value)):,}".replace(",", ".")


def fmt_count(value) -> str:
    """Counts in official prose: two digits below ten ('05'), dotted thousands otherwise."""
    if _missing(value):
        return NA
    number = int(round(value))
    return f"{number:02d}" if 0 <= number < 10 else fmt_int(number)


def fmt_num(value, decimals: int = 2) -> str:
    """3.14159 -> '3,14'."""
    if _missing(value):
        return NA
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def fmt_pct(value, decimals: int = 2) -> str:
    """A fraction 0..1 -> '88,25%'; None (empty denominator) -> '–'."""
    if _missing(value):
        return NA
    return fmt_num(value * 100, decimals) + "%"


def fmt_date(value) -> str:
    """dd/mm/yyyy."""
    if _missing(value) or value == "":
        return NA
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.strftime("%d/%m/%Y") if isinstance(value, date | datetime) else str(value)


def fmt_datetime(value) -> str:
    """dd/mm/yyyy HH:MM."""
    if _missing(value) or value == "":
        return NA
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value.strftime("%d/%m/%Y %H:%M")


def fmt_delta_pct_points(value) -> str:
    """Change of a rate in percentage points: 0.0123 -> '+1,23 điểm %'."""
    if _missing(value):
        return NA
    sign = "+" if value > 0 else ""
    return f"{sign}{fmt_num(value * 100)} điểm %"


NO_DATA = "không có dữ liệu"


def fmt_coverage(coverage: dict | None) -> str:
    """'có dữ liệu cho 1.277/3.182 hồ sơ' ('' when every dossier in scope has the value or none is in scope)."""
    if not coverage or not coverage.get("denominator") or coverage["numerator"] >= coverage["denominator"]:
        return ""
    return f"có dữ liệu cho {fmt_int(coverage['numerator'])}/{fmt_int(coverage['denominator'])} hồ sơ"


def fmt_rate_coverage(value, coverage: dict | None) -> str:
    """'88,25%', '88,25% (có dữ liệu cho 1.277/3.182 hồ sơ)' or 'không có dữ liệu' (never '0,00%' for no data)."""
    if _missing(value):
        return NO_DATA if coverage and coverage.get("denominator") else NA
    note = fmt_coverage(coverage)
    return fmt_pct(value) + (f" ({note})" if note else "")


# ---------------------------------------------------------------- text from data or uploads
# Unit and procedure names, file names, header cells, URL parameters and messages quoting them are
# attacker-controlled. Streamlit renders Markdown (images, links, ``:red[…]``, ``:material/…:``, LaTeX) in
# st.markdown/caption/error/…; Plotly renders a subset of HTML (``<a href>``, ``<b>``) in titles, axis
# labels and hover texts. Such text goes through ``md`` or ``plotly_text`` and is then shown literally.

# Characters that open inline Markdown anywhere in a line: emphasis, code, links and images (``[``),
# raw HTML (``<``), strikethrough, ``$…$`` LaTeX, ``:red[…]`` / ``:material/…:`` directives and ``{…}``
# attributes. Number punctuation (``1.277``, ``88,25%``) and parentheses (harmless once ``[``/``]`` are
# escaped) stay as they are, so captions keep reading naturally in the Markdown source too.
_MD_INLINE_RE = re.compile(r"([\\`*_{}\[\]<>!~:$|])")
# Block markers only count at the start of the text (line breaks are removed first): "# …", "- …",
# "1. …", "> …".
_MD_BLOCK_START_RE = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
# GFM turns bare URLs, ``www.`` and e-mail addresses into links *after* unescaping and Streamlit replaces
# ``:name:`` shortcodes in the text, so a WORD JOINER (invisible, no line break) splits those patterns.
_WORD_JOINER = "\u2060"
_LINE_BREAKS_RE = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def md(text) -> str:
    """``text`` (from data or uploads) as Markdown that Streamlit shows literally, on one line."""
    if text is None:
        return ""
    plain = _LINE_BREAKS_RE.sub(" ", str(text))
    escaped = _MD_INLINE_RE.sub(r"\\\1", plain)
    escaped = _MD_BLOCK_START_RE.sub(lambda m: m[1] + ("\\" + m[2] if not m[2].isdigit() else m[2] + "\\"),
                                     escaped, count=1)
    escaped = escaped.replace("\\:", "\\:" + _WORD_JOINER).replace("@", "@" + _WORD_JOINER)
    return re.sub(r"(?i)(w)(ww\.)", "\\1" + _WORD_JOINER + "\\2", escaped)


def plotly_text(text) -> str:
    """``text`` for a Plotly title, axis category, legend name or hover template: HTML tags and
    ``%{…}`` template fields shown literally (Plotly decodes the entities when it draws)."""
    if text is None:
        return ""
    return html.escape(str(text), quote=False).replace("%{", "%&#123;")


def fmt_reappointed(reappointed, count=None) -> str:
    """Re-appointment (xin lỗi, hẹn lại ngày trả): 'Có', 'Không', or 'Có (2 lần – quá 1 lần)' when the export
    counts more than the one NĐ 61/2018 Art 19(9) allows."""
    if count is not None and not _missing(count) and int(count) > 1:
        return f"Có ({int(count)} lần – quá 1 lần)"
    return "Có" if not _missing(reappointed) and bool(reappointed) else "Không"

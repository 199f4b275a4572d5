"""The view <-> URL query parameters, as pure functions (no Streamlit): a shared link carries the view.

``decode(params)`` reads what a link says and returns Vietnamese warnings for whatever it cannot use
(the page then keeps its defaults); ``encode(view)`` writes the parameters back. Settings come from
``motcua.settings.SETTINGS``, so a new setting reaches the URL without code here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from motcua import periods
from motcua.settings import Settings, from_params, to_params

_CUSTOM_CODE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})$")
# Custom ranges a link may carry: the data lives between 2000 and a few years ahead; anything wider is a
# typo or an attack (``?period=0001-01-01_9999-12-31``) and would only produce a useless, huge trend.
EARLIEST, LATEST_YEARS_AHEAD = date(2000, 1, 1), 5
# Page-level view parameters (the page validates the values against its own choices): the compared
# metric, the open chart tab, the drill-down selection ("by:key:bucket") and the table sort.
PAGE_PARAMS = ("metric", "tab", "by", "drill", "sort")
_PAGE_VALUE = re.compile(r"^[^\x00-\x1f<>]{1,200}$")


@dataclass
class UrlView:
    """What a URL says: units as written (codes or names), period, calendar and changed settings."""

    units: list[str] = field(default_factory=list)
    calendar: str | None = None
    period: periods.Period | None = None
    settings: dict[str, object] = field(default_factory=dict)
    page: dict[str, str] = field(default_factory=dict)  # PAGE_PARAMS present in the link (raw, checked later)


def _first(params: Mapping, key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def _all(params: Mapping, key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def parse_period_code(code: str, calendar: str) -> periods.Period | None:
    """A period code (``2026Q3``) or a custom range (``2026-01-01_2026-03-31``); None when invalid."""
    match = _CUSTOM_CODE.match(code)
    try:
        if match:
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if start < EARLIEST or end.year > date.today().year + LATEST_YEARS_AHEAD:
                return None
            return periods.custom_period(start, end, calendar)
        return periods.parse_period(code, calendar)
    except ValueError:
        return None


def decode(params: Mapping) -> tuple[UrlView, list[str]]:
    """``params``: query parameters (a value or a list of values per key)."""
    view = UrlView()
    view.settings, warnings = from_params({key: _first(params, key) for key in params
                                          if key not in PAGE_PARAMS})
    for key in PAGE_PARAMS:
        value = _first(params, key)
        if value is None:
            continue
        if _PAGE_VALUE.match(value):
            view.page[key] = value
        else:
            warnings.append(f"Tham số '{key}' trong đường dẫn không hợp lệ; đang dùng mặc định.")
    view.calendar = view.settings.pop("calendar", None)  # the calendar belongs with the period
    view.units = [u.strip() for value in _all(params, "unit") for u in value.split(",") if u.strip()]
    code = _first(params, "period")
    if code:
        view.period = parse_period_code(code, view.calendar or "calendar")
        if view.period is None:
            warnings.append(f"Kỳ '{code}' trong đường dẫn không hợp lệ; đang dùng kỳ mặc định.")
    return view, warnings


def encode(unit_codes: list[str], period: periods.Period, settings: Settings) -> dict[str, str | list[str]]:
    """Query parameters of a view (settings only where they differ from the defaults; calendar always)."""
    params: dict[str, str | list[str]] = {}
    if unit_codes:
        params["unit"] = list(unit_codes)
    params["period"] = period.code
    params.update(to_params(settings, include_defaults=("calendar",)))
    return params

"""Dashboard/report scope: which units, fields, procedures, channels and service levels are counted.

A `Scope` turns into parameterised SQL only (values always travel as parameters, never inside the SQL
text) plus a Vietnamese caption for titles: "Xã Tứ Kỳ; lĩnh vực Hộ tịch; kênh trực tuyến".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from motcua.db import query_df

CHANNEL_LABELS = {"online": "trực tuyến", "direct": "trực tiếp", "postal": "bưu chính công ích"}
LEVEL_LABELS = {
    "toan_trinh": "Toàn trình",
    "mot_phan": "Một phần",
    "thong_tin": "Cung cấp thông tin",
    "unknown": "Chưa xác định",
}
UNIT_ROLES = {"receiving": "receiving_unit_code", "resolving": "resolving_unit_code"}
# Under the current boundaries a chosen unit also gets the dossiers recorded under its predecessors
# (kpi_facts.*_current_code: a legacy unit's current successor); a chosen legacy unit keeps its own.
CURRENT_COLUMNS = {"receiving": "receiving_current_code", "resolving": "resolving_current_code"}
BOUNDARIES = ("current", "recorded")
LEGACY_PREFIX = "L-"  # codes of units outside the current catalogue (motcua.units)
_LIST_FIELDS = ("unit_codes", "field_names", "procedure_codes", "channels", "dvc_levels", "department_names",
                "officer_names")
# Key of dossiers without a handling department/officer in a breakdown, and its filter value.
MISSING_TEXT_KEY = "\u2205"
_TEXT_FILTERS = (("department_names", "handling_department", "phòng ban"),
                 ("officer_names", "handling_officer", "cán bộ"))
_NAMED_IN_CAPTION = 3  # up to this many values are named in a caption, more are counted


@dataclass(frozen=True)
class Filter:
    sql: str  # one condition with `?` placeholders
    params: tuple  # values for the placeholders, in order
    caption: str  # Vietnamese description of the condition


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    # Keep the caller's order (captions), drop blanks and repeats.
    return tuple(dict.fromkeys(str(v) for v in value if v is not None and str(v) != ""))


def _check_values(values: tuple[str, ...], allowed: Mapping[str, str], what: str) -> None:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"Giá trị {what} không hợp lệ: {', '.join(unknown)}; chỉ dùng: {', '.join(allowed)}.")


def _column(alias: str, name: str) -> str:
    return f"{alias}.{name}" if alias else name


def _membership(column: str, values: tuple[str, ...]) -> tuple[str, tuple]:
    # One value: plain equality keeps DuckDB's zone-map pruning; several: one list parameter.
    if len(values) == 1:
        return f"{column} = ?", (values[0],)
    return f"{column} IN (SELECT unnest(?))", (list(values),)


def _named_list(values: Iterable[str], noun: str) -> str:
    values = list(values)
    if len(values) <= _NAMED_IN_CAPTION:
        return f"{noun} {', '.join(values)}"
    return f"{len(values)} {noun}"


@dataclass(frozen=True)
class Scope:
    unit_codes: tuple[str, ...] = ()  # () = no unit restriction
    field_names: tuple[str, ...] = ()
    procedure_codes: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # online | direct | postal
    dvc_levels: tuple[str, ...] = ()  # toan_trinh | mot_phan | thong_tin | unknown
    # Which unit a dossier counts for (receiving | resolving) and under which boundaries (current |
    # recorded). None: the settings ``attribution`` / ``boundaries`` decide (``with_settings``, applied by
    # every metric); a bare ``where()`` without settings reads None as receiving / recorded.
    unit_role: str | None = None
    department_names: tuple[str, ...] = ()  # handling department ("∅" = none exported)
    officer_names: tuple[str, ...] = ()  # handling officer ("∅" = none exported)
    boundaries: str | None = None

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        _check_values(self.channels, CHANNEL_LABELS, "kênh nộp")
        _check_values(self.dvc_levels, LEVEL_LABELS, "mức độ dịch vụ công")
        if self.unit_role is not None and self.unit_role not in UNIT_ROLES:
            raise ValueError(
                f"Vai trò đơn vị '{self.unit_role}' không hợp lệ; chỉ dùng: {', '.join(UNIT_ROLES)}."
            )
        if self.boundaries is not None and self.boundaries not in BOUNDARIES:
            raise ValueError(f"Địa giới '{self.boundaries}' không hợp lệ; chỉ dùng: {', '.join(BOUNDARIES)}.")

    @property
    def role(self) -> str:
        return self.unit_role or "receiving"

    @property
    def current_boundaries(self) -> bool:
        return self.boundaries == "current"

    @property
    def unit_column(self) -> str:
        """The column a per-unit table groups by: under the current boundaries only current units appear."""
        return CURRENT_COLUMNS[self.role] if self.current_boundaries else UNIT_ROLES[self.role]

    def with_settings(self, settings) -> Scope:
        """This scope with the ``attribution`` and ``boundaries`` settings where it does not fix them."""
        role = self.unit_role or getattr(settings, "attribution", None)
        boundaries = self.boundaries or getattr(settings, "boundaries", None)
        if (role, boundaries) == (self.unit_role, self.boundaries):
            return self
        return dataclasses.replace(self, unit_role=role, boundaries=boundaries)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in _LIST_FIELDS)

    def filters(self, unit_names: Mapping[str, str] | None = None, alias: str = "d",
                on_facts: bool = True) -> list[Filter]:
        """One `Filter` per restricted dimension (columns prefixed with `alias`; '' for bare names).

        ``on_facts``: the rows come from ``kpi_facts`` (which has the *_current_code columns); else from
        ``dossiers``, where the current boundaries are expanded through ``units``.
        """
        result = []
        if self.unit_codes:
            sql, params = self._unit_condition(alias, on_facts)
            result.append(Filter(sql, params, self._unit_caption(unit_names)))
        return result + self._attribute_filters(alias)

    def _unit_condition(self, alias: str, on_facts: bool) -> tuple[str, tuple]:
        recorded = _column(alias, UNIT_ROLES[self.role])
        if not self.current_boundaries:
            return _membership(recorded, self.unit_codes)
        # Current boundaries: a current unit also gets its predecessors' dossiers; a legacy unit (code L-…)
        # chosen explicitly keeps its own recorded ones.
        current = tuple(c for c in self.unit_codes if not c.startswith(LEGACY_PREFIX))
        legacy = tuple(c for c in self.unit_codes if c.startswith(LEGACY_PREFIX))
        parts, params = [], ()
        if current:
            if on_facts:
                sql, values = _membership(_column(alias, CURRENT_COLUMNS[self.role]), current)
            else:
                sql, values = (f"{recorded} IN (SELECT code FROM units WHERE coalesce(successor_code, code) "
                               "IN (SELECT unnest(?)))", (list(current),))
            parts.append(sql)
            params += values
        if legacy:
            sql, values = _membership(recorded, legacy)
            parts.append(sql)
            params += values
        return (parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"), params

    def _attribute_filters(self, alias: str) -> list[Filter]:
        result = []
        if self.field_names:
            sql, params = _membership(_column(alias, "field_name"), self.field_names)
            result.append(Filter(sql, params, _named_list(self.field_names, "lĩnh vực")))
        if self.procedure_codes:
            sql, params = _membership(_column(alias, "procedure_code"), self.procedure_codes)
            result.append(Filter(sql, params, _named_list(self.procedure_codes, "thủ tục")))
        if self.channels:
            sql, params = _membership(_column(alias, "channel"), self.channels)
            caption = "kênh " + ", ".join(CHANNEL_LABELS[c] for c in self.channels)
            result.append(Filter(sql, params, caption))
        if self.dvc_levels:
            sql, params = _membership(_column(alias, "dvc_level"), self.dvc_levels)
            caption = "mức độ " + ", ".join(LEVEL_LABELS[level] for level in self.dvc_levels)
            result.append(Filter(sql, params, caption))
        for name, column, noun in _TEXT_FILTERS:
            values = getattr(self, name)
            if values:
                sql, params = _membership(f"coalesce({_column(alias, column)}, '{MISSING_TEXT_KEY}')", values)
                shown = ["chưa rõ" if value == MISSING_TEXT_KEY else value for value in values]
                result.append(Filter(sql, params, _named_list(shown, noun)))
        return result

    def where(self, alias: str = "d", on_facts: bool = True) -> tuple[str, list]:
        """SQL condition and its parameters; "TRUE" with no parameters when nothing is restricted."""
        conditions = self.filters(alias=alias, on_facts=on_facts)
        if not conditions:
            return "TRUE", []
        sql = " AND ".join(f"({f.sql})" for f in conditions)
        params = [p for f in conditions for p in f.params]
        return sql, params

    def _unit_caption(self, unit_names: Mapping[str, str] | None) -> str:
        if not self.unit_codes:
            return "Tất cả đơn vị"
        if len(self.unit_codes) == 1:
            code = self.unit_codes[0]
            caption = (unit_names or {}).get(code) or code
        else:
            caption = f"{len(self.unit_codes)} đơn vị"
        if self.unit_role == "resolving":
            caption += " (nơi giải quyết)"
        if self.boundaries == "recorded":
            caption += " (địa giới khi ghi nhận)"
        return caption

    def caption(self, unit_names: Mapping[str, str] | None = None) -> str:
        """'Xã Tứ Kỳ; lĩnh vực Hộ tịch; kênh trực tuyến' or 'Tất cả đơn vị'."""
        parts = [self._unit_caption(unit_names)] + [f.caption for f in self._attribute_filters("")]
        return "; ".join(parts)

    def key(self) -> tuple:
        """Hashable, order-independent identity (cache keys)."""
        return tuple((f.name, tuple(sorted(getattr(self, f.name))) if f.name in _LIST_FIELDS
                      else getattr(self, f.name)) for f in fields(self))

    def with_units(self, unit_codes: Iterable[str]) -> Scope:
        """Same scope, other units (per-unit league tables)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["unit_codes"] = tuple(unit_codes)
        return Scope(**values)


def unit_names(db, codes: Iterable[str]) -> dict[str, str]:
    """code -> name for the known codes among `codes` (unknown codes are left out)."""
    codes = list(_as_tuple(codes))
    if not codes:
        return {}
    frame = query_df(db, "SELECT code, name FROM units WHERE code IN (SELECT unnest(?))", [codes])
    return dict(zip(frame["code"], frame["name"], strict=True))


def current_unit_codes(db, codes: Iterable[str]) -> tuple[str, ...]:
    """The codes among ``codes`` that are units of the current catalogue (legacy units left out)."""
    codes = list(_as_tuple(codes))
    if not codes:
        return ()
    frame = query_df(db, "SELECT code FROM units WHERE code IN (SELECT unnest(?)) AND in_catalogue", [codes])
    wanted = set(frame["code"])
    return tuple(code for code in codes if code in wanted)

"""Administrative units: the 2025 catalogue (34 provinces, 3,321 communes) and name resolution.

"UBND phường Đức Thuận", "Ủy ban nhân dân phường Đức Thuận", "P. Đức Thuận", "Đức Thuận" and the
GSO code all resolve to one unit. Units outside the catalogue (e.g. communes abolished on 1/7/2025)
are accepted by the loaders and stored with ``in_catalogue = false``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass

import pandas as pd
import vietnam_provinces

from motcua.text import fold, nfc, slug

# Organisation words in front of a unit name (folded).
_ORG_PREFIXES = (
    "trung tam phuc vu hanh chinh cong",
    "bo phan tiep nhan va tra ket qua",
    "bo phan mot cua",
    "uy ban nhan dan",
    "ubnd",
    "hdnd va ubnd",
)
# Folded type prefix -> division type.
_TYPE_PREFIXES = {
    "dac khu": "đặc khu",
    "thi tran": "thị trấn",
    "phuong": "phường",
    "xa": "xã",
    "tt": "thị trấn",
    "p": "phường",
    "x": "xã",
}
_PROVINCE_PREFIXES = ("thanh pho", "tinh", "tp")
_PROVINCE_TYPES = ("tỉnh", "thành phố trung ương")


class UnitError(ValueError):
    """A unit could not be resolved; the message is Vietnamese and lists candidates."""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    division_type: str | None
    province_code: str | None
    province_name: str | None
    level: str
    in_catalogue: bool

    @property
    def label(self) -> str:
        where = f", {self.province_name}" if self.province_name and self.level == "commune" else ""
        flag = "" if self.in_catalogue else " – ngoài danh mục 2025"
        return f"{self.name}{where} (mã {self.code}{flag})"


def split_type(name: str) -> tuple[str | None, str]:
    """('xã', 'tu ky') from 'Xã Tứ Kỳ'; the key is folded and has no organisation/type prefix."""
    key = fold(name)
    changed = True
    while changed:
        changed = False
        for prefix in _ORG_PREFIXES:
            if key.startswith(prefix + " "):
                key, changed = key[len(prefix) + 1 :], True
    for prefix, division_type in _TYPE_PREFIXES.items():
        if key.startswith(prefix + " "):
            return division_type, key[len(prefix) + 1 :].strip()
    return None, key


def _province_key(text: str) -> str:
    key = fold(text)
    for prefix in _PROVINCE_PREFIXES:
        if key.startswith(prefix + " "):
            return key[len(prefix) + 1 :]
    return key


def catalogue_frame() -> pd.DataFrame:
    """The 2025 catalogue as a frame in the ``units`` column order."""
    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        provinces = json.load(handle)
    rows = []
    for province in provinces:
        pcode = f"{province['code']:02d}"
        pname = nfc(province["name"])
        rows.append((pcode, pname, province["division_type"], pcode, pname, "province", True, None,
                     _province_key(pname)))
        for ward in province["wards"]:
            name = nfc(ward["name"])
            rows.append((f"{ward['code']:05d}", name, ward["division_type"], pcode, pname, "commune", True,
                         None, split_type(name)[1]))
    columns = ["code", "name", "division_type", "province_code", "province_name", "level", "in_catalogue",
               "successor_code", "fold_name"]
    return pd.DataFrame(rows, columns=columns)


def seed_units(con) -> int:
    """Insert the catalogue once (one statement); returns the number of catalogue units."""
    have = con.execute("SELECT count(*) FROM units WHERE in_catalogue").fetchone()[0]
    if have:
        return have
    frame = catalogue_frame()
    con.execute("INSERT INTO units SELECT * FROM frame ON CONFLICT (code) DO NOTHING")
    return len(frame)


def _row_to_unit(row) -> Unit:
    return Unit(*row[:6], bool(row[6]))


_UNIT_COLUMNS = "code, name, division_type, province_code, province_name, level, in_catalogue"


def _parse_query(text: str) -> tuple[str | None, str, str | None]:
    """'UBND xã Tứ Kỳ, TP Hải Phòng' -> ('xã', 'tu ky', 'hai phong')."""
    parts = [p for p in re.split(r"[,;]| - ", nfc(text)) if p.strip()]
    if not parts:
        return None, "", None
    division_type, key = split_type(parts[0])
    province = None
    for extra in parts[1:]:
        folded = fold(extra)
        if folded.startswith(_PROVINCE_PREFIXES):
            province = _province_key(extra)
    return division_type, key, province


def find_units(con, text: str) -> list[Unit]:
    """All units matching a code or a name (with or without prefix/diacritics)."""
    text = nfc(text)
    if not text:
        return []
    exact = con.execute(f"SELECT {_UNIT_COLUMNS} FROM units WHERE code = ? OR code = lpad(?, 5, '0')",
                        [text, text]).fetchall() if re.fullmatch(r"[0-9]{1,5}|L-[a-z0-9-]+", text) else []
    if exact:
        return [_row_to_unit(r) for r in exact[:1]]
    division_type, key, province = _parse_query(text)
    if not key:
        return []
    sql = f"SELECT {_UNIT_COLUMNS} FROM units WHERE fold_name = ?"
    params: list = [key]
    if division_type:
        sql += " AND (division_type = ? OR NOT in_catalogue)"
        params.append(division_type)
    rows = con.execute(sql + " ORDER BY level DESC, in_catalogue DESC, code", params).fetchall()
    units = [_row_to_unit(r) for r in rows]
    if province:
        in_province = [u for u in units if u.province_name and _province_key(u.province_name) == province]
        units = in_province or units
    communes = [u for u in units if u.level == "commune"]
    return communes or units


def resolve_unit(con, text: str) -> Unit:
    """Exactly one unit for a code or a name, else a Vietnamese ``UnitError`` with candidates."""
    units = find_units(con, text)
    if len(units) == 1:
        return units[0]
    if units:
        listing = "; ".join(u.label for u in units[:12])
        raise UnitError(f"Tên đơn vị '{text}' không rõ ràng, có {len(units)} đơn vị trùng tên: {listing}. "
                        "Hãy ghi rõ tỉnh (ví dụ 'Xã Tân Tiến, tỉnh Đồng Nai') hoặc dùng mã đơn vị.")
    raise UnitError(f"Không tìm thấy đơn vị '{text}'.{_suggest(con, text)}")


def _suggest(con, text: str) -> str:
    key = _parse_query(text)[1]
    names = [r[0] for r in con.execute("SELECT DISTINCT fold_name FROM units WHERE level = 'commune'").fetchall()]
    close = difflib.get_close_matches(key, names, n=5, cutoff=0.75)
    if not close:
        return ""
    rows = con.execute(f"SELECT {_UNIT_COLUMNS} FROM units WHERE fold_name IN (SELECT unnest(?)) LIMIT 8",
                       [close]).fetchall()
    return " Có phải: " + "; ".join(_row_to_unit(r).label for r in rows) + "?"


def legacy_code(name: str) -> str:
    """Stable code for a unit outside the catalogue ('Xã Phượng Kỳ' -> 'L-xa-phuong-ky')."""
    return "L-" + slug(nfc(name))


def resolve_or_register(con, text: str, province_code: str | None = None) -> Unit:
    """Loader variant: an unknown commune name is registered as a flagged legacy unit."""
    units = find_units(con, text)
    if province_code and len(units) > 1:
        units = [u for u in units if u.province_code == province_code] or units
    if len(units) == 1:
        return units[0]
    if units:
        return resolve_unit(con, text)  # raises the ambiguity message
    division_type, key, _ = _parse_query(text)
    if not key:
        raise UnitError(f"Tên đơn vị trống hoặc không hợp lệ: '{text}'.")
    name = nfc(re.split(r"[,;]", nfc(text))[0])
    for prefix in ("Ủy ban nhân dân ", "Uỷ ban nhân dân ", "UBND ", "ỦY BAN NHÂN DÂN "):
        if name.startswith(prefix):
            name = name[len(prefix):]
    name = name[:1].upper() + name[1:]
    province_name = None
    if province_code:
        row = con.execute("SELECT name FROM units WHERE code = ?", [province_code]).fetchone()
        province_name = row[0] if row else None
    unit = Unit(legacy_code(name), name, division_type or "không rõ", province_code, province_name, "commune", False)
    con.execute("INSERT INTO units VALUES (?, ?, ?, ?, ?, 'commune', false, NULL, ?) ON CONFLICT (code) DO NOTHING",
                [unit.code, unit.name, unit.division_type, unit.province_code, unit.province_name, key])
    return unit


def list_units(con, *, used_only: bool = False, province: str | None = None) -> pd.DataFrame:
    """Units with their dossier counts (``used_only`` keeps those with dossiers)."""
    sql = f"""
        SELECT u.code, u.name, u.division_type, u.province_name, u.in_catalogue,
               coalesce(d.n, 0) AS dossiers
        FROM units u
        LEFT JOIN (SELECT receiving_unit_code AS code, count(*) AS n FROM dossiers GROUP BY 1) d USING (code)
        WHERE u.level = 'commune' {"AND coalesce(d.n, 0) > 0" if used_only else ""}
          {"AND u.province_code = ?" if province else ""}
        ORDER BY u.province_code, u.name
    """
    return con.execute(sql, [province] if province else []).df()

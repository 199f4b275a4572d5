"""Generate the effective-dated unit history (``motcua/data/units_legacy.csv``, ``unit_lineage.csv``,
``province_lineage.csv``) from the PyPI package ``vietnamadminunits``.

Run: ``python -m scripts.build_unit_history`` (needs the ``dev`` extra). The output is committed and reviewed;
the app never imports ``vietnamadminunits``.

Inputs and joins:

- ``admin_units_legacy`` (the 10,040 communes before 1/7/2025, with old district and province) and its
  ``wardAlias`` keys: communes abolished in the earlier rounds (2019–2021, 2023–2025), known only as
  folded keys of the unit that absorbed them.
- ``converter_2025.json``: old (province, district, commune) key -> new commune key(s); a split commune has
  several successors, one flagged as default.
- New commune keys are joined to our ``vietnam-provinces`` catalogue on (province, normalised name), never
  on codes: the two sources disagree on about 121 codes and old codes collide with new ones (old Bình Hàn
  10510 = new Thành Đông 10510).

Every legacy unit gets a stable code ``L-<slug of name>`` (plus the old district, then province, when the
name is not unique), so codes already stored by earlier versions (``L-xa-phuong-ky``) keep their meaning.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motcua.text import fold, nfc, slug  # noqa: E402

DATA = ROOT / "motcua" / "data"
REFORM_DATE = "2025-07-01"  # NQ 202/2025/QH15 and the UBTVQH resolutions of 16/6/2025
_TYPE_WORDS = ("thi tran", "phuong", "xa", "dac khu")


def _key(text: str) -> str:
    """vietnamadminunits' key: folded, no spaces ('Xã Thanh Hà' -> 'xathanhha')."""
    return fold(text).replace(" ", "")


def _province_key(name: str) -> str:
    """Province key without its type ('Tỉnh An Giang', 'An Giang' -> 'angiang')."""
    key = fold(name)
    for prefix in ("thanh pho ", "tinh "):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.replace(" ", "")


def _vau_dir() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data"


def _current_catalogue() -> tuple[dict, dict]:
    """(province key -> (code, name)), ((province key, commune key) -> code) from vietnam-provinces."""
    import vietnam_provinces

    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as handle:
        provinces = json.load(handle)
    by_province, by_commune = {}, {}
    for province in provinces:
        pkey = _province_key(province["name"])
        by_province[pkey] = (f"{province['code']:02d}", nfc(province["name"]))
        for ward in province["wards"]:
            by_commune[(pkey, _key(ward["name"]))] = f"{ward['code']:05d}"
    return by_province, by_commune


def _syllables(names) -> set[str]:
    return {word for name in names for word in fold(name).split()}


def _segment(key: str, syllables: set[str]) -> str:
    """'thanhxa' -> 'thanh xa': fewest known syllables covering the key (alias keys have no spaces)."""
    best: list[list[str] | None] = [None] * (len(key) + 1)
    best[0] = []
    for end in range(1, len(key) + 1):
        for start in range(max(0, end - 7), end):
            if best[start] is not None and key[start:end] in syllables:
                candidate = best[start] + [key[start:end]]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    return " ".join(best[-1]) if best[-1] else key


def _alias_name(alias_key: str, full_key: str, short_key: str, syllables: set[str],
                reviewed: dict) -> tuple[str, str, str]:
    """(name, division type, name source) of an earlier-round alias: reviewed name, else its segmented key."""
    type_key = full_key[: len(full_key) - len(short_key)]
    division = {"xa": "xã", "phuong": "phường", "thitran": "thị trấn"}.get(type_key, "xã")
    if alias_key in reviewed:
        return reviewed[alias_key], division, "reviewed"
    words = _segment(short_key, syllables)
    name = division.capitalize() + " " + " ".join(w.capitalize() for w in words.split())
    return name, division, "folded_key"


def _alias_pairs(aliases: list[str], default_type: str) -> list[tuple[str, str]]:
    """[(full key, short key)] from a wardAlias list (usually full/short pairs; a lone key gets a type)."""
    pairs, used = [], set()
    for alias in aliases:
        for type_key in ("thitran", "phuong", "xa"):
            if alias.startswith(type_key) and alias[len(type_key):] in aliases:
                pairs.append((alias, alias[len(type_key):]))
                used |= {alias, alias[len(type_key):]}
                break
    pairs += [(default_type + alias, alias) for alias in aliases if alias not in used]
    return pairs


def _reviewed_names() -> dict:
    """alias key (province_district_commune) -> accented name, from ``legacy_names_reviewed.csv``."""
    with open(DATA / "legacy_names_reviewed.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return {f"{_key(r['province'])}_{_key(r['district'])}_{_key(r['name'])}": nfc(r["name"]) for r in rows}


def build() -> tuple[list[dict], list[dict], list[dict]]:
    vau = _vau_dir()
    converter = json.loads((vau / "converter_2025.json").read_text(encoding="utf-8"))
    by_province, by_commune = _current_catalogue()
    con = sqlite3.connect(vau / "dataset.db")
    con.row_factory = sqlite3.Row
    # Rows without a commune are island districts with no communes (Hoàng Sa, Bạch Long Vĩ ...): left out.
    legacy_rows = con.execute(
        "SELECT province, district, ward, wardType, wardCode, provinceCode, provinceKey, districtKey, wardKey, "
        "districtShort, wardAlias FROM admin_units_legacy WHERE ward IS NOT NULL ORDER BY provinceKey, districtKey, wardKey").fetchall()
    short = {key: _province_key(name) for key, name in con.execute(
        "SELECT DISTINCT provinceKey, province FROM admin_units_legacy")}
    short |= {key: _province_key(name) for key, name in con.execute("SELECT DISTINCT provinceKey, province FROM admin_units")}
    old_to_new_province = {old: short[new] for new, olds in converter["DICT_PROVINCE"].items() for old in olds}
    undivided = {old: (short[new_pkey], new_key) for new_pkey, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items()
                 for new_key, olds in wards.items() for old in olds}
    divided = {old: (short[new_pkey], targets) for new_pkey, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items()
               for old, targets in olds.items()}

    def current_code(new_pkey: str, new_key: str) -> str:
        code = by_commune.get((new_pkey, _key(new_key)))  # _key repairs keys stored with diacritics
        if code is None:
            missing.add((new_pkey, new_key))
        return code or "?"

    missing: set = set()
    syllables = _syllables(r["ward"] for r in legacy_rows)
    reviewed = _reviewed_names()
    units, lineage = [], []
    for row in legacy_rows:
        old_key = f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"
        new_pkey = old_to_new_province[row["provinceKey"]]
        unit = {"key": old_key, "name": nfc(row["ward"]), "division_type": (row["wardType"] or "xã").lower(),
                "district_name": nfc(row["district"]), "old_province_name": nfc(row["province"]),
                "province_code": by_province[new_pkey][0], "gso_code": row["wardCode"] or "",
                "valid_to": REFORM_DATE, "round": "2025", "name_source": "vietnamadminunits"}
        units.append(unit)
        if old_key in undivided:
            lineage.append((old_key, current_code(*undivided[old_key]), REFORM_DATE, True))
        elif old_key in divided:
            pkey, targets = divided[old_key]
            for target in targets:
                lineage.append((old_key, current_code(pkey, target["newWardKey"]), REFORM_DATE,
                                bool(target["isDefaultNewWard"])))
        else:
            raise SystemExit(f"no successor for {old_key}")
        aliases = json.loads(row["wardAlias"]) if row["wardAlias"] else []
        for full_key, short_key in _alias_pairs(aliases, _key(row["wardType"] or "xa")):
            alias_key = f"{row['provinceKey']}_{row['districtKey']}_{full_key}"
            name, division, source = _alias_name(alias_key, full_key, short_key, syllables, reviewed)
            if any(u["key"] == alias_key for u in units[-3:]):
                continue
            units.append({"key": alias_key, "name": name, "division_type": division,
                          "district_name": unit["district_name"], "old_province_name": unit["old_province_name"],
                          "province_code": unit["province_code"], "gso_code": "", "valid_to": "",
                          "round": "earlier", "name_source": source})
            # The date of the earlier merger is not in the source: left empty (before 1/7/2025).
            lineage.append((alias_key, old_key, "", True))
    if missing:
        raise SystemExit(f"no vietnam-provinces commune for {sorted(missing)}")
    _assign_codes(units)
    code_of = {u["key"]: u["code"] for u in units}
    lineage_rows = [{"from_code": code_of[a], "to_code": code_of.get(b, b), "effective": eff,
                     "is_default": "1" if default else "0"} for a, b, eff, default in lineage]
    provinces = [{"old_province_code": r["provinceCode"], "old_province_name": nfc(r["province"]),
                  "province_code": by_province[old_to_new_province[r["provinceKey"]]][0]}
                 for r in con.execute("SELECT DISTINCT provinceCode, province, provinceKey FROM admin_units_legacy "
                                      "ORDER BY provinceCode").fetchall()]
    columns = ("code", "name", "division_type", "district_name", "old_province_name", "province_code", "gso_code",
               "valid_to", "round", "name_source")
    return [{c: u[c] for c in columns} for u in units], lineage_rows, provinces


def _assign_codes(units: list[dict]) -> None:
    """``L-<name>``; ``-<district>`` then ``-<province>`` added only where needed to be unique."""
    names = Counter(slug(u["name"]) for u in units)
    with_district = Counter(f"{slug(u['name'])}-{_short_slug(u['district_name'])}" for u in units)
    for unit in units:
        code = slug(unit["name"])
        if names[code] > 1:
            code = f"{code}-{_short_slug(unit['district_name'])}"
            if with_district[code] > 1:
                code = f"{code}-{_short_slug(unit['old_province_name'])}"
        unit["code"] = "L-" + code
    seen = defaultdict(int)
    for unit in units:  # same name twice in one district of one province (data quirks): number them
        seen[unit["code"]] += 1
        if seen[unit["code"]] > 1:
            unit["code"] += f"-{seen[unit['code']]}"


def _short_slug(name: str) -> str:
    key = fold(name)
    for prefix in ("thanh pho", "thi xa", "huyen", "quan", "tinh"):
        if key.startswith(prefix + " "):
            key = key[len(prefix) + 1 :]
            break
    return key.replace(" ", "-")


def _write(path: Path, rows: list[dict], header: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(header)
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    units, lineage, provinces = build()
    note = "# Generated by scripts/build_unit_history.py from vietnamadminunits; do not edit by hand.\n"
    _write(DATA / "units_legacy.csv", units, note)
    _write(DATA / "unit_lineage.csv", lineage, note)
    _write(DATA / "province_lineage.csv", provinces, note)
    print(f"{len(units)} legacy units, {len(lineage)} lineage rows, {len(provinces)} old provinces")


if __name__ == "__main__":
    main()

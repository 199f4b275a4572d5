"""The administrative tail of an applicant's address ("xã Tứ Kỳ, tỉnh Hải Dương"), nothing more.

An address is personal data and is never stored. To tell whether a dossier was received outside the
applicant's commune (hồ sơ không phụ thuộc địa giới hành chính, NĐ 118/2025), the reader keeps only the
trailing parts that name a commune, district or province; house numbers, streets, hamlets and villages
are dropped here, before anything leaves the reader. The normaliser resolves the tail to a unit and
stores a yes/no flag only.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from motcua import units as unitsmod
from motcua.text import fold, nfc

# Folded prefixes of the administrative parts of an address (with the usual abbreviations).
_ADMIN_PREFIX = re.compile(
    r"^(?:xa|phuong|thi tran|dac khu|huyen|quan|thi xa|thanh pho|tinh|tp|tx|tt|h|q|p|x)(?: |$)"
)

# Parts below a commune (hamlet, village, street, house): never part of a locality.
_LOCAL_PREFIX = re.compile(
    r"^(?:thon|xom|ap|ban|to|khu|so|duong|ngo|ngach|pho|kiet|hem|lang|khom|cum|doi|toa|can ho|chung cu)(?: |$)"
)


def locality_of(address: str | None) -> str | None:
    """'Thôn 3, xã Tứ Kỳ, huyện Tứ Kỳ, tỉnh Hải Dương' -> 'xã Tứ Kỳ, huyện Tứ Kỳ, tỉnh Hải Dương'.

    Parts are read from the end while they name an administrative unit; None when the address names none.
    """
    if not address:
        return None
    parts = [part.strip() for part in re.split(r"[,;\-–]", nfc(address)) if part.strip()]
    admin = [bool(_ADMIN_PREFIX.match(fold(part).replace(".", " ").strip())) for part in parts]
    if parts and not admin[-1] and (len(parts) == 1 or admin[-2] or not any(admin)) \
            and not any(ch.isdigit() for ch in parts[-1]) and not _LOCAL_PREFIX.match(fold(parts[-1])):
        # "…, huyện Thanh Hà, Hải Dương", "Thôn 1, Hà Nội": the last part is the province, often written
        # without "tỉnh"; a part with digits is a house number or street, never kept.
        admin[-1] = True
    kept: list[str] = []
    for part, is_admin in zip(reversed(parts), reversed(admin), strict=True):
        if not is_admin:
            break
        kept.append(part)
    return ", ".join(reversed(kept)) or None


def localities(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``locality_of`` over a column, computed once per distinct address."""
    text = pc.cast(column, pa.string()) if not pa.types.is_string(column.type) else column
    encoded = pc.dictionary_encode(text)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    out = []
    for chunk in chunks:
        tails = pa.array([locality_of(value) for value in chunk.dictionary.to_pylist()], pa.string())
        out.append(pc.take(tails, chunk.indices))
    return pa.concat_arrays(out) if out else pa.array([], pa.string())


# A receiving unit compared after the 2025 reform: a legacy commune stands for its successor (``ru`` is the
# ``units`` row of the receiving unit, ``p`` the parsed row).
CURRENT_CODE_SQL = ("CASE WHEN ru.code IS NOT NULL AND NOT ru.in_catalogue AND ru.successor_code IS NOT NULL "
                    "THEN ru.successor_code ELSE p.receiving_unit_code END")

_COMMUNE_PREFIX = re.compile(r"^(?:xa|phuong|thi tran|dac khu|p|x|tt)(?: |$)")
_PROVINCE_PREFIX = re.compile(r"^(?:tinh|thanh pho|tp)(?: |$)")


def locate(con, tail: str | None) -> tuple[str | None, str | None]:
    """(current commune code, current province code) named by an address tail; None where it does not
    resolve. The unit resolver reads old and new names: an address that still names an abolished commune
    ("xã Quang Phục, huyện Tứ Kỳ, tỉnh Hải Dương") stands for its successor (Xã Tứ Kỳ). An ambiguous or
    unknown name gives None, never a guess.
    """
    if not tail:
        return None, None
    parts = [part.strip() for part in tail.split(",") if part.strip()]
    keys = [fold(part).replace(".", " ").strip() for part in parts]
    province_text = parts[-1] if len(parts) > 1 or _PROVINCE_PREFIX.match(keys[-1]) else None
    province_code = unitsmod.unit_index(con).province_code(province_text) if province_text else None
    if not any(_COMMUNE_PREFIX.match(key) for key in keys):
        return None, province_code
    try:
        unit = unitsmod.resolve_address(con, tail)
    except unitsmod.UnitError:
        return None, province_code
    if unit.level != "commune" or (province_code and unit.province_code != province_code):
        return None, province_code  # a same-named commune of another province is not a match
    current = unit.code if unit.in_catalogue else unit.successor_code
    return current, unit.province_code or province_code

"""National portal sync JSON (``DongBoHoSoMC``): one record per dossier -> RawTable (source='dvcqg').

Accepts ``{"service": "DongBoHoSoMC", "isUpdating": .., "data": [...]}``, ``{"data": [...]}`` or a bare
list. Field names follow research/export_formats.md §2.1 and are matched case-insensitively. Dates stay
as text (``yyyyMMddHHmmss``): the normaliser parses every date format. Applicant data is dropped.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import unicodedata

import pyarrow as pa

from loaders.locality import locality_of
from loaders.model import RAW_FIELDS, LoadError, RawTable
from loaders.sniff import detect_text_encoding
from motcua.text import nfc

# DVCQG field (lower case) -> raw field, for plain scalar fields.
SCALAR_FIELDS: dict[str, str] = {
    "mahoso": "dossier_code",
    "matthc": "procedure_code",
    "tentthc": "procedure_name",
    "malinhvuc": "field_code",
    "tenlinhvuc": "field_name",
    "kenhthuchien": "channel",
    "ngaynophoso": "submitted_at",
    "ngaytiepnhan": "received_at",
    "ngayhentra": "due_at",
    "ngayketthucxuly": "finished_at",
    "ngaytra": "returned_at",
    "trangthaihoso": "status",
    "donvixuly": "resolving_unit",
    "donvitiepnhan": "receiving_unit",
    "hosocothanhphansohoa": "digitized",
    "mucdo": "dvc_level",
}
# Fields read by the derived rules below -> the raw fields they fill.
DERIVED_SOURCES: dict[str, tuple[str, ...]] = {
    "ngaytuchoi": ("finished_at",),
    "madonvitiepnhan": ("receiving_unit",),
    "duocthanhtoantructuyen": ("paid_online",),
    "danhsachgiaytoketqua": ("electronic_result",),
    "tailieunop": ("reused",),
    "danhsachlephi": ("fee",),
    "danhsachhosobosung": ("supplement_count", "supplement_requested_at", "supplement_received_at", "new_due_at"),
    "diachichuhoso": ("applicant_locality",),
    "xaphuongchuhoso": ("applicant_locality",),
}
# Applicant data: never read, only listed in ``dropped_pii``.
PII_FIELDS = frozenset({
    "chuhoso", "sogiaytochuhoso", "dinhdanhchs", "sodienthoai", "email", "fax", "diachi", "diachichuhoso",
    "madoituong", "thongtinkhac", "tinhthanhchuhoso", "quanhuyenchuhoso", "xaphuongchuhoso",
    "nguoinop", "tennguoinop",
})
PAID_ONLINE = {"1": "1", "2": "1", "0": "0", "3": "0"}


def _is_pii_key(key: str) -> bool:
    return key in PII_FIELDS or key.startswith("diachi")


def _text(value: object) -> str | None:
    """A JSON scalar as NFC text; nested values and empty strings -> None."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    return nfc(value) or None


def _flag(value: object) -> bool:
    return _text(value) in ("1", "true", "True")


def _lower_keys(record: dict) -> dict[str, object]:
    return {str(key).lower(): value for key, value in record.items()}


def _last(items: object) -> dict[str, object]:
    if isinstance(items, list):
        for item in reversed(items):
            if isinstance(item, dict):
                return _lower_keys(item)
    return {}


def _amount(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = _text(value) or ""
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return float(text.replace(".", ""))  # "50.000" is fifty thousand đồng, not 50.0
    try:
        return float(text)
    except ValueError:
        digits = re.sub(r"\D", "", text)  # "50.000 đ" -> 50000
        return float(digits) if digits else None


def _fee_total(items: object) -> str | None:
    if not isinstance(items, list):
        return None
    amounts = [_amount(_lower_keys(item).get("gia")) for item in items if isinstance(item, dict)]
    total = sum(amount for amount in amounts if amount is not None)
    return str(int(total)) if float(total).is_integer() else repr(total)


def _dicts(items: list) -> list[dict[str, object]]:
    return [_lower_keys(item) for item in items if isinstance(item, dict)]


def _applicant_locality(record: dict[str, object]) -> str | None:
    """Only the administrative tail of the applicant's address (never the address): from the commune and
    province fields when the portal gives them, else cut out of ``DiaChiChuHoSo``."""
    commune, province = _text(record.get("xaphuongchuhoso")), _text(record.get("tinhthanhchuhoso"))
    if commune:
        return ", ".join(part for part in (commune, province) if part)
    return locality_of(_text(record.get("diachichuhoso")))


def _derived(record: dict[str, object]) -> dict[str, str | None]:
    """Values computed from nested lists / code tables; they only fill cells the plain fields left empty."""
    values: dict[str, str | None] = {
        "finished_at": _text(record.get("ngaytuchoi")),  # a refusal ends the dossier too
        "receiving_unit": _text(record.get("madonvitiepnhan")),
    }
    paid = _text(record.get("duocthanhtoantructuyen"))
    values["paid_online"] = PAID_ONLINE.get(paid, paid) if paid is not None else None
    results = record.get("danhsachgiaytoketqua")
    if isinstance(results, list):
        values["electronic_result"] = "1" if results else "0"
    files = record.get("tailieunop")
    if isinstance(files, list):
        reused = any(_flag(item.get("duoctaisudung")) or _flag(item.get("duoclaytukhodmqg"))
                     for item in _dicts(files))
        values["reused"] = "1" if reused else "0"
    values["fee"] = _fee_total(record.get("danhsachlephi"))
    values["applicant_locality"] = _applicant_locality(record)
    supplements = record.get("danhsachhosobosung")
    if isinstance(supplements, list):
        values["supplement_count"] = str(len(supplements))
        last = _last(supplements)
        values["supplement_requested_at"] = _text(last.get("ngaybosung"))
        values["supplement_received_at"] = _text(last.get("ngaytiepnhanbosung"))
        values["new_due_at"] = _text(last.get("ngayhentramoi"))
    return values


def _records(payload: object, name: str) -> list[object]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        lowered = _lower_keys(payload)
        data = lowered.get("data")
        if isinstance(data, list):
            return data
        if "mahoso" in lowered:
            return [payload]
    raise LoadError("tệp JSON không có danh sách hồ sơ (mảng 'data' của dịch vụ DongBoHoSoMC).", file_name=name)


def read_dvcqg_json(path: pathlib.Path, name: str) -> RawTable:
    text, encoding = detect_text_encoding(path.read_bytes())
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadError(f"tệp JSON sai cú pháp ({error.msg}, cột {error.colno}).", file_name=name,
                        row=error.lineno) from error
    except RecursionError as error:
        raise LoadError("tệp JSON lồng nhau quá nhiều tầng, không phải dữ liệu đồng bộ hồ sơ.",
                        file_name=name) from error
    records = _records(payload, name)
    if not records:
        raise LoadError("tệp JSON có danh sách hồ sơ rỗng.", file_name=name)
    if not any(isinstance(record, dict) for record in records):
        raise LoadError("tệp JSON không có bản ghi hồ sơ nào (các phần tử của danh sách không phải đối tượng).",
                        file_name=name)
    columns: dict[str, list[str | None]] = {raw: [None] * len(records) for raw in RAW_FIELDS}
    seen_keys: dict[str, str] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue  # stays a row of nulls: the pipeline rejects it (no dossier code)
        for key in record:
            seen_keys.setdefault(str(key).lower(), unicodedata.normalize("NFC", str(key)))
        lowered = _lower_keys(record)
        for key, raw in SCALAR_FIELDS.items():
            if key in lowered:
                columns[raw][index] = _text(lowered[key])
        for raw, value in _derived(lowered).items():
            if value is not None and columns[raw][index] is None:
                columns[raw][index] = value
    present = {raw for key, raw in SCALAR_FIELDS.items() if key in seen_keys}
    present |= {raw for key, raws in DERIVED_SOURCES.items() if key in seen_keys for raw in raws}
    found = [raw for raw in RAW_FIELDS if raw in present or any(value is not None for value in columns[raw])]
    if "dossier_code" not in found:
        found.insert(0, "dossier_code")
    table = pa.table({raw: pa.array(columns[raw], type=pa.string()) for raw in found})
    table = table.append_column("source_row", pa.array(range(1, len(records) + 1), type=pa.int32()))
    known = set(SCALAR_FIELDS) | set(DERIVED_SOURCES)
    return RawTable(
        file_name=name, format="json", source="dvcqg", kind="dossiers", table=table,
        column_map={seen_keys[key]: raw for key, raw in SCALAR_FIELDS.items() if key in seen_keys},
        ignored_columns=sorted(label for key, label in seen_keys.items()
                               if key not in known and not _is_pii_key(key)),
        dropped_pii=sorted(label for key, label in seen_keys.items() if _is_pii_key(key)),
        encoding=encoding,
    )



"""National portal sync JSON (``DongBoHoSoMC``): one record per dossier -> RawTable (source='dvcqg').

Accepts ``{"service": "DongBoHoSoMC", "isUpdating": .., "data": [...]}``, ``{"data": [...]}`` or a bare
list. Field names follow research/export_formats.md §2.1 and are matched case-insensitively. Dates stay
as text (``yyyyMMddHHmmss``): the normaliser parses every date format. Applicant data is dropped.
"""

from __future__ import annotations

import codecs
import io
import math
import pathlib
import re
import unicodedata
from datetime import datetime

import ijson
import pyarrow as pa

from loaders.locality import locality_of
from loaders.model import RAW_FIELDS, LoadError, RawTable
from loaders.safety import check_grid
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
    "danhsachhosobosung": ("supplement_count", "supplement_requested_at", "supplement_received_at", "new_due_at",
                           "supplement_waiting_days"),
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
        values["supplement_waiting_days"] = _waiting_days(_dicts(supplements))
    return values


_ROUND_FORMATS = ("%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")


def _round_time(value: object) -> datetime | None:
    text = _text(value)
    for pattern in _ROUND_FORMATS:
        try:
            return datetime.strptime(text, pattern) if text else None
        except ValueError:
            continue
    return None


def _waiting_days(rounds: list[dict[str, object]]) -> str | None:
    """Total waiting time (days) of every answered supplement round, for the portal_766 rule.

    None when a round's dates cannot be read: the KPI engine then falls back to the last round only.
    """
    total = 0.0
    for item in rounds:
        requested, answered = _round_time(item.get("ngaybosung")), _round_time(item.get("ngaytiepnhanbosung"))
        if requested is None:
            return None
        if answered is None:  # the open round: its waiting is the clock stop, not a deduction
            continue
        total += max((answered - requested).total_seconds(), 0) / 86400
    return f"{total:.6f}"


_NO_LIST = "tệp JSON không có danh sách hồ sơ (mảng 'data' của dịch vụ DongBoHoSoMC)."


def _utf8_stream(path: pathlib.Path) -> tuple[io.BufferedIOBase, str]:
    """The file as a UTF-8 byte stream for ijson (UTF-8 files are streamed as they are, others decoded)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or not _is_utf8(path):
        text, encoding = detect_text_encoding(path.read_bytes())
        return io.BytesIO(text.encode("utf-8")), encoding
    handle = path.open("rb")
    if head.startswith(b"\xef\xbb\xbf"):
        handle.seek(3)
        return handle, "utf-8-sig"
    return handle, "utf-8"


def _is_utf8(path: pathlib.Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


MAX_DEPTH = 64  # real sync records nest 3 levels; ijson's own builders cost O(depth²) on "[[[[..."
_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = ("end_map", "end_array")


def _too_deep(name: str) -> LoadError:
    return LoadError("tệp JSON lồng nhau quá nhiều tầng, không phải dữ liệu đồng bộ hồ sơ.", file_name=name,
                     reason="too_large")


def _build(events, event: str, value: object, name: str) -> object:
    """One JSON value from ``ijson.basic_parse`` events (its first event given), depth-limited."""
    if event not in _OPEN:
        return value
    stack: list[tuple[dict | list, str | None]] = [(_OPEN[event](), None)]
    while stack:
        event, value = next(events, (None, None))
        if event is None:
            raise LoadError("tệp JSON bị cắt cụt.", file_name=name)
        if event == "map_key":
            container, _ = stack[-1]
            stack[-1] = (container, value)
            continue
        if event in _CLOSE:
            item, _ = stack.pop()
            if not stack:
                return item
        elif event in _OPEN:
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(name)
            stack.append((_OPEN[event](), None))
            continue
        else:
            item = value
        container, key = stack[-1]
        if isinstance(container, list):
            container.append(item)
        else:
            container[key] = item
    raise AssertionError("unreachable")


def _array_items(events, name: str):
    for event, value in events:
        if event == "end_array":
            return
        yield _build(events, event, value, name)


def _iter_records(stream, name: str):
    """Dossier records of a bare list, of ``{"data": [...]}`` (key in any case) or of one record object,
    streamed one at a time: the file never becomes one big Python object."""
    events = ijson.basic_parse(stream, use_float=True)
    event, _ = next(events, (None, None))
    if event == "start_array":
        yield from _array_items(events, name)
        return
    if event != "start_map":
        raise LoadError(_NO_LIST, file_name=name)
    single: dict[str, object] = {}
    for event, key in events:
        if event == "end_map":
            break
        event, value = next(events, (None, None))
        if str(key).lower() == "data":
            if event != "start_array":
                raise LoadError(_NO_LIST, file_name=name)
            yield from _array_items(events, name)
            return
        single[key] = _build(events, event, value, name)
    if "mahoso" not in _lower_keys(single):
        raise LoadError(_NO_LIST, file_name=name)
    yield single


def read_dvcqg_json(path: pathlib.Path, name: str) -> RawTable:
    stream, encoding = _utf8_stream(path)
    try:
        with stream:
            columns, count, dicts, seen_keys = _columns(_iter_records(stream, name), name)
    except ijson.JSONError as error:
        raise LoadError(f"tệp JSON sai cú pháp hoặc bị cắt cụt ({str(error)[:120]}).", file_name=name) from error
    if not count:
        raise LoadError("tệp JSON có danh sách hồ sơ rỗng.", file_name=name)
    if not dicts:
        raise LoadError("tệp JSON không có bản ghi hồ sơ nào (các phần tử của danh sách không phải đối tượng).",
                        file_name=name)
    present = {raw for key, raw in SCALAR_FIELDS.items() if key in seen_keys}
    present |= {raw for key, raws in DERIVED_SOURCES.items() if key in seen_keys for raw in raws}
    found = [raw for raw in RAW_FIELDS if raw in present or any(value is not None for value in columns[raw])]
    if "dossier_code" not in found:
        found.insert(0, "dossier_code")
    table = pa.table({raw: pa.array(columns[raw], type=pa.string()) for raw in found})
    table = table.append_column("source_row", pa.array(range(1, count + 1), type=pa.int32()))
    known = set(SCALAR_FIELDS) | set(DERIVED_SOURCES)
    return RawTable(
        file_name=name, format="json", source="dvcqg", kind="dossiers", table=table,
        column_map={seen_keys[key]: raw for key, raw in SCALAR_FIELDS.items() if key in seen_keys},
        ignored_columns=sorted(label for key, label in seen_keys.items()
                               if key not in known and not _is_pii_key(key)),
        dropped_pii=sorted(label for key, label in seen_keys.items() if _is_pii_key(key)),
        encoding=encoding,
    )




def _columns(records, name: str) -> tuple[dict[str, list[str | None]], int, int, dict[str, str]]:
    """Raw-field columns built record by record, the grid size checked as it grows."""
    columns: dict[str, list[str | None]] = {raw: [] for raw in RAW_FIELDS}
    seen_keys: dict[str, str] = {}
    count = dicts = 0
    for record in records:
        count += 1
        if count % 4096 == 0:
            check_grid(count, len(RAW_FIELDS), file_name=name)
        row: dict[str, str | None] = {}
        if isinstance(record, dict):  # anything else stays a row of nulls: rejected (no dossier code)
            dicts += 1
            for key in record:
                seen_keys.setdefault(str(key).lower(), unicodedata.normalize("NFC", str(key)))
            lowered = _lower_keys(record)
            row = {raw: _text(lowered[key]) for key, raw in SCALAR_FIELDS.items() if key in lowered}
            for raw, value in _derived(lowered).items():
                if value is not None and row.get(raw) is None:
                    row[raw] = value
        for raw, column in columns.items():
            column.append(row.get(raw))
    return columns, count, dicts, seen_keys

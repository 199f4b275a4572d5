"""Hand-made dossier sets for the KPI tests: rows -> one INSERT into an in-memory database."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from motcua.aggregates import refresh
from motcua.db import connect_memory
from motcua.schema import DOSSIER_COLUMNS

UNITS = [
    # code, name, division_type, province_code, province_name, level, in_catalogue, successor, fold_name
    ("10001", "Xã Tứ Kỳ", "xã", "01", "Thành phố Hải Phòng", "commune", True, None, "tu ky"),
    ("10002", "Xã Phượng Kỳ", "xã", "01", "Thành phố Hải Phòng", "commune", True, None, "phuong ky"),
    ("10003", "Phường Đức Thuận", "phường", "02", "Tỉnh Hà Tĩnh", "commune", True, None, "duc thuan"),
]
_DEFAULTS = {
    "source": "local",
    "receiving_unit_code": "10001",
    "procedure_code": "1.000001",
    "procedure_name": "Đăng ký khai sinh",
    "field_code": "HT",
    "field_name": "Hộ tịch",
    "dvc_level": "toan_trinh",
    "channel": "direct",
    "status": 4,
    # A file with these columns, every box unticked (a file without them: pass None = unknown).
    "has_digitized_components": False,
    "has_electronic_result": False,
    "reused_digitized_data": False,
    "paid_online": False,
}


def ts(text: str | None) -> datetime | None:
    """'2026-07-01 08:00' or '2026-07-01' -> datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text if " " in text else text + " 08:00")


def dossier_frame(rows: list[dict]) -> pd.DataFrame:
    records = []
    for number, row in enumerate(rows, start=1):
        record = {**_DEFAULTS, **row}
        record.setdefault("dossier_code", f"HS-{number:05d}")
        record.setdefault("resolving_unit_code", record["receiving_unit_code"])
        for key, value in list(record.items()):
            if key.endswith("_at") and isinstance(value, str):
                record[key] = ts(value)
        record.setdefault("state_at", record.get("finished_at") or record.get("received_at"))
        record.setdefault("import_id", 1)
        record.setdefault("source_row", number)
        records.append(record)
    frame = pd.DataFrame(records)
    for column in DOSSIER_COLUMNS:
        if column not in frame:
            frame[column] = None
    for column in DOSSIER_COLUMNS:
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column])
    return frame[list(DOSSIER_COLUMNS)]


def make_db(rows: list[dict], procedures: list[dict] | None = None):
    """In-memory database with the test units, the dossiers (one INSERT) and the derived tables."""
    con = connect_memory()
    units = pd.DataFrame(UNITS, columns=["code", "name", "division_type", "province_code", "province_name",
                                         "level", "in_catalogue", "successor_code", "fold_name"])
    con.register("units_frame", units)
    con.execute("INSERT INTO units SELECT * FROM units_frame")
    con.unregister("units_frame")
    if procedures:
        columns = ["procedure_code", "procedure_name", "field_code", "field_name", "dvc_level", "has_fee",
                   "legal_days", "from_catalogue"]
        frame = pd.DataFrame([{c: p.get(c) for c in columns} for p in procedures], columns=columns)
        frame["from_catalogue"] = frame["from_catalogue"].fillna(True).astype(bool)
        con.register("procedures_frame", frame)
        con.execute("INSERT INTO procedures SELECT * FROM procedures_frame")
        con.unregister("procedures_frame")
    if rows:
        frame = dossier_frame(rows)
        con.register("dossiers_frame", frame)
        con.execute("INSERT INTO dossiers SELECT * FROM dossiers_frame")
        con.unregister("dossiers_frame")
    refresh(con)
    return con

"""A seeded, realistic dossier set for the report-pack tests, published with ``write_transaction``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from motcua.db import write_transaction
from motcua.schema import DOSSIER_COLUMNS

UNITS = [
    # code, name, division_type, province_code, province_name, level, in_catalogue, successor, fold_name
    ("10001", "Xã Tứ Kỳ", "xã", "01", "Thành phố Hải Phòng", "commune", True, None, "tu ky"),
    ("10002", "Xã Phượng Kỳ", "xã", "01", "Thành phố Hải Phòng", "commune", True, None, "phuong ky"),
    ("10003", "Phường Đức Thuận", "phường", "02", "Tỉnh Hà Tĩnh", "commune", True, None, "duc thuan"),
    ("10004", "Xã Không Hồ Sơ", "xã", "01", "Thành phố Hải Phòng", "commune", True, None, "khong ho so"),
    ("01", "Thành phố Hải Phòng", "thành phố trung ương", "01", "Thành phố Hải Phòng", "province", True, None,
     "hai phong"),
    ("02", "Tỉnh Hà Tĩnh", "tỉnh", "02", "Tỉnh Hà Tĩnh", "province", True, None, "ha tinh"),
]
FIELDS = [("HT", "Hộ tịch"), ("CT", "Chứng thực"), ("DD", "Đất đai"), ("BTXH", "Bảo trợ xã hội")]
LEVELS = ["toan_trinh", "mot_phan", "thong_tin", "unknown"]


def _working_time(rng: random.Random, start: datetime, days: int) -> datetime:
    moment = start + timedelta(days=rng.randrange(days), hours=rng.randint(7, 16), minutes=rng.randrange(60))
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def dossier_rows(count: int = 1500, seed: int = 7, first: datetime = datetime(2025, 5, 1),
                 days: int = 520) -> pd.DataFrame:
    """Dossiers of three communes over ~17 months: every channel, outcome and flag occurs."""
    rng = random.Random(seed)
    records = []
    for number in range(1, count + 1):
        unit = rng.choices(["10001", "10002", "10003"], weights=[6, 3, 1])[0]
        field_code, field_name = rng.choices(FIELDS, weights=[6, 3, 1, 1])[0]
        received = _working_time(rng, first, days)
        due = received + timedelta(days=rng.randint(1, 12))
        roll = rng.random()
        status, finished = 10, None
        if roll < 0.06 and received > first + timedelta(days=days - 75):
            status = 4  # recent and still open (overdue when past its due date at the period end)
        elif roll < 0.09:
            status, finished = 7, received + timedelta(days=rng.randint(0, 3))  # withdrawn
        elif roll < 0.14:
            finished = due + timedelta(days=rng.randint(1, 6))  # late
        elif roll < 0.20:
            finished = due.replace(hour=8)  # same day as due: on time
        else:
            finished = received + (due - received) * rng.uniform(0.05, 0.9)
        fee = rng.choice([0, 0, 8000, 50000])
        channel = rng.choices(["online", "direct", "postal"], weights=[85, 13, 2])[0]
        records.append({
            "source": "local", "dossier_code": f"000.00.{unit}.H{number:05d}",
            "receiving_unit_code": unit,
            "resolving_unit_code": unit if rng.random() < 0.9 else rng.choice(["10001", "10002"]),
            "procedure_code": f"1.{field_code}.{rng.randint(1, 3)}",
            "procedure_name": f"Thủ tục {field_name.lower()} số {rng.randint(1, 3)}",
            "field_code": field_code, "field_name": field_name,
            "dvc_level": rng.choices(LEVELS, weights=[60, 25, 10, 5])[0], "channel": channel,
            "submitted_at": received, "received_at": received, "due_at": due, "finished_at": finished,
            "returned_at": finished, "status": status, "status_raw": str(status),
            "has_digitized_components": rng.random() < 0.9, "has_electronic_result": rng.random() < 0.8,
            "reused_digitized_data": rng.random() < 0.4, "paid_online": fee > 0 and rng.random() < 0.7,
            "fee_amount": fee, "supplement_count": 0, "legal_days": None,
            "state_at": finished or received, "import_id": 1, "source_row": number,
        })
    frame = pd.DataFrame(records)
    for column in DOSSIER_COLUMNS:
        if column not in frame:
            frame[column] = None
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column])
    return frame[list(DOSSIER_COLUMNS)]


def build_report_db(path: Path, count: int = 1500, seed: int = 7) -> Path:
    """Publish the units and dossiers (one INSERT each) into a DuckDB file at ``path``."""
    units = pd.DataFrame(UNITS, columns=["code", "name", "division_type", "province_code", "province_name",
                                         "level", "in_catalogue", "successor_code", "fold_name"])
    dossiers = dossier_rows(count, seed)
    imports = pd.DataFrame([{
        "import_id": 1, "file_name": "test.xlsx", "sha256": "0" * 64, "format": "test", "source": "local",
        "unit_code": None, "period_from": None, "period_to": None, "rows_read": len(dossiers),
        "rows_loaded": len(dossiers), "rows_rejected": 0, "status": "loaded", "message": None,
        "imported_at": datetime(2026, 10, 1), "imported_by": "test"}])
    with write_transaction(path) as con:
        con.register("units_frame", units)
        con.execute("INSERT INTO units SELECT * FROM units_frame")
        con.register("dossiers_frame", dossiers)
        con.execute("INSERT INTO dossiers SELECT * FROM dossiers_frame")
        con.register("imports_frame", imports)
        con.execute("INSERT INTO imports SELECT * FROM imports_frame")
    return path

"""Build test databases in tmp_path: canonical dossier frames written through ``write_transaction``.

``make_dossiers`` is vectorised (numpy), so the same generator builds a 60-dossier AppTest database and
the 1M-dossier browser benchmark database. Every frame is inserted in ONE statement.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from motcua import db as dbmod
from motcua import schema, units

# Real 2025 catalogue communes (codes resolved from vietnam-provinces at build time by name).
DEFAULT_COMMUNES = ("Phường Ba Đình", "Phường Hoàn Kiếm", "Xã Sóc Sơn")
PROCEDURES = (
    ("1.001193", "Đăng ký khai sinh", "HT", "Hộ tịch", "toan_trinh", 0, 3.0),
    ("1.001022", "Đăng ký kết hôn", "HT", "Hộ tịch", "mot_phan", 0, 5.0),
    ("2.000908", "Chứng thực bản sao từ bản chính", "CT", "Chứng thực", "mot_phan", 2000, 1.0),
    ("1.004227", "Đăng ký thường trú", "CT2", "Cư trú", "toan_trinh", 0, 7.0),
    ("1.003596", "Cấp giấy xác nhận tình trạng hôn nhân", "HT", "Hộ tịch", "thong_tin", 0, 3.0),
    ("2.001711", "Hỗ trợ chi phí mai táng", "BTXH", "Bảo trợ xã hội", "mot_phan", 0, 10.0),
)


DEPARTMENTS = ("Văn phòng HĐND và UBND", "Phòng Kinh tế", "Phòng Văn hóa - Xã hội")


def commune_codes(names=DEFAULT_COMMUNES) -> list[str]:
    """Codes of catalogue communes by exact name (first match), for realistic unit labels."""
    catalogue = units.catalogue_frame()
    communes = catalogue[catalogue["level"] == "commune"]
    codes = []
    for name in names:
        match = communes[communes["name"] == name]
        codes.append(str(match.iloc[0]["code"]) if len(match) else str(communes.iloc[len(codes)]["code"]))
    return codes


def make_dossiers(n: int, unit_codes: list[str], start: datetime, end: datetime, seed: int = 7,
                  import_id: int = 1) -> pd.DataFrame:
    """``n`` plausible dossiers received between ``start`` and ``end`` (DOSSIER_COLUMNS order)."""
    rng = np.random.default_rng(seed)
    span = int((end - start).total_seconds())
    received = pd.to_datetime(start) + pd.to_timedelta(np.sort(rng.integers(0, span, n)), unit="s")
    received = pd.Series(received.floor("min"))
    proc = rng.integers(0, len(PROCEDURES), n)
    legal = np.array([p[6] for p in PROCEDURES])[proc]
    due = received + pd.to_timedelta(np.ceil(legal * 1.4), unit="D").to_numpy()
    # Processing time around the legal limit: most early/on time, some late, some still open.
    ratio = rng.gamma(4.0, 0.22, n)
    finished = received + pd.to_timedelta(np.ceil(legal * 1.4 * ratio * 86400), unit="s").to_numpy()
    open_mask = rng.random(n) < 0.08
    finished = finished.where(~open_mask, pd.NaT)
    finished = finished.where(finished <= pd.Timestamp(end), pd.NaT)
    status = np.where(pd.isna(finished), 4, np.where(rng.random(n) < 0.5, 10, 9)).astype("int16")
    withdrawn = (rng.random(n) < 0.02) & ~pd.isna(finished)
    status = np.where(withdrawn, 7, status).astype("int16")
    channel = rng.choice(np.array(["online", "direct", "postal"]), n, p=[0.62, 0.35, 0.03])
    # About 8% asked for a supplement a day after receipt; most answered 2 days later, a few twice or never.
    # Drawn after every other column so the rest of the data does not change with it.
    supp_rng = np.random.default_rng(seed + 1)
    asked = supp_rng.random(n) < 0.08
    requested = (received + pd.Timedelta(days=1)).where(asked, pd.NaT)
    answered = asked & (supp_rng.random(n) < 0.9)
    handed_in = (requested + pd.Timedelta(days=2)).where(answered, pd.NaT)
    supp_count = np.where(asked, np.where(supp_rng.random(n) < 0.1, 2, 1), 0).astype("int16")
    units_idx = rng.integers(0, len(unit_codes), n)
    codes = np.array(unit_codes)[units_idx]
    fee = np.array([p[5] for p in PROCEDURES])[proc]
    frame = pd.DataFrame({
        "source": "local",
        "dossier_code": [f"{c}-{d:%y%m%d}-{i:06d}" for c, d, i in zip(codes, received, range(n), strict=True)],
        "receiving_unit_code": codes,
        "resolving_unit_code": codes,
        "procedure_code": np.array([p[0] for p in PROCEDURES])[proc],
        "procedure_name": np.array([p[1] for p in PROCEDURES])[proc],
        "field_code": np.array([p[2] for p in PROCEDURES])[proc],
        "field_name": np.array([p[3] for p in PROCEDURES])[proc],
        "dvc_level": np.array([p[4] for p in PROCEDURES])[proc],
        "channel": channel,
        "submitted_at": received,
        "received_at": received,
        "due_at": due,
        "new_due_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
        "finished_at": finished,
        "returned_at": finished,
        "supplement_requested_at": requested.astype("datetime64[us]"),
        "supplement_received_at": handed_in.astype("datetime64[us]"),
        "status": status,
        "status_raw": status.astype(str),
        "has_digitized_components": rng.random(n) < 0.8,
        "has_electronic_result": rng.random(n) < 0.7,
        "reused_digitized_data": rng.random(n) < 0.3,
        "paid_online": (fee > 0) & (rng.random(n) < 0.5),
        "fee_amount": fee.astype("int64"),
        "supplement_count": supp_count,
        "supplement_waiting_days": pd.Series(np.nan, index=range(n), dtype="float64"),
        "legal_days": legal,
        "state_at": finished.fillna(received),
        "import_id": import_id,
        "source_row": np.arange(1, n + 1, dtype="int32"),
        "time_status": pd.Series([None] * n, dtype="object"),
        "handling_department": np.array(DEPARTMENTS)[rng.integers(0, len(DEPARTMENTS), n)],
        "handling_officer": pd.Series([None] * n, dtype="object"),  # names off by default (motcua.site)
        "current_step": pd.Series([None] * n, dtype="object"),
        "reappointment_count": pd.Series([None] * n, dtype="object"),
        "non_territorial": rng.random(n) < 0.04,
    })
    return frame[list(schema.DOSSIER_COLUMNS)]


def build_db(path: Path, frame: pd.DataFrame | None, *, file_name: str = "test.xlsx") -> Path:
    """Publish a database at ``path`` with the catalogue units and ``frame`` (None = schema only)."""
    with dbmod.write_transaction(path) as con:
        units.seed_units(con)
        if frame is not None and len(frame):
            # Take the id from the sequence, as the import pipeline does, so later imports do not collide.
            import_id = con.execute("SELECT nextval('import_seq')").fetchone()[0]
            frame = frame.assign(import_id=import_id)
            con.execute(f"INSERT INTO dossiers SELECT {', '.join(schema.DOSSIER_COLUMNS)} FROM frame")
            procedures = pd.DataFrame(
                [(p[0], p[1], p[2], p[3], p[4], p[5] > 0, p[6], True) for p in PROCEDURES],
                columns=["procedure_code", "procedure_name", "field_code", "field_name", "dvc_level", "has_fee",
                         "legal_days", "from_catalogue"])
            _insert_procedures(con, procedures)
            first, last = frame["received_at"].min(), frame["received_at"].max()
            con.execute(
                "INSERT INTO imports VALUES (?, ?, 'test', 'xlsx', 'local', NULL, ?, ?, ?, ?, 0, 'loaded', NULL, "
                "now()::TIMESTAMP, 'pytest')",
                [import_id, file_name, first.date(), last.date(), len(frame), len(frame)],
            )
    return path


def _insert_procedures(con, procedures: pd.DataFrame) -> None:
    con.register("procedures_df", procedures)
    try:
        con.execute("INSERT INTO procedures SELECT * FROM procedures_df ON CONFLICT DO NOTHING")
    finally:
        con.unregister("procedures_df")


def sample_db(path: Path, n: int = 600) -> Path:
    """Three communes, Jan–Sep 2026: the 'sample-like' database of the UI tests."""
    frame = make_dossiers(n, commune_codes(), datetime(2026, 1, 2), datetime(2026, 9, 30))
    return build_db(path, frame)


def single_commune_db(path: Path, n: int = 120) -> Path:
    frame = make_dossiers(n, commune_codes()[:1], datetime(2026, 4, 1), datetime(2026, 6, 30), seed=11)
    return build_db(path, frame)


def empty_db(path: Path) -> Path:
    return build_db(path, None)


def big_db(path: Path, n: int = 1_000_000, communes: int = 300) -> Path:
    """Benchmark database: ``n`` dossiers over ``communes`` catalogue communes (incl. Xã Sóc Sơn), 2025–2026."""
    catalogue = units.catalogue_frame()
    codes = commune_codes(DEFAULT_COMMUNES) + [
        c for c in catalogue[catalogue["level"] == "commune"]["code"].head(communes) if c not in commune_codes()]
    frame = make_dossiers(n, codes[:communes], datetime(2025, 1, 2), datetime(2026, 9, 30), seed=3)
    return build_db(path, frame)


if __name__ == "__main__":  # python tests/dbfactory.py --big PATH [N]
    import sys
    import time

    if len(sys.argv) >= 3 and sys.argv[1] == "--big":
        started = time.perf_counter()
        big_db(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000)
        print(f"built {sys.argv[2]} in {time.perf_counter() - started:.1f}s")
    else:
        print("usage: python tests/dbfactory.py --big PATH [N]")

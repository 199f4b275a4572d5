"""Sample data: the generator is deterministic, the committed files are its output, and loading them gives
exactly the counts the generator knows from its own truth (manifest.json) and the literal numbers below."""

from __future__ import annotations

import filecmp
import json
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sample_data import generate, synth

SAMPLE_DIR = Path(generate.__file__).resolve().parent
EXPORT_FILES = sorted((SAMPLE_DIR / "exports").iterdir())
REFERENCE_FILE = SAMPLE_DIR / "reference" / "phuong-ky-2023.xlsx"
MANIFEST = json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4,5}$")

# Literal expectations: a silent change in the generator or the loader must fail here, not only drift
# together with manifest.json.
EXPECTED_DOSSIERS = 8196
EXPECTED_REJECTS = 5
EXPECTED_IMPORTS = 36
EXPECTED_PER_UNIT = {
    "10510": 499, "10525": 630, "10532": 576, "11074": 578, "11140": 437, "11242": 363,
    "L-phuong-binh-han": 969, "L-phuong-cam-thuong": 904, "L-xa-ha-ky": 633, "L-xa-ha-thanh-tu-ky": 494,
    "L-xa-phuong-ky": 835, "L-xa-quang-phuc-tu-ky": 500,
    # Issue 10: a split commune (Thanh Tùng -> Nguyễn Lương Bằng / Thượng Hồng) and its neighbour, both
    # numbering dossiers with local receipt numbers that collide across the two units.
    "L-xa-thanh-tung-thanh-mien": 461, "L-xa-doan-tung": 317,
}


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def life() -> pd.DataFrame:
    return generate.build_life()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate.generate(out)
    return out


# ------------------------------------------------------------------------------------- determinism


def test_generated_files_equal_committed_files(generated):
    committed = [f"exports/{p.name}" for p in EXPORT_FILES] + ["reference/phuong-ky-2023.xlsx", "manifest.json"]
    assert _files_under(generated) == sorted(committed)
    _, mismatch, errors = filecmp.cmpfiles(generated, SAMPLE_DIR, committed, shallow=False)
    assert mismatch == [] and errors == [], "rerun `python -m sample_data.generate` and commit the result"


def test_generation_is_byte_identical_twice(generated, tmp_path):
    generate.generate(tmp_path)
    names = _files_under(generated)
    assert _files_under(tmp_path) == names
    _, mismatch, errors = filecmp.cmpfiles(generated, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == []


def test_manifest_describes_every_export_file():
    listed = {f["file"]: f for f in MANIFEST["files"]}
    assert sorted(listed) == [p.name for p in EXPORT_FILES]
    assert sum(f["bad_rows"] for f in listed.values()) == EXPECTED_REJECTS
    formats = {f["format"] for f in listed.values()}
    assert {"xlsx", "html", "csv", "csv-cp1258", "spreadsheetml", "json"} <= formats
    overlap = [name for name, f in listed.items() if f["exported_at"] != MANIFEST["as_of"]]
    assert overlap == ["2026-q3_xa-lac-phuong_xa-nguyen-luong-bang_xuat-15-09-2026.csv"]
    # Every dossier is counted once: the non-overlapping files add up to the expected total.
    regular = sum(f["dossier_rows"] for name, f in listed.items() if name not in overlap)
    assert regular == MANIFEST["expected"]["dossiers"] == EXPECTED_DOSSIERS
    assert sum(p.stat().st_size for p in EXPORT_FILES) < 8 * 1024 * 1024


def test_demo_truth_is_realistic():
    expected = MANIFEST["expected"]
    by_year: dict[str, list[int]] = {}
    for row in expected["per_unit_quarter"]:
        totals = by_year.setdefault(row["quarter"][:4], [0, 0])
        totals[0] += row["received"]
        totals[1] += row["online"]
    online_share = {year: online / received for year, (received, online) in by_year.items()}
    assert 0.3 < online_share["2023"] < 0.5 and 0.8 < online_share["2026"] < 0.95
    assert expected["early"] > expected["on_time"] > expected["late"] > 0
    assert expected["pending_overdue"] > 0 and expected["pending_due_soon"] > 0
    assert min(expected["withdrawn"], expected["stopped"], expected["refused"], expected["supplemented"]) > 0
    legacy = {u for u, v in expected["per_unit"].items() if v["code"].startswith("L-")}
    assert legacy == {"Xã Phượng Kỳ", "Xã Hà Kỳ", "Xã Quang Phục", "Xã Hà Thanh", "Phường Bình Hàn",
                      "Phường Cẩm Thượng", "Xã Thanh Tùng", "Xã Đoàn Tùng"}
    quarters_of = {u: {r["quarter"] for r in expected["per_unit_quarter"] if r["unit"] == u}
                   for u in expected["per_unit"]}
    assert all(max(quarters_of[u]) <= "2025Q2" for u in legacy)
    assert all(min(q) >= "2025Q3" for u, q in quarters_of.items() if u not in legacy)


# ------------------------------------------------------------------------------------------- synth


def test_export_frame_shape_codes_and_determinism():
    frame = synth.export_frame(3000, seed=7, n_units=5, start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert list(frame.columns) == list(synth.EXPORT_COLUMNS)
    assert len(frame) == 3000
    assert frame["Mã hồ sơ"].is_unique
    assert frame["Mã hồ sơ"].map(lambda c: bool(CODE_RE.match(c))).all()
    assert frame["STT"].tolist() == list(range(1, 3001))
    assert set(frame["Đơn vị tiếp nhận"]) <= set(synth.hai_phong_units(5))
    received = pd.to_datetime(frame["Ngày tiếp nhận"], format="%d/%m/%Y %H:%M:%S")
    assert received.is_monotonic_increasing
    assert received.min() >= pd.Timestamp("2024-01-01") and received.max() < pd.Timestamp("2025-01-01")
    assert not received.dt.day_of_week.isin([5, 6]).any()  # received on working days only
    due = pd.to_datetime(frame["Ngày hẹn trả"], format="%d/%m/%Y %H:%M:%S")
    assert (due > received).all()
    assert set(frame["Trạng thái"]) <= set(synth.STATUS_LABELS.values())
    pd.testing.assert_frame_equal(frame, synth.export_frame(3000, seed=7, n_units=5, start=date(2024, 1, 1),
                                                            end=date(2024, 12, 31)))
    other = synth.export_frame(3000, seed=8, n_units=5, start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert not frame["Ngày tiếp nhận"].equals(other["Ngày tiếp nhận"])


def test_export_frame_online_share_rises():
    frame = synth.export_frame(20000, seed=1)
    year = frame["Ngày tiếp nhận"].str[6:10]
    share = (frame["Kênh thực hiện"] == "Trực tuyến").groupby(year).mean()
    assert share["2023"] < 0.55 < 0.75 < share["2026"]


def test_date_text_matches_strftime():
    stamps = np.array(["2023-01-05T07:08:09", "NaT", "2026-12-31T23:59:59"], dtype="datetime64[s]")
    assert synth.date_text(stamps).to_pylist() == ["05/01/2023 07:08:09", None, "31/12/2026 23:59:59"]
    assert synth.date_text(stamps, "%Y%m%d%H%M%S").to_pylist()[0] == "20230105070809"
    spread = np.datetime64("1960-01-01T00:00:00") + np.random.default_rng(0).integers(0, 3 * 10**9, 20000) \
        * np.timedelta64(1, "s")
    for fmt in (synth.DATE_TEXT_FORMAT, "%y%m%d", "%Y%m%d%H%M%S"):
        assert synth.date_text(spread, fmt).equals(pc.strftime(pa.array(spread), format=fmt))


def test_write_csv_and_xlsx_round_trip(tmp_path):
    frame = synth.export_frame(200, seed=3)
    csv_path = synth.write_csv(frame, tmp_path / "x.csv")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfSTT;M")
    back = pd.read_csv(csv_path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back["Mã hồ sơ"].tolist() == frame["Mã hồ sơ"].tolist()
    assert back["Ngày kết thúc xử lý"].tolist() == frame["Ngày kết thúc xử lý"].fillna("").tolist()

    from python_calamine import CalamineWorkbook

    xlsx_path = synth.write_xlsx(frame, tmp_path / "x.xlsx")
    rows = CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_index(0).to_python()
    assert rows[0] == list(synth.EXPORT_COLUMNS)
    assert len(rows) == 201 and rows[5][1] == frame["Mã hồ sơ"][4]


# ---------------------------------------------------------------------------------- loading (pipeline)


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory):
    pipeline = pytest.importorskip("loaders.pipeline")
    from motcua.db import Database

    path = tmp_path_factory.mktemp("db") / "sample.duckdb"
    summary = pipeline.import_files([str(p) for p in EXPORT_FILES], db_path=path)
    assert all(f.status == "loaded" for f in summary.files), [f.message for f in summary.files]
    return Database(path)


def test_loading_every_file_gives_exact_counts(loaded_db):
    expected = MANIFEST["expected"]
    dossiers = loaded_db.query_rows("SELECT count(*) FROM dossiers")[0][0]
    rejects = loaded_db.query_rows("SELECT count(*) FROM rejects")[0][0]
    imports = loaded_db.query_rows("SELECT count(*) FROM imports WHERE status = 'loaded'")[0][0]
    assert (dossiers, rejects, imports) == (expected["dossiers"], expected["rejects"], expected["imports"])
    assert (dossiers, rejects, imports) == (EXPECTED_DOSSIERS, EXPECTED_REJECTS, EXPECTED_IMPORTS)
    per_unit = dict(loaded_db.query_rows("SELECT receiving_unit_code, count(*) FROM dossiers GROUP BY 1"))
    assert per_unit == {v["code"]: v["dossiers"] for v in expected["per_unit"].values()}
    assert per_unit == EXPECTED_PER_UNIT


def test_rejected_rows_are_the_planted_ones(loaded_db):
    got = loaded_db.query_rows("SELECT file_name, raw_value FROM rejects ORDER BY file_name, row_number")
    planted = [(r["file"], r["raw_value"]) for r in MANIFEST["expected"]["rejected_rows"]]
    assert len(planted) == EXPECTED_REJECTS

    def key(row):
        return row[0], row[1] or ""

    assert sorted(got, key=key) == sorted(planted, key=key)


# Per unit, what the loaded data must say about each KPI building block (except counts the unit's file
# format cannot carry, listed in the manifest: e.g. the cp1258 legacy CSV has no "Số lần bổ sung").
_KPI_SQL = """
SELECT receiving_unit_code AS code,
  count(*) FILTER (WHERE channel = 'online') AS online,
  count(*) FILTER (WHERE status IN (9, 10)) AS resolved,
  count(*) FILTER (WHERE status IN (9, 10) AND finished_at::DATE < coalesce(new_due_at, due_at)::DATE) AS early,
  count(*) FILTER (WHERE status IN (9, 10) AND finished_at::DATE = coalesce(new_due_at, due_at)::DATE) AS on_time,
  count(*) FILTER (WHERE status IN (9, 10) AND finished_at::DATE > coalesce(new_due_at, due_at)::DATE) AS late,
  count(*) FILTER (WHERE status IN (2, 4, 5)) AS pending,
  count(*) FILTER (WHERE status = 7) AS withdrawn,
  count(*) FILTER (WHERE status = 8) AS stopped,
  count(*) FILTER (WHERE status = 3) AS refused,
  count(*) FILTER (WHERE supplement_count > 0) AS supplemented,
  count(*) FILTER (WHERE has_digitized_components) AS digitized,
  count(*) FILTER (WHERE has_electronic_result) AS e_result,
  count(*) FILTER (WHERE reused_digitized_data) AS reused,
  count(*) FILTER (WHERE paid_online) AS paid_online
FROM dossiers GROUP BY 1
"""


def test_loaded_kpi_building_blocks_match_generator_truth(loaded_db):
    loaded = {r["code"]: r for r in loaded_db.query_df(_KPI_SQL).to_dict("records")}
    mismatches = {}
    not_exported = MANIFEST["expected"]["fields_not_exported"]
    assert not_exported == {"Phường Cẩm Thượng": ["supplemented", "e_result", "reused", "paid_online"],
                            "Phường Bình Hàn": ["paid_online"]}
    for unit, truth in MANIFEST["expected"]["per_unit"].items():
        keys = [k for k in ("online", "resolved", "early", "on_time", "late", "pending", "withdrawn", "stopped",
                            "refused", "supplemented", "digitized", "e_result", "reused", "paid_online")
                if k not in not_exported.get(unit, [])]
        diff = {k: (loaded[truth["code"]][k], truth[k]) for k in keys if loaded[truth["code"]][k] != truth[k]}
        if diff:
            mismatches[unit] = diff
    assert mismatches == {}


def test_loaded_quarterly_reception_matches_generator_truth(loaded_db):
    code_of = {unit: v["code"] for unit, v in MANIFEST["expected"]["per_unit"].items()}
    expected = {(code_of[r["unit"]], r["quarter"]): (r["received"], r["online"])
                for r in MANIFEST["expected"]["per_unit_quarter"]}
    rows = loaded_db.query_rows("""
        SELECT receiving_unit_code, strftime(received_at, '%Y') || 'Q' || quarter(received_at),
               count(*), count(*) FILTER (WHERE channel = 'online')
        FROM dossiers GROUP BY 1, 2""")
    assert {(code, quarter): (n, online) for code, quarter, n, online in rows} == expected
    assert len(expected) == 8 * 10 + 6 * 5  # old communes 2023Q1-2025Q2, new ones 2025Q3-2026Q3


def test_overlapping_reexport_keeps_the_newer_state(loaded_db, life):
    """The 15/09 re-export shows dossiers still open that the 30/09 quarterly file shows resolved."""
    final = generate.state_at(life, generate.AS_OF)
    early = generate.state_at(life, datetime(2026, 9, 15, 17, 0, 0))
    changed = early.merge(final, on="code", suffixes=("_15", "_30"))
    changed = changed[(changed["status_15"] != changed["status_30"])
                      & changed["unit_idx_30"].isin([7, 8])]  # Xã Lạc Phượng, Xã Nguyễn Lương Bằng
    assert len(changed) > 0
    got = dict(loaded_db.query_rows("SELECT dossier_code, status FROM dossiers WHERE dossier_code IN "
                                    "(SELECT unnest(?))", [changed["code"].tolist()]))
    assert got == dict(zip(changed["code"], changed["status_30"].astype(int), strict=True))


def test_personal_data_is_not_stored(loaded_db, life):
    state = generate.state_at(life, generate.AS_OF)
    with_pii = [generate.COMMUNES.index(c) for c in generate.COMMUNES if c.name in ("Xã Tứ Kỳ", "Phường Thành Đông")]
    rows = generate.to_rows(state[state["unit_idx"].isin(with_pii)])
    fake = {value for r in rows for value in r.pii()}
    assert fake
    columns = [c for c, t in loaded_db.query_rows(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'dossiers'")
        if t == "VARCHAR"]
    text = loaded_db.query_df(f"SELECT {', '.join(columns)} FROM dossiers").astype(str).to_numpy().ravel()
    rejects = loaded_db.query_df("SELECT raw_value FROM rejects").astype(str).to_numpy().ravel()
    assert fake.isdisjoint(set(text) | set(rejects))


def test_procedure_catalogue_is_loaded(loaded_db):
    procedures = dict(loaded_db.query_rows("SELECT procedure_code, from_catalogue FROM procedures"))
    idle = MANIFEST["expected"]["procedures_without_dossiers"]
    assert all(procedures.get(code) for code in idle)
    used = {c for (c,) in loaded_db.query_rows("SELECT DISTINCT procedure_code FROM dossiers")}
    assert used.isdisjoint(idle)


def test_phuong_ky_reference_file(tmp_path):
    pipeline = pytest.importorskip("loaders.pipeline")
    from motcua.db import Database

    path = tmp_path / "ref.duckdb"
    summary = pipeline.import_files([str(REFERENCE_FILE)], db_path=path)
    assert summary.files[0].rows_rejected == 0
    row = Database(path).query_df("""
        SELECT count(*) AS total,
               count(*) FILTER (WHERE channel = 'online') AS online,
               count(*) FILTER (WHERE channel = 'direct') AS direct,
               count(*) FILTER (WHERE channel = 'direct' AND field_name = 'Người có công') AS direct_ncc,
               count(*) FILTER (WHERE status IN (9, 10) AND finished_at::DATE < due_at::DATE) AS early,
               count(*) FILTER (WHERE has_digitized_components) AS digitized,
               count(*) FILTER (WHERE has_electronic_result) AS e_result,
               count(*) FILTER (WHERE dvc_level IN ('toan_trinh', 'mot_phan')) AS level_3_4,
               min(received_at)::DATE AS first_day, max(received_at)::DATE AS last_day,
               count(DISTINCT receiving_unit_code) AS units, min(receiving_unit_code) AS unit
        FROM dossiers""").iloc[0]
    assert (row.total, row.online, row.direct, row.direct_ncc) == (907, 892, 15, 15)
    assert row.early == row.digitized == row.e_result == row.level_3_4 == 907
    assert pd.Timestamp(row.first_day) >= pd.Timestamp(2022, 12, 10)
    assert pd.Timestamp(row.last_day) <= pd.Timestamp(2023, 7, 31)
    assert (row.units, row.unit) == (1, "L-xa-phuong-ky")
    reference = MANIFEST["reference"]
    assert (reference["dossiers"], reference["online"], reference["direct"], reference["early"]) == (907, 892,
                                                                                                    15, 907)


def test_split_commune_and_receipt_number_collision(loaded_db):
    """The same receipt number in two units is two dossiers; under the current boundaries the split
    commune's history counts for its default successor (Xã Nguyễn Lương Bằng, 11242)."""
    from motcua import metrics
    from motcua.filters import Scope
    from motcua.periods import parse_period
    from motcua.settings import Settings

    shared = loaded_db.query_rows("""
        SELECT count(*) FROM (SELECT dossier_code FROM dossiers WHERE dossier_code LIKE 'BN-%'
                              GROUP BY dossier_code HAVING count(DISTINCT receiving_unit_code) = 2)""")[0][0]
    assert shared > 100
    year = parse_period("2024")
    current = metrics.kpi_counts(loaded_db, Scope(unit_codes=("11242",)), year)["new"]
    recorded = metrics.kpi_counts(loaded_db, Scope(unit_codes=("11242",)), year,
                                  Settings(boundaries="recorded"))["new"]
    assert recorded == 0 and current == loaded_db.query_rows(
        "SELECT count(*) FROM kpi_facts WHERE resolving_unit_code IN ('L-xa-thanh-tung-thanh-mien', "
        "'L-xa-doan-tung') AND year(received_day) = 2024")[0][0] > 0


def test_lac_phuong_monthly_series_is_continuous_2023_2026(loaded_db):
    """Done-when of issue 10: a chair of Xã Lạc Phượng sees one continuous monthly series 2023–2026."""
    from motcua import metrics
    from motcua.filters import Scope
    from motcua.periods import parse_period

    frames = [metrics.breakdown(loaded_db, Scope(unit_codes=("11140",)), parse_period(str(year)), "month")
              for year in (2023, 2024, 2025, 2026)]
    months = pd.concat(frames, ignore_index=True)
    months = months[months["key"] <= "2026M09"]
    assert len(months) == 45 and (months["received_total"] > 0).all()
    # The carried-over chain holds across 1/7/2025: each month starts with what the previous one left.
    assert (months["carried_over"].iloc[1:].to_numpy() == months["pending_total"].iloc[:-1].to_numpy()).all()


def test_sample_data_names_departments_and_non_territorial_dossiers(loaded_db):
    """Issue 17: the demo has handling departments, officers in the export (not stored by default) and
    applicants from other communes/provinces (flag derived from the address, which is never stored)."""
    database = loaded_db
    departments = {name for (name,) in database.query_rows(
        "SELECT DISTINCT handling_department FROM dossiers WHERE handling_department IS NOT NULL")}
    assert {"Phòng Kinh tế", "Phòng Văn hóa - Xã hội", "Văn phòng HĐND và UBND"} <= departments
    assert database.query_rows("SELECT count(handling_officer) FROM dossiers")[0][0] == 0  # site default: off
    flagged, known = database.query_rows(
        "SELECT count(*) FILTER (WHERE non_territorial), count(non_territorial) FROM dossiers")[0]
    assert 0 < flagged < known
    for table, column in database.query_rows("SELECT table_name, column_name FROM duckdb_columns() "
                                             "WHERE data_type = 'VARCHAR' AND schema_name = 'main' "
                                             "AND NOT internal"):
        assert not database.query_rows(f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE \'Thôn %\'')[0][0]

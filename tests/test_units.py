"""Units across the 2025 reform: committed history, the one resolver, labels (issue 10)."""

from __future__ import annotations

import csv
import importlib.util
import statistics
import time

import pytest

from loaders import pipeline
from motcua import db as dbmod
from motcua import units as unitsmod
from motcua.units import UnitError, resolve_unit

THANH_HA, LAC_PHUONG, NGUYEN_LUONG_BANG, TU_KY, BAC_HONG_LINH = "10813", "11140", "11242", "11074", "18115"


@pytest.fixture(scope="module")
def con():
    con = dbmod.connect_memory()
    unitsmod.seed_units(con)
    return con


# -- the committed history ------------------------------------------------------------------------------
@pytest.mark.parametrize("legacy, successor", [
    ("Xã Thanh Xá, Thanh Hà, Hải Dương", THANH_HA),  # abolished in the 2023–2025 round, then 2025
    ("Xã Phượng Kỳ", LAC_PHUONG),
    ("Xã Thanh Tùng, Thanh Miện", NGUYEN_LUONG_BANG),  # split commune: the default successor
    ("Xã Quang Phục, Tứ Kỳ", TU_KY),
    ("Phường Đức Thuận, Hồng Lĩnh", BAC_HONG_LINH),
])
def test_tested_mappings(con, legacy, successor):
    unit = resolve_unit(con, legacy)
    assert not unit.in_catalogue and unit.successor_code == successor


def test_catalogue_sizes_and_many_to_many_lineage(con):
    counts = dict(con.execute("SELECT in_catalogue, count(*) FROM units WHERE level = 'commune' GROUP BY 1").fetchall())
    assert counts[True] == 3321
    assert con.execute("SELECT count(*) FROM unit_history WHERE valid_to = DATE '2025-07-01'").fetchall()[0][0] >= 10_000
    # Thanh Tùng was split: both successors are kept, one is the default, with the effective date.
    rows = con.execute("SELECT to_code, is_default, effective FROM unit_lineage "
                       "WHERE from_code = 'L-xa-thanh-tung-thanh-mien' ORDER BY to_code").fetchall()
    assert len(rows) == 2 and [r[0] for r in rows if r[1]] == [NGUYEN_LUONG_BANG]
    assert {str(r[2]) for r in rows} == {"2025-07-01"}
    # Every legacy unit has a current province and successor (no unit falls out of province scopes).
    assert con.execute("SELECT count(*) FROM units WHERE NOT in_catalogue AND "
                       "(province_code IS NULL OR successor_code IS NULL)").fetchall()[0][0] == 0


def test_old_codes_colliding_with_new_ones_are_not_joined(con):
    # Old Bình Hàn had GSO code 10510, which is now Phường Thành Đông: joined on names, not codes.
    binh_han = resolve_unit(con, "Phường Bình Hàn")
    assert binh_han.code.startswith("L-") and binh_han.successor_code != "10510" or binh_han.name == "Phường Bình Hàn"
    assert resolve_unit(con, "10510").name == "Phường Thành Đông"


@pytest.mark.skipif(importlib.util.find_spec("vietnamadminunits") is None, reason="generator input not installed")
def test_committed_history_is_what_the_generator_builds():
    from scripts import build_unit_history

    units, lineage, provinces = build_unit_history.build()
    for name, rows in (("units_legacy.csv", units), ("unit_lineage.csv", lineage),
                       ("province_lineage.csv", provinces)):
        with open(unitsmod.DATA_DIR / name, encoding="utf-8") as handle:
            committed = list(csv.DictReader(line for line in handle if not line.startswith("#")))
        assert committed == [{k: str(v) for k, v in row.items()} for row in rows], name


def test_split_commune_override_must_name_a_successor(tmp_path):
    lineage = [{"from_code": "L-a", "to_code": "1", "is_default": "1"}, {"from_code": "L-a", "to_code": "2",
                                                                         "is_default": "0"}]
    assert unitsmod.current_successors(lineage) == {"L-a": "1"}
    assert unitsmod.current_successors(lineage, {"L-a": "2"}) == {"L-a": "2"}
    with pytest.raises(UnitError, match="không phải đơn vị kế thừa"):
        unitsmod.current_successors(lineage, {"L-a": "3"})
    path = tmp_path / "unit_successors.toml"
    path.write_text('[default_successor]\n"L-xa-thanh-tung-thanh-mien" = "10993"\n', encoding="utf-8")
    assert unitsmod.successor_overrides(path) == {"L-xa-thanh-tung-thanh-mien": "10993"}


# -- the resolver ---------------------------------------------------------------------------------------
RESOLVES = [
    # (text, expected code or name) — current and legacy, with/without prefix or diacritics, qualified
    ("Thanh Xá, Hải Dương", "L-xa-thanh-xa-thanh-ha"),
    ("Thanh Xá, Thanh Hà", "L-xa-thanh-xa-thanh-ha"),
    ("Xã Thanh Xá, tỉnh Hải Dương", "L-xa-thanh-xa-thanh-ha"),
    ("thanh xa, hai duong", "L-xa-thanh-xa-thanh-ha"),
    ("Phượng Kỳ", "L-xa-phuong-ky"),  # was read as "Phường Kỳ"
    ("Xã Phượng Kỳ", "L-xa-phuong-ky"),
    ("Phượng Sơn", "07612"),  # Phường Phượng Sơn, not a new legacy unit "Sơn"
    ("phuong son", "07612"),
    ("Phường Phượng Sơn", "07612"),
    ("Thành Đông", "10510"),  # exact diacritics beat Xã Thạnh Đông (An Giang)
    ("UBND phường Hải Dương", "10525"),
    ("P. Hải Dương", "10525"),
    ("Hải Dương", "10525"),
    ("Ủy ban nhân dân xã Thanh Hà, Hải Dương", THANH_HA),  # current commune qualified by its old province
    ("Thanh Hà, Hải Phòng", THANH_HA),
    ("10813", THANH_HA),
    ("L-xa-phuong-ky", "L-xa-phuong-ky"),
    ("Xã Lạc Phượng", LAC_PHUONG),  # current beats the legacy commune of the same name
    ("Lạc Phượng (cũ)", "L-xa-lac-phuong"),
    ("Thành phố Hải Phòng", "31"),
    ("Hải Phòng", "31"),  # not Xã Hải Phong
    ("Xã Tân Tiến, tỉnh Đồng Nai", "25318"),
]


@pytest.mark.parametrize("text, expected", RESOLVES)
def test_resolves(con, text, expected):
    assert resolve_unit(con, text).code == expected


AMBIGUOUS = [
    # (text, fragments every candidate listing must contain)
    ("Xã Thanh Xá", ["huyện Thanh Hà, tỉnh Hải Dương — nay thuộc Xã Thanh Hà", "huyện Thanh Ba, tỉnh Phú Thọ"]),
    ("thanh dong", ["Phường Thành Đông", "Xã Thạnh Đông"]),
    ("Xã Tân Tiến", ["Đồng Nai"]),
]


@pytest.mark.parametrize("text, fragments", AMBIGUOUS)
def test_ambiguous_names_list_candidates(con, text, fragments):
    with pytest.raises(UnitError, match="không rõ ràng") as info:
        resolve_unit(con, text)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_site_province_narrows_names(con, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('province = "Tỉnh Phú Thọ"\n', encoding="utf-8")
    province = unitsmod.site_province(con, site)
    assert resolve_unit(con, "Xã Thanh Xá", province=province).code == "L-xa-thanh-xa-thanh-ba"
    site.write_text('province = "Hải Dương"\n', encoding="utf-8")  # an old province merged into Hải Phòng
    assert unitsmod.site_province(con, site) == "31"
    assert resolve_unit(con, "Xã Thanh Xá", province="31").code == "L-xa-thanh-xa-thanh-ha"


def test_legacy_labels_never_print_nan(con):
    unit = resolve_unit(con, "Thanh Xá, Hải Dương")
    assert unit.display_name == "Xã Thanh Xá (cũ), huyện Thanh Hà, tỉnh Hải Dương — nay thuộc Xã Thanh Hà"
    assert unitsmod.legacy_label("Xã A", None, float("nan"), None) == "Xã A (cũ)"
    frame = unitsmod.list_units(con)
    assert not frame["label"].str.contains(r"\bnan\b|None").any() and frame["label"].notna().all()


@pytest.mark.parametrize("title, region", [
    ("Thành phố Hải Phòng", True), ("UBND tỉnh Hải Dương", True), ("Huyện Thanh Hà", True),
    ("Thị xã Kinh Môn", True), ("Quận Ba Đình", True), ("Xã Thanh Hà", False), ("Phượng Kỳ", False),
])
def test_titles_naming_a_region_are_never_communes(title, region):
    assert unitsmod.names_a_region(title) is region


def test_empty_province_is_an_error_never_all_units(con):
    con.execute("INSERT INTO units VALUES ('99', 'Tỉnh Trống', 'tỉnh', '99', 'Tỉnh Trống', 'province', true, NULL, "
                "'trong')")
    try:
        with pytest.raises(UnitError, match="trống"):
            unitsmod.commune_codes(con, "99")
    finally:
        con.execute("DELETE FROM units WHERE code = '99'")
    assert len(unitsmod.commune_codes(con, unitsmod.resolve_province(con, "Thành phố Hải Phòng"))) > 100


def test_resolution_stays_under_5_ms(con):
    resolve_unit(con, "Thanh Xá, Hải Dương")  # index built once
    timings = []
    for text in ("Thanh Xá, Hải Dương", "Phượng Kỳ", "UBND phường Hải Dương", "Xã Lạc Phượng", "10813"):
        best = float("inf")
        for _ in range(20):  # best of 20: the machine is shared, the claim is the cost of the work
            started = time.perf_counter()
            resolve_unit(con, text)
            best = min(best, time.perf_counter() - started)
        timings.append(best)
    assert statistics.median(timings) < 0.005


# -- loaders -------------------------------------------------------------------------------------------
def _csv(path, rows, header=("Mã hồ sơ", "Đơn vị tiếp nhận", "Ngày tiếp nhận", "Trạng thái")):
    lines = [";".join(header)] + [";".join(row) for row in rows]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def test_one_bad_unit_name_rejects_only_its_row(tmp_path):
    # Before: the damaged name became a unit without province, the province inference gave up and every
    # row of the ambiguous (but settled by the province) "Xã Tân Kỳ" was rejected.
    rows = [(f"TK-{i}", "Xã Tân Kỳ", "03/09/2025", "Đang xử lý") for i in range(300)]
    rows += [(f"TY-{i}", "Xã Tứ Kỳ", "03/09/2025", "Đang xử lý") for i in range(300)]
    rows += [("BAD-1", "Xã T\ufffd Kỳ", "03/09/2025", "Đang xử lý")]
    path = _csv(tmp_path / "tinh.csv", rows)
    result = pipeline.import_files([path], db_path=tmp_path / "db.duckdb").files[0]
    assert (result.rows_loaded, result.rows_rejected) == (600, 1)
    reason = dbmod.Database(tmp_path / "db.duckdb").query_rows("SELECT row_number, reason FROM rejects")
    assert reason[0][0] == 602 and "Không tìm thấy đơn vị" in reason[0][1]


def test_unit_column_phuong_son_matches_the_ward(tmp_path):
    path = _csv(tmp_path / "bn.csv", [("PS-1", "Phượng Sơn", "03/09/2025", "Đang xử lý")])
    pipeline.import_files([path], db_path=tmp_path / "db.duckdb")
    database = dbmod.Database(tmp_path / "db.duckdb")
    assert database.query_rows("SELECT receiving_unit_code FROM dossiers") == [("07612",)]
    assert database.query_rows("SELECT count(*) FROM units WHERE code LIKE 'L-son%'") == [(0,)]


def test_load_with_a_qualified_legacy_unit(tmp_path):
    path = _csv(tmp_path / "thanh-xa-2023.csv", [("TX-1", "", "03/04/2023", "Đang xử lý")])
    result = pipeline.import_files([path], db_path=tmp_path / "db.duckdb", unit="Thanh Xá, Hải Dương").files[0]
    assert (result.status, result.rows_loaded, result.unit_code) == ("loaded", 1, "L-xa-thanh-xa-thanh-ha")


def test_region_title_row_never_becomes_a_commune(tmp_path):
    from conftest import write_xlsx

    path = write_xlsx(tmp_path / "hp.xlsx", {"DS": [
        ["ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG"],
        ["DANH SÁCH HỒ SƠ"],
        ["Mã hồ sơ", "Đơn vị tiếp nhận", "Ngày tiếp nhận", "Trạng thái"],
        ["HP-1", "Xã Tứ Kỳ", "03/09/2025", "Đang xử lý"],
    ]})
    result = pipeline.import_files([path], db_path=tmp_path / "db.duckdb").files[0]
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    database = dbmod.Database(tmp_path / "db.duckdb")
    assert database.query_rows("SELECT count(*) FROM units WHERE level = 'commune' AND name ILIKE '%thành phố%'") == [(0,)]


@pytest.mark.parametrize("address, code", [
    ("Thôn 3, xã Thanh Xá, huyện Thanh Hà, tỉnh Hải Dương", "L-xa-thanh-xa-thanh-ha"),
    ("Số 5 đường Trần Phú, phường Hải Dương, thành phố Hải Phòng", "10525"),
    ("Thôn Đông, xã Phượng Kỳ, huyện Tứ Kỳ", "L-xa-phuong-ky"),
])
def test_resolve_address(con, address, code):
    assert unitsmod.resolve_address(con, address).code == code


def test_address_without_commune_is_an_error(con):
    with pytest.raises(UnitError, match="không ghi rõ"):
        unitsmod.resolve_address(con, "Thôn 3, huyện Thanh Hà, tỉnh Hải Dương")

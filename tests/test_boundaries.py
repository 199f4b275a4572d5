"""Boundaries (current | recorded) and attribution (resolving | receiving) across the 2025 reform (issue 10)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import main
from loaders import pipeline
from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.settings import Settings

THANH_HA, LAC_PHUONG, TU_KY = "10813", "11140", "11074"
HEADER = ("Mã hồ sơ", "Đơn vị tiếp nhận", "Đơn vị giải quyết", "Ngày tiếp nhận", "Ngày hẹn trả",
          "Ngày kết thúc xử lý", "Trạng thái")


def _csv(path, rows, header=HEADER):
    lines = [";".join(header)] + [";".join(row) for row in rows]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    """Thanh Xá 2023 (loaded with --unit), Phượng Kỳ before the reform with two dossiers still open on
    1/7/2025, Lạc Phượng after it, and a dossier received by Tứ Kỳ but resolved by Lạc Phượng."""
    folder = tmp_path_factory.mktemp("boundaries")
    path = folder / "db.duckdb"
    thanh_xa = _csv(folder / "thanh-xa-2023.csv", [
        (f"TX-{i}", "", "", f"{10 + i:02d}/03/2023", f"{20 + i:02d}/03/2023", f"{15 + i:02d}/03/2023", "Đã trả kết quả")
        for i in range(3)])
    result = runner_invoke(["load", "--db", str(path), "--unit", "Thanh Xá, Hải Dương", str(thanh_xa)])
    assert result.exit_code == 0, result.output
    phuong_ky = _csv(folder / "phuong-ky.csv", [
        ("PK-1", "Xã Phượng Kỳ", "", "02/05/2025", "20/05/2025", "10/05/2025", "Đã trả kết quả"),
        ("PK-2", "Xã Phượng Kỳ", "", "20/06/2025", "10/07/2025", "", "Đang xử lý"),
        ("PK-3", "Xã Phượng Kỳ", "", "25/06/2025", "15/07/2025", "", "Đang xử lý"),
    ])
    lac_phuong = _csv(folder / "lac-phuong.csv", [
        ("LP-1", "Xã Lạc Phượng", "", "03/07/2025", "20/07/2025", "10/07/2025", "Đã trả kết quả"),
        ("LP-2", "Xã Tứ Kỳ", "Xã Lạc Phượng", "04/07/2025", "25/07/2025", "11/07/2025", "Đã trả kết quả"),
    ])
    summary = pipeline.import_files([phuong_ky, lac_phuong], db_path=path)
    assert [f.rows_rejected for f in summary.files] == [0, 0]
    return path


def runner_invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_load_with_qualified_legacy_unit_and_kpi_boundaries(db_path):
    # Done-when: the 2023 export of Thanh Xá counts for Xã Thanh Hà (10813) by default, not when recorded.
    default = json.loads(runner_invoke(["kpi", "--db", str(db_path), "--unit", THANH_HA, "--period", "2023",
                                        "--json"]).output)
    recorded = json.loads(runner_invoke(["kpi", "--db", str(db_path), "--unit", THANH_HA, "--period", "2023",
                                         "--boundaries", "recorded", "--json"]).output)
    assert default["received"]["total"] == 3 and default["settings"]["boundaries"] == "current"
    assert recorded["received"]["total"] == 0
    # The legacy unit chosen explicitly shows its own recorded data under either boundaries.
    legacy = json.loads(runner_invoke(["kpi", "--db", str(db_path), "--unit", "Thanh Xá, Thanh Hà", "--period",
                                       "2023", "--json"]).output)
    assert legacy["received"]["total"] == 3


def test_carried_over_chain_continuous_across_the_reform(db_path):
    database = dbmod.Database(db_path)
    scope = Scope(unit_codes=(LAC_PHUONG,))
    q2, q3 = parse_period("2025Q2"), parse_period("2025Q3")
    before = metrics.kpi_counts(database, scope, q2)
    after = metrics.kpi_counts(database, scope, q3)
    # Before the fix the new commune started at zero: carried over 0 although 2 dossiers were open.
    assert before["pending_total"] == 2 and after["carried_over"] == 2
    recorded = metrics.kpi_counts(database, scope, q3, Settings(boundaries="recorded"))
    assert recorded["carried_over"] == 0


def test_league_ranks_only_current_communes(db_path):
    database = dbmod.Database(db_path)
    province = Scope(unit_codes=tuple(r[0] for r in database.query_rows(
        "SELECT code FROM units WHERE province_code = '31' AND level = 'commune'")))
    year = parse_period("2025")
    current = metrics.league_table(database, province, year)
    assert not any(code.startswith("L-") for code in current["key"])
    assert int(current.loc[current["key"] == LAC_PHUONG, "received_total"].iloc[0]) == 5
    recorded = metrics.league_table(database, province, year, Settings(boundaries="recorded"))
    assert "L-xa-phuong-ky" in set(recorded["key"])


def test_attribution_resolving_by_default(db_path):
    database = dbmod.Database(db_path)
    q3 = parse_period("2025Q3")
    tu_ky = Scope(unit_codes=(TU_KY,))
    assert metrics.kpi_counts(database, tu_ky, q3)["new"] == 0  # LP-2 was resolved by Lạc Phượng
    assert metrics.kpi_counts(database, tu_ky, q3, Settings(attribution="receiving"))["new"] == 1
    listed = metrics.dossier_list(database, tu_ky, q3, "new", Settings(attribution="receiving"))
    assert listed["dossier_code"].tolist() == ["LP-2"]


def test_monthly_series_of_the_new_commune_spans_the_reform(db_path):
    database = dbmod.Database(db_path)
    months = metrics.breakdown(database, Scope(unit_codes=(LAC_PHUONG,)), parse_period("2025"), "month")
    by_month = dict(zip(months["key"], months["received_total"], strict=True))
    assert by_month["2025M05"] == 1 and by_month["2025M06"] == 2 and by_month["2025M07"] == 4
    pending = dict(zip(months["key"], months["pending_total"], strict=True))
    carried = dict(zip(months["key"], months["carried_over"], strict=True))
    assert carried["2025M07"] == pending["2025M06"] == 2


def test_reconciliation_of_receiving_and_resolving(db_path):
    database = dbmod.Database(db_path)
    q3 = parse_period("2025Q3")
    assert metrics.attribution_reconciliation(database, Scope(unit_codes=(TU_KY,)), q3) == {
        "both_here": 0, "resolved_elsewhere": 1, "received_elsewhere": 0}
    assert metrics.attribution_reconciliation(database, Scope(unit_codes=(LAC_PHUONG,)), q3) == {
        "both_here": 1, "resolved_elsewhere": 0, "received_elsewhere": 1}


def test_units_command_prints_legacy_units_without_nan(db_path):
    listing = runner_invoke(["units", "--db", str(db_path)]).output
    assert "Xã Thanh Xá (cũ), huyện Thanh Hà, tỉnh Hải Dương — nay thuộc Xã Thanh Hà" in listing
    assert "Xã Phượng Kỳ (cũ), huyện Tứ Kỳ, tỉnh Hải Dương — nay thuộc Xã Lạc Phượng" in listing
    assert " nan" not in listing
    found = runner_invoke(["units", "--db", str(db_path), "--find", "Phượng Kỳ"])  # was read as "Phường Kỳ"
    assert found.exit_code == 0 and "L-xa-phuong-ky" in found.output


def test_report_province_scope_is_never_empty_nor_all(db_path, tmp_path):
    result = CliRunner().invoke(main, ["report", "--db", str(db_path), "--all-units", "--province", "Tỉnh Không Có",
                                       "--period", "2025Q3", "--out", str(tmp_path), "--no-charts"])
    assert result.exit_code == 2 and "Không tìm thấy" in result.output

"""Import side of the official clock (issue 11): no data stays unknown, future due dates are valid."""

from __future__ import annotations

import json
from datetime import date, timedelta

from click.testing import CliRunner

from cli.main import main


def _csv(path, header: str, rows: list[str]):
    path.write_bytes(("\ufeff" + "\n".join([header, *rows]) + "\n").encode("utf-8"))
    return path


def _kpi_json(db, start: date, end: date) -> dict:
    result = CliRunner().invoke(main, ["kpi", "--db", str(db), "--unit", "Phường Ba Đình", "--from",
                                       start.isoformat(), "--to", end.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_csv_without_digitisation_columns_gives_null_rates_with_zero_coverage(tmp_path):
    db = tmp_path / "kpi.duckdb"
    header = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày hẹn trả;Ngày có kết quả;Trạng thái"
    rows = [f"HS-{i};Phường Ba Đình;0{i}/03/2025;1{i}/03/2025;0{i + 1}/03/2025;10" for i in range(1, 4)]
    loaded = CliRunner().invoke(main, ["load", str(_csv(tmp_path / "a.csv", header, rows)), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    result = _kpi_json(db, date(2025, 3, 1), date(2025, 3, 31))
    assert result["rates"]["digitized_intake_rate"] is None
    assert result["coverage"]["digitized_intake_rate"] == {"numerator": 0, "denominator": 3}
    assert result["rates"]["electronic_result_rate"] is None and result["rates"]["reuse_rate"] is None
    assert result["rates"]["online_rate"] == 0.0  # a missing channel is "direct" (QĐ 766), a known value


def test_blank_cell_in_a_present_yes_no_column_means_no(tmp_path):
    db = tmp_path / "kpi.duckdb"
    header = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Trạng thái;Đã số hóa"
    rows = ["HS-1;Phường Ba Đình;01/03/2025;4;x", "HS-2;Phường Ba Đình;02/03/2025;4;"]
    assert CliRunner().invoke(main, ["load", str(_csv(tmp_path / "b.csv", header, rows)), "--db", str(db)]).exit_code == 0
    result = _kpi_json(db, date(2025, 3, 1), date(2025, 3, 31))
    assert result["rates"]["digitized_intake_rate"] == 0.5
    assert result["coverage"]["digitized_intake_rate"] == {"numerator": 2, "denominator": 2}


def test_pending_dossier_due_in_the_future_is_loaded_and_within(tmp_path):
    db = tmp_path / "kpi.duckdb"
    today = date.today()
    received, due = today - timedelta(days=3), today + timedelta(days=40)
    header = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày hẹn trả;Trạng thái"
    rows = [f"HS-1;Phường Ba Đình;{received:%d/%m/%Y};{due:%d/%m/%Y};4",
            f"HS-2;Phường Ba Đình;{received:%d/%m/%Y};{due:%d/%m/%Y} 10:00;4"]
    loaded = CliRunner().invoke(main, ["load", str(_csv(tmp_path / "c.csv", header, rows)), "--db", str(db),
                                       "--json"])
    assert json.loads(loaded.output)["totals"]["rows_rejected"] == 0
    result = _kpi_json(db, received, today)
    assert result["pending"]["within_deadline"] == 2 and result["pending"]["overdue"] == 0
    # Event times in the future are still refused.
    future = [f"HS-3;Phường Ba Đình;{today + timedelta(days=5):%d/%m/%Y};{due:%d/%m/%Y};4"]
    again = CliRunner().invoke(main, ["load", str(_csv(tmp_path / "d.csv", header, future)), "--db", str(db),
                                      "--json"])
    assert json.loads(again.output)["totals"]["rows_rejected"] == 1

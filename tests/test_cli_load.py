"""`motcua load`: JSON output, exit codes, Vietnamese help and summary."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import main

CSV_HEADER = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Trạng thái"


def write_export(path, rows):
    path.write_bytes(("\ufeff" + "\n".join([CSV_HEADER, *rows]) + "\n").encode("utf-8"))
    return path


def run(*args):
    return CliRunner().invoke(main, ["load", *map(str, args)])


def test_help_is_vietnamese():
    result = run("--help")
    assert result.exit_code == 0
    assert "Nạp các tệp xuất hồ sơ" in result.output and "--unit" in result.output and "--json" in result.output


def test_json_output_shape_and_exit_codes(tmp_path):
    db = tmp_path / "kpi.duckdb"
    good = write_export(tmp_path / "a.csv", ["HS-1;Phường Ba Đình;01/03/2025;4", "HS-2;Phường Ba Đình;32/03/2025;4"])
    result = run(good, "--db", db, "--json", "--user", "tester")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["db_path"] == str(db) and data["any_loaded"] is True
    assert data["totals"] == {"rows_read": 2, "rows_loaded": 1, "rows_rejected": 1, "rows_new": 1, "rows_updated": 0}
    file = data["files"][0]
    assert (file["file_name"], file["format"], file["status"], file["import_id"]) == ("a.csv", "csv", "loaded", 1)
    assert file["reject_samples"][0]["row_number"] == 3 and "32/03/2025" in file["reject_samples"][0]["reason"]

    again = run(good, "--db", db, "--json")
    assert again.exit_code == 0  # a duplicate-file skip is not a failure
    assert json.loads(again.output)["files"][0]["status"] == "duplicate_file"


def test_exit_code_non_zero_when_nothing_usable(tmp_path):
    db = tmp_path / "kpi.duckdb"
    all_bad = write_export(tmp_path / "bad.csv", ["HS-1;Phường Ba Đình;hôm qua;4"])
    empty = tmp_path / "rong.csv"
    empty.write_bytes(b"")
    result = run(all_bad, empty, "--db", db)
    assert result.exit_code == 1
    assert "[LỖI] bad.csv" in result.output and "[LỖI] rong.csv" in result.output
    assert "dòng 2, cột 'Ngày tiếp nhận'" in result.output


def test_readable_summary_with_vietnamese_numbers(tmp_path):
    rows = [f"HS-{i};Phường Ba Đình;01/03/2025;4" for i in range(1234)]
    result = run(write_export(tmp_path / "nhieu.csv", rows), "--db", tmp_path / "kpi.duckdb")
    assert result.exit_code == 0, result.output
    assert "Đọc 1.234 dòng · nạp 1.234 · từ chối 0" in result.output


def test_bad_unit_option_is_a_usage_error(tmp_path):
    export = write_export(tmp_path / "a.csv", ["HS-1;;01/03/2025;4"])
    result = run(export, "--db", tmp_path / "kpi.duckdb", "--unit", "Xã Không Tồn Tại Nào")
    assert result.exit_code == 2
    assert "Không tìm thấy đơn vị" in result.output
    assert not (tmp_path / "kpi.duckdb").exists()

"""Dossier identity across units (issue 10): national codes unique alone, receipt numbers per unit; --replace."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import main
from loaders import pipeline
from motcua import db as dbmod

HEADER = ("Mã hồ sơ", "Đơn vị tiếp nhận", "Ngày tiếp nhận", "Trạng thái")


def _csv(path, rows):
    lines = [";".join(HEADER)] + [";".join(row) for row in rows]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def _rows(db_path):
    return dbmod.Database(db_path).query_rows(
        "SELECT dossier_code, receiving_unit_code FROM dossiers ORDER BY receiving_unit_code, dossier_code")


def test_receipt_numbers_are_unique_only_within_their_unit(tmp_path):
    # Before: Lạc Phượng's own 0001/BN silently moved Tứ Kỳ's 0001/BN ("cập nhật").
    db_path = tmp_path / "db.duckdb"
    tu_ky = _csv(tmp_path / "tu-ky.csv", [("0001/BN", "Xã Tứ Kỳ", "02/09/2025", "Đang xử lý")])
    lac_phuong = _csv(tmp_path / "lac-phuong.csv", [("0001/BN", "Xã Lạc Phượng", "03/09/2025", "Đang xử lý")])
    pipeline.import_files([tu_ky], db_path=db_path)
    second = pipeline.import_files([lac_phuong], db_path=db_path).files[0]
    assert (second.rows_new, second.rows_updated) == (1, 0)
    assert _rows(db_path) == [("0001/BN", "11074"), ("0001/BN", "11140")]


def test_same_receipt_number_of_two_units_in_one_file_is_not_a_duplicate(tmp_path):
    path = _csv(tmp_path / "two.csv", [("0007/BN", "Xã Tứ Kỳ", "02/09/2025", "Đang xử lý"),
                                       ("0007/BN", "Xã Lạc Phượng", "02/09/2025", "Đang xử lý")])
    result = pipeline.import_files([path], db_path=tmp_path / "db.duckdb").files[0]
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)


def test_national_code_of_another_unit_is_a_reject_never_an_update(tmp_path):
    db_path = tmp_path / "db.duckdb"
    code = "000.00.31.H26-250902-0001"
    first = _csv(tmp_path / "a.csv", [(code, "Xã Tứ Kỳ", "02/09/2025", "Đang xử lý")])
    second = _csv(tmp_path / "b.csv", [(code, "Xã Lạc Phượng", "02/09/2025", "Đang xử lý"),
                                       ("000.00.31.H26-250902-0002", "Xã Lạc Phượng", "02/09/2025", "Đang xử lý")])
    pipeline.import_files([first], db_path=db_path)
    result = pipeline.import_files([second], db_path=db_path).files[0]
    assert (result.rows_loaded, result.rows_rejected, result.rows_updated) == (1, 1, 0)
    assert "đã có ở đơn vị Xã Tứ Kỳ" in result.reject_samples[0]["reason"]
    assert (code, "11074") in _rows(db_path)
    # The same national code from the same unit is still an update.
    newer = _csv(tmp_path / "c.csv", [(code, "Xã Tứ Kỳ", "02/09/2025 10:00", "Đang xử lý")])
    assert pipeline.import_files([newer], db_path=db_path).files[0].rows_updated == 1


def test_replace_reimports_a_file_with_a_corrected_unit(tmp_path):
    db_path = tmp_path / "db.duckdb"
    path = _csv(tmp_path / "export.csv", [("0001/BN", "", "02/09/2025", "Đang xử lý"),
                                          ("0002/BN", "", "03/09/2025", "Đang xử lý")])
    runner = CliRunner()
    assert runner.invoke(main, ["load", "--db", str(db_path), "--unit", "Xã Tứ Kỳ", str(path)]).exit_code == 0
    # Before: the same file with a corrected --unit was silently skipped as a duplicate.
    skipped = runner.invoke(main, ["load", "--db", str(db_path), "--unit", "Xã Lạc Phượng", str(path), "--json"])
    assert '"duplicate_file"' in skipped.output and {u for _, u in _rows(db_path)} == {"11074"}
    replaced = runner.invoke(main, ["load", "--db", str(db_path), "--unit", "Xã Lạc Phượng", "--replace", str(path)])
    assert replaced.exit_code == 0, replaced.output
    assert _rows(db_path) == [("0001/BN", "11140"), ("0002/BN", "11140")]
    statuses = dbmod.Database(db_path).query_rows("SELECT status FROM imports ORDER BY import_id")
    assert statuses == [("replaced",), ("loaded",)]

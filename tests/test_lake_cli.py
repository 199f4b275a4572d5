"""`motcua lake export|verify` and `motcua kpi --lake/--engine` (DuckDB; the Spark run is in test_spark)."""

from __future__ import annotations

import json
from datetime import datetime

from click.testing import CliRunner

from cli.common import EXIT_BAD_INPUT, EXIT_FAILED
from cli.main import main
from tests.dbfactory import build_db, commune_codes, make_dossiers


def _db(tmp_path):
    return build_db(tmp_path / "m.duckdb", make_dossiers(300, commune_codes(), datetime(2026, 1, 2),
                                                         datetime(2026, 6, 30)))


def test_export_then_nothing_changed_then_verify(tmp_path):
    path, out = _db(tmp_path), tmp_path / "lake"
    runner = CliRunner()
    first = runner.invoke(main, ["lake", "export", "--db", str(path), "--out", str(out), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["rows"]["dossiers"] == 300 and "kpi_facts/01/2026" in report["written"]
    again = runner.invoke(main, ["lake", "export", "--db", str(path), "--out", str(out)])
    assert again.exit_code == 0 and "ghi 0 phân vùng" in again.output
    assert runner.invoke(main, ["lake", "verify", str(out)]).exit_code == 0
    victim = next((out / "procedures").glob("*.parquet"))
    victim.write_bytes(b"broken")
    broken = runner.invoke(main, ["lake", "verify", str(out)])
    assert broken.exit_code == EXIT_FAILED and "khác tổng kiểm" in broken.output


def test_export_of_a_missing_database_fails_clearly(tmp_path):
    result = CliRunner().invoke(main, ["lake", "export", "--db", str(tmp_path / "no.duckdb"), "--out",
                                       str(tmp_path / "lake")])
    assert result.exit_code == EXIT_BAD_INPUT and "Chưa có cơ sở dữ liệu" in result.output


def test_kpi_over_the_lake_equals_kpi_over_the_database(tmp_path):
    path, out = _db(tmp_path), tmp_path / "lake"
    runner = CliRunner()
    assert runner.invoke(main, ["lake", "export", "--db", str(path), "--out", str(out)]).exit_code == 0
    unit = commune_codes()[0]
    from_db = runner.invoke(main, ["kpi", "--db", str(path), "--unit", unit, "--period", "2026Q2", "--json"])
    from_lake = runner.invoke(main, ["kpi", "--lake", str(out), "--unit", unit, "--period", "2026Q2", "--json"])
    assert from_db.exit_code == 0 and from_lake.exit_code == 0, from_lake.output
    on_db, on_lake = json.loads(from_db.output), json.loads(from_lake.output)
    assert on_lake.pop("index_estimate") is None  # the entered index inputs stay in the database
    on_db.pop("index_estimate")
    assert on_db == on_lake


def test_spark_needs_a_lake(tmp_path):
    result = CliRunner().invoke(main, ["kpi", "--engine", "spark", "--unit", "x", "--period", "2026Q2"])
    assert result.exit_code == EXIT_BAD_INPUT and "--lake" in result.output

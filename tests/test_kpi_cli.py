"""`motcua kpi`: unit resolution, periods, JSON shape and the Vietnamese summary."""

from __future__ import annotations

import gc
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from kpi_fixtures import UNITS, dossier_frame
from test_metrics_golden import GOLDEN, PROCEDURES

from cli.kpi import kpi_command
from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period

EXTRA_UNITS = [
    ("20001", "Xã Tân Tiến", "xã", "03", "Tỉnh Đồng Nai", "commune", True, None, "tan tien"),
    ("20002", "Xã Tân Tiến", "xã", "04", "Tỉnh Gia Lai", "commune", True, None, "tan tien"),
]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("kpi") / "kpi.duckdb"
    unit_frame = pd.DataFrame(UNITS + EXTRA_UNITS, columns=[
        "code", "name", "division_type", "province_code", "province_name", "level", "in_catalogue",
        "successor_code", "fold_name"])
    procedure_frame = pd.DataFrame(PROCEDURES)
    dossier_rows = dossier_frame(GOLDEN)
    with dbmod.write_transaction(path) as con:
        con.register("unit_frame", unit_frame)
        con.register("procedure_frame", procedure_frame)
        con.register("dossier_rows", dossier_rows)
        con.execute("INSERT INTO units SELECT * FROM unit_frame")
        con.execute("INSERT INTO procedures BY NAME SELECT * FROM procedure_frame")
        con.execute("INSERT INTO dossiers SELECT * FROM dossier_rows")
    return str(path)


def run(*args):
    return CliRunner().invoke(kpi_command, list(args))


def test_json_is_exactly_compute_kpis(db_path):
    result = run("--db", db_path, "--unit", "Xã Tứ Kỳ", "--period", "2026Q3", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    expected = metrics.compute_kpis(dbmod.Database(db_path), Scope(unit_codes=("10001",)), parse_period("2026Q3"))
    estimate = payload.pop("index_estimate")
    assert payload == json.loads(json.dumps(expected))
    assert payload["received"]["total"] == 11 and payload["resolved"]["early"] == 3
    assert list(payload) == ["units", "period", "received", "resolved", "pending", "returned_or_withdrawn",
                             "reappointed_more_than_once", "rates", "coverage", "levels", "settings"]
    # Tiến độ of the service-index estimate = 20 × the QĐ 766 on-time rate, exactly.
    on_time = next(c for c in estimate["components"] if c["key"] == "td_on_time")
    assert on_time["points"] == 20 * expected["rates"]["on_time_rate_766"]
    assert estimate["label"] == "ước tính" and estimate["version"] == "portal_2026"
    assert estimate["rank"]["text"].startswith("hạng ")
    assert payload["settings"] == metrics.Settings().as_dict()  # every rule in force, reproducible figures


def test_every_setting_is_a_cli_option_and_reaches_the_json(db_path):
    result = run("--db", db_path, "--unit", "Xã Tứ Kỳ", "--period", "2026Q3", "--json", "--returned-policy",
                 "excluded", "--early-rule", "timestamp", "--online-procedure-levels", "toan_trinh",
                 "--at-risk-days", "5")
    assert result.exit_code == 0, result.output
    settings = json.loads(result.output)["settings"]
    assert settings["returned_policy"] == "excluded" and settings["early_rule"] == "timestamp"
    assert settings["online_procedure_levels"] == ["toan_trinh"] and settings["at_risk_days"] == 5
    bad = run("--db", db_path, "--unit", "Xã Tứ Kỳ", "--period", "2026Q3", "--online-procedure-levels", "muc_5")
    assert bad.exit_code == 2 and "muc_5" in bad.output


def test_unit_by_code_folded_name_and_from_to(db_path):
    by_code = run("--db", db_path, "--unit", "10001", "--from", "2026-07-01", "--to", "2026-09-30", "--json")
    by_name = run("--db", db_path, "--unit", "UBND xa tu ky", "--period", "Q3/2026", "--json")
    assert by_code.exit_code == 0 and by_name.exit_code == 0, by_code.output + by_name.output
    first, second = json.loads(by_code.output), json.loads(by_name.output)
    assert first["received"] == second["received"] and first["rates"] == second["rates"]
    assert first["period"]["caption"] == "Từ 01/07/2026 đến 30/09/2026"


def test_settings_options(db_path):
    result = run("--db", db_path, "--unit", "10001", "--period", "2026Q3", "--early-rule", "timestamp",
                 "--returned-policy", "excluded", "--json")
    payload = json.loads(result.output)
    assert payload["resolved"] == {"total": 6, "early": 3, "on_time": 1, "late": 2}
    report = json.loads(run("--db", db_path, "--unit", "10001", "--period", "2026Q3", "--calendar", "report",
                            "--json").output)
    assert report["period"]["from"] == "2026-06-15" and report["period"]["to"] == "2026-09-14"


def test_several_units_add_up(db_path):
    payload = json.loads(run("--db", db_path, "--unit", "10001", "--unit", "Xã Phượng Kỳ", "--period", "2026Q3",
                             "--json").output)
    assert [u["code"] for u in payload["units"]] == ["10001", "10002"]
    assert payload["received"]["new"] == 10


def test_text_summary_is_vietnamese_and_formatted(db_path):
    result = run("--db", db_path, "--unit", "Xã Tứ Kỳ", "--period", "2026Q3")
    assert result.exit_code == 0, result.output
    assert "Xã Tứ Kỳ — Quý 3/2026 (01/07/2026–30/09/2026)" in result.output
    assert "Số hồ sơ nhận giải quyết: 11" in result.output
    assert "Tỷ lệ hồ sơ trực tuyến: 22,22%" in result.output
    assert "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766): 72,73%" in result.output


def test_unknown_and_ambiguous_units_exit_2(db_path):
    unknown = run("--db", db_path, "--unit", "Xã Không Có", "--period", "2026Q3")
    assert unknown.exit_code == 2
    assert "Không Có" in unknown.output
    ambiguous = run("--db", db_path, "--unit", "Tân Tiến", "--period", "2026Q3")
    assert ambiguous.exit_code == 2
    assert "Đồng Nai" in ambiguous.output and "Gia Lai" in ambiguous.output
    chosen = run("--db", db_path, "--unit", "Xã Tân Tiến, tỉnh Đồng Nai", "--period", "2026Q3", "--json")
    assert chosen.exit_code == 0 and json.loads(chosen.output)["units"][0]["code"] == "20001"


def test_bad_period_and_missing_database(db_path, tmp_path):
    bad = run("--db", db_path, "--unit", "10001", "--period", "quý ba")
    assert bad.exit_code == 2 and "Không hiểu kỳ" in bad.output
    neither = run("--db", db_path, "--unit", "10001")
    assert neither.exit_code == 2 and "--period" in neither.output
    missing = run("--db", str(tmp_path / "none.duckdb"), "--unit", "10001", "--period", "2026Q3")
    assert missing.exit_code != 0 and "Chưa có cơ sở dữ liệu" in missing.output


def test_rebuild_recreates_the_derived_table(db_path, tmp_path):
    import shutil

    import duckdb

    copy = tmp_path / "old.duckdb"
    shutil.copyfile(db_path, copy)
    raw = duckdb.connect(str(copy))  # simulate a file from an older version, without the derived tables
    raw.execute("DROP TABLE kpi_facts")
    raw.execute("DROP TABLE kpi_cube")
    raw.close()
    broken = run("--db", str(copy), "--unit", "10001", "--period", "2026Q3", "--json")
    assert broken.exit_code != 0 and "--rebuild" in broken.output
    # The failed run's read connection (kept alive by the traceback) would pin DuckDB's cached instance of
    # the old file in this process; a real CLI run is a fresh process.
    del broken
    gc.collect()
    fixed = run("--db", str(copy), "--rebuild", "--unit", "10001", "--period", "2026Q3", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.output[fixed.output.index("{"):])["received"]["total"] == 11
    assert run("--db", str(copy)).exit_code == 2  # no unit, no rebuild


def test_index_version_is_a_setting_and_never_mixed(db_path):
    result = run("--db", db_path, "--unit", "Xã Tứ Kỳ", "--period", "2026Q3", "--json", "--index-version",
                 "qd766_2022")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["settings"]["index_version"] == "qd766_2022"
    assert payload["index_estimate"]["version"] == "qd766_2022"

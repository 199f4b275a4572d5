"""Portable metric SQL: every statement the KPI engine runs translates to Spark SQL without a known-bad
construct (default tier: SQLGlot only, no JVM)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from motcua import metrics
from motcua import sql_dialect as sd
from motcua.db import Database
from motcua.filters import Scope
from motcua.periods import custom_period, parse_period
from tests.dbfactory import commune_codes, sample_db
from tests.kpi_fixtures import make_db


def _run_every_metric(engine, units: tuple[str, ...]) -> None:
    """Call every public metric function on scopes and periods that reach both the cube and the facts."""
    scopes = [Scope(), Scope(unit_codes=units[:1]), Scope(unit_codes=units, field_names=("Hộ tịch", "Chứng thực"),
                                                          channels=("online", "direct"))]
    periods = [parse_period("2026Q2"), custom_period(date(2026, 3, 3), date(2026, 5, 20))]
    other = metrics.Settings(early_rule="timestamp", returned_policy="excluded",
                             digitization_scope="direct_postal_only")
    combos = [(metrics.Settings(), scope, period) for scope in scopes for period in periods]
    combos.append((other, scopes[2], periods[1]))
    for settings, scope, period in combos:
        metrics.compute_kpis(engine, scope, period, settings)
        for by in metrics.BREAKDOWNS:
            metrics.breakdown(engine, scope, period, by, settings)
        metrics.league_table(engine, scope, period, settings)
        for bucket in [*metrics.COUNTS, "at_risk"]:
            metrics.dossier_list(engine, scope, period, bucket, settings, limit=50)
        metrics.unused_procedures(engine, scope, period)
        metrics.level_breakdown(engine, scope, period)
        for by in ("procedure", "field", "unit", "channel", "dvc_level"):
            metrics.processing_time(engine, scope, period, by, settings)
    for scope in scopes:
        metrics.data_quality(engine, scope, now=datetime(2026, 10, 1))
        metrics.data_range(engine, scope)


@pytest.fixture(scope="module")
def metric_statements(tmp_path_factory) -> list[str]:
    path = sample_db(tmp_path_factory.mktemp("portable") / "m.duckdb", n=300)
    engine = sd.RecordingEngine(Database(path))
    _run_every_metric(engine, tuple(commune_codes()))
    return sorted(set(engine.statements))


def test_every_metric_statement_translates_to_spark(metric_statements):
    assert len(metric_statements) > 20
    failures = {}
    for sql in metric_statements:
        try:
            sd.transpile(sql, "spark")
        except sd.UnsupportedSQL as exc:
            failures[sql[:120]] = str(exc).splitlines()[0]
    assert failures == {}


def test_translation_is_cached_per_template(metric_statements):
    sd.transpile.cache_clear()
    for sql in metric_statements:
        sd.transpile(sql, "spark")
    for sql in metric_statements:
        sd.transpile(sql, "spark")
    info = sd.transpile.cache_info()
    assert info.misses == len(metric_statements) and info.hits == len(metric_statements)


@pytest.mark.parametrize("sql, reason", [
    # The old data_quality examples: SQLGlot dropped the ORDER BY of the ordered list aggregate.
    ("SELECT array_to_string(list(d.dossier_code ORDER BY d.dossier_code)[1:5], ', ') FROM dossiers d", "ORDER BY"),
    # The old code-date check: try_strptime passed through untranslated.
    ("SELECT count(*) FROM dossiers d WHERE CAST(try_strptime(regexp_extract(d.dossier_code, "
     "'-([0-9]{6})-[0-9]{3,6}$', 1), '%y%m%d') AS DATE) <> CAST(d.received_at AS DATE)", "try_strptime"),
    # The old future check: current_localtimestamp() became a bare column name.
    ("SELECT count(*) FROM dossiers d WHERE d.received_at > current_localtimestamp()", "giờ hệ thống"),
])
def test_known_bad_constructs_are_refused(sql, reason):
    with pytest.raises(sd.UnsupportedSQL, match=reason):
        sd.transpile(sql, "spark")
    with pytest.raises(sd.UnsupportedSQL):  # refused on DuckDB too: the template is not portable
        sd.transpile(sql, "duckdb")


def test_unknown_dialect_is_a_clear_error():
    with pytest.raises(sd.UnsupportedSQL, match="Không hỗ trợ hệ SQL 'oracle'"):
        sd.transpile("SELECT 1", "oracle")


def test_database_is_a_query_engine_and_explains_without_running(tmp_path):
    database = Database(tmp_path / "absent.duckdb")  # no file: explain() must not touch it
    assert isinstance(database, sd.QueryEngine) and database.dialect == "duckdb"
    assert database.explain("SELECT 1 AS x") == "SELECT 1 AS x"


def test_future_check_uses_the_now_parameter():
    con = make_db([{"dossier_code": "A", "received_at": "2026-07-02"},
                   {"dossier_code": "B", "received_at": "2026-06-30"}])
    quality = metrics.data_quality(con, Scope(), now=datetime(2026, 7, 1)).set_index("check")
    assert quality.loc["received_in_future", "count"] == 1
    assert quality.loc["received_in_future", "examples"] == "A"
    quality = metrics.data_quality(con, Scope(), now=datetime(2026, 7, 3)).set_index("check")
    assert quality.loc["received_in_future", "count"] == 0


def test_quality_examples_are_the_first_five_codes_in_order():
    rows = [{"dossier_code": f"Z{9 - i}", "received_at": "2026-07-02", "due_at": "2026-06-30"} for i in range(8)]
    quality = metrics.data_quality(make_db(rows), Scope(), now=datetime(2026, 8, 1)).set_index("check")
    assert quality.loc["due_before_received", "count"] == 8
    assert quality.loc["due_before_received", "examples"] == "Z2, Z3, Z4, Z5, Z6"

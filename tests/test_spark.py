"""Spark tier: the same metric SQL on Apache Spark (local[2]) over the lake gives the DuckDB answers.

Marked ``spark``; ``make test`` installs Java 17 and the ``[spark]`` extra and sets MOTCUA_REQUIRE_SPARK=1,
so there a missing Spark fails instead of skipping. One JVM serves the whole module.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime

import pandas as pd
import pytest
from click.testing import CliRunner

from motcua import lake as lakemod
from motcua import metrics
from motcua.db import Database
from motcua.filters import Scope
from motcua.periods import custom_period, parse_period
from motcua.settings import Settings

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

if os.environ.get("MOTCUA_REQUIRE_SPARK") != "1":
    pytest.importorskip("pyspark", reason="pyspark chưa cài (make test cài đặt: extra [spark] + Java 17)")


@pytest.fixture(scope="module")
def session():
    from motcua.spark_engine import spark_session

    spark = spark_session("local[2]")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The committed sample exports, imported as `make run` does, then exported to a lake."""
    from pathlib import Path

    from loaders.pipeline import import_files

    root = tmp_path_factory.mktemp("spark_sample")
    exports = sorted((Path(__file__).resolve().parent.parent / "sample_data" / "exports").iterdir())
    path = root / "sample.duckdb"
    import_files(exports, db_path=path)
    lakemod.export(path, root / "lake")
    return path, root / "lake"


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    # Missing values as one object: an all-missing text column is None from DuckDB and NaN from Spark.
    a, b = (f.reset_index(drop=True).astype(object).where(f.reset_index(drop=True).notna(), None) for f in (a, b))
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_sample_data_parity(session, sample):
    from motcua.spark_engine import SparkLake

    database, spark = Database(sample[0]), SparkLake(sample[1], session=session)
    units = [row[0] for row in database.query_rows("SELECT DISTINCT receiving_unit_code FROM kpi_facts ORDER BY 1")]
    assert len(units) >= 12
    cases = [(Scope(), parse_period("2024"), Settings()),
             (Scope(), parse_period("2024Q2", "report"), Settings(early_rule="timestamp")),
             (Scope(unit_codes=tuple(units[:3]), channels=("online", "postal")),
              custom_period(date(2023, 3, 3), date(2024, 5, 20)), Settings(returned_policy="excluded"))]
    for scope, period, settings in cases:
        _equal(metrics.league_table(database, scope, period, settings),
               metrics.league_table(spark, scope, period, settings))
        assert metrics.compute_kpis(database, scope, period, settings) == \
            metrics.compute_kpis(spark, scope, period, settings)
    scope, period = Scope(unit_codes=(units[0],)), parse_period("2024Q3")
    for bucket in ("late", "overdue", "at_risk"):
        _equal(metrics.dossier_list(database, scope, period, bucket), metrics.dossier_list(spark, scope, period, bucket))
    _equal(metrics.breakdown(database, scope, period, "procedure"), metrics.breakdown(spark, scope, period, "procedure"))
    _equal(metrics.processing_time(database, Scope(), period, "unit"), metrics.processing_time(spark, Scope(), period, "unit"))
    now = datetime(2025, 1, 1)
    _equal(metrics.data_quality(database, Scope(), now=now), metrics.data_quality(spark, Scope(), now=now))
    _equal(metrics.unused_procedures(database, scope, period), metrics.unused_procedures(spark, scope, period))


def test_synthetic_national_lake_parity(session, tmp_path):
    """Every 2025 commune (3,321 over 34 provinces), 2025–2026: a national league and a commune-quarter."""
    from motcua import units as unitsmod
    from motcua.spark_engine import SparkLake
    from tests.dbfactory import build_db, make_dossiers

    catalogue = unitsmod.catalogue_frame()
    communes = catalogue[catalogue["level"] == "commune"]["code"].astype(str).tolist()
    rows = int(os.environ.get("MOTCUA_SPARK_PARITY_ROWS", "60000"))
    path = build_db(tmp_path / "n.duckdb", make_dossiers(rows, communes, datetime(2025, 1, 2), datetime(2026, 9, 30)))
    lakemod.export(path, tmp_path / "lake")
    manifest = lakemod.read_manifest(tmp_path / "lake")
    assert len({k.split("/")[0] for k in manifest["tables"]["kpi_facts"]["partitions"]}) == 34
    database, spark = Database(path), SparkLake(tmp_path / "lake", session=session)
    league_db = metrics.league_table(database, Scope(), parse_period("2026Q2"))
    league_spark = metrics.league_table(spark, Scope(), parse_period("2026Q2"))
    assert len(league_db) >= 3000
    _equal(league_db, league_spark)
    one = Scope(unit_codes=(communes[100],))
    for period in (parse_period("2026Q1"), custom_period(date(2025, 12, 10), date(2026, 2, 3))):
        assert metrics.compute_kpis(database, one, period) == metrics.compute_kpis(spark, one, period)


def test_cli_kpi_on_spark_equals_duckdb(session, sample):
    from cli.main import main

    database = Database(sample[0])
    unit = database.query_rows("SELECT min(receiving_unit_code) FROM kpi_facts")[0][0]
    args = ["kpi", "--unit", unit, "--period", "2024Q2", "--json"]
    runner = CliRunner()
    on_db = runner.invoke(main, [*args, "--db", str(sample[0])])
    on_spark = runner.invoke(main, [*args, "--engine", "spark", "--lake", str(sample[1]), "--spark-master", "local[2]"])
    assert on_db.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    expected, found = json.loads(on_db.output), json.loads(on_spark.output)
    expected.pop("index_estimate"), found.pop("index_estimate")  # index inputs stay in the database
    assert expected == found
    assert session.sql("SELECT 1 AS x").collect()[0].x == 1  # the shared session is still running


def test_spark_settings_are_pinned(session, sample):
    from motcua.spark_engine import SparkLake

    spark = SparkLake(sample[1], session=session)
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert session.conf.get("spark.sql.sources.partitionColumnTypeInference.enabled") == "false"
    kinds = dict(spark.query_rows("SELECT p_province, typeof(p_province) FROM kpi_facts LIMIT 1"))
    assert list(kinds.values()) == ["string"]
    assert "EXPLODE" in spark.explain("SELECT 1 FROM units u WHERE u.code IN (SELECT unnest(?))")


def test_derived_tables_on_spark_equal_the_database(session, sample):
    """kpi_facts and kpi_cube built on Spark from the exported dossiers: row-for-row the database's."""
    from motcua.spark_engine import SparkLake

    derived = SparkLake(sample[1], session=session).derive()
    database = Database(sample[0])
    for table, frame in derived.items():
        on_spark = frame.toPandas()
        expected = database.query_df(f"SELECT * FROM {table}")
        assert list(on_spark.columns) == list(expected.columns), table
        dates = {row[0] for row in database.query_rows(f"DESCRIBE {table}") if row[1] == "DATE"}
        for column in expected.columns:  # DATE columns (closed_day_766, due_day_<clock>…): one representation
            if column in dates:
                on_spark[column] = pd.to_datetime(on_spark[column])
                expected[column] = pd.to_datetime(expected[column])
        keys = list(expected.columns)
        on_spark = on_spark.sort_values(keys, na_position="first").reset_index(drop=True)
        expected = expected.sort_values(keys, na_position="first").reset_index(drop=True)
        # Missing values as one object (None/NaN/NaT differ only in representation between the engines).
        on_spark, expected = (f.astype(object).where(f.notna(), None) for f in (on_spark, expected))
        pd.testing.assert_frame_equal(on_spark, expected, check_dtype=False, obj=table)

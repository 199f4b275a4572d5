"""Apache Spark over a Parquet lake: the same metric SQL (DuckDB dialect, translated by ``sql_dialect``).

Optional: ``pip install 'motcua-kpi[spark]'`` and a Java 17 runtime. ``SparkLake`` is a ``QueryEngine``:
``metrics`` runs on it unchanged (``motcua kpi --engine spark --lake DIR --spark-master local[2]``).

Session settings that make Spark agree with DuckDB:

* ``spark.sql.sources.partitionColumnTypeInference.enabled=false``: ``p_province=01`` stays the string
  ``"01"`` (inference would read the integer 1).
* ``spark.sql.session.timeZone=UTC`` and ``spark.sql.timestampType=TIMESTAMP_NTZ``: dossier times are
  Vietnam wall-clock times without a zone (DuckDB ``TIMESTAMP``, Parquet ``isAdjustedToUTC=false``); with
  a pinned zone and zone-less parameters no engine shifts them by the machine's time zone.
* ANSI mode stays on (Spark 4 default): an overflow fails instead of returning a wrong number.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from motcua import lake as lakemod
from motcua import sql_dialect

SESSION_CONF = {
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Small local clusters: few shuffle partitions (the KPI results are a few rows per unit).
    "spark.sql.shuffle.partitions": os.environ.get("MOTCUA_SPARK_SHUFFLE_PARTITIONS", "4"),
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkUnavailable(RuntimeError):
    """pyspark or Java is missing; the message says how to install them."""


def spark_session(master: str = "local[2]", app_name: str = "motcua-kpi", conf: dict | None = None):
    """A Spark session with the settings above (``master``: local[N] or spark://host:port)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkUnavailable("Chưa cài Apache Spark: `pip install 'motcua-kpi[spark]'` (cần Java 17, "
                               "ví dụ gói Debian openjdk-17-jre-headless).") from exc
    if SparkSession.getActiveSession() is not None and not conf:
        return SparkSession.getActiveSession()  # one JVM per process: reuse it (and let its owner stop it)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_param(value: Any) -> Any:
    """Parameters as Spark literals: lists stay arrays; numpy scalars become Python ones."""
    if isinstance(value, (list, tuple)):
        return [_spark_param(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (datetime, date)):
        return value.item()
    return value


class SparkLake:
    """A ``QueryEngine`` running the metric SQL on Spark over the lake at ``lake``."""

    dialect = "spark"

    def __init__(self, lake: str | os.PathLike, master: str = "local[2]", session=None):
        self.path = Path(lake)
        self.master = master
        self._session = session
        self._owned = False
        self._lock = threading.Lock()
        self._version: str | None = None
        self._provinces: dict[str, str] = {}

    @property
    def session(self):
        if self._session is None:
            try:
                from pyspark.sql import SparkSession

                self._owned = SparkSession.getActiveSession() is None
            except ImportError:
                pass  # spark_session raises the install hint
            self._session = spark_session(self.master)
        return self._session

    def version(self) -> str:
        return lakemod.read_manifest(self.path)["export_id"]

    def _register(self) -> None:
        manifest = lakemod.read_manifest(self.path)
        with self._lock:
            if manifest["export_id"] == self._version:
                return
            for name, spec in manifest["tables"].items():
                self._table(manifest, name, spec).createOrReplaceTempView(name)
            self._provinces = lakemod.LakeDatabase(self.path).provinces()  # small table, read locally
            self._version = manifest["export_id"]

    def _table(self, manifest: dict, name: str, spec: dict):
        files = lakemod.table_files(self.path, manifest, name)
        if not files:
            columns = [(column, _spark_type(kind)) for column, kind in spec["columns"]]
            columns += [(column, "STRING") for column in spec["partition_by"]]
            return self.session.sql("SELECT " + ", ".join(f"CAST(NULL AS {kind}) AS `{column}`"
                                                          for column, kind in columns) + " WHERE false")
        reader = self.session.read.option("basePath", str(self.path / name))
        return reader.parquet(*files)

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        self._register()
        sql, params = lakemod.prune(sql, list(params or []), self._provinces)
        translated = sql_dialect.transpile(sql, self.dialect)
        frame = self.session.sql(translated, args=[_spark_param(v) for v in params])
        return frame.toPandas()

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return list(self.query_df(sql, params).itertuples(index=False, name=None))

    def explain(self, sql: str) -> str:
        """The Spark SQL run for ``sql`` (partition predicates added, translated; not executed)."""
        return sql_dialect.transpile(lakemod._prune_plan(sql)[0], self.dialect)

    def derive(self) -> dict:
        """``kpi_facts`` and ``kpi_cube`` derived on Spark from the lake's dossiers, procedures and working-day
        calendar, with the same SQL as the database (``metrics_sql``, ``calendar_sql``); Spark DataFrames."""
        from motcua import calendar_sql
        from motcua import metrics_sql as msql

        self._register()
        spark = self.session
        spark.sql(sql_dialect.transpile(calendar_sql.DUE_FILL_SQL, self.dialect)).createOrReplaceTempView("due_fill")
        spark.sql(sql_dialect.transpile(calendar_sql.NEXT_WORKING_DAY_SQL, self.dialect)).createOrReplaceTempView(
            "next_working_day")
        facts = spark.sql(sql_dialect.transpile(msql.FACTS_SELECT, self.dialect))
        facts.createOrReplaceTempView("derived_kpi_facts")
        cube_sql = msql.cube_select(msql.ATTRIBUTES).replace(f"FROM {msql.FACTS_TABLE}", "FROM derived_kpi_facts")
        return {msql.FACTS_TABLE: facts, msql.CUBE_TABLE: spark.sql(sql_dialect.transpile(cube_sql, self.dialect))}

    def stop(self) -> None:
        """Stop the Spark session if this engine started it (a shared session is left running)."""
        if self._session is not None and self._owned:
            self._session.stop()
        self._session = None


def _spark_type(duckdb_type: str) -> str:
    import sqlglot

    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark")

"""Pick the query engine the KPI engine runs on: the DuckDB file, DuckDB over a lake, or Spark over a lake.

Every engine is a ``sql_dialect.QueryEngine``; ``metrics`` runs unchanged on each. Unit names are always
resolved on DuckDB (the database, or the lake's small ``units`` table), then the KPIs run on the engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from motcua import db as dbmod
from motcua import lake as lakemod

ENGINES = {"duckdb": "DuckDB (nhúng, mặc định)", "spark": "Apache Spark (qua kho Parquet)"}
DEFAULT_SPARK_MASTER = os.environ.get("MOTCUA_SPARK_MASTER", "local[2]")


@dataclass
class EngineChoice:
    engine: object  # a QueryEngine
    lookup: object  # a DuckDB engine with cursor() for unit resolution (database or lake)

    def close(self) -> None:
        stop = getattr(self.engine, "stop", None)
        if stop is not None:
            stop()


def open_engine(kind: str = "duckdb", db_path=None, lake=None, spark_master: str | None = None) -> EngineChoice:
    """The engine of ``kind`` over the database file, or over ``lake`` when given (required by Spark)."""
    if kind not in ENGINES:
        raise ValueError(f"Không có hệ xử lý '{kind}'; chỉ dùng: {', '.join(ENGINES)}.")
    if kind == "spark" and lake is None:
        raise ValueError("Spark đọc kho Parquet: hãy thêm --lake THƯ_MỤC (tạo bằng `motcua lake export`).")
    lookup = lakemod.LakeDatabase(lake) if lake is not None else dbmod.Database(db_path)
    if kind == "duckdb":
        return EngineChoice(lookup, lookup)
    from motcua.spark_engine import SparkLake

    lookup.version()  # a missing lake fails before Spark starts
    return EngineChoice(SparkLake(lake, spark_master or DEFAULT_SPARK_MASTER), lookup)

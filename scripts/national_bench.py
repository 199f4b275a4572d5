"""`make bench-national`: synthetic dossiers of every commune (3,321 in 34 provinces), 2023–2026, exported
to the Parquet lake; DuckDB and Spark local[2] on the same queries; the incremental publish at this size.

Reports: lake size on disk; DuckDB over the lake: one commune-quarter (target ≤ 100 ms), the national league
of every commune for a quarter (target ≤ 2 s), peak RSS of the query process (target ≤ 4 GB); Spark
local[2] on the same queries and its ratio to DuckDB (no target: Spark pays a fixed cost per query and wins
only across machines); the incremental publish of a 5,000-row daily file (``scripts.bench_publish``).

The national size is 100M (``--rows 100000000``). Generating it needs ~8 GB of RAM and a long time on a
2-core machine, so the default is 10M; the report prints the measured size and a linear extrapolation,
an upper bound (the league reads the cube, which grows with units × half-months, not with dossiers).

    python -m scripts.national_bench [--rows 10000000] [--runs 5] [--spark-runs 3] [--no-spark] [--no-publish]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"commune_quarter_ms": 100.0, "league_quarter_ms": 2000.0, "peak_rss_mb": 4096.0}
NATIONAL_ROWS = 100_000_000


def _median_ms(function, runs: int) -> float:
    function()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def build(rows: int, out: Path) -> tuple[Path, Path, dict]:
    """The database (every catalogue commune) and its lake; build timings in seconds."""
    from motcua import lake as lakemod
    from motcua import units as unitsmod
    from scripts import bench_kpi

    catalogue = unitsmod.catalogue_frame()
    bench_kpi.COMMUNES = int((catalogue["level"] == "commune").sum())  # every commune, not the bench's 100
    path, lake = out / f"national_{rows}.duckdb", out / f"national_{rows}_lake"
    timings: dict = {}
    if not path.exists():
        timings = bench_kpi.build_database(path, rows)
    started = time.perf_counter()
    lakemod.export(path, lake)  # an existing lake: only changed partitions (none) are rewritten
    timings["lake_export_s"] = time.perf_counter() - started
    return path, lake, timings


def _queries(engine, runs: int) -> dict:
    from motcua import metrics
    from motcua.filters import Scope
    from motcua.periods import parse_period

    quarter = parse_period("2026Q2")
    unit = engine.query_rows("SELECT min(receiving_unit_code) FROM kpi_cube")[0][0]
    scope = Scope(unit_codes=(unit,))
    league = metrics.league_table(engine, Scope(), quarter)
    return {"communes_in_league": len(league),
            "received_total": int(league["received_total"].sum()),
            "commune_quarter_ms": _median_ms(lambda: metrics.compute_kpis(engine, scope, quarter), runs),
            "league_quarter_ms": _median_ms(lambda: metrics.league_table(engine, Scope(), quarter), runs)}


def measure_duckdb(lake: str, runs: int) -> dict:
    """Run in a child process so its peak RSS is the query side's only."""
    from motcua.lake import LakeDatabase

    result = _queries(LakeDatabase(lake), runs)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def measure_spark(lake: Path, runs: int) -> dict:
    from motcua.spark_engine import SparkLake

    engine = SparkLake(lake, "local[2]")
    try:
        started = time.perf_counter()
        engine.query_rows("SELECT count(*) FROM kpi_facts")
        startup = time.perf_counter() - started
        return {"startup_s": startup, **_queries(engine, runs)}
    finally:
        engine.stop()


def _lake_bytes(lake: Path) -> int:
    return sum(p.stat().st_size for p in lake.rglob("*.parquet"))


def _verdict(key: str, value: float) -> str:
    return "đạt" if value <= TARGETS[key] else "CHƯA ĐẠT"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spark-runs", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-publish", action="store_true")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--measure-duckdb", default=None, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.measure_duckdb:
        print(json.dumps(measure_duckdb(args.measure_duckdb, args.runs)))
        return []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"== Quy mô quốc gia: {args.rows:,} hồ sơ ==".replace(",", "."), flush=True)
    _db, lake, timings = build(args.rows, out)
    size_mb = _lake_bytes(lake) / 1e6
    print("  dựng: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + f"; kho Parquet {size_mb:,.0f} MB",
          flush=True)
    child = subprocess.run([sys.executable, "-m", "scripts.national_bench", "--measure-duckdb", str(lake),
                            "--runs", str(args.runs)], capture_output=True, text=True, check=True)
    duck = json.loads(child.stdout.strip().splitlines()[-1])
    for key in ("commune_quarter_ms", "league_quarter_ms", "peak_rss_mb"):
        print(f"  DuckDB {key:<20} {duck[key]:10.1f} | mục tiêu {TARGETS[key]:.0f}: {_verdict(key, duck[key])}")
    result = {"case": f"national_{args.rows}", "rows": args.rows, "lake_mb": size_mb, **timings,
              **{f"duckdb_{k}": v for k, v in duck.items()}}
    if not args.no_spark:
        spark = measure_spark(lake, args.spark_runs)
        assert spark["received_total"] == duck["received_total"], "Spark và DuckDB khác số liệu"
        for key in ("commune_quarter_ms", "league_quarter_ms"):
            print(f"  Spark local[2] {key:<20} {spark[key]:10.1f} | gấp {spark[key] / duck[key]:.1f} lần DuckDB")
        print(f"  Spark khởi động: {spark['startup_s']:.1f} s; cùng số liệu với DuckDB: có")
        result.update({f"spark_{k}": v for k, v in spark.items()})
    scale = NATIONAL_ROWS / args.rows
    if scale > 1:
        from motcua.fmt import fmt_int

        print(f"  Ngoại suy tuyến tính lên {fmt_int(NATIONAL_ROWS)} hồ sơ (cận trên): kho ~{fmt_int(size_mb * scale)} MB; "
              f"xã-quý ~{fmt_int(duck['commune_quarter_ms'] * scale)} ms; "
              f"bảng xếp hạng ~{fmt_int(duck['league_quarter_ms'] * scale)} ms")
    if not args.no_publish:
        from scripts import bench_publish

        publish = bench_publish.main(["--rows", str(min(args.rows, 10_000_000)), "--out", str(out)])[0]
        result["publish_s"] = publish["seconds_median"]
    return [result]


if __name__ == "__main__":
    main()

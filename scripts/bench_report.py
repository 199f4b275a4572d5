"""Report-pack benchmark: one commune-quarter pack (Excel Biểu 06 + Word with 4 charts) and a batch zip.

Uses the KPI benchmark's synthetic database (``bench-out/bench_kpi_<size>.duckdb``, ~100 communes) when
it exists, otherwise builds it with ``scripts.bench_kpi.build_database``. Target: one pack with charts
<= 5 s (Chromium start included: every pack of the page/CLI starts its own kaleido session).

    python -m scripts.bench_report [--size 1000000] [--runs 3] [--batch-units 10] [--out bench-out]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.report import batch_zip_bytes, make_pack
from motcua.report.images import find_chromium

TARGET_PACK_S = 5.0
PERIOD = "2026Q2"


def _database(size: int, out: Path) -> dbmod.Database:
    path = out / f"bench_kpi_{size}.duckdb"
    if not path.exists():
        from scripts.bench_kpi import build_database

        print(f"  xây dựng cơ sở dữ liệu {size:,} hồ sơ: {path}".replace(",", "."), flush=True)
        build_database(path, size)
    return dbmod.Database(path)


def _median_s(function, runs: int) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def _busiest_unit(database: dbmod.Database, period) -> str:
    league = metrics.league_table(database, Scope(), period)
    return str(league.sort_values("received_total", ascending=False).iloc[0]["key"])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-units", type=int, default=10)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    database = _database(args.size, out)
    period = parse_period(PERIOD)
    unit = _busiest_unit(database, period)
    scope = Scope(unit_codes=(unit,))
    results = []
    charts = find_chromium() is not None
    for with_charts in ((True, False) if charts else (False,)):
        seconds, pack = _median_s(lambda wc=with_charts: make_pack(database, scope, period, with_charts=wc),
                                  args.runs)
        (out / f"{pack.stem}{'' if with_charts else '-khong-bieu-do'}.docx").write_bytes(pack.docx)
        row = {"case": f"pack_{'with' if with_charts else 'without'}_charts", "rows": args.size,
               "seconds_median": round(seconds, 2), "charts": pack.charts,
               "received_total": pack.data.kpis["received"]["total"], "target_s": TARGET_PACK_S,
               "meets_target": seconds <= TARGET_PACK_S}
        print(f"  {row['case']:<22} {seconds:5.2f} s ({pack.charts} biểu đồ, "
              f"{row['received_total']} hồ sơ) | mục tiêu {TARGET_PACK_S:.0f} s: "
              f"{'đạt' if row['meets_target'] else 'CHƯA ĐẠT'}", flush=True)
        results.append(row)
    if not charts:
        print("  (không có Chromium: không đo được thời gian có biểu đồ)")
    league = metrics.league_table(database, Scope(), period)
    codes = tuple(league.sort_values("received_total", ascending=False)["key"].head(args.batch_units))
    started = time.perf_counter()
    name, content = batch_zip_bytes(database, period, scope=Scope(unit_codes=codes), with_charts=charts)
    seconds = time.perf_counter() - started
    (out / name).write_bytes(content)
    results.append({"case": f"batch_zip_{len(codes)}_units", "rows": args.size, "seconds_median": round(seconds, 2),
                    "seconds_per_unit": round(seconds / len(codes), 2), "charts": charts,
                    "zip_mb": round(len(content) / 1e6, 1)})
    print(f"  batch zip {len(codes)} đơn vị: {seconds:.1f} s ({seconds / len(codes):.2f} s/đơn vị, "
          f"{len(content) / 1e6:.1f} MB)", flush=True)
    return results


if __name__ == "__main__":
    main()

"""Publish benchmark: a daily file of ~5,000 dossiers imported into a 10M-dossier database, end to end.

End to end = ``loaders.pipeline.import_files`` (read, normalise, upsert, derived tables, checkpoint, copy of
the published file, atomic rename). Ours: the incremental refresh (only the changed dossiers and the
affected unit × half-month cube cells are re-derived). Baseline in the same run: the same import with the
derived tables rebuilt in full (the behaviour before). The copy of the published file, which every write
still makes (readers keep the old inode), is timed alone too.

Target (2 cores): ≤ 3 s end to end at 10M.

    python -m scripts.bench_publish [--rows 10000000] [--daily 5000] [--runs 3] [--out bench-out]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

import pandas as pd

from loaders.pipeline import import_files
from motcua import aggregates
from scripts import bench_kpi

TARGET_S = 3.0


def _daily_file(rows: int, out: Path) -> Path:
    from sample_data.synth import export_frame, write_csv

    path = out / f"bench_publish_daily_{rows}.csv"
    if not path.exists():
        from datetime import date

        write_csv(export_frame(rows, seed=29, start=date(2026, 9, 1), end=date(2026, 9, 30)), path)
    return path


def _base(rows: int, out: Path) -> Path:
    path = out / f"bench_publish_{rows}.duckdb"
    if not path.exists():
        print(f"  dựng CSDL {rows:,} hồ sơ…".replace(",", "."), flush=True)
        bench_kpi.build_database(path, rows)
    return path


def _import_once(base: Path, daily: Path, out: Path, full: bool) -> tuple[float, float]:
    """(seconds end to end, seconds of the file copy alone) on a fresh copy of the base database."""
    work = out / "bench_publish_work.duckdb"
    shutil.copyfile(base, work)
    started = time.perf_counter()
    copy = out / "bench_publish_copy.duckdb"
    shutil.copyfile(work, copy)
    copy_s = time.perf_counter() - started
    copy.unlink()
    share = aggregates.FULL_REBUILD_SHARE
    aggregates.FULL_REBUILD_SHARE = -1.0 if full else share  # -1: every change counts as large
    try:
        started = time.perf_counter()
        summary = import_files([daily], db_path=work)
        seconds = time.perf_counter() - started
    finally:
        aggregates.FULL_REBUILD_SHARE = share
    assert summary.files[0].status == "loaded", summary.files[0].message
    return seconds, copy_s


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("MOTCUA_BENCH_PUBLISH_ROWS", 10_000_000)))
    parser.add_argument("--daily", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv if argv is not None else [])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base, daily = _base(args.rows, out), _daily_file(args.daily, out)
    ours = [_import_once(base, daily, out, full=False) for _ in range(args.runs)]
    baseline = [_import_once(base, daily, out, full=True) for _ in range(args.runs)]
    (out / "bench_publish_work.duckdb").unlink(missing_ok=True)
    median = statistics.median(s for s, _ in ours)
    full = statistics.median(s for s, _ in baseline)
    copy = statistics.median(c for _, c in ours)
    verdict = "đạt" if median <= TARGET_S else "CHƯA ĐẠT"
    print(f"  nạp {args.daily:,} hồ sơ vào {args.rows:,}: tăng dần {median:.2f} s | dựng lại toàn bộ {full:.2f} s | "
          f"{full / median:.1f}x | riêng sao chép tệp {copy:.2f} s | mục tiêu {TARGET_S:.0f} s: {verdict}"
          .replace(",", "."), flush=True)
    result = {"case": f"publish_{args.daily}_into_{args.rows}", "rows": args.daily, "seconds_median": median,
              "baseline_full_rebuild_s": full, "file_copy_s": copy, "speedup_vs_baseline": full / median,
              "meets_target": median <= TARGET_S}
    pd.DataFrame([result]).to_csv(out / "bench_publish.csv", index=False)
    return [result]


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

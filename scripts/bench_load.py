"""Import benchmark: `motcua load` end to end on a 1M-dossier CSV and a 100k-row xlsx.

Files come from ``sample_data.synth.export_frame`` (realistic Vietnamese headers, ``dd/mm/yyyy HH:MM:SS``
dates; CSV ``;``-separated UTF-8 with BOM) and are cached in ``bench-out/``. Each measurement imports into
a fresh database file through ``loaders.pipeline.import_files`` (read + normalise + upsert + derived tables
+ checkpoint + atomic publish). The baseline in the same run: ``pandas.read_csv`` / ``pandas.read_excel
(engine="openpyxl")`` with every column as text, then ONE DuckDB insert into a plain table (no parsing, no
checks), published through the same ``write_transaction``.

Targets (2 cores): CSV >= 150k dossiers/s, xlsx >= 40k rows/s.

    python -m scripts.bench_load [--csv-rows 1000000] [--xlsx-rows 100000] [--runs 3] [--out bench-out]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from loaders.pipeline import import_files
from loaders.readers import read_file
from motcua import db as dbmod

TARGETS = {"csv": 150_000, "xlsx": 40_000}


def _export_file(kind: str, rows: int, out: Path) -> Path:
    from sample_data.synth import export_frame, write_csv, write_xlsx

    path = out / f"bench_load_{rows}.{kind}"
    if path.exists():
        return path
    started = time.perf_counter()
    frame = export_frame(rows, seed=11)
    temp = path.with_suffix(".partial")
    (write_csv if kind == "csv" else write_xlsx)(frame, temp)
    os.replace(temp, path)
    print(f"  tạo {path.name}: {time.perf_counter() - started:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
    return path


def _fresh_db(out: Path, label: str) -> Path:
    db_path = out / f"bench_load_{label}.duckdb"
    for stale in (db_path, Path(f"{db_path}.wal")):
        stale.unlink(missing_ok=True)
    return db_path


def _timed(function: Callable[[], int], runs: int) -> tuple[list[float], int, list[float]]:
    """Wall seconds per run, rows, and CPU seconds per run (all threads of this process: DuckDB's too).

    CPU time is reported beside wall time because a shared 2-core machine under load inflates wall time."""
    seconds, rows, cpu = [], 0, []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        rows = function()
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return seconds, rows, cpu


def _ours(path: Path, out: Path) -> Callable[[], int]:
    def run() -> int:
        summary = import_files([path], db_path=_fresh_db(out, "motcua"))
        result = summary.files[0]
        if result.status != "loaded" or result.rows_rejected:
            raise RuntimeError(f"nạp thử nghiệm không sạch: {result.message}")
        return result.rows_loaded
    return run


def _baseline(path: Path, out: Path) -> Callable[[], int]:
    def run() -> int:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        else:
            frame = pd.read_excel(path, engine="openpyxl", dtype=str)
        with dbmod.write_transaction(_fresh_db(out, "baseline")) as con:
            con.execute("CREATE TABLE baseline_raw AS SELECT * FROM frame")
        return len(frame)
    return run


def _read_only(path: Path) -> Callable[[], int]:
    return lambda: sum(t.table.num_rows for t in read_file(path))


def bench_file(kind: str, rows: int, runs: int, baseline_runs: int, out: Path) -> dict:
    path = _export_file(kind, rows, out)
    load_before = os.getloadavg()[0]
    ours, loaded, ours_cpu = _timed(_ours(path, out), runs)
    reader, _, _ = _timed(_read_only(path), 1)
    base, base_rows, base_cpu = _timed(_baseline(path, out), baseline_runs)
    if base_rows != loaded:
        raise RuntimeError(f"số dòng khác nhau: {loaded} so với baseline {base_rows}")
    ours_median, base_median = statistics.median(ours), statistics.median(base)
    result = {
        "bench": "load", "case": f"{kind} {rows:,} dòng".replace(",", "."), "rows": loaded,
        "runs": runs, "seconds_median": round(ours_median, 2), "rows_per_s": round(loaded / ours_median),
        "target_rows_per_s": TARGETS[kind], "meets_target": loaded / ours_median >= TARGETS[kind],
        "reader_seconds": round(reader[0], 2), "pipeline_seconds": round(ours_median - reader[0], 2),
        "baseline": "pandas.read_csv + 1 insert" if kind == "csv" else "pandas.read_excel(openpyxl) + 1 insert",
        "baseline_runs": baseline_runs, "baseline_seconds_median": round(base_median, 2),
        "baseline_rows_per_s": round(loaded / base_median), "speedup_vs_baseline": round(base_median / ours_median, 2),
        "all_seconds": [round(s, 2) for s in ours],
        "cpu_seconds_median": round(statistics.median(ours_cpu), 2),
        "baseline_cpu_seconds_median": round(statistics.median(base_cpu), 2),
        "load_average_1min": round(max(load_before, os.getloadavg()[0]), 1),
    }
    print(f"  {result['case']}: {result['rows_per_s']:,} dòng/s (trung vị {ours_median:.2f} s qua {runs} lần; "
          f"đọc tệp {reader[0]:.2f} s) | baseline {result['baseline_rows_per_s']:,} dòng/s "
          f"({base_median:.2f} s) | nhanh hơn x{result['speedup_vs_baseline']} | CPU {result['cpu_seconds_median']} s "
          f"(baseline {result['baseline_cpu_seconds_median']} s) | tải máy {result['load_average_1min']}")
    return result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=int(os.environ.get("MOTCUA_BENCH_LOAD_CSV_ROWS", 1_000_000)))
    parser.add_argument("--xlsx-rows", type=int, default=int(os.environ.get("MOTCUA_BENCH_LOAD_XLSX_ROWS", 100_000)))
    parser.add_argument("--runs", type=int, default=3, help="lần đo cho xlsx và baseline CSV")
    parser.add_argument("--csv-runs", type=int, default=1, help="lần đo cho CSV 1 triệu dòng (chậm)")
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("Bench nạp dữ liệu (motcua load):")
    results = [
        bench_file("csv", args.csv_rows, args.csv_runs, args.runs, out),
        bench_file("xlsx", args.xlsx_rows, args.runs, 1, out),  # openpyxl is ~15x slower: one baseline run
    ]
    for label in ("motcua", "baseline"):
        for leftover in out.glob(f"bench_load_{label}.duckdb*"):
            leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)
    pd.DataFrame(results).to_csv(out / "bench_load.csv", index=False)
    return results


if __name__ == "__main__":
    main()

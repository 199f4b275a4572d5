"""Unit name resolution (issue 10: ≤ 5 ms per name) over the full catalogue + unit history.

Median of repeated resolutions of typical inputs (legacy qualified, prefix-less, organisation prefix,
code, ambiguous) against a baseline in the same run: a plain pandas filter of the units frame on the folded
name, which is what a naive lookup costs.

    python -m scripts.bench_units [--repeat 200]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from motcua import db as dbmod
from motcua import units
from motcua.text import fold

TARGET_MS = 5.0
QUERIES = ("Thanh Xá, Hải Dương", "Phượng Kỳ", "UBND phường Hải Dương", "Xã Lạc Phượng", "10813",
           "thanh dong", "Xã Thanh Tùng, Thanh Miện", "Phường Đức Thuận, Hồng Lĩnh")


def _median_ms(function, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def _resolve(con, text: str) -> None:
    # The ambiguous input is part of the workload: listing candidates must be fast too.
    with contextlib.suppress(units.UnitError):
        units.resolve_unit(con, text, suggest=False)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    con = dbmod.connect_memory()
    started = time.perf_counter()
    units.seed_units(con)
    seed_s = time.perf_counter() - started
    started = time.perf_counter()
    units.unit_index(con)
    index_s = time.perf_counter() - started
    frame = con.execute("SELECT code, fold_name FROM units").df()
    results = []
    for text in QUERIES:
        ours = _median_ms(lambda t=text: _resolve(con, t), args.repeat)
        key = fold(text.split(",")[0])
        baseline = _median_ms(lambda k=key: frame[frame["fold_name"] == k], args.repeat)
        results.append({"case": f"resolve '{text}'", "ms_median": round(ours, 3), "target_ms": TARGET_MS,
                        "meets_target": ours <= TARGET_MS, "baseline_pandas_ms": round(baseline, 3),
                        "speedup_vs_baseline": round(baseline / ours, 1) if ours else None})
        print(results[-1], flush=True)
    results.append({"case": "seed units + index (once per database version)", "seed_s": round(seed_s, 2),
                    "index_s": round(index_s, 2), "units": len(frame)})
    print(results[-1], flush=True)
    return results


if __name__ == "__main__":
    main()

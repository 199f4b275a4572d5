"""`make bench`: run every ``scripts/bench_*.py`` module's ``main()`` and print one summary.

Each bench module exposes ``main(argv: list[str] | None = None) -> list[dict]`` (one dict per measured
case) and reads its own defaults from its options/environment. A failing bench is reported and the others
still run; the exit code is non-zero if any failed.

    python -m scripts.bench            # all benches
    python -m scripts.bench load kpi   # only bench_load and bench_kpi
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
SUMMARY_KEYS = ("case", "rows", "seconds_median", "rows_per_s", "target_rows_per_s", "meets_target",
                "speedup_vs_baseline")


def discover(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in SCRIPTS.glob("bench_*.py"))
    if selected:
        wanted = {f"bench_{s.removeprefix('bench_')}" for s in selected}
        missing = wanted - set(names)
        if missing:
            raise SystemExit(f"Không có bench: {', '.join(sorted(missing))}. Có: {', '.join(names)}")
        names = [n for n in names if n in wanted]
    return names


def _line(name: str, row: dict) -> str:
    shown = {k: row[k] for k in SUMMARY_KEYS if k in row}
    rest = {k: v for k, v in row.items() if k not in shown and not isinstance(v, list | dict)}
    return f"  {name:<14} " + json.dumps(shown or rest, ensure_ascii=False, default=str)


def main(argv: list[str] | None = None) -> int:
    names = discover(list(sys.argv[1:] if argv is None else argv))
    results: dict[str, list[dict] | str] = {}
    timings: dict[str, float] = {}
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"scripts.{name}")
            results[name] = list(module.main([]) or [])
        except (Exception, SystemExit):  # one broken bench must not hide the others' numbers
            traceback.print_exc()
            results[name] = "LỖI"
        timings[name] = time.perf_counter() - started
    print("\n=== Tóm tắt bench ===")
    for name in names:
        outcome = results[name]
        print(f"{name}: {timings[name]:.0f} s" + (" — LỖI (xem trên)" if outcome == "LỖI" else ""))
        if outcome != "LỖI":
            for row in outcome:
                print(_line(name, row))
    return 1 if any(r == "LỖI" for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

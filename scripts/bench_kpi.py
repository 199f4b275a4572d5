"""KPI engine benchmark: all metrics of one commune-quarter and the league table of all communes for a year.

Synthetic dossiers (vectorised numpy -> Arrow -> ONE INSERT into the canonical ``dossiers`` table; ~100
communes, 2023-2026) are published through ``write_transaction`` (so the derived ``kpi_facts`` table is
built exactly as after a real import), then read through the read-only ``Database`` as the dashboard does.
The same computations in plain pandas on an in-memory DataFrame of the same facts are the baseline.

Targets (2 cores): commune-quarter <= 100 ms, league table of all communes for a year <= 500 ms at 10M.

    python -m scripts.bench_kpi [--sizes 1000000,10000000] [--runs 10] [--out bench-out]
    (env MOTCUA_BENCH_KPI_SIZES overrides the default sizes)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from motcua import db as dbmod
from motcua import metrics
from motcua import units as unitsmod
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.schema import DOSSIER_COLUMNS
from motcua.settings import SETTINGS, Settings

COMMUNES = 100
PROCEDURES = [  # code, name, field, level, has_fee, legal_days
    (f"1.{i:06d}", f"Thủ tục {i}", f"Lĩnh vực {i % 8}", ("toan_trinh", "mot_phan", "thong_tin")[i % 3],
     i % 4 == 0, float(1 + i % 10))
    for i in range(60)
]
FIRST_DAY = np.datetime64("2023-01-01")
DAYS = int((np.datetime64("2027-01-01") - FIRST_DAY).astype(int))
NOW = np.datetime64("2026-11-20")  # dossiers later than this are still open
TARGETS_MS = {"commune_quarter": 100.0, "league_year": 500.0}


def _timestamps(day_offsets: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return (FIRST_DAY + day_offsets.astype("timedelta64[D]")).astype("datetime64[s]") + seconds.astype(
        "timedelta64[s]")


def synthetic_dossiers(n: int, seed: int = 7, first: int = 0) -> pa.Table:
    """n dossiers with realistic shares (online ~60%, ~3% late, ~2% withdrawn/stopped, open at the end);
    their numbers (``idx``, the dossier code) start at ``first``."""
    rng = np.random.default_rng(seed)
    received_day = rng.integers(0, DAYS, n)
    received = _timestamps(received_day, rng.integers(7 * 3600, 17 * 3600, n))
    procedure = rng.integers(0, len(PROCEDURES), n)
    legal = np.array([p[5] for p in PROCEDURES])[procedure]
    due = received + (np.ceil(legal * 1.4) * 86400).astype("timedelta64[s]")
    # Processing time: mostly before the due date, a tail after it.
    duration = (rng.gamma(2.0, legal * 0.35) * 86400 + rng.integers(0, 3600 * 4, n)).astype("timedelta64[s]")
    finished = received + duration
    open_mask = finished > NOW.astype("datetime64[s]")
    status = np.where(rng.random(n) < 0.9, 10, 9).astype(np.int16)
    returned_mask = rng.random(n) < 0.02
    status[returned_mask] = rng.choice(np.array([7, 8], dtype=np.int16), returned_mask.sum())
    status[open_mask] = rng.choice(np.array([2, 4, 5], dtype=np.int16), open_mask.sum())
    finished_col = pa.array(finished, mask=open_mask, type=pa.timestamp("s"))
    channel = rng.choice(np.array(["online", "direct", "postal"]), n, p=[0.6, 0.38, 0.02])
    fee = np.where(rng.random(n) < 0.3, rng.integers(1, 20, n) * 5000, 0).astype(np.int64)
    communes = rng.integers(0, COMMUNES, n)
    # ~8% asked for a supplement a day after receipt, 90% of them answered 2 days later, 10% asked twice.
    asked = rng.random(n) < 0.08
    requested = received + np.timedelta64(86400, "s")
    handed_in = requested + np.timedelta64(2 * 86400, "s")
    answered = asked & (rng.random(n) < 0.9)
    supplement_count = np.where(asked, np.where(rng.random(n) < 0.1, 2, 1), 0).astype(np.int16)
    return pa.table({
        "idx": pa.array(np.arange(first, first + n, dtype=np.int64)),
        "commune": pa.array(communes.astype(np.int32)),
        "procedure": pa.array(procedure.astype(np.int32)),
        "channel": pa.array(channel),
        "received_at": pa.array(received, type=pa.timestamp("s")),
        "due_at": pa.array(due, type=pa.timestamp("s")),
        "finished_at": finished_col,
        "status": pa.array(status),
        "digitized": pa.array(rng.random(n) < 0.85),
        "e_result": pa.array(rng.random(n) < 0.8),
        "reused": pa.array(rng.random(n) < 0.3),
        "paid_online": pa.array((fee > 0) & (rng.random(n) < 0.5)),
        "fee": pa.array(fee),
        "supplement_requested_at": pa.array(requested, mask=~asked, type=pa.timestamp("s")),
        "supplement_received_at": pa.array(handed_in, mask=~answered, type=pa.timestamp("s")),
        "supplement_count": pa.array(supplement_count),
    })


# The first 32 columns of DOSSIER_COLUMNS (later columns stay NULL): named, so added columns do not break it.
_INSERT = f"""
INSERT INTO dossiers ({", ".join(list(DOSSIER_COLUMNS)[:32])})
SELECT 'local', printf('BENCH-%010d', s.idx), c.code, c.code, p.code, p.name, NULL, p.field, p.level, s.channel,
       s.received_at, s.received_at, s.due_at, NULL, s.finished_at,
       CASE WHEN s.status = 10 THEN s.finished_at END, s.supplement_requested_at, s.supplement_received_at,
       s.status, CAST(s.status AS VARCHAR),
       s.digitized, s.e_result, s.reused, s.paid_online, s.fee, s.supplement_count, p.legal_days,
       coalesce(s.finished_at, s.received_at), 1, CAST(s.idx % 100000 AS INTEGER), NULL, NULL
FROM synthetic s
JOIN bench_communes c ON c.pos = s.commune
JOIN bench_procedures p ON p.pos = s.procedure
"""


# Dossiers generated and inserted per statement: 10M rows of the synthetic table take ~1.6 GB, so a
# national-size build (100M) streams through memory instead of holding 16 GB at once.
BUILD_CHUNK = 10_000_000


def build_database(path: Path, n: int) -> dict:
    """Publish n synthetic dossiers; returns build timings in seconds."""
    timings = {"generate_s": 0.0}
    catalogue = unitsmod.catalogue_frame()
    communes = catalogue[catalogue["level"] == "commune"].head(COMMUNES)
    commune_frame = pd.DataFrame({"pos": np.arange(len(communes), dtype=np.int32), "code": communes["code"]})
    procedure_frame = pd.DataFrame(PROCEDURES, columns=["code", "name", "field", "level", "has_fee", "legal_days"])
    procedure_frame.insert(0, "pos", np.arange(len(procedure_frame), dtype=np.int32))
    if path.exists():
        path.unlink()
    start = time.perf_counter()
    with dbmod.write_transaction(path) as con:
        unitsmod.seed_units(con)
        for name, frame in (("bench_communes", commune_frame), ("bench_procedures", procedure_frame)):
            con.register(name, frame)
        for first in range(0, n, BUILD_CHUNK):
            generated = time.perf_counter()
            # One seed per chunk (the first chunk's is the historical seed 7: same data as before up to 10M).
            synthetic = synthetic_dossiers(min(BUILD_CHUNK, n - first), seed=7 + first // BUILD_CHUNK, first=first)
            timings["generate_s"] += time.perf_counter() - generated
            con.register("synthetic", synthetic)
            con.execute(_INSERT)
            con.unregister("synthetic")
            del synthetic
        con.execute("INSERT INTO procedures SELECT code, name, NULL, field, level, has_fee, legal_days, true "
                    "FROM bench_procedures")
        timings["insert_s"] = time.perf_counter() - start - timings["generate_s"]
        refresh_start = time.perf_counter()
    timings["refresh_and_publish_s"] = time.perf_counter() - refresh_start
    return timings


# --- pandas baseline ------------------------------------------------------------------------------------
def pandas_frame(database: dbmod.Database) -> pd.DataFrame:
    """The same derived facts, in memory (loading is not timed: the baseline gets its best case)."""
    # The default clock (supplement_rule=restart): its due date, outcome and supplement waiting interval.
    return database.query_df(
        "SELECT receiving_unit_code, received_day, closed_day, due_day_rst AS due_day, "
        "outcome_date_rst AS outcome_date, is_returned, channel, dvc_level, digitized, electronic_result, "
        "has_result, reused, fee_bearing, paid_online, wait_from, wait_until "
        f"FROM {metrics.msql.FACTS_TABLE}")


def _pandas_counts(frame: pd.DataFrame, start, end) -> pd.DataFrame:
    """All Biểu 06 counts and rate parts per unit for [start, end] (default settings)."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    received, closed, due = frame["received_day"], frame["closed_day"], frame["due_day"]
    active = (received <= e) & (closed.isna() | (closed >= s))
    f = frame[active]
    received, closed, due = f["received_day"], f["closed_day"], f["due_day"]
    new = received >= s
    resolved = closed <= e
    pending = ~resolved
    waiting = (f["wait_from"] <= e) & (f["wait_until"].isna() | (f["wait_until"] > e))
    due_ok = due.isna() | (due >= e) | waiting  # clock stopped while waiting for a supplement
    outcome = f["outcome_date"].where(~f["is_returned"], 1)
    online = f["channel"] == "online"
    online_proc = f["dvc_level"].isin(["toan_trinh", "mot_phan"])
    parts = pd.DataFrame({
        "unit": f["receiving_unit_code"], "received_total": True, "carried_over": ~new, "new": new,
        "online": new & online, "direct": new & (f["channel"] == "direct"),
        "postal": new & (f["channel"] == "postal"), "resolved_total": resolved,
        "early": resolved & (outcome == 0), "on_time": resolved & (outcome == 1),
        "late": resolved & (outcome == 2), "pending_total": pending,
        "within_deadline": pending & due_ok, "overdue": pending & ~due_ok,
        "returned_or_withdrawn": resolved & f["is_returned"],
        "new_of_online_procedures": new & online_proc, "online_of_online_procedures": new & online_proc & online,
        "digitized_scope": new, "digitized": new & f["digitized"],
        "electronic_result_scope": resolved & f["has_result"],
        "electronic_result": resolved & f["has_result"] & f["electronic_result"],
        "reused": new & f["reused"], "fee_bearing": new & f["fee_bearing"] & f["paid_online"].notna(),
        "paid_online": new & f["fee_bearing"] & f["paid_online"],
    })
    return parts.groupby("unit").sum()


def pandas_commune_quarter(frame: pd.DataFrame, unit: str, period) -> dict:
    counts = _pandas_counts(frame[frame["receiving_unit_code"] == unit], period.start, period.end).sum()
    return {key: metrics.rate(counts, key) for key in metrics.RATES} | counts.to_dict()


def pandas_league(frame: pd.DataFrame, period) -> pd.DataFrame:
    counts = _pandas_counts(frame, period.start, period.end)
    for key in metrics.RATES:
        counts[key] = [metrics.rate(row, key) for row in counts.to_dict("records")]
        counts[f"rank_{key}"] = counts[key].rank(method="min", ascending=False)
    return counts


# --- timing -------------------------------------------------------------------------------------------
def median_ms(function: Callable[[], object], runs: int) -> float:
    function()  # warm-up: connection, caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def bench_size(n: int, runs: int, out: Path) -> dict:
    path = out / f"bench_kpi_{n}.duckdb"
    print(f"\n== {n:,} hồ sơ ({path}) ==".replace(",", "."), flush=True)
    build = build_database(path, n)
    print("  build: " + ", ".join(f"{k} {v:.1f}" for k, v in build.items()), flush=True)
    database = dbmod.Database(path)
    unit = database.query_rows(f"SELECT receiving_unit_code FROM {metrics.msql.FACTS_TABLE} LIMIT 1")[0][0]
    quarter, year = parse_period("2026Q2"), parse_period("2025")
    scope = Scope(unit_codes=(unit,))
    duck_kpis = metrics.compute_kpis(database, scope, quarter)
    frame = pandas_frame(database)
    panda_kpis = pandas_commune_quarter(frame, unit, quarter)
    # Same answers, or the comparison means nothing.
    assert duck_kpis["received"]["total"] == panda_kpis["received_total"]
    assert duck_kpis["resolved"]["early"] == panda_kpis["early"]
    assert duck_kpis["pending"]["overdue"] == panda_kpis["overdue"]
    league = metrics.league_table(database, Scope(), year)
    assert int(league["received_total"].sum()) == int(pandas_league(frame, year)["received_total"].sum())
    results = {
        "commune_quarter": median_ms(lambda: metrics.compute_kpis(database, scope, quarter), runs),
        "league_year": median_ms(lambda: metrics.league_table(database, Scope(), year), runs),
        "pandas_commune_quarter": median_ms(lambda: pandas_commune_quarter(frame, unit, quarter), runs),
        "pandas_league_year": median_ms(lambda: pandas_league(frame, year), runs),
    }
    for key in ("commune_quarter", "league_year"):
        ratio = results[f"pandas_{key}"] / results[key]
        verdict = "đạt" if results[key] <= TARGETS_MS[key] else "CHƯA ĐẠT"
        print(f"  {key:<16} DuckDB {results[key]:8.1f} ms | pandas {results[f'pandas_{key}']:8.1f} ms | "
              f"pandas/DuckDB {ratio:5.1f}x | mục tiêu {TARGETS_MS[key]:.0f} ms: {verdict}", flush=True)
    results.update(rule_costs(database, scope, quarter, year, runs))
    return {"rows": n, **build, **results}


def _paired_ms(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of two functions timed alternately, so machine-load drift hits both alike."""
    first(), second()
    a, b = [], []
    for _ in range(runs):
        for function, samples in ((first, a), (second, b)):
            start = time.perf_counter()
            function()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


def rule_costs(database, scope: Scope, quarter, year, runs: int) -> dict:
    """Cost of every non-default value of each rule that changes the facts (from the registry; one rule
    changed at a time): both queries timed alternately with the default rules, ratio = rule / default."""
    costs = {}
    default = Settings()
    for spec in SETTINGS:
        if spec.kind != "choice" or not spec.changes_facts:
            continue
        for value in spec.choices:
            if value == spec.default:
                continue
            settings = Settings(**{spec.name: value})
            line = f"  {spec.name}={value}"
            for key, run in (("commune_quarter", lambda s: metrics.compute_kpis(database, scope, quarter, s)),
                             ("league_year", lambda s: metrics.league_table(database, Scope(), year, s))):
                base_ms, rule_ms = _paired_ms(lambda r=run: r(default), lambda r=run, s=settings: r(s), runs)
                costs[f"{spec.name}={value}:{key}"] = rule_ms
                costs[f"{spec.name}={value}:{key}_ratio"] = rule_ms / base_ms
                line += f" | {key} {rule_ms:6.1f} ms ({rule_ms / base_ms:4.2f}x mặc định {base_ms:6.1f} ms)"
            print(line, flush=True)
    return costs


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("MOTCUA_BENCH_KPI_SIZES", "1000000,10000000"))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default="bench-out")
    # Called as bench_kpi.main() by scripts/bench.py: never parse that runner's own arguments.
    args = parser.parse_args(argv if argv is not None else [])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = [bench_size(int(size), max(args.runs, 10), out) for size in args.sizes.split(",") if size.strip()]
    pd.DataFrame(results).to_csv(out / "bench_kpi.csv", index=False)
    print(f"\nKết quả: {out / 'bench_kpi.csv'}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

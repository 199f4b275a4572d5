"""KPI engine: Biểu 06 identities (property-based), rate aggregation, league tables, checks, API shapes."""

from __future__ import annotations

import gc
import math
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from kpi_fixtures import make_db

from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.metrics import Settings
from motcua.metrics_sql import bind
from motcua.periods import make_period, parse_period, period_containing
from motcua.settings import all_combinations

ALL_SETTINGS = [Settings(early_rule=rule, returned_policy=policy)
                for rule in ("date", "timestamp") for policy in ("resolved_on_time", "excluded")]
BASE = datetime(2025, 10, 1, 7, 0)

dossier_strategy = st.fixed_dictionaries({
    "received": st.integers(0, 450),
    "hour": st.integers(0, 10),
    "duration": st.one_of(st.none(), st.integers(-2, 150)),  # negative: bad data (end before receipt)
    "due": st.one_of(st.none(), st.integers(0, 40)),
    "status": st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    "channel": st.sampled_from(["online", "direct", "postal"]),
    "unit": st.sampled_from(["10001", "10002"]),
    "end_field": st.sampled_from(["finished_at", "returned_at"]),
    "time_status": st.sampled_from([None, "truoc_han", "dung_han", "qua_han", "trong_han", "tam_dung"]),
    # supplement round: (request after receipt, days until handed in or None = still waiting, count)
    "supplement": st.one_of(st.none(), st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(-1, 40)),
                                                 st.integers(1, 3))),
    "legal_days": st.one_of(st.none(), st.integers(1, 20)),
    "date_only_due": st.booleans(),
})


def _rows(specs: list[dict]) -> list[dict]:
    rows = []
    for number, spec in enumerate(specs):
        received = BASE + timedelta(days=spec["received"], hours=spec["hour"])
        row = {"dossier_code": f"P{number}", "received_at": received, "status": spec["status"],
               "channel": spec["channel"], "receiving_unit_code": spec["unit"],
               "time_status": spec.get("time_status")}
        if spec["due"] is not None:
            due = received + timedelta(days=spec["due"], hours=1)
            row["due_at"] = datetime.combine(due.date(), datetime.min.time()) if spec.get("date_only_due") else due
        if spec.get("supplement"):
            after, answered, count = spec["supplement"]
            requested = received + timedelta(days=after, hours=2)
            row.update(supplement_requested_at=requested, supplement_count=count,
                       supplement_received_at=None if answered is None else requested + timedelta(days=answered))
        if spec.get("legal_days"):
            row["legal_days"] = spec["legal_days"]
        if spec["duration"] is not None:
            row[spec["end_field"]] = received + timedelta(days=spec["duration"], hours=3)
        rows.append(row)
    return rows


def _next(period):
    return period_containing(period.end + timedelta(days=1), period.kind, period.calendar)


def assert_identities(counts: dict) -> None:
    c = counts
    assert c["received_total"] == c["online"] + c["direct"] + c["postal"] + c["carried_over"]
    assert c["received_total"] == c["carried_over"] + c["new"]
    assert c["received_total"] == c["resolved_total"] + c["pending_total"]
    assert c["resolved_total"] == c["early"] + c["on_time"] + c["late"]
    assert c["pending_total"] == c["within_deadline"] + c["overdue"]
    assert 0 <= c["online_of_online_procedures"] <= c["new_of_online_procedures"] <= c["new"]
    assert 0 <= c["digitized"] <= c["digitized_scope"] <= c["new"]
    assert 0 <= c["electronic_result"] <= c["electronic_result_scope"] <= c["resolved_total"]
    assert 0 <= c["paid_online"] <= c["fee_bearing"] <= c["new"]


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(dossier_strategy, min_size=0, max_size=40), kind=st.sampled_from(["month", "quarter"]),
       calendar=st.sampled_from(["calendar", "report"]), start=st.integers(0, 400))
@example(specs=[{"received": 20, "hour": 3, "duration": 30, "due": 0, "status": 10, "channel": "online",
                 "unit": "10001", "end_field": "finished_at"}], kind="month", calendar="report", start=30)
def test_identities_and_chains_hold_for_any_data(specs, kind, calendar, start):
    con = make_db(_rows(specs))
    first = period_containing(BASE.date() + timedelta(days=start), kind, calendar)
    periods = [first, _next(first), _next(_next(first))]
    for settings in ALL_SETTINGS:
        for scope in (Scope(), Scope(unit_codes=("10001",))):
            results = [metrics.kpi_counts(con, scope, p, settings) for p in periods]
            for counts in results:
                assert_identities(counts)
            for before, after in zip(results, results[1:], strict=False):
                assert before["pending_total"] == after["carried_over"]
        # The half-month cube (used for these aligned periods) agrees with the dossier-level facts.
        for key_sql in (None, "d.receiving_unit_code", "d.channel"):
            cube = metrics._grouped_counts(con, Scope(), first, settings, key_sql)
            facts = metrics._grouped_counts(con, Scope(), first, settings, key_sql, allow_cube=False)
            pd.testing.assert_frame_equal(cube.sort_values("key", ignore_index=True),
                                          facts.sort_values("key", ignore_index=True), check_dtype=False)
        # The whole equals the sum of its units (counts are additive).
        whole = metrics.kpi_counts(con, Scope(), first, settings)
        units = metrics.breakdown(con, Scope(), first, "unit", settings)
        assert metrics.total_row(units)["received_total"] == whole["received_total"]
        assert {k: metrics.total_row(units)[k] for k in metrics.COUNTS} == whole


# Every combination of the settings that change the facts, generated from the registry.
RULE_PRODUCT = list(all_combinations())


@hsettings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(dossier_strategy, min_size=1, max_size=30), calendar=st.sampled_from(["calendar", "report"]),
       start=st.integers(0, 400), cube_checked=st.lists(st.sampled_from(RULE_PRODUCT), min_size=1, max_size=3))
def test_identities_hold_for_every_combination_of_settings(specs, calendar, start, cube_checked):
    con = make_db(_rows(specs))
    first = period_containing(BASE.date() + timedelta(days=start), "month", calendar)
    periods = [first, _next(first)]
    for settings in RULE_PRODUCT:
        results = [metrics.kpi_counts(con, Scope(), p, settings) for p in periods]
        for counts in results:
            assert_identities(counts)
            assert counts["waiting_supplement"] <= counts["pending_total"]
        assert results[0]["pending_total"] == results[1]["carried_over"], settings
    for settings in cube_checked:  # the half-month cube agrees with the facts under these rules too
        cube = metrics._grouped_counts(con, Scope(), first, settings, None)
        facts = metrics._grouped_counts(con, Scope(), first, settings, None, allow_cube=False)
        pd.testing.assert_frame_equal(cube, facts, check_dtype=False)


def test_rate_aggregates_sums_not_means():
    rows = pd.DataFrame([{**dict.fromkeys(metrics.COUNTS, 0), "online": 1, "new": 1},
                         {**dict.fromkeys(metrics.COUNTS, 0), "online": 0, "new": 9}])
    total = metrics.total_row(rows)
    assert total["online_rate"] == pytest.approx(0.1)  # a mean of rates would say 0.5
    assert total["new"] == 10 and total["label"] == "Tổng cộng"
    assert math.isnan(total["online_payment_rate"])
    assert metrics.rate({"online": 3, "new": 4}, "online_rate") == 0.75
    assert metrics.rate({"online": 3, "new": 0}, "online_rate") is None
    counts = {"early": 1, "on_time": 2, "within_deadline": 3, "resolved_total": 4, "pending_total": 6}
    assert metrics.rate(counts, "on_time_rate_766") == pytest.approx(0.6)
    assert metrics.rate(counts, "on_time_rate_resolved") == pytest.approx(0.75)


def test_league_table_ranks_best_first_with_ties():
    rows = []
    for unit, online, direct in (("10001", 3, 1), ("10002", 6, 2), ("10003", 1, 3)):
        rows += [{"receiving_unit_code": unit, "channel": "online", "received_at": "2026-07-02"}] * online
        rows += [{"receiving_unit_code": unit, "channel": "direct", "received_at": "2026-07-02"}] * direct
    con = make_db([{**row, "dossier_code": f"D{i}"} for i, row in enumerate(rows)])
    scope = Scope(unit_codes=("10001", "10002", "10003"))
    table = metrics.league_table(con, scope, parse_period("2026Q3")).set_index("key")
    assert table.loc["10001", "online_rate"] == pytest.approx(0.75)
    assert table["rank_online_rate"].to_dict() == {"10001": 1, "10002": 1, "10003": 3}
    assert table.loc["10002", "label"] == "Xã Phượng Kỳ"
    assert table["rank_online_payment_rate"].isna().all()  # no fee-bearing dossiers: no rank
    assert {f"rank_{key}" for key in metrics.RATES} <= set(table.columns)


def test_league_table_lists_scope_units_without_dossiers():
    con = make_db([{"received_at": "2026-07-02"}])
    table = metrics.league_table(con, Scope(unit_codes=("10001", "10003")), parse_period("2026Q3"))
    assert table["key"].tolist() == ["10003", "10001"]  # sorted by name: Phường Đức Thuận, Xã Tứ Kỳ
    assert table.set_index("key").loc["10003", "received_total"] == 0


def test_breakdown_frame_shape_and_validation():
    con = make_db([{"received_at": "2026-07-02", "field_name": None}])
    frame = metrics.breakdown(con, Scope(), parse_period("2026Q3"), "field")
    assert list(frame.columns[:2]) == ["key", "label"]
    assert set(metrics.COUNTS) | set(metrics.RATES) <= set(frame.columns)
    assert frame.iloc[0]["label"] == "Chưa rõ lĩnh vực"
    assert frame["new"].dtype == "int64" and frame["online_rate"].dtype == float
    with pytest.raises(ValueError, match="Không phân tổ"):
        metrics.breakdown(con, Scope(), parse_period("2026Q3"), "weekday")


def test_resolving_unit_role_counts_the_resolving_unit():
    con = make_db([{"receiving_unit_code": "10001", "resolving_unit_code": "10002", "received_at": "2026-07-02"}])
    q3 = parse_period("2026Q3")
    receiving = Settings(attribution="receiving")
    assert metrics.kpi_counts(con, Scope(unit_codes=("10002",)), q3, receiving)["new"] == 0
    assert metrics.kpi_counts(con, Scope(unit_codes=("10002",), unit_role="resolving"), q3, receiving)["new"] == 1
    # Default (issue 10): a dossier counts for its resolving unit, as Biểu 06 does.
    assert metrics.kpi_counts(con, Scope(unit_codes=("10002",)), q3)["new"] == 1
    frame = metrics.breakdown(con, Scope(unit_role="resolving"), q3, "unit")
    assert frame["key"].tolist() == ["10002"]


def test_settings_validation_and_alias():
    assert Settings(returned_policy="separate").returned_policy == "excluded"
    assert Settings(online_procedure_levels=["toan_trinh"]).online_procedure_levels == ("toan_trinh",)
    for bad in ({"early_rule": "hour"}, {"returned_policy": "drop"}, {"calendar": "lunar"},
                {"online_procedure_levels": ("muc_4",)}, {"digitization_scope": "x"}, {"at_risk_days": -1}):
        with pytest.raises(ValueError):
            Settings(**bad)


def test_metric_docs_and_labels_are_complete():
    keys = {doc["key"] for doc in metrics.METRIC_DOCS}
    assert set(metrics.RATES) <= keys
    assert all(doc["label"] and doc["formula"] and doc["source"] for doc in metrics.METRIC_DOCS)
    for metric in metrics.RATES.values():
        for part in (metric.numerator, metric.denominator):
            assert part in metrics.COUNTS or part in metrics._COMPOSITE
    assert set(metrics.LEVEL_LABELS) == {"toan_trinh", "mot_phan", "thong_tin", "unknown"}
    assert set(metrics.CHANNEL_LABELS) == {"online", "direct", "postal"}
    assert metrics.STATUS_LABELS[10] == "Đã trả kết quả"


def test_bind_orders_named_and_positional_parameters():
    sql, params = bind("a <= :e AND b = ? AND c >= :s AND d::DATE = :e AND (x IN (SELECT unnest(?)))",
                       {"s": 1, "e": 2}, ["u", ["v"]])
    assert sql == "a <= ? AND b = ? AND c >= ? AND d::DATE = ? AND (x IN (SELECT unnest(?)))"
    assert params == [2, "u", 1, 2, ["v"]]


def test_data_quality_checks():
    con = make_db([
        {"dossier_code": "000.00.01.H01-260702-0001", "received_at": "2026-07-02"},  # code date matches
        {"dossier_code": "000.00.01.H01-260701-0002", "received_at": "2026-07-02"},  # mismatch
        {"dossier_code": "BAD1", "received_at": "2026-07-02", "finished_at": "2026-07-01", "status": 10},
        {"dossier_code": "BAD2", "received_at": "2026-07-02", "due_at": "2026-06-30"},
        {"dossier_code": "BAD3", "received_at": "2099-01-01"},
        {"dossier_code": "BAD4", "received_at": "2026-07-02", "status": 9, "state_at": "2026-07-03"},
    ])
    quality = metrics.data_quality(con, Scope()).set_index("check")
    assert list(quality.columns) == ["label", "count", "examples"]
    assert quality.loc["code_date_mismatch", "examples"] == "000.00.01.H01-260701-0002"
    assert quality.loc["finished_before_received", "examples"] == "BAD1"
    assert quality.loc["due_before_received", "examples"] == "BAD2"
    assert quality.loc["received_in_future", "examples"] == "BAD3"
    assert quality.loc["closed_without_end_date", "examples"] == "BAD4"
    assert quality.loc["missing_due", "count"] == 5  # only BAD2 has a due date
    # A dossier ending before its receipt is still counted once, resolved on its receipt day.
    counts = metrics.kpi_counts(con, Scope(), parse_period("2026Q3"))
    assert counts["new"] == 5 and counts["resolved_total"] == 2  # BAD1 and BAD4
    assert metrics.data_quality(con, Scope(unit_codes=("10003",)))["count"].sum() == 0


def test_status_one_and_three_never_count():
    con = make_db([{"received_at": "2026-07-02", "status": 1}, {"received_at": "2026-07-02", "status": 3},
                   {"received_at": "2026-07-02", "status": None}])
    assert metrics.kpi_counts(con, Scope(), parse_period("2026Q3"))["received_total"] == 1


def test_published_database_read_side(tmp_path):
    """Through write_transaction (refresh) and the read-only Database, as the dashboard uses it."""
    source = make_db([{"received_at": "2026-07-02", "channel": "online"}, {"received_at": "2026-07-03"}])
    frame = source.execute("SELECT * FROM dossiers").df()
    unit_frame = source.execute("SELECT * FROM units").df()
    path = tmp_path / "kpi.duckdb"
    with dbmod.write_transaction(path) as con:
        con.register("frame", frame)
        con.register("unit_frame", unit_frame)
        con.execute("INSERT INTO units SELECT * FROM unit_frame")
        con.execute("INSERT INTO dossiers SELECT * FROM frame")
    database = dbmod.Database(path)
    result = metrics.compute_kpis(database, Scope(unit_codes=("10001",)), parse_period("2026Q3"))
    assert result["received"]["new"] == 2 and result["rates"]["online_rate"] == 0.5
    assert result["units"] == [{"code": "10001", "name": "Xã Tứ Kỳ"}]
    # A second publish rebuilds the derived table. (A fresh process-level handle: DuckDB caches open
    # database instances per path, so the old read connection is dropped first.)
    del database
    gc.collect()
    with dbmod.write_transaction(path) as con:
        con.execute("DELETE FROM dossiers WHERE channel = 'online'")
    assert metrics.kpi_counts(dbmod.Database(path), Scope(), parse_period("2026Q3"))["new"] == 1


def test_months_of_a_custom_period_are_clipped():
    con = make_db([{"received_at": "2026-07-05"}, {"received_at": "2026-07-25"}, {"received_at": "2026-08-02"}])
    from motcua.periods import custom_period

    period = custom_period(datetime(2026, 7, 20).date(), datetime(2026, 8, 10).date())
    months = metrics.breakdown(con, Scope(), period, "month")
    assert months["key"].tolist() == ["2026M07", "2026M08"]
    assert months["new"].tolist() == [1, 1]
    assert months.iloc[0]["carried_over"] == 1  # received 5/7, still open on 20/7


def test_quarter_helpers_consistent_with_periods():
    q = make_period("quarter", 2026, 4, "report")
    assert _next(q).start == q.end + timedelta(days=1)

"""Golden KPI tests: hand-made dossier sets whose every figure was worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest
from kpi_fixtures import make_db

from motcua import metrics
from motcua.filters import Scope
from motcua.metrics import Settings
from motcua.periods import custom_period, make_period, parse_period

Q3 = parse_period("2026Q3")  # 01/07/2026 – 30/09/2026
TU_KY = Scope(unit_codes=("10001",))

PROCEDURES = [
    {"procedure_code": "2.000002", "procedure_name": "Chứng thực hợp đồng", "field_name": "Chứng thực",
     "dvc_level": "mot_phan", "has_fee": True, "legal_days": 3, "from_catalogue": True},
    {"procedure_code": "3.000003", "procedure_name": "Xác nhận thông tin", "field_name": "Hộ tịch",
     "dvc_level": "thong_tin", "has_fee": False, "legal_days": 3, "from_catalogue": True},
    {"procedure_code": "4.000004", "procedure_name": "Đăng ký giám hộ", "field_name": "Hộ tịch",
     "dvc_level": "mot_phan", "has_fee": False, "legal_days": 5, "from_catalogue": True},
]

# Letters match the worked example in the comments of each test.
GOLDEN = [
    # A: carried over from June, resolved early (7/2 < due 7/5), digitized online dossier, e-result.
    dict(dossier_code="A", received_at="2026-06-20", due_at="2026-07-05", finished_at="2026-07-02", status=10,
         channel="online", has_digitized_components=True, has_electronic_result=True),
    # B: online, finished on the due day after the due hour: on time by date, late by timestamp.
    dict(dossier_code="B", received_at="2026-07-10", due_at="2026-07-15 08:00", finished_at="2026-07-15 16:00",
         status=10, channel="online", has_digitized_components=True, reused_digitized_data=True,
         has_electronic_result=True),
    # C: direct, early, digitized at the counter, paper result.
    dict(dossier_code="C", received_at="2026-07-10", due_at="2026-07-20", finished_at="2026-07-14", status=9,
         has_digitized_components=True),
    # D: late (8/20 > 8/14), fee paid online.
    dict(dossier_code="D", received_at="2026-08-10", due_at="2026-08-14", finished_at="2026-08-20", status=10,
         fee_amount=50000, paid_online=True),
    # E: open, due 15/09 -> overdue at the period end.
    dict(dossier_code="E", received_at="2026-09-10", due_at="2026-09-15", status=4),
    # F: postal, waiting for a supplement, due after the period -> within the deadline.
    dict(dossier_code="F", received_at="2026-09-25", due_at="2026-10-15", status=5, channel="postal"),
    # G: online, withdrawn by the citizen in the period.
    dict(dossier_code="G", received_at="2026-09-25", due_at="2026-10-15", finished_at="2026-09-26", status=7,
         channel="online"),
    # H: refused at reception: never counted.
    dict(dossier_code="H", received_at="2026-09-25", due_at="2026-10-15", status=3),
    # I: open, due on the last day of the period -> within the deadline.
    dict(dossier_code="I", received_at="2026-09-28", due_at="2026-09-30 10:00", status=4),
    # J: closed before the period: not counted.
    dict(dossier_code="J", received_at="2026-05-01", due_at="2026-05-10", finished_at="2026-06-01", status=10),
    # K: received after the period: not counted.
    dict(dossier_code="K", received_at="2026-10-01", due_at="2026-10-05", status=4),
    # L: carried over and still open, due 1/7 -> overdue.
    dict(dossier_code="L", received_at="2026-06-25", due_at="2026-07-01", status=4),
    # M: another commune (outside the scope).
    dict(dossier_code="M", receiving_unit_code="10002", received_at="2026-07-05", due_at="2026-07-08",
         channel="online"),
    # N: information-only procedure, no fee (0), resolved on the due day, e-result.
    dict(dossier_code="N", received_at="2026-08-01", due_at="2026-08-05", finished_at="2026-08-05", status=10,
         procedure_code="3.000003", procedure_name=None, field_name=None, dvc_level="thong_tin", fee_amount=0,
         has_electronic_result=True),
    # O: level unknown in the export -> catalogue says một phần and has a fee (amount unknown); early.
    dict(dossier_code="O", received_at="2026-08-02", due_at="2026-08-10", finished_at="2026-08-06", status=10,
         procedure_code="2.000002", procedure_name=None, field_name=None, dvc_level="unknown"),
]


@pytest.fixture(scope="module")
def golden():
    return make_db(GOLDEN, PROCEDURES)


def test_golden_default_settings(golden):
    result = metrics.compute_kpis(golden, TU_KY, Q3)
    assert result["units"] == [{"code": "10001", "name": "Xã Tứ Kỳ"}]
    assert result["period"] == {"from": "2026-07-01", "to": "2026-09-30", "caption": Q3.caption}
    assert result["received"] == {"total": 11, "carried_over": 2, "new": 9, "online": 2, "direct": 6, "postal": 1,
                                  "non_territorial": None, "non_territorial_known": 0}
    assert result["resolved"] == {"total": 7, "early": 3, "on_time": 3, "late": 1}  # on time: B, G, N
    assert result["pending"] == {"total": 4, "within_deadline": 2, "overdue": 2, "waiting_supplement": 0}  # within F, I; overdue E, L
    assert result["returned_or_withdrawn"] == 1
    assert result["levels"] == {"toan_trinh": 7, "mot_phan": 1, "thong_tin": 1, "unknown": 0}
    assert result["rates"] == pytest.approx({
        "online_rate": 2 / 9,
        "online_rate_of_online_procedures": 2 / 8,
        "on_time_rate_resolved": 6 / 7,
        "on_time_rate_766": 8 / 11,
        "digitized_intake_rate": 2 / 9,
        "electronic_result_rate": 3 / 6,  # A, B, N of A, B, C, D, N, O (G has no result)
        "reuse_rate": 1 / 9,
        "online_payment_rate": 1 / 2,  # D of D, O (N has fee 0)
        "non_territorial_rate": None,  # no export says where applicants live: unknown, not 0%
    })


def test_golden_counts_and_extra_keys(golden):
    counts = metrics.kpi_counts(golden, TU_KY, Q3)
    assert set(counts) == set(metrics.COUNTS)
    assert counts["new_of_online_procedures"] == 8 and counts["online_of_online_procedures"] == 2
    assert counts["digitized_scope"] == 9 and counts["digitized"] == 2
    assert counts["electronic_result_scope"] == 6 and counts["electronic_result"] == 3
    assert counts["fee_bearing"] == 2 and counts["paid_online"] == 1 and counts["reused"] == 1


def test_golden_timestamp_rule(golden):
    result = metrics.compute_kpis(golden, TU_KY, Q3, Settings(early_rule="timestamp"))
    assert result["resolved"] == {"total": 7, "early": 3, "on_time": 2, "late": 2}  # B becomes late
    assert result["rates"]["on_time_rate_resolved"] == pytest.approx(5 / 7)


def test_golden_returned_excluded(golden):
    result = metrics.compute_kpis(golden, TU_KY, Q3, Settings(returned_policy="excluded"))
    assert result["received"] == {"total": 10, "carried_over": 2, "new": 8, "online": 1, "direct": 6, "postal": 1,
                                  "non_territorial": None, "non_territorial_known": 0}
    assert result["resolved"] == {"total": 6, "early": 3, "on_time": 2, "late": 1}
    assert result["pending"] == {"total": 4, "within_deadline": 2, "overdue": 2, "waiting_supplement": 0}
    assert result["returned_or_withdrawn"] == 1  # still reported on its own
    assert result["rates"]["online_rate"] == pytest.approx(1 / 8)
    assert result["levels"]["toan_trinh"] == 6
    # "separate" (the name in the API contract) means the same policy.
    assert metrics.compute_kpis(golden, TU_KY, Q3, Settings(returned_policy="separate")) == result


def test_golden_digitization_scope_direct_postal_only(golden):
    counts = metrics.kpi_counts(golden, TU_KY, Q3, Settings(digitization_scope="direct_postal_only"))
    assert (counts["digitized"], counts["digitized_scope"]) == (1, 7)  # C of C, D, E, F, I, N, O


def test_golden_online_procedure_levels_setting(golden):
    counts = metrics.kpi_counts(golden, TU_KY, Q3, Settings(online_procedure_levels=("toan_trinh",)))
    assert (counts["online_of_online_procedures"], counts["new_of_online_procedures"]) == (2, 7)


def test_golden_all_units_scope_includes_other_commune(golden):
    result = metrics.compute_kpis(golden, Scope(), Q3)
    assert result["units"] == []
    assert result["received"]["new"] == 10 and result["received"]["online"] == 3


def test_golden_breakdown_by_channel_and_level(golden):
    channels = metrics.breakdown(golden, TU_KY, Q3, "channel").set_index("key")
    assert list(channels.index) == ["online", "direct", "postal"]
    assert channels.loc["online", "new"] == 2 and channels.loc["postal", "new"] == 1
    assert channels.loc["direct", "label"] == "Trực tiếp"
    levels = metrics.level_breakdown(golden, TU_KY, Q3).set_index("level")
    assert levels["dossiers"].to_dict() == {"toan_trinh": 7, "mot_phan": 1, "thong_tin": 1, "unknown": 0}
    assert levels.loc["mot_phan", "procedures"] == 1


def test_golden_months_add_up(golden):
    months = metrics.breakdown(golden, TU_KY, Q3, "month")
    quarter = metrics.kpi_counts(golden, TU_KY, Q3)
    assert list(months["key"]) == ["2026M07", "2026M08", "2026M09"]
    for key in ("new", "online", "resolved_total", "early", "on_time", "late", "returned_or_withdrawn"):
        assert months[key].sum() == quarter[key], key
    assert months.iloc[0]["carried_over"] == quarter["carried_over"]
    assert months.iloc[-1]["pending_total"] == quarter["pending_total"]
    # Each month's pending becomes the next month's carried-over.
    assert list(months["pending_total"][:-1]) == list(months["carried_over"][1:])


def test_golden_dossier_lists(golden):
    late = metrics.dossier_list(golden, TU_KY, Q3, "late")
    assert list(late["dossier_code"]) == ["D"]
    assert late.iloc[0]["days_late"] == 4  # 17, 18, 19, 20 August
    assert late.iloc[0]["receiving_unit"] == "Xã Tứ Kỳ" and late.iloc[0]["status_label"] == "Đã trả kết quả"
    overdue = metrics.dossier_list(golden, TU_KY, Q3, "overdue")
    assert list(overdue["dossier_code"]) == ["L", "E"]
    assert overdue.set_index("dossier_code").loc["E", "days_late"] == 11  # 16/9 .. 30/9 working days
    assert list(metrics.dossier_list(golden, TU_KY, Q3, "carried_over")["dossier_code"]) == ["A", "L"]
    assert list(metrics.dossier_list(golden, TU_KY, Q3, "on_time")["days_late"]) == [0, 0, 0]
    assert len(metrics.dossier_list(golden, TU_KY, Q3, "new", limit=3)) == 3
    personal = {"applicant_name", "id_number", "phone", "address", "email"}
    assert not personal & set(late.columns)
    with pytest.raises(ValueError, match="at_risk"):
        metrics.dossier_list(golden, TU_KY, Q3, "nonsense")


def test_golden_at_risk(golden):
    risk = metrics.at_risk(golden, TU_KY, date(2026, 9, 28))
    rows = risk.set_index("dossier_code")
    assert list(risk["dossier_code"]) == ["L", "E", "I"]  # F is due in 13 working days
    assert rows.loc["E", "risk"] == "overdue" and rows.loc["E", "working_days_left"] == -9
    assert rows.loc["E", "days_late"] == 9
    assert rows.loc["I", "risk"] == "due_soon" and rows.loc["I", "working_days_left"] == 2
    assert metrics.at_risk(golden, TU_KY, date(2026, 9, 28), Settings(at_risk_days=1))["dossier_code"].tolist() == [
        "L", "E"]


def test_golden_processing_time(golden):
    frame = metrics.processing_time(golden, TU_KY, Q3).set_index("key")
    # A 9, B 3, C 2, D 8 working days; O 4; N 3 (receipt day itself not counted).
    assert frame.loc["1.000001", "finished"] == 4
    assert frame.loc["1.000001", "avg_working_days"] == pytest.approx(5.5)
    assert frame.loc["1.000001", "median_working_days"] == pytest.approx(5.5)
    assert frame.loc["2.000002", "avg_working_days"] == pytest.approx(4)
    assert frame.loc["3.000003", "label"] == "Xác nhận thông tin"
    by_field = metrics.processing_time(golden, TU_KY, Q3, by="field").set_index("key")
    assert by_field.loc["Hộ tịch", "finished"] == 5


def test_golden_unused_procedures(golden):
    frame = metrics.unused_procedures(golden, TU_KY, Q3)
    assert frame["procedure_code"].tolist() == ["4.000004"]
    unused_2025 = metrics.unused_procedures(golden, TU_KY, parse_period("2025Q1"))
    assert sorted(unused_2025["procedure_code"]) == ["2.000002", "3.000003", "4.000004"]
    assert metrics.unused_procedures(golden, Scope(field_names=("Chứng thực",)), Q3).empty


def test_golden_data_range(golden):
    assert metrics.data_range(golden, TU_KY) == (date(2026, 5, 1), date(2026, 10, 1))
    assert metrics.data_range(golden, Scope(unit_codes=("10003",))) == (None, None)


# --- cut-off boundaries ------------------------------------------------------------------------------
def test_finished_exactly_at_report_cutoff():
    con = make_db([
        dict(dossier_code="X1", received_at="2026-09-01", due_at="2026-09-30", finished_at="2026-09-14 23:59",
             status=10),
        dict(dossier_code="X2", received_at="2026-09-01", due_at="2026-09-30", finished_at="2026-09-15 00:00",
             status=10),
        dict(dossier_code="R14", received_at="2026-09-14 16:30", due_at="2026-09-30", status=4),
        dict(dossier_code="R15", received_at="2026-09-15 07:30", due_at="2026-09-30", status=4),
    ])
    q3 = parse_period("2026Q3", "report")  # 15/06 – 14/09
    q4 = parse_period("2026Q4", "report")  # 15/09 – 14/12
    assert (q3.start, q3.end) == (date(2026, 6, 15), date(2026, 9, 14))
    first = metrics.kpi_counts(con, TU_KY, q3)
    assert (first["new"], first["resolved_total"], first["pending_total"]) == (3, 1, 2)  # X2, R14 pending
    assert metrics.dossier_list(con, TU_KY, q3, "resolved_total")["dossier_code"].tolist() == ["X1"]
    second = metrics.kpi_counts(con, TU_KY, q4)
    assert (second["carried_over"], second["new"], second["resolved_total"]) == (2, 1, 1)
    assert metrics.dossier_list(con, TU_KY, q4, "new")["dossier_code"].tolist() == ["R15"]
    # Calendar quarter: all four were received in Q3 and X1, X2 resolved there.
    calendar = metrics.kpi_counts(con, TU_KY, parse_period("2026Q3"))
    assert (calendar["new"], calendar["resolved_total"]) == (4, 2)


def test_custom_period_to_is_inclusive():
    con = make_db([dict(received_at="2026-07-31 17:00", due_at="2026-08-05", status=4)])
    assert metrics.kpi_counts(con, TU_KY, custom_period(date(2026, 7, 1), date(2026, 7, 31)))["new"] == 1
    assert metrics.kpi_counts(con, TU_KY, custom_period(date(2026, 7, 1), date(2026, 7, 30)))["new"] == 0


# --- Tết deadline computed from legal days ------------------------------------------------------------
def test_due_date_from_legal_days_across_tet(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_HOLIDAY_OVERRIDES", str(tmp_path / "none.toml"))  # package calendar only
    con = make_db([
        # Received Thu 12/02/2026 with 3 working days: Fri 13/02, then Tết 14–22/02, Mon 23, Tue 24.
        dict(dossier_code="T1", received_at="2026-02-12", legal_days=3, finished_at="2026-02-24 15:00", status=10),
        dict(dossier_code="T2", received_at="2026-02-12", legal_days=3, finished_at="2026-02-25", status=10),
        # Legal days from the procedure catalogue when the export has none.
        dict(dossier_code="T3", received_at="2026-02-12", procedure_code="2.000002", finished_at="2026-02-23",
             status=10),
        # No due date and no legal days: counted on time and reported by data_quality.
        dict(dossier_code="T4", received_at="2026-02-12", procedure_code="9.999999", finished_at="2026-03-20",
             status=10),
    ], PROCEDURES)
    due = dict(con.execute("SELECT dossier_code, due_at FROM kpi_facts").fetchall())
    assert str(due["T1"]) == "2026-02-24 08:00:00"
    assert str(due["T3"]) == "2026-02-24 08:00:00"
    assert due["T4"] is None
    counts = metrics.kpi_counts(con, TU_KY, parse_period("2026Q1"))
    assert (counts["early"], counts["on_time"], counts["late"]) == (1, 2, 1)  # T3 early; T1, T4 on time; T2 late
    quality = metrics.data_quality(con, TU_KY).set_index("check")
    assert quality.loc["missing_due", "count"] == 1 and quality.loc["missing_due", "examples"] == "T4"
    assert quality.loc["due_from_legal_days", "count"] == 3


# --- carried-over chains and empty periods ------------------------------------------------------------
CHAIN = [
    dict(dossier_code="C1", received_at="2026-03-20", due_at="2026-04-10", finished_at="2026-08-03", status=10),
    dict(dossier_code="C2", received_at="2026-05-05", due_at="2026-05-20", status=4),
    dict(dossier_code="C3", received_at="2026-06-30 16:00", due_at="2026-07-05", finished_at="2026-07-01",
         status=10),
    dict(dossier_code="C4", received_at="2026-02-02", due_at="2026-02-10", finished_at="2026-11-02", status=8),
]


@pytest.mark.parametrize("policy", ["resolved_on_time", "excluded"])
@pytest.mark.parametrize("calendar", ["calendar", "report"])
def test_carried_over_chain_over_quarters(policy, calendar):
    con = make_db(CHAIN)
    settings = Settings(returned_policy=policy)
    periods = [make_period("quarter", 2026, q, calendar) for q in (1, 2, 3, 4)]
    results = [metrics.kpi_counts(con, TU_KY, p, settings) for p in periods]
    for before, after in zip(results, results[1:], strict=False):
        assert before["pending_total"] == after["carried_over"]
    # Pending at the end of Q2: C1, C2 (+ C3 received 30/06 in the calendar quarter; + C4 unless excluded).
    expected = 2 + (calendar == "calendar") + (policy == "resolved_on_time")
    assert results[1]["pending_total"] == expected


def test_empty_period_and_empty_database():
    con = make_db([])
    result = metrics.compute_kpis(con, TU_KY, Q3)
    assert result["received"]["total"] == 0 and result["resolved"]["total"] == 0
    assert all(value is None for value in result["rates"].values())
    frame = metrics.breakdown(con, Scope(), Q3, "unit")
    assert frame.empty and "online_rate" in frame.columns
    assert metrics.total_row(frame)["online_rate"] != metrics.total_row(frame)["online_rate"]  # NaN
    assert metrics.processing_time(con, TU_KY, Q3).empty
    assert metrics.at_risk(con, TU_KY, date(2026, 9, 30)).empty
    assert metrics.data_range(con, TU_KY) == (None, None)
    golden = make_db(GOLDEN)
    empty = metrics.compute_kpis(golden, TU_KY, parse_period("2024Q1"))
    assert empty["received"]["total"] == 0 and empty["rates"]["online_rate"] is None


@pytest.mark.parametrize("settings", [Settings(), Settings(early_rule="timestamp", returned_policy="excluded"),
                                      Settings(digitization_scope="direct_postal_only")])
def test_every_dossier_list_matches_its_count(golden, settings):
    counts = metrics.kpi_counts(golden, TU_KY, Q3, settings)
    for bucket, expected in counts.items():
        assert len(metrics.dossier_list(golden, TU_KY, Q3, bucket, settings, limit=None)) == expected, bucket

"""Golden cases of the official clock (issue 11): supplements, due dates, returned dossiers, no data.

Every figure was worked out by hand from the working-day calendar (2026: Tết days off Mon 16 – Fri 20
February, Quốc khánh Tue 1 – Wed 2 September; July 2026 starts on a Wednesday).
"""

from __future__ import annotations

from datetime import date

import pytest
from kpi_fixtures import make_db

from motcua import metrics
from motcua.filters import Scope
from motcua.metrics import Settings
from motcua.periods import parse_period
from motcua.settings import all_combinations

Q1 = parse_period("2026Q1")
Q3 = parse_period("2026Q3")  # 01/07 – 30/09/2026
Q3_REPORT = parse_period("2026Q3", calendar="report")  # 15/06 – 14/09/2026
Q4_REPORT = parse_period("2026Q4", calendar="report")  # 15/09 – 14/12/2026
UNIT = Scope(unit_codes=("10001",))


def kpis(rows, period, **settings):
    return metrics.compute_kpis(make_db(rows), UNIT, period, Settings(**settings))


# S1 one round: received Mon 06/07 08:00, due Thu 09/07 (date only), 3 working days. Supplement requested
# Tue 07/07 10:00, handed in Fri 10/07 09:00 -> restart: due 10/07 09:00 + 3 working days = Wed 15/07 09:00.
# Finished Tue 14/07 15:00: restart early (14 < 15); as exported late (14 > 09); portal_766: waiting
# 2 d 23 h, due 09/07 23:59 + 2 d 23 h = Sun 12/07 22:59 -> late.
ONE_ROUND = dict(dossier_code="S1", received_at="2026-07-06 08:00", due_at="2026-07-09 00:00", legal_days=3,
                 supplement_requested_at="2026-07-07 10:00", supplement_received_at="2026-07-10 09:00",
                 supplement_count=1, finished_at="2026-07-14 15:00", status=10)
# S2 two rounds, the export keeps the last: requested Mon 13/07 08:00, handed in Tue 14/07 08:00 ->
# restart due Fri 17/07 08:00; finished Thu 16/07 10:00: restart early; portal_766 late (> 1 request).
TWO_ROUNDS = dict(dossier_code="S2", received_at="2026-07-06 08:00", due_at="2026-07-09 00:00", legal_days=3,
                  supplement_requested_at="2026-07-13 08:00", supplement_received_at="2026-07-14 08:00",
                  supplement_count=2, finished_at="2026-07-16 10:00", status=10)


@pytest.mark.parametrize(("rows", "rule", "expected"), [
    ([ONE_ROUND], "restart", (1, 0, 0)),
    ([ONE_ROUND], "as_exported", (0, 0, 1)),
    ([ONE_ROUND], "portal_766", (0, 0, 1)),
    ([TWO_ROUNDS], "restart", (1, 0, 0)),
    ([TWO_ROUNDS], "as_exported", (0, 0, 1)),
    ([TWO_ROUNDS], "portal_766", (0, 0, 1)),
])
def test_supplement_rounds(rows, rule, expected):
    resolved = kpis(rows, Q3, supplement_rule=rule)["resolved"]
    assert (resolved["early"], resolved["on_time"], resolved["late"]) == expected


def test_restart_uses_the_exported_new_due_date_first():
    # Ngày hẹn trả mới 13/07 wins over receipt + 3 days (15/07): finished 14/07 is late.
    row = {**ONE_ROUND, "new_due_at": "2026-07-13 00:00"}
    assert kpis([row], Q3, supplement_rule="restart")["resolved"]["late"] == 1


def test_restart_without_time_limit_keeps_the_due_date_and_is_reported():
    row = {**ONE_ROUND, "legal_days": None}
    assert kpis([row], Q3, supplement_rule="restart")["resolved"]["late"] == 1  # kept due 09/07
    quality = metrics.data_quality(make_db([row]), UNIT).set_index("check")
    assert quality.loc["restart_due_unknown", "count"] == 1


# W1 waits at the period end: received Mon 07/09, due Thu 10/09, supplement requested Wed 09/09 10:00 and
# never handed in (status 5). W2: requested 09/09, handed in Mon 21/09 09:00 -> restart due Thu 24/09.
WAITING = dict(dossier_code="W1", received_at="2026-09-07 08:00", due_at="2026-09-10 00:00", legal_days=3,
               supplement_requested_at="2026-09-09 10:00", supplement_count=1, status=5)
ANSWERED_LATER = dict(dossier_code="W2", received_at="2026-09-07 08:00", due_at="2026-09-10 00:00", legal_days=3,
                      supplement_requested_at="2026-09-09 10:00", supplement_received_at="2026-09-21 09:00",
                      supplement_count=1, status=4)


@pytest.mark.parametrize("period", [Q3, Q3_REPORT], ids=["calendar", "report"])
def test_waiting_for_a_supplement_at_the_period_end(period):
    restart = kpis([WAITING], period)  # default rule: restart
    assert restart["pending"] == {"total": 1, "within_deadline": 1, "overdue": 0, "waiting_supplement": 1}
    exported = kpis([WAITING], period, supplement_rule="as_exported")
    assert exported["pending"]["overdue"] == 1  # due 10/09 before both period ends
    # portal_766: an unanswered request ends the dossier at the request time (09/09 <= due 10/09: early).
    portal = kpis([WAITING], period, supplement_rule="portal_766")
    assert portal["resolved"] == {"total": 1, "early": 1, "on_time": 0, "late": 0}
    assert portal["pending"]["total"] == 0


def test_waiting_depends_on_the_calendar():
    # Report Q3 ends 14/09: W2 still waits (within). Calendar Q3 ends 30/09: answered 21/09, new due
    # 24/09 passed -> overdue. Report Q4 (from 15/09) carries it over, still open on 14/12 -> overdue.
    assert kpis([ANSWERED_LATER], Q3_REPORT)["pending"] == {
        "total": 1, "within_deadline": 1, "overdue": 0, "waiting_supplement": 1}
    assert kpis([ANSWERED_LATER], Q3)["pending"] == {
        "total": 1, "within_deadline": 0, "overdue": 1, "waiting_supplement": 0}
    q4 = kpis([ANSWERED_LATER], Q4_REPORT)
    assert q4["received"]["carried_over"] == 1 and q4["pending"]["overdue"] == 1


def test_at_risk_lists_waiting_dossiers_as_waiting():
    con = make_db([WAITING])
    risk = metrics.at_risk(con, UNIT, Q3.end)
    assert risk["risk"].tolist() == ["waiting"] and risk["days_late"].tolist() == [0]
    exported = metrics.at_risk(con, UNIT, Q3.end, Settings(supplement_rule="as_exported"))
    assert exported["risk"].tolist() == ["overdue"]
    waiting = metrics.dossier_list(con, UNIT, Q3, "waiting_supplement")
    assert waiting["dossier_code"].tolist() == ["W1"]


# Due on Saturday 08/08 (received Mon 03/08), finished Monday 10/08 10:00: late as exported, on time
# when the due date moves to the next working day. Due during Tết (Wed 18/02), finished Mon 23/02.
SATURDAY = dict(dossier_code="D1", received_at="2026-08-03 08:00", due_at="2026-08-08 00:00",
                finished_at="2026-08-10 10:00", status=10)
TET = dict(dossier_code="D2", received_at="2026-02-09 08:00", due_at="2026-02-18 00:00",
           finished_at="2026-02-23 10:00", status=10)


@pytest.mark.parametrize(("row", "period"), [(SATURDAY, Q3), (TET, Q1)], ids=["saturday", "tet"])
def test_due_on_a_day_off(row, period):
    for early_rule in ("date", "timestamp"):
        exported = kpis([row], period, due_on_day_off="as_exported", early_rule=early_rule)["resolved"]
        moved = kpis([row], period, due_on_day_off="next_working_day", early_rule=early_rule)["resolved"]
        assert (exported["late"], moved["on_time"], moved["late"]) == (1, 1, 0)
    quality = metrics.data_quality(make_db([row]), UNIT).set_index("check")
    assert quality.loc["due_on_day_off", "count"] == 1  # counted whatever the setting


def test_date_only_due_means_the_end_of_the_day():
    # Due "15/07/2026" (no time), finished 15/07 15:00: on time under both rules (was late by timestamp).
    row = dict(dossier_code="B", received_at="2026-07-13 08:00", due_at="2026-07-15 00:00",
               finished_at="2026-07-15 15:00", status=10)
    for early_rule in ("date", "timestamp"):
        assert kpis([row], Q3, early_rule=early_rule)["resolved"]["on_time"] == 1
    timed = {**row, "due_at": "2026-07-15 08:00"}  # a due hour that is exported stays binding
    assert kpis([timed], Q3, early_rule="timestamp")["resolved"]["late"] == 1


def test_future_due_date_on_a_pending_dossier_is_within():
    row = dict(dossier_code="F", received_at="2026-09-28 08:00", due_at="2027-01-15 00:00", status=4)
    assert kpis([row], Q3)["pending"] == {"total": 1, "within_deadline": 1, "overdue": 0, "waiting_supplement": 0}


# Withdrawn (status 7) on Mon 10/08, after the due date Thu 06/08.
WITHDRAWN = dict(dossier_code="G", received_at="2026-08-03 08:00", due_at="2026-08-06 00:00",
                 finished_at="2026-08-10 09:00", status=7)


@pytest.mark.parametrize(("policy", "resolved", "returned"), [
    ("resolved_on_time", {"total": 1, "early": 0, "on_time": 1, "late": 0}, 1),
    ("excluded", {"total": 0, "early": 0, "on_time": 0, "late": 0}, 1),
    ("judged_766", {"total": 1, "early": 0, "on_time": 0, "late": 1}, 1),
])
def test_withdrawn_under_every_returned_policy(policy, resolved, returned):
    result = kpis([WITHDRAWN], Q3, returned_policy=policy)
    assert result["resolved"] == resolved and result["returned_or_withdrawn"] == returned
    late = metrics.dossier_list(make_db([WITHDRAWN]), UNIT, Q3, "late", Settings(returned_policy=policy))
    assert late["dossier_code"].tolist() == (["G"] if policy == "judged_766" else [])


def test_no_data_is_not_zero():
    # A source without digitisation, e-result, reuse and payment columns: unknown, not "no".
    unknown = dict(has_digitized_components=None, has_electronic_result=None, reused_digitized_data=None,
                   paid_online=None, fee_amount=50000)
    rows = [dict(dossier_code=f"N{i}", received_at="2026-07-06 08:00", due_at="2026-07-09 00:00",
                 finished_at="2026-07-08 10:00", status=10, **unknown) for i in range(3)]
    known = dict(dossier_code="K1", received_at="2026-07-06 08:00", due_at="2026-07-09 00:00",
                 finished_at="2026-07-08 10:00", status=10, has_digitized_components=True, fee_amount=50000,
                 paid_online=True)
    result = kpis(rows, Q3)
    for key in ("digitized_intake_rate", "electronic_result_rate", "reuse_rate", "online_payment_rate"):
        assert result["rates"][key] is None, key
        assert result["coverage"][key]["numerator"] == 0 and result["coverage"][key]["denominator"] == 3
    mixed = kpis([*rows, known], Q3)
    assert mixed["rates"]["digitized_intake_rate"] == 1.0
    assert mixed["coverage"]["digitized_intake_rate"] == {"numerator": 1, "denominator": 4}
    assert mixed["rates"]["online_payment_rate"] == 1.0
    assert mixed["coverage"]["online_rate"] == {"numerator": 4, "denominator": 4}
    league = metrics.league_table(make_db(rows), Scope(), Q3)
    assert league["rank_digitized_intake_rate"].isna().all()  # no data: unranked


def test_settings_block_lists_every_rule():
    block = metrics.compute_kpis(make_db([WITHDRAWN]), UNIT, Q3)["settings"]
    assert block["supplement_rule"] == "restart" and block["due_on_day_off"] == "as_exported"
    assert set(block) >= {"calendar", "early_rule", "returned_policy", "digitization_scope",
                          "online_procedure_levels", "at_risk_days"}


RULE_PRODUCT = list(all_combinations())


def test_every_rule_combination_keeps_the_golden_set_consistent():
    con = make_db([ONE_ROUND, TWO_ROUNDS, WAITING, ANSWERED_LATER, SATURDAY, WITHDRAWN])
    for settings in RULE_PRODUCT:
        for period in (Q3, Q3_REPORT):
            counts = metrics.kpi_counts(con, UNIT, period, settings)
            assert counts["resolved_total"] == counts["early"] + counts["on_time"] + counts["late"], settings
            assert counts["pending_total"] == counts["within_deadline"] + counts["overdue"], settings
            assert counts["waiting_supplement"] <= counts["pending_total"]


def test_word_and_excel_say_no_data_instead_of_zero_percent():
    import io

    import openpyxl
    from docx import Document

    from motcua.report import make_pack

    rows = [dict(dossier_code=f"N{i}", received_at="2026-07-06 08:00", due_at="2026-07-09 00:00",
                 finished_at="2026-07-08 10:00", status=10, has_digitized_components=None,
                 has_electronic_result=None, reused_digitized_data=None, paid_online=None) for i in range(3)]
    pack = make_pack(make_db(rows), UNIT, Q3, Settings(), with_charts=False)
    text = "\n".join(p.text for p in Document(io.BytesIO(pack.docx)).paragraphs)
    assert "00/03 hồ sơ, đạt 0,00%" not in text
    assert "Số hóa thành phần hồ sơ khi tiếp nhận: không có dữ liệu" in text
    assert "supplement_rule = restart" in text and "tháng, quý dương lịch" in text  # footnote
    assert pack.stem == "xa-tu-ky_2026Q3_duong-lich"
    assert "1 TTHC đã có hồ sơ: 1 toàn trình; 1 TTHC có hồ sơ tiếp nhận trong kỳ." in text
    sheet = openpyxl.load_workbook(io.BytesIO(pack.xlsx))["Chỉ tiêu"]
    cells = {row[1]: row[4] for row in sheet.iter_rows(values_only=True) if row and row[1]}
    assert cells[metrics.RATES["digitized_intake_rate"].label] == "không có dữ liệu"
    other = make_pack(make_db(rows), UNIT, Q3, Settings(supplement_rule="portal_766"), with_charts=False)
    assert other.stem.startswith("xa-tu-ky_2026Q3_duong-lich_cach-tinh-")


def test_cli_flags_text_and_report_calendar(tmp_path):
    from click.testing import CliRunner

    from cli.main import main
    from motcua.db import write_transaction
    from motcua.schema import DOSSIER_COLUMNS

    source = make_db([WAITING, WITHDRAWN])
    dossier_rows = source.execute("SELECT * FROM dossiers").df()
    unit_rows = source.execute("SELECT * FROM units").df()
    db_path = tmp_path / "rules.duckdb"
    with write_transaction(db_path) as con:
        con.register("unit_rows", unit_rows)
        con.register("dossier_rows", dossier_rows)
        con.execute("INSERT INTO units SELECT * FROM unit_rows")
        con.execute(f"INSERT INTO dossiers SELECT {', '.join(DOSSIER_COLUMNS)} FROM dossier_rows")
    runner = CliRunner()
    text = runner.invoke(main, ["kpi", "--db", str(db_path), "--unit", "10001", "--period", "2026Q3"])
    assert text.exit_code == 0, text.output
    assert "chờ bổ sung 1" in text.output and "supplement_rule=restart" in text.output
    exported = runner.invoke(main, ["kpi", "--db", str(db_path), "--unit", "10001", "--period", "2026Q3",
                                    "--supplement-rule", "as_exported", "--due-on-day-off", "next_working_day",
                                    "--returned-policy", "excluded"])
    assert exported.exit_code == 0, exported.output
    assert "chờ bổ sung 1" in exported.output and "kỳ trước" in exported.output  # the excluded warning
    report = runner.invoke(main, ["report", "--db", str(db_path), "--unit", "10001", "--period", "2026Q3",
                                  "--out", str(tmp_path), "--no-charts"])
    assert report.exit_code == 0, report.output
    assert "kỳ báo cáo từ ngày 15 tháng trước đến ngày 14" in report.output
    assert (tmp_path / "xa-tu-ky_2026Q3_ky-bao-cao.docx").exists()


def test_procedures_by_dvc_level_offered_and_used():
    # Catalogue: 2.000002 một phần, 3.000003 thông tin, 4.000004 một phần. Q3 dossiers use 2.000002 only.
    procedures = [
        {"procedure_code": "2.000002", "dvc_level": "mot_phan", "legal_days": 3, "from_catalogue": True},
        {"procedure_code": "3.000003", "dvc_level": "thong_tin", "legal_days": 3, "from_catalogue": True},
        {"procedure_code": "4.000004", "dvc_level": "mot_phan", "legal_days": 5, "from_catalogue": True},
    ]
    rows = [dict(dossier_code="P1", received_at="2026-07-06", procedure_code="2.000002", dvc_level="unknown"),
            dict(dossier_code="P2", received_at="2026-05-06", procedure_code="3.000003", dvc_level="unknown"),
            dict(dossier_code="P3", receiving_unit_code="10002", received_at="2026-07-07",
                 procedure_code="4.000004", dvc_level="unknown")]
    con = make_db(rows, procedures)
    frame = metrics.procedures_by_level(con, UNIT, Q3).set_index("level")
    assert frame["offered"].to_dict() == {"toan_trinh": 0, "mot_phan": 2, "thong_tin": 1, "unknown": 0}
    assert frame["with_dossiers"].to_dict() == {"toan_trinh": 0, "mot_phan": 1, "thong_tin": 0, "unknown": 0}
    per_unit = metrics.procedures_by_level(con, Scope(), Q3, by_unit=True)
    used = per_unit.set_index(["unit", "level"])["with_dossiers"]
    assert used[("10001", "mot_phan")] == 1 and used[("10002", "mot_phan")] == 1
    assert metrics.procedures_by_level_sentence(frame.reset_index()) == (
        "3 TTHC trong danh mục: 2 một phần, 1 cung cấp thông tin; 1 TTHC có hồ sơ tiếp nhận trong kỳ.")
    # Without a catalogue: the procedures seen in the unit's dossiers (levels from the dossiers).
    seen = metrics.procedures_by_level(make_db(rows), UNIT, Q3).set_index("level")
    assert seen["offered"].to_dict()["unknown"] == 2 and seen["with_dossiers"].to_dict()["unknown"] == 1


def test_coverage_per_unit():
    rows = [dict(dossier_code="A", received_at="2026-07-06", has_digitized_components=None),
            dict(dossier_code="B", received_at="2026-07-06", has_digitized_components=True),
            dict(dossier_code="C", receiving_unit_code="10002", received_at="2026-07-06", fee_amount=0)]
    frame = metrics.coverage_table(make_db(rows), Scope(), "unit").set_index("key")
    assert frame.loc["10001", "dossiers"] == 2 and frame.loc["10001", "digitized"] == 0.5
    assert frame.loc["10002", "fee"] == 1.0 and frame.loc["10001", "fee"] == 0.0
    assert frame.loc["10001", "label"] == "Xã Tứ Kỳ"
    by_file = metrics.coverage_table(make_db(rows), Scope(), "file")
    assert by_file["dossiers"].tolist() == [3]  # one import


def test_at_risk_follows_the_rule_clock():
    # portal_766 ends W1 at its request time (09/09): no longer open on 30/09, so not at risk.
    con = make_db([WAITING])
    assert metrics.at_risk(con, UNIT, Q3.end, Settings(supplement_rule="portal_766")).empty
    # next_working_day: due Sat 08/08 moves to Mon 10/08; on Fri 07/08 it is due in 1 working day.
    saturday = dict(dossier_code="D3", received_at="2026-08-03 08:00", due_at="2026-08-08 00:00", status=4)
    risk = metrics.at_risk(make_db([saturday]), UNIT, date(2026, 8, 7),
                           Settings(due_on_day_off="next_working_day", at_risk_days=0))
    assert risk.empty  # Monday is 1 working day away, beyond a 0-day horizon
    moved = metrics.at_risk(make_db([saturday]), UNIT, date(2026, 8, 7),
                            Settings(due_on_day_off="next_working_day", at_risk_days=1))
    assert moved["working_days_left"].tolist() == [1]

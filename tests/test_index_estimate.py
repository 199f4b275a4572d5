"""Service-index estimate (motcua.index_estimate): hand-computed scores on a small fixture."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from kpi_fixtures import make_db

from motcua import index_estimate as ie
from motcua.filters import Scope
from motcua.periods import parse_period

Q3 = parse_period("2026Q3")


def _tu_ky_rows() -> list[dict]:
    """Xã Tứ Kỳ, Q3/2026 — 10 dossiers, all new in the quarter.

    5 resolved early, 1 resolved late, 1 open within the deadline (due after the quarter), 2 open and
    overdue, 1 open due 25/09 (before the quarter end; not late yet on 20/09, the last day with data).
    QĐ 766 on time = (5 + 1) / 10 = 0,6 → Tiến độ = 12 points exactly.
    """
    early = {"received_at": "2026-07-01", "due_at": "2026-07-10", "finished_at": "2026-07-05", "status": 10}
    rows = [dict(early) for _ in range(5)]
    rows.append({"received_at": "2026-07-01", "due_at": "2026-07-03", "finished_at": "2026-07-08", "status": 10})
    rows.append({"received_at": "2026-09-20", "due_at": "2026-10-05"})
    rows += [{"received_at": "2026-08-01", "due_at": "2026-08-10"} for _ in range(2)]
    rows.append({"received_at": "2026-09-15", "due_at": "2026-09-25"})
    # Digitised 7/10; electronic result 3 of the 6 with a result; reuse 4/10; fee 4, paid online 1.
    for i, row in enumerate(rows):
        row["has_digitized_components"] = i < 7
        row["has_electronic_result"] = i < 3
        row["reused_digitized_data"] = i < 4
        row["fee_amount"] = 10_000 if i < 4 else 0
        row["paid_online"] = i == 0
    return rows


def _phuong_ky_rows() -> list[dict]:
    return [{"receiving_unit_code": "10002", "received_at": "2026-07-02", "due_at": "2026-07-10",
             "finished_at": "2026-07-03", "status": 10, "has_digitized_components": True,
             "has_electronic_result": True, "reused_digitized_data": True, "fee_amount": 0} for _ in range(2)]


@pytest.fixture()
def con():
    connection = make_db(_tu_ky_rows() + _phuong_ky_rows())
    yield connection
    connection.close()


def _points(block: dict) -> dict:
    return {row["key"]: row["points"] for row in block["components"]}


def test_components_equal_hand_computed_values(con):
    block = ie.estimate_block(con, Scope(unit_codes=("10001",)), Q3)
    points = _points(block)
    assert points["td_on_time"] == 20 * 0.6 == 12.0  # exactly 20 × the QĐ 766 on-time ratio
    assert points["sh_e_result"] == pytest.approx(3.0)  # min(6, 6 × 3/6)
    assert points["sh_digitized"] == pytest.approx(2.8)  # min(4, 4 × 7/10)
    assert points["sh_reuse"] == pytest.approx(1.0)  # portal 2026: min(2, 2 × 0,4 / 0,8)
    assert points["tp_paid_online"] == pytest.approx(1.5)  # 6 × 1/4
    assert block["total"] == pytest.approx(12 + 3 + 2.8 + 1 + 1.5)
    assert block["label"] == "ước tính" and block["version"] == "portal_2026"
    assert block["parts"]["undetermined"] == ["tt_online_service"]
    assert set(block["parts"]["estimated"]) == {"td_on_time", "sh_e_result", "sh_digitized", "sh_reuse",
                                                "tp_paid_online"}
    assert set(block["parts"]["missing"]) == set(ie.ENTERED_KEYS)
    online = next(row for row in block["components"] if row["key"] == "tt_online_service")
    assert online["points"] is None and online["status_label"] == "chưa xác định"
    assert all(row["formula"] and row["source"] for row in block["components"])


def test_formula_versions_differ_and_never_mix(con):
    old = ie.estimate_block(con, Scope(unit_codes=("10001",)), Q3, version="qd766_2022")
    assert _points(old)["sh_reuse"] == pytest.approx(0.8)  # 2022 text: 2 × 0,4
    with pytest.raises(ValueError, match="phiên bản công thức"):
        ie.ensure_same_version("portal_2026", "qd766_2022")
    with pytest.raises(ValueError):
        ie.score_counts({}, version="2030")


def test_data_until_and_actions_are_computed(con):
    block = ie.estimate_block(con, Scope(unit_codes=("10001",)), Q3)
    assert block["data_until"] == "2026-09-20" and block["partial"] is True
    by_component = {a["component"]: a for a in block["actions"]}
    # The dossier due 25/09 is counted overdue at the quarter end unless resolved in time: 20 × 1/10.
    assert by_component["td_on_time"]["dossiers"] == 1
    assert by_component["td_on_time"]["points"] == pytest.approx(2.0)
    assert "tiến độ +2,00 điểm" in by_component["td_on_time"]["text"]
    assert by_component["sh_digitized"]["dossiers"] == 3
    assert "số hóa thêm 3 hồ sơ → đạt 100%" in by_component["sh_digitized"]["text"]
    assert by_component["sh_reuse"]["dossiers"] == 4  # to 80 %, where the 2026 sheet gives full points
    assert by_component["sh_reuse"]["points"] == pytest.approx(1.0)
    assert by_component["tp_paid_online"]["points"] == pytest.approx(4.5)


def test_rank_ties_one_two_two_four():
    ranks = ie.rank_ties_min(pd.Series([90.0, 80.0, 80.0, 70.0]))
    assert ranks.tolist() == [1, 2, 2, 4]


def test_rank_among_province_and_percentile(con):
    rank = ie.rank_of(con, "10001", Q3)
    # Phượng Kỳ: 20 + 6 + 4 + 2 + 0 (no fee-bearing dossier: A = 0) = 32 > Tứ Kỳ's 20,3.
    assert rank["text"] == "hạng 2/2" and rank["percentile"] == 0.0
    assert rank["score"] == pytest.approx(20.3)
    table = ie.league(con, ["10001", "10002", "10003"], Q3)
    assert table["key"].tolist() == ["10002", "10001"]  # units without dossiers are not ranked
    assert table.iloc[0]["score"] == pytest.approx(32.0)


def test_entered_components_count_and_rank_only_when_all_units_have_them(con):
    con.execute("INSERT INTO index_inputs VALUES ('10001', ?, ?, 'portal_2026', 'hl_pakn_on_time', 6, NULL, "
                "'admin', now()::TIMESTAMP)", [Q3.start, Q3.end])
    block = ie.estimate_block(con, Scope(unit_codes=("10001",)), Q3)
    assert block["parts"]["entered"] == ["hl_pakn_on_time"]
    assert block["total"] == pytest.approx(26.3)
    table = ie.league(con, ["10001", "10002"], Q3)
    assert "hl_pakn_on_time" not in table.attrs["comparable"]  # Phượng Kỳ has no entry: not compared
    assert table.set_index("key").loc["10001", "score"] == pytest.approx(20.3)


def test_months_without_data_are_nan_not_zero(con):
    trend = ie.trend(con, "10001", Q3, months=4)
    assert trend["month"].tolist() == ["2026M06", "2026M07", "2026M08", "2026M09"]
    assert pd.isna(trend.iloc[0]["score"]) and trend.iloc[1]["score"] > 0


def test_same_span_previous_period():
    previous = ie.same_span_previous(Q3, date(2026, 8, 15))
    assert (previous.start, previous.end) == (date(2026, 4, 1), date(2026, 5, 16))


def test_comparison_period_is_the_same_span_only_for_a_partial_period():
    assert ie.comparison_period(Q3, date(2026, 8, 15)) == (ie.same_span_previous(Q3, date(2026, 8, 15)), True)
    for until in (None, Q3.end, date(2026, 12, 1), date(2026, 6, 1)):  # no data, complete, past, before
        assert ie.comparison_period(Q3, until) == (Q3.previous(), False)


def test_csv_import_is_all_or_nothing(tmp_path):
    from dbfactory import build_db

    from motcua import db as dbmod

    path = build_db(tmp_path / "x.duckdb", None)
    good = "don_vi;ky;thanh_phan;diem\nPhường Ba Đình;2026Q3;hl_pakn_on_time;5,5\n"
    (tmp_path / "ok.csv").write_text(good, encoding="utf-8")
    assert ie.import_inputs_csv(path, tmp_path / "ok.csv", entered_by="admin") == 1
    bad = good + "Phường Ba Đình;2026Q3;td_on_time;3\nPhường Ba Đình;2026Q9;ck_public;9\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        ie.import_inputs_csv(path, tmp_path / "bad.csv")
    message = str(error.value)
    assert "Tệp 'bad.csv', dòng 3, cột 'thanh_phan'" in message
    assert "dòng 4, cột 'ky'" in message and "dòng 4, cột 'diem'" in message
    rows = dbmod.Database(path).query_rows("SELECT component, points FROM index_inputs")
    assert rows == [("hl_pakn_on_time", 5.5)]  # the bad file wrote nothing


def test_cli_import_reports_every_bad_cell_and_writes_nothing(tmp_path):
    from click.testing import CliRunner
    from dbfactory import build_db

    from cli.main import main
    from motcua import db as dbmod

    path = build_db(tmp_path / "x.duckdb", None)
    bad = tmp_path / "bad.csv"
    bad.write_text("don_vi,ky,thanh_phan,diem\nPhường Ba Đình,2026Q3,hl_pakn_on_time,abc\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", "import", str(bad), "--db", str(path)])
    assert result.exit_code == 2 and "dòng 2, cột 'diem'" in result.output
    assert dbmod.Database(path).query_rows("SELECT count(*) FROM index_inputs") == [(0,)]
    good = tmp_path / "good.csv"
    good.write_text("don_vi,ky,thanh_phan,diem\nPhường Ba Đình,2026Q3,hl_pakn_on_time,6\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", "import", str(good), "--db", str(path), "--by", "admin"])
    assert result.exit_code == 0 and "Đã nạp 1" in result.output


@pytest.mark.parametrize("calendar", ["calendar", "report"])
def test_trend_in_one_query_equals_a_league_per_month(tmp_path, calendar):
    import dbfactory

    from motcua import db as dbmod
    from motcua import metrics

    path = dbfactory.sample_db(tmp_path / "s.duckdb", n=400)
    database = dbmod.Database(path)
    code = dbfactory.commune_codes()[0]
    period = parse_period("2026Q3", calendar)
    trend = ie.trend(database, code, period, months=6)
    peers = ie.peer_units(database, code)
    months = [parse_period(m, calendar) for m in trend["month"]]
    counts = ie.monthly_unit_counts(database, peers, months)
    for index, (month, row) in enumerate(zip(months, trend.itertuples(), strict=True)):
        expected = metrics.breakdown(database, Scope(unit_codes=tuple(peers)), month, "unit").set_index("key")
        got = counts[counts["month_i"] == index].set_index("key")
        for key in ("received_total", "resolved_total", "within_deadline", "overdue", "paid_online"):
            assert (got[key] == expected.loc[got.index, key]).all(), (month.code, key)
        table = ie.league(database, peers, month)
        mine = table[table["key"] == code]
        if mine.empty:
            assert pd.isna(row.score)
        else:
            assert row.score == pytest.approx(float(mine.iloc[0]["score"]))
            assert row.rank == int(mine.iloc[0]["rank"]) and row.units == len(table)


def test_one_province_computation_serves_every_commune_of_it(tmp_path, monkeypatch):
    """The dashboard computes the province's monthly ranks and league once (``ranked_months``, ``league``)
    and hands them to each commune's trend and rank: the answers equal the commune-alone calls."""
    import dbfactory

    from motcua import db as dbmod

    database = dbmod.Database(dbfactory.sample_db(tmp_path / "s.duckdb", n=400))
    codes = dbfactory.commune_codes()
    peers = ie.peer_units(database, codes[0])
    shared_months = ie.ranked_months(database, peers, Q3, months=6)
    shared_league = ie.league(database, peers, Q3)
    for code in [c for c in codes if c in peers]:
        pd.testing.assert_frame_equal(ie.trend(database, code, Q3, months=6, ranked=shared_months),
                                      ie.trend(database, code, Q3, months=6))
        assert ie.rank_of(database, code, Q3, table=shared_league) == ie.rank_of(database, code, Q3)
    calls = []
    monkeypatch.setattr(ie, "monthly_unit_counts", lambda *args, **kwargs: calls.append(args))
    ie.trend(database, codes[0], Q3, months=6, ranked=shared_months)
    assert calls == []  # nothing recomputed for the province

import os
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from motcua.workdays import (
    CalendarError,
    WorkCalendar,
    calendar_from_overrides,
    load_calendar,
    register_workday_table,
    working_day_index,
)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return calendar_from_overrides()  # package calendar only: independent of the repo's config file


def _range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def test_weekends_are_off_and_ordinary_weekdays_work(cal):
    assert cal.is_working_day(date(2026, 3, 9))  # Monday
    assert not cal.is_working_day(date(2026, 3, 7))  # Saturday
    assert not cal.is_working_day(date(2026, 3, 8))  # Sunday
    assert cal.is_working_day(datetime(2026, 3, 9, 16, 30))


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2025, 1, 25), date(2025, 2, 2)),  # Tết Ất Tỵ: 9 days, Saturday to Sunday
     (date(2026, 2, 14), date(2026, 2, 22))],  # Tết Bính Ngọ: 9 days, Saturday to Sunday
)
def test_tet_blocks_are_days_off_and_bounded_by_working_days(cal, first, last):
    assert not any(cal.is_working_day(d) for d in _range(first, last))
    assert cal.is_working_day(first - timedelta(days=1))  # the Friday before
    assert cal.is_working_day(last + timedelta(days=1))  # the Monday after
    names = [cal.holiday_name(d) for d in _range(first, last) if d.weekday() < 5]
    assert all(name and "Tết" in name for name in names)


def test_reunification_and_labour_day(cal):
    assert not cal.is_working_day(date(2025, 4, 30))
    assert not cal.is_working_day(date(2025, 5, 1))
    assert not cal.is_working_day(date(2025, 5, 2))  # swapped with Saturday 26/04/2025
    assert cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_working_day(date(2026, 4, 30)) and not cal.is_working_day(date(2026, 5, 1))


def test_national_day_and_adjacent_day(cal):
    assert not cal.is_working_day(date(2025, 9, 1)) and not cal.is_working_day(date(2025, 9, 2))
    assert cal.is_working_day(date(2025, 9, 3))
    assert not cal.is_working_day(date(2026, 9, 1)) and not cal.is_working_day(date(2026, 9, 2))


def test_make_up_saturday_2026_08_22(cal):
    assert cal.is_working_day(date(2026, 8, 22))  # Saturday worked ...
    assert not cal.is_working_day(date(2026, 8, 31))  # ... to take Monday 31/08 off
    assert cal.make_up_days(2026) == [date(2026, 8, 22)]
    assert date(2026, 8, 31) in dict(cal.days_off(2026))


def test_deadline_over_tet_lands_after_the_break(cal):
    # Received Friday 13/02/2026 10:00 (last day before Tết), 1 working day -> Monday 23/02/2026 10:00.
    assert cal.add_working_days(datetime(2026, 2, 13, 10, 0), 1) == datetime(2026, 2, 23, 10, 0)
    # Thursday 12/02 + 3 working days: Friday 13, Monday 23, Tuesday 24.
    assert cal.add_working_days(datetime(2026, 2, 12, 9, 0), 3) == datetime(2026, 2, 24, 9, 0)
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1


def test_add_working_days_rules(cal):
    monday = datetime(2026, 3, 9, 10, 0)
    assert cal.add_working_days(monday, 0) == monday
    assert cal.add_working_days(monday, 5) == datetime(2026, 3, 16, 10, 0)
    assert cal.add_working_days(monday, 0.5) == datetime(2026, 3, 9, 22, 0)
    # Start on a day off: counted from 00:00 of the next working day.
    assert cal.add_working_days(datetime(2026, 3, 7, 15, 0), 1) == datetime(2026, 3, 10)
    assert cal.add_working_days(date(2026, 3, 9), 2) == datetime(2026, 3, 11)


def test_working_days_between(cal):
    assert cal.working_days_between(date(2026, 3, 9), date(2026, 3, 13)) == 4
    assert cal.working_days_between(datetime(2026, 3, 9, 17), datetime(2026, 3, 9, 8)) == 0
    assert cal.working_days_between(date(2026, 3, 13), date(2026, 3, 9)) == 0
    assert cal.working_days_between(date(2026, 3, 13), date(2026, 3, 16)) == 1  # over a weekend
    # Outside the vectorised table the slow path gives the same rule.
    assert cal.working_days_between(date(2101, 1, 3), date(2101, 1, 10)) == 5


def test_vectorised_index_matches_scalar_rules(cal):
    rng = np.random.default_rng(7)
    starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 1440, 400), unit="min")
    ends = starts + pd.to_timedelta(rng.integers(-5 * 1440, 60 * 1440, 400), unit="min")
    vector = cal.working_days_between_many(starts, ends)
    scalar = [cal.working_days_between(a.to_pydatetime(), b.to_pydatetime()) for a, b in zip(starts, ends, strict=True)]
    assert vector.tolist() == scalar


def test_vectorised_add_matches_scalar(cal):
    rng = np.random.default_rng(3)
    starts = pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 2 * 365 * 1440, 400), unit="min")
    amounts = rng.integers(0, 30, 400) + np.where(rng.random(400) < 0.2, 0.5, 0.0)
    vector = cal.add_working_days_many(starts, amounts)
    scalar = [cal.add_working_days(s.to_pydatetime(), float(n)) for s, n in zip(starts, amounts, strict=True)]
    assert pd.DatetimeIndex(vector).equals(pd.DatetimeIndex(scalar))


def test_index_handles_missing_and_out_of_range_dates(cal):
    values = np.array(["2026-02-13T08:00", "NaT", "1900-01-01", "2026-02-23"], dtype="datetime64[ns]")
    index = cal.working_day_index(values)
    assert np.isnan(index[1]) and np.isnan(index[2])
    assert index[3] - index[0] == 1
    added = cal.add_working_days_many(values, 1)
    assert np.isnat(added[1]) and np.isnat(added[2])
    assert added[0] == np.datetime64("2026-02-23T08:00")


def test_duckdb_table_agrees_with_python(cal):
    con = duckdb.connect()
    try:
        register_workday_table(con, 2025, 2026, calendar=cal)
        columns = con.execute("DESCRIBE workday_index").fetchall()
        assert [(c[0], c[1]) for c in columns] == [("day", "DATE"), ("idx", "INTEGER"), ("is_working", "BOOLEAN")]
        rows = con.execute(
            "SELECT b.idx - a.idx FROM workday_index a, workday_index b "
            "WHERE a.day = DATE '2026-02-12' AND b.day = DATE '2026-02-24'"
        ).fetchall()
        assert rows == [(cal.working_days_between(date(2026, 2, 12), date(2026, 2, 24)),)]
        assert con.execute("SELECT count(*) FROM workday_index").fetchone() == (730,)
        saturday = con.execute("SELECT is_working FROM workday_index WHERE day = DATE '2026-08-22'").fetchone()
        assert saturday == (True,)
        sql_idx = con.execute("SELECT idx FROM workday_index WHERE day = DATE '2025-07-01'").fetchone()[0]
        assert sql_idx == cal.working_day_index([np.datetime64("2025-07-01")])[0]
    finally:
        con.close()


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_overrides_file_adds_days_off_and_working_days(tmp_path):
    path = _write(tmp_path / "ngay_nghi.toml", """
[[days_off]]
date = 2026-03-10
name = "Nghỉ theo quyết định của tỉnh"

[[working_days]]
date = "24/11/2026"
name = "Vẫn làm việc"

[[working_days]]
date = 2026-03-14
name = "Thứ Bảy làm bù"
""")
    cal = load_calendar(path)
    assert not cal.is_working_day(date(2026, 3, 10))
    assert cal.holiday_name(date(2026, 3, 10)) == "Nghỉ theo quyết định của tỉnh"
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.is_working_day(date(2026, 3, 14))
    # Monday 09/03 + 2 working days: Tuesday is off now, Wednesday 11, Thursday 12.
    assert cal.add_working_days(datetime(2026, 3, 9, 8), 2) == datetime(2026, 3, 12, 8)
    index = cal.working_day_index(np.array(["2026-03-09", "2026-03-16"], dtype="datetime64[D]"))
    assert index[1] - index[0] == 5  # 11, 12, 13, Saturday 14, Monday 16
    assert load_calendar(path) is cal  # cached while the file is unchanged


def test_overrides_file_edit_is_picked_up(tmp_path):
    path = _write(tmp_path / "o.toml", "")
    assert load_calendar(path).is_working_day(date(2026, 3, 10))
    _write(path, "[[days_off]]\ndate = 2026-03-10\nname = \"x\"\n")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse file-system clocks
    assert not load_calendar(path).is_working_day(date(2026, 3, 10))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[days_off]]\nname = 'x'\n", "thiếu trường 'date'"),
        ("[[days_off]]\ndate = '31/02/2026'\n", "không hợp lệ"),
        ("[[holidays]]\ndate = 2026-01-02\n", "mục lạ"),
        ("[[days_off]\n", "sai cú pháp"),
        ("[[days_off]]\ndate = 2026-03-10\n[[working_days]]\ndate = 2026-03-10\n", "vừa là ngày nghỉ"),
    ],
)
def test_bad_overrides_file_gives_vietnamese_error(tmp_path, text, message):
    path = _write(tmp_path / "bad.toml", text)
    with pytest.raises(CalendarError, match=message) as info:
        load_calendar(path)
    assert "bad.toml" in str(info.value)


def test_missing_explicit_file_is_an_error_but_missing_default_is_not(tmp_path, monkeypatch):
    with pytest.raises(CalendarError, match="Không tìm thấy"):
        load_calendar(tmp_path / "absent.toml")
    monkeypatch.setenv("MOTCUA_HOLIDAY_OVERRIDES", str(tmp_path / "absent.toml"))
    assert load_calendar().is_working_day(date(2026, 3, 10))


def test_shipped_overrides_file_is_valid():
    from motcua.workdays import DEFAULT_OVERRIDES_PATH

    assert DEFAULT_OVERRIDES_PATH.exists()
    assert load_calendar(DEFAULT_OVERRIDES_PATH).is_working_day(date(2026, 8, 22))
    assert working_day_index([np.datetime64("2026-01-02")]).shape == (1,)

from datetime import date, datetime

import pytest

from motcua.periods import (
    CALENDARS,
    Period,
    custom_period,
    make_period,
    parse_period,
    period_containing,
    periods_between,
)


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026M01", date(2025, 12, 15), date(2026, 1, 14)),
        ("2026M07", date(2026, 6, 15), date(2026, 7, 14)),
        ("2026Q1", date(2025, 12, 15), date(2026, 3, 14)),
        ("2026Q2", date(2026, 3, 15), date(2026, 6, 14)),
        ("2026Q3", date(2026, 6, 15), date(2026, 9, 14)),
        ("2026Q4", date(2026, 9, 15), date(2026, 12, 14)),
        ("2026H1", date(2025, 12, 15), date(2026, 6, 14)),
        ("2026H2", date(2026, 6, 15), date(2026, 12, 14)),
        ("2026N9", date(2025, 12, 15), date(2026, 9, 14)),
        ("2026", date(2025, 12, 15), date(2026, 12, 14)),
    ],
)
def test_report_periods_follow_the_15th_to_14th_cutoff(code, start, end):
    period = parse_period(code, "report")
    assert (period.start, period.end, period.calendar) == (start, end, "report")


@pytest.mark.parametrize(
    ("code", "start", "end"),
    [
        ("2026M02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024M02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2026Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("2026H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("2026N9", date(2026, 1, 1), date(2026, 9, 30)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_calendar_periods(code, start, end):
    period = parse_period(code)
    assert (period.start, period.end, period.calendar) == (start, end, "calendar")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2026Q3", "2026Q3"), ("2026-Q3", "2026Q3"), ("Q3/2026", "2026Q3"), ("q3/2026", "2026Q3"),
        ("2026M07", "2026M07"), ("2026-07", "2026M07"), ("07/2026", "2026M07"), ("7/2026", "2026M07"),
        ("2026H1", "2026H1"), ("2026H2", "2026H2"), ("2026N9", "2026N9"), ("2026", "2026"),
        (" 2026Q3 ", "2026Q3"), ("2026-01-05_2026-02-10", "2026-01-05_2026-02-10"),
    ],
)
def test_parse_accepted_forms_and_code_round_trip(text, code):
    period = parse_period(text)
    assert period.code == code
    assert parse_period(period.code) == period


@pytest.mark.parametrize("text", ["", "2026Q5", "2026M13", "13/2026", "00/2026", "Quý 3", "2026H3", "abc",
                                  "2026-02-30_2026-03-01"])
def test_parse_rejects_with_vietnamese_message_listing_forms(text):
    with pytest.raises(ValueError, match="Các dạng được chấp nhận") as info:
        parse_period(text)
    assert "2026Q3" in str(info.value) and "07/2026" in str(info.value)


def test_parse_rejects_unknown_calendar():
    with pytest.raises(ValueError, match="không hợp lệ"):
        parse_period("2026Q3", "fiscal")


def test_labels_and_captions():
    assert parse_period("2026Q3", "report").caption == "Quý 3/2026 (15/06/2026–14/09/2026)"
    assert parse_period("2026M07").caption == "Tháng 7/2026 (01/07/2026–31/07/2026)"
    assert parse_period("2026H1", "report").caption == "6 tháng đầu năm 2026 (15/12/2025–14/06/2026)"
    assert parse_period("2026H2").label == "6 tháng cuối năm 2026"
    assert parse_period("2026N9").label == "9 tháng năm 2026"
    assert parse_period("2026").label == "Năm 2026"
    custom = custom_period(date(2026, 1, 5), date(2026, 2, 10))
    assert custom.label == custom.caption == "Từ 05/01/2026 đến 10/02/2026"


def test_half_open_timestamps_cover_the_last_day():
    period = parse_period("2026Q3", "report")
    assert period.start_ts == datetime(2026, 6, 15)
    assert period.end_ts == datetime(2026, 9, 15)
    assert period.contains(datetime(2026, 9, 14, 23, 59)) and not period.contains(date(2026, 9, 15))


@pytest.mark.parametrize("calendar", CALENDARS)
@pytest.mark.parametrize(
    ("code", "previous"),
    [("2026Q1", "2025Q4"), ("2026Q3", "2026Q2"), ("2026H1", "2025H2"), ("2026H2", "2026H1"),
     ("2026", "2025"), ("2026N9", "2025N9"), ("2026M01", "2025M12"), ("2026M07", "2026M06")],
)
def test_previous(code, previous, calendar):
    assert parse_period(code, calendar).previous() == parse_period(previous, calendar)


@pytest.mark.parametrize("calendar", CALENDARS)
def test_consecutive_periods_tile_time_without_gaps(calendar):
    for kind in ("month", "quarter", "half", "year"):
        period = make_period(kind, 2026, 1 if kind != "year" else None, calendar)
        for _ in range(30):
            before = period.previous()
            assert (period.start - before.end).days == 1
            period = before


def test_previous_of_custom_period_is_same_length_just_before():
    period = custom_period(date(2026, 1, 5), date(2026, 2, 10))
    before = period.previous()
    assert before.end == date(2026, 1, 4)
    assert before.days == period.days == 37
    assert before.kind == "custom"


def test_same_period_last_year():
    assert parse_period("2026Q3", "report").same_period_last_year() == parse_period("2025Q3", "report")
    leap = custom_period(date(2024, 2, 1), date(2024, 2, 29)).same_period_last_year()
    assert (leap.start, leap.end) == (date(2023, 2, 1), date(2023, 2, 28))


def test_months_cover_the_period_in_the_same_calendar():
    months = parse_period("2026Q3", "report").months()
    assert [m.code for m in months] == ["2026M07", "2026M08", "2026M09"]
    assert months[0].start == date(2026, 6, 15) and months[-1].end == date(2026, 9, 14)
    assert all(m.calendar == "report" for m in months)
    assert len(parse_period("2026", "report").months()) == 12
    custom = custom_period(date(2026, 1, 20), date(2026, 3, 2)).months()
    assert [m.code for m in custom] == ["2026M01", "2026M02", "2026M03"]


def test_period_containing_report_calendar_rolls_over_on_the_15th():
    assert period_containing(date(2025, 12, 15), "month", "report").code == "2026M01"
    assert period_containing(date(2025, 12, 14), "month", "report").code == "2025M12"
    assert period_containing(date(2025, 12, 20), "year", "report").code == "2026"
    assert period_containing(date(2026, 6, 14), "half", "report").code == "2026H1"
    assert period_containing(date(2026, 6, 15), "quarter", "report").code == "2026Q3"
    assert period_containing(date(2026, 6, 15), "quarter").code == "2026Q2"


def test_periods_between_newest_first():
    months = periods_between(date(2025, 11, 3), date(2026, 2, 1), "month", "calendar")
    assert [p.code for p in months] == ["2026M02", "2026M01", "2025M12", "2025M11"]
    report = periods_between(date(2025, 11, 3), date(2026, 2, 1), "month", "report")
    assert [p.code for p in report] == ["2026M02", "2026M01", "2025M12", "2025M11"]
    quarters = periods_between(date(2025, 12, 20), date(2026, 1, 10), "quarter", "report")
    assert [p.code for p in quarters] == ["2026Q1"]
    nine = periods_between(date(2025, 9, 30), date(2026, 2, 1), "nine_months", "calendar")
    assert [p.code for p in nine] == ["2026N9", "2025N9"]
    assert [p.code for p in periods_between(date(2025, 10, 1), date(2026, 2, 1), "nine_months", "calendar")] == [
        "2026N9"]
    assert periods_between(date(2026, 2, 1), date(2026, 1, 1), "month", "calendar") == []


def test_period_validation():
    with pytest.raises(ValueError, match="sau ngày kết thúc"):
        custom_period(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValueError):
        Period(date(2026, 1, 1), date(2026, 1, 2), "week", "calendar")
    with pytest.raises(ValueError):
        make_period("quarter", 2026, 5)


def test_periods_are_hashable_cache_keys():
    assert len({parse_period("2026Q3"), parse_period("Q3/2026"), parse_period("2026Q3", "report")}) == 2

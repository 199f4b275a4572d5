"""Reporting periods: calendar periods (as the national portal) and report periods (15th -> 14th).

Report periods follow the data cut-off rule of NĐ 09/2019/NĐ-CP Art 12 and the texts that copy it:
month m runs from the 15th of month m-1 to the 14th of month m, so Q1 = 15/12 (previous year) – 14/3,
H1 = 15/12 – 14/6, H2 = 15/6 – 14/12, 9 months = 15/12 – 14/9 and the year = 15/12 – 14/12.
Every period is a closed date range; SQL uses the half-open timestamps ``[start_ts, end_ts)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from motcua.fmt import fmt_date

CALENDARS = ("calendar", "report")  # calendar periods (portal) | report periods (15th -> 14th, NĐ 09/2019)
KINDS = ("month", "quarter", "half", "nine_months", "year", "custom")
CALENDAR_LABELS = {"calendar": "Theo tháng dương lịch", "report": "Kỳ báo cáo (15 tháng trước – 14)"}
# In file names: the same code in two calendars covers different days, so the calendar is always named.
CALENDAR_FILE_CODES = {"calendar": "duong-lich", "report": "ky-bao-cao"}
KIND_LABELS = {
    "month": "Tháng",
    "quarter": "Quý",
    "half": "6 tháng",
    "nine_months": "9 tháng",
    "year": "Năm",
    "custom": "Tùy chọn",
}
REPORT_CUTOFF_DAY = 15  # a report month starts on the 15th of the previous month

# (first month, last month) of each fixed period kind, by number.
_MONTH_SPANS = {
    "quarter": {q: (3 * q - 2, 3 * q) for q in range(1, 5)},
    "half": {1: (1, 6), 2: (7, 12)},
    "nine_months": {9: (1, 9)},
    "year": {None: (1, 12)},
}
_NUMBER_RANGES = {"month": range(1, 13), "quarter": range(1, 5), "half": range(1, 3), "nine_months": (9,)}

ACCEPTED_FORMS = (
    "quý: 2026Q3, 2026-Q3, Q3/2026; tháng: 2026M07, 2026-07, 07/2026; "
    "6 tháng: 2026H1, 2026H2; 9 tháng: 2026N9; năm: 2026; tùy chọn: 2026-01-05_2026-02-10"
)


def _check_calendar(calendar: str) -> None:
    if calendar not in CALENDARS:
        raise ValueError(f"Lịch kỳ '{calendar}' không hợp lệ; chỉ dùng: {', '.join(CALENDARS)}.")


def _month_bounds(year: int, month: int, calendar: str) -> tuple[date, date]:
    """First and last day of month `month` of `year` in the given calendar."""
    if calendar == "report":
        prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
        return date(prev_year, prev_month, REPORT_CUTOFF_DAY), date(year, month, REPORT_CUTOFF_DAY - 1)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), next_first - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive
    kind: str  # month | quarter | half | nine_months | year | custom
    calendar: str  # calendar | report
    year: int | None = None
    number: int | None = None  # month 1-12, quarter 1-4, half 1-2, 9 for nine_months

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Loại kỳ '{self.kind}' không hợp lệ; chỉ dùng: {', '.join(KINDS)}.")
        _check_calendar(self.calendar)
        if self.end < self.start:
            raise ValueError(
                f"Kỳ không hợp lệ: ngày bắt đầu {fmt_date(self.start)} sau ngày kết thúc {fmt_date(self.end)}."
            )

    # --- names -------------------------------------------------------------------------------
    @property
    def code(self) -> str:
        if self.kind == "month":
            return f"{self.year}M{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}Q{self.number}"
        if self.kind == "half":
            return f"{self.year}H{self.number}"
        if self.kind == "nine_months":
            return f"{self.year}N9"
        if self.kind == "year":
            return str(self.year)
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def file_code(self) -> str:
        """'2026Q3_ky-bao-cao': period code and calendar, for file names that never collide."""
        return f"{self.code}_{CALENDAR_FILE_CODES[self.calendar]}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"Tháng {self.number}/{self.year}"
        if self.kind == "quarter":
            return f"Quý {self.number}/{self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        if self.kind == "nine_months":
            return f"9 tháng năm {self.year}"
        if self.kind == "year":
            return f"Năm {self.year}"
        return f"Từ {fmt_date(self.start)} đến {fmt_date(self.end)}"

    @property
    def caption(self) -> str:
        """Label with the inclusive dates: 'Quý 3/2026 (15/06/2026–14/09/2026)'."""
        if self.kind == "custom":
            return self.label  # the label already states both dates
        return f"{self.label} ({fmt_date(self.start)}–{fmt_date(self.end)})"

    @property
    def start_ts(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def end_ts(self) -> datetime:
        """Exclusive upper bound: the day after `end` at 00:00."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, value: date | datetime) -> bool:
        day = value.date() if isinstance(value, datetime) else value
        return self.start <= day <= self.end

    # --- navigation ----------------------------------------------------------------------------
    def previous(self) -> Period:
        """Same kind, just before (Q1 -> Q4 of the previous year; 9 months -> last year's 9 months)."""
        if self.kind == "custom":
            end = self.start - timedelta(days=1)
            return custom_period(end - (self.end - self.start), end, self.calendar)
        if self.kind in ("year", "nine_months"):
            return make_period(self.kind, self.year - 1, self.number, self.calendar)
        count = {"month": 12, "quarter": 4, "half": 2}[self.kind]
        if self.number == 1:
            return make_period(self.kind, self.year - 1, count, self.calendar)
        return make_period(self.kind, self.year, self.number - 1, self.calendar)

    def same_period_last_year(self) -> Period:
        if self.kind == "custom":
            return custom_period(_minus_one_year(self.start), _minus_one_year(self.end), self.calendar)
        return make_period(self.kind, self.year - 1, self.number, self.calendar)

    def months(self) -> list[Period]:
        """Month periods of the same calendar covering this period, oldest first (trend charts)."""
        first = period_containing(self.start, "month", self.calendar)
        result = [first]
        while result[-1].end < self.end:
            result.append(_next_month(result[-1]))
        return result


def _minus_one_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29/02 -> 28/02
        return day.replace(year=day.year - 1, day=28)


def _next_month(period: Period) -> Period:
    if period.number == 12:
        return make_period("month", period.year + 1, 1, period.calendar)
    return make_period("month", period.year, period.number + 1, period.calendar)


def make_period(kind: str, year: int, number: int | None = None, calendar: str = "calendar") -> Period:
    """A fixed period by kind, year and number (month 1-12, quarter 1-4, half 1-2; 9 or None for 9 months)."""
    _check_calendar(calendar)
    if kind == "month":
        if number not in _NUMBER_RANGES["month"]:
            raise ValueError(f"Tháng '{number}' không hợp lệ (1–12).")
        start, end = _month_bounds(year, number, calendar)
        return Period(start, end, "month", calendar, year, number)
    if kind == "nine_months":
        number = 9
    if kind == "year":
        number = None
    spans = _MONTH_SPANS.get(kind)
    if spans is None:
        raise ValueError(f"Loại kỳ '{kind}' không dùng được ở đây; chỉ dùng: {', '.join(KINDS[:-1])}.")
    if number not in spans:
        raise ValueError(f"Số thứ tự kỳ '{number}' không hợp lệ cho loại kỳ '{KIND_LABELS[kind]}'.")
    first_month, last_month = spans[number]
    start = _month_bounds(year, first_month, calendar)[0]
    end = _month_bounds(year, last_month, calendar)[1]
    return Period(start, end, kind, calendar, year, number)


def custom_period(start: date, end: date, calendar: str = "calendar") -> Period:
    """Any closed date range; `calendar` only decides which months `months()` returns."""
    if isinstance(start, datetime):
        start = start.date()
    if isinstance(end, datetime):
        end = end.date()
    return Period(start, end, "custom", calendar)


def period_containing(day: date, kind: str, calendar: str = "calendar") -> Period:
    """The fixed period of `kind` that contains `day` (for 'this month', 'this quarter' defaults)."""
    _check_calendar(calendar)
    if isinstance(day, datetime):
        day = day.date()
    year, month = day.year, day.month
    if calendar == "report" and day.day >= REPORT_CUTOFF_DAY:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if kind == "month":
        return make_period("month", year, month, calendar)
    if kind == "quarter":
        return make_period("quarter", year, (month - 1) // 3 + 1, calendar)
    if kind == "half":
        return make_period("half", year, 1 if month <= 6 else 2, calendar)
    if kind == "year":
        return make_period("year", year, None, calendar)
    if kind == "nine_months":
        period = make_period("nine_months", year, 9, calendar)
        if period.contains(day):
            return period
        raise ValueError(f"Ngày {fmt_date(day)} không thuộc kỳ 9 tháng nào.")
    raise ValueError(f"Loại kỳ '{kind}' không hợp lệ; chỉ dùng: {', '.join(KINDS[:-1])}.")


def periods_between(first: date, last: date, kind: str, calendar: str = "calendar") -> list[Period]:
    """All periods of `kind` overlapping [first, last], newest first (period pickers)."""
    if isinstance(first, datetime):
        first = first.date()
    if isinstance(last, datetime):
        last = last.date()
    if last < first:
        return []
    if kind == "custom":
        return [custom_period(first, last, calendar)]
    if kind == "nine_months":
        candidates = [make_period("nine_months", y, 9, calendar) for y in range(first.year, last.year + 2)]
        return [p for p in reversed(candidates) if p.start <= last and p.end >= first]
    result = [period_containing(last, kind, calendar)]
    while result[-1].start > first:
        result.append(result[-1].previous())
    return result


_YEAR = r"(?P<year>\d{4})"
_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("quarter", rf"{_YEAR}\s*-?\s*Q(?P<number>[1-4])"),
        ("quarter", rf"Q(?P<number>[1-4])\s*[/\-]\s*{_YEAR}"),
        ("month", rf"{_YEAR}\s*-?\s*M(?P<number>\d{{1,2}})"),
        ("month", rf"{_YEAR}-(?P<number>\d{{1,2}})"),
        ("month", rf"(?P<number>\d{{1,2}})/{_YEAR}"),
        ("half", rf"{_YEAR}\s*-?\s*H(?P<number>[12])"),
        ("nine_months", rf"{_YEAR}\s*-?\s*N9"),
        ("year", _YEAR),
    )
)
_CUSTOM_RE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:_|\.\.|–|to)\s*(\d{4}-\d{2}-\d{2})")


def parse_period(text: str, calendar: str = "calendar") -> Period:
    """Parse a period code typed by a user or stored in a URL; Vietnamese ValueError otherwise."""
    _check_calendar(calendar)
    cleaned = str(text or "").strip()
    custom = _CUSTOM_RE.fullmatch(cleaned)
    if custom:
        try:
            start, end = (date.fromisoformat(part) for part in custom.groups())
        except ValueError as exc:
            raise ValueError(f"Kỳ '{text}' có ngày không hợp lệ. Các dạng được chấp nhận: {ACCEPTED_FORMS}.") from exc
        return custom_period(start, end, calendar)
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(cleaned)
        if not match:
            continue
        year = int(match.group("year"))
        number = int(match.group("number")) if "number" in match.groupdict() else None
        if not 1900 <= year <= 2200 or (kind == "month" and number not in _NUMBER_RANGES["month"]):
            break
        return make_period(kind, year, number, calendar)
    raise ValueError(f"Không hiểu kỳ báo cáo '{text}'. Các dạng được chấp nhận: {ACCEPTED_FORMS}.")

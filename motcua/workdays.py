"""Working days of Vietnamese state agencies: weekends, public holidays and yearly decisions.

Sources, in order of precedence:
1. the user-editable overrides file (`config/holiday_overrides.toml`): extra days off and make-up
   working days decided each year by the Prime Minister / Ministry of Home Affairs;
2. the `holidays` package Vietnam calendar: Bộ luật Lao động 2019 Art 112 holidays, the announced Tết and
   Quốc khánh blocks, substituted days off and their make-up Saturdays (`weekend_workdays`);
3. Saturday and Sunday are days off (civil service five-day week).

Vectorised use: `working_day_index(dates)` gives, for every date, the number of working days from a fixed
epoch up to and including that date, so "working days after a up to b" is ``index(b) - index(a)`` for
millions of rows without Python loops. `register_workday_table` puts the same index into DuckDB.
"""

from __future__ import annotations

import functools
import math
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

from motcua.fmt import fmt_date

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent.parent / "config" / "holiday_overrides.toml"
OVERRIDES_ENV = "MOTCUA_HOLIDAY_OVERRIDES"
EPOCH = date(1970, 1, 1)  # working_day_index counts from here (index of the epoch itself is 0 or 1)
TABLE_END = date(2100, 12, 31)  # vectorised lookups cover [EPOCH, TABLE_END]; beyond -> NaN
_DAY = np.timedelta64(1, "D")

__all__ = [
    "CalendarError", "WorkCalendar", "calendar_from_overrides", "default_overrides_path", "load_calendar",
    "read_overrides", "register_workday_table", "working_day_index",
]


class CalendarError(ValueError):
    """The overrides file is unreadable or inconsistent; the message is Vietnamese."""


@dataclass(eq=False)  # identity hash: usable as a cache-key argument
class WorkCalendar:
    """Working-day arithmetic. Build with `load_calendar()` (cached), not directly."""

    extra_days_off: dict[date, str] = field(default_factory=dict)  # from the overrides file
    extra_working_days: dict[date, str] = field(default_factory=dict)  # from the overrides file
    source: Path | None = None

    def __post_init__(self) -> None:
        both = sorted(set(self.extra_days_off) & set(self.extra_working_days))
        if both:
            raise CalendarError(
                f"Tệp ngày nghỉ '{self.source}': ngày {', '.join(fmt_date(d) for d in both)} vừa là ngày nghỉ "
                "vừa là ngày làm việc; hãy giữ một mục."
            )
        self._years: dict[int, holidays.HolidayBase] = {}
        self._table: tuple[np.ndarray, np.ndarray] | None = None

    # --- single days -----------------------------------------------------------------------------
    def _package_year(self, year: int) -> holidays.HolidayBase:
        if year not in self._years:
            self._years[year] = holidays.VN(years=year, language="vi")
        return self._years[year]

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is a day off (None for working days and ordinary weekends)."""
        if day in self.extra_working_days:
            return None
        if day in self.extra_days_off:
            return self.extra_days_off[day]
        return self._package_year(day.year).get(day)

    def is_working_day(self, day: date | datetime) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        offset = (day - EPOCH).days
        working, _ = self._index_table()
        if 0 <= offset < len(working):  # one source of truth with the vectorised index
            return bool(working[offset])
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        package = self._package_year(day.year)
        if day in package.weekend_workdays:  # make-up Saturday
            return True
        if day in package:
            return False
        return day.weekday() < 5

    def days_off(self, year: int) -> list[tuple[date, str]]:
        """Weekday days off of `year` with their names (for the 'Dữ liệu' page and checks)."""
        day, result = date(year, 1, 1), []
        while day.year == year:
            if day.weekday() < 5 and not self.is_working_day(day):
                result.append((day, self.holiday_name(day) or ""))
            day += timedelta(days=1)
        return result

    def make_up_days(self, year: int) -> list[date]:
        """Saturdays/Sundays that are working days in `year`."""
        day, result = date(year, 1, 1), []
        while day.year == year:
            if day.weekday() >= 5 and self.is_working_day(day):
                result.append(day)
            day += timedelta(days=1)
        return result

    # --- the cumulative index ----------------------------------------------------------------------
    def _index_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(is_working, cumulative index) for every day in [EPOCH, TABLE_END]."""
        if self._table is None:
            days = np.arange(np.datetime64(EPOCH), np.datetime64(TABLE_END) + _DAY, dtype="datetime64[D]")
            weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Mon = 0)
            working = weekday < 5
            package = holidays.VN(years=range(EPOCH.year, TABLE_END.year + 1))
            # Later sources win: package holidays, package make-up days, then the overrides file.
            for source, value in ((package, False), (package.weekend_workdays, True),
                                  (self.extra_days_off, False), (self.extra_working_days, True)):
                offsets = [(day - EPOCH).days for day in source if EPOCH <= day <= TABLE_END]
                working[np.asarray(offsets, dtype=np.int64)] = value
            self._table = (working, np.cumsum(working, dtype=np.int64))
        return self._table

    def working_day_index(self, dates) -> np.ndarray:
        """Working days in [EPOCH, date] for each date (time of day ignored); float, NaN for NaT/out of range.

        ``index(b) - index(a)`` = working days after `a` up to and including `b`.
        """
        _, cumulative = self._index_table()
        values = pd.to_datetime(pd.Series(np.asarray(dates).ravel()), errors="coerce")
        offsets = (values.dt.floor("D") - pd.Timestamp(EPOCH)).dt.days.to_numpy(dtype=float, na_value=np.nan)
        valid = ~np.isnan(offsets) & (offsets >= 0) & (offsets < len(cumulative))
        result = np.full(len(offsets), np.nan)
        result[valid] = cumulative[offsets[valid].astype(np.int64)]
        return result

    def working_days_between_many(self, starts, ends) -> np.ndarray:
        """Vectorised `working_days_between`: float array, 0 when end <= start, NaN when either is missing."""
        diff = self.working_day_index(ends) - self.working_day_index(starts)
        return np.where(np.isnan(diff), np.nan, np.maximum(diff, 0))

    def add_working_days_many(self, starts, n) -> np.ndarray:
        """Vectorised `add_working_days`: datetime64[ns] array, NaT where start/n is missing or out of range."""
        working, cumulative = self._index_table()
        values = pd.to_datetime(pd.Series(np.asarray(starts).ravel()), errors="coerce")
        days = values.dt.floor("D")
        offsets = (days - pd.Timestamp(EPOCH)).dt.days.to_numpy(dtype=float, na_value=np.nan)
        fraction = ((values - days) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
        amounts = np.broadcast_to(np.asarray(n, dtype=float), offsets.shape)
        valid = ~np.isnan(offsets) & ~np.isnan(amounts) & (offsets >= 0) & (offsets < len(working))
        safe = np.where(valid, offsets, 0).astype(np.int64)
        # Working day number k (0-based) spans [k, k + 1) on the timeline; whole days and the fraction are
        # kept apart so large day numbers do not eat the time-of-day precision.
        base = np.where(working[safe], cumulative[safe] - 1, cumulative[safe])
        within = np.where(working[safe], fraction, 0.0) + amounts
        steps = np.floor(np.where(valid, within, 0.0))
        whole = base + steps.astype(np.int64)
        working_offsets = np.flatnonzero(working)
        valid &= (whole >= 0) & (whole < len(working_offsets))
        whole = np.where(valid, whole, 0)
        micros = np.round((np.where(valid, within, 0.0) - steps) * 86_400e6).astype(np.int64)
        result = (np.datetime64(EPOCH, "ns") + working_offsets[whole].astype("timedelta64[D]")
                  + micros.astype("timedelta64[us]"))
        return np.where(valid, result, np.datetime64("NaT", "ns"))

    def workday_frame(self, start_year: int, end_year: int) -> pd.DataFrame:
        """day, idx, is_working for every day of the years (the DuckDB join table)."""
        working, cumulative = self._index_table()
        first = max((date(start_year, 1, 1) - EPOCH).days, 0)
        last = min((date(end_year, 12, 31) - EPOCH).days, len(cumulative) - 1)
        days = np.datetime64(EPOCH) + np.arange(first, last + 1) * _DAY
        return pd.DataFrame({
            "day": days.astype("datetime64[s]"),
            "idx": cumulative[first:last + 1].astype(np.int32),
            "is_working": working[first:last + 1],
        })

    # --- scalar arithmetic ---------------------------------------------------------------------------
    def _scalar_index(self, day: date) -> int | None:
        offset = (day - EPOCH).days
        _, cumulative = self._index_table()
        return int(cumulative[offset]) if 0 <= offset < len(cumulative) else None

    def working_days_between(self, start: datetime | date, end: datetime | date) -> int:
        """Whole working days after `start`'s day up to and including `end`'s day; 0 if end <= start."""
        start_day = start.date() if isinstance(start, datetime) else start
        end_day = end.date() if isinstance(end, datetime) else end
        if end_day <= start_day:
            return 0
        first, last = self._scalar_index(start_day), self._scalar_index(end_day)
        if first is not None and last is not None:
            return last - first
        return sum(self.is_working_day(start_day + timedelta(days=i)) for i in range(1, (end_day - start_day).days + 1))

    def add_working_days(self, start: datetime | date, n: float) -> datetime:
        """The moment `n` working days after `start` (the due date of a time limit of n working days).

        Working days are laid end to end on a timeline; the time of day is kept (received Monday 10:00 +
        3 days -> Thursday 10:00) and a fraction of a day is that fraction of 24 hours on the timeline.
        A start on a day off counts from 00:00 of the next working day.
        """
        if isinstance(start, datetime):
            day, fraction = start.date(), (start - datetime.combine(start.date(), time.min)) / timedelta(days=1)
        else:
            day, fraction = start, 0.0
        if not self.is_working_day(day):
            day, fraction = self._step(day, 1), 0.0
        position = fraction + n  # in working days from 00:00 of `day`
        whole = math.floor(position)
        target = day
        step = 1 if whole >= 0 else -1
        for _ in range(abs(whole)):
            target = self._step(target, step)
        return datetime.combine(target, time.min) + timedelta(days=position - whole)

    def _step(self, day: date, direction: int) -> date:
        """The next (direction 1) or previous (-1) working day."""
        day += timedelta(days=direction)
        while not self.is_working_day(day):
            day += timedelta(days=direction)
        return day


def working_day_index(dates, calendar: WorkCalendar | None = None) -> np.ndarray:
    """Module-level shortcut for `WorkCalendar.working_day_index` with the default calendar."""
    return (calendar or load_calendar()).working_day_index(dates)


def register_workday_table(con, start_year: int, end_year: int, calendar: WorkCalendar | None = None,
                           name: str = "workday_index") -> str:
    """Create TEMP TABLE `name`(day DATE, idx INTEGER, is_working BOOLEAN) on this connection/cursor.

    idx is the same cumulative index as `working_day_index`, so in SQL working days after a up to b are
    ``wb.idx - wa.idx`` joined on ``CAST(a AS DATE) = wa.day``. Temp tables are per connection: call it
    on the cursor that runs the query (read-only databases accept temp tables).
    """
    frame = (calendar or load_calendar()).workday_frame(start_year, end_year)
    con.register("_workday_frame", frame)
    try:
        con.execute(
            f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT CAST(day AS DATE) AS day, '
            "CAST(idx AS INTEGER) AS idx, is_working FROM _workday_frame ORDER BY day"
        )
    finally:
        con.unregister("_workday_frame")
    return name


# --- the overrides file ------------------------------------------------------------------------------
def _parse_day(value, source: Path, section: str, number: int) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CalendarError(
        f"Tệp ngày nghỉ '{source}', mục [[{section}]] thứ {number}: ngày '{value}' không hợp lệ "
        "(dùng dạng 2026-02-23 hoặc \"23/02/2026\")."
    )


def _read_section(data: dict, section: str, source: Path) -> dict[date, str]:
    entries = data.get(section, [])
    if not isinstance(entries, list):
        raise CalendarError(f"Tệp ngày nghỉ '{source}': '{section}' phải là danh sách [[{section}]].")
    result: dict[date, str] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "date" not in entry:
            raise CalendarError(f"Tệp ngày nghỉ '{source}', mục [[{section}]] thứ {number}: thiếu trường 'date'.")
        result[_parse_day(entry["date"], source, section, number)] = str(entry.get("name", "")).strip()
    return result


def read_overrides(path: Path) -> tuple[dict[date, str], dict[date, str]]:
    """(days_off, working_days) from a TOML file; Vietnamese `CalendarError` on bad content."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"Tệp ngày nghỉ '{path}' sai cú pháp TOML: {exc}.") from exc
    unknown = sorted(set(data) - {"days_off", "working_days"})
    if unknown:
        raise CalendarError(
            f"Tệp ngày nghỉ '{path}': mục lạ {', '.join(unknown)}; chỉ dùng [[days_off]] và [[working_days]]."
        )
    return _read_section(data, "days_off", path), _read_section(data, "working_days", path)


def default_overrides_path() -> Path:
    return Path(os.environ.get(OVERRIDES_ENV) or DEFAULT_OVERRIDES_PATH)


def load_calendar(overrides_path: Path | str | None = None) -> WorkCalendar:
    """The working-day calendar with the overrides file (default config/holiday_overrides.toml).

    Cached per file and modification time, so an edited file is picked up without a restart. A missing
    default file means "no overrides"; a missing explicitly named file is an error.
    """
    explicit = overrides_path is not None
    path = Path(overrides_path) if explicit else default_overrides_path()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        if explicit:
            raise CalendarError(f"Không tìm thấy tệp ngày nghỉ '{path}'.") from exc
        stamp = None
    return _cached_calendar(str(path.resolve()), stamp)


@functools.lru_cache(maxsize=8)
def _cached_calendar(path: str, stamp: int | None) -> WorkCalendar:
    if stamp is None:
        return WorkCalendar(source=Path(path))
    days_off, working_days = read_overrides(Path(path))
    return WorkCalendar(days_off, working_days, Path(path))


def calendar_from_overrides(days_off: Iterable[date] = (), working_days: Iterable[date] = ()) -> WorkCalendar:
    """An uncached calendar with in-code overrides (tests, what-if checks)."""
    return WorkCalendar({d: "" for d in days_off}, {d: "" for d in working_days})

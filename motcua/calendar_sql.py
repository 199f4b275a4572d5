"""Due dates from legal working days in SQL, over an engine-neutral working-day calendar table.

``workday_calendar(day DATE, idx INTEGER, is_working BOOLEAN)``: one row per day; ``idx`` counts the working
days in [1970-01-01, day] (``motcua.workdays.WorkCalendar.workday_frame``: Tết, substituted days, make-up
Saturdays and ``config/holiday_overrides.toml``). The lake ships it, so any engine derives ``kpi_facts``
from exported dossiers with ``DUE_FILL_SQL`` in place of the Python due-date fill, which it reproduces:

* working day number k (0-based) spans [k, k + 1) on a timeline of working days; a receipt at time-of-day
  f of a working day with index i sits at i - 1 + f, on a day off at i (the next working day's start);
* the due time is that position + legal_days: the working day numbered floor(pos) (``idx = floor + 1``),
  at the time of day (pos - floor(pos)) × 24 h, whole seconds (exports carry seconds at most).

Portable subset only (translated by ``sql_dialect``): ``date_diff('microsecond', …)`` and interval ×
integer, which DuckDB and Spark both run.
"""

from __future__ import annotations

from motcua import metrics_sql as msql

CALENDAR_TABLE = "workday_calendar"

DUE_FILL_SQL = f"""
WITH candidates AS ({msql.DUE_FILL_CANDIDATES}
), placed AS (
    SELECT c.start_at, c.legal_days,
           CASE WHEN w.is_working THEN w.idx - 1 ELSE w.idx END
             + CASE WHEN w.is_working
                    THEN date_diff('microsecond', CAST(CAST(c.start_at AS DATE) AS TIMESTAMP), c.start_at)
                         / 86400000000.0
                    ELSE 0 END
             + c.legal_days AS position
    FROM candidates c
    JOIN {CALENDAR_TABLE} w ON w.day = CAST(c.start_at AS DATE)
), split AS (
    SELECT start_at, legal_days, CAST(floor(position) AS BIGINT) AS whole,
           CAST(round((position - floor(position)) * 86400) AS INTEGER) AS seconds
    FROM placed
)
SELECT s.start_at, s.legal_days,
       CAST(w.day AS TIMESTAMP) + INTERVAL 1 SECOND * s.seconds AS due_at
FROM split s
JOIN {CALENDAR_TABLE} w ON w.is_working AND w.idx = s.whole + 1
"""

# The due_on_day_off rule: every day off with the next working day (a day off has the index of the last
# working day before it, so the next working day has that index + 1).
NEXT_WORKING_DAY_SQL = f"""
SELECT o.day, w.day AS next_day
FROM {CALENDAR_TABLE} o
JOIN {CALENDAR_TABLE} w ON w.is_working AND w.idx = o.idx + 1
WHERE NOT o.is_working
"""


def calendar_frame(first_year: int, last_year: int):
    """The calendar rows for [first_year, last_year] (from the configured working-day calendar)."""
    from motcua.workdays import load_calendar

    frame = load_calendar().workday_frame(first_year, last_year)
    frame["day"] = frame["day"].astype("datetime64[s]").dt.date
    return frame

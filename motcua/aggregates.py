"""Derived tables rebuilt inside every write transaction, before the file is published.

``kpi_facts``: one row per counted dossier (received, not refused at reception) with the effective
due date, end-of-processing time, day-level dates, outcome codes and flags the KPI queries need; see
``motcua.metrics_sql.FACTS_SELECT``. It is rebuilt from scratch (a full CREATE ... AS, ordered for
zone-map pruning) because imports are rare and the rebuild is one vectorised statement.

``kpi_cube``: the same facts summed by unit, channel, level and receipt/end/due half-month, for the
calendar/report-period queries that need no field or procedure (league tables, trends).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from motcua import metrics_sql as msql

_DUE_FILL_SCHEMA = pa.schema([("start_at", pa.timestamp("us")), ("legal_days", pa.float64()),
                              ("due_at", pa.timestamp("us"))])


def _due_fill(con) -> pa.Table:
    """Due dates for dossiers exported without one: receipt + the procedure's legal working days."""
    candidates = con.execute(msql.DUE_FILL_CANDIDATES).df()
    if candidates.empty:
        return _DUE_FILL_SCHEMA.empty_table()
    from motcua.workdays import load_calendar  # only needed when some due dates are missing

    legal = candidates["legal_days"].astype(float)
    due = load_calendar().add_working_days_many(candidates["start_at"], legal)  # vectorised
    return pa.table([candidates["start_at"].astype("datetime64[us]"), legal,
                     pd.Series(due).astype("datetime64[us]")], schema=_DUE_FILL_SCHEMA)


_NEXT_WORKING_DAY_SCHEMA = pa.schema([("day", pa.date32()), ("next_day", pa.date32())])


def _next_working_day(con) -> pa.Table:
    """(day, next_day) for every day off between the first and last due date: the due_on_day_off rule."""
    first, last = con.execute("SELECT min(coalesce(new_due_at, due_at, received_at)), "
                              "max(greatest(coalesce(new_due_at, due_at), received_at, supplement_received_at)) "
                              "FROM dossiers").fetchall()[0]
    if first is None:
        return _NEXT_WORKING_DAY_SCHEMA.empty_table()
    from motcua.workdays import load_calendar

    # A year of margin: due dates computed from legal days lie after the last exported date.
    frame = load_calendar().workday_frame(first.year, last.year + 1)
    working = frame["is_working"].to_numpy()
    days = frame["day"].to_numpy(dtype="datetime64[D]")
    # The next working day of a day off is the first working day after it (same cumulative index + 1).
    next_index = np.searchsorted(np.flatnonzero(working), np.arange(len(days)), side="right")
    has_next = next_index < working.sum()
    off = ~working & has_next
    working_days = days[working]
    return pa.table([pa.array(days[off]), pa.array(working_days[next_index[off]])],
                    schema=_NEXT_WORKING_DAY_SCHEMA)


def refresh(con) -> None:
    """Rebuild derived tables from ``dossiers`` and ``procedures`` (owned by the KPI engine)."""
    con.register("due_fill", _due_fill(con))
    con.register("next_working_day", _next_working_day(con))
    try:
        con.execute(f"CREATE OR REPLACE TABLE {msql.FACTS_TABLE} AS {msql.FACTS_SELECT}")
    finally:
        con.unregister("due_fill")
        con.unregister("next_working_day")
    con.execute(f"CREATE OR REPLACE TABLE {msql.CUBE_TABLE} AS {msql.cube_select(msql.ATTRIBUTES)}")

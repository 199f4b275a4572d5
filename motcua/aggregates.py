"""Derived tables rebuilt inside every write transaction, before the file is published.

``kpi_facts``: one row per counted dossier (received, not refused at reception) with the effective
due date, end-of-processing time, day-level dates, outcome codes and flags the KPI queries need; see
``motcua.metrics_sql.FACTS_SELECT``. It is rebuilt from scratch (a full CREATE ... AS, ordered for
zone-map pruning) because imports are rare and the rebuild is one vectorised statement.

``kpi_cube``: the same facts summed by unit, channel, level and receipt/end/due half-month, for the
calendar/report-period queries that need no field or procedure (league tables, trends).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from motcua import metrics_sql as msql

_DUE_FILL_SCHEMA = pa.schema([("received_at", pa.timestamp("us")), ("legal_days", pa.float64()),
                              ("due_at", pa.timestamp("us"))])


def _due_fill(con) -> pa.Table:
    """Due dates for dossiers exported without one: receipt + the procedure's legal working days."""
    candidates = con.execute(msql.DUE_FILL_CANDIDATES).df()
    if candidates.empty:
        return _DUE_FILL_SCHEMA.empty_table()
    from motcua.workdays import load_calendar  # only needed when some due dates are missing

    legal = candidates["legal_days"].astype(float)
    due = load_calendar().add_working_days_many(candidates["received_at"], legal)  # vectorised
    return pa.table([candidates["received_at"].astype("datetime64[us]"), legal,
                     pd.Series(due).astype("datetime64[us]")], schema=_DUE_FILL_SCHEMA)


def refresh(con) -> None:
    """Rebuild derived tables from ``dossiers`` and ``procedures`` (owned by the KPI engine)."""
    due_fill = _due_fill(con)
    con.register("due_fill", due_fill)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {msql.FACTS_TABLE} AS {msql.FACTS_SELECT}")
    finally:
        con.unregister("due_fill")
    con.execute(f"CREATE OR REPLACE TABLE {msql.CUBE_TABLE} AS {msql.cube_select(msql.ATTRIBUTES)}")

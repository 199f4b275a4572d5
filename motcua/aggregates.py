"""Derived tables rebuilt inside every write transaction, before the file is published.

``kpi_facts``: one row per counted dossier (received, not refused at reception) with the effective
due date, end-of-processing time, day-level dates, outcome codes and flags the KPI queries need; see
``motcua.metrics_sql.FACTS_SELECT``.

``kpi_cube``: the same facts summed by unit, channel, level and receipt/end/due half-month, for the
calendar/report-period queries that need no field or procedure (league tables, trends).

Incremental refresh (every import): a daily file changes a few thousand dossiers of a 10M-dossier
database, so only those are re-derived. ``snapshot`` records, before the caller writes, the highest
``import_id`` and a copy of ``procedures``; ``refresh(con, since)`` then re-derives the facts of the
dossiers stamped with a newer import id (every upsert stamps its import) or of a procedure whose row
changed (its legal days and level feed the facts), and re-sums the cube cells of the affected (receiving
unit, receipt half-month) pairs, the same statements run on the changed rows only (temp views shadow
``dossiers`` / ``kpi_facts``). A full rebuild (ordered for zone-map pruning) runs instead when the derived
tables are missing or of another shape, the change is large, or a count check after the increment fails.
Holiday overrides only reach existing facts through ``motcua kpi --rebuild``.
"""

from __future__ import annotations

import contextlib

from motcua import calendar_sql
from motcua import metrics_sql as msql

# Years of the working-day calendar table kept in the database (and shipped in the lake).
CALENDAR_YEARS = (2000, 2100)


def _write_calendar(con) -> None:
    """(Re)create ``workday_calendar`` from the configured calendar (holiday overrides included)."""
    frame = calendar_sql.calendar_frame(*CALENDAR_YEARS)
    con.execute("SELECT 1").fetchall()  # finishes a result the caller left open (register refuses otherwise)
    con.register("calendar_frame", frame)
    try:
        con.execute(f'CREATE OR REPLACE TABLE {calendar_sql.CALENDAR_TABLE} AS SELECT CAST("day" AS DATE) AS "day", '
                    "CAST(idx AS INTEGER) AS idx, is_working FROM calendar_frame ORDER BY 1")
    finally:
        con.unregister("calendar_frame")


@contextlib.contextmanager
def _due_fill(con):
    """``due_fill`` (start_at, legal_days, due_at) and ``next_working_day`` (day, next_day) for the statement
    run inside: due dates from the legal working days (from the receipt and from a supplement's receipt) and
    the due_on_day_off rule's next working day, both in SQL over the calendar table."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW due_fill AS {calendar_sql.DUE_FILL_SQL}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW next_working_day AS {calendar_sql.NEXT_WORKING_DAY_SQL}")
    try:
        yield
    finally:
        con.execute("DROP VIEW IF EXISTS temp.main.due_fill")
        con.execute("DROP VIEW IF EXISTS temp.main.next_working_day")


# Above this share of changed dossiers a full rebuild is cheaper than deleting and re-inserting.
FULL_REBUILD_SHARE = 0.2


def _one(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()[0]


def _table_columns(con, table: str) -> list[str] | None:
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = "
                       "current_database() AND schema_name = 'main' ORDER BY column_index", [table]).fetchall()
    return [row[0] for row in rows] or None


_PROCEDURES_BEFORE = "refresh_procedures_before"
_UNITS_BEFORE = "refresh_units_before"  # facts read units too (successor of a legacy unit)


def snapshot(con) -> dict:
    """State before a write, for ``refresh``: last import id, procedures (a temp copy), derived tables' shape."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_PROCEDURES_BEFORE} AS SELECT * FROM procedures")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_UNITS_BEFORE} AS SELECT * FROM units")
    return {"import_id": _one(con, "SELECT coalesce(max(import_id), 0) FROM dossiers"),
            "facts_columns": _table_columns(con, msql.FACTS_TABLE),
            "cube_columns": _table_columns(con, msql.CUBE_TABLE)}


def refresh(con, since: dict | None = None) -> str:
    """Bring the derived tables up to date; "full", "incremental" or "unchanged" (what was done).

    Without ``since`` (or when an increment is not safe, see the module docstring) everything is rebuilt.
    """
    if since is not None and _increment_possible(con, since):
        outcome = _refresh_increment(con, since["import_id"])
        if outcome is not None:
            return outcome
    _refresh_full(con)
    return "full"


def _expected_columns(con, select_sql: str, with_due_fill: bool = False) -> list[str]:
    context = _due_fill(con) if with_due_fill else contextlib.nullcontext()
    with context:
        return [column[0] for column in con.execute(f"SELECT * FROM ({select_sql}) LIMIT 0").description]


def _increment_possible(con, since: dict) -> bool:
    if since["facts_columns"] is None or since["cube_columns"] is None or \
            _table_columns(con, calendar_sql.CALENDAR_TABLE) is None:
        return False
    if _table_columns(con, msql.FACTS_TABLE) != since["facts_columns"]:
        return False
    return (since["facts_columns"] == _expected_columns(con, msql.FACTS_SELECT, with_due_fill=True)
            and since["cube_columns"] == _expected_columns(con, msql.cube_select(msql.ATTRIBUTES)))


def _refresh_increment(con, since_import: int) -> str | None:
    """Re-derive the changed dossiers; None when a full rebuild is the better (or the only safe) way."""
    database = _one(con, "SELECT current_database()")
    con.execute("CREATE OR REPLACE TEMP TABLE refresh_procedures AS SELECT DISTINCT procedure_code FROM ("
                f"(SELECT * FROM procedures EXCEPT SELECT * FROM {_PROCEDURES_BEFORE}) UNION ALL "
                f"(SELECT * FROM {_PROCEDURES_BEFORE} EXCEPT SELECT * FROM procedures))")
    con.execute("CREATE OR REPLACE TEMP TABLE refresh_units AS SELECT DISTINCT code FROM ("
                f"(SELECT * FROM units EXCEPT SELECT * FROM {_UNITS_BEFORE}) UNION ALL "
                f"(SELECT * FROM {_UNITS_BEFORE} EXCEPT SELECT * FROM units))")
    con.execute(f"DROP TABLE temp.main.{_PROCEDURES_BEFORE}")
    con.execute(f"DROP TABLE temp.main.{_UNITS_BEFORE}")
    touched = _touched_condition(con, since_import)
    changed = _one(con, f"SELECT count(*) FROM dossiers WHERE {touched}")
    if changed == 0:
        return "unchanged" if _counts_agree(con) else None
    if changed > FULL_REBUILD_SHARE * max(_one(con, "SELECT count(*) FROM dossiers"), 1):
        return None
    facts, cube = msql.FACTS_TABLE, msql.CUBE_TABLE
    bucket = msql.half_month("received_day")
    # Materialised once: the facts SELECT reads its dossiers more than once.
    con.execute(f"CREATE OR REPLACE TEMP TABLE refresh_dossiers AS SELECT * FROM dossiers WHERE {touched}")
    con.execute("CREATE OR REPLACE TEMP TABLE refresh_keys AS SELECT source, dossier_code FROM refresh_dossiers")
    # Cube cells touched: those of the old facts of the changed dossiers, and of their new facts.
    con.execute(f"CREATE OR REPLACE TEMP TABLE refresh_cells AS SELECT DISTINCT receiving_unit_code, {bucket} AS rb "
                f"FROM {facts} SEMI JOIN refresh_keys k USING (source, dossier_code)")
    con.execute(f"DELETE FROM {facts} f USING refresh_keys k WHERE f.source = k.source "
                "AND f.dossier_code = k.dossier_code")
    _shadow(con, "dossiers", "SELECT * FROM temp.main.refresh_dossiers")
    try:
        with _due_fill(con):
            con.execute(f"INSERT INTO {facts} {msql.FACTS_SELECT}")
    finally:
        con.execute("DROP VIEW temp.main.dossiers")
    con.execute(f"INSERT INTO refresh_cells SELECT DISTINCT receiving_unit_code, {bucket} FROM {facts} "
                "SEMI JOIN refresh_keys k USING (source, dossier_code)")
    con.execute(f"DELETE FROM {cube} c USING (SELECT DISTINCT * FROM refresh_cells) a "
                "WHERE c.receiving_unit_code = a.receiving_unit_code AND c.rb = a.rb")
    units = "SELECT DISTINCT receiving_unit_code FROM refresh_cells"
    _shadow(con, facts, f"SELECT f.* FROM {database}.main.{facts} f SEMI JOIN refresh_cells c "
                        f"ON f.receiving_unit_code = c.receiving_unit_code AND {msql.half_month('f.received_day')} = c.rb "
                        f"WHERE f.receiving_unit_code IN ({units})")
    try:
        con.execute(f"INSERT INTO {cube} {msql.cube_select(msql.ATTRIBUTES)}")
    finally:
        con.execute(f"DROP VIEW temp.main.{facts}")
    for table in ("refresh_dossiers", "refresh_keys", "refresh_cells", "refresh_procedures", "refresh_units"):
        con.execute(f"DROP TABLE temp.main.{table}")
    return "incremental" if _counts_agree(con) else None


def _touched_condition(con, since_import: int) -> str:
    """The dossiers whose facts may differ: written by this import, or of a procedure or unit whose row
    changed. Only the non-empty parts: a plain ``import_id > n`` is pushed into the scan and skips the row
    groups of older imports (12 ms at 10M dossiers; with empty ``IN`` lists OR-ed to it, 0.6-3.6 s)."""
    parts = [f"import_id > {int(since_import)}"]
    if _one(con, "SELECT count(*) FROM refresh_procedures"):
        parts.append("procedure_code IN (SELECT procedure_code FROM refresh_procedures)")
    if _one(con, "SELECT count(*) FROM refresh_units"):
        parts.append("receiving_unit_code IN (SELECT code FROM refresh_units)")
        parts.append("resolving_unit_code IN (SELECT code FROM refresh_units)")
    return " OR ".join(parts)


def _shadow(con, name: str, select_sql: str) -> None:
    """A temp view named like a table: the shared SQL templates then read only the rows to re-derive."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select_sql}")


def _counts_agree(con) -> bool:
    """Cheap check of the increment: one fact per counted dossier, the cube sums to the facts."""
    counted = _one(con, "SELECT count(*) FROM dossiers d WHERE d.received_at IS NOT NULL "
                        "AND (d.status IS NULL OR d.status NOT IN (1, 3))")
    facts = _one(con, f"SELECT count(*) FROM {msql.FACTS_TABLE}")
    cube = _one(con, f"SELECT coalesce(sum(n), 0) FROM {msql.CUBE_TABLE}")
    return counted == facts == cube


def _refresh_full(con) -> None:
    """Rebuild derived tables from ``dossiers`` and ``procedures`` (owned by the KPI engine)."""
    _write_calendar(con)
    with _due_fill(con):
        con.execute(f"CREATE OR REPLACE TABLE {msql.FACTS_TABLE} AS {msql.FACTS_SELECT}")
    con.execute(f"CREATE OR REPLACE TABLE {msql.CUBE_TABLE} AS {msql.cube_select(msql.ATTRIBUTES)}")

"""SQL of the KPI engine over the derived table ``kpi_facts``.

``kpi_facts`` (built by ``motcua.aggregates.refresh``) holds one row per *counted* dossier with the
day-level dates the period logic needs (received_day, closed_day, due_day), precomputed outcome codes and
0/1 attribute columns (``a_*``), physically ordered by (receiving_unit_code, received_day) so DuckDB's zone
maps skip the row groups of other communes.

Every count is declared once in ``count_specs`` as (period state, attribute columns). The count query
groups the active dossiers of a period by (key, state flags) and sums the attributes in ONE statement;
the dossier lists turn the same spec into a row condition (``condition_sql``).

Conditions use the markers ``:s`` / ``:e`` (inclusive first/last day of the period); ``bind`` turns them,
and the `?` of a Scope condition, into positional parameters in textual order. Values never enter the SQL
text.
"""

from __future__ import annotations

import re

FACTS_TABLE = "kpi_facts"

# Outcome codes precomputed per closed dossier (independent of the period).
EARLY, ON_TIME, LATE = 0, 1, 2

_MARKER_RE = re.compile(r"(?<![:\w]):([a-z_]+)\b|\?")


def bind(template: str, named: dict, positional: list | tuple = ()) -> tuple[str, list]:
    """Replace ``:name`` markers and ``?`` placeholders by positional ``?`` with params in order."""
    params: list = []
    remaining = iter(positional)

    def substitute(match: re.Match) -> str:
        if match.group(0) == "?":
            params.append(next(remaining))
        else:
            params.append(named[match.group(1)])
        return "?"

    return _MARKER_RE.sub(substitute, template), params


# Period states of an active dossier (rows are already restricted to ``ACTIVE``).
ACTIVE = "d.received_day <= :e AND (d.closed_day IS NULL OR d.closed_day >= :s)"
CARRIED = "d.received_day < :s"
RESOLVED = "coalesce(d.closed_day <= :e, false)"
# QĐ 766: open dossiers are judged at the period end; without an exported due date, an exported "Quá hạn"
# label (``label_overdue``) makes the dossier overdue.
DUE_OK = "(NOT d.label_overdue AND (d.due_day IS NULL OR d.due_day >= :e))"
STATE_SQL = {
    "all": "TRUE",
    "carried": CARRIED,
    "new": f"NOT {CARRIED}",
    "resolved": RESOLVED,
    "pending": f"NOT {RESOLVED}",
    "within": f"NOT {RESOLVED} AND {DUE_OK}",
    "overdue": f"NOT {RESOLVED} AND NOT {DUE_OK}",
    "returned": f"d.is_returned AND {RESOLVED}",  # returned_or_withdrawn: reported whatever the policy
}

# Period-independent 0/1 attributes precomputed per dossier in kpi_facts (see FACTS_SELECT).
LEVELS = ("toan_trinh", "mot_phan", "thong_tin", "unknown")


def count_specs(early_rule: str, digitization_scope: str, online_levels: tuple[str, ...]) -> dict:
    """count key -> (period state, attribute columns summed; () = every dossier in that state).

    The ONE definition of every count: the grouped count query and the dossier lists both use it.
    """
    rule = "ts" if early_rule == "timestamp" else "date"
    offline_scope = digitization_scope == "direct_postal_only"  # TT 03/2025 Art 5(2): online ones exempt
    specs = {
        "received_total": ("all", ()),
        "carried_over": ("carried", ()),
        "new": ("new", ()),
        "online": ("new", ("a_online",)),
        "direct": ("new", ("a_direct",)),
        "postal": ("new", ("a_postal",)),
        "resolved_total": ("resolved", ()),
        "early": ("resolved", (f"a_early_{rule}",)),
        "on_time": ("resolved", (f"a_on_time_{rule}",)),
        "late": ("resolved", (f"a_late_{rule}",)),
        "pending_total": ("pending", ()),
        "within_deadline": ("within", ()),
        "overdue": ("overdue", ()),
        "returned_or_withdrawn": ("returned", ()),
        "new_of_online_procedures": ("new", tuple(f"a_level_{level}" for level in online_levels)),
        "online_of_online_procedures": ("new", tuple(f"a_online_{level}" for level in online_levels)),
        "digitized": ("new", ("a_digitized_offline",) if offline_scope else ("a_digitized",)),
        "digitized_scope": ("new", ("a_direct", "a_postal") if offline_scope else ()),
        "electronic_result": ("resolved", ("a_electronic_result",)),
        "electronic_result_scope": ("resolved", ("a_result",)),
        "reused": ("new", ("a_reused",)),
        "fee_bearing": ("new", ("a_fee",)),
        "paid_online": ("new", ("a_paid_online",)),
        # Received regardless of the applicant's commune (NĐ 118/2025): over new dossiers whose flag is
        # known (exported, or derived from the address at import); unknown is not "no".
        "non_territorial": ("new", ("a_non_territorial",)),
        "non_territorial_known": ("new", ("a_non_territorial_known",)),
        # Re-appointed more than once (NĐ 61/2018 Art 19(9) allows one apology and new date): every dossier
        # handled in the period.
        "reappointed_more_than_once": ("all", ("a_reappointed_twice",)),
    }
    specs.update({f"level_{level}": ("new", (f"a_level_{level}",)) for level in LEVELS})
    return specs


def condition_sql(state: str, attributes: tuple[str, ...], counted: str) -> str:
    """Row condition of one count (dossier lists); `counted` is the returned-policy condition."""
    parts = [STATE_SQL[state]] + ([counted] if state != "returned" else [])
    if attributes:
        parts.append("(" + " + ".join(f"d.{column}" for column in attributes) + ") > 0")
    return " AND ".join(f"({part})" for part in parts)


def counted_sql(returned_policy: str) -> str:
    # "excluded": returned/withdrawn/stopped dossiers leave every column in every period, so the Biểu 06
    # identities and the carried-over chain still hold; they are reported on their own.
    return "NOT d.is_returned" if returned_policy == "excluded" else "TRUE"


def grouped_select(key_sql: str | None, label_sql: str | None, columns: list[str], where_sql: str,
                   cube: bool = False) -> str:
    """Active dossiers grouped by (key, period state, returned), with every needed attribute summed.

    A league table of a year reads millions of rows; summing precomputed 0/1 columns per group is several
    times faster than one FILTER aggregate per count, and the final counts come from a few rows per key.
    With ``cube`` the same query runs on the half-month cube (markers :sb / :eb instead of :s / :e).
    """
    key = f"{key_sql} AS key, {label_sql or 'NULL'} AS label" if key_sql else "NULL AS key, NULL AS label"
    sums = "".join(f", sum(d.{column}) AS {column}" for column in columns)
    if cube:
        table, active, carried, resolved, due_ok, rows = (CUBE_TABLE, CUBE_ACTIVE, CUBE_CARRIED, CUBE_RESOLVED,
                                                          CUBE_DUE_OK, "sum(d.n)")
    else:
        table, active, carried, resolved, due_ok, rows = FACTS_TABLE, ACTIVE, CARRIED, RESOLVED, DUE_OK, "count(*)"
    return (f"SELECT {key}, {carried} AS carried, {resolved} AS resolved, {due_ok} AS due_ok, "
            f"d.is_returned AS returned, {rows} AS n{sums}\n"
            f"FROM {table} d\nWHERE {active} AND ({where_sql})\n"
            f"GROUP BY {'1, ' if key_sql else ''}carried, resolved, due_ok, returned")


# Half-month cube: the facts summed by (units, channel, level, returned, receipt/end/due half-month).
# Calendar and report periods start on the 1st or the 15th and end the day before one, so every day
# comparison of the period states is exact on half-month buckets:
#   received_day <  s  <=> rb <  bucket(s);       closed_day <= e <=> cb < bucket(e + 1);
#   due_day      >= e  <=> db >= bucket(e + 1)    with db = bucket(due_day + 1).
# A year league table then sums thousands of cube rows instead of millions of dossiers.
CUBE_TABLE = "kpi_cube"
CUBE_ACTIVE = "d.rb < :eb AND (d.cb IS NULL OR d.cb >= :sb)"
CUBE_CARRIED = "d.rb < :sb"
CUBE_RESOLVED = "coalesce(d.cb < :eb, false)"
CUBE_DUE_OK = "(d.db IS NULL OR d.db >= :eb)"
CUBE_KEYS = ("receiving_unit_code", "resolving_unit_code", "receiving_current_code", "resolving_current_code",
             "channel", "dvc_level")


def half_month(day_sql: str) -> str:
    """SQL bucket number of a DATE: 24 per year, the second half of a month starts on the 15th."""
    return (f"CAST((year({day_sql}) - 2000) * 24 + (month({day_sql}) - 1) * 2 "
            f"+ CASE WHEN day({day_sql}) >= 15 THEN 1 ELSE 0 END AS SMALLINT)")


def half_month_number(day) -> int:
    """Python twin of ``half_month`` (for the period bounds)."""
    return (day.year - 2000) * 24 + (day.month - 1) * 2 + (1 if day.day >= 15 else 0)


def cube_select(attributes: tuple[str, ...]) -> str:
    sums = "".join(f", CAST(sum({column}) AS INTEGER) AS {column}" for column in attributes)
    keys = ", ".join(CUBE_KEYS)
    # An overdue label sorts before every period end (-1), so CUBE_DUE_OK says overdue as DUE_OK does.
    due_bucket = f"CASE WHEN label_overdue THEN CAST(-1 AS SMALLINT) ELSE {half_month('due_day + 1')} END"
    return (f"SELECT {keys}, is_returned, {half_month('received_day')} AS rb, {half_month('closed_day')} AS cb, "
            f"{due_bucket} AS db, CAST(count(*) AS INTEGER) AS n{sums}\n"
            f"FROM {FACTS_TABLE}\nGROUP BY ALL\nORDER BY resolving_current_code, rb")


_ATTRIBUTE_SQL = {
    "a_online": "channel = 'online'",
    "a_direct": "channel = 'direct'",
    "a_postal": "channel = 'postal'",
    # Returned/withdrawn/stopped count as "đúng hạn" (vendor convention, domain_metrics §2.3) when kept.
    "a_early_date": f"NOT is_returned AND outcome_date = {EARLY}",
    "a_on_time_date": f"is_returned OR outcome_date = {ON_TIME}",
    "a_late_date": f"NOT is_returned AND outcome_date = {LATE}",
    "a_early_ts": f"NOT is_returned AND outcome_ts = {EARLY}",
    "a_on_time_ts": f"is_returned OR outcome_ts = {ON_TIME}",
    "a_late_ts": f"NOT is_returned AND outcome_ts = {LATE}",
    **{f"a_level_{level}": f"dvc_level = '{level}'" for level in LEVELS},
    **{f"a_online_{level}": f"dvc_level = '{level}' AND channel = 'online'" for level in LEVELS},
    "a_digitized": "digitized",
    "a_digitized_offline": "digitized AND channel <> 'online'",
    "a_result": "has_result",
    "a_electronic_result": "has_result AND electronic_result",
    "a_reused": "reused",
    "a_fee": "fee_bearing",
    "a_paid_online": "fee_bearing AND paid_online",
    "a_non_territorial": "non_territorial",
    "a_non_territorial_known": "non_territorial IS NOT NULL",
    "a_reappointed_twice": "reappointment_count > 1",
}
ATTRIBUTES = tuple(_ATTRIBUTE_SQL)
_ATTRIBUTE_COLUMNS = ",\n       ".join(
    f"CAST(coalesce({sql}, false) AS UTINYINT) AS {name}" for name, sql in _ATTRIBUTE_SQL.items())


# The unit each dossier counts for under the current boundaries (``boundaries = current``): a legacy unit's
# dossiers go to its current successor (units.successor_code), a current unit keeps its own.
CURRENT_UNIT_COLUMNS = ("coalesce(ur.successor_code, d.receiving_unit_code) AS receiving_current_code, "
                        "coalesce(us.successor_code, d.resolving_unit_code) AS resolving_current_code")
CURRENT_UNIT_JOINS = ("LEFT JOIN units ur ON ur.code = d.receiving_unit_code "
                      "LEFT JOIN units us ON us.code = d.resolving_unit_code")

# Derived facts table. `due_fill` (received_at, legal_days, due_at) holds the due dates computed from the
# procedure's legal time limit in working days (motcua.calendar_sql, over the working-day calendar table).
FACTS_SELECT = f"""
WITH base AS (
    SELECT d.source, d.dossier_code, d.receiving_unit_code, d.resolving_unit_code, d.procedure_code,
           coalesce(d.procedure_name, p.procedure_name) AS procedure_name,
           coalesce(d.field_code, p.field_code) AS field_code,
           coalesce(d.field_name, p.field_name) AS field_name,
           CASE WHEN d.dvc_level IN ('toan_trinh', 'mot_phan', 'thong_tin') THEN d.dvc_level
                WHEN p.dvc_level IN ('toan_trinh', 'mot_phan', 'thong_tin') THEN p.dvc_level
                ELSE 'unknown' END AS dvc_level,
           CASE WHEN d.channel IN ('online', 'postal') THEN d.channel ELSE 'direct' END AS channel,
           d.status, d.received_at, d.time_status,
           d.finished_at IS NULL AND d.returned_at IS NULL AS no_end_date,
           coalesce(d.new_due_at, d.due_at) AS given_due_at,
           coalesce(d.legal_days, p.legal_days) AS legal_days,
           -- End of processing in the QĐ 766 order: finished, else returned, else the state time of a
           -- closing status. Clamped to the receipt so a bad end date never hides a dossier.
           CASE WHEN d.finished_at IS NOT NULL THEN greatest(d.finished_at, d.received_at)
                WHEN d.returned_at IS NOT NULL THEN greatest(d.returned_at, d.received_at)
                WHEN d.status IN (7, 8, 9, 10) THEN greatest(d.state_at, d.received_at) END AS closed_at,
           coalesce(d.status IN (7, 8), false) AS is_returned,
           coalesce(d.status IN (9, 10), false)
             OR (coalesce(d.status NOT IN (7, 8), true)
                 AND (d.finished_at IS NOT NULL OR d.returned_at IS NOT NULL)) AS has_result,
           coalesce(d.has_digitized_components, false) AS digitized,
           coalesce(d.has_electronic_result, false) AS electronic_result,
           coalesce(d.reused_digitized_data, false) AS reused,
           coalesce(d.paid_online, false) AS paid_online,
           coalesce(d.fee_amount > 0, p.has_fee, false) AS fee_bearing,
           d.supplement_count,
           d.handling_department, d.handling_officer, d.current_step, d.non_territorial,
           d.reappointment_count,
           -- Re-appointed (xin lỗi, hẹn lại): an exported new due date or a re-appointment count.
           d.new_due_at IS NOT NULL OR coalesce(d.reappointment_count > 0, false) AS reappointed,
           {CURRENT_UNIT_COLUMNS}
    FROM dossiers d
    LEFT JOIN procedures p ON p.procedure_code = d.procedure_code
    {CURRENT_UNIT_JOINS}
    WHERE d.received_at IS NOT NULL AND (d.status IS NULL OR d.status NOT IN (1, 3))
), dated AS (
    SELECT b.*, coalesce(b.given_due_at, f.due_at) AS eff_due_at, b.given_due_at IS NULL AS due_computed,
           -- The exported time status decides where the dates cannot: a resolved dossier without an end date
           -- or without a due date, an open dossier without a due date (README "Nạp dữ liệu").
           CASE WHEN b.no_end_date OR b.given_due_at IS NULL THEN
                CASE b.time_status WHEN 'truoc_han' THEN {EARLY} WHEN 'dung_han' THEN {ON_TIME}
                                   WHEN 'qua_han' THEN {LATE} END END AS label_outcome
    FROM base b
    LEFT JOIN due_fill f ON b.given_due_at IS NULL AND f.received_at = b.received_at
                        AND f.legal_days = b.legal_days
), facts AS (
SELECT source, dossier_code, receiving_unit_code, resolving_unit_code, receiving_current_code,
       resolving_current_code, procedure_code, procedure_name,
       field_code, field_name, dvc_level, channel, status, time_status, is_returned, has_result, digitized,
       electronic_result, reused, paid_online, fee_bearing, supplement_count,
       handling_department, handling_officer, current_step, non_territorial, reappointment_count, reappointed,
       received_at, eff_due_at AS due_at, closed_at,
       CAST(received_at AS DATE) AS received_day,
       CAST(eff_due_at AS DATE) AS due_day,
       CAST(closed_at AS DATE) AS closed_day,
       due_computed AND eff_due_at IS NOT NULL AS due_from_legal_days,
       closed_at IS NULL AND given_due_at IS NULL AND coalesce(time_status = 'qua_han', false) AS label_overdue,
       CAST(CASE WHEN closed_at IS NULL THEN NULL
            WHEN label_outcome IS NOT NULL THEN label_outcome
            WHEN eff_due_at IS NULL THEN {ON_TIME}
            WHEN CAST(closed_at AS DATE) < CAST(eff_due_at AS DATE) THEN {EARLY}
            WHEN CAST(closed_at AS DATE) = CAST(eff_due_at AS DATE) THEN {ON_TIME}
            ELSE {LATE} END AS TINYINT) AS outcome_date,
       CAST(CASE WHEN closed_at IS NULL THEN NULL
            WHEN label_outcome IS NOT NULL THEN label_outcome
            WHEN eff_due_at IS NULL THEN {ON_TIME}
            WHEN closed_at > eff_due_at THEN {LATE}
            WHEN CAST(closed_at AS DATE) < CAST(eff_due_at AS DATE) THEN {EARLY}
            ELSE {ON_TIME} END AS TINYINT) AS outcome_ts
FROM dated
)
SELECT *,
       {_ATTRIBUTE_COLUMNS}
FROM facts
ORDER BY resolving_current_code, received_day
"""

# Distinct (received_at, legal_days) pairs whose due date must be computed from legal_days.
DUE_FILL_CANDIDATES = """
SELECT DISTINCT d.received_at, coalesce(d.legal_days, p.legal_days) AS legal_days
FROM dossiers d
LEFT JOIN procedures p ON p.procedure_code = d.procedure_code
WHERE d.due_at IS NULL AND d.new_due_at IS NULL AND d.received_at IS NOT NULL
  AND coalesce(d.legal_days, p.legal_days) IS NOT NULL
"""

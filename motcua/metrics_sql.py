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


# --- the official clock: which end time and due date a rule judges by ---------------------------------
# ``supplement_rule`` (NĐ 61/2018 Art 19(4) kept by NĐ 118/2025; QĐ 766 indicator 2.1) and ``due_on_day_off``
# (Bộ luật Dân sự 2015 Art 148) pick precomputed columns of kpi_facts: every combination is derived once at
# import (FACTS_SELECT), so switching rules is a different column name, never a slower query.
SUPPLEMENT_RULES = ("restart", "portal_766", "as_exported")
DAY_OFF_RULES = ("as_exported", "next_working_day")
_SUPPLEMENT_CODES = {"as_exported": "exp", "restart": "rst", "portal_766": "766"}


def clock_suffix(supplement_rule: str = "as_exported", due_on_day_off: str = "as_exported") -> str:
    """Column suffix of one (supplement rule, day-off rule) clock: 'exp', 'rst_nwd', '766', ..."""
    return _SUPPLEMENT_CODES[supplement_rule] + ("_nwd" if due_on_day_off == "next_working_day" else "")


CLOCK_SUFFIXES = tuple(clock_suffix(s, o) for s in SUPPLEMENT_RULES for o in DAY_OFF_RULES)


def due_at_sql(supplement_rule: str = "as_exported", due_on_day_off: str = "as_exported", alias: str = "d") -> str:
    """The due moment of a clock for display (only the day columns are stored for the day-off variants)."""
    base = f"{alias}.due_at" + {"as_exported": "", "restart": "_rst", "portal_766": "_766"}[supplement_rule]
    if due_on_day_off == "as_exported":
        return base
    day = f"{alias}.due_day_{clock_suffix(supplement_rule, due_on_day_off)}"
    # The moved day at the exported time of day (the 766 "more than one request" marker keeps the base).
    return (f"CASE WHEN {day} > CAST({base} AS DATE) THEN CAST({day} AS TIMESTAMP) + ({base} - date_trunc('day', "
            f"{base})) ELSE {base} END")


def closed_column(supplement_rule: str) -> str:
    # QĐ 766: a dossier whose last event is an unanswered supplement request ends at the request time.
    return "closed_day_766" if supplement_rule == "portal_766" else "closed_day"


def clock_states(supplement_rule: str = "as_exported", due_on_day_off: str = "as_exported",
                 cube: bool = False) -> dict[str, str]:
    """SQL of the period states (active, carried, resolved, due_ok, waiting) on facts or on the cube.

    A dossier waiting for a supplement at the period end (request made, not yet answered, not closed) has its
    clock stopped under ``restart`` and ``portal_766``: it is pending within the deadline.
    """
    suffix = clock_suffix(supplement_rule, due_on_day_off)
    if cube:
        closed = "cb766" if supplement_rule == "portal_766" else "cb"
        return {
            "active": f"d.rb < :eb AND (d.{closed} IS NULL OR d.{closed} >= :sb)",
            "carried": "d.rb < :sb",
            "resolved": f"coalesce(d.{closed} < :eb, false)",
            "due_ok": f"(d.db_{suffix} IS NULL OR d.db_{suffix} >= :eb)",  # -1: exported "Quá hạn" label
            "waiting": "coalesce(d.wfb < :eb AND (d.wub IS NULL OR d.wub >= :eb), false)",
        }
    closed = closed_column(supplement_rule)
    return {
        "active": f"d.received_day <= :e AND (d.{closed} IS NULL OR d.{closed} >= :s)",
        "carried": "d.received_day < :s",
        "resolved": f"coalesce(d.{closed} <= :e, false)",
        # QĐ 766: open dossiers are judged at the period end; without an exported due date, an exported
        # "Quá hạn" label (``label_overdue``) makes the dossier overdue.
        "due_ok": f"(NOT d.label_overdue AND (d.due_day_{suffix} IS NULL OR d.due_day_{suffix} >= :e))",
        "waiting": "coalesce(d.wait_from <= :e AND (d.wait_until IS NULL OR d.wait_until > :e), false)",
    }


def stops_clock(supplement_rule: str) -> bool:
    return supplement_rule != "as_exported"


def state_sql(supplement_rule: str = "as_exported", due_on_day_off: str = "as_exported") -> dict[str, str]:
    """Row conditions of the period states of an active dossier (dossier lists)."""
    c = clock_states(supplement_rule, due_on_day_off)
    resolved, due_ok, waiting = c["resolved"], c["due_ok"], c["waiting"]
    within = f"({due_ok} OR {waiting})" if stops_clock(supplement_rule) else due_ok
    return {
        "all": "TRUE",
        "carried": c["carried"],
        "new": f"NOT {c['carried']}",
        "resolved": resolved,
        "pending": f"NOT {resolved}",
        "within": f"NOT {resolved} AND {within}",
        "overdue": f"NOT {resolved} AND NOT {within}",
        "waiting": f"NOT {resolved} AND {waiting}",
        "returned": f"d.is_returned AND {resolved}",  # returned_or_withdrawn: reported whatever the policy
    }


# Back-compatible names: the as-exported clock.
ACTIVE = clock_states()["active"]
CARRIED = clock_states()["carried"]
RESOLVED = clock_states()["resolved"]
DUE_OK = clock_states()["due_ok"]
STATE_SQL = state_sql()

# Period-independent 0/1 attributes precomputed per dossier in kpi_facts (see FACTS_SELECT).
LEVELS = ("toan_trinh", "mot_phan", "thong_tin", "unknown")
# Outcome counts whose returned/withdrawn dossiers follow ``returned_policy``.
OUTCOME_KEYS = ("early", "on_time", "late")
# Counts of the dossiers in their state that have NONE of the spec's attributes.
COMPLEMENT_KEYS = frozenset({"on_time"})
RETURNED_POLICIES = ("resolved_on_time", "excluded", "judged_766")


def count_specs(early_rule: str, digitization_scope: str, online_levels: tuple[str, ...],
                supplement_rule: str = "as_exported", due_on_day_off: str = "as_exported") -> dict:
    """count key -> (period state, attribute columns summed; () = every dossier in that state).

    The ONE definition of every count: the grouped count query and the dossier lists both use it.
    Rates over an attribute a source may lack (digitised, e-result, reuse, payment, level) have a
    denominator over dossiers whose value is known (``*_known`` columns) and a coverage count over all.
    """
    rule = ("ts" if early_rule == "timestamp" else "date") + "_" + clock_suffix(supplement_rule, due_on_day_off)
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
        # on_time is the complement (every closed dossier has exactly one outcome): one attribute fewer per rule.
        "on_time": ("resolved", (f"a_early_{rule}", f"a_late_{rule}")),
        "late": ("resolved", (f"a_late_{rule}",)),
        "pending_total": ("pending", ()),
        "within_deadline": ("within", ()),
        "overdue": ("overdue", ()),
        "waiting_supplement": ("waiting", ()),
        "returned_or_withdrawn": ("returned", ()),
        "new_of_online_procedures": ("new", tuple(f"a_level_{level}" for level in online_levels)),
        "online_of_online_procedures": ("new", tuple(f"a_online_{level}" for level in online_levels)),
        "new_level_known": ("new", tuple(f"a_level_{level}" for level in LEVELS if level != "unknown")),
        "digitized": ("new", ("a_digitized_offline",) if offline_scope else ("a_digitized",)),
        "digitized_scope": ("new", ("a_digitized_known_offline",) if offline_scope else ("a_digitized_known",)),
        "digitized_scope_all": ("new", ("a_direct", "a_postal") if offline_scope else ()),
        "electronic_result": ("resolved", ("a_electronic_result",)),
        "electronic_result_scope": ("resolved", ("a_result_known",)),
        "electronic_result_scope_all": ("resolved", ("a_result",)),
        "reused": ("new", ("a_reused",)),
        "reuse_scope": ("new", ("a_reused_known",)),
        "fee_bearing": ("new", ("a_fee",)),
        "paid_online": ("new", ("a_paid_online",)),
        # Received regardless of the applicant's commune (NĐ 118/2025): over new dossiers whose flag is
        # known (exported, or derived from the address at import); unknown is not "no".
        "non_territorial": ("new", ("a_non_territorial",)),
        "non_territorial_known": ("new", ("a_non_territorial_known",)),
        # Re-appointed more than once (NĐ 61/2018 Art 19(9) allows one apology and new date): every dossier
        # handled in the period.
        "reappointed_more_than_once": ("all", ("a_reappointed_twice",)),
        "payment_known": ("new", ("a_payment_known",)),
    }
    specs.update({f"level_{level}": ("new", (f"a_level_{level}",)) for level in LEVELS})
    return specs


def condition_sql(state: str, attributes: tuple[str, ...], counted: str, supplement_rule: str = "as_exported",
                  due_on_day_off: str = "as_exported", key: str | None = None,
                  returned_policy: str = "judged_766") -> str:
    """Row condition of one count (dossier lists); `counted` is the returned-policy condition.

    ``key`` names the count so the outcome counts follow ``returned_policy`` exactly as the grouped query
    does (``resolved_on_time``: a returned dossier is "đúng hạn", never early or late).
    """
    parts = [state_sql(supplement_rule, due_on_day_off)[state]] + ([counted] if state != "returned" else [])
    attribute = "(" + " + ".join(attribute_sql(column) for column in attributes) + ") > 0" if attributes else None
    if key in COMPLEMENT_KEYS:
        attribute = f"NOT {attribute}"
    if key in OUTCOME_KEYS and returned_policy == "resolved_on_time":
        attribute = f"(d.is_returned OR {attribute})" if key == "on_time" else f"NOT d.is_returned AND {attribute}"
    if attribute:
        parts.append(attribute)
    return " AND ".join(f"({part})" for part in parts)


def counted_sql(returned_policy: str) -> str:
    # "excluded": returned/withdrawn/stopped dossiers leave every column in every period, so the Biểu 06
    # identities and the carried-over chain still hold; they are reported on their own.
    return "NOT d.is_returned" if returned_policy == "excluded" else "TRUE"


def grouped_select(key_sql: str | None, label_sql: str | None, columns: list[str], where_sql: str,
                   cube: bool = False, supplement_rule: str = "as_exported",
                   due_on_day_off: str = "as_exported") -> str:
    """Active dossiers grouped by (key, period state, waiting, returned), with every needed attribute summed.

    A league table of a year reads millions of rows; summing precomputed 0/1 columns per group is several
    times faster than one FILTER aggregate per count, and the final counts come from a few rows per key.
    With ``cube`` the same query runs on the half-month cube (markers :sb / :eb instead of :s / :e).
    """
    key = f"{key_sql} AS key, {label_sql or 'NULL'} AS label" if key_sql else "NULL AS key, NULL AS label"
    sums = "".join(f", sum({f'd.{column}' if cube else attribute_sql(column)}) AS {column}" for column in columns)
    c = clock_states(supplement_rule, due_on_day_off, cube)
    table, rows = (CUBE_TABLE, "sum(d.n)") if cube else (FACTS_TABLE, "count(*)")
    return (f"SELECT {key}, {c['carried']} AS carried, {c['resolved']} AS resolved, {c['due_ok']} AS due_ok, "
            f"{c['waiting']} AS waiting, d.is_returned AS returned, {rows} AS n{sums}\n"
            f"FROM {table} d\nWHERE {c['active']} AND ({where_sql})\n"
            f"GROUP BY {'1, ' if key_sql else ''}carried, resolved, due_ok, waiting, returned")


# Half-month cube: the facts summed by (units, channel, level, returned, receipt/end/due/supplement
# half-month). Calendar and report periods start on the 1st or the 15th and end the day before one, so
# every day comparison of the period states is exact on half-month buckets:
#   received_day <  s  <=> rb <  bucket(s);       closed_day <= e <=> cb < bucket(e + 1);
#   due_day      >= e  <=> db >= bucket(e + 1)    with db = bucket(due_day + 1);
#   wait_from    <= e  <=> wfb < bucket(e + 1);   wait_until > e  <=> wub >= bucket(e + 1).
# A year league table then sums thousands of cube rows instead of millions of dossiers.
CUBE_TABLE = "kpi_cube"
CUBE_ACTIVE = clock_states(cube=True)["active"]
CUBE_CARRIED = clock_states(cube=True)["carried"]
CUBE_RESOLVED = clock_states(cube=True)["resolved"]
CUBE_DUE_OK = clock_states(cube=True)["due_ok"]
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
    sums = "".join(f", CAST(sum({attribute_sql(column, None)}) AS INTEGER) AS {column}" for column in attributes)
    keys = ", ".join(CUBE_KEYS)
    # An overdue label sorts before every period end (-1), so the cube's due_ok says overdue as the facts' does.
    dues = "".join(f", CASE WHEN label_overdue THEN CAST(-1 AS SMALLINT) ELSE {half_month(f'due_day_{suffix} + 1')} "
                   f"END AS db_{suffix}" for suffix in CLOCK_SUFFIXES)
    return (f"SELECT {keys}, is_returned, {half_month('received_day')} AS rb, {half_month('closed_day')} AS cb, "
            f"{half_month('closed_day_766')} AS cb766{dues}, {half_month('wait_from')} AS wfb, "
            f"{half_month('wait_until')} AS wub, CAST(count(*) AS INTEGER) AS n{sums}\n"
            f"FROM {FACTS_TABLE}\nGROUP BY ALL\nORDER BY resolving_current_code, rb")


def _outcome_attributes() -> dict[str, str]:
    """a_{early,late}_{date,ts}_{clock}: the outcome of a closed dossier under every rule.

    Returned/withdrawn/stopped dossiers are judged like the others here (``judged_766``); the vendor
    convention (``resolved_on_time``) is applied by the count query, which groups by ``is_returned``.
    """
    codes = {"early": EARLY, "late": LATE}  # on time = closed and neither (COMPLEMENT_KEYS)
    return {f"a_{name}_{rule}_{suffix}": f"outcome_{rule}_{suffix} = {code}"
            for suffix in CLOCK_SUFFIXES for rule in ("date", "ts") for name, code in codes.items()}


# The 36 outcome attributes stay expressions over the 12 stored outcome codes (cheaper to build and store);
# the cube materialises their sums like every other attribute.
OUTCOME_ATTRIBUTES = _outcome_attributes()


def attribute_sql(column: str, alias: str | None = "d") -> str:
    """SQL of a 0/1 attribute on kpi_facts: a stored column, or an expression over an outcome code."""
    prefix = f"{alias}." if alias else ""
    if column in OUTCOME_ATTRIBUTES:
        return f"CAST(coalesce({prefix}{OUTCOME_ATTRIBUTES[column]}, false) AS UTINYINT)"
    return f"{prefix}{column}"


_ATTRIBUTE_SQL = {
    "a_online": "channel = 'online'",
    "a_direct": "channel = 'direct'",
    "a_postal": "channel = 'postal'",
    **{f"a_level_{level}": f"dvc_level = '{level}'" for level in LEVELS},
    **{f"a_online_{level}": f"dvc_level = '{level}' AND channel = 'online'" for level in LEVELS},
    # Unknown (NULL: the source has no such column) is neither yes nor no: rates count known values only.
    "a_digitized": "digitized",
    "a_digitized_offline": "digitized AND channel <> 'online'",
    "a_digitized_known": "digitized IS NOT NULL",
    "a_digitized_known_offline": "digitized IS NOT NULL AND channel <> 'online'",
    "a_result": "has_result",
    "a_electronic_result": "has_result AND electronic_result",
    "a_result_known": "has_result AND electronic_result IS NOT NULL",
    "a_reused": "reused",
    "a_reused_known": "reused IS NOT NULL",
    "a_fee": "fee_bearing AND paid_online IS NOT NULL",
    "a_paid_online": "fee_bearing AND paid_online",
    "a_non_territorial": "non_territorial",
    "a_non_territorial_known": "non_territorial IS NOT NULL",
    "a_reappointed_twice": "reappointment_count > 1",
    "a_payment_known": "fee_bearing IS NOT NULL AND (NOT fee_bearing OR paid_online IS NOT NULL)",
}
ATTRIBUTES = (*_ATTRIBUTE_SQL, *OUTCOME_ATTRIBUTES)
_ATTRIBUTE_COLUMNS = ",\n       ".join(
    f"CAST(coalesce({sql}, false) AS UTINYINT) AS {name}" for name, sql in _ATTRIBUTE_SQL.items())


# The unit each dossier counts for under the current boundaries (``boundaries = current``): a legacy unit's
# dossiers go to its current successor (units.successor_code), a current unit keeps its own.
CURRENT_UNIT_COLUMNS = ("coalesce(ur.successor_code, d.receiving_unit_code) AS receiving_current_code, "
                        "coalesce(us.successor_code, d.resolving_unit_code) AS resolving_current_code")
CURRENT_UNIT_JOINS = ("LEFT JOIN units ur ON ur.code = d.receiving_unit_code "
                      "LEFT JOIN units us ON us.code = d.resolving_unit_code")

def _end_of_day(ts_sql: str) -> str:
    """A due date exported without a time of day means the end of that day."""
    return (f"CASE WHEN {ts_sql} = date_trunc('day', {ts_sql}) "
            f"THEN {ts_sql} + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND ELSE {ts_sql} END")


# waiting_days as an interval, portable (to_microseconds is DuckDB only; an interval times an integer is
# int32 in DuckDB, so whole seconds plus the microseconds of the fraction).
_WAITING_INTERVAL = ("INTERVAL 1 SECOND * CAST(floor(waiting_days * 86400) AS INTEGER) + INTERVAL 1 MICROSECOND * "
                     "CAST(round((waiting_days * 86400 - floor(waiting_days * 86400)) * 1000000) AS INTEGER)")


def _outcomes() -> str:
    """outcome_{date,ts}_{clock} codes and the due columns of every clock."""
    lines = []
    for supplement in SUPPLEMENT_RULES:
        closed_at = "closed_at_766" if supplement == "portal_766" else "closed_at"
        for day_off in DAY_OFF_RULES:
            suffix = clock_suffix(supplement, day_off)
            due = f"due_at_{suffix}"
            # The exported time status decides where the dates cannot (no end date or no due date).
            late_first = f"WHEN {closed_at} IS NULL THEN NULL WHEN label_outcome IS NOT NULL THEN label_outcome " + (
                f"WHEN multi_request THEN {LATE} " if supplement == "portal_766" else "")
            lines.append(
                f"CAST(CASE {late_first}WHEN {due} IS NULL THEN {ON_TIME} "
                f"WHEN CAST({closed_at} AS DATE) < CAST({due} AS DATE) THEN {EARLY} "
                f"WHEN CAST({closed_at} AS DATE) = CAST({due} AS DATE) THEN {ON_TIME} "
                f"ELSE {LATE} END AS TINYINT) AS outcome_date_{suffix}")
            lines.append(
                f"CAST(CASE {late_first}WHEN {due} IS NULL THEN {ON_TIME} WHEN {closed_at} > {due} THEN {LATE} "
                f"WHEN CAST({closed_at} AS DATE) < CAST({due} AS DATE) THEN {EARLY} "
                f"ELSE {ON_TIME} END AS TINYINT) AS outcome_ts_{suffix}")
            # QĐ 766: more than one supplement request => late; an open one is overdue from the receipt on.
            judged = (f"CASE WHEN multi_request THEN CAST(received_at AS DATE) - 1 ELSE CAST({due} AS DATE) END"
                      if supplement == "portal_766" else f"CAST({due} AS DATE)")
            lines.append(f"{judged} AS due_day_{suffix}")
    return ",\n       ".join(lines)


def _due_columns() -> str:
    """due_at_{clock}: base due per supplement rule, then the day-off rule (next working day, same time)."""
    lines = []
    for supplement in SUPPLEMENT_RULES:
        base = {"as_exported": "due_exp", "restart": "due_rst", "portal_766": "due_766"}[supplement]
        for day_off in DAY_OFF_RULES:
            suffix = clock_suffix(supplement, day_off)
            if day_off == "as_exported":
                lines.append(f"{base} AS due_at_{suffix}")
            else:
                lines.append(
                    f"CASE WHEN nwd_{base}.next_day IS NULL THEN {base} ELSE CAST(nwd_{base}.next_day AS TIMESTAMP) "
                    f"+ ({base} - date_trunc('day', {base})) END AS due_at_{suffix}")
    return ",\n           ".join(lines)


_NWD_JOINS = "\n    ".join(
    f"LEFT JOIN next_working_day nwd_{base} ON nwd_{base}.day = CAST(c.{base} AS DATE)"
    for base in ("due_exp", "due_rst", "due_766"))


# Derived facts table. `due_fill` (start_at, legal_days, due_at) holds the due dates computed from the
# procedure's legal time limit in working days, from the receipt and from a supplement's receipt;
# `next_working_day` (day, next_day) lists the days off with the next working day. Both are SQL over the
# working-day calendar table (motcua.calendar_sql), so any engine derives the facts.
FACTS_SELECT = f"""
WITH base AS (
    SELECT d.source, d.dossier_code, d.receiving_unit_code, d.resolving_unit_code, d.procedure_code, d.import_id,
           coalesce(d.procedure_name, p.procedure_name) AS procedure_name,
           coalesce(d.field_code, p.field_code) AS field_code,
           coalesce(d.field_name, p.field_name) AS field_name,
           CASE WHEN d.dvc_level IN ('toan_trinh', 'mot_phan', 'thong_tin') THEN d.dvc_level
                WHEN p.dvc_level IN ('toan_trinh', 'mot_phan', 'thong_tin') THEN p.dvc_level
                ELSE 'unknown' END AS dvc_level,
           CASE WHEN d.channel IN ('online', 'postal') THEN d.channel ELSE 'direct' END AS channel,
           d.status, d.received_at, d.new_due_at, d.due_at AS exported_due_at, d.time_status,
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
           -- NULL = the source has no such value: unknown, never "no".
           d.has_digitized_components AS digitized,
           d.has_electronic_result AS electronic_result,
           d.reused_digitized_data AS reused,
           d.paid_online,
           coalesce(d.fee_amount > 0, p.has_fee) AS fee_bearing,
           d.supplement_count, d.supplement_requested_at, d.supplement_received_at,
           -- The last round is answered when its receipt is not before its request.
           d.supplement_received_at IS NOT NULL
             AND coalesce(d.supplement_received_at >= d.supplement_requested_at, true) AS supplement_answered,
           coalesce(d.supplement_count > 1, false) AS multi_request,
           coalesce(d.supplement_waiting_days,
                    CASE WHEN d.supplement_received_at >= d.supplement_requested_at
                         THEN date_diff('microsecond', d.supplement_requested_at, d.supplement_received_at) / 86400000000.0 END,
                    0) AS waiting_days,
           d.handling_department, d.handling_officer, d.current_step, d.non_territorial,
           d.reappointment_count,
           -- Re-appointed (xin lỗi, hẹn lại, NĐ 61/2018 Art 19(9)): a re-appointment count when exported; else a
           -- new due date on a dossier without a supplement request (after a supplement the new due date is
           -- the restarted clock, Art 19(4), not an apology).
           coalesce(d.reappointment_count > 0,
                    d.new_due_at IS NOT NULL AND d.supplement_requested_at IS NULL) AS reappointed,
           {CURRENT_UNIT_COLUMNS}
    FROM dossiers d
    LEFT JOIN procedures p ON p.procedure_code = d.procedure_code
    {CURRENT_UNIT_JOINS}
    WHERE d.received_at IS NOT NULL AND (d.status IS NULL OR d.status NOT IN (1, 3))
), dated AS (
    SELECT b.*, coalesce(b.given_due_at, f.due_at) AS fill_due_at, b.given_due_at IS NULL AS due_computed,
           r.due_at AS restart_fill_at,
           -- The exported time status decides where the dates cannot: a resolved dossier without an end date
           -- or without a due date, an open dossier without a due date (README "Nạp dữ liệu").
           CASE WHEN b.no_end_date OR b.given_due_at IS NULL THEN
                CASE b.time_status WHEN 'truoc_han' THEN {EARLY} WHEN 'dung_han' THEN {ON_TIME}
                                   WHEN 'qua_han' THEN {LATE} END END AS label_outcome
    FROM base b
    LEFT JOIN due_fill f ON b.given_due_at IS NULL AND f.start_at = b.received_at AND f.legal_days = b.legal_days
    LEFT JOIN due_fill r ON b.new_due_at IS NULL AND b.supplement_answered
                        AND r.start_at = b.supplement_received_at AND r.legal_days = b.legal_days
), clocked AS (
    SELECT *,
           {_end_of_day("fill_due_at")} AS due_exp,
           -- restart (NĐ 61/2018 Art 19(4)): the new due date, else supplement receipt + the time limit.
           CASE WHEN new_due_at IS NOT NULL OR NOT supplement_answered THEN {_end_of_day("fill_due_at")}
                WHEN restart_fill_at IS NOT NULL THEN {_end_of_day("restart_fill_at")}
                ELSE {_end_of_day("fill_due_at")} END AS due_rst,
           supplement_answered AND new_due_at IS NULL AND restart_fill_at IS NULL AS restart_unknown,
           -- portal_766: end - waiting time <= due  <=>  end <= due + waiting time, against the first due
           -- date (a supplement's new due date already contains the waiting time).
           {_end_of_day("CASE WHEN supplement_answered AND exported_due_at IS NOT NULL THEN exported_due_at ELSE fill_due_at END")} + {_WAITING_INTERVAL} AS due_766,
           coalesce(closed_at, CASE WHEN supplement_requested_at IS NOT NULL AND NOT supplement_answered
                                    THEN greatest(supplement_requested_at, received_at) END) AS closed_at_766
    FROM dated
), shifted AS (
    SELECT c.*,
           {_due_columns()},
           nwd_due_exp.next_day IS NOT NULL AS due_on_day_off
    FROM clocked c
    {_NWD_JOINS}
), facts AS (
SELECT source, dossier_code, receiving_unit_code, resolving_unit_code, receiving_current_code,
       resolving_current_code, procedure_code, import_id, procedure_name,
       field_code, field_name, dvc_level, channel, status, time_status, is_returned, has_result, digitized,
       electronic_result, reused, paid_online, fee_bearing, supplement_count, multi_request, restart_unknown,
       due_on_day_off, handling_department, handling_officer, current_step, non_territorial,
       reappointment_count, reappointed, received_at, due_exp AS due_at, due_at_rst, due_at_766, closed_at, closed_at_766,
       CAST(received_at AS DATE) AS received_day,
       CAST(closed_at AS DATE) AS closed_day,
       CAST(closed_at_766 AS DATE) AS closed_day_766,
       CAST(supplement_requested_at AS DATE) AS wait_from,
       CASE WHEN supplement_answered THEN CAST(supplement_received_at AS DATE) END AS wait_until,
       due_computed AND fill_due_at IS NOT NULL AS due_from_legal_days,
       closed_at IS NULL AND given_due_at IS NULL AND coalesce(time_status = 'qua_han', false) AS label_overdue,
       {_outcomes()}
FROM shifted
)
SELECT *,
       {_ATTRIBUTE_COLUMNS}
FROM facts
ORDER BY resolving_current_code, received_day
"""

# Distinct (start, legal_days) pairs whose due date must be computed from legal_days: receipts without an
# exported due date, and answered supplement rounds without a new due date (restart rule).
DUE_FILL_CANDIDATES = """
SELECT DISTINCT d.received_at AS start_at, coalesce(d.legal_days, p.legal_days) AS legal_days
FROM dossiers d
LEFT JOIN procedures p ON p.procedure_code = d.procedure_code
WHERE d.due_at IS NULL AND d.new_due_at IS NULL AND d.received_at IS NOT NULL
  AND coalesce(d.legal_days, p.legal_days) IS NOT NULL
UNION
SELECT DISTINCT d.supplement_received_at, coalesce(d.legal_days, p.legal_days)
FROM dossiers d
LEFT JOIN procedures p ON p.procedure_code = d.procedure_code
WHERE d.new_due_at IS NULL AND d.supplement_received_at IS NOT NULL
  AND coalesce(d.supplement_received_at >= d.supplement_requested_at, true)
  AND coalesce(d.legal_days, p.legal_days) IS NOT NULL
"""

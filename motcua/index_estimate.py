"""Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766/QĐ-TTg): an *estimate* ("ước tính") from dossier data.

The national portal scores every commune on six groups (100 points). Only some components can be computed
from one-stop-shop exports; see ``/work/shared/research/index_766_scoring.md``. This module:

* scores the computable components from the KPI counts of ``motcua.metrics`` (one definition per rate):
  Tiến độ = 20 × the QĐ 766 on-time rate, exactly; Số hóa: electronic results, digitised intake, reuse of
  digitised data; online payment (part A);
* takes the components that need other data (công khai, hài lòng, PAKN, …) from ``index_inputs``, a small
  table an admin fills per unit and period (``save_inputs`` / ``import_inputs_csv``);
* leaves the online-service component "chưa xác định": its formula is not resolved;
* labels the total "ước tính" and lists which parts were estimated, entered or missing;
* ranks comparable units (same province, same formula version) with ties 1-2-2-4, gives the percentile
  and a peer group by dossier volume, and computes what a chair can still do in the period.

Formula versions: ``qd766_2022`` (the legal text: every ratio component scores max × ratio) and
``portal_2026`` (the portal's 2026 sheet as fitted by ChippedTopaz/qd766 docs/SCORING_ANALYSIS_M0.md: the
reuse component reaches full points at 80 %). Scores of different versions are never compared or ranked
together (``ensure_same_version``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from motcua import fmt, metrics, vntime
from motcua import metrics_sql as msql
from motcua.filters import Scope
from motcua.periods import Period, custom_period, parse_period, period_containing
from motcua.settings import INDEX_VERSIONS

VERSIONS = INDEX_VERSIONS  # the setting ``index_version`` (motcua.settings) picks one
DEFAULT_VERSION = "portal_2026"
ESTIMATE_LABEL = "ước tính"
_DEFAULT_SETTINGS = metrics.Settings()
_FIT_SOURCE = "công thức khớp ngược: ChippedTopaz/qd766 docs/SCORING_ANALYSIS_M0.md"

GROUPS: dict[str, tuple[str, float]] = {
    "cong_khai": ("Công khai, minh bạch", 18.0),
    "tien_do": ("Tiến độ giải quyết", 20.0),
    "truc_tuyen": ("Dịch vụ công trực tuyến", 12.0),
    "so_hoa": ("Số hóa hồ sơ", 22.0),
    "hai_long": ("Mức độ hài lòng", 18.0),
    "thanh_toan": ("Thanh toán trực tuyến", 10.0),
}
ESTIMATED, ENTERED, MISSING, UNDETERMINED = "estimated", "entered", "missing", "undetermined"
STATUS_LABELS = {ESTIMATED: "ước tính từ hồ sơ", ENTERED: "nhập tay", MISSING: "thiếu",
                 UNDETERMINED: "chưa xác định"}


@dataclass(frozen=True)
class Component:
    key: str
    group: str
    label: str
    max_points: float
    kind: str  # estimated (from dossiers) | entered (admin) | undetermined
    formula: str
    source: str
    rate: str | None = None  # metrics.RATES key of an estimated component


def _linear(maximum: float) -> Callable[[float, str], float]:
    return lambda ratio, _version: min(maximum, maximum * ratio)


def _reuse(ratio: float, version: str) -> float:
    # Portal 2026 sheet: full points from 80 % reuse; the 2022 text scores 2 × ratio.
    return min(2.0, 2.0 * ratio / 0.8) if version == "portal_2026" else min(2.0, 2.0 * ratio)


COMPONENTS: tuple[Component, ...] = (
    Component("ck_published", "cong_khai", "Công bố, công khai TTHC đúng hạn", 6, ENTERED,
              "6 × tỷ lệ", "QĐ 766 nhóm 1; CSDL quốc gia về TTHC"),
    Component("ck_public", "cong_khai", "Công khai TTHC đúng hạn tại nơi tiếp nhận", 4, ENTERED,
              "4 × tỷ lệ", "QĐ 766 nhóm 1"),
    Component("ck_content", "cong_khai", "Nội dung công khai đầy đủ", 2, ENTERED, "2 × tỷ lệ", "QĐ 766 nhóm 1"),
    Component("ck_synced", "cong_khai", "Đồng bộ trạng thái hồ sơ lên Cổng DVCQG", 6, ENTERED,
              "6 × tỷ lệ", "QĐ 766 nhóm 1; nhật ký đồng bộ"),
    Component("td_on_time", "tien_do", "Hồ sơ xử lý trước hạn, đúng hạn", 20, ESTIMATED,
              "20 × (trước hạn + đúng hạn + đang giải quyết trong hạn) / (đã giải quyết + đang giải quyết)",
              f"QĐ 766/QĐ-TTg chỉ số 2.1; {_FIT_SOURCE}", "on_time_rate_766"),
    Component("tt_online_service", "truc_tuyen", "Cung cấp dịch vụ công trực tuyến", 12, UNDETERMINED,
              "chưa xác định (công thức của Cổng chưa khớp được)", f"QĐ 766 nhóm 3; {_FIT_SOURCE}"),
    Component("sh_e_result", "so_hoa", "Cấp kết quả điện tử", 6, ESTIMATED, "min(6, 6 × tỷ lệ)",
              f"QĐ 766/QĐ-TTg chỉ số 4.1; {_FIT_SOURCE}", "electronic_result_rate"),
    Component("sh_digitized", "so_hoa", "Số hóa hồ sơ khi tiếp nhận", 4, ESTIMATED, "min(4, 4 × tỷ lệ)",
              f"QĐ 766/QĐ-TTg chỉ số 4.2; {_FIT_SOURCE}", "digitized_intake_rate"),
    Component("sh_certified_copies", "so_hoa", "Chứng thực bản sao điện tử", 2, ENTERED, "2 × tỷ lệ",
              "QĐ 766 nhóm 4"),
    Component("sh_reuse", "so_hoa", "Tái sử dụng dữ liệu số hóa", 2, ESTIMATED,
              "bản 2026: min(2, 2 × tỷ lệ / 0,8) (đủ điểm từ 80%); bản 2022: min(2, 2 × tỷ lệ)",
              f"QĐ 766/QĐ-TTg chỉ số 4.3; {_FIT_SOURCE}", "reuse_rate"),
    Component("sh_personal_store", "so_hoa", "Kết nối kho dữ liệu cá nhân", 4, ENTERED, "4 × tỷ lệ", "QĐ 766 nhóm 4"),
    Component("sh_population_db", "so_hoa", "Khai thác CSDL quốc gia về dân cư", 4, ENTERED, "2 + 2 điểm",
              "QĐ 766 nhóm 4"),
    Component("hl_pakn_on_time", "hai_long", "Xử lý phản ánh, kiến nghị đúng hạn", 6, ENTERED,
              "6 × tỷ lệ (6 nếu không có PAKN)", "QĐ 766 nhóm 5"),
    Component("hl_pakn_satisfaction", "hai_long", "Hài lòng với xử lý PAKN", 6, ENTERED,
              "6 × tỷ lệ (6 nếu không có PAKN)", "QĐ 766 nhóm 5"),
    Component("hl_handling_satisfaction", "hai_long", "Hài lòng với giải quyết TTHC", 6, ENTERED,
              "min(6, 6 × tỷ lệ / 0,9)", "QĐ 766 nhóm 5; khảo sát"),
    Component("tp_paid_online", "thanh_toan", "Hồ sơ thanh toán trực tuyến (A)", 6, ESTIMATED,
              "6 × A, A = hồ sơ thanh toán trực tuyến / hồ sơ có nghĩa vụ tài chính (A = 0 khi không có hồ sơ)",
              f"QĐ 766/QĐ-TTg chỉ số 3.6; {_FIT_SOURCE}", "online_payment_rate"),
    Component("tp_procedures", "thanh_toan", "TTHC có thanh toán trực tuyến (B)", 2, ENTERED, "min(2, 2,5 × B)",
              f"QĐ 766 nhóm 6; {_FIT_SOURCE}"),
    Component("tp_fee_share", "thanh_toan", "TTHC có phí phát sinh hồ sơ (C)", 2, ENTERED,
              "2,5 × C (nhập tối đa 2 điểm)", f"QĐ 766 nhóm 6; {_FIT_SOURCE}"),
)
COMPONENT_BY_KEY = {c.key: c for c in COMPONENTS}
ENTERED_KEYS = tuple(c.key for c in COMPONENTS if c.kind == ENTERED)
_SCORERS: dict[str, Callable[[float, str], float]] = {
    "td_on_time": lambda ratio, _version: 20.0 * ratio,
    "sh_e_result": _linear(6.0),
    "sh_digitized": _linear(4.0),
    "sh_reuse": _reuse,
    "tp_paid_online": lambda ratio, _version: 6.0 * ratio,
}


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"Phiên bản công thức '{version}' không hợp lệ; chỉ dùng: {', '.join(VERSIONS)}.")
    return version


def ensure_same_version(*versions: str) -> str:
    """The one version of several scores; raises when they differ (never compare across versions)."""
    distinct = sorted(set(versions))
    if len(distinct) != 1:
        raise ValueError("Không so sánh điểm tính theo các phiên bản công thức khác nhau: " + ", ".join(distinct))
    return check_version(distinct[0])


# --- scoring ----------------------------------------------------------------------------------------
def component_ratio(component: Component, counts: Mapping) -> float | None:
    """The ratio behind an estimated component (None = no dossier to judge; payment A is 0 then)."""
    ratio = metrics.rate(counts, component.rate)
    if ratio is None and component.key == "tp_paid_online":
        return 0.0  # the portal scores A = 0 when no dossier has a financial obligation (fitted rule)
    return ratio


def score_counts(counts: Mapping, entered: Mapping[str, float] | None = None,
                 version: str = DEFAULT_VERSION) -> dict:
    """Score one unit-period from its KPI counts and the admin-entered points (pure; tests by hand)."""
    check_version(version)
    entered = entered or {}
    rows = []
    for component in COMPONENTS:
        ratio, points, status = None, None, MISSING
        if component.kind == ESTIMATED:
            ratio = component_ratio(component, counts)
            if ratio is not None:
                points, status = _SCORERS[component.key](ratio, version), ESTIMATED
        elif component.kind == UNDETERMINED:
            status = UNDETERMINED
        elif entered.get(component.key) is not None and not pd.isna(entered[component.key]):
            points, status = float(entered[component.key]), ENTERED
        rows.append({"key": component.key, "group": component.group, "label": component.label,
                     "max": component.max_points, "ratio": ratio, "points": points, "status": status,
                     "status_label": STATUS_LABELS[status], "formula": component.formula,
                     "source": component.source})
    groups = []
    for key, (label, maximum) in GROUPS.items():
        parts = [row for row in rows if row["group"] == key]
        known = [row["points"] for row in parts if row["points"] is not None]
        groups.append({"key": key, "label": label, "max": maximum, "points": sum(known) if known else None,
                       "complete": len(known) == len(parts)})
    known = [row for row in rows if row["points"] is not None]
    return {
        "label": ESTIMATE_LABEL,
        "version": version,
        "version_label": VERSIONS[version],
        "total": sum(row["points"] for row in known) if known else None,
        "total_max_known": sum(row["max"] for row in known),
        "max": sum(maximum for _label, maximum in GROUPS.values()),
        "components": rows,
        "groups": groups,
        "parts": {status: [row["key"] for row in rows if row["status"] == status]
                  for status in (ESTIMATED, ENTERED, MISSING, UNDETERMINED)},
    }


def estimated_points(frame: pd.DataFrame, version: str = DEFAULT_VERSION) -> pd.DataFrame:
    """Vectorised estimated component points for every row of a counts frame (e.g. a league table)."""
    columns = {}
    for component in COMPONENTS:
        if component.kind != ESTIMATED:
            continue
        ratio = metrics.rate_column(frame, component.rate)
        if component.key == "tp_paid_online":
            ratio = np.nan_to_num(ratio, nan=0.0)
        scorer = _SCORERS[component.key]
        columns[component.key] = [np.nan if np.isnan(r) else scorer(float(r), version) for r in ratio]
    return pd.DataFrame(columns, index=frame.index, dtype="float64")


# --- admin-entered components ----------------------------------------------------------------------
INPUTS_TABLE = "index_inputs"


@dataclass(frozen=True)
class InputRow:
    unit_code: str
    period: Period
    component: str
    points: float
    version: str = DEFAULT_VERSION
    note: str | None = None


def check_input(component: str, points: float) -> str | None:
    """Vietnamese reason why an entered value is invalid, else None."""
    spec = COMPONENT_BY_KEY.get(component)
    if spec is None or spec.kind != ENTERED:
        return f"thành phần '{component}' không nhập tay được; chỉ dùng: {', '.join(ENTERED_KEYS)}"
    if not 0 <= points <= spec.max_points:
        return f"điểm {fmt.fmt_num(points)} ngoài khoảng 0–{fmt.fmt_num(spec.max_points)} của '{spec.label}'"
    return None


def save_inputs(db_path, rows: Iterable[InputRow], entered_by: str | None = None) -> int:
    """Write entered components in one write transaction (all-or-nothing; same key = replaced)."""
    from motcua import db as dbmod

    rows = list(rows)
    for number, row in enumerate(rows, start=1):
        check_version(row.version)
        if (reason := check_input(row.component, row.points)) is not None:
            raise ValueError(f"Dòng {number}: {reason}.")
    now = vntime.now()
    frame = pd.DataFrame([{"unit_code": r.unit_code, "period_from": r.period.start, "period_to": r.period.end,
                           "formula_version": r.version, "component": r.component, "points": float(r.points),
                           "note": r.note, "entered_by": entered_by, "entered_at": now} for r in rows],
                         columns=["unit_code", "period_from", "period_to", "formula_version", "component",
                                  "points", "note", "entered_by", "entered_at"])
    with dbmod.write_transaction(db_path, refresh=False) as con:
        con.register("inputs_frame", frame)
        con.execute(f"INSERT OR REPLACE INTO {INPUTS_TABLE} SELECT * FROM inputs_frame")
        con.unregister("inputs_frame")
    return len(frame)


_CSV_COLUMNS = {"don_vi": "đơn vị (tên hoặc mã)", "ky": "kỳ (2026Q3, 2026M07…)", "thanh_phan": "mã thành phần",
                "diem": "điểm"}


def parse_inputs_csv(data: bytes, file_name: str, resolve_unit: Callable[[str], str],
                     calendar: str = "calendar", version: str = DEFAULT_VERSION) -> list[InputRow]:
    """Rows of an import CSV (don_vi, ky, thanh_phan, diem[, ghi_chu]); every error names file, row, column.

    Raises ValueError listing every bad cell: nothing is imported unless every row is valid.
    """
    text = data.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in _CSV_COLUMNS if column not in header]
    if missing:
        raise ValueError(f"Tệp '{file_name}': thiếu cột " + ", ".join(f"'{c}' ({_CSV_COLUMNS[c]})" for c in missing)
                         + ".")
    errors, rows = [], []
    for number, raw in enumerate(reader, start=2):
        record = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        row_errors = []
        try:
            unit_code = resolve_unit(record["don_vi"])
        except ValueError as exc:
            row_errors.append(("don_vi", str(exc)))
        try:
            period = parse_period(record["ky"], calendar)
        except ValueError as exc:
            row_errors.append(("ky", str(exc)))
        try:
            points = float(record["diem"].replace(",", "."))
            if not math.isfinite(points):
                raise ValueError
        except ValueError:
            row_errors.append(("diem", f"'{record['diem']}' không phải số điểm"))
            points = None
        if points is not None and (reason := check_input(record["thanh_phan"], points)):
            row_errors.append(("diem" if record["thanh_phan"] in ENTERED_KEYS else "thanh_phan", reason))
        errors += [f"Tệp '{file_name}', dòng {number}, cột '{column}': {reason}" for column, reason in row_errors]
        if not row_errors:
            rows.append(InputRow(unit_code, period, record["thanh_phan"], points, version,
                                 record.get("ghi_chu") or None))
    if errors:
        raise ValueError("Không nhập tệp nào (có lỗi):\n" + "\n".join(errors))
    return rows


def import_inputs_csv(db_path, path: Path, calendar: str = "calendar", version: str = DEFAULT_VERSION,
                      entered_by: str | None = None) -> int:
    """Parse a CSV of entered components and write it all (or nothing)."""
    from motcua import db as dbmod
    from motcua import units as unitsmod

    database = dbmod.Database(db_path)
    cur = database.cursor()
    try:
        def resolve(text: str) -> str:
            return unitsmod.resolve_unit(cur, text).code

        rows = parse_inputs_csv(Path(path).read_bytes(), Path(path).name, resolve, calendar, version)
    finally:
        cur.close()
    return save_inputs(db_path, rows, entered_by)


def load_inputs(db, unit_codes: Iterable[str], period: Period, version: str) -> dict[str, dict[str, float]]:
    """unit code -> {component: points} entered for exactly this period and version."""
    codes = list(unit_codes)
    if not codes:
        return {}
    sql = (f"SELECT unit_code, component, points FROM {INPUTS_TABLE} WHERE unit_code IN (SELECT unnest(?)) "
           "AND period_from = ? AND period_to = ? AND formula_version = ?")
    try:
        frame = metrics._query(db, sql, [codes, period.start, period.end, version])
    except duckdb.CatalogException:  # a file published before this table existed: nothing entered
        return {}
    result: dict[str, dict[str, float]] = {}
    for unit_code, component, points in frame.itertuples(index=False):
        result.setdefault(unit_code, {})[component] = float(points)
    return result


# --- comparison among units -------------------------------------------------------------------------
PEER_GROUP_LABELS = ("Nhóm ít hồ sơ", "Nhóm trung bình", "Nhóm nhiều hồ sơ")


def peer_units(db, unit_code: str) -> list[str]:
    """Comparable units: the communes of the unit's province (the unit alone when it has none)."""
    frame = metrics._query(db, "SELECT code FROM units WHERE level = 'commune' AND province_code = "
                               "(SELECT province_code FROM units WHERE code = ?) ORDER BY code", [unit_code])
    codes = frame["code"].tolist()
    return codes if unit_code in codes else [unit_code, *codes]


def province_representatives(db, settings: metrics.Settings = _DEFAULT_SETTINGS) -> list[str]:
    """One commune with dossiers per province: its ``peer_units`` are the province's communes, so these
    few codes cover every province-level rank computation (the dashboard warms its caches with them)."""
    column = Scope().with_settings(settings).unit_column
    frame = metrics._query(db, "SELECT min(u.code) AS code FROM units u WHERE u.level = 'commune' AND u.code IN "
                               f"(SELECT DISTINCT {column} FROM {msql.CUBE_TABLE}) GROUP BY u.province_code "
                               "ORDER BY 1", [])
    return frame["code"].tolist()


def rank_ties_min(values: pd.Series) -> pd.Series:
    """1 = highest; ties share the best rank and the next rank skips (1-2-2-4); NaN stays unranked."""
    return values.rank(method="min", ascending=False).astype("Int64")


def league(db, unit_codes: Iterable[str], period: Period, settings: metrics.Settings = _DEFAULT_SETTINGS,
           version: str | None = None) -> pd.DataFrame:
    """One row per unit with dossiers in the period: component points, score, rank, percentile, peer group.

    ``score`` sums the components known for EVERY unit of the table (the estimated ones, plus an entered
    component only when all units have it), so the ranking compares like with like; ``total`` is the
    unit's own sum of known parts.
    """
    version = check_version(version or settings.index_version)
    frame = metrics.breakdown(db, Scope(unit_codes=tuple(unit_codes)), period, "unit", settings)
    return rank_table(frame, load_inputs(db, frame["key"], period, version), version)


def rank_table(frame: pd.DataFrame, entered: Mapping[str, Mapping[str, float]], version: str) -> pd.DataFrame:
    """``league`` from a per-unit counts frame (``metrics.breakdown(by="unit")`` shape) and entered points."""
    frame = frame[frame["resolved_total"] + frame["pending_total"] > 0].reset_index(drop=True)
    typed = pd.DataFrame({key: [entered.get(code, {}).get(key, np.nan) for code in frame["key"]]
                          for key in ENTERED_KEYS}, index=frame.index, dtype="float64")
    points = pd.concat([estimated_points(frame, version), typed], axis=1)
    comparable = [key for key in points if len(points) and points[key].notna().all()]
    result = frame[["key", "label", "received_total", "resolved_total", "pending_total", "overdue"]].copy()
    derived = {"total": points.sum(axis=1, min_count=1),
               "score": points[comparable].sum(axis=1) if comparable else pd.Series(np.nan, index=points.index)}
    for group in GROUPS:
        keys = [c.key for c in COMPONENTS if c.group == group and c.key in points]
        derived[f"group_{group}"] = points[keys].sum(axis=1, min_count=1)
    result = pd.concat([result, points, pd.DataFrame(derived)], axis=1)
    result["rank"] = rank_ties_min(result["score"])
    count = len(result)
    result["units"] = count
    result["percentile"] = ((count - result["rank"].astype(float)) / (count - 1) * 100) if count > 1 else 100.0
    result["peer_group"] = _peer_groups(result["received_total"])
    result["peer_rank"] = result.groupby("peer_group")["score"].rank(method="min", ascending=False).astype("Int64")
    result["peer_units"] = result.groupby("peer_group")["key"].transform("count")
    result.attrs.update(version=version, comparable=comparable)
    return result.sort_values(["rank", "label"], kind="stable").reset_index(drop=True)


def _peer_groups(volume: pd.Series) -> pd.Series:
    """Thirds by dossier volume (units with a similar load compare with each other)."""
    if len(volume) < 3:
        return pd.Series([PEER_GROUP_LABELS[1]] * len(volume), index=volume.index)
    order = volume.rank(method="first")
    bins = np.ceil(order / len(volume) * 3).clip(1, 3).astype(int) - 1
    return pd.Series([PEER_GROUP_LABELS[b] for b in bins], index=volume.index)


# --- what a chair can still do ----------------------------------------------------------------------
def data_until(db, scope: Scope, settings: metrics.Settings = _DEFAULT_SETTINGS) -> date | None:
    """Last day with data in the scope (latest receipt or end of processing): "Số liệu đến ngày"."""
    where_sql, params = scope.with_settings(settings).where("d")
    frame = metrics._query(db, f"SELECT max(greatest(d.received_day, coalesce(d.closed_day, d.received_day))) "
                               f"AS last FROM {msql.FACTS_TABLE} d WHERE {where_sql}", params)
    last = frame.iloc[0]["last"]
    return None if pd.isna(last) else pd.Timestamp(last).date()


def _open_due_before_end(db, scope: Scope, period: Period, as_of: date,
                         settings: metrics.Settings = _DEFAULT_SETTINGS) -> int:
    """Open dossiers at ``as_of``, not overdue yet, due before the period end (overdue at the end if left)."""
    where_sql, params = scope.with_settings(settings).where("d")
    # The clock of the supplement / day-off rules in force (issue 11).
    closed = f"d.{msql.closed_column(settings.supplement_rule)}"
    due = f"d.due_day_{msql.clock_suffix(settings.supplement_rule, settings.due_on_day_off)}"
    sql, bound = msql.bind(
        f"SELECT count(*) AS n FROM {msql.FACTS_TABLE} d WHERE d.received_day <= :asof AND "
        f"({closed} IS NULL OR {closed} > :asof) AND {due} >= :asof AND {due} < :e "
        f"AND ({where_sql})", {"asof": as_of, "e": period.end}, params)
    return int(metrics._query(db, sql, bound).iloc[0]["n"])


def actions(db, scope: Scope, period: Period, counts: Mapping, settings: metrics.Settings = _DEFAULT_SETTINGS,
            version: str | None = None, as_of: date | None = None) -> list[dict]:
    """Computed gains still open in the period: dossiers to handle and the points they are worth."""
    version = check_version(version or settings.index_version)
    result = []
    handled = metrics.count_value(counts, "handled_766")
    if as_of is not None and as_of < period.end and handled:
        n = _open_due_before_end(db, scope, period, as_of, settings)
        if n:
            gain = 20.0 * n / handled
            result.append(_action("td_on_time", n, gain,
                                  f"giải quyết đúng hạn {fmt.fmt_int(n)} hồ sơ có hẹn trả trước cuối kỳ "
                                  f"({fmt.fmt_date(period.end)}) → tiến độ +{fmt.fmt_num(gain)} điểm"))
    for key, numerator, denominator, verb in (("sh_e_result", "electronic_result", "electronic_result_scope",
                                               "cấp kết quả điện tử cho"),
                                              ("sh_digitized", "digitized", "digitized_scope", "số hóa"),
                                              ("sh_reuse", "reused", "new", "tái sử dụng dữ liệu số hóa cho"),
                                              ("tp_paid_online", "paid_online", "fee_bearing",
                                               "thu phí trực tuyến")):
        item = _ratio_action(counts, key, numerator, denominator, verb, version)
        if item:
            result.append(item)
    return result


def _ratio_action(counts: Mapping, key: str, numerator: str, denominator: str, verb: str,
                  version: str) -> dict | None:
    den, num = metrics.count_value(counts, denominator), metrics.count_value(counts, numerator)
    if not den:
        return None
    target = 0.8 if key == "sh_reuse" and version == "portal_2026" else 1.0  # full points from here
    needed = max(0, math.ceil(target * den - 1e-9) - int(num))
    if not needed:
        return None
    scorer = _SCORERS[key]
    gain = scorer((num + needed) / den, version) - scorer(num / den, version)
    reach = fmt.fmt_pct(target, 0)
    text = (f"{verb} thêm {fmt.fmt_int(needed)} hồ sơ → đạt {reach}, "
            f"{COMPONENT_BY_KEY[key].label.lower()} +{fmt.fmt_num(gain)} điểm")
    return _action(key, needed, gain, text)


def _action(key: str, dossiers: int, gain: float, text: str) -> dict:
    return {"component": key, "dossiers": int(dossiers), "points": round(gain, 4), "text": text}


# --- one unit / scope, as a block --------------------------------------------------------------------
def estimate_block(db, scope: Scope, period: Period, settings: metrics.Settings = _DEFAULT_SETTINGS,
                   version: str | None = None, counts: Mapping | None = None,
                   peer_league: pd.DataFrame | None = None) -> dict:
    """The ``index_estimate`` block of ``motcua kpi --json`` (and the dashboard/brief); ``peer_league``:
    ``league`` of a single unit's peers, when the caller has it already."""
    version = check_version(version or settings.index_version)
    counts = counts if counts is not None else metrics.kpi_counts(db, scope, period, settings)
    single = scope.unit_codes[0] if len(scope.unit_codes) == 1 else None
    entered = load_inputs(db, [single], period, version).get(single, {}) if single else {}
    block = score_counts(counts, entered, version)
    as_of = data_until(db, scope, settings)
    block["data_until"] = as_of.isoformat() if as_of else None
    block["partial"] = bool(as_of and as_of < period.end)
    block["actions"] = actions(db, scope, period, counts, settings, version, as_of)
    block["rank"] = rank_of(db, single, period, settings, version, peer_league) if single else None
    block["note"] = ("Ước tính từ dữ liệu hồ sơ, không phải điểm chính thức của Cổng DVCQG; "
                     "chỉ so sánh điểm cùng phiên bản công thức.")
    return block


def rank_of(db, unit_code: str, period: Period, settings: metrics.Settings = _DEFAULT_SETTINGS,
            version: str | None = None, table: pd.DataFrame | None = None) -> dict | None:
    """Rank of one unit among the comparable units of its province (None when it has no dossier);
    ``table``: their ``league``, when the caller has it already."""
    version = check_version(version or settings.index_version)
    if table is None:
        table = league(db, peer_units(db, unit_code), period, settings, version)
    row = table[table["key"] == unit_code]
    if row.empty or pd.isna(row.iloc[0]["rank"]):
        return None
    row = row.iloc[0]
    scores = table["score"].dropna()
    return {"rank": int(row["rank"]), "of": int(row["units"]), "score": float(row["score"]),
            "percentile": float(row["percentile"]), "median": float(scores.median()),
            "p75": float(scores.quantile(0.75)), "peer_group": row["peer_group"],
            "peer_rank": int(row["peer_rank"]), "peer_units": int(row["peer_units"]),
            "comparable_components": list(table.attrs["comparable"]),
            "text": f"hạng {int(row['rank'])}/{int(row['units'])}"}


def ranked_months(db, unit_codes: Iterable[str], period: Period, settings: metrics.Settings = _DEFAULT_SETTINGS,
                  version: str | None = None, months: int = 12) -> pd.DataFrame:
    """Score (comparable part), rank and ranked units of every unit of ``unit_codes`` (a province) in each of
    the ``months`` months ending with the period's last month: one row per (month_i, key) with dossiers.

    Same rule as ``league`` month by month (a component counts only when every ranked unit of that month
    has it), vectorised over all months at once: one cube query, one pass of pandas. The frame is the same
    for every unit of the province (the dashboard caches it once per province); ``attrs["months"]`` lists
    (code, label) of the months."""
    version = check_version(version or settings.index_version)
    last = period_containing(period.end, "month", period.calendar)
    month_list = [last]
    while len(month_list) < months:
        month_list.insert(0, month_list[0].previous())
    counts = monthly_unit_counts(db, unit_codes, month_list, settings)
    counts = counts[counts["resolved_total"] + counts["pending_total"] > 0].reset_index(drop=True)
    points = pd.concat([estimated_points(counts, version), _entered_by_month(db, counts, month_list, version)],
                       axis=1)
    month = counts["month_i"]
    known_everywhere = ~points.isna().groupby(month).transform("any")
    score = points.where(known_everywhere, 0.0).sum(axis=1)
    result = pd.DataFrame({"month_i": month.to_numpy(), "key": counts["key"].to_numpy(),
                           "score": score.to_numpy(),
                           "rank": score.groupby(month).rank(method="min", ascending=False).to_numpy(),
                           "units": month.map(month.value_counts()).to_numpy()})
    result.attrs["months"] = [(item.code, item.label) for item in month_list]
    return result


def trend(db, unit_code: str, period: Period, settings: metrics.Settings = _DEFAULT_SETTINGS,
          version: str | None = None, months: int = 12, ranked: pd.DataFrame | None = None) -> pd.DataFrame:
    """Month, score (comparable part), rank and units of one unit for the ``months`` months ending with the
    period's last month; months without dossiers give NaN (never 0). ``ranked``: ``ranked_months`` of the
    unit's peers, when the caller has it already."""
    if ranked is None:
        ranked = ranked_months(db, peer_units(db, unit_code), period, settings, version, months)
    units_by_month = ranked.groupby("month_i")["units"].first()
    mine = ranked[ranked["key"] == unit_code].set_index("month_i")
    rows = []
    for index, (code, label) in enumerate(ranked.attrs["months"]):
        found = index in mine.index
        rows.append({"month": code, "label": label,
                     "score": float(mine.loc[index, "score"]) if found else np.nan,
                     "rank": int(mine.loc[index, "rank"]) if found else pd.NA,
                     "units": int(units_by_month.get(index, 0))})
    return pd.DataFrame(rows)


def _entered_by_month(db, counts: pd.DataFrame, months: list[Period], version: str) -> pd.DataFrame:
    """Entered points per row of a (month_i, key) counts frame; NaN where nothing was entered."""
    result = pd.DataFrame(np.nan, index=counts.index, columns=list(ENTERED_KEYS))
    bounds = {(m.start, m.end): i for i, m in enumerate(months)}
    try:
        frame = metrics._query(db, f"SELECT unit_code, period_from, period_to, component, points FROM {INPUTS_TABLE} "
                                   "WHERE formula_version = ? AND unit_code IN (SELECT unnest(?))",
                               [version, counts["key"].unique().tolist()])
    except duckdb.CatalogException:
        return result
    position = {(m, k): i for i, (m, k) in enumerate(zip(counts["month_i"], counts["key"], strict=True))}
    for unit, start, end, component, value in frame.itertuples(index=False):
        month_i = bounds.get((pd.Timestamp(start).date(), pd.Timestamp(end).date()))
        row = position.get((month_i, unit))
        if row is not None and component in result.columns:
            result.iat[row, result.columns.get_loc(component)] = float(value)
    return result


def monthly_unit_counts(db, unit_codes: Iterable[str], months: list[Period],
                        settings: metrics.Settings = _DEFAULT_SETTINGS) -> pd.DataFrame:
    """Every count and rate per (month, unit) in ONE query on the half-month cube (``month_i`` = position in
    ``months``): the 12-month trend ranks the whole province each month without 12 league queries.

    The SQL is ``metrics_sql.grouped_select`` with the period bounds taken from a joined list of months
    instead of parameters; the counts are combined by ``metrics`` exactly as for one period (the cube
    answers calendar and report months exactly; tested against ``metrics.breakdown``)."""
    specs = metrics._specs(settings)
    columns = sorted({column for _state, attributes in specs.values() for column in attributes})
    scope = Scope(unit_codes=tuple(unit_codes)).with_settings(settings)  # attribution, boundaries
    where_sql, where_params = scope.where("d")
    select = msql.grouped_select(f"d.{scope.unit_column}", None, columns, where_sql, cube=True,
                                 **metrics._clock(settings))
    select = (select.replace(":sb", "m.sb").replace(":eb", "m.eb")
              .replace("SELECT ", "SELECT m.i AS month_i, ", 1)
              .replace(f"FROM {msql.CUBE_TABLE} d\n", f"FROM {msql.CUBE_TABLE} d, (SELECT unnest(:mi) AS i, "
                       "unnest(:msb) AS sb, unnest(:meb) AS eb) m\n")
              .replace("GROUP BY 1, ", "GROUP BY month_i, key, "))
    named = {"mi": list(range(len(months))),
             "msb": [msql.half_month_number(m.start) for m in months],
             "meb": [msql.half_month_number(m.end + timedelta(days=1)) for m in months]}
    sql, params = msql.bind(select, named, where_params)
    groups = metrics._query(db, sql, params)
    if groups.empty:
        return pd.DataFrame(columns=["month_i", "key", "label", *metrics.COUNTS, *metrics.RATES])
    groups["key"] = groups["month_i"].astype(str) + "|" + groups["key"].astype(str)
    frame = metrics._finish_frame(metrics._combine_groups(groups, specs, settings, grouped=True))
    parts = frame["key"].str.split("|", n=1, expand=True)
    frame["month_i"], frame["key"] = parts[0].astype(int), parts[1]
    frame["label"] = frame["key"]
    return frame


def comparison_period(period: Period, until: date | None) -> tuple[Period, bool]:
    """(the period ``period`` is compared with, whether ``period`` is partial): the previous period, or
    the same span of it when the data ends (``until``) inside ``period``."""
    if until is not None and period.start <= until < period.end:
        return same_span_previous(period, until), True
    return period.previous(), False


def same_span_previous(period: Period, until: date) -> Period:
    """The previous period cut to the same number of days as ``period`` has data for (partial periods)."""
    previous = period.previous()
    span = (min(until, period.end) - period.start).days
    return custom_period(previous.start, min(previous.end, previous.start + timedelta(days=span)), period.calendar)


__all__ = [
    "COMPONENTS", "DEFAULT_VERSION", "ENTERED_KEYS", "ESTIMATE_LABEL", "GROUPS", "InputRow", "VERSIONS",
    "actions", "check_version", "comparison_period", "data_until", "ensure_same_version", "estimate_block", "estimated_points",
    "import_inputs_csv", "league", "load_inputs", "parse_inputs_csv", "rank_of", "rank_ties_min",
    "same_span_previous", "save_inputs", "score_counts", "trend",
]

"""Every number of a report pack, fetched once from ``motcua.metrics`` and shared by Excel and Word.

Nothing here computes a KPI: the Biểu 06 rows are ``breakdown(by="field")`` + ``total_row``, the other
KPIs ``compute_kpis`` (this period, the previous one and the same period last year) and the annex the
``dossier_list`` of late/overdue dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from motcua import metrics, vntime
from motcua.db import query_df
from motcua.filters import Scope, unit_names
from motcua.fmt import fmt_date
from motcua.periods import Period
from motcua.text import nfc

# Biểu 06/VPCP/KSTT columns (3)..(13) -> count keys of ``motcua.metrics.COUNTS``.
# Column (5) "Trực tiếp, dịch vụ bưu chính" is the sum of two count keys.
BIEU06_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Tổng số", ("received_total",)),
    ("Trực tuyến", ("online",)),
    ("Trực tiếp, dịch vụ bưu chính", ("direct", "postal")),
    ("Từ kỳ trước", ("carried_over",)),
    ("Tổng số", ("resolved_total",)),
    ("Trước hạn", ("early",)),
    ("Đúng hạn", ("on_time",)),
    ("Quá hạn", ("late",)),
    ("Tổng số", ("pending_total",)),
    ("Trong hạn", ("within_deadline",)),
    ("Quá hạn", ("overdue",)),
)

# Late (resolved) and overdue (still open) dossiers both belong in an inspection annex.
ANNEX_BUCKETS = (("overdue", "Đang giải quyết quá hạn"), ("late", "Đã giải quyết quá hạn"))
ANNEX_LIMIT = 5000


class EmptyReport(ValueError):
    """No dossier at all in the period for the scope (Vietnamese message)."""


@dataclass
class ReportData:
    scope: Scope
    period: Period
    settings: metrics.Settings
    unit_name: str  # "Xã Tứ Kỳ" (or the scope caption for several units)
    province_name: str | None
    counts: dict
    kpis: dict
    fields: pd.DataFrame  # breakdown(by="field")
    total: dict  # total_row(fields)
    months: pd.DataFrame  # breakdown(by="month")
    levels: pd.DataFrame  # level_breakdown
    procedure_levels: pd.DataFrame  # procedures_by_level: offered / with dossiers per DVC level
    previous: dict  # compute_kpis of period.previous()
    previous_counts: dict
    last_year: dict  # compute_kpis of period.same_period_last_year()
    last_year_counts: dict
    annex: pd.DataFrame  # dossier_list rows of ANNEX_BUCKETS + "bucket_label"
    annex_truncated: bool = False
    generated_at: datetime = field(default_factory=vntime.now)  # Vietnam time, whatever the server zone

    @property
    def single_unit(self) -> bool:
        return len(self.scope.unit_codes) == 1

    @property
    def organization(self) -> tuple[str, str]:
        """Two lines of the heading block: the reporting body ('ỦY BAN NHÂN DÂN', 'XÃ TỨ KỲ')."""
        if self.single_unit:
            return "ỦY BAN NHÂN DÂN", self.unit_name.upper()
        if self.province_name:
            return "ỦY BAN NHÂN DÂN", self.province_name.upper()
        return "TỔNG HỢP SỐ LIỆU", self.unit_name.upper()

    @property
    def caption(self) -> str:
        return f"{self.unit_name} – {self.period.caption}"

    @property
    def period_sentence(self) -> str:
        return period_sentence(self.period)

    @property
    def last_year_is_previous(self) -> bool:
        """A year (or 9-month) report: the previous period IS last year's; show that column once."""
        return self.period.previous() == self.period.same_period_last_year()

    @property
    def date_line(self) -> str:
        """'Tứ Kỳ, ngày 05 tháng 10 năm 2026' (Vietnam date): the dateline above the signature."""
        place = place_name(self.unit_name if self.single_unit else (self.province_name or "......"))
        day = self.generated_at
        return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def place_name(name: str) -> str:
    """'Tứ Kỳ' from 'Xã Tứ Kỳ', 'Hà Tĩnh' from 'Tỉnh Hà Tĩnh' (the dateline of the heading block)."""
    for prefix in ("Thành phố ", "Thị trấn ", "Đặc khu ", "Phường ", "Tỉnh ", "Xã "):
        if name.lower().startswith(prefix.lower()) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def period_sentence(period: Period) -> str:
    """'Kỳ báo cáo Quý 3/2026 (Từ ngày 15/06/2026 đến ngày 14/09/2026)' (the form's period line)."""
    return f"Kỳ báo cáo {period.label} (Từ ngày {fmt_date(period.start)} đến ngày {fmt_date(period.end)})"


def unit_in_prose(unit_name: str) -> str:
    """'xã Tứ Kỳ' from 'Xã Tứ Kỳ' (inside a sentence the unit type is lower case)."""
    words = unit_name.split(" ", 1)
    if len(words) == 2 and words[0].lower() in {"xã", "phường", "đặc", "thị"}:
        return words[0].lower() + " " + words[1]
    return unit_name


def bieu06_value(row, keys: tuple[str, ...]) -> int:
    return int(sum(int(row[k]) for k in keys))


def metric_count(counts: dict, key: str) -> int:
    """A rate's numerator/denominator value; some are sums of counts (e.g. trước hạn + đúng hạn)."""
    # metrics keeps the composite definitions; reuse them instead of restating the sums here.
    return int(metrics.count_value(counts, key))


def scope_unit_name(db, scope: Scope) -> tuple[str, str | None]:
    """Display name of the scope's unit(s) and the province when all share one.

    Every unit of one province (no unit filter) is named by the province ("Thành phố Hải Phòng"), not
    "Tất cả đơn vị", so the report's heading, place line and title say where it is from."""
    if not scope.unit_codes:
        provinces = query_df(db, "SELECT DISTINCT u.province_name FROM units u WHERE u.code IN "
                                 "(SELECT DISTINCT receiving_unit_code FROM dossiers)")["province_name"].dropna()
        if len(provinces) == 1:
            return nfc(provinces.iloc[0]), nfc(provinces.iloc[0])
        return scope.caption(), None
    names = unit_names(db, list(scope.unit_codes))
    placeholders = ", ".join("?" for _ in scope.unit_codes)
    provinces = query_df(db, f"SELECT DISTINCT province_name FROM units WHERE code IN ({placeholders})",
                       list(scope.unit_codes))["province_name"].dropna().tolist()
    province = provinces[0] if len(provinces) == 1 else None
    if len(scope.unit_codes) == 1:
        code = scope.unit_codes[0]
        return nfc(names.get(code, code)), province
    if province:
        return f"{len(scope.unit_codes)} xã, phường của {province}", province
    return scope.caption(names), province


def _annex(db, scope: Scope, period: Period, settings) -> tuple[pd.DataFrame, bool]:
    parts, truncated = [], False
    for bucket, label in ANNEX_BUCKETS:
        frame = metrics.dossier_list(db, scope, period, bucket, settings, limit=ANNEX_LIMIT)
        truncated = truncated or len(frame) >= ANNEX_LIMIT
        parts.append(frame.assign(bucket=bucket, bucket_label=label))
    annex = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not annex.empty:
        annex = annex.sort_values(["resolving_unit", "bucket", "days_late"], ascending=[True, True, False],
                                  kind="stable", na_position="last").reset_index(drop=True)
    return annex, truncated


def check_not_empty(db, scope: Scope, period: Period, settings: metrics.Settings) -> dict:
    """The period's counts; raises ``EmptyReport`` (Vietnamese) when there is no dossier to report."""
    counts = metrics.kpi_counts(db, scope, period, settings)
    if int(counts.get("received_total", 0)) == 0:
        unit_name, _province = scope_unit_name(db, scope)
        raise EmptyReport(f"Không có hồ sơ nào của {unit_name} trong kỳ {period.caption}: "
                          "không lập báo cáo. Hãy kiểm tra kỳ báo cáo hoặc nạp dữ liệu của kỳ này.")
    return counts


def collect(db, scope: Scope, period: Period, settings: metrics.Settings | None = None,
            *, allow_empty: bool = False) -> ReportData:
    """Fetch every number of one pack. Raises ``EmptyReport`` when the period has no dossier."""
    settings = settings or metrics.Settings()
    counts = (metrics.kpi_counts(db, scope, period, settings) if allow_empty
              else check_not_empty(db, scope, period, settings))
    unit_name, province = scope_unit_name(db, scope)
    fields = metrics.breakdown(db, scope, period, "field", settings)
    previous_period, last_year_period = period.previous(), period.same_period_last_year()
    annex, truncated = _annex(db, scope, period, settings)
    return ReportData(
        scope=scope, period=period, settings=settings, unit_name=unit_name, province_name=province,
        counts=counts, kpis=metrics.compute_kpis(db, scope, period, settings),
        fields=fields, total=metrics.total_row(fields),
        months=metrics.breakdown(db, scope, period, "month", settings),
        levels=metrics.level_breakdown(db, scope, period),
        procedure_levels=metrics.procedures_by_level(db, scope, period),
        previous=metrics.compute_kpis(db, scope, previous_period, settings),
        previous_counts=metrics.kpi_counts(db, scope, previous_period, settings),
        last_year=metrics.compute_kpis(db, scope, last_year_period, settings),
        last_year_counts=metrics.kpi_counts(db, scope, last_year_period, settings),
        annex=annex, annex_truncated=truncated,
    )

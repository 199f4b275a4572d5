"""The KPI engine: every official count and rate, defined once (numerator / denominator).

Definitions (lead decisions; sources in ``METRIC_DOCS``):

* A dossier counts only when actually received: ``received_at`` is set and the status is not
  1 "Mới đăng ký" or 3 "Không được tiếp nhận" (refused at reception never counts; NĐ 61/2018 Art 17,
  QĐ 766 indicator 2.1).
* End of processing ``closed_at`` (QĐ 766 order) = finished_at, else returned_at, else ``state_at`` of
  a closing status (7, 8, 9, 10). Effective due date = new_due_at (one re-appointment, NĐ 61/2018
  Art 19(9)), else due_at, else receipt + the procedure's legal working days (``motcua.workdays``);
  with none of those the dossier is on time / within the deadline and reported by ``data_quality``.
  A due date without a time of day means the end of that day.
* The official clock (``Settings.supplement_rule``, ``Settings.due_on_day_off``; one precomputed set of
  columns per combination, ``metrics_sql.clock_suffix``): "restart" (default, NĐ 61/2018 Art 19(4)) judges
  against the new due date, else the supplement's receipt + the time limit, else the old due date; a
  dossier waiting for a supplement at the period end is within the deadline and counted as
  ``waiting_supplement``. "portal_766": end − waiting time against the first due date, more than one request
  = late, an unanswered request ends the dossier at the request time. "as_exported": dates as exported.
  ``due_on_day_off`` "next_working_day" moves a due date on a day off to the next working day.
* Period P = [start, end] (inclusive days; timestamps compare as [start_ts, end_ts)).
  carried_over = received before P and not closed before P; new = received in P (online / direct /
  postal by channel); received_total = carried_over + new; resolved = closed in P; pending = received
  up to the end of P and not closed by then, within_deadline when the due date >= the last day of P
  (QĐ 766 §2.2: open dossiers are judged at the period end), else overdue.
* Resolved outcome (Biểu 06 cols 8-10): ``Settings.early_rule`` "date" (default) = early when closed on
  an earlier calendar day than due, on time on the same day, late after; "timestamp" = late when
  closed_at > due_at, early when on an earlier day, else on time.
* Exported time status (``dossiers.time_status``: "Sớm hạn", "Quá 2 ngày", ...) decides only where the dates
  cannot: a resolved dossier without an end date or a due date takes early / on time / late from it; an open
  dossier without a due date labelled "quá hạn" is overdue (``label_overdue`` in the facts).
* Returned / withdrawn / stopped (status 7, 8): ``returned_or_withdrawn`` is always its own count.
  ``Settings.returned_policy`` "resolved_on_time" (default; vendor convention, domain_metrics §2.3) keeps
  them in every Biểu 06 column, resolved as "đúng hạn"; "excluded" removes them from every column of
  every period (so the identities and carried-over chains still hold; earlier periods are restated);
  "judged_766" judges them against their due date like any closed dossier. "separate" is an alias of
  "excluded".
* Identities (tested for every setting): received_total = online + direct + postal + carried_over =
  resolved_total + pending_total; resolved_total = early + on_time + late; pending_total =
  within_deadline + overdue; pending at the end of P = carried_over of the next period.
* Rates are fractions, None (NaN in frames) when the denominator is 0, and always aggregate as
  sum(numerator) / sum(denominator), never as a mean of rates. An attribute the source lacks is NULL
  (unknown): such rates count known values only and report their ``coverage``; no data is not 0%.

Every count is declared once (``motcua.metrics_sql.count_specs``) and computed in one statement over the
derived tables of ``motcua.aggregates``: the half-month cube for calendar/report periods without a field or
procedure filter, the dossier-level facts otherwise (both give identical answers; tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from motcua import metrics_sql as msql
from motcua.db import query_df
from motcua.filters import MISSING_TEXT_KEY, Scope, current_unit_codes, unit_names
from motcua.periods import Period, custom_period
from motcua.settings import (  # noqa: F401  (re-exported: the metrics API names its settings)
    DIGITIZATION_SCOPES,
    DUE_ON_DAY_OFF_RULES,
    EARLY_RULES,
    LEVEL_LABELS,
    RETURNED_POLICIES,
    SETTINGS,
    SUPPLEMENT_RULES,
    Settings,
)
from motcua.sql_dialect import QueryEngine

# --- labels ------------------------------------------------------------------------------------------
CHANNEL_LABELS = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Bưu chính công ích"}
STATUS_LABELS = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}
UNKNOWN_STATUS_LABEL = "Không rõ trạng thái"
BREAKDOWNS = {
    "unit": "Đơn vị",
    "field": "Lĩnh vực",
    "procedure": "Thủ tục hành chính",
    "channel": "Kênh nộp",
    "dvc_level": "Mức độ DVC",
    "month": "Tháng",
    "department": "Phòng ban xử lý",
    "officer": "Cán bộ xử lý",
}
# Group labels for dossiers without the attribute (the export has no such column, or the cell is blank).
_MISSING_LABELS = {"department": "Chưa rõ phòng ban", "officer": "Chưa rõ cán bộ"}
_TEXT_KEYS = {"department": "handling_department", "officer": "handling_officer"}


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    numerator: str  # a COUNTS key
    denominator: str  # a COUNTS key
    definition: str
    source: str
    # Coverage: (dossiers whose value is known, dossiers the rate is about) as COUNTS keys; the denominator
    # counts known values only, so a source without the column gives None, never 0%.
    coverage: tuple[str, str] | None = None


COUNTS: dict[str, str] = {
    "received_total": "Tổng số hồ sơ nhận giải quyết",
    "carried_over": "Từ kỳ trước chuyển sang",
    "new": "Mới tiếp nhận trong kỳ",
    "online": "Tiếp nhận trực tuyến",
    "direct": "Tiếp nhận trực tiếp",
    "postal": "Tiếp nhận qua bưu chính công ích",
    "resolved_total": "Đã giải quyết",
    "early": "Giải quyết trước hạn",
    "on_time": "Giải quyết đúng hạn",
    "late": "Giải quyết quá hạn",
    "pending_total": "Đang giải quyết",
    "within_deadline": "Đang giải quyết trong hạn",
    "overdue": "Đang giải quyết quá hạn",
    "waiting_supplement": "Đang chờ bổ sung",
    "returned_or_withdrawn": "Trả lại, rút, dừng xử lý",
    "new_of_online_procedures": "Hồ sơ mới của TTHC có DVC trực tuyến",
    "online_of_online_procedures": "Hồ sơ trực tuyến của TTHC có DVC trực tuyến",
    "new_level_known": "Hồ sơ mới biết mức độ DVC",
    "digitized": "Hồ sơ được số hóa khi tiếp nhận",
    "digitized_scope": "Hồ sơ thuộc diện số hóa (có dữ liệu số hóa)",
    "digitized_scope_all": "Hồ sơ thuộc diện số hóa",
    "electronic_result": "Hồ sơ có kết quả điện tử",
    "electronic_result_scope": "Hồ sơ đã có kết quả giải quyết (có dữ liệu kết quả điện tử)",
    "electronic_result_scope_all": "Hồ sơ đã có kết quả giải quyết",
    "reused": "Hồ sơ tái sử dụng dữ liệu số hóa",
    "reuse_scope": "Hồ sơ mới có dữ liệu tái sử dụng",
    "fee_bearing": "Hồ sơ có phí, lệ phí (có dữ liệu thanh toán)",
    "paid_online": "Hồ sơ thanh toán trực tuyến",
    "non_territorial": "Hồ sơ tiếp nhận không phụ thuộc địa giới hành chính",
    "non_territorial_known": "Hồ sơ mới có thông tin nơi cư trú của người nộp",
    "reappointed_more_than_once": "Hồ sơ hẹn lại ngày trả quá một lần",
    "payment_known": "Hồ sơ mới có dữ liệu phí và thanh toán",
}
_LEVEL_COUNT_KEYS = {f"level_{level}": level for level in LEVEL_LABELS}

RATES: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("online_rate", "Tỷ lệ hồ sơ trực tuyến", "online", "new",
               "Hồ sơ tiếp nhận trực tuyến / tổng hồ sơ mới tiếp nhận trong kỳ",
               "QĐ 766/QĐ-TTg chỉ số 3.3"),
        Metric("online_rate_of_online_procedures", "Tỷ lệ hồ sơ trực tuyến của TTHC có DVC trực tuyến",
               "online_of_online_procedures", "new_of_online_procedures",
               "Hồ sơ trực tuyến / hồ sơ mới của các TTHC cung cấp DVC trực tuyến (mặc định toàn trình và một phần, "
               "theo cài đặt online_procedure_levels)",
               "NĐ 42/2022/NĐ-CP Điều 11 (DVC trực tuyến = toàn trình + một phần); cách tính theo TT 23/2018/TT-BTTTT "
               "Điều 8 (chỉ TTHC mức độ 4: chọn toan_trinh)", ("new_level_known", "new")),
        Metric("on_time_rate_resolved", "Tỷ lệ giải quyết đúng hạn (trên số đã giải quyết)", "on_time_resolved",
               "resolved_total", "(Trước hạn + đúng hạn) / số hồ sơ đã giải quyết",
               "Thực tiễn báo cáo định kỳ (Biểu 06/VPCP/KSTT, TT 01/2020/TT-VPCP)"),
        Metric("on_time_rate_766", "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766)", "on_time_766", "handled_766",
               "(Trước hạn + đúng hạn + đang giải quyết trong hạn) / (đã giải quyết + đang giải quyết)",
               "QĐ 766/QĐ-TTg chỉ số 2.1"),
        Metric("digitized_intake_rate", "Tỷ lệ số hóa hồ sơ khi tiếp nhận", "digitized", "digitized_scope",
               "Hồ sơ có thành phần được số hóa / hồ sơ mới thuộc diện số hóa",
               "QĐ 766/QĐ-TTg chỉ số 4.2; TT 01/2023/TT-VPCP; TT 03/2025/TT-VPCP Điều 5",
               ("digitized_scope", "digitized_scope_all")),
        Metric("electronic_result_rate", "Tỷ lệ cấp kết quả điện tử", "electronic_result",
               "electronic_result_scope",
               "Hồ sơ có kết quả điện tử / hồ sơ đã có kết quả trong kỳ (hồ sơ đang xử lý không tính thiếu)",
               "QĐ 766/QĐ-TTg chỉ số 4.1", ("electronic_result_scope", "electronic_result_scope_all")),
        Metric("reuse_rate", "Tỷ lệ tái sử dụng dữ liệu số hóa", "reused", "reuse_scope",
               "Hồ sơ có thành phần tái sử dụng dữ liệu số hóa / hồ sơ mới tiếp nhận",
               "QĐ 766/QĐ-TTg chỉ số 4.3", ("reuse_scope", "new")),
        Metric("online_payment_rate", "Tỷ lệ thanh toán trực tuyến", "paid_online", "fee_bearing",
               "Hồ sơ thanh toán trực tuyến / hồ sơ mới có phí, lệ phí (số tiền > 0, hoặc TTHC có phí khi "
               "không rõ số tiền)", "QĐ 766/QĐ-TTg chỉ số 3.6", ("payment_known", "new")),
        Metric("non_territorial_rate", "Tỷ lệ hồ sơ không phụ thuộc địa giới hành chính", "non_territorial",
               "non_territorial_known",
               "Hồ sơ mới tiếp nhận của người nộp cư trú ngoài xã/phường (cột của tệp xuất, hoặc suy ra từ địa chỉ "
               "khi nạp; địa chỉ không được lưu) / hồ sơ mới có thông tin này",
               "NĐ 118/2025/NĐ-CP Điều 4, 11; NQ 27/NQ-CP 2025", ("non_territorial_known", "new")),
    )
}

# Numerators / denominators that are sums of counts.
_COMPOSITE = {
    "on_time_resolved": ("early", "on_time"),
    "on_time_766": ("early", "on_time", "within_deadline"),
    "handled_766": ("resolved_total", "pending_total"),
}

_DECISIONS = (
    ("counted", "Hồ sơ được tính",
     "Có ngày tiếp nhận và trạng thái khác 1 (Mới đăng ký), 3 (Không được tiếp nhận)",
     "NĐ 61/2018/NĐ-CP Điều 17; QĐ 766/QĐ-TTg chỉ số 2.1"),
    ("closed_at", "Thời điểm kết thúc xử lý",
     "Ngày kết thúc xử lý, nếu không có thì ngày trả kết quả, nếu không có thì thời điểm cập nhật của trạng thái "
     "kết thúc (7, 8, 9, 10)", "QĐ 766/QĐ-TTg chỉ số 2.1 (thứ tự trạng thái kết thúc)"),
    ("due", "Ngày hẹn trả dùng để so sánh",
     "Ngày hẹn trả mới (hẹn lại một lần), nếu không có thì ngày hẹn trả, nếu không có thì ngày tiếp nhận + thời "
     "hạn giải quyết (ngày làm việc, trừ ngày nghỉ lễ, Tết); không xác định được thì coi là đúng/trong hạn và "
     "báo ở mục kiểm tra dữ liệu", "NĐ 61/2018/NĐ-CP Điều 19(9); Bộ luật Lao động 2019 Điều 112"),
    ("calendar", "Kỳ báo cáo",
     "Theo tháng/quý/năm dương lịch (như Cổng DVCQG) hoặc kỳ chốt số liệu từ ngày 15 tháng trước đến ngày 14",
     "NĐ 09/2019/NĐ-CP Điều 12"),
    ("early_rule", "Trước hạn / đúng hạn",
     "Mặc định so theo ngày: xong trước ngày hẹn trả là trước hạn, trong ngày hẹn trả là đúng hạn; có thể chọn "
     "so theo thời điểm", "Biểu 06/VPCP/KSTT (TT 01/2020/TT-VPCP) cột 8–10; chưa có hướng dẫn chính thức"),
    ("returned_policy", "Hồ sơ trả lại, rút, dừng xử lý",
     "Luôn báo riêng; mặc định vẫn tính vào Biểu 06 là đã giải quyết đúng hạn (cách phần mềm một cửa thường làm), "
     "hoặc so với ngày hẹn trả như Cổng DVCQG (judged_766), hoặc loại khỏi mọi cột (excluded: số liệu các kỳ "
     "trước cũng thay đổi)", "NĐ 118/2025/NĐ-CP Điều 21; TT 03/2025/TT-VPCP Điều 7; QĐ 766/QĐ-TTg chỉ số 2.1"),
    ("supplement_rule", "Hồ sơ yêu cầu bổ sung",
     "restart (mặc định): hạn mới = ngày hẹn trả mới, nếu không có thì ngày nhận bổ sung + thời hạn giải quyết "
     "(ngày làm việc), nếu không có thì giữ ngày hẹn trả (báo ở kiểm tra dữ liệu); hồ sơ đang chờ bổ sung cuối kỳ "
     "là trong hạn và báo riêng \"chờ bổ sung\". portal_766: thời điểm kết thúc trừ thời gian chờ bổ sung, bổ sung "
     "quá 1 lần là quá hạn, yêu cầu chưa được đáp ứng kết thúc tại thời điểm yêu cầu. Tệp JSON Cổng DVCQG có đủ các "
     "lần bổ sung (DanhSachHoSoBoSung); tệp khác chỉ có lần cuối và số lần (tính gần đúng theo lần cuối).",
     "NĐ 61/2018/NĐ-CP Điều 19(4) (giữ ở NĐ 118/2025); QĐ 766/QĐ-TTg chỉ số 2.1"),
    ("due_date_only", "Ngày hẹn trả không có giờ",
     "Là hết ngày đó (23:59:59); hồ sơ đang giải quyết có ngày hẹn trả trong tương lai là hợp lệ, chỉ thời điểm "
     "sự kiện (tiếp nhận, kết thúc, trả, bổ sung) không được ở tương lai", "NĐ 61/2018/NĐ-CP Điều 17"),
    ("due_on_day_off", "Ngày hẹn trả rơi vào ngày nghỉ",
     "as_exported (mặc định): giữ nguyên; next_working_day: lùi sang ngày làm việc tiếp theo. Cả hai cách đều báo "
     "số hồ sơ này ở kiểm tra dữ liệu", "Bộ luật Dân sự 2015 Điều 148"),
    ("no_data", "Không có dữ liệu không phải 0%",
     "Tệp không có cột (số hóa, kết quả điện tử, tái sử dụng, thanh toán, phí, mức độ) thì hồ sơ là chưa rõ; tỷ lệ "
     "chỉ tính trên hồ sơ có dữ liệu và ghi độ phủ (có dữ liệu cho a/b hồ sơ); không có hồ sơ nào thì ghi "
     "\"không có dữ liệu\"", "Nguyên tắc thống kê của công cụ"),
)


def _build_docs() -> list[dict]:
    docs = [{"key": key, "label": label, "formula": formula, "source": source}
            for key, label, formula, source in _DECISIONS]
    decided = {key for key, *_ in _DECISIONS}
    for spec in SETTINGS:  # every other setting, with its choices, straight from the registry
        if spec.name not in decided:
            choices = "; ".join(spec.choices.values()) if spec.choices else f"mặc định {spec.default}"
            docs.append({"key": spec.name, "label": spec.label, "formula": f"Cài đặt. {choices}",
                         "source": spec.source})
    count_sources = {
        "received_total": ("Từ kỳ trước + trực tuyến + trực tiếp + bưu chính", "Biểu 06 cột 3"),
        "carried_over": ("Tiếp nhận trước kỳ, chưa kết thúc khi bắt đầu kỳ", "Biểu 06 cột 6"),
        "new": ("Tiếp nhận trong kỳ", "Biểu 06 cột 4, 5"),
        "resolved_total": ("Kết thúc xử lý trong kỳ = trước hạn + đúng hạn + quá hạn", "Biểu 06 cột 7"),
        "pending_total": ("Chưa kết thúc khi hết kỳ = trong hạn + quá hạn", "Biểu 06 cột 11"),
        "within_deadline": ("Đang giải quyết, ngày hẹn trả từ ngày cuối kỳ trở đi", "Biểu 06 cột 12; QĐ 766 2.1"),
        "overdue": ("Đang giải quyết, ngày hẹn trả trước ngày cuối kỳ", "Biểu 06 cột 13"),
        "returned_or_withdrawn": ("Trạng thái 7, 8 kết thúc trong kỳ", "NĐ 118/2025/NĐ-CP Điều 21"),
    }
    for key, (formula, source) in count_sources.items():
        docs.append({"key": key, "label": COUNTS[key], "formula": formula, "source": source})
    for metric in RATES.values():
        docs.append({"key": metric.key, "label": metric.label, "formula": metric.definition,
                     "source": metric.source})
    return docs


METRIC_DOCS: list[dict] = _build_docs()


# --- helpers -----------------------------------------------------------------------------------------
def _query(db, sql: str, params: list) -> pd.DataFrame:
    """Run on a Database (read side) or a connection (own cursor), always fully fetched."""
    if isinstance(db, QueryEngine):
        try:
            return db.query_df(sql, params)
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            if msql.FACTS_TABLE not in sql and msql.CUBE_TABLE not in sql:
                raise
            from motcua.db import DatabaseUnavailable

            # A file published before this version of the KPI engine: missing or old derived table.
            raise DatabaseUnavailable(
                "Cơ sở dữ liệu chưa có (hoặc có bản cũ của) bảng tổng hợp chỉ tiêu. Quản trị viên hãy chạy "
                f"`motcua kpi --rebuild --db {getattr(db, 'path', 'ĐƯỜNG_DẪN')}` (hoặc nạp lại dữ liệu). Chi tiết: {exc}"
            ) from exc
    _ensure_facts(db)
    return query_df(db, sql, params)


def _ensure_facts(con) -> None:
    """Tests and tools that write a connection directly get the derived table on first use."""
    cur = con.cursor()
    try:
        exists = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                             [msql.FACTS_TABLE]).fetchone()[0]
    finally:
        cur.close()
    if not exists:
        from motcua.aggregates import refresh

        refresh(con)


def _period_params(period: Period) -> dict:
    return {"s": period.start, "e": period.end}


def _specs(settings: Settings) -> dict:
    return msql.count_specs(settings.early_rule, settings.digitization_scope, settings.online_procedure_levels,
                            settings.supplement_rule, settings.due_on_day_off)


def _clock(settings: Settings) -> dict:
    return {"supplement_rule": settings.supplement_rule, "due_on_day_off": settings.due_on_day_off}


def _to_int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def count_value(counts: Mapping, key: str) -> float:
    """A count by key from a counts dict/row; composite keys (e.g. resolved + pending) are summed."""
    if key in _COMPOSITE:
        return sum(count_value(counts, part) for part in _COMPOSITE[key])
    value = counts.get(key, 0)
    return 0 if value is None or pd.isna(value) else value


def rate(counts: Mapping, key: str) -> float | None:
    """sum(numerator) / sum(denominator) of one rate from a counts dict or row; None when den = 0."""
    metric = RATES[key]
    denominator = count_value(counts, metric.denominator)
    if not denominator:
        return None
    return float(count_value(counts, metric.numerator) / denominator)


def _cube_answers(scope: Scope, period: Period, key_sql: str | None) -> bool:
    """The half-month cube gives exact answers for periods on 1st/15th bounds without field/procedure."""
    aligned = period.start.day in (1, 15) and (period.end + timedelta(days=1)).day in (1, 15)
    keys_ok = key_sql is None or key_sql.removeprefix("d.") in msql.CUBE_KEYS
    return (aligned and keys_ok and not scope.field_names and not scope.procedure_codes
            and not scope.department_names and not scope.officer_names)


def _grouped_counts(db, scope: Scope, period: Period, settings: Settings, key_sql: str | None,
                    label_sql: str | None = None, allow_cube: bool = True) -> pd.DataFrame:
    """Every count (and level counts) per group, or one row when key_sql is None.

    One statement groups the active dossiers by (key, period state, returned) and sums the precomputed
    0/1 attribute columns; each count is then the sum over the state rows its spec selects.
    """
    scope = scope.with_settings(settings)
    specs = _specs(settings)
    columns = sorted({column for _state, attributes in specs.values() for column in attributes})
    where_sql, where_params = scope.where("d")
    cube = allow_cube and _cube_answers(scope, period, key_sql)
    named = {**_period_params(period), "sb": msql.half_month_number(period.start),
             "eb": msql.half_month_number(period.end + timedelta(days=1))}
    sql, params = msql.bind(msql.grouped_select(key_sql, label_sql, columns, where_sql, cube, **_clock(settings)),
                            named, where_params)
    groups = _query(db, sql, params)
    return _combine_groups(groups, specs, settings, grouped=key_sql is not None)


def _combine_groups(groups: pd.DataFrame, specs: dict, settings: Settings, grouped: bool) -> pd.DataFrame:
    """Sum the state rows of each key into the counts (vectorised over the few grouped rows)."""
    carried = groups["carried"].fillna(False).to_numpy(dtype=bool)
    resolved = groups["resolved"].fillna(False).to_numpy(dtype=bool)
    due_ok = groups["due_ok"].fillna(True).to_numpy(dtype=bool)
    waiting = groups["waiting"].fillna(False).to_numpy(dtype=bool)
    returned = groups["returned"].fillna(False).to_numpy(dtype=bool)
    counted = ~returned if settings.returned_policy == "excluded" else np.ones(len(groups), dtype=bool)
    # A dossier waiting for a supplement has its clock stopped (restart, portal_766): within the deadline.
    within = due_ok | waiting if msql.stops_clock(settings.supplement_rule) else due_ok
    states = {
        "all": counted, "carried": counted & carried, "new": counted & ~carried,
        "resolved": counted & resolved, "pending": counted & ~resolved,
        "within": counted & ~resolved & within, "overdue": counted & ~resolved & ~within,
        "waiting": counted & ~resolved & waiting,
        "returned": returned & resolved,
    }
    # resolved_on_time (vendor convention): a returned dossier is "đúng hạn", never early or late.
    vendor = settings.returned_policy == "resolved_on_time"
    if grouped:
        codes, keys = pd.factorize(groups["key"], sort=False)
        # A key's rows are split by clock state, each with max(label) of its part: the key's label is the max
        # over the parts (first() would depend on the engine's row order).
        labels = _max_label_per_code(codes, groups["label"], len(keys))
    else:
        codes, keys, labels = np.zeros(len(groups), dtype=np.int64), [None], [None]
    size = len(keys)
    n = groups["n"].to_numpy(dtype=np.int64)
    result = {"key": list(keys), "label": labels}
    for key, (state, attributes) in specs.items():
        values = n if not attributes else sum(groups[column].fillna(0).to_numpy(dtype=np.int64)
                                              for column in attributes)
        if key in msql.COMPLEMENT_KEYS:
            values = n - values
        if vendor and key in msql.OUTCOME_KEYS:
            values = np.where(returned, n if key == "on_time" else 0, values)
        weights = np.where(states[state], values, 0)
        result[key] = np.bincount(codes, weights=weights, minlength=size).astype(np.int64) if len(codes) else (
            np.zeros(size, dtype=np.int64))
    return pd.DataFrame(result)


def _max_label_per_code(codes: np.ndarray, labels: pd.Series, size: int) -> list:
    """The greatest non-null label of each code (None when all are null). A plain loop: a pandas groupby
    max over nullable strings takes its pure-Python path (0.09 s for a province's 12 months × units)."""
    best: list = [None] * size
    known = labels.notna().tolist()
    for code, label, present in zip(codes.tolist(), labels.astype(object).tolist(), known, strict=True):
        if present and (best[code] is None or label > best[code]):
            best[code] = label
    return best


def _counts_dict(row: Mapping) -> dict[str, int]:
    return {key: _to_int(row.get(key)) for key in COUNTS}


def kpi_counts(db, scope: Scope, period: Period, settings: Settings = Settings()) -> dict[str, int]:
    """Every COUNTS key for one scope and period."""
    frame = _grouped_counts(db, scope, period, settings, None)
    return _counts_dict(frame.iloc[0].to_dict())


def compute_kpis(db, scope: Scope, period: Period, settings: Settings = Settings()) -> dict:
    """All KPIs of one scope and period in the documented JSON shape (``motcua kpi --json``)."""
    frame = _grouped_counts(db, scope, period, settings, None)
    row = frame.iloc[0].to_dict()
    counts = _counts_dict(row)
    names = unit_names(db, scope.unit_codes) if scope.unit_codes else {}
    return {
        "units": [{"code": code, "name": names.get(code, code)} for code in scope.unit_codes],
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "caption": period.caption},
        "received": {"total": counts["received_total"], "carried_over": counts["carried_over"],
                     "new": counts["new"], "online": counts["online"], "direct": counts["direct"],
                     "postal": counts["postal"],
                     # None (JSON null) when no new dossier says where its applicant lives: unknown, not 0.
                     "non_territorial": counts["non_territorial"] if counts["non_territorial_known"] else None,
                     "non_territorial_known": counts["non_territorial_known"]},
        "resolved": {"total": counts["resolved_total"], "early": counts["early"], "on_time": counts["on_time"],
                     "late": counts["late"]},
        "pending": {"total": counts["pending_total"], "within_deadline": counts["within_deadline"],
                    "overdue": counts["overdue"], "waiting_supplement": counts["waiting_supplement"]},
        "returned_or_withdrawn": counts["returned_or_withdrawn"],
        "reappointed_more_than_once": counts["reappointed_more_than_once"],
        "rates": {key: rate(counts, key) for key in RATES},
        "coverage": {key: coverage(counts, key) for key in RATES},
        "levels": {level: _to_int(row.get(key)) for key, level in _LEVEL_COUNT_KEYS.items()},
        "settings": settings.as_dict(),
    }


def coverage(counts: Mapping, key: str) -> dict[str, int]:
    """{"numerator": dossiers with a known value, "denominator": dossiers the rate is about} of one rate."""
    metric = RATES[key]
    known, scope = metric.coverage or (metric.denominator, metric.denominator)
    return {"numerator": int(count_value(counts, known)), "denominator": int(count_value(counts, scope))}


EXCLUDED_WARNING = ("Lưu ý: cách tính 'excluded' loại hồ sơ trả lại/rút/dừng khỏi mọi cột của mọi kỳ, nên số liệu "
                    "các kỳ trước (kể cả kỳ đã báo cáo) cũng thay đổi.")


def settings_notes(block: Mapping) -> list[str]:
    """Vietnamese lines naming the rules in force (CLI text, report footnotes); a warning for 'excluded'."""
    labels = {"early_rule": EARLY_RULES, "returned_policy": RETURNED_POLICIES, "supplement_rule": SUPPLEMENT_RULES,
              "due_on_day_off": DUE_ON_DAY_OFF_RULES, "digitization_scope": DIGITIZATION_SCOPES}
    parts = [f"{name}={', '.join(value) if isinstance(value, list | tuple) else value}"
             for name, value in block.items()]
    lines = ["Cách tính: " + "; ".join(parts)]
    lines += [f"  {name}: {labels[name][block[name]]}" for name in labels if block.get(name) in labels[name]]
    if block.get("returned_policy") == "excluded":
        lines.append(EXCLUDED_WARNING)
    return lines


def settings_block(settings: Settings) -> dict:
    """Every rule in force (JSON ``settings`` block, report footnotes): reproducible figures."""
    return settings.as_dict()


def _count_array(frame, key: str) -> np.ndarray:
    if key in _COMPOSITE:
        return sum(_count_array(frame, part) for part in _COMPOSITE[key])
    return np.asarray(frame[key], dtype=np.float64)


def rate_column(frame, key: str) -> np.ndarray:
    """Vectorised ``rate`` over the rows of a counts frame or dict of arrays (NaN when den = 0)."""
    metric = RATES[key]
    numerator, denominator = _count_array(frame, metric.numerator), _count_array(frame, metric.denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _finish_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """key, label, COUNTS as int64, RATES recomputed from the counts (NaN when den = 0), level counts."""
    size = len(frame)
    data: dict = {"key": frame["key"].to_numpy(), "label": frame["label"].to_numpy()}
    for key in [*COUNTS, *_LEVEL_COUNT_KEYS]:
        data[key] = (frame[key].fillna(0).to_numpy(dtype=np.int64) if key in frame
                     else np.zeros(size, dtype=np.int64))
    rates = {key: rate_column(data, key) for key in RATES}
    ordered = {"key": data["key"], "label": data["label"], **{k: data[k] for k in COUNTS}, **rates,
               **{k: data[k] for k in _LEVEL_COUNT_KEYS}}
    return pd.DataFrame(ordered)


def _reindex(frame: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """One row per expected key, in that order (zero rows added), then any other keys found."""
    order = list(labels) + [key for key in frame["key"] if key not in labels]
    frame = frame.set_index("key").reindex(order)
    counts = [c for c in frame.columns if c != "label"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["label"] = [labels.get(key, label) for key, label in zip(order, frame["label"], strict=True)]
    return frame.rename_axis("key").reset_index()


def breakdown(db, scope: Scope, period: Period, by: str, settings: Settings = Settings()) -> pd.DataFrame:
    """One row per group: key, label, every COUNTS key (int) and every RATES key (float, NaN if den = 0)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"Không phân tổ được theo '{by}'; chỉ dùng: {', '.join(BREAKDOWNS)}.")
    if by == "month":
        return _monthly(db, scope, period, settings)
    if by == "unit":
        scope = scope.with_settings(settings)
        frame = _grouped_counts(db, scope, period, settings, f"d.{scope.unit_column}")
        # Under the current boundaries only current communes get a row (a province scope lists legacy ones
        # too; their dossiers are in their successors' rows).
        listed = current_unit_codes(db, scope.unit_codes) if scope.boundaries == "current" else scope.unit_codes
        codes = list(dict.fromkeys([*listed, *frame["key"].tolist()]))
        names = unit_names(db, codes)
        frame = _reindex(frame, {code: names.get(code, code) for code in codes})
        # Ties broken by unit code: commune names repeat across provinces (562 nationally), and engines
        # return groups in different orders.
        frame = frame.sort_values(["label", "key"], kind="stable")
    elif by == "field":
        frame = _grouped_counts(db, scope, period, settings, "coalesce(d.field_name, '')",
                                "coalesce(max(d.field_name), 'Chưa rõ lĩnh vực')")
        frame = frame.sort_values(["received_total", "label", "key"], ascending=[False, True, True],
                                  kind="stable")
    elif by in _TEXT_KEYS:
        column = _TEXT_KEYS[by]
        frame = _grouped_counts(db, scope, period, settings, f"coalesce(d.{column}, '{MISSING_TEXT_KEY}')",
                                f"coalesce(max(d.{column}), '{_MISSING_LABELS[by]}')")
        frame = frame.sort_values(["received_total", "label", "key"], ascending=[False, True, True],
                                  kind="stable")
    elif by == "procedure":
        frame = _grouped_counts(db, scope, period, settings, "coalesce(d.procedure_code, '')",
                                "coalesce(max(d.procedure_name), max(d.procedure_code), 'Chưa rõ thủ tục')")
        frame = frame.sort_values(["received_total", "label", "key"], ascending=[False, True, True],
                                  kind="stable")
    else:
        frame = _grouped_counts(db, scope, period, settings, f"d.{by}")
        frame = _reindex(frame, CHANNEL_LABELS if by == "channel" else LEVEL_LABELS)
    return _finish_frame(frame)


def _monthly(db, scope: Scope, period: Period, settings: Settings) -> pd.DataFrame:
    rows = []
    for month in period.months():
        # A custom period may cut the first/last month: count only the part inside the period.
        part = month if period.start <= month.start and month.end <= period.end else custom_period(
            max(month.start, period.start), min(month.end, period.end), period.calendar)
        row = _grouped_counts(db, scope, part, settings, None).iloc[0].to_dict()
        rows.append({**row, "key": month.code, "label": month.label})
    return _finish_frame(pd.DataFrame(rows))


def total_row(frame: pd.DataFrame) -> dict:
    """Counts summed over the rows, rates recomputed as sum(num) / sum(den)."""
    counts = {key: int(frame[key].sum()) if key in frame and len(frame) else 0 for key in COUNTS}
    return {"key": "total", "label": "Tổng cộng", **counts,
            **{key: (np.nan if (value := rate(counts, key)) is None else value) for key in RATES}}


def league_table(db, scope: Scope, period: Period, settings: Settings = Settings()) -> pd.DataFrame:
    """breakdown(by="unit") plus ``rank_<rate>`` columns (1 = best = highest rate, ties share the min rank)."""
    frame = breakdown(db, scope, period, "unit", settings)
    for key in RATES:
        frame[f"rank_{key}"] = frame[key].rank(method="min", ascending=False).astype("Int64")
    return frame


# --- dossier lists -----------------------------------------------------------------------------------
_LIST_COLUMNS = ["dossier_code", "receiving_unit", "resolving_unit", "procedure_code", "procedure_name",
                 "field_name", "channel", "dvc_level", "received_at", "due_at", "finished_at", "status_label",
                 "days_late", "handling_department", "handling_officer", "current_step", "reappointed",
                 "reappointment_count"]


def _list_select(extra_columns: str = "", settings: Settings = Settings()) -> str:
    """The list columns under the settings' clock (its due date and end of processing)."""
    suffix = msql.clock_suffix(settings.supplement_rule, settings.due_on_day_off)
    closed = msql.closed_column(settings.supplement_rule)
    closed_at = "d.closed_at_766" if settings.supplement_rule == "portal_766" else "d.closed_at"
    return f"""
SELECT d.dossier_code, coalesce(ur.name, d.receiving_unit_code) AS receiving_unit,
       coalesce(us.name, d.resolving_unit_code) AS resolving_unit, d.procedure_code, d.procedure_name,
       d.field_name, d.channel, d.dvc_level, d.received_at,
       {msql.due_at_sql(settings.supplement_rule, settings.due_on_day_off)} AS due_at, {closed_at} AS finished_at,
       d.status, d.due_day_{suffix} AS due_day, d.{closed} AS closed_day, d.wait_from, d.wait_until, d.handling_department,
       d.handling_officer, d.current_step, d.reappointed, d.reappointment_count{extra_columns}
FROM {msql.FACTS_TABLE} d
LEFT JOIN units ur ON ur.code = d.receiving_unit_code
LEFT JOIN units us ON us.code = d.resolving_unit_code
"""


def _workday_index(days: pd.Series) -> np.ndarray:
    from motcua.workdays import working_day_index

    return working_day_index(pd.to_datetime(days))


def _status_labels(status: pd.Series) -> list[str]:
    return [UNKNOWN_STATUS_LABEL if pd.isna(s) else STATUS_LABELS.get(int(s), str(s)) for s in status]


def _finish_list(frame: pd.DataFrame, late_mask: np.ndarray, reference_days: pd.Series) -> pd.DataFrame:
    """status label + working days late (>= 1 for every late/overdue dossier, 0 otherwise)."""
    frame = frame.copy()
    frame["status_label"] = _status_labels(frame["status"])
    if len(frame):
        late_days = _workday_index(reference_days) - _workday_index(frame["due_day"])
        late_days = np.where(np.isnan(late_days), 0, np.maximum(late_days, 1))
        frame["days_late"] = np.where(late_mask, late_days, 0).astype("int64")
    else:
        frame["days_late"] = pd.Series(dtype="int64")
    return frame


def dossier_list(db, scope: Scope, period: Period, bucket: str, settings: Settings = Settings(),
                 limit: int | None = 5000) -> pd.DataFrame:
    """The dossiers behind one count (any COUNTS key) or "at_risk" (as of the period end). No personal data."""
    if bucket == "at_risk":
        frame = at_risk(db, scope, period.end, settings)
        return frame.head(limit) if limit is not None else frame
    if bucket not in COUNTS:
        raise ValueError(f"Không có nhóm hồ sơ '{bucket}'; chỉ dùng: {', '.join([*COUNTS, 'at_risk'])}.")
    state, attributes = _specs(settings)[bucket]
    scope = scope.with_settings(settings)
    counted = msql.counted_sql(settings.returned_policy)
    rules = {**_clock(settings), "returned_policy": settings.returned_policy}
    condition = msql.condition_sql(state, attributes, counted, key=bucket, **rules)
    late_sql = msql.condition_sql("resolved", _specs(settings)["late"][1], counted, key="late", **rules)
    overdue_sql = msql.condition_sql("overdue", (), counted, **rules)
    where_sql, where_params = scope.where("d")
    # The late flag (days_late) needs the late and overdue tests, so they are selected alongside.
    select = _list_select(f", {late_sql} AS is_late, {overdue_sql} AS is_overdue", settings)
    active = msql.clock_states(**_clock(settings))["active"]
    template = (f"SELECT * FROM ({select} WHERE {active} AND ({where_sql}) AND ({condition})"
                f") ORDER BY received_at, dossier_code" + (" LIMIT :limit" if limit is not None else ""))
    sql, params = msql.bind(template, {**_period_params(period), "limit": limit}, where_params)
    frame = _query(db, sql, params)
    resolved = frame["closed_day"].notna() & (pd.to_datetime(frame["closed_day"]) <= pd.Timestamp(period.end))
    late = frame["is_late"].fillna(False).astype(bool) | frame["is_overdue"].fillna(False).astype(bool)
    reference = pd.Series(np.where(resolved, pd.to_datetime(frame["closed_day"]), pd.Timestamp(period.end)))
    frame = _finish_list(frame, late.to_numpy(dtype=bool), reference)
    return frame[_LIST_COLUMNS]


def at_risk(db, scope: Scope, as_of: date, settings: Settings = Settings()) -> pd.DataFrame:
    """Open dossiers at ``as_of`` that are overdue or due within ``settings.at_risk_days`` working days.

    ``risk`` is "overdue", "due_soon" or "waiting" (waiting for a supplement: the clock is stopped under the
    restart and portal_766 rules, so the dossier is shown as waiting, not as overdue).
    """
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    # Calendar-day horizon wide enough for any holiday block; the exact working-day cut is made below.
    horizon = as_of + timedelta(days=settings.at_risk_days * 2 + 16)
    waiting_sql = "coalesce(d.wait_from <= :asof AND (d.wait_until IS NULL OR d.wait_until > :asof), false)"
    closed = f"d.{msql.closed_column(settings.supplement_rule)}"
    due = f"d.due_day_{msql.clock_suffix(settings.supplement_rule, settings.due_on_day_off)}"
    template = (f"SELECT * FROM ({_list_select(f', {waiting_sql} AS is_waiting', settings)} "
                f"WHERE d.received_day <= :asof AND ({closed} IS NULL OR {closed} > :asof) "
                f"AND {due} <= :horizon AND ({where_sql})) ORDER BY due_at, dossier_code")
    sql, params = msql.bind(template, {"asof": as_of, "horizon": horizon}, where_params)
    frame = _query(db, sql, params)
    if len(frame):
        left = _workday_index(frame["due_day"]) - _workday_index(pd.Series([as_of] * len(frame)))
    else:
        left = np.array([], dtype=float)
    waiting = frame["is_waiting"].fillna(False).to_numpy(dtype=bool) & msql.stops_clock(settings.supplement_rule)
    overdue = (pd.to_datetime(frame["due_day"]) < pd.Timestamp(as_of)).to_numpy(dtype=bool) & ~waiting
    # Overdue by at least one working day even when the due day itself was a day off.
    left = np.where(overdue, np.minimum(left, -1), left)
    keep = overdue | waiting | (left <= settings.at_risk_days)
    frame, left, overdue, waiting = frame[keep].copy(), left[keep], overdue[keep], waiting[keep]
    frame = _finish_list(frame, overdue, pd.Series([as_of] * len(frame)))
    frame["risk"] = np.where(waiting, "waiting", np.where(overdue, "overdue", "due_soon"))
    frame["working_days_left"] = left.astype("int64")
    frame = frame.sort_values(["working_days_left", "dossier_code"], kind="stable")
    return frame[[*_LIST_COLUMNS, "risk", "working_days_left"]].reset_index(drop=True)


# --- catalogue, levels, processing time ----------------------------------------------------------------
def unused_procedures(db, scope: Scope, period: Period, settings: Settings = Settings()) -> pd.DataFrame:
    """Catalogue procedures (danh mục TTHC) with no dossier received in the period within the scope."""
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    catalogue = [("p.field_name", scope.field_names), ("p.procedure_code", scope.procedure_codes),
                 ("p.dvc_level", scope.dvc_levels)]
    restrict = "".join(f" AND {column} IN (SELECT unnest(:{column[2:]}))" for column, values in catalogue if values)
    template = (
        "SELECT p.procedure_code, p.procedure_name, p.field_name, p.dvc_level, p.legal_days "
        f"FROM procedures p WHERE p.from_catalogue{restrict} AND NOT EXISTS ("
        f"SELECT 1 FROM {msql.FACTS_TABLE} d WHERE d.procedure_code = p.procedure_code "
        f"AND d.received_day BETWEEN :s AND :e AND ({where_sql})) "
        "ORDER BY p.field_name NULLS LAST, p.procedure_name, p.procedure_code"
    )
    named = {"s": period.start, "e": period.end, "field_name": list(scope.field_names),
             "procedure_code": list(scope.procedure_codes), "dvc_level": list(scope.dvc_levels)}
    sql, params = msql.bind(template, named, where_params)
    frame = _query(db, sql, params)
    frame["dvc_level_label"] = [LEVEL_LABELS.get(v, LEVEL_LABELS["unknown"]) for v in frame["dvc_level"]]
    return frame


def level_breakdown(db, scope: Scope, period: Period, settings: Settings = Settings()) -> pd.DataFrame:
    """level, level_label, dossiers (new in the period), procedures (distinct procedures with new dossiers)."""
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    template = (f"SELECT d.dvc_level AS level, count(*) AS dossiers, count(DISTINCT d.procedure_code) AS procedures "
                f"FROM {msql.FACTS_TABLE} d WHERE d.received_day BETWEEN :s AND :e AND ({where_sql}) GROUP BY 1")
    sql, params = msql.bind(template, {"s": period.start, "e": period.end}, where_params)
    found = _query(db, sql, params).set_index("level")
    rows = [{"level": level, "level_label": label,
             "dossiers": _to_int(found["dossiers"].get(level)) if level in found.index else 0,
             "procedures": _to_int(found["procedures"].get(level)) if level in found.index else 0}
            for level, label in LEVEL_LABELS.items()]
    return pd.DataFrame(rows)


def procedures_by_level(db, scope: Scope, period: Period, by_unit: bool = False,
                        settings: Settings = Settings()) -> pd.DataFrame:
    """Procedures a unit offers at each DVC level and how many of them had dossiers received in the period.

    Offered = the procedure catalogue (danh mục TTHC, the same list for every commune) when one was
    imported, else the procedures seen in the unit's dossiers of any period (``source`` says which).
    Columns: [unit, unit_label,] level, level_label, offered, with_dossiers, source. A seed report states
    "164 TTHC: 53 toàn trình, 69 một phần, 42 cung cấp thông tin".
    """
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    unit_key = f"d.{scope.unit_column}" if by_unit else "NULL"
    catalogue = int(_query(db, "SELECT count(*) AS n FROM procedures WHERE from_catalogue", []).iloc[0]["n"])
    level = ("CASE WHEN {0} IN ('toan_trinh', 'mot_phan', 'thong_tin') THEN {0} ELSE 'unknown' END")
    if catalogue:
        offered = (f"SELECT u.unit, p.procedure_code, {level.format('p.dvc_level')} AS level "
                   f"FROM procedures p CROSS JOIN ({'SELECT DISTINCT unit FROM seen' if by_unit else 'SELECT NULL AS unit'}) u "
                   "WHERE p.from_catalogue")
    else:
        offered = "SELECT unit, procedure_code, max(level) AS level FROM seen GROUP BY 1, 2"
    template = f"""
WITH seen AS (
    SELECT {unit_key} AS unit, d.procedure_code, d.dvc_level AS level,
           bool_or(d.received_day BETWEEN :s AND :e) AS used
    FROM {msql.FACTS_TABLE} d WHERE d.procedure_code IS NOT NULL AND ({where_sql}) GROUP BY 1, 2, 3
), offered AS ({offered})
SELECT o.unit, o.level, count(*) AS offered,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM seen s WHERE s.unit IS NOT DISTINCT FROM o.unit
                                       AND s.procedure_code = o.procedure_code AND s.used)) AS with_dossiers
FROM offered o GROUP BY 1, 2"""
    sql, params = msql.bind(template, {"s": period.start, "e": period.end}, where_params)
    found = _query(db, sql, params)
    units = list(dict.fromkeys(found["unit"].tolist())) if by_unit else [None]
    names = unit_names(db, [u for u in units if u is not None]) if by_unit else {}
    indexed = {(row.unit if by_unit else None, row.level): row for row in found.itertuples()}
    rows = []
    for unit in units:
        for level, label in LEVEL_LABELS.items():
            row = indexed.get((unit, level))
            rows.append({**({"unit": unit, "unit_label": names.get(unit, unit)} if by_unit else {}),
                         "level": level, "level_label": label,
                         "offered": _to_int(row.offered) if row is not None else 0,
                         "with_dossiers": _to_int(row.with_dossiers) if row is not None else 0,
                         "source": "catalogue" if catalogue else "dossiers"})
    return pd.DataFrame(rows, columns=[*(["unit", "unit_label"] if by_unit else []), "level", "level_label",
                                       "offered", "with_dossiers", "source"])


def procedures_by_level_sentence(frame: pd.DataFrame) -> str:
    """'164 TTHC: 53 toàn trình, 69 một phần, 42 cung cấp thông tin; 120 TTHC có hồ sơ trong kỳ.'"""
    from motcua.fmt import fmt_int

    total, used = int(frame["offered"].sum()), int(frame["with_dossiers"].sum())
    parts = [f"{fmt_int(row.offered)} {row.level_label.lower()}" for row in frame.itertuples() if row.offered]
    what = "TTHC trong danh mục" if (frame["source"] == "catalogue").any() else "TTHC đã có hồ sơ"
    return f"{fmt_int(total)} {what}: {', '.join(parts)}; {fmt_int(used)} TTHC có hồ sơ tiếp nhận trong kỳ."


_PROCESSING_KEYS = {
    "procedure": ("coalesce(d.procedure_code, '')", "coalesce(max(d.procedure_name), max(d.procedure_code))"),
    "field": ("coalesce(d.field_name, '')", "max(d.field_name)"),
    "unit": (None, None),
    "channel": ("d.channel", "NULL"),
    "dvc_level": ("d.dvc_level", "NULL"),
}


def processing_time(db, scope: Scope, period: Period, by: str = "procedure",
                    settings: Settings = Settings()) -> pd.DataFrame:
    """Working days from receipt to end of processing of dossiers with a result in the period.

    Columns: key, label, finished, avg_working_days, median_working_days. The working days are counted
    from the receipt day to the end day (holidays excluded, QĐ 766 indicator 2.2); supplement waiting
    time is not deducted (exports rarely carry it reliably).
    """
    if by not in _PROCESSING_KEYS:
        raise ValueError(f"Không tính thời gian giải quyết theo '{by}'; chỉ dùng: {', '.join(_PROCESSING_KEYS)}.")
    key_sql, label_sql = _PROCESSING_KEYS[by]
    scope = scope.with_settings(settings)
    if by == "unit":
        key_sql, label_sql = f"d.{scope.unit_column}", "NULL"
    counted = "NOT d.is_returned AND " if settings.returned_policy == "excluded" else ""
    where_sql, where_params = scope.where("d")
    # Grouped by (key, receipt day, end day) first: far fewer rows than dossiers reach Python.
    template = (f"SELECT {key_sql} AS key, {label_sql} AS label, d.received_day, d.closed_day, count(*) AS n "
                f"FROM {msql.FACTS_TABLE} d WHERE {counted}d.has_result AND d.closed_day BETWEEN :s AND :e "
                f"AND ({where_sql}) GROUP BY 1, 3, 4")
    sql, params = msql.bind(template, {"s": period.start, "e": period.end}, where_params)
    frame = _query(db, sql, params)
    columns = ["key", "label", "finished", "avg_working_days", "median_working_days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["days"] = np.maximum(_workday_index(frame["closed_day"]) - _workday_index(frame["received_day"]), 0)
    rows = []
    for key, group in frame.groupby("key", sort=False):
        values = np.repeat(group["days"].to_numpy(), group["n"].to_numpy())
        rows.append({"key": key, "label": _processing_label(by, key, group["label"].dropna()),
                     "finished": int(group["n"].sum()), "avg_working_days": float(values.mean()),
                     "median_working_days": float(np.median(values))})
    result = pd.DataFrame(rows, columns=columns)
    if by == "unit":
        names = unit_names(db, result["key"].tolist())
        result["label"] = [names.get(code, code) for code in result["key"]]
    return result.sort_values(["finished", "label", "key"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)


def _processing_label(by: str, key: str, labels: pd.Series) -> str:
    if by == "channel":
        return CHANNEL_LABELS.get(key, key)
    if by == "dvc_level":
        return LEVEL_LABELS.get(key, key)
    return str(labels.iloc[0]) if len(labels) else (key or "Chưa rõ")


# --- data checks -------------------------------------------------------------------------------------
_EXAMPLES = 5
# YYMMDD inside a dossier code (month 01-12, day 01-31), compared as text with the receipt day: portable
# (regexp_extract and strftime translate to every engine), unlike try_strptime.
_CODE_DATE = "regexp_extract(d.dossier_code, '-([0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]))-[0-9]{3,6}$', 1)"
_QUALITY_CHECKS = (
    ("finished_before_received", "Ngày kết thúc/trả kết quả trước ngày tiếp nhận", "dossiers",
     "d.finished_at < d.received_at OR d.returned_at < d.received_at"),
    ("missing_due", "Thiếu ngày hẹn trả (không tính được từ thời hạn giải quyết; coi là đúng/trong hạn)",
     "facts", "d.due_at IS NULL"),
    ("due_from_legal_days", "Ngày hẹn trả được tính từ thời hạn giải quyết (tệp xuất không có)", "facts",
     "d.due_from_legal_days"),
    ("due_before_received", "Ngày hẹn trả trước ngày tiếp nhận", "dossiers",
     "coalesce(d.new_due_at, d.due_at) < d.received_at"),
    # "Now" is a parameter (not current_localtimestamp()): the same on every engine and in tests.
    ("received_in_future", "Ngày tiếp nhận ở tương lai", "dossiers", "d.received_at > :now"),
    ("code_date_mismatch", "Ngày trong mã hồ sơ (YYMMDD) khác ngày tiếp nhận", "dossiers",
     f"{_CODE_DATE} <> '' AND {_CODE_DATE} <> strftime(d.received_at, '%y%m%d')"),
    ("closed_without_end_date", "Trạng thái đã kết thúc (7–10) nhưng không có ngày kết thúc/trả kết quả",
     "dossiers", "d.status IN (7, 8, 9, 10) AND d.finished_at IS NULL AND d.returned_at IS NULL"),
    ("due_on_day_off", "Ngày hẹn trả rơi vào ngày nghỉ (thứ Bảy, Chủ nhật, lễ, Tết)", "facts", "d.due_on_day_off"),
    ("restart_due_unknown", "Đã nhận bổ sung nhưng không có ngày hẹn trả mới và thời hạn giải quyết (giữ ngày hẹn "
     "trả cũ khi tính lại thời hạn)", "facts", "d.restart_unknown"),
    ("supplement_last_round_only", "Bổ sung nhiều lần nhưng tệp chỉ có lần cuối (thời gian chờ tính gần đúng theo "
     "lần cuối)", "dossiers", "d.supplement_count > 1 AND d.supplement_waiting_days IS NULL"),
)


def data_quality(db, scope: Scope, settings: Settings = Settings(), now: datetime | None = None) -> pd.DataFrame:
    """check, label, count, examples (the first dossier codes) for every data check.

    ``now`` (local Vietnam time; default: the machine clock) is the reference of "in the future".
    """
    scope = scope.with_settings(settings)
    now = now or datetime.now()
    parts, params = [], []
    for check, _label, table, condition in _QUALITY_CHECKS:
        source = msql.FACTS_TABLE if table == "facts" else "dossiers"
        where_sql, where_params = scope.where("d", on_facts=table == "facts")
        # The first codes by row_number (portable), the total by a window count on the same rows.
        template = (f"SELECT ? AS check_key, d.dossier_code AS code, row_number() OVER (ORDER BY d.dossier_code) AS rn, "
                    f"count(*) OVER () AS n FROM {source} d WHERE ({condition}) AND ({where_sql})")
        sql, bound = msql.bind(template, {"now": now}, [check, *where_params])
        parts.append(sql)
        params += bound
    found = _query(db, f"SELECT check_key, code, rn, n FROM ({' UNION ALL '.join(parts)}) q WHERE rn <= {_EXAMPLES}",
                   params)
    found = found.sort_values(["check_key", "rn"], kind="stable")
    rows = []
    for check, label, _table, _condition in _QUALITY_CHECKS:
        mine = found[found["check_key"] == check]
        rows.append({"check": check, "label": label, "count": int(mine["n"].iloc[0]) if len(mine) else 0,
                     "examples": ", ".join(str(code) for code in mine["code"])})
    frame = pd.DataFrame(rows, columns=["check", "label", "count", "examples"])
    frame["count"] = frame["count"].astype("int64")
    return frame


def attribution_reconciliation(db, scope: Scope, period: Period, settings: Settings = Settings()) -> dict[str, int]:
    """New dossiers of the period seen from both attributions (issue 10, NĐ 118/2025: file anywhere):
    received and resolved in the scope, received here but resolved elsewhere, resolved here but received
    elsewhere. Unit sets follow the ``boundaries`` setting; with no unit restriction everything is "here"."""
    received = dataclasses.replace(scope, unit_role="receiving").with_settings(settings)
    resolved = dataclasses.replace(scope, unit_role="resolving").with_settings(settings)
    recv_sql, recv_params = received.where("d")
    resv_sql, resv_params = resolved.where("d")
    template = (f"SELECT count(*) FILTER (WHERE ({recv_sql}) AND ({resv_sql})) AS both_here, "
                f"count(*) FILTER (WHERE ({recv_sql}) AND NOT ({resv_sql})) AS resolved_elsewhere, "
                f"count(*) FILTER (WHERE ({resv_sql}) AND NOT ({recv_sql})) AS received_elsewhere "
                f"FROM {msql.FACTS_TABLE} d WHERE d.received_day BETWEEN :s AND :e")
    positional = [*recv_params, *resv_params, *recv_params, *resv_params, *resv_params, *recv_params]
    sql, params = msql.bind(template, _period_params(period), positional)
    row = _query(db, sql, params).iloc[0]
    return {key: _to_int(row[key]) for key in ("both_here", "resolved_elsewhere", "received_elsewhere")}


# Attributes a source may lack, with the SQL counting the dossiers whose value is known.
COVERAGE_ATTRIBUTES = {
    "digitized": ("Số hóa khi tiếp nhận", "count(d.digitized)"),
    "electronic_result": ("Kết quả điện tử", "count(d.electronic_result)"),
    "reused": ("Tái sử dụng dữ liệu", "count(d.reused)"),
    "paid_online": ("Thanh toán trực tuyến", "count(d.paid_online)"),
    "fee": ("Phí, lệ phí", "count(d.fee_bearing)"),
    "dvc_level": ("Mức độ DVC", "count(*) FILTER (WHERE d.dvc_level <> 'unknown')"),
}


def coverage_table(db, scope: Scope, by: str = "unit", settings: Settings = Settings()) -> pd.DataFrame:
    """Per unit or per imported file (the file that last wrote each dossier): key, label, dossiers and, for
    every attribute of ``COVERAGE_ATTRIBUTES``, the share of dossiers whose value is known (0..1)."""
    if by not in ("unit", "file"):
        raise ValueError(f"Không tính độ phủ theo '{by}'; chỉ dùng: unit, file.")
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    if by == "unit":
        key, label, join = f"d.{scope.unit_column}", "NULL", ""
    else:
        key, label, join = "d.import_id", "max(i.file_name)", " LEFT JOIN imports i ON i.import_id = d.import_id"
    known = "".join(f", {sql} AS {name}" for name, (_label, sql) in COVERAGE_ATTRIBUTES.items())
    sql = (f"SELECT {key} AS key, {label} AS label, count(*) AS dossiers{known} "
           f"FROM {msql.FACTS_TABLE} d{join} WHERE {where_sql} GROUP BY 1 ORDER BY 1")
    frame = _query(db, sql, where_params)
    if by == "unit":
        names = unit_names(db, frame["key"].tolist())
        frame["label"] = [names.get(code, code) for code in frame["key"]]
    for name in COVERAGE_ATTRIBUTES:
        frame[name] = frame[name].astype("float64") / frame["dossiers"].where(frame["dossiers"] > 0)
    return frame


def data_range(db, scope: Scope, settings: Settings = Settings()) -> tuple[date | None, date | None]:
    """First and last receipt day of the counted dossiers in the scope."""
    scope = scope.with_settings(settings)
    where_sql, where_params = scope.where("d")
    frame = _query(db, f"SELECT min(d.received_day) AS first, max(d.received_day) AS last "
                       f"FROM {msql.FACTS_TABLE} d WHERE {where_sql}", where_params)
    first, last = frame.iloc[0]["first"], frame.iloc[0]["last"]
    return (None if pd.isna(first) else pd.Timestamp(first).date(),
            None if pd.isna(last) else pd.Timestamp(last).date())


__all__ = [
    "BREAKDOWNS", "CHANNEL_LABELS", "attribution_reconciliation", "COUNTS", "DIGITIZATION_SCOPES", "EARLY_RULES", "LEVEL_LABELS", "METRIC_DOCS",
    "Metric", "RATES", "RETURNED_POLICIES", "STATUS_LABELS", "Settings", "at_risk", "breakdown", "compute_kpis",
    "data_quality", "data_range", "dossier_list", "kpi_counts", "league_table", "level_breakdown",
    "coverage_table", "procedures_by_level", "procedures_by_level_sentence", "processing_time", "rate", "total_row",
    "unused_procedures",
]

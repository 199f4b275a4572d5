"""E-mail digests: what each chair and officer receives (``motcua digest``), built without sending anything.

``build_digest(db, user, today)`` returns a ``Digest``: a Vietnamese subject, a plain-text and an HTML body and
an xlsx attachment. It reads only through the scope restriction (``motcua.auth.restrict_scope``) and the
metric library, and formats only through ``motcua.fmt``, so a digest shows the same numbers as the dashboard
and never another unit's data.

- **chair** (Chủ tịch UBND xã/phường): headline KPIs of the current month or quarter up to ``today``, the
  dossiers open and overdue at ``today``, and those due within ``settings.at_risk_days`` working days (the
  same named setting as the dashboard's early-warning list, ``--at-risk-days``).
- **officer** (cán bộ theo dõi): the league table of the units in their scope for the same period.
- **admin**: no digest (an admin's scope is everything; they use the dashboard).

Dossiers waiting for a supplement get their own count and list when the metric library defines the
``waiting_supplement`` count (``metrics.COUNTS``); the list is ``dossier_list(…, "waiting_supplement")``.

Every text that comes from data (unit, procedure, dossier code) is escaped in the HTML and neutralised
against formula injection in the workbook.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import pandas as pd

from motcua.auth import User, restrict_scope
from motcua.filters import Scope, unit_names
from motcua.fmt import (
    EXCEL_DATE_FORMAT,
    EXCEL_DATETIME_FORMAT,
    EXCEL_INT_FORMAT,
    EXCEL_PCT_FORMAT,
    NA,
    fmt_date,
    fmt_datetime,
    fmt_int,
    fmt_pct,
)
from motcua.metrics import (
    COUNTS,
    RATES,
    Settings,
    at_risk,
    compute_kpis,
    dossier_list,
    league_table,
    total_row,
)
from motcua.periods import Period, custom_period, period_containing
from motcua.safe_export import XLSXWRITER_OPTIONS, neutralize_value
from motcua.site import load_site
from motcua.text import slug

DIGEST_ROLES = ("chair", "officer")
WAITING = "waiting_supplement"  # a COUNTS key once the clock rules define it
PERIOD_KINDS = ("month", "quarter")
XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

# Headline rows of the chair digest: (label, kind, value key) read from ``compute_kpis``.
_HEADLINE_RATES = ("on_time_rate_766", "on_time_rate_resolved", "online_rate", "digitized_intake_rate")
_LEAGUE_RATES = ("on_time_rate_766", "on_time_rate_resolved", "online_rate")
_LIST_COLUMNS = (("dossier_code", "Mã hồ sơ", "text"), ("receiving_unit", "Đơn vị tiếp nhận", "text"),
                 ("procedure_name", "Thủ tục", "text"), ("received_at", "Ngày tiếp nhận", "datetime"),
                 ("due_at", "Hạn trả", "datetime"), ("status_label", "Trạng thái", "text"),
                 # Who holds the dossier (issue 17); officials' names only where the site stores them, and a
                 # digest only ever goes to users of the dossier's own unit.
                 ("handling_department", "Phòng ban xử lý", "text"), ("handling_officer", "Cán bộ xử lý", "text"))


@dataclass(frozen=True)
class DigestOptions:
    period: str = "quarter"  # headline period: the current month or quarter, up to today
    max_rows: int = 50  # dossiers listed in the body of the e-mail; the attachment has them all


@dataclass(frozen=True)
class Digest:
    username: str
    name: str
    email: str
    role: str
    subject: str
    text: str
    html: str
    attachment_name: str
    xlsx: bytes


@dataclass(frozen=True)
class _Table:
    """One titled table, rendered the same way in text, HTML and the workbook."""

    title: str
    columns: tuple[tuple[str, str], ...]  # (header, kind: text|int|pct|date|datetime)
    rows: list[tuple]
    note: str = ""
    capped: bool = False  # dossier lists: at most max_rows in the body (the workbook holds every row)

    def shown(self, max_rows: int) -> list[tuple]:
        return self.rows[:max_rows] if self.capped else self.rows


def recipients(users) -> tuple[list[User], list[User]]:
    """(users who get a digest, chairs/officers skipped for lack of an e-mail address)."""
    wanted = [u for u in sorted(users, key=lambda u: u.username) if u.role in DIGEST_ROLES]
    return [u for u in wanted if u.email], [u for u in wanted if not u.email]


def current_period(today: date, kind: str, calendar: str = "calendar") -> tuple[Period, Period]:
    """(the whole current month/quarter, the part of it up to ``today``) – figures are "to date"."""
    if kind not in PERIOD_KINDS:
        raise ValueError(f"Kỳ của thư tổng hợp chỉ là {', '.join(PERIOD_KINDS)}.")
    whole = period_containing(today, kind, calendar)
    return whole, custom_period(whole.start, min(today, whole.end), calendar)


# --- building -------------------------------------------------------------------------------------------
def build_digest(db, user: User, today: date, settings: Settings | None = None,
                 options: DigestOptions = DigestOptions()) -> Digest | None:
    """The digest for one user, or None for roles that get none. Scope = the user's units, never more."""
    if user.role not in DIGEST_ROLES:
        return None
    settings = settings or Settings()
    scope = restrict_scope(Scope(), user, db)  # non-admins: always an explicit list of their units
    whole, to_date = current_period(today, options.period, settings.calendar)
    names = unit_names(db, scope.unit_codes)
    scope_label = _scope_label(names)
    caption = f"{whole.label}, số liệu từ {fmt_date(to_date.start)} đến {fmt_date(to_date.end)}"
    if user.role == "chair":
        tables, summary = _chair_tables(db, scope, to_date, today, settings)
    else:
        tables, summary = _officer_tables(db, scope, to_date, settings)
    subject = f"[Một Cửa KPI] {scope_label} – {whole.label}: {summary}"
    greeting = f"Kính gửi {user.display_name or user.username},"
    intro = (f"Thư tổng hợp tự động ngày {fmt_date(today)} về {scope_label} ({caption}). "
             "Số liệu lấy từ cơ sở dữ liệu Một Cửa KPI, cùng cách tính với bảng điều khiển.")
    name_slug = slug(scope_label) or "tong-hop"
    return Digest(
        username=user.username, name=user.display_name or user.username, email=user.email, role=user.role, subject=subject,
        text=_render_text(greeting, intro, tables, options.max_rows),
        html=_render_html(subject, greeting, intro, tables, options.max_rows),
        attachment_name=f"tong-hop-{name_slug}-{today:%Y%m%d}.xlsx",
        xlsx=_render_xlsx(caption, scope_label, tables),
    )


def _scope_label(names: dict[str, str]) -> str:
    labels = sorted(names.values())
    if len(labels) <= 2:
        return ", ".join(labels)
    return f"{fmt_int(len(labels))} đơn vị ({labels[0]}, {labels[1]}, …)"


def _chair_tables(db, scope: Scope, period: Period, today: date,
                  settings: Settings) -> tuple[list[_Table], str]:
    kpis = compute_kpis(db, scope, period, settings)
    headline = [
        ("Tổng số hồ sơ nhận giải quyết", "int", kpis["received"]["total"]),
        ("Mới tiếp nhận trong kỳ", "int", kpis["received"]["new"]),
        ("Đã giải quyết", "int", kpis["resolved"]["total"]),
        ("Đang giải quyết", "int", kpis["pending"]["total"]),
        ("Đang giải quyết quá hạn", "int", kpis["pending"]["overdue"]),
        *[(RATES[key].label, "pct", kpis["rates"][key]) for key in _HEADLINE_RATES],
    ]
    waiting = None
    if WAITING in COUNTS:
        headline.insert(5, (COUNTS[WAITING], "int", kpis["pending"].get(WAITING)))
        waiting = dossier_list(db, scope, period, WAITING, settings, limit=None)
    risk = at_risk(db, scope, today, settings)
    overdue, due_soon = risk[risk["risk"] == "overdue"], risk[risk["risk"] == "due_soon"]
    tables = [
        _Table("Chỉ tiêu chính", (("Chỉ tiêu", "text"), ("Giá trị", "value")),
               [(label, (kind, value)) for label, kind, value in headline]),
        _list_table(f"Hồ sơ quá hạn tại ngày {fmt_date(today)}", overdue, "working_days_left", "Quá hạn (ngày làm việc)",
                    negate=True),
        _list_table(f"Hồ sơ sắp đến hạn trong {settings.at_risk_days} ngày làm việc tới", due_soon,
                    "working_days_left", "Còn (ngày làm việc)"),
    ]
    if waiting is not None:
        tables.append(_list_table(f"Hồ sơ đang chờ bổ sung tại ngày {fmt_date(today)}", waiting, None, ""))
    summary = f"{fmt_int(len(overdue))} hồ sơ quá hạn, {fmt_int(len(due_soon))} sắp đến hạn"
    return tables, summary


def _list_table(title: str, frame: pd.DataFrame, days_column: str | None, days_header: str,
                negate: bool = False) -> _Table:
    shown = [(key, header, kind) for key, header, kind in _LIST_COLUMNS
             if key != "handling_officer" or load_site().store_officer_names]
    columns = tuple((header, kind) for _, header, kind in shown)
    if days_column:
        columns += ((days_header, "int"),)
    rows = []
    for record in frame.to_dict("records"):
        row = tuple(record.get(key) for key, _, _ in shown)
        if days_column:
            row += (-record[days_column] if negate else record[days_column],)
        rows.append(row)
    return _Table(title, columns, rows, note="Không có hồ sơ nào." if not rows else "", capped=True)


def _officer_tables(db, scope: Scope, period: Period, settings: Settings) -> tuple[list[_Table], str]:
    frame = league_table(db, scope, period, settings).sort_values(
        ["on_time_rate_766", "label"], ascending=[False, True], na_position="last", kind="stable")
    columns = (("Hạng", "int"), ("Đơn vị", "text"), ("Tổng hồ sơ", "int"), ("Đã giải quyết", "int"),
               ("Đang giải quyết quá hạn", "int"), *[(RATES[key].label, "pct") for key in _LEAGUE_RATES])
    rows = [(row["rank_on_time_rate_766"], row["label"], row["received_total"], row["resolved_total"],
             row["overdue"], *[row[key] for key in _LEAGUE_RATES]) for row in frame.to_dict("records")]
    total = total_row(frame)
    rows.append((None, "Tổng cộng", total["received_total"], total["resolved_total"], total["overdue"],
                 *[total[key] for key in _LEAGUE_RATES]))
    table = _Table("Xếp hạng đơn vị theo tỷ lệ xử lý trước hạn, đúng hạn (QĐ 766)", columns, rows,
                   note="Tỷ lệ của dòng Tổng cộng = tổng tử số / tổng mẫu số.")
    summary = (f"{fmt_int(len(frame))} đơn vị, đúng hạn (QĐ 766) {fmt_pct(total['on_time_rate_766'])}, "
               f"{fmt_int(total['overdue'])} hồ sơ quá hạn")
    return [table], summary


# --- rendering -------------------------------------------------------------------------------------------
def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _cell_text(value, kind: str) -> str:
    if kind == "value":
        kind, value = value
    if _missing(value):
        return NA if kind in ("int", "pct") else ""
    return {"int": fmt_int, "pct": fmt_pct, "date": fmt_date, "datetime": fmt_datetime}.get(kind, str)(value)


def _render_text(greeting: str, intro: str, tables: list[_Table], max_rows: int) -> str:
    lines = [greeting, "", intro]
    for table in tables:
        lines += ["", table.title.upper()]
        if table.rows:
            lines.append(" | ".join(header for header, _ in table.columns))
        for row in table.shown(max_rows):
            lines.append(" | ".join(_cell_text(v, kind) for v, (_, kind) in zip(row, table.columns, strict=True)))
        lines += _more_lines(table, max_rows)
    lines += ["", "Danh sách đầy đủ ở tệp Excel đính kèm. Thư gửi tự động, xin không trả lời."]
    return "\n".join(lines) + "\n"


def _more_lines(table: _Table, max_rows: int) -> list[str]:
    lines = [table.note] if table.note else []
    if len(table.shown(max_rows)) < len(table.rows):
        lines.append(f"… và {fmt_int(len(table.rows) - max_rows)} dòng khác (xem tệp Excel đính kèm).")
    return lines


def _render_html(subject: str, greeting: str, intro: str, tables: list[_Table], max_rows: int) -> str:
    esc = html.escape
    cell = "border:1px solid #ccc;padding:4px 8px"
    parts = ['<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">', f"<title>{esc(subject)}</title>",
             '</head><body style="font-family:Arial,sans-serif;font-size:14px;color:#222">',
             f"<p>{esc(greeting)}</p>", f"<p>{esc(intro)}</p>"]
    for table in tables:
        parts.append(f'<h3 style="margin:18px 0 6px">{esc(table.title)}</h3>')
        if table.rows:
            parts.append('<table style="border-collapse:collapse">')
            parts.append("<tr>" + "".join(f'<th style="{cell};background:#f0f0f0">{esc(h)}</th>'
                                          for h, _ in table.columns) + "</tr>")
            for row in table.shown(max_rows):
                parts.append("<tr>" + "".join(
                    f'<td style="{cell};text-align:{_align(v, kind)}">{esc(_cell_text(v, kind))}</td>'
                    for v, (_, kind) in zip(row, table.columns, strict=True)) + "</tr>")
            parts.append("</table>")
        parts += [f'<p style="color:#555">{esc(line)}</p>' for line in _more_lines(table, max_rows)]
    parts.append('<p style="color:#555">Danh sách đầy đủ ở tệp Excel đính kèm. Thư gửi tự động, xin không trả lời.'
                 "</p></body></html>")
    return "\n".join(parts) + "\n"


def _align(value, kind: str) -> str:
    if kind == "value":
        kind = value[0]
    return "right" if kind in ("int", "pct") else "left"


def _render_xlsx(caption: str, scope_label: str, tables: list[_Table]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSXWRITER_OPTIONS})
    formats = {"int": workbook.add_format({"num_format": EXCEL_INT_FORMAT}),
               "pct": workbook.add_format({"num_format": EXCEL_PCT_FORMAT}),
               "date": workbook.add_format({"num_format": EXCEL_DATE_FORMAT}),
               "datetime": workbook.add_format({"num_format": EXCEL_DATETIME_FORMAT})}
    bold = workbook.add_format({"bold": True})
    used: set[str] = set()
    for table in tables:
        sheet = workbook.add_worksheet(_sheet_name(table.title, used))
        sheet.write_string(0, 0, neutralize_value(f"{scope_label} – {caption}"), bold)
        sheet.write_string(1, 0, neutralize_value(table.title), bold)
        for col, (header, _) in enumerate(table.columns):
            sheet.write_string(3, col, header, bold)
            sheet.set_column(col, col, 14 if col else 22)
        for row_index, row in enumerate(table.rows, start=4):
            for col, (value, (_, kind)) in enumerate(zip(row, table.columns, strict=True)):
                _write_cell(sheet, row_index, col, value, kind, formats)
        if table.note:
            sheet.write_string(len(table.rows) + 5, 0, table.note)
    workbook.close()
    return buffer.getvalue()


def _write_cell(sheet, row: int, col: int, value, kind: str, formats: dict) -> None:
    if kind == "value":
        kind, value = value
    if _missing(value):
        sheet.write_blank(row, col, None)
    elif kind in ("int", "pct"):
        sheet.write_number(row, col, float(value), formats[kind])
    elif kind in ("date", "datetime"):
        sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), formats[kind])
    else:
        sheet.write_string(row, col, neutralize_value(str(value)))


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28]
    name, counter = base, 2
    while name in used:
        name, counter = f"{base[:25]} {counter}", counter + 1
    used.add(name)
    return name


# --- message -------------------------------------------------------------------------------------------
def to_message(digest: Digest, sender: str, now: datetime | None = None) -> EmailMessage:
    """A multipart/alternative (text + HTML) message with the xlsx attached; stdlib only, no sending."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = formataddr((digest.name, digest.email))
    message["Date"] = (now or datetime.now().astimezone()).strftime("%a, %d %b %Y %H:%M:%S %z")
    message["Message-ID"] = make_msgid(domain="motcua-kpi")
    message.set_content(digest.text)
    message.add_alternative(digest.html, subtype="html")
    message.add_attachment(digest.xlsx, maintype=XLSX_MIME[0], subtype=XLSX_MIME[1],
                           filename=digest.attachment_name)
    return message

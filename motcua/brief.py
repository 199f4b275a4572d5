"""One-page A4 brief for a commune chair ("Bản tóm tắt một trang"), as HTML printed to PDF.

Everything comes from the library (``motcua.metrics``, ``motcua.index_estimate``, ``motcua.charts``):
headline rates against the targets of ``config/targets.toml``, the service-index estimate and rank, the
overdue and at-risk dossiers, and a 12-month trend. ``html_brief`` builds the page (every text from data
is escaped); ``pdf_bytes`` prints it with the system Chromium (Playwright, ``/usr/bin/chromium`` or
``BROWSER_PATH``), or with LibreOffice where there is no Chromium.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from motcua import charts, fmt, index_estimate, metrics, vntime
from motcua.filters import Scope, unit_names
from motcua.periods import Period, custom_period

TARGETS_PATH = Path(__file__).resolve().parent.parent / "config" / "targets.toml"
HEADLINE_RATES = ("on_time_rate_766", "online_rate", "digitized_intake_rate", "electronic_result_rate",
                  "online_payment_rate")
AT_RISK_ROWS = 10
TREND_MONTHS = 12
PDF_TIMEOUT_MS = 30_000
A4_CONTENT_PX = 1010  # (297 − 22) mm at 96 dpi, less a safety margin


class BriefError(RuntimeError):
    """The PDF could not be printed (Vietnamese message for the user/admin)."""


def load_targets(path: Path = TARGETS_PATH) -> dict[str, float]:
    """Rate key -> target fraction (``config/targets.toml``; none when the file is missing)."""
    if not path.exists():
        return {}
    with open(path, "rb") as handle:
        return {key: float(value) for key, value in tomllib.load(handle).get("targets", {}).items()}


@dataclass
class BriefData:
    unit_name: str
    period: Period
    compare: Period
    partial: bool
    data_until: date | None
    kpis: dict
    previous: dict
    estimate: dict
    at_risk: pd.DataFrame
    months: pd.DataFrame
    targets: dict
    generated_at: object


def collect(db, scope: Scope, period: Period, settings: metrics.Settings | None = None) -> BriefData:
    """Every number of the brief, from the library."""
    settings = settings or metrics.Settings()
    until = index_estimate.data_until(db, scope, settings)
    compare, partial = index_estimate.comparison_period(period, until)
    counts = metrics.kpi_counts(db, scope, period, settings)
    names = unit_names(db, scope.unit_codes)
    unit_name = ", ".join(names.get(code, code) for code in scope.unit_codes) or "Tất cả đơn vị"
    as_of = min(vntime.today(), period.end)
    trend_end = min(period.end, until) if until else period.end
    first_month = period.months()[-1]
    for _ in range(TREND_MONTHS - 1):
        first_month = first_month.previous()
    trend_period = custom_period(first_month.start, max(trend_end, first_month.start), period.calendar)
    return BriefData(
        unit_name=unit_name, period=period, compare=compare, partial=partial, data_until=until,
        kpis=metrics.compute_kpis(db, scope, period, settings),
        previous=metrics.compute_kpis(db, scope, compare, settings),
        estimate=index_estimate.estimate_block(db, scope, period, settings, counts=counts),
        at_risk=metrics.at_risk(db, scope, as_of, settings),
        months=metrics.breakdown(db, scope, trend_period, "month", settings),
        targets=load_targets(), generated_at=vntime.now(),
    )


# --- HTML -------------------------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 11mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 8.6pt; color: #1a1a1a; margin: 0; }
h1 { font-size: 14pt; margin: 0 0 1mm 0; }
h2 { font-size: 10.5pt; margin: 3mm 0 1.2mm 0; border-bottom: 1px solid #999; padding-bottom: 0.6mm; }
.sub { color: #444; font-size: 8.6pt; margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.7mm 1.4mm; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: bold; }
td.n { text-align: right; white-space: nowrap; }
.ok { color: #1a7f37; font-weight: bold; } .warn { color: #9a6700; font-weight: bold; }
.bad { color: #c62828; font-weight: bold; }
.row { display: flex; gap: 4mm; } .col { flex: 1; }
.big { font-size: 14pt; font-weight: bold; }
td.code { white-space: nowrap; font-size: 7.6pt; }
.note { color: #555; font-size: 7.8pt; }
ul { margin: 0.5mm 0 0 4mm; padding: 0; }
.partial { background: #fff4d6; border: 1px solid #e0b84c; padding: 1mm 2mm; margin-top: 1.5mm; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _status(value, target) -> tuple[str, str]:
    if value is None or target is None or pd.isna(value):
        return "", fmt.NA
    if value >= target - 1e-9:
        return "ok", "Đạt"
    if value >= target - 0.05:
        return "warn", "Gần đạt"
    return "bad", "Chưa đạt"


def _rates_table(data: BriefData) -> str:
    rows = []
    for key in HEADLINE_RATES:
        value, before = data.kpis["rates"].get(key), data.previous["rates"].get(key)
        target = data.targets.get(key)
        css, text = _status(value, target)
        change = fmt.fmt_delta_pct_points(value - before) if value is not None and before is not None else fmt.NA
        rows.append(f"<tr><td>{_e(metrics.RATES[key].label)}</td><td class='n'>{_e(fmt.fmt_pct(value))}</td>"
                    f"<td class='n'>{_e(fmt.fmt_pct(target, 0) if target is not None else fmt.NA)}</td>"
                    f"<td class='{css}'>{_e(text)}</td><td class='n'>{_e(change)}</td></tr>")
    compare = "cùng khoảng kỳ trước" if data.partial else "kỳ trước"
    return ("<table><tr><th>Chỉ tiêu</th><th>Kết quả</th><th>Mục tiêu</th><th>Đánh giá</th>"
            f"<th>So với {_e(compare)}</th></tr>{''.join(rows)}</table>")


def _counts(data: BriefData) -> str:
    k = data.kpis
    cells = [("Nhận giải quyết", k["received"]["total"]), ("Đã giải quyết", k["resolved"]["total"]),
             ("Đang giải quyết", k["pending"]["total"]), ("Đang quá hạn", k["pending"]["overdue"])]
    return "<table><tr>" + "".join(f"<th>{_e(label)}</th>" for label, _v in cells) + "</tr><tr>" + "".join(
        f"<td class='n big'>{_e(fmt.fmt_int(v))}</td>" for _label, v in cells) + "</tr></table>"


def _estimate(data: BriefData) -> str:
    block = data.estimate
    rank = block.get("rank")
    rank_text = (f"{rank['text']} trong tỉnh ({rank['peer_group'].lower()}: hạng {rank['peer_rank']}/"
                 f"{rank['peer_units']})" if rank else "chưa xếp hạng")
    groups = "".join(
        f"<tr><td>{_e(g['label'])}</td><td class='n'>{_e(fmt.fmt_num(g['points']) if g['points'] is not None else 'chưa có')}"
        f"</td><td class='n'>{_e(fmt.fmt_num(g['max'], 0))}</td></tr>" for g in block["groups"])
    actions = "".join(f"<li>{_e(a['text'])}</li>" for a in block["actions"][:5]) or "<li>Không có việc tính được.</li>"
    parts = block["parts"]
    return (f"<div class='row'><div class='col'><div class='big'>{_e(fmt.fmt_num(block['total']))} điểm "
            f"<span class='note'>({_e(block['label'])}, phần tính được / "
            f"{_e(fmt.fmt_num(block['total_max_known']))})</span></div>"
            f"<p class='sub'>{_e(rank_text)}</p>"
            f"<table><tr><th>Nhóm</th><th>Điểm</th><th>Tối đa</th></tr>{groups}</table></div>"
            f"<div class='col'><b>Việc còn làm được trong kỳ</b><ul>{actions}</ul>"
            f"<p class='note'>Ước tính từ hồ sơ: {len(parts['estimated'])} thành phần; nhập tay: "
            f"{len(parts['entered'])}; thiếu: {len(parts['missing'])}; chưa xác định: "
            f"{len(parts['undetermined'])}. {_e(block['note'])} {_e(block['version_label'])}.</p></div></div>")


def _at_risk(data: BriefData) -> str:
    frame = data.at_risk
    if frame.empty:
        return "<p>Không có hồ sơ quá hạn hoặc sắp đến hạn.</p>"
    overdue = int((frame["risk"] == "overdue").sum())
    rows = "".join(
        f"<tr><td class='{'bad' if r.risk == 'overdue' else 'warn'}'>"
        f"{'Quá hạn' if r.risk == 'overdue' else 'Sắp đến hạn'}</td><td class='n'>{_e(r.working_days_left)}</td>"
        f"<td class='n'>{_e(fmt.fmt_date(r.due_at))}</td><td>{_e(r.procedure_name or '')}</td>"
        f"<td class='code'>{_e(r.dossier_code)}</td></tr>" for r in frame.head(AT_RISK_ROWS).itertuples())
    more = (f"<p class='note'>… và {fmt.fmt_int(len(frame) - AT_RISK_ROWS)} hồ sơ khác (xem trang Tổng quan).</p>"
            if len(frame) > AT_RISK_ROWS else "")
    return (f"<p class='sub'>{fmt.fmt_int(overdue)} hồ sơ đã quá hạn, {fmt.fmt_int(len(frame) - overdue)} hồ sơ "
            f"sắp đến hạn.</p><table><tr><th>Cảnh báo</th><th>Còn (ngày LV)</th><th>Hạn trả</th><th>Thủ tục</th>"
            f"<th>Mã hồ sơ</th></tr>{rows}</table>{more}")


TREND_RATES = ("on_time_rate_766", "online_rate", "digitized_intake_rate")
_SVG_W, _SVG_H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 700, 165, 42, 150, 8, 30


def _trend_svg(data: BriefData) -> str:
    """12-month lines of the headline rates as inline SVG (no script: prints in a fraction of a second).

    Months without dossiers are gaps in the lines, never 0 %; dotted lines are the targets."""
    months = data.months
    if months.empty:
        return "<p>Chưa có số liệu theo tháng.</p>"
    width, height = _SVG_W - _PAD_L - _PAD_R, _SVG_H - _PAD_T - _PAD_B
    step = width / max(len(months) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return _PAD_L + index * step, _PAD_T + (1 - value) * height

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_SVG_W}' height='{_SVG_H}' "
             "font-family='DejaVu Sans, Arial' font-size='9'>"]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        _x, y = xy(0, tick)
        parts.append(f"<line x1='{_PAD_L}' x2='{_PAD_L + width}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e3e3e3'/>"
                     f"<text x='{_PAD_L - 4}' y='{y + 3:.1f}' text-anchor='end'>{_e(fmt.fmt_pct(tick, 0))}</text>")
    for index, label in enumerate(months["label"]):
        x, _y = xy(index, 0)
        short = str(label).replace("Tháng ", "T")
        parts.append(f"<text x='{x:.1f}' y='{_SVG_H - 18}' text-anchor='middle'>{_e(short)}</text>")
    legend_y = _PAD_T + 8
    for key in TREND_RATES:
        colour = charts.RATE_COLORS.get(key, "#333")
        values = months[key].tolist() if key in months else []
        segment: list[str] = []
        for index, value in enumerate([*values, None]):
            if value is None or pd.isna(value):
                if len(segment) > 1:
                    parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' "
                                 f"points='{' '.join(segment)}'/>")
                for point in segment:
                    cx, cy = point.split(",")
                    parts.append(f"<circle cx='{cx}' cy='{cy}' r='2.2' fill='{colour}'/>")
                segment = []
                continue
            x, y = xy(index, float(value))
            segment.append(f"{x:.1f},{y:.1f}")
        target = data.targets.get(key)
        if target is not None:
            _x, y = xy(0, target)
            parts.append(f"<line x1='{_PAD_L}' x2='{_PAD_L + width}' y1='{y:.1f}' y2='{y:.1f}' stroke='{colour}' "
                         "stroke-dasharray='3,3' stroke-width='1'/>")
        parts.append(f"<rect x='{_SVG_W - _PAD_R + 8}' y='{legend_y - 7}' width='10' height='3' fill='{colour}'/>"
                     f"<text x='{_SVG_W - _PAD_R + 22}' y='{legend_y - 3}'>{_e(_SHORT_NAMES[key])}</text>")
        legend_y += 16
    parts.append(f"<text x='{_SVG_W - _PAD_R + 8}' y='{legend_y}' fill='#555'>- - - mục tiêu</text></svg>")
    return "".join(parts)


_SHORT_NAMES = {"on_time_rate_766": "Đúng hạn (QĐ 766)", "online_rate": "Trực tuyến",
                "digitized_intake_rate": "Số hóa khi tiếp nhận"}


def html_brief(data: BriefData) -> str:
    partial = ""
    if data.partial:
        partial = (f"<div class='partial'>Kỳ chưa đủ số liệu (dữ liệu đến ngày {_e(fmt.fmt_date(data.data_until))}); "
                   f"so sánh với cùng khoảng của kỳ trước ({_e(data.compare.label)}).</div>")
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Bản tóm tắt</title>
<style>{_CSS}</style></head><body>
<h1>{_e(data.unit_name)} — bản tóm tắt một trang</h1>
<p class="sub">{_e(data.period.caption)} · Số liệu đến ngày {_e(fmt.fmt_date(data.data_until))} ·
Lập lúc {_e(fmt.fmt_datetime(data.generated_at))} (giờ Việt Nam)</p>{partial}
<h2>Số hồ sơ</h2>{_counts(data)}
<h2>Chỉ tiêu chính so với mục tiêu</h2>{_rates_table(data)}
<h2>Chỉ số phục vụ người dân, doanh nghiệp ({_e(data.estimate['label'])})</h2>{_estimate(data)}
<h2>Hồ sơ quá hạn và sắp đến hạn</h2>{_at_risk(data)}
<h2>Xu hướng</h2>{_trend_svg(data)}
</body></html>"""


# --- PDF --------------------------------------------------------------------------------------------
def _chromium() -> str | None:
    from motcua.report.images import find_chromium

    return find_chromium()


def pdf_bytes(page_html: str) -> bytes:
    """Print the brief to an A4 PDF: Chromium (Playwright) first, LibreOffice otherwise."""
    browser = _chromium()
    if browser:
        return _print_chromium(page_html, browser)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice:
        return _print_libreoffice(page_html, soffice)
    raise BriefError("Máy chủ chưa có Chromium hoặc LibreOffice để in bản tóm tắt PDF; quản trị viên hãy "
                     "chạy `make chromium`.")


def _print_chromium(page_html: str, browser: str) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        try:
            page = chromium.new_page()
            page.set_content(page_html, wait_until="load", timeout=PDF_TIMEOUT_MS)
            # One page whatever the data: a long procedure name or list shrinks the page instead of
            # spilling onto a second sheet (A4 minus the margins is about 1,035 CSS px high at 96 dpi).
            page.set_viewport_size({"width": 760, "height": 1000})
            page.evaluate(f"() => {{ const h = document.body.scrollHeight; "
                          f"if (h > {A4_CONTENT_PX}) document.body.style.zoom = {A4_CONTENT_PX} / h; }}")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            chromium.close()


def _print_libreoffice(page_html: str, soffice: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "tom-tat.html")
        Path(source).write_text(page_html, encoding="utf-8")
        subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", folder, source], check=True,
                       capture_output=True, timeout=120)
        return Path(folder, "tom-tat.pdf").read_bytes()


def brief_pdf(db, scope: Scope, period: Period, settings: metrics.Settings | None = None) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the brief of one scope and period."""
    from motcua.text import slug

    data = collect(db, scope, period, settings)
    name = f"tom-tat-mot-trang_{slug(data.unit_name)[:60].rstrip('-')}_{period.file_code}.pdf"
    return name, pdf_bytes(html_brief(data))


__all__ = ["BriefData", "BriefError", "brief_pdf", "collect", "html_brief", "load_targets", "pdf_bytes"]

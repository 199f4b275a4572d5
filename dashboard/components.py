"""Reusable dashboard pieces: typed tables with downloads, charts with captions, KPI cards, empty states."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import auth_ui, data, exports, pickers, state, url_sync
from dashboard.sections import lazy_expander as lazy_expander  # the pages' names for them (ui.*)
from dashboard.sections import safe_section as safe_section
from motcua import audit, fmt
from motcua import db as dbmod
from motcua.safe_export import neutralize_formulas

EMPTY_PERIOD = "Không có hồ sơ trong kỳ"
# A missing date (dossier not finished yet) shows as an empty cell, like missing text, not Streamlit's "None".
MISSING_CELL = ""
_PLOTLY_CONFIG = {
    "displaylogo": False,
    "locale": "vi",
    # Plotly ships only English; "locale" alone changes nothing until the dictionary is registered here.
    "locales": {"vi": {"dictionary": {
        "Download plot as a PNG": "Tải biểu đồ (PNG)", "Download plot": "Tải biểu đồ", "Zoom": "Phóng to vùng",
        "Pan": "Kéo", "Zoom in": "Phóng to", "Zoom out": "Thu nhỏ", "Reset axes": "Đặt lại trục",
        "Autoscale": "Tự co giãn", "Box Select": "Chọn vùng", "Lasso Select": "Chọn tự do",
        "Double-click to zoom back out": "Nhấp đúp để thu nhỏ lại",
    }}},
    # Keep the camera button (PNG) and drop the selection tools users never need here.
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


@dataclass(frozen=True)
class Col:
    """One shown column: source key in the numeric frame, Vietnamese header, kind (exports.KINDS)."""

    key: str
    header: str
    kind: str = "text"


def _format_value(value, kind: str) -> str:
    if kind == "int":
        return fmt.fmt_int(value)
    if kind == "pct":
        return fmt.fmt_pct(value)
    if kind == "num":
        return fmt.fmt_num(value)
    if kind == "date":
        return fmt.fmt_date(value)
    if kind == "datetime":
        return fmt.fmt_datetime(value)
    if isinstance(value, bool):
        return "Có" if value else "Không"
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def export_frame(frame: pd.DataFrame, cols: Sequence[Col]) -> pd.DataFrame:
    """Numeric frame with exactly the shown columns, renamed to the shown headers."""
    present = [c for c in cols if c.key in frame.columns]
    return frame[[c.key for c in present]].rename(columns={c.key: c.header for c in present})


def _text_column(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "Có", False: "Không"})
    return series.astype(object).where(series.notna(), "").astype(str)


def display_frame(frame: pd.DataFrame, cols: Sequence[Col]) -> pd.DataFrame:
    """Frame shown to users, renamed to the shown headers, with the data kept numeric.

    Numbers stay numbers so a click on a column header sorts numerically; ``styled`` gives them the
    Vietnamese display (1.277 / 88,25%) via motcua.fmt, and ``column_config`` shows dates dd/mm/yyyy.
    """
    present = [c for c in cols if c.key in frame.columns]
    shown = {}
    for col in present:
        series = frame[col.key]
        if col.kind in ("date", "datetime"):
            shown[col.header] = pd.to_datetime(series).to_numpy()
        elif col.kind == "text":
            shown[col.header] = _text_column(series).to_numpy()
        else:
            shown[col.header] = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    return pd.DataFrame(shown, index=range(len(frame)))


# A Styler costs ~50 µs per cell to marshal (pandas renders every cell); beyond this many cells (long
# dossier lists) the numbers get Streamlit number formats instead: their integers (days late/left) are
# below 1.000, where "%d" shows exactly what motcua.fmt would.
STYLED_MAX_CELLS = 8000
_PLAIN_FORMATS = {"int": "%d", "num": "%.2f", "pct": "percent"}


def plain_shows_the_same(shown: pd.DataFrame, cols: Sequence[Col]) -> bool:
    """Whether Streamlit's plain number formats show every numeric cell exactly as motcua.fmt would: only
    whole numbers between -999 and 999 (no thousands dot, no decimal comma) and none missing (the Styler
    shows "–", the grid a blank)."""
    for col in cols:
        if col.header not in shown.columns or col.kind not in _PLAIN_FORMATS:
            continue
        values = shown[col.header]
        if col.kind != "int" or values.isna().any() or not ((values.abs() < 1000) & (values == values.round())).all():
            return False
    return True


def styled(shown: pd.DataFrame, cols: Sequence[Col]):
    """A pandas Styler showing the numeric columns in Vietnamese formats; the data (and sorting) stays numeric.

    Long tables (more than ``STYLED_MAX_CELLS`` cells) and tables whose numbers a plain format shows the
    same (``plain_shows_the_same``: the chair's at-risk list, whose Styler cost a ranking click 0.08 s) are
    returned as they are (see ``column_config``)."""
    if shown.size > STYLED_MAX_CELLS or plain_shows_the_same(shown, cols):
        return shown
    formats = {c.header: (lambda v, kind=c.kind: _format_value(v, kind)) for c in cols
               if c.kind in ("int", "pct", "num") and c.header in shown.columns}
    return shown.style.format(formats, na_rep=fmt.NA) if formats else shown


def column_config(cols: Sequence[Col], plain_numbers: bool = False) -> dict:
    """dd/mm/yyyy display of the date columns kept as datetimes by ``display_frame``; with
    ``plain_numbers`` (a long table, not styled) number formats for the numeric columns."""
    config = {}
    for col in cols:
        if plain_numbers and col.kind in _PLAIN_FORMATS:
            config[col.header] = st.column_config.NumberColumn(col.header, format=_PLAIN_FORMATS[col.kind])
        elif col.kind == "date":
            config[col.header] = st.column_config.DateColumn(col.header, format="DD/MM/YYYY")
        elif col.kind == "datetime":
            config[col.header] = st.column_config.DatetimeColumn(col.header, format="DD/MM/YYYY HH:mm")
    return config


def kinds_of(cols: Sequence[Col]) -> dict[str, str]:
    return {c.header: c.kind for c in cols}


def ascii_id(text: str) -> str:
    """'Bản đồ nhiệt đơn vị × tháng' -> 'ban-do-nhiet-don-vi-thang' (URL values, file names)."""
    import re

    from motcua.text import slug

    return re.sub(r"[^a-z0-9]+", "-", slug(text).lower()).strip("-") or "x"


def download_name(file_stem: str) -> str:
    """'bang-xep-hang-don-vi_xa-tu-ky_2026Q3_ky-bao-cao': what, which units, period and calendar."""
    scope = state.current_scope()
    return f"{file_stem}_{ascii_id(state.scope_caption(scope))[:60].rstrip('-')}_{state.current_period().file_code}"


def audited(build: Callable[[], bytes], action: str, target: str, detail: str = "",
            units: Sequence[str] | None = None) -> Callable[[], bytes]:
    """``build`` (a deferred download), recording in the audit log who took ``target`` for which units
    once the bytes are built. Who, from where and the units are read now, on the script thread: the
    callable runs later without a session."""
    user = state.current_user()
    event = audit.Event(action, user.username, target,
                        list(state.current_scope().unit_codes if units is None else units), detail,
                        role=user.role, address=auth_ui.client_address())
    db_path = state.get_db().path

    def build_and_record() -> bytes:
        content = build()
        audit.record_quietly(event, db_path)
        return content

    return build_and_record


def download_buttons(frame: pd.DataFrame, kinds: dict[str, str], key: str, caption: str,
                     file_stem: str) -> None:
    """CSV (UTF-8-BOM) and XLSX of a numeric frame; bytes are built only when clicked (and logged)."""
    file_stem = download_name(file_stem)
    left, right = st.columns(2)
    detail = f"{caption} · {len(frame)} dòng"
    left.download_button(
        "Tải CSV", data=audited(lambda: exports.to_csv_bytes(frame), "export", f"{file_stem}.csv", detail),
        file_name=f"{file_stem}.csv",
        mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:",
    )
    right.download_button(
        "Tải Excel", data=audited(lambda: exports.to_xlsx_bytes(frame, kinds, title=caption), "export",
                                  f"{file_stem}.xlsx", detail),
        file_name=f"{file_stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx",
        on_click="ignore", icon=":material/table_view:",
    )


PDF_MIME = "application/pdf"


def brief_button(scope, period, settings, key: str) -> None:
    """Download of the one-page A4 brief (PDF printed by Chromium on the server when clicked)."""
    from motcua import brief

    def build() -> bytes:
        try:
            return brief.brief_pdf(state.get_db(), state.restrict(scope), period, settings)[1]
        except brief.BriefError as exc:  # shown as a text file rather than a broken PDF
            return str(exc).encode("utf-8")

    name = download_name("tom-tat-mot-trang")
    st.download_button("Tải bản tóm tắt một trang (PDF)", file_name=f"{name}.pdf",
                       data=audited(build, "report", f"{name}.pdf", state.view_caption(),
                                    state.restrict(scope).unit_codes),
                       mime=PDF_MIME, key=key, on_click="ignore", icon=":material/picture_as_pdf:",
                       help="Chỉ tiêu so với mục tiêu, chỉ số phục vụ (ước tính) và xếp hạng, hồ sơ quá hạn, "
                            "sắp đến hạn và xu hướng 12 tháng trên một trang A4 (lập trong vài giây).")


def grid_export_on() -> bool:
    """Whether Streamlit's own grid export ("Download as CSV", copy) is turned on for this server."""
    return not st.get_option("client.disableDataExport")


def grid(data, **kwargs):
    """Every ``st.dataframe`` of the dashboard goes through here.

    The grid toolbar's own "Download as CSV" (and clipboard copy) would write imported text such as
    ``=HYPERLINK(…)`` raw, for every role: ``client.disableDataExport = true`` in ``.streamlit/config.toml``
    turns it off and our neutralised CSV/XLSX buttons are the only way out. If a deployment turns the
    grid export back on, the displayed text is neutralised like those downloads (a Styler is
    neutralised by ``table`` before styling).
    """
    if grid_export_on() and isinstance(data, pd.DataFrame):
        data = neutralize_formulas(data)
    return st.dataframe(data, **kwargs)


# Below this width Streamlit stacks columns (a phone); a table with a phone view shows that view instead.
PHONE_MAX_PX = 640


def _phone_switch(key: str) -> None:
    """CSS: the ``{key}_phone`` container on a phone, the ``{key}_grid`` container elsewhere."""
    st.html(f"<style>@media (max-width: {PHONE_MAX_PX}px) {{ .st-key-{key}_grid {{ display: none !important; }} }}"
            f"@media (min-width: {PHONE_MAX_PX + 1}px) {{ .st-key-{key}_phone {{ display: none !important; }} }}"
            "</style>")


def table(frame: pd.DataFrame, cols: Sequence[Col], key: str, caption: str, *, file_stem: str | None = None,
          selectable: bool = False, height: int | str = "auto", empty_text: str = EMPTY_PERIOD,
          phone: Callable[[pd.DataFrame], None] | None = None) -> list[int]:
    """Formatted table + caption + downloads of the same rows/columns; returns selected row positions.

    ``phone(frame)`` draws the same rows for a phone, where a wide grid shows only its first columns: it
    replaces the grid below ``PHONE_MAX_PX`` (CSS); the caption and downloads stay for both."""
    if frame is None or frame.empty:
        empty_state(empty_text)
        return []
    st.caption(fmt.md(caption))
    if phone is not None:
        with st.container(key=f"{key}_phone"):
            _phone_switch(key)
            phone(frame)
    plain = display_frame(frame, cols)
    if grid_export_on():  # before styling: a Styler's values cannot be changed afterwards
        plain = neutralize_formulas(plain)
    shown = styled(plain, cols)
    with st.container(key=f"{key}_grid"):
        event = grid(
            shown, hide_index=True, width="stretch", height=height, key=key,
            column_config=column_config(cols, plain_numbers=shown is plain),
            placeholder=MISSING_CELL,
            on_select="rerun" if selectable else "ignore",
            selection_mode="single-row" if selectable else "multi-row",
        )
    download_buttons(export_frame(frame, cols), kinds_of(cols), key, caption, file_stem or key)
    if selectable and event is not None:
        return list(event.selection.rows)
    return []


def plotly_config(file_stem: str) -> dict:
    """Plotly options of every chart: Vietnamese tool tips, and the PNG named like the other downloads."""
    return {**_PLOTLY_CONFIG, "toImageButtonOptions": {**_PLOTLY_CONFIG["toImageButtonOptions"],
                                                       "filename": download_name(file_stem)}}


_BUNDLES_REQUESTED = "_bundles_requested"
# Nothing to draw but what loads the bundle: Plotly still lays out and draws a hidden chart, and an empty
# figure's axes and grid cost a cold So sánh link 0.17 s (3.15 s against 2.99 s, medians of 8).
WARMUP_LAYOUT = {"xaxis": {"visible": False}, "yaxis": {"visible": False}, "height": 20,
                 "margin": {"l": 0, "r": 0, "t": 0, "b": 0}}


def load_bundles_early(chart: bool = True) -> None:
    """On a session's first run: an empty, hidden Plotly chart and table as the first elements of the page, so
    the browser fetches and compiles Streamlit's Plotly bundle (4.7 MB) and its table (glide-data-grid, 0.5 MB
    and ~25 modules) while the script still computes, instead of after the page's first real chart or table
    arrives (each is loaded on the first element that needs it). Measured on a cold shared link of So sánh
    (1M dossiers, servers in turn): the Plotly bundle was requested ~0.45 s after the run started and the
    first chart showed ~1.5 s after it arrived; loading the table's bundle early too: 3.97 s against 4.28 s
    (medians of 6). ``dashboard/server.py`` now also preloads both bundles from the page's shell; this still
    pays, as it has the browser run their modules while the script computes (the link without it, preloads
    kept: 3.64 s against 3.39 s, medians of 8).

    ``chart=False`` for a page that opens without a chart (Tổng quan): running Plotly's module holds up
    every element of the page still loading its own code, the KPI cards and the pickers too, so such a
    page leaves it to the browser's idle time after the page is drawn (``dashboard/server.py``)."""
    if st.session_state.get(_BUNDLES_REQUESTED):
        return
    st.session_state[_BUNDLES_REQUESTED] = True
    with st.container(key=pickers.BUNDLES_WARMUP_KEY):  # display: none (pickers.page_style)
        if chart:
            st.plotly_chart(go.Figure(layout=WARMUP_LAYOUT), config={"staticPlot": True, "displayModeBar": False},
                            width="stretch")
        grid(pd.DataFrame({"": []}), hide_index=True)


def chart(fig: go.Figure, key: str, caption: str, *, data: pd.DataFrame | None = None,
          cols: Sequence[Col] | None = None, selectable: bool = False, file_stem: str | None = None) -> list[dict]:
    """Plotly chart (camera button kept) + its caption + downloads of the data it shows.

    Returns the selected points (``on_select="rerun"``) so a page can drill down.
    """
    event = st.plotly_chart(
        fig, key=key, config=plotly_config(file_stem or key), width="stretch", theme="streamlit",
        on_select="rerun" if selectable else "ignore", selection_mode="points",
    )
    st.caption(fmt.md(caption))
    if data is not None and cols is not None and not data.empty:
        download_buttons(export_frame(data, cols), kinds_of(cols), f"{key}_data", caption, file_stem or key)
    if selectable and event is not None:
        return list(event.selection.points)
    return []


def lazy_tabs(sections: Sequence[tuple[str, Callable[[], None]]], key: str, url_param: str | None = "tab") -> None:
    """Tabs whose hidden sections do not run, so only the open tab's chart is built, sent and drawn.

    Each Plotly chart costs the browser a noticeable share of a page switch on large databases; charts
    that are alternative views of the same data sit in tabs instead. A fragment reruns only the tabs
    (not the whole page) when the user switches tab.
    """
    st.fragment(_render_lazy_tabs)(tuple(sections), key, url_param)


def _render_lazy_tabs(sections: tuple[tuple[str, Callable[[], None]], ...], key: str, url_param: str | None) -> None:
    labels = [label for label, _render in sections]
    by_slug = {ascii_id(label): label for label in labels}
    # A shared link reopens its tab (?tab=ban-do-nhiet-don-vi-thang). The default is remembered for the
    # session: a different ``default`` on the next run would make a new widget and reset the open tab.
    default_key = f"_{key}_default"
    if url_param and default_key not in st.session_state:
        wanted = url_sync.url_value(url_param)
        st.session_state[default_key] = by_slug.get(wanted) if wanted else None
    tabs = st.tabs(labels, key=key, on_change="rerun", default=st.session_state.get(default_key))
    for tab, (label, render) in zip(tabs, sections, strict=True):
        if tab.open is False:  # None (state not tracked) would mean every tab has to run
            continue
        if url_param and tab.open:
            url_sync.share(url_param, ascii_id(label))
        with tab:
            # Here too, not only around the whole tab group: a tab switch reruns just this fragment.
            safe_section(render, label[:1].lower() + label[1:])


def empty_state(text: str = EMPTY_PERIOD) -> None:
    st.info(fmt.md(text), icon=":material/inbox:")


def target_status(value: float | None, target: float | None) -> tuple[str, str] | None:
    """(colour, text) red/amber/green of a rate against its target; None when either is missing."""
    if value is None or target is None or pd.isna(value):
        return None
    # Short texts: the badge must fit a quarter-width card; the card help names the target in full.
    goal = fmt.fmt_pct(target, 0)
    if value >= target - 1e-9:
        return "green", f"Đạt mục tiêu {goal}"
    if value >= target - state.amber_margin():
        return "orange", f"Gần đạt {goal}"
    return "red", f"Chưa đạt {goal}"


def rate_card(label: str, value: float | None, previous: float | None, target: float | None,
              help_text: str | None = None, coverage: dict | None = None) -> None:
    """KPI card of a rate: value, change in percentage points vs the previous period, target badge, and the
    coverage when only some dossiers carry the value ("không có dữ liệu" when none do, never 0%)."""
    delta = None
    if value is not None and previous is not None and not pd.isna(value) and not pd.isna(previous):
        delta = fmt.fmt_delta_pct_points(value - previous)
    missing = value is None or pd.isna(value)
    shown = fmt.NO_DATA if missing and coverage and coverage.get("denominator") else fmt.fmt_pct(value)
    with st.container(border=True):
        st.metric(label, shown, delta=delta, help=help_text)
        if fmt.fmt_coverage(coverage):
            st.caption(fmt.fmt_coverage(coverage).capitalize())
        status = target_status(value, target)
        if status:
            colour, text = status
            st.badge(text, color=colour, icon=":material/flag:")
        elif target is not None:
            st.caption(f"Mục tiêu {fmt.fmt_pct(target, 0)} – chưa có số liệu")


def rate_cards(keys: Sequence[str], kpis: dict, previous: dict, *, definitions_below: bool = False) -> None:
    """One row of rate cards vs the previous period and the targets; the definition as card help or below it."""
    from motcua import metrics

    goals = state.targets()
    for column, key in zip(st.columns(len(keys)), keys, strict=True):
        metric = metrics.RATES[key]
        with column:
            help_text = None if definitions_below else f"{metric.definition} Nguồn: {metric.source}."
            rate_card(metric.label, kpis["rates"][key], previous["rates"][key], goals.get(key), help_text=help_text,
                      coverage=kpis.get("coverage", {}).get(key))
            if definitions_below:
                metric_definition(metric)


def metric_definition(metric) -> None:
    """Definition, numerator, denominator and legal source of one rate (shown next to its card)."""
    from motcua import metrics

    lines = [f"**Cách tính:** {metric.definition}"]
    if metric.numerator in metrics.COUNTS:
        lines.append(f"**Tử số:** {metrics.COUNTS[metric.numerator]}")
    if metric.denominator in metrics.COUNTS:
        lines.append(f"**Mẫu số:** {metrics.COUNTS[metric.denominator]}")
    lines.append(f"**Nguồn:** {metric.source}")
    st.caption("  \n".join(lines))


def count_card(label: str, value, previous=None, help_text: str | None = None, *,
               lower_is_better: bool = False) -> None:
    delta = None
    if previous is not None and value is not None:
        change = int(value) - int(previous)
        delta = ("+" if change > 0 else "") + fmt.fmt_int(change) if change else "0"
    with st.container(border=True):
        st.metric(label, fmt.fmt_int(value), delta=delta, help=help_text,
                  delta_color="inverse" if lower_is_better else "normal")


@dataclass(frozen=True)
class KpiPage:
    """What every KPI page starts from: the (access-restricted) scope, period, settings and its KPIs.

    ``compare_period`` is the previous period, or for a period the data does not cover to its end (a
    partial period) the same span of the previous period, so a half-done quarter never looks like a collapse.
    """

    scope: object
    period: object
    settings: object
    kpis: dict
    compare_period: object = None
    partial: bool = False


DATA_UNTIL_PREFIX = "Số liệu đến ngày"


def freshness(scope, period) -> tuple[object, bool]:
    """Show "Số liệu đến ngày dd/mm/yyyy" (and flag a partial period); returns (compare period, partial)."""
    from motcua import index_estimate

    until = data.data_until(scope)
    if until is not None:
        st.caption(f"{DATA_UNTIL_PREFIX} {fmt.fmt_date(until)}")
    compare, partial = index_estimate.comparison_period(period, until)
    if not partial:
        return compare, False
    st.warning(f"Kỳ chưa đủ số liệu: dữ liệu mới đến ngày {fmt.fmt_date(until)}, trước ngày cuối kỳ "
               f"{fmt.fmt_date(period.end)}. Các thay đổi được so với cùng khoảng thời gian của kỳ trước "
               f"({compare.label}).", icon=":material/hourglass_top:")
    return compare, True


def _open(title: str, intro: str) -> tuple | None:
    pickers.render_sidebar()
    if not page_header(title, intro):
        return None
    scope, period, settings = state.current_scope(), state.current_period(), state.current_settings()
    st.markdown(f"**{fmt.md(state.view_caption())}**")
    if settings.returned_policy == "excluded":
        from motcua import metrics

        st.warning(metrics.EXCLUDED_WARNING, icon=":material/history:")
    return (scope, period, settings, *freshness(scope, period))


def open_page(title: str, intro: str) -> tuple | None:
    """Sidebar, header, the view caption and "Số liệu đến ngày"; (scope, period, settings) or None (reason
    shown) without a database. The scope is already restricted to the signed-in user's units (URL
    parameters included)."""
    opened = _open(title, intro)
    return None if opened is None else opened[:3]


def open_kpi_page(title: str, intro: str) -> KpiPage | None:
    """``open_page`` plus the period's KPIs; None (the reason shown) without a database or dossiers."""
    opened = _open(title, intro)
    if opened is None:
        return None
    scope, period, settings, compare, partial = opened
    kpis = data.kpis(scope, period, settings)
    if kpis["received"]["total"] == 0:
        empty_state()
        return None
    return KpiPage(scope, period, settings, kpis, compare, partial)


def page_header(title: str, intro: str | None = None) -> bool:
    """Title + intro; False (with the Vietnamese reason shown) when there is no usable database."""
    st.title(title)
    if intro:
        st.caption(intro)
    try:
        state.get_db().version()
        state.get_db().cursor().close()
    except dbmod.DatabaseUnavailable as exc:
        st.error(fmt.md(exc), icon=":material/database:")
        return False
    return True


# ---------------------------------------------------------------- dossier lists (drill-downs)

DOSSIER_COLS = (
    Col("dossier_code", "Mã hồ sơ"),
    Col("receiving_unit", "Đơn vị tiếp nhận"),
    Col("procedure_code", "Mã TTHC"),
    Col("procedure_name", "Thủ tục"),
    Col("field_name", "Lĩnh vực"),
    Col("channel", "Kênh nộp"),
    Col("dvc_level", "Mức độ DVC"),
    Col("received_at", "Ngày tiếp nhận", "date"),
    Col("due_at", "Hạn trả", "date"),
    Col("finished_at", "Ngày kết thúc", "date"),
    Col("status_label", "Trạng thái"),
    Col("days_late", "Số ngày trễ (ngày làm việc)", "int"),
    Col("handling_department", "Phòng ban xử lý"),
    Col("handling_officer", "Cán bộ xử lý"),
    Col("current_step", "Bước xử lý"),
    Col("reappointed_label", "Đã xin lỗi, hẹn lại"),
)


def _who_holds(frame: pd.DataFrame) -> pd.DataFrame:
    """Readable re-appointment column; officials' names removed unless this user may see them."""
    out = frame.copy()
    if "reappointed" in out.columns:
        counts = out["reappointment_count"] if "reappointment_count" in out.columns else [None] * len(out)
        out["reappointed_label"] = [fmt.fmt_reappointed(flag, n)
                                    for flag, n in zip(out["reappointed"], counts, strict=True)]
    if "handling_officer" in out.columns and not state.officer_names_visible():
        out = out.drop(columns="handling_officer")
    return out


def label_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace channel / level codes by their Vietnamese labels (for both display and download)."""
    from motcua import metrics

    if frame is None or frame.empty:
        return frame
    out = frame.copy()
    if "channel" in out.columns:
        out["channel"] = out["channel"].map(lambda v: metrics.CHANNEL_LABELS.get(v, v))
    if "dvc_level" in out.columns:
        out["dvc_level"] = out["dvc_level"].map(lambda v: metrics.LEVEL_LABELS.get(v, v))
    return out


MAX_LIST_ROWS = 5000


def dossier_table(frame: pd.DataFrame, key: str, caption: str, extra: Sequence[Col] = (),
                  empty_text: str = "Không có hồ sơ nào trong nhóm này.", *, file_stem: str | None = None,
                  cols: Sequence[Col] | None = None, phone: Callable[[pd.DataFrame], None] | None = None) -> None:
    """The dossiers behind a number: codes, procedure, dates, days late. Never personal data.

    Long lists are cut to the first MAX_LIST_ROWS rows (in the order metrics returns them); the table and
    its downloads hold the same rows and the caption says so.
    """
    if frame is not None and len(frame) > MAX_LIST_ROWS:
        caption += (f" · hiển thị {fmt.fmt_int(MAX_LIST_ROWS)}/{fmt.fmt_int(len(frame))} hồ sơ đầu tiên; "
                    "hãy thu hẹp bộ lọc để xem đủ")
        frame = frame.head(MAX_LIST_ROWS)
    elif frame is not None and len(frame) == MAX_LIST_ROWS:
        caption += f" · tối đa {fmt.fmt_int(MAX_LIST_ROWS)} hồ sơ; hãy thu hẹp bộ lọc để xem đủ"
    if frame is not None and not frame.empty:
        frame = _who_holds(frame)
    table(label_codes(frame), cols or [*DOSSIER_COLS, *extra], key, caption, file_stem=file_stem or key,
          empty_text=empty_text, phone=phone)


def non_territorial_caption(kpis: dict) -> str:
    """'Không phụ thuộc địa giới hành chính: 3 hồ sơ (2,50% của 120 hồ sơ có thông tin)' or 'chưa có dữ liệu'."""
    received = kpis["received"]
    count, known = received.get("non_territorial"), int(received.get("non_territorial_known") or 0)
    label = "Hồ sơ không phụ thuộc địa giới hành chính"
    if count is None:
        return f"{label}: không có dữ liệu (tệp xuất không có cột này hoặc địa chỉ người nộp)."
    share = fmt.fmt_pct(kpis["rates"].get("non_territorial_rate"))
    coverage = "" if known == int(received["new"]) else f" – có dữ liệu cho {fmt.fmt_int(known)}/" \
                                                        f"{fmt.fmt_int(received['new'])} hồ sơ mới"
    return f"{label}: {fmt.fmt_int(count)} hồ sơ, {share} hồ sơ mới{coverage}."

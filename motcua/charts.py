"""Plain Plotly figure builders shared by the dashboard and the Word report (no Streamlit here).

Every builder takes frames produced by ``motcua.metrics`` (numbers only, never recomputed here) and a
caption built from the filters; the caption becomes the figure subtitle so an exported PNG still says
which unit and period it shows. Vietnamese separators (``separators=",."``) everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from motcua.fmt import PLOTLY_SEPARATORS, plotly_text

# Semantic colours (colour-blind friendly, readable on light and dark backgrounds).
BUCKET_COLORS = {
    "early": "#1a9850",
    "on_time": "#66bd63",
    "late": "#d73027",
    "within_deadline": "#74add1",
    "overdue": "#f46d43",
    "online": "#4575b4",
    "direct": "#fdae61",
    "postal": "#abd9e9",
    "toan_trinh": "#4575b4",
    "mot_phan": "#74add1",
    "thong_tin": "#fdae61",
    "unknown": "#bababa",
}

# Fallback labels; the names defined in motcua.metrics win when present.
_FALLBACK_LABELS = {
    "early": "Giải quyết trước hạn",
    "on_time": "Giải quyết đúng hạn",
    "late": "Giải quyết quá hạn",
    "within_deadline": "Đang giải quyết trong hạn",
    "overdue": "Đang giải quyết quá hạn",
    "online": "Trực tuyến",
    "direct": "Trực tiếp",
    "postal": "Bưu chính",
    "online_rate": "Tỷ lệ hồ sơ trực tuyến",
    "online_rate_of_online_procedures": "Tỷ lệ trực tuyến (TTHC có DVC trực tuyến)",
    "on_time_rate_resolved": "Tỷ lệ đúng hạn (hồ sơ đã giải quyết)",
    "on_time_rate_766": "Tỷ lệ đúng hạn (QĐ 766)",
    "digitized_intake_rate": "Tỷ lệ số hóa hồ sơ",
    "electronic_result_rate": "Tỷ lệ cấp kết quả điện tử",
    "reuse_rate": "Tỷ lệ tái sử dụng dữ liệu số hóa",
    "online_payment_rate": "Tỷ lệ thanh toán trực tuyến",
    "received_total": "Tổng số hồ sơ tiếp nhận",
}

RATE_COLORS = {
    "online_rate": "#1f5fa8",
    "online_rate_of_online_procedures": "#8c6bb1",
    "on_time_rate_766": "#1a9850",
    "on_time_rate_resolved": "#b8860b",
    "digitized_intake_rate": "#d6604d",
    "electronic_result_rate": "#8c6bb1",
    "reuse_rate": "#35978f",
    "online_payment_rate": "#bf812d",
}

LONG_CATEGORY_LABEL = 14  # characters; "Tháng 12/2026" stays below, field and procedure names go above
RESOLUTION_BUCKETS = ("early", "on_time", "late", "within_deadline", "overdue")
CHANNELS = ("online", "direct", "postal")
DIGITIZATION_RATES = ("digitized_intake_rate", "electronic_result_rate", "reuse_rate", "online_payment_rate")


def label_of(key: str) -> str:
    """Vietnamese label of a count or rate key (metrics module first, fallback table second)."""
    try:
        from motcua import metrics
    except ImportError:  # the charts stay usable for the report pack even without the KPI module
        return _FALLBACK_LABELS.get(key, key)
    if key in getattr(metrics, "RATES", {}):
        return metrics.RATES[key].label
    if key in getattr(metrics, "COUNTS", {}):
        return metrics.COUNTS[key]
    return _FALLBACK_LABELS.get(key, key)


def _layout(fig: go.Figure, title: str, caption: str, *, percent_axis: str | None = None,
            height: int = 420, legend_top: bool = False) -> go.Figure:
    fig.update_layout(
        # Titles and captions quote unit/procedure names: Plotly would render their <a>/<b> tags.
        title={"text": plotly_text(title), "subtitle": {"text": plotly_text(caption)}, "x": 0, "xanchor": "left"},
        separators=PLOTLY_SEPARATORS,
        height=height,
        margin={"l": 10, "r": 10, "t": 150 if legend_top else 80, "b": 10},
        # Below the plot by default; above it (under the title) when the x axis carries long category
        # labels (fields, procedures), which would otherwise run under the legend.
        legend={"orientation": "h", "x": 0, "title": {"text": ""}, "traceorder": "normal",
                **({"yanchor": "bottom", "y": 1.02} if legend_top else {"yanchor": "top", "y": -0.12})},
        hoverlabel={"namelength": -1},
    )
    if percent_axis == "y":
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    elif percent_axis == "x":
        fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _empty(title: str, caption: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text="Không có hồ sơ trong kỳ", showarrow=False, font={"size": 16},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, caption, height=260)


def _x_labels(frame: pd.DataFrame) -> list[str]:
    column = "label" if "label" in frame.columns else "key"
    return [plotly_text(v) for v in frame[column]]


def _stacked_counts(frame: pd.DataFrame, keys: Sequence[str], title: str, caption: str,
                    *, barnorm: str | None = None) -> go.Figure:
    present = [k for k in keys if k in frame.columns]
    if frame.empty or not present or float(frame[present].to_numpy().sum()) == 0:
        return _empty(title, caption)
    x = _x_labels(frame)
    fig = go.Figure()
    for key in present:
        fig.add_bar(
            x=x, y=frame[key].astype("float64"), name=label_of(key), marker_color=BUCKET_COLORS.get(key),
            customdata=[[key, k] for k in frame["key"]] if "key" in frame.columns else None,
            hovertemplate="%{x}<br>" + label_of(key) + ": %{y:,.0f}<extra></extra>" if not barnorm
            else "%{x}<br>" + label_of(key) + ": %{y:.2f}%<extra></extra>",
        )
    fig.update_layout(barmode="stack", barnorm=barnorm or "")
    fig.update_xaxes(type="category")
    if barnorm:
        fig.update_yaxes(title={"text": "Tỷ trọng"}, ticksuffix="%", range=[0, 100])
    else:
        fig.update_yaxes(title={"text": "Số hồ sơ"}, tickformat=",d")
    long_labels = max((len(label) for label in x), default=0) > LONG_CATEGORY_LABEL
    return _layout(fig, title, caption, legend_top=long_labels)


def resolution_by_month(frame: pd.DataFrame, caption: str, title: str = "Tiến độ giải quyết theo tháng") -> go.Figure:
    """Stacked bars: early / on-time / late / pending-within / pending-overdue per group.

    ``frame`` is ``metrics.breakdown(..., by="month")`` (or by field/procedure: the x axis is ``label``).
    Each bar carries ``customdata = [bucket, group key]`` so a click can open the dossier list behind it.
    """
    return _stacked_counts(frame, RESOLUTION_BUCKETS, title, caption)


def channel_mix_by_month(frame: pd.DataFrame, caption: str,
                         title: str = "Cơ cấu kênh tiếp nhận theo tháng") -> go.Figure:
    """100% stacked bars of online / direct / postal dossiers per month (``breakdown(by="month")``)."""
    return _stacked_counts(frame, CHANNELS, title, caption, barnorm="percent")


def rates_by_month(frame: pd.DataFrame, rate_keys: Sequence[str], caption: str,
                   title: str = "Diễn biến tỷ lệ theo tháng", targets: Mapping[str, float] | None = None) -> go.Figure:
    """Lines of the given rates (fractions) per month; optional dotted target lines."""
    present = [k for k in rate_keys if k in frame.columns]
    if frame.empty or not present or frame[present].notna().sum().sum() == 0:
        return _empty(title, caption)
    x = _x_labels(frame)
    fig = go.Figure()
    for key in present:
        fig.add_scatter(x=x, y=frame[key].astype("float64"), name=label_of(key), mode="lines+markers",
                        connectgaps=False, line={"color": RATE_COLORS.get(key)}, hovertemplate="%{x}<br>" + label_of(key) + ": %{y:.2%}<extra></extra>")
    # One dotted line per distinct target value (several rates often share 100%).
    for value in sorted({float(targets[k]) for k in present if targets and k in targets}):
        fig.add_hline(y=value, line_dash="dot", line_width=1, line_color="#8c8c8c", annotation_position="top left",
                      annotation_text=f"Mục tiêu {value * 100:.0f}%")
    fig.update_xaxes(type="category")
    return _layout(fig, title, caption, percent_axis="y")


def rates_by_unit(frame: pd.DataFrame, rate_key: str, caption: str, title: str | None = None,
                  total: float | None = None, target: float | None = None) -> go.Figure:
    """Horizontal bars of one rate per unit (``league_table`` / ``breakdown(by="unit")``), best on top.

    ``total`` (the scope total computed by ``metrics.total_row``) is drawn as a dashed reference line,
    ``target`` (config/targets.toml) as a dotted one.
    """
    title = title or f"{label_of(rate_key)} theo đơn vị"
    if frame.empty or rate_key not in frame.columns or frame[rate_key].notna().sum() == 0:
        return _empty(title, caption)
    data = frame[["key", "label", rate_key]].dropna(subset=[rate_key]).sort_values(rate_key, ascending=True)
    fig = go.Figure(go.Bar(
        x=data[rate_key].astype("float64"), y=[plotly_text(v) for v in data["label"]], orientation="h",
        marker_color=BUCKET_COLORS["online"], customdata=data[["key"]].to_numpy(),
        text=[f"{v * 100:.2f}%".replace(".", ",") for v in data[rate_key]], textposition="auto",
        hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    ))
    if total is not None and not pd.isna(total):
        fig.add_vline(x=total, line_dash="dash", line_width=1, line_color="#8c8c8c",
                      annotation_text=f"Chung: {total * 100:.2f}%".replace(".", ","))
    if target is not None and not pd.isna(target):
        fig.add_vline(x=float(target), line_dash="dot", line_width=2, line_color="#d73027",
                      annotation_text=f"Mục tiêu {target * 100:.0f}%", annotation_position="bottom right")
    fig.update_xaxes(range=[0, 1.05])
    return _layout(fig, title, caption, percent_axis="x", height=max(300, 90 + 28 * len(data)))


def level_mix(frame: pd.DataFrame, caption: str, title: str = "Cơ cấu mức độ dịch vụ công") -> go.Figure:
    """Two 100% bars: DVC level mix of procedures and of dossiers (``metrics.level_breakdown``)."""
    if frame.empty or int(frame[["dossiers", "procedures"]].to_numpy().sum()) == 0:
        return _empty(title, caption)
    fig = go.Figure()
    rows = ["Thủ tục hành chính", "Hồ sơ"]
    for row in frame.itertuples():
        fig.add_bar(
            y=rows, x=[float(row.procedures), float(row.dossiers)], name=str(row.level_label), orientation="h",
            marker_color=BUCKET_COLORS.get(row.level), hovertemplate="%{y} – " + str(row.level_label)
            + ": %{x:.2f}%<extra></extra>",
        )
    fig.update_layout(barmode="stack", barnorm="percent")
    fig.update_xaxes(ticksuffix="%", range=[0, 101])
    _layout(fig, title, caption, height=320)
    fig.update_layout(legend={"y": -0.18})  # below the percent ticks of this short chart
    return fig


def digitization_rates(kpis: Mapping, caption: str, title: str = "Số hóa và thanh toán trực tuyến",
                       targets: Mapping[str, float] | None = None) -> go.Figure:
    """Bars of the four digital-transformation rates from ``compute_kpis(...)["rates"]``."""
    rates = kpis.get("rates", {})
    keys = [k for k in DIGITIZATION_RATES if rates.get(k) is not None]
    if not keys:
        return _empty(title, caption)
    values = [float(rates[k]) for k in keys]
    fig = go.Figure(go.Bar(
        x=[label_of(k) for k in keys], y=values, marker_color=BUCKET_COLORS["online"], name="Tỷ lệ đạt được",
        text=[f"{v * 100:.2f}%".replace(".", ",") for v in values], textposition="auto",
        hovertemplate="%{x}: %{y:.2%}<extra></extra>",
    ))
    goals = [key for key in keys if targets and key in targets]
    if goals:  # one named legend entry for all target marks (an unnamed trace shows as "trace 0")
        fig.add_scatter(x=[label_of(k) for k in goals], y=[float(targets[k]) for k in goals], mode="markers",
                        name="Mục tiêu", marker={"symbol": "line-ew-open", "size": 40, "color": "#d73027"},
                        hovertemplate="Mục tiêu: %{y:.0%}<extra></extra>")
    fig.update_yaxes(range=[0, 1.05])
    # Four long rate names: on a phone they tilted under the legend. Wrapped ticks stay level at any width.
    names = [label_of(k) for k in keys]
    fig.update_xaxes(tickvals=names, ticktext=[_wrapped_tick(name) for name in names])
    return _layout(fig, title, caption, percent_axis="y", legend_top=True)


def _wrapped_tick(text: str, width: int = 12) -> str:
    """An axis category on lines of about ``width`` characters (Plotly breaks lines only at ``<br>``)."""
    import textwrap

    return "<br>".join(plotly_text(line) for line in textwrap.wrap(str(text), width) or [""])


def heatmap_unit_month(frame: pd.DataFrame, value_key: str, caption: str, title: str | None = None) -> go.Figure:
    """Unit × month heatmap of one rate (fraction) or count.

    ``frame`` is long: one row per (unit, month) with columns ``unit`` (label), ``month`` (label, in
    chronological order of appearance) and ``value_key``.
    """
    title = title or f"{label_of(value_key)} theo đơn vị và tháng"
    if frame.empty or value_key not in frame.columns or frame[value_key].notna().sum() == 0:
        return _empty(title, caption)
    months = list(dict.fromkeys(frame["month"].astype(str)))
    grid = frame.pivot_table(index="unit", columns="month", values=value_key, aggfunc="first", sort=False)
    grid = grid.reindex(columns=months)
    is_rate = value_key.endswith("_rate") or value_key.startswith("on_time_rate")
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(dtype="float64"), x=months, y=[plotly_text(u) for u in grid.index],
        colorscale="RdYlGn" if is_rate else "Blues", zmin=0 if is_rate else None, zmax=1 if is_rate else None,
        hovertemplate="%{y} – %{x}: " + ("%{z:.2%}" if is_rate else "%{z:,.0f}") + "<extra></extra>",
        colorbar={"tickformat": ".0%" if is_rate else ",d"}, xgap=1, ygap=1,
    ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, title, caption, height=max(300, 120 + 26 * len(grid.index)))
    fig.update_layout(margin=_heatmap_margin(grid.index))
    return fig


# Margins wide enough for the heatmap's unit names, month labels and colour bar, set up front: Plotly's
# automargin (left on, for a name longer than estimated or month labels turned on a phone) otherwise draws
# the chart, measures the labels and draws it again, ~0.1-0.2 s of a busy browser on a cold So sánh link.
HEATMAP_LABEL_PX_PER_CHAR = 7.0  # 12 px Source Sans: 16 characters measured 96 px wide; a margin for capitals
HEATMAP_LABEL_PAD_PX = 12  # tick length and stand-off
HEATMAP_MAX_LEFT_PX = 300
HEATMAP_COLORBAR_PX = 105  # measured 99-101 px: the bar and its "100%" ticks
HEATMAP_MONTHS_PX = 45  # one line of month labels (measured 42 px)


def _heatmap_margin(unit_labels) -> dict:
    longest = max((len(str(label)) for label in unit_labels), default=0)
    left = min(HEATMAP_MAX_LEFT_PX, round(HEATMAP_LABEL_PAD_PX + HEATMAP_LABEL_PX_PER_CHAR * longest))
    return {"l": left, "r": HEATMAP_COLORBAR_PX, "b": HEATMAP_MONTHS_PX}


def small_multiples(frame: pd.DataFrame, value_key: str, caption: str, title: str | None = None,
                    columns: int = 2) -> go.Figure:
    """One small line chart per unit (same long frame as ``heatmap_unit_month``), shared y axis."""
    from plotly.subplots import make_subplots

    title = title or f"{label_of(value_key)}: so sánh theo tháng"
    if frame.empty or value_key not in frame.columns or frame[value_key].notna().sum() == 0:
        return _empty(title, caption)
    unit_labels = list(dict.fromkeys(frame["unit"].astype(str)))
    rows = -(-len(unit_labels) // columns)
    # Fixed pixel gaps: the month labels of one row need ~70 px above the next row's subplot titles.
    plot_height = SMALL_MULTIPLE_ROW_PX * rows + SMALL_MULTIPLE_GAP_PX * (rows - 1)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[plotly_text(u) for u in unit_labels],
                        shared_yaxes=True,
                        vertical_spacing=SMALL_MULTIPLE_GAP_PX / plot_height if rows > 1 else 0.0,
                        horizontal_spacing=0.06)
    months = list(dict.fromkeys(frame["month"].astype(str)))
    is_rate = value_key.endswith("_rate") or value_key.startswith("on_time_rate")
    for index, unit in enumerate(unit_labels):
        part = frame[frame["unit"].astype(str) == unit].set_index("month")[value_key].reindex(months)
        fig.add_scatter(x=months, y=part.astype("float64"), mode="lines+markers", showlegend=False,
                        row=index // columns + 1, col=index % columns + 1, marker_color=BUCKET_COLORS["online"],
                        hovertemplate=plotly_text(unit) + " – %{x}: " + ("%{y:.2%}" if is_rate else "%{y:,.0f}") + "<extra></extra>")
    fig.update_xaxes(type="category")
    if is_rate:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_annotations(font={"size": 12}, yshift=4)  # subplot titles
    fig.update_xaxes(tickangle=-45, tickfont={"size": 10})
    _layout(fig, title, caption, height=max(300, plot_height + 140))
    fig.update_layout(margin={"t": 110, "b": 30})  # room for the subtitle above the first row of subplot titles
    return fig


SMALL_MULTIPLE_ROW_PX = 170
SMALL_MULTIPLE_GAP_PX = 90


def scores_by_unit(frame: pd.DataFrame, value_key: str, caption: str, title: str) -> go.Figure:
    """Horizontal bars of a score in points per unit (service-index estimate), best on top."""
    if frame.empty or value_key not in frame.columns or frame[value_key].notna().sum() == 0:
        return _empty(title, caption)
    data = frame[["key", "label", value_key]].dropna(subset=[value_key]).sort_values(value_key, ascending=True)
    fig = go.Figure(go.Bar(
        x=data[value_key].astype("float64"), y=data["label"].astype(str), orientation="h",
        marker_color=BUCKET_COLORS["online"], customdata=data[["key"]].to_numpy(),
        text=[f"{v:.2f}".replace(".", ",") for v in data[value_key]], textposition="auto",
        hovertemplate="%{y}: %{x:.2f} điểm<extra></extra>",
    ))
    fig.update_xaxes(title={"text": "Điểm (ước tính)"}, rangemode="tozero")
    return _layout(fig, title, caption, height=max(300, 120 + 28 * len(data)))


def index_radar(frame: pd.DataFrame, caption: str, title: str = "Các nhóm chỉ số phục vụ (ước tính)") -> go.Figure:
    """Radar of the service-index groups per unit, as a share of each group's maximum.

    ``frame``: one row per unit with ``label`` and ``group_<key>`` points (``index_estimate.league``);
    groups without a value for any unit are left out (never drawn as 0).
    """
    from motcua.index_estimate import GROUPS

    groups = [key for key in GROUPS if f"group_{key}" in frame.columns and frame[f"group_{key}"].notna().any()]
    if frame.empty or not groups:
        return _empty(title, caption)
    names = [GROUPS[key][0] for key in groups]
    fig = go.Figure()
    for row in frame.itertuples(index=False):
        values = [getattr(row, f"group_{key}") / GROUPS[key][1] for key in groups]
        fig.add_scatterpolar(r=[*values, values[0]], theta=[*names, names[0]], name=str(row.label), fill="toself",
                             opacity=0.6, hovertemplate="%{theta}: %{r:.0%}<extra>" + str(row.label) + "</extra>")
    fig.update_layout(polar={"radialaxis": {"range": [0, 1], "tickformat": ".0%"}})
    return _layout(fig, title, caption, height=460)


def score_rank_trend(frame: pd.DataFrame, caption: str,
                     title: str = "Chỉ số phục vụ (ước tính) và xếp hạng theo tháng") -> go.Figure:
    """Score (bars, left axis) and rank (line, right axis, 1 on top) per month; months without data stay gaps."""
    if frame.empty or frame["score"].notna().sum() == 0:
        return _empty(title, caption)
    x = _x_labels(frame)
    fig = go.Figure()
    fig.add_bar(x=x, y=frame["score"].astype("float64"), name="Điểm (ước tính)", marker_color=BUCKET_COLORS["online"],
                hovertemplate="%{x}: %{y:.2f} điểm<extra></extra>")
    ranks = pd.to_numeric(frame["rank"], errors="coerce").astype("float64")
    fig.add_scatter(x=x, y=ranks, name="Hạng", yaxis="y2", mode="lines+markers", connectgaps=False,
                    line={"color": "#d73027"}, hovertemplate="%{x}: hạng %{y:.0f}<extra></extra>")
    top = max(2.0, float(pd.to_numeric(frame["units"], errors="coerce").max() or 1))
    fig.update_layout(yaxis={"title": {"text": "Điểm"}, "rangemode": "tozero"},
                      yaxis2={"title": {"text": "Hạng"}, "overlaying": "y", "side": "right", "range": [top + 0.5, 0.5],
                              "dtick": 1 if top <= 12 else None, "showgrid": False})
    # Twelve months on a phone: short ticks ("7/2025"; the hover keeps "Tháng 7/2025") and the legend above
    # the plot, where the tilted ticks cannot run under it.
    fig.update_xaxes(type="category", tickvals=x, ticktext=[label.removeprefix("Tháng ") for label in x])
    return _layout(fig, title, caption, legend_top=True)

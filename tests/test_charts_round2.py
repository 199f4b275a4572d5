"""Chart fixes of issue 13: named legend entries, legend clear of long axis labels, small-multiple spacing,
target lines on the ranking chart, the service-index radar and trend (months without data stay gaps)."""

from __future__ import annotations

import math

import pandas as pd

from motcua import charts


def test_digitization_legend_never_says_trace():
    kpis = {"rates": {"digitized_intake_rate": 0.5, "electronic_result_rate": 0.7}}
    fig = charts.digitization_rates(kpis, "cap", targets={"digitized_intake_rate": 1.0, "electronic_result_rate": 1.0})
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert all(name and not name.startswith("trace") for name in shown) and "Mục tiêu" in shown


def test_legend_moves_above_the_plot_when_category_labels_are_long():
    frame = pd.DataFrame({"key": ["a", "b"], "label": ["Bảo trợ xã hội – một tên lĩnh vực rất dài", "Hộ tịch"],
                          "early": [3, 1], "on_time": [1, 0], "late": [0, 2], "within_deadline": [1, 1],
                          "overdue": [0, 1]})
    fig = charts.resolution_by_month(frame, "cap", title="Theo lĩnh vực")
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.y >= 1.0
    months = frame.assign(label=["Tháng 4/2026", "Tháng 5/2026"])
    assert charts.resolution_by_month(months, "cap").layout.legend.y < 0  # short month labels: below


def test_small_multiple_rows_leave_room_for_month_labels():
    months = [f"Tháng {m}/2026" for m in range(1, 10)]
    frame = pd.DataFrame([{"unit": f"Xã {u}", "month": m, "online_rate": 0.5} for u in "ABCDE" for m in months])
    fig = charts.small_multiples(frame, "online_rate", "cap")
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    domains = sorted({tuple(fig.layout[name].domain) for name in fig.layout if name.startswith("yaxis")})
    gaps = [(upper[0] - lower[1]) * plot_px for lower, upper in zip(domains, domains[1:], strict=False)]
    assert gaps and min(gaps) >= 85  # tick labels (rotated months) + the next row's subplot title fit


def test_ranking_chart_draws_the_target():
    frame = pd.DataFrame({"key": ["a", "b"], "label": ["Xã A", "Xã B"], "online_rate": [0.9, 0.4]})
    fig = charts.rates_by_unit(frame, "online_rate", "cap", total=0.6, target=0.7)
    lines = [s for s in fig.layout.shapes if s.line.dash == "dot"]
    assert lines and math.isclose(lines[0].x0, 0.7)
    assert any("Mục tiêu 70%" in (a.text or "") for a in fig.layout.annotations)


def test_index_radar_and_trend_leave_unknown_out():
    frame = pd.DataFrame({"label": ["Xã A", "Xã B"], "group_tien_do": [12.0, 20.0], "group_so_hoa": [6.0, 11.0],
                          "group_hai_long": [float("nan"), float("nan")]})
    radar = charts.index_radar(frame, "cap")
    assert len(radar.data) == 2 and "Mức độ hài lòng" not in radar.data[0].theta
    assert radar.data[1].r[0] == 1.0  # 20 / 20 points
    trend = pd.DataFrame({"label": ["T1", "T2"], "score": [float("nan"), 20.0], "rank": [pd.NA, 2], "units": [3, 3]})
    fig = charts.score_rank_trend(trend, "cap")
    assert math.isnan(fig.data[0].y[0])  # a month without data is a gap, never 0


def test_score_trend_fits_a_phone_short_month_ticks_and_legend_above():
    """Twelve tilted 'Tháng 10/2025' ticks ran under the legend below the plot at 390 px."""
    trend = pd.DataFrame({"label": ["Tháng 12/2025", "Tháng 1/2026"], "score": [10.0, 20.0], "rank": [1, 2],
                          "units": [3, 3]})
    fig = charts.score_rank_trend(trend, "cap")
    assert list(fig.layout.xaxis.ticktext) == ["12/2025", "1/2026"] and list(fig.data[0].x) == list(trend["label"])
    assert fig.layout.legend.y > 1  # above the plot


def test_digitization_rate_names_wrap_instead_of_tilting_under_the_legend():
    kpis = {"rates": {"digitized_intake_rate": 0.5, "online_payment_rate": 0.7}}
    fig = charts.digitization_rates(kpis, "cap")
    assert all("<br>" in tick for tick in fig.layout.xaxis.ticktext)
    assert all(len(line) <= 12 for tick in fig.layout.xaxis.ticktext for line in tick.split("<br>"))
    assert fig.layout.legend.y >= 1.0  # above the plot


def test_heatmap_margins_fit_its_labels_up_front():
    """The unit × month heatmap sets margins that hold its unit names, one line of month labels and the colour
    bar, so Plotly's automargin (still on, for a name wider than estimated or months turned on a phone) need
    not draw the chart twice. Widths measured in Chromium at 12 px: 16 characters of a name 96 px; the month
    line 42 px; the colour bar 99-101 px; automargin then chose a left margin of 123 px."""
    def heatmap(names: list[str]):
        frame = pd.DataFrame([{"unit": n, "month": m, "online_rate": 0.5} for n in names
                              for m in ("Tháng 4/2026", "Tháng 5/2026")])
        return charts.heatmap_unit_month(frame, "online_rate", "cap").layout.margin

    margin = heatmap(["Xã Sóc Sơn", "Phường Hoàn Kiếm"])  # 16 characters
    assert 123 <= margin.l <= 140 and margin.r >= 101 and margin.b >= 42
    assert heatmap(["Phường Hoàn Kiếm", "Xã Tân Hưng thuộc huyện Củ Chi cũ"]).l > margin.l + 100
    assert heatmap(["X" * 200]).l == charts.HEATMAP_MAX_LEFT_PX  # automargin still has the last word

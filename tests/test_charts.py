"""Chart builders (motcua.charts): Vietnamese separators, caption as subtitle, data never recomputed."""

from __future__ import annotations

import math
from datetime import datetime

import dbfactory
import pandas as pd
import pytest

from motcua import charts, metrics, periods
from motcua.db import connect_memory
from motcua.filters import Scope


@pytest.fixture(scope="module")
def con():
    connection = connect_memory()
    from motcua import units

    units.seed_units(connection)
    frame = dbfactory.make_dossiers(300, dbfactory.commune_codes(), datetime(2026, 1, 2), datetime(2026, 6, 30))
    connection.register("generated", frame)
    connection.execute("INSERT INTO dossiers SELECT * FROM generated")
    return connection


PERIOD = periods.parse_period("2026Q2")


def _check_common(fig, caption: str) -> None:
    assert fig.layout.separators == ",."
    assert fig.layout.title.subtitle.text == caption
    assert fig.layout.title.text


def test_resolution_chart_stacks_metric_counts(con):
    frame = metrics.breakdown(con, Scope(), PERIOD, "month")
    fig = charts.resolution_by_month(frame, "Tất cả đơn vị · Quý 2/2026")
    _check_common(fig, "Tất cả đơn vị · Quý 2/2026")
    by_name = {trace.name: list(trace.y) for trace in fig.data}
    assert by_name[metrics.COUNTS["late"]] == frame["late"].astype(float).tolist()
    assert [trace.customdata[0][0] for trace in fig.data] == list(charts.RESOLUTION_BUCKETS)
    assert fig.data[0].customdata[1][1] == frame["key"].iloc[1]  # (bucket, group key) for drill-down


def test_rate_charts_use_fractions_and_percent_axes(con):
    league = metrics.league_table(con, Scope(), PERIOD)
    total = metrics.total_row(league)
    fig = charts.rates_by_unit(league, "online_rate", "c", total=total["online_rate"])
    _check_common(fig, "c")
    assert fig.layout.xaxis.tickformat == ".0%"
    assert sorted(fig.data[0].x) == sorted(league["online_rate"].dropna().tolist())
    kpis = metrics.compute_kpis(con, Scope(), PERIOD)
    bars = charts.digitization_rates(kpis, "c", targets={"digitized_intake_rate": 1.0})
    assert math.isclose(bars.data[0].y[0], kpis["rates"]["digitized_intake_rate"])
    assert "," in bars.data[0].text[0] and bars.data[0].text[0].endswith("%")


def test_level_mix_heatmap_and_small_multiples(con):
    levels = metrics.level_breakdown(con, Scope(), PERIOD)
    fig = charts.level_mix(levels, "c")
    _check_common(fig, "c")
    assert fig.layout.barnorm == "percent"
    long = pd.DataFrame({"unit": ["A", "A", "B"], "month": ["T4", "T5", "T4"], "online_rate": [0.5, 0.7, None]})
    heat = charts.heatmap_unit_month(long, "online_rate", "c")
    assert list(heat.data[0].x) == ["T4", "T5"] and heat.data[0].zmax == 1
    multiples = charts.small_multiples(long, "online_rate", "c")
    assert len(multiples.data) == 2


@pytest.mark.parametrize("builder", [
    lambda f: charts.resolution_by_month(f, "c"), lambda f: charts.channel_mix_by_month(f, "c"),
    lambda f: charts.rates_by_month(f, ["online_rate"], "c"), lambda f: charts.rates_by_unit(f, "online_rate", "c"),
    lambda f: charts.heatmap_unit_month(f, "online_rate", "c"), lambda f: charts.small_multiples(f, "online_rate", "c"),
])
def test_empty_frames_explain_themselves(builder):
    fig = builder(pd.DataFrame())
    assert fig.layout.annotations[0].text == "Không có hồ sơ trong kỳ"
    _check_common(fig, "c")


def test_empty_kpis_and_levels():
    assert charts.digitization_rates({"rates": dict.fromkeys(charts.DIGITIZATION_RATES)}, "c").layout.annotations
    empty_levels = pd.DataFrame({"level": ["toan_trinh"], "level_label": ["Toàn trình"], "dossiers": [0],
                                 "procedures": [0]})
    assert charts.level_mix(empty_levels, "c").layout.annotations

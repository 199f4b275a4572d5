"""The settings registry: every setting reaches the CLI, the URL and the README, and round-trips."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.kpi import kpi_command
from cli.report import report_command
from dashboard import url_state
from motcua import periods
from motcua.settings import SETTINGS, SPECS, Settings, all_combinations, from_params

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_spec_is_a_settings_field_and_back():
    assert [f.name for f in dataclasses.fields(Settings)] == [spec.name for spec in SETTINGS]


@pytest.mark.parametrize("command", [kpi_command, report_command], ids=["kpi", "report"])
def test_every_setting_is_a_cli_option(command):
    flags = {opt for param in command.params for opt in param.opts}
    assert {spec.cli_flag for spec in SETTINGS} <= flags


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda spec: spec.name)
def test_every_setting_is_documented_in_the_readme(spec):
    assert f"| `{spec.name}` |" in README, f"README settings table lacks a row for {spec.name}"
    assert spec.source and spec.label


def test_url_params_are_distinct_and_not_view_params():
    params = [spec.param for spec in SETTINGS]
    assert len(params) == len(set(params))
    assert not {"unit", "period"} & set(params)


def _settings_strategy():
    parts = {}
    for spec in SETTINGS:
        if spec.kind == "int":
            parts[spec.name] = st.integers(0, spec.maximum)
        elif spec.kind == "multi":
            parts[spec.name] = st.lists(st.sampled_from(list(spec.choices)), min_size=1, unique=True).map(tuple)
        else:
            parts[spec.name] = st.sampled_from(list(spec.choices))
    return st.builds(Settings, **parts)


@given(settings=_settings_strategy(), units=st.lists(st.sampled_from(["10001", "10813", "11140"]), unique=True))
def test_url_round_trip(settings, units):
    period = periods.parse_period("2026Q3", settings.calendar)
    params = url_state.encode(units, period, settings)
    view, warnings = url_state.decode(params)
    assert warnings == []
    assert view.units == units and view.period == period and view.calendar == settings.calendar
    assert Settings(**{"calendar": view.calendar, **view.settings}) == settings


@pytest.mark.parametrize("params, fragment", [
    ({"at_risk": "\u00b2"}, "Sắp đến hạn"),  # '²'.isdigit() is True: must not reach int()
    ({"at_risk": "99"}, "Sắp đến hạn"),
    ({"returned": "abc"}, "Hồ sơ trả lại"),
    ({"online_levels": "muc_5"}, "Mức độ"),
    ({"period": "0001-01-01_9999-12-31"}, "Kỳ '0001-01-01_9999-12-31'"),
    ({"period": "2026Q9"}, "Kỳ '2026Q9'"),
    ({"calendar": "lunar"}, "Cách tính kỳ: 'lunar'"),
])
def test_bad_link_values_give_a_warning_not_a_crash(params, fragment):
    view, warnings = url_state.decode(params)
    assert len(warnings) == 1 and fragment in warnings[0]
    assert view.settings == {} and view.period is None


def test_aliases_and_invalid_values():
    assert Settings(returned_policy="separate").returned_policy == "excluded"
    with pytest.raises(ValueError, match="không hợp lệ"):
        Settings(early_rule="hour")
    values, warnings = from_params({"early_rule": "timestamp", "online_levels": "toan_trinh"})
    assert values == {"early_rule": "timestamp", "online_procedure_levels": ("toan_trinh",)} and not warnings


def test_all_combinations_cover_every_fact_changing_choice():
    combos = list(all_combinations())
    expected = 1
    for spec in SETTINGS:
        if spec.kind == "choice" and spec.changes_facts:
            expected *= len(spec.choices)
    assert len(combos) == expected == len(set(combos))
    assert SPECS["calendar"].changes_facts is False

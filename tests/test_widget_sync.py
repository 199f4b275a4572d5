"""Every run sends the browser the value of each view widget (``state.keep_value``).

The bug: a value set through session state (the default quarter, a shared link's period) reached the
browser only with the run that set it. A click during the first run (picking a unit while Tổng quan was
still drawing) cut that run short; the next run did not send the value again, so the browser drew "Loại kỳ"
at its first option, "Tháng", and the next page switch sent it back: Tiến độ opened on Tháng 8/2026 instead
of the chosen Quý 2/2026 (the browser journey failed this way in CI). AppTest cannot cut a run short, so
these tests check what the fix rests on: the second and later runs still carry each value.
"""

from __future__ import annotations

import dbfactory
import pytest
from streamlit.testing.v1 import AppTest
from test_apptest_pages import page_app, query_param, run

from dashboard import pickers, state
from motcua.settings import SETTINGS

SIDEBAR_WIDGETS = {"f_kind": "selectbox", "f_period": "selectbox", "f_calendar": "radio", "f_units": "multiselect"}


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    return dbfactory.sample_db(tmp_path_factory.mktemp("widget-sync") / "sample.duckdb")


def widget(at: AppTest, kind: str, key: str, sidebar: bool = True):
    return getattr(at.sidebar if sidebar else at, kind)(key=key)


def sent_value(element) -> bool:
    """Whether this run's message of the widget sets its value in the browser."""
    return bool(element.proto.set_value)


def test_sidebar_values_are_sent_on_every_run(sample_db, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(sample_db))
    at = run(page_app("tong_quan"))
    code = dbfactory.commune_codes(["Xã Sóc Sơn"])[0]
    at.sidebar.multiselect(key="f_units").set_value([code])
    run(at)  # the second run: nothing in it sets these values through session state any more
    for key, kind in SIDEBAR_WIDGETS.items():
        assert sent_value(widget(at, kind, key)), key
    assert at.sidebar.selectbox(key="f_kind").value == "quarter"
    assert at.sidebar.selectbox(key="f_kind").proto.raw_value == "Quý"  # what the browser draws


def test_custom_range_and_settings_are_sent_on_every_run(sample_db, monkeypatch):
    monkeypatch.setenv("MOTCUA_DB", str(sample_db))
    at = page_app("tien_do")
    at.query_params["period"] = "2026-02-10_2026-03-20"
    run(run(at))
    assert sent_value(at.sidebar.date_input(key="f_custom"))
    assert sent_value(at.sidebar.selectbox(key="f_kind"))
    at.session_state[pickers.K_SETTINGS_OPEN] = True  # the settings' widgets exist while it is open
    run(run(at))
    setting_widgets = [w for w in at.sidebar.selectbox if w.key and w.key.startswith("s_")]
    assert setting_widgets and all(sent_value(w) for w in setting_widgets)


@pytest.mark.parametrize(("module", "kind", "key"), [
    ("tien_do", "segmented_control", "progress_by"),
    ("so_sanh", "segmented_control", "compare_sort"),
    ("so_sanh", "selectbox", "compare_rate"),
])
def test_page_widgets_are_sent_on_every_run(sample_db, monkeypatch, module, kind, key):
    monkeypatch.setenv("MOTCUA_DB", str(sample_db))
    at = run(run(page_app(module)))
    assert sent_value(widget(at, kind, key, sidebar=False)), key


# ---------------------------------------------------------------- the settings panel, drawn only while open

def setting_widgets(at: AppTest) -> list:
    return [w for kind in ("selectbox", "multiselect", "number_input") for w in getattr(at.sidebar, kind)
            if w.key and w.key.startswith("s_")]


def test_settings_widgets_are_drawn_only_while_the_panel_is_open(sample_db, monkeypatch):
    """A collapsed st.expander still builds and sends its widgets on every run of every page; the settings
    panel builds them once the user opens it."""
    monkeypatch.setenv("MOTCUA_DB", str(sample_db))
    at = run(page_app("tong_quan"))
    assert [e.label for e in at.sidebar.expander] == [pickers.SETTINGS_LABEL]
    assert setting_widgets(at) == []
    at.session_state[pickers.K_SETTINGS_OPEN] = True  # what the browser sends when the user opens it
    run(at)
    assert len(setting_widgets(at)) == len(SETTINGS) - 1  # all but the calendar (with the period pickers)


def test_a_linked_setting_holds_while_the_panel_is_closed(sample_db, monkeypatch):
    """The value lives outside its widget: a link's setting (and one changed then closed) holds over runs
    in which no widget carries it (Streamlit drops the state of widgets a run does not draw)."""
    monkeypatch.setenv("MOTCUA_DB", str(sample_db))
    at = page_app("tien_do")
    at.query_params["returned"] = "excluded"
    run(run(run(at)))
    assert query_param(at, "returned") == ["excluded"]
    at.session_state[pickers.K_SETTINGS_OPEN] = True
    run(at)
    widget = at.sidebar.selectbox(key=pickers.setting_widget_key("returned_policy"))
    assert widget.value == "excluded"  # the open panel shows the link's value
    widget.set_value("resolved_on_time")
    run(at)
    at.session_state[pickers.K_SETTINGS_OPEN] = False
    run(run(at))
    assert "returned" not in at.query_params  # the default again, kept with the panel closed
    assert at.session_state[state.SETTING_KEYS["returned_policy"]] == "resolved_on_time"

"""The sidebar: unit, period and calendar pickers, and one widget per definition setting.

The widgets live in the entry script, so their values survive page switches; their state is the view
``dashboard.state`` reads. The settings widgets are generated from ``motcua.settings.SETTINGS``.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import streamlit as st

from dashboard import sections, state, url_state, url_sync
from motcua import db as dbmod
from motcua import fmt
from motcua.settings import SETTINGS, Settings

DEMO_CAPTION = "Chế độ demo (không đăng nhập)"
CHOOSE = "Chọn…"  # Streamlit's own placeholder is the English "Choose an option"


def render_sidebar(target=None) -> None:
    """Unit, period, calendar and definition pickers; once per run, however many callers.

    ``target``: a sidebar container made before the login gate ran (the entry script), so the pickers sit
    above the account box / demo notice; pages call this without it (a no-op after the entry script).
    """
    if state.sidebar_drawn():
        return
    user = state.current_user()  # before anything reads the URL or the database
    state.mark_sidebar_drawn()
    # Without a database the page shows the message; the sidebar still renders the period pickers.
    with contextlib.suppress(dbmod.DatabaseUnavailable):
        url_sync.load_url_once()
    _init_defaults()
    with target if target is not None else st.sidebar:
        if user.demo:  # a one-line reminder above the pickers; the login gate's box explains
            st.caption(DEMO_CAPTION)
        for message in url_sync.pop_url_warnings():
            st.warning(fmt.md(message))
        _unit_picker()
        _period_pickers()
        _settings_expander()
    url_sync.write_url()
    st.html(page_style())


BUNDLES_WARMUP_KEY = "bundles_warmup"  # components.load_bundles_early: never shown

# Long KPI card titles wrap instead of being cut to "Tỷ lệ hồ sơ xử lý trước…".
_METRIC_STYLE = f".st-key-{BUNDLES_WARMUP_KEY} {{ display: none; }}" + """
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}"""

# Streamlit 1.67 has no parameter for these English texts: the file uploader's button ("Upload"), its
# instructions ("200MB per file • XLSX, …") and drag overlay ("Drag and drop files here"), and the empty
# dropdown of a select box / multiselect ("No results", or "You can only select up to 6 options…" once the
# comparison holds 6 units), and an empty date field ("dd/mm/yyyy" → "ngày/tháng/năm"; the calendar
# itself follows the browser's language). The English text is hidden (font-size 0) and a Vietnamese one drawn in its
# place (::after). Selectors use Streamlit's data-testid / ARIA attributes, not its generated class names.
_SMALL = "0.875rem"  # Streamlit's small font size, which these texts use
_ENGLISH_STYLE = """
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "Chọn tệp"; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0 !important; white-space: normal !important; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "hoặc kéo thả tệp vào đây · tối đa %(mb)s MB mỗi tệp"; font-size: %(small)s;
}
[data-testid="stFileUploaderDropzone"] > div:not([data-testid]) > span:only-child { font-size: 0 !important; }
[data-testid="stFileUploaderDropzone"] > div:not([data-testid]) > span:only-child::after {
  content: "Thả tệp vào đây"; font-size: %(small)s;
}
[data-testid="stDateInputField"] [role="spinbutton"][data-placeholder="true"] { font-size: 0 !important; }
[data-testid="stDateInputField"] [role="spinbutton"][data-placeholder="true"]::after { font-size: %(small)s; }
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="day"]::after { content: "ngày"; }
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="month"]::after { content: "tháng"; }
[data-testid="stDateInputField"] [data-placeholder="true"][data-type="year"]::after { content: "năm"; }
[role="listbox"][data-empty="true"] [role="option"] > span { font-size: 0 !important; }
[role="listbox"][data-empty="true"] [role="option"] > span::after {
  content: "Không có lựa chọn phù hợp"; font-size: %(small)s;
}
[role="listbox"][data-empty="true"][aria-label^="Chọn đơn vị để so sánh"] [role="option"] > span::after {
  content: "Không có lựa chọn phù hợp (tối đa 6 đơn vị: bỏ bớt một đơn vị để chọn đơn vị khác)";
}"""


# A chart's subtitle (the view caption, kept in the figure for its PNG) is one SVG line that a phone cuts
# off; the same caption is written under every chart, so phones skip the subtitle.
_PHONE_STYLE = """
@media (max-width: 640px) { .js-plotly-plot .gtitle-subtitle { display: none; } }"""


def page_style() -> str:
    """The app's CSS (one ``<style>``, injected once per run with the sidebar)."""
    english = _ENGLISH_STYLE % {"mb": int(st.get_option("server.maxUploadSize")), "small": _SMALL}
    return f"<style>{_METRIC_STYLE}\n{english}\n{_PHONE_STYLE}\n</style>"


def _init_defaults() -> None:
    """Give every widget its value through session state (never both a default and a state value), on
    every run (``state.keep_value``: a browser that missed an earlier run still shows the view)."""
    defaults = Settings()
    state.keep_value(state.K_UNITS, [])
    state.keep_value(state.K_KIND, "quarter")
    for spec in SETTINGS:
        value = getattr(defaults, spec.name)
        state.keep_value(state.SETTING_KEYS[spec.name], list(value) if spec.kind == "multi" else value)


def _unit_picker() -> None:
    from dashboard import data

    try:
        units = data.unit_options()
        allowed = state.allowed_unit_codes()
    except dbmod.DatabaseUnavailable:
        units, allowed = {}, None
    if allowed is not None:  # only the units this user may see are offered
        units = {c: n for c, n in units.items() if c in allowed}
    requested = state.take_requested_units()  # e.g. a click on a unit in So sánh đơn vị
    if requested is not None:
        st.session_state[state.K_UNITS] = requested
    chosen = [c for c in st.session_state.get(state.K_UNITS, []) if c in units]
    if chosen != st.session_state.get(state.K_UNITS, []):
        st.session_state[state.K_UNITS] = chosen
    st.multiselect(
        "Đơn vị (xã/phường)", options=list(units), key=state.K_UNITS, format_func=lambda c: units.get(c, c),
        placeholder="Tất cả đơn vị – gõ tên để tìm" if allowed is None else "Tất cả đơn vị được phân quyền",
        help="Để trống để xem tất cả đơn vị có hồ sơ (mà tài khoản được xem).",
        select_all=False,  # its label is English-only in Streamlit; "empty = all" already covers it
    )


def _period_pickers() -> None:
    calendar_spec = SETTINGS[0]
    st.radio(calendar_spec.label, options=list(calendar_spec.choices), key=state.K_CALENDAR,
             format_func=calendar_spec.choices.get)
    kind = st.selectbox("Loại kỳ", options=list(state.PERIOD_KINDS), key=state.K_KIND,
                        format_func=state.PERIOD_KINDS.get, placeholder=CHOOSE)
    calendar = st.session_state[state.K_CALENDAR]
    if kind == "custom":
        if state.K_CUSTOM not in st.session_state:
            st.session_state[state.K_CUSTOM] = _default_custom_range(calendar)
        state.keep_value(state.K_CUSTOM)
        st.date_input("Từ ngày – đến ngày", key=state.K_CUSTOM, format="DD/MM/YYYY")
        return
    choices = state.default_periods(kind, calendar)
    by_code = {p.code: p for p in choices}
    wanted = st.session_state.get(state.K_PERIOD)
    if wanted and wanted not in by_code:
        period = url_state.parse_period_code(wanted, calendar)
        if period is not None and period.kind == kind:
            by_code = {period.code: period, **by_code}  # a shared link may point outside the data range
    if st.session_state.get(state.K_PERIOD) not in by_code:
        st.session_state[state.K_PERIOD] = state.default_period(choices).code if choices else next(iter(by_code))
    state.keep_value(state.K_PERIOD)
    st.selectbox("Kỳ", options=list(by_code), key=state.K_PERIOD, format_func=lambda c: by_code[c].label,
                 placeholder=CHOOSE)
    st.caption(by_code[st.session_state[state.K_PERIOD]].caption)


SETTINGS_LABEL = "Cách tính chỉ tiêu"
K_SETTINGS_OPEN = "settings_open"  # the expander's open state (a widget: the browser reports it)
_SETTING_CHANGED = "_setting_changed"


def setting_widget_key(name: str) -> str:
    """The key of a setting's widget; its value lives under ``state.SETTING_KEYS[name]``, a plain session key
    that Streamlit keeps while the widget is not drawn (it drops the state of widgets a run did not draw)."""
    return f"{state.SETTING_KEYS[name]}_widget"


def _settings_expander() -> None:
    # Its widgets exist only while it is open (sections.lazy_expander): opening it reruns only the panel.
    sections.lazy_expander(SETTINGS_LABEL, _setting_widgets, key=K_SETTINGS_OPEN)


def _setting_widgets() -> None:
    for spec in SETTINGS:
        if spec.name != "calendar":  # the calendar sits with the period pickers
            _setting_widget(spec)
    if st.session_state.pop(_SETTING_CHANGED, False):
        st.rerun(scope="app")  # a changed definition changes every number on the page, not just this box


def _store_setting(name: str) -> None:
    """on_change: the widget's new value becomes the setting (before the rerun it starts)."""
    value = st.session_state[setting_widget_key(name)]
    st.session_state[state.SETTING_KEYS[name]] = list(value) if isinstance(value, list | tuple) else value
    st.session_state[_SETTING_CHANGED] = True


def _setting_widget(spec) -> None:
    key = setting_widget_key(spec.name)
    st.session_state[key] = st.session_state[state.SETTING_KEYS[spec.name]]  # every run (state.keep_value)
    help_text = f"{spec.help} Căn cứ: {spec.source}."
    common = {"key": key, "help": help_text, "on_change": _store_setting, "args": (spec.name,)}
    if spec.kind == "int":
        st.number_input(spec.label, min_value=0, max_value=spec.maximum, step=1, **common)
    elif spec.kind == "multi":
        st.multiselect(spec.label, options=list(spec.choices), format_func=spec.choices.get, placeholder=CHOOSE,
                       select_all=False, **common)
    else:
        st.selectbox(spec.label, options=list(spec.choices), format_func=spec.choices.get, placeholder=CHOOSE,
                     **common)


def _default_custom_range(calendar: str) -> tuple:
    """The period on screen before switching to a custom range (clipped to the data), else the last three
    months of data, rather than every day since the first import."""
    first, last = state.data_range()
    code = st.session_state.get(state.K_PERIOD)
    period = url_state.parse_period_code(code, calendar) if code else None
    if period is not None and period.start <= last and period.end >= first:
        return max(period.start, first), min(period.end, last)
    return max(first, last - timedelta(days=91)), last

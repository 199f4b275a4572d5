"""The grid toolbar's own CSV download (issue 12 item 5) and separator-split formulas in our exports."""

from __future__ import annotations

import ast
import csv
import io
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import exports
from motcua.safe_export import neutralize_value

ROOT = Path(__file__).resolve().parent.parent
SPLIT_PAYLOADS = ["x;=1+1", "Xã A; =HYPERLINK(\"http://evil\")", "a,@SUM(1)", "b|+cmd", "c\t-1+2"]


def test_streamlit_config_turns_the_grid_download_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True
    # `make run` goes through `motcua serve`, which passes the flag explicitly too.
    from dashboard.launch import ServeOptions, streamlit_argv

    assert "motcua serve" in (ROOT / "Makefile").read_text(encoding="utf-8")
    argv = " ".join(str(part) for part in streamlit_argv(ServeOptions()))
    assert "--client.disableDataExport true" in argv or "--client.disableDataExport=true" in argv


def test_every_dataframe_goes_through_the_grid_helper():
    """No page calls st.dataframe / st.data_editor / st.table itself (they would bypass ``grid``)."""
    offenders = []
    for path in (ROOT / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("dataframe", "data_editor", "table") \
                    and isinstance(node.value, ast.Name) and node.value.id == "st":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == ["dashboard/components.py:" + str(_grid_line())]


def _grid_line() -> int:
    source = (ROOT / "dashboard" / "components.py").read_text(encoding="utf-8")
    return next(i for i, line in enumerate(source.splitlines(), 1) if "return st.dataframe(" in line)


GRID_SCRIPT = """
import pandas as pd
import streamlit as st
from dashboard import components
components.grid(pd.DataFrame({"Thủ tục": ["=HYPERLINK(\\"http://evil\\")", "x;=1+1", "Khai sinh"], "Số": [1, 2, 3]}))
"""


@pytest.mark.apptest
@pytest.mark.parametrize("export_enabled", [False, True])
def test_grid_neutralises_displayed_text_when_export_is_on(export_enabled):
    previous = st.get_option("client.disableDataExport")
    st.set_option("client.disableDataExport", not export_enabled)
    try:
        at = AppTest.from_string(GRID_SCRIPT, default_timeout=30).run()
    finally:
        st.set_option("client.disableDataExport", previous)
    assert not at.exception
    shown = at.dataframe[0].value
    expected = ["'=HYPERLINK(\"http://evil\")", "x;'=1+1", "Khai sinh"] if export_enabled else \
        ["=HYPERLINK(\"http://evil\")", "x;=1+1", "Khai sinh"]
    assert shown["Thủ tục"].tolist() == expected
    assert shown["Số"].tolist() == [1, 2, 3]


@pytest.mark.parametrize("text", SPLIT_PAYLOADS)
def test_pieces_after_a_separator_are_neutralised(text):
    result = neutralize_value(text)
    for separator in ";,|\t":
        for piece in result.split(separator)[1:]:
            assert not piece.lstrip(" ").startswith(("=", "+", "-", "@")), result


@pytest.mark.parametrize("text", ["Xã Tứ Kỳ, Hải Phòng", "1,-2", "Đúng hạn; trước hạn", "a, b, c", "12,5%"])
def test_plain_separated_text_is_untouched(text):
    assert neutralize_value(text) == text


def test_semicolon_locale_reading_our_csv_sees_no_formula():
    frame = pd.DataFrame({"Thủ tục": SPLIT_PAYLOADS, "Số": range(len(SPLIT_PAYLOADS))})
    text = exports.to_csv_bytes(frame).decode("utf-8-sig")
    for delimiter in (";", ",", "\t", "|"):  # however the spreadsheet splits the line
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            assert not any(cell.lstrip(" ").startswith(("=", "+", "@")) for cell in row), (delimiter, row)
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx_bytes(frame)))
    cells = [c.value for row in book.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert "x;'=1+1" in cells

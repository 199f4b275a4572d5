"""Markdown/HTML injection (issue 12 item 6): text from data or uploads is shown literally everywhere.

Units, a procedure, a field and an imported file carry names that Streamlit would render as a remote
image, a phishing link, coloured text, an icon or LaTeX, and that Plotly would render as a link. Every
page is drawn (AppTest) and no Markdown element, alert or chart may contain the payload unescaped.
"""

from __future__ import annotations

import re
from datetime import datetime

import dbfactory
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from motcua import charts, fmt
from motcua import db as dbmod

pytestmark = pytest.mark.apptest

UNIT_NAMES = ("Xã ![px](http://host/x.png)", "[Phiên hết hạn – bấm để đăng nhập lại](http://x)",
              "Xã :red[đỏ] :material/home: $x^2$")
PROCEDURE = 'Thủ tục <a href="http://evil">bấm</a> ![p](http://host/p.png)'
FIELD = "Lĩnh vực :blue[xanh] $y$"
FILE_NAME = "[Phiên hết hạn](http://x) ![f](http://host/f.png).xlsx"
# Patterns that only match when the payload reached Markdown/HTML unescaped.
RAW = [re.compile(p) for p in (r"(?<!\\)!(?<!\\)\[", r"(?<!\\)\]\(", r"(?<!\\):red(?<!\\)\[", r"(?<!\\):blue",
                               r"(?<!\\):material/home", r"(?<!\\)\$x\^", r"(?<!\\)\$y(?<!\\)\$", r"(?<!\\)<a href")]  # "\\<a" is shown literally
PAGES = ("tong_quan", "tien_do", "truc_tuyen", "so_hoa", "so_sanh", "bao_cao", "du_lieu")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    codes = dbfactory.commune_codes()
    frame = dbfactory.make_dossiers(300, codes, datetime(2026, 1, 2), datetime(2026, 6, 28))
    frame["procedure_name"] = frame["procedure_name"].where(frame.index % 3 != 0, PROCEDURE)
    frame["field_name"] = frame["field_name"].where(frame.index % 4 != 0, FIELD)
    path = dbfactory.build_db(tmp_path_factory.mktemp("hostile") / "motcua.duckdb", frame, file_name=FILE_NAME)
    with dbmod.write_transaction(path) as con:
        for code, name in zip(codes, UNIT_NAMES, strict=True):
            con.execute("UPDATE units SET name = ? WHERE code = ?", [name, code])
        con.execute("UPDATE procedures SET procedure_name = ? WHERE procedure_code = '1.001193'", [PROCEDURE])
    return path, codes


def _texts(at: AppTest) -> list[str]:
    groups = (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.title, at.subheader,
              at.header, at.sidebar.markdown, at.sidebar.caption, at.sidebar.warning, at.sidebar.error)
    return [str(e.value) for group in groups for e in group]


def _unescaped(texts: list[str]) -> list[str]:
    return [t for t in texts if any(p.search(t) for p in RAW)]


def _page(module: str, codes: list[str]) -> AppTest:
    script = (f"from dashboard import pickers, state\nfrom dashboard.views import {module}\n"
              f"state.begin_run()\npickers.render_sidebar()\n{module}.render()\n")
    at = AppTest.from_string(script, default_timeout=90)
    at.query_params.update({"period": "2026Q2", "calendar": "calendar", "unit": ",".join(codes)})
    return at


@pytest.mark.parametrize("module", PAGES)
def test_no_page_renders_names_from_data_as_markdown(hostile_db, module, monkeypatch, tmp_path):
    path, codes = hostile_db
    monkeypatch.setenv("MOTCUA_DB", str(path))
    monkeypatch.setenv("MOTCUA_USERS", str(tmp_path / "absent.toml"))  # demo admin: sees everything
    # One unit: the captions name it (several units are captioned "3 đơn vị").
    at = _page(module, codes if module == "so_sanh" else codes[:1])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert _unescaped(texts) == [], _unescaped(texts)
    if module != "du_lieu":  # the names are really shown (escaped), so the check above can fail
        assert any(fmt.md(UNIT_NAMES[0]) in t for t in texts)
    for chart in at.get("plotly_chart"):
        assert "<a href" not in chart.proto.spec and "<b>" not in chart.proto.spec


def test_failed_upload_messages_escape_file_names_and_header_cells(hostile_db, monkeypatch, tmp_path):
    path, codes = hostile_db
    monkeypatch.setenv("MOTCUA_DB", str(path))
    monkeypatch.setenv("MOTCUA_USERS", str(tmp_path / "absent.toml"))
    at = _page("du_lieu", codes)
    at.session_state["last_import"] = pd.DataFrame([{
        "file_name": FILE_NAME, "status": "failed", "status_label": "Lỗi", "rows_read": 0, "rows_loaded": 0,
        "rows_new": 0, "rows_updated": 0, "rows_rejected": 0,
        "message": "Không tìm thấy cột 'Mã hồ sơ'; dòng tiêu đề có ô ':red[x]' và '[bấm](http://x)'."}])
    at.run()
    errors = [e.value for e in at.error]
    assert errors and _unescaped(errors) == []
    assert fmt.md(FILE_NAME) in errors[0]


@pytest.mark.parametrize("text", [*UNIT_NAMES, PROCEDURE, FIELD, FILE_NAME, "www.evil.example a@b.vn",
                                  "dòng 1\n# dòng 2", "# tiêu đề", "1. mục", "- mục", "`code` **đậm** _nghiêng_ ~~gạch~~ <b>b</b> \\"])
def test_md_escapes_every_markdown_construct(text):
    escaped = fmt.md(text)
    unescaped = re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "")
    assert unescaped == re.sub(r"[\r\n]+", " ", text)  # shows the same characters, on one line
    assert not re.search(r"[\\`*_{}\[\]<>!~:$|]", re.sub(r"\\.", "", escaped))  # Markdown openers escaped
    assert not re.match(r"\s*([#+=>-]|\d+[.)])", re.sub(r"\\.", "", escaped))  # no block at the start
    assert "://" not in unescaped.replace("\u2060", "") or "\u2060" in escaped  # no bare autolink


def test_chart_titles_and_labels_escape_html():
    frame = pd.DataFrame({"key": ["a", "b"], "label": [PROCEDURE, UNIT_NAMES[0]], "on_time_rate_766": [0.5, 0.7]})
    fig = charts.rates_by_unit(frame, "on_time_rate_766", caption=f"Đơn vị {PROCEDURE}")
    spec = fig.to_json()
    assert "<a href" not in spec and "&lt;a href" in spec
    long = pd.DataFrame({"unit": [PROCEDURE], "month": ["T1"], "on_time_rate_766": [0.5]})
    for built in (charts.heatmap_unit_month(long, "on_time_rate_766", "c"),
                  charts.small_multiples(long, "on_time_rate_766", "c")):
        assert "<a href" not in built.to_json()
    assert fmt.plotly_text("%{y} <b>") == "%&#123;y} &lt;b&gt;"


def test_word_draft_keeps_names_with_control_characters():
    from docx import Document

    from motcua.report import word

    document = Document()
    word._paragraph(document, "Xã Tứ\x01 Kỳ\x0b ![px](http://host/x.png)")  # python-docx refused this text
    assert document.paragraphs[-1].text == "Xã Tứ Kỳ ![px](http://host/x.png)"  # Word shows text literally

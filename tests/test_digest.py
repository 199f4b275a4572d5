"""Digests: what a chair and an officer receive, and that no digest holds another unit's data."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from dbfactory import build_db, commune_codes, make_dossiers

from motcua import db as dbmod
from motcua.auth import User
from motcua.digest import WAITING, DigestOptions, build_digest, current_period, recipients, to_message
from motcua.filters import Scope
from motcua.metrics import COUNTS, Settings, at_risk, compute_kpis, dossier_list

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    codes = commune_codes()  # Ba Đình, Hoàn Kiếm, Sóc Sơn
    frame = make_dossiers(900, codes, datetime(2026, 7, 1), datetime(2026, 11, 20), seed=5)
    # Hostile text from an export must reach the e-mail escaped and the workbook neutralised.
    first_open = frame.index[frame["finished_at"].isna() & (frame["receiving_unit_code"] == codes[0])][0]
    frame.loc[first_open, "procedure_name"] = '<script>alert("x")</script>=HYPERLINK("http://evil")'
    return dbmod.Database(build_db(tmp_path_factory.mktemp("digest") / "motcua.duckdb", frame)), codes


def users(codes):
    return {
        "chair_a": User("chutich.badinh", "chair", (codes[0],), "Chủ tịch Ba Đình", "ct.badinh@hn.gov.vn"),
        "chair_b": User("chutich.hoankiem", "chair", (codes[1],), "", "ct.hoankiem@hn.gov.vn"),
        "officer": User("canbo.hn", "officer", (codes[0], codes[2]), "Cán bộ Sở", "canbo@hn.gov.vn"),
    }


def everything_in(digest) -> str:
    """Subject, both bodies and every cell of the attachment, as one text."""
    workbook = openpyxl.load_workbook(io.BytesIO(digest.xlsx))
    cells = [str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    return "\n".join([digest.subject, digest.text, digest.html, *cells])


def unit_name(database, code):
    return database.query_rows("SELECT name FROM units WHERE code = ?", [code])[0][0]


def test_no_digest_contains_another_units_data(database):
    db, codes = database
    names = {code: unit_name(db, code) for code in codes}
    for key, user in users(codes).items():
        content = everything_in(build_digest(db, user, TODAY))
        allowed = set(user.units)
        seen_codes = set(re.findall(r"\b(\d{5})-\d{6}-\d{6}\b", content))  # dossier codes start with the unit
        assert seen_codes <= allowed, key
        for code in set(codes) - allowed:
            assert names[code] not in content, (key, names[code])
        for code in allowed:
            assert names[code] in content, key
    chair = everything_in(build_digest(db, users(codes)["chair_a"], TODAY))
    assert re.search(rf"\b{codes[0]}-\d{{6}}-\d{{6}}\b", chair)  # the check above is not vacuous


def test_chair_digest_lists_overdue_and_due_soon_from_the_metric_library(database):
    db, codes = database
    user = users(codes)["chair_a"]
    digest = build_digest(db, user, TODAY, Settings(at_risk_days=3), DigestOptions(max_rows=5))
    risk = at_risk(db, Scope(unit_codes=(codes[0],)), TODAY, Settings(at_risk_days=3))
    overdue, soon = (risk["risk"] == "overdue").sum(), (risk["risk"] == "due_soon").sum()
    assert overdue > 5 and soon > 0
    assert digest.subject == (f"[Một Cửa KPI] Phường Ba Đình – Quý 4/2026: {overdue} hồ sơ quá hạn, "
                              f"{soon} sắp đến hạn")
    _, to_date = current_period(TODAY, "quarter")
    kpis = compute_kpis(db, Scope(unit_codes=(codes[0],)), to_date)
    assert f"Tổng số hồ sơ nhận giải quyết | {kpis['received']['total']:,}".replace(",", ".") in digest.text
    assert f"… và {overdue - 5} dòng khác" in digest.text  # the body is capped, the workbook is not
    workbook = openpyxl.load_workbook(io.BytesIO(digest.xlsx))
    overdue_sheet = workbook.worksheets[1]
    assert overdue_sheet.max_row - 4 == overdue  # header at row 4, then one row per dossier
    assert isinstance(overdue_sheet.cell(5, 4).value, datetime)  # dates stay dates
    headline = workbook.worksheets[0]
    rates = {row[0]: row[1] for row in headline.iter_rows(min_row=5, values_only=True)}
    assert rates["Tỷ lệ hồ sơ trực tuyến"] == pytest.approx(kpis["rates"]["online_rate"])
    assert headline.cell(5, 2).number_format == "#,##0"


def test_hostile_text_is_escaped_in_html_and_neutralised_in_xlsx(database):
    db, codes = database
    digest = build_digest(db, users(codes)["chair_a"], TODAY, Settings(at_risk_days=30),
                          DigestOptions(max_rows=10_000))
    assert "<script>" not in digest.html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in digest.html
    workbook = openpyxl.load_workbook(io.BytesIO(digest.xlsx))
    values = [c for s in workbook for row in s.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any("HYPERLINK" in v for v in values)
    assert not any(v.startswith("=") for v in values)


def test_officer_gets_the_league_table_of_their_scope(database):
    db, codes = database
    digest = build_digest(db, users(codes)["officer"], TODAY)
    lines = [line for line in digest.text.splitlines() if " | " in line]
    assert lines.pop(0).startswith("Hạng | Đơn vị | Tổng hồ sơ")
    assert {line.split(" | ")[1] for line in lines[:-1]} == {unit_name(db, codes[0]), unit_name(db, codes[2])}
    assert lines[-1].split(" | ")[1] == "Tổng cộng" and lines[0].startswith("1 | ")
    _, to_date = current_period(TODAY, "quarter")
    kpis = compute_kpis(db, Scope(unit_codes=(codes[0], codes[2])), to_date)
    assert lines[-1].split(" | ")[2] == f"{kpis['received']['total']:,}".replace(",", ".")


def test_admins_get_no_digest_and_users_without_email_are_reported(database):
    db, codes = database
    admin = User("admin", "admin", ())
    assert build_digest(db, admin, TODAY) is None
    no_mail = User("ct.khac", "chair", (codes[1],))
    send, skipped = recipients([admin, no_mail, *users(codes).values()])
    assert [u.username for u in send] == ["canbo.hn", "chutich.badinh", "chutich.hoankiem"]
    assert [u.username for u in skipped] == ["ct.khac"]


def test_message_has_text_html_and_the_workbook(database):
    db, codes = database
    digest = build_digest(db, users(codes)["chair_b"], TODAY)
    message = to_message(digest, "Một Cửa KPI <kpi@hn.gov.vn>")
    assert message["To"] == '"chutich.hoankiem" <ct.hoankiem@hn.gov.vn>'  # no display name: the user name
    parts = [part.get_content_type() for part in message.walk()]
    assert parts == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "tong-hop-phuong-hoan-kiem-20261120.xlsx"
    assert attachment.get_content() == digest.xlsx


@pytest.mark.skipif(WAITING not in COUNTS, reason="the metric library has no waiting_supplement count yet")
def test_chair_digest_lists_dossiers_waiting_for_a_supplement(database):
    db, codes = database
    digest = build_digest(db, users(codes)["chair_a"], TODAY)
    _, to_date = current_period(TODAY, "quarter")
    waiting = dossier_list(db, Scope(unit_codes=(codes[0],)), to_date, WAITING, limit=None)
    workbook = openpyxl.load_workbook(io.BytesIO(digest.xlsx))
    sheet = next(s for s in workbook if s.title.startswith("Hồ sơ đang chờ bổ sung"))
    assert sheet.max_row - 4 == len(waiting) or (len(waiting) == 0 and sheet.max_row <= 6)
    assert f"{COUNTS[WAITING]} | {len(waiting)}" in digest.text

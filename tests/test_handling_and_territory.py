"""Issue 17: who handles a dossier, re-appointments, and dossiers received regardless of boundaries."""

from __future__ import annotations

import csv

import duckdb
import pytest

from loaders.locality import locality_of, locate
from loaders.pipeline import import_files
from motcua import db as dbmod
from motcua import metrics
from motcua import units as unitsmod
from motcua.filters import Scope
from motcua.periods import parse_period
from motcua.report.data import collect
from motcua.report.word import non_territorial_sentence, reappointment_sentence

HEADER = ["STT", "Mã hồ sơ", "Chủ hồ sơ", "Địa chỉ", "Số điện thoại", "Tên thủ tục", "Ngày tiếp nhận",
          "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái", "Phòng ban xử lý", "Cán bộ xử lý", "Số lần hẹn lại"]
ADDRESSES = {
    "in_commune": "Thôn Đông, xã Tứ Kỳ, TP Hải Phòng",
    "other_commune": "Số 12 ngõ Hoa Sữa, phường Hải Dương, thành phố Hải Phòng",
    "other_province": "Xóm 3, tỉnh Nghệ An",
    "old_same_commune": "Thôn Đông, xã Quang Phục, huyện Tứ Kỳ, tỉnh Hải Dương",  # abolished, now Xã Tứ Kỳ
    "old_other_commune": "xã Thanh Xá, huyện Thanh Hà, tỉnh Hải Dương",  # now Xã Thanh Hà
    "street_only": "Số 5 ngõ 7 đường Hoàng Quốc Việt",
}
# (code, address key, received, due, finished, status, department, officer, re-appointments)
ROWS = [
    ("H-001", "in_commune", "02/07/2026 08:00", "10/07/2026", "08/07/2026 09:00", "Đã trả kết quả",
     "Văn phòng HĐND và UBND", "Trần Thị Bình", ""),
    ("H-002", "other_commune", "03/07/2026 08:00", "06/07/2026", "09/07/2026 10:00", "Đã trả kết quả",
     "Văn phòng HĐND và UBND", "Trần Thị Bình", "1"),
    ("H-003", "other_province", "06/07/2026 08:00", "08/07/2026", "", "Đang xử lý",
     "Phòng Kinh tế", "Lê Văn Cường", "2"),
    ("H-004", "street_only", "07/07/2026 08:00", "30/09/2026", "", "Đang xử lý", "Phòng Kinh tế", "", ""),
    ("H-005", "in_commune", "08/07/2026 08:00", "09/07/2026", "", "Đang xử lý", "", "Lê Văn Cường", ""),
    ("H-006", "old_same_commune", "09/07/2026 08:00", "30/09/2026", "", "Đang xử lý", "Phòng Kinh tế", "", ""),
    ("H-007", "old_other_commune", "09/07/2026 09:00", "30/09/2026", "", "Đang xử lý", "Phòng Kinh tế", "", ""),
]
NAMES = ("Trần Thị Bình", "Lê Văn Cường")
APPLICANT = "Nguyễn Văn Ất"
PHONE = "0912345678"


def _write_export(path):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ỦY BAN NHÂN DÂN XÃ TỨ KỲ"])
        writer.writerow(HEADER)
        for number, (code, address, received, due, finished, status, dept, officer, again) in enumerate(ROWS, 1):
            writer.writerow([number, code, APPLICANT, ADDRESSES[address], PHONE, "Chứng thực bản sao",
                             received, due, finished, status, dept, officer, again])
    return path


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    def load(store_names: bool):
        site = tmp_path / "site.toml"
        site.write_text(f"store_officer_names = {'true' if store_names else 'false'}\n", encoding="utf-8")
        monkeypatch.setenv("MOTCUA_SITE", str(site))
        db_path = tmp_path / f"names_{store_names}.duckdb"
        summary = import_files([str(_write_export(tmp_path / "ho_so.csv"))], db_path=str(db_path))
        assert summary.ok, summary.to_dict()
        return dbmod.Database(str(db_path)), db_path

    return load


def _stored_texts(db_path) -> str:
    """Every text value of every table and column of the published file."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        texts = []
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            columns = [name for name, kind in con.execute(
                f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{table}'").fetchall()
                if kind == "VARCHAR"]
            for column in columns:
                texts += [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall() if v]
        return "\n".join(texts)
    finally:
        con.close()


def test_addresses_and_applicants_are_never_stored(loaded):
    _database, db_path = loaded(store_names=True)
    stored = _stored_texts(db_path)
    for secret in (APPLICANT, PHONE, "Hoa Sữa", "Thôn Đông", "Xóm 3", "Hoàng Quốc Việt", *ADDRESSES.values()):
        assert secret not in stored


def test_officer_names_absent_unless_enabled(loaded):
    _database, db_path = loaded(store_names=False)
    stored = _stored_texts(db_path)
    assert not any(name in stored for name in NAMES)
    assert "Phòng Kinh tế" in stored  # the department is always kept
    _database, db_path = loaded(store_names=True)
    assert all(name in _stored_texts(db_path) for name in NAMES)


def test_non_territorial_flag_derived_from_the_address(loaded):
    database, _path = loaded(store_names=False)
    flags = dict(database.query_rows("SELECT dossier_code, non_territorial FROM dossiers"))
    assert flags == {"H-001": False, "H-002": True, "H-003": True, "H-004": None, "H-005": False,
                     "H-006": False, "H-007": True}
    kpis = metrics.compute_kpis(database, Scope(), parse_period("2026Q3"))
    assert kpis["received"]["non_territorial"] == 3 and kpis["received"]["non_territorial_known"] == 6
    assert kpis["rates"]["non_territorial_rate"] == pytest.approx(3 / 6)
    assert "3 hồ sơ không phụ thuộc địa giới hành chính" in non_territorial_sentence(kpis)


def test_exported_flag_column_wins_and_unknown_is_null(tmp_path):
    path = tmp_path / "flag.csv"
    path.write_text("Mã hồ sơ,Ngày tiếp nhận,Không phụ thuộc địa giới hành chính,Địa chỉ\n"
                    "F-1,02/07/2026,Có,\"xã Tứ Kỳ, TP Hải Phòng\"\nF-2,02/07/2026,Không,\nF-3,02/07/2026,,\n",
                    encoding="utf-8")
    summary = import_files([str(path)], db_path=str(tmp_path / "f.duckdb"), unit="Xã Tứ Kỳ")
    assert summary.ok
    flags = dict(dbmod.Database(str(tmp_path / "f.duckdb")).query_rows(
        "SELECT dossier_code, non_territorial FROM dossiers"))
    assert flags == {"F-1": True, "F-2": False, "F-3": None}


def test_zero_non_territorial_is_said_as_the_inspection_wrote():
    kpis = {"received": {"new": 3, "non_territorial": 0, "non_territorial_known": 3},
            "rates": {"non_territorial_rate": 0.0}}
    assert non_territorial_sentence(kpis) == ("Trong kỳ chưa phát sinh hồ sơ tiếp nhận không phụ thuộc địa giới "
                                              "hành chính.")
    unknown = {"received": {"new": 3, "non_territorial": None, "non_territorial_known": 0}, "rates": {}}
    assert non_territorial_sentence(unknown) == ""  # no data is not "chưa phát sinh"


@pytest.mark.parametrize("address, expected", [
    ("Thôn 3, xã Tứ Kỳ, huyện Tứ Kỳ, tỉnh Hải Dương", "xã Tứ Kỳ, huyện Tứ Kỳ, tỉnh Hải Dương"),
    ("Số 12 Lê Lợi, P. Hải Dương, TP Hải Phòng", "P. Hải Dương, TP Hải Phòng"),
    ("Xóm 2 - Xã Thanh Xá - Huyện Thanh Hà - Hải Dương", "Xã Thanh Xá, Huyện Thanh Hà, Hải Dương"),
    ("Thôn 1, Hà Nội", "Hà Nội"),
    ("Số 5 ngõ 7 đường Hoàng Quốc Việt", None),
    ("", None),
])
def test_locality_keeps_only_the_administrative_tail(address, expected):
    assert locality_of(address) == expected


@pytest.mark.parametrize("tail, commune, province", [
    ("xã Tứ Kỳ, TP Hải Phòng", "11074", "31"),
    # An old ward: the unit history (issue 10) knows it and its successor, Phường Sài Gòn.
    ("Phường Bến Nghé, Quận 1, TP Hồ Chí Minh", "26740", "79"),
    ("tỉnh Nghệ An", None, "40"),
    # Old addresses naming communes abolished on 1/7/2025 stand for their successors.
    ("xã Quang Phục, huyện Tứ Kỳ, tỉnh Hải Dương", "11074", "31"),
    ("xã Thanh Xá, huyện Thanh Hà, tỉnh Hải Dương", "10813", "31"),
    ("xã Tứ Kỳ, tỉnh Quảng Ninh", None, "22"),  # same name in another province is never a guess
    ("Nguyễn Văn A", None, None),
])
def test_locate_resolves_commune_and_province(tail, commune, province):
    con = dbmod.connect_memory()
    unitsmod.seed_units(con)
    assert locate(con, tail) == (commune, province)


def test_departments_breakdown_and_reappointments(loaded):
    database, _path = loaded(store_names=True)
    period = parse_period("2026Q3")
    by_department = metrics.breakdown(database, Scope(), period, "department").set_index("label")
    assert by_department.loc["Phòng Kinh tế", "overdue"] == 1  # H-003 (due 08/07, still open)
    assert by_department.loc["Văn phòng HĐND và UBND", "late"] == 1  # H-002
    assert by_department.loc["Chưa rõ phòng ban", "overdue"] == 1  # H-005
    by_officer = metrics.breakdown(database, Scope(), period, "officer").set_index("label")
    assert by_officer.loc["Lê Văn Cường", "overdue"] == 2
    kpis = metrics.compute_kpis(database, Scope(), period)
    assert kpis["reappointed_more_than_once"] == 1  # H-003: two re-appointments
    overdue = metrics.dossier_list(database, Scope(), period, "overdue").set_index("dossier_code")
    assert overdue.loc["H-003", "reappointed"] and not overdue.loc["H-005", "reappointed"]
    assert overdue.loc["H-003", "handling_department"] == "Phòng Kinh tế"
    data = collect(database, Scope(), period)
    sentence = reappointment_sentence(data)
    assert "chưa có văn bản xin lỗi" in sentence and "quá một lần" in sentence


# --- dashboard: who sees officials' names --------------------------------------------------------------

def _dashboard_env(tmp_path, monkeypatch, store_names: bool):
    """Communes A and B with departments and officers; users: chair of A, chair of B."""
    from datetime import datetime

    import dbfactory

    from motcua import auth

    a, b, _c = dbfactory.commune_codes()
    frame = dbfactory.make_dossiers(300, [a, b], datetime(2026, 4, 1), datetime(2026, 6, 28))
    frame["handling_officer"] = [f"Cán bộ {'An' if code == a else 'Bảo'} {i % 3}"
                                 for i, code in enumerate(frame["receiving_unit_code"])]
    db_path = dbfactory.build_db(tmp_path / "motcua.duckdb", frame)
    users = tmp_path / "users.toml"
    auth.save_users(auth.UserDirectory(path=users, users={
        "chair_a": auth.User("chair_a", "chair", (a,)), "chair_b": auth.User("chair_b", "chair", (b,))}))
    site = tmp_path / "site.toml"
    site.write_text(f"store_officer_names = {'true' if store_names else 'false'}\n", encoding="utf-8")
    monkeypatch.setenv("MOTCUA_DB", str(db_path))
    monkeypatch.setenv(auth.USERS_ENV, str(users))
    monkeypatch.setenv("MOTCUA_SITE", str(site))
    return a, b


def _progress_page(username: str):
    from streamlit.testing.v1 import AppTest

    from dashboard import auth_ui

    script = ("from dashboard import pickers, state\nfrom dashboard.views import tien_do\n"
              "state.begin_run()\npickers.render_sidebar()\ntien_do.render()\n")
    at = AppTest.from_string(script, default_timeout=60)
    at.session_state[auth_ui.SESSION_KEY] = username
    at.query_params["period"] = "2026Q2"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.apptest
@pytest.mark.parametrize("store_names", [False, True])
def test_officer_grouping_only_when_enabled_and_only_own_names(tmp_path, monkeypatch, store_names):
    _dashboard_env(tmp_path, monkeypatch, store_names)
    at = _progress_page("chair_b")
    at.session_state["progress_by"] = "officer"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(frame.value.to_dict()) for frame in at.dataframe)
    assert "Cán bộ An" not in shown  # commune A's officers never reach B's chair
    if store_names:
        assert "Cán bộ Bảo" in shown
    else:
        assert "Cán bộ Bảo" not in shown and "Cán bộ An" not in shown
    at.session_state["progress_by"] = "department"
    at.run()
    assert "Phòng Kinh tế" in " ".join(str(frame.value.to_dict()) for frame in at.dataframe)


@pytest.mark.parametrize("address", ["Thôn Như Lâm", "Ngõ Hoa Sữa", "Ấp Bình Thuận", "Khu phố Mới"])
def test_a_bare_hamlet_or_street_is_never_a_locality(address):
    assert locality_of(address) is None


def test_a_new_due_date_after_a_supplement_is_not_an_apology(tmp_path):
    """The restarted clock after a supplement (NĐ 61/2018 Art 19(4)) moves the due date too; only a new due
    date without a supplement request, or an exported re-appointment count, is a re-appointment."""
    path = tmp_path / "reappointed.csv"
    path.write_text(
        "Mã hồ sơ,Ngày tiếp nhận,Ngày hẹn trả,Ngày hẹn trả mới,Ngày yêu cầu bổ sung,Ngày nhận bổ sung,Trạng thái\n"
        "R-1,01/07/2026,03/07/2026,08/07/2026,,,Đang xử lý\n"
        "R-2,01/07/2026,03/07/2026,08/07/2026,02/07/2026,03/07/2026,Đang xử lý\n"
        "R-3,01/07/2026,03/07/2026,,,,Đang xử lý\n", encoding="utf-8")
    db_path = tmp_path / "r.duckdb"
    assert import_files([str(path)], db_path=str(db_path), unit="Xã Tứ Kỳ").ok
    listed = metrics.dossier_list(dbmod.Database(str(db_path)), Scope(), parse_period("2026Q3"), "received_total")
    assert dict(zip(listed["dossier_code"], listed["reappointed"], strict=True)) == {
        "R-1": True, "R-2": False, "R-3": False}

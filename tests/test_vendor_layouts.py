"""Real vendor layouts (tests/vendor_layouts.py) load without --unit and give the hand-counted KPIs."""

from __future__ import annotations

import pytest
import vendor_layouts as layouts

from loaders import pipeline
from loaders.model import LoadError
from loaders.readers import read_file
from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period

COUNT_KEYS = ("received_total", "online", "direct", "postal", "early", "on_time", "late", "within_deadline",
              "overdue")


def _tu_ky(database: dbmod.Database) -> str:
    rows = database.query_rows("SELECT code FROM units WHERE name = 'Xã Tứ Kỳ' AND in_catalogue")
    assert len(rows) == 1
    return rows[0][0]


def _load(tmp_path, layout: layouts.Layout):
    db_path = tmp_path / "kpi.duckdb"
    summary = pipeline.import_files([layout.path], db_path=db_path)  # no --unit: the file names its unit
    return summary.files[0], dbmod.Database(db_path)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Each layout built and imported once for the module: name -> (layout, FileResult, Database)."""
    cache: dict = {}

    def load(name: str):
        if name not in cache:
            directory = tmp_path_factory.mktemp(name)
            layout = layouts.BUILDERS[name](directory)
            cache[name] = (layout, *_load(directory, layout))
        return cache[name]

    return load


@pytest.mark.parametrize("name", sorted(layouts.BUILDERS))
def test_layout_loads_with_hand_counted_kpis(loaded, name):
    layout, result, database = loaded(name)
    assert result.status == pipeline.STATUS_LOADED, result.message
    assert (result.rows_loaded, result.rows_rejected, result.rows_skipped) == (
        layout.loaded, layout.rejected, layout.skipped), result.reject_samples
    code = _tu_ky(database)
    # Every dossier lands on the real commune: no legacy "Xã Tứ Kỳ ( 19 )" or other made-up unit.
    units = database.query_rows("SELECT DISTINCT receiving_unit_code FROM dossiers")
    assert units == [(code,)]
    counts = metrics.kpi_counts(database, Scope(unit_codes=(code,)), parse_period("2026Q2"))
    assert {key: counts[key] for key in COUNT_KEYS} == layout.counts
    stored = " ".join(str(value) for row in database.query_rows("SELECT * FROM dossiers") for value in row)
    assert all(value not in stored for value in layouts.PERSON)


def test_register_headers_dates_and_title_table(tmp_path):
    """Two header rows, "HH:mm, DD/MM/YYYY" receptions, the unit in a separate title <table>."""
    table = read_file(layouts.register_html(tmp_path).path)[0]
    assert table.title_unit == "Xã Tứ Kỳ"
    assert {"received_at", "due_at", "returned_at"} <= set(table.column_map.values())
    assert table.table.column("received_at").to_pylist()[0] == "08:15, 02/04/2026"
    assert str(table.period_from) == "2026-04-01"


def test_register_error_names_the_data_table(tmp_path):
    layout = layouts.register_html(tmp_path, break_data_table=True)
    with pytest.raises(LoadError) as error:
        read_file(layout.path)
    assert "Bảng 2" in str(error.value) and "Bảng 1" not in str(error.value)


def test_fee_list_unit_from_statistics_line(tmp_path):
    table = read_file(layouts.fee_list_html(tmp_path).path)[0]
    assert table.title_unit == "Xã Tứ Kỳ"
    assert table.skipped_rows.get("total") == 1


def test_opencps_group_count_numbering_row_and_columns(tmp_path):
    table = read_file(layouts.opencps_list(tmp_path).path)[0]
    assert table.title_unit == "Xã Tứ Kỳ"
    assert set(table.table.column("group_label").to_pylist()) == {"UBND xã Tứ Kỳ"}
    assert table.skipped_rows.get("numbering") == 1 and table.skipped_rows.get("group") == 1
    assert table.column_map["Hạn xử lý"] == "time_status"
    assert table.column_map["Trực tuyến"] == "online_flag"
    assert table.column_map["Ngày gửi"] == "submitted_at"


def test_opencps_statistic_due_column_stays_a_date(tmp_path):
    table = read_file(layouts.opencps_statistic(tmp_path).path)[0]
    assert table.column_map["Hạn xử lý"] == "due_at"
    assert table.skipped_rows.get("numbering") == 1


def test_opencps_statuses_and_time_labels_stored(loaded):
    _, _, database = loaded("opencps_list")
    rows = dict(database.query_rows("SELECT dossier_code, status FROM dossiers"))
    assert rows["TK-OC-10"] == 8 and rows["TK-OC-11"] == 2  # refused while processing; waiting but received
    labels = dict(database.query_rows("SELECT dossier_code, time_status FROM dossiers"))
    assert (labels["TK-OC-01"], labels["TK-OC-06"], labels["TK-OC-07"], labels["TK-OC-08"]) == (
        "truoc_han", "trong_han", "qua_han", "tam_dung")
    # No end date is ever made up; the data-quality page lists the resolved dossiers without one.
    assert database.query_rows("SELECT count(*) FROM dossiers WHERE finished_at IS NOT NULL "
                               "OR returned_at IS NOT NULL") == [(0,)]
    quality = metrics.data_quality(database, Scope())
    flagged = quality.set_index("check").loc["closed_without_end_date", "count"]
    assert flagged == 6


def test_portal_push_resolved_without_end_date_is_rejected_with_reason(loaded):
    _, _, database = loaded("portal_push")
    reasons = database.query_rows("SELECT row_number, reason FROM rejects")
    assert len(reasons) == 1 and "không có ngày kết thúc" in reasons[0][1] and "không tự đặt ngày" in reasons[0][1]
    assert database.query_rows("SELECT count(*) FROM dossiers WHERE dossier_code = 'TK-DB-02'") == [(0,)]


def test_not_received_rows_are_skipped_not_rejected(loaded):
    _, result, database = loaded("dossier_list_html")
    assert result.rows_skipped == 2
    assert "bỏ qua 2 dòng" in result.message
    reasons = [reason for (reason,) in database.query_rows("SELECT reason FROM rejects")]
    assert len(reasons) == 1 and "Đã trả kết quả" in reasons[0]


def test_older_list_body_realigned_by_content(tmp_path):
    table = read_file(layouts.older_list_html(tmp_path).path)[0]
    first = {name: table.table.column(name)[0].as_py() for name in table.table.column_names}
    assert first["dossier_code"] == "TK-DS-01" and first["status"] == "Đã trả kết quả"
    assert first["procedure_name"] == "Đăng ký khai sinh" and first["finished_at"] == "03/04/2026"


def test_body_two_cells_short_is_a_plain_error(tmp_path):
    layout = layouts.older_list_html(tmp_path, cells_missing=2)
    with pytest.raises(LoadError) as error:
        read_file(layout.path)
    message = str(error.value)
    assert "ít ô hơn dòng tiêu đề" in message and "12 ô" in message and "10 ô" in message


def test_official_register_form_headers_and_group_counts():
    """The register of the official form (TT 01/2018) and group counts written as "(19 hồ sơ)"."""
    from loaders.headers import detect_header, strip_count

    rows = [["STT", "Mã hồ sơ", "Tên TTHC", "Số lượng hồ sơ", "Tên cá nhân, tổ chức", "Địa chỉ, số điện thoại",
             "Cơ quan chủ trì giải quyết", "Ngày, tháng, năm", None, None, None, None, "Ghi chú"],
            [None] * 7 + ["Nhận hồ sơ", "Hẹn trả kết quả", "Chuyển hồ sơ đến cơ quan giải quyết",
                          "Nhận kết quả từ cơ quan giải quyết", "Trả kết quả cho cá nhân, tổ chức", None]]
    match = detect_header(rows)
    assert match.columns == {1: "dossier_code", 2: "procedure_name", 7: "received_at", 8: "due_at",
                             10: "finished_at", 11: "returned_at"}
    assert match.dropped_pii == ["Tên cá nhân, tổ chức", "Địa chỉ, số điện thoại"]
    assert strip_count("UBND xã Tứ Kỳ (19 hồ sơ)") == strip_count("UBND xã Tứ Kỳ ( 19 )") == "UBND xã Tứ Kỳ"


def test_resolved_without_end_date_needs_an_outcome_label(tmp_path):
    """Sớm/đúng/quá hạn count a resolved dossier without end date; "Còn 3 ngày" or nothing cannot."""
    path = tmp_path / "nhan.csv"
    path.write_text("UBND xã Tứ Kỳ\nMã hồ sơ;Ngày tiếp nhận;Trạng thái;Tiến độ\n"
                    "A-1;02/04/2026;Đã trả kết quả;Sớm hạn\nA-2;02/04/2026;Đã trả kết quả;Còn 3 ngày\n"
                    "A-3;02/04/2026;10;\nA-4;02/04/2026;Không được tiếp nhận;\n", encoding="utf-8")
    result, database = _load(tmp_path, layouts.Layout(path, {}, loaded=0))
    assert (result.rows_loaded, result.rows_rejected, result.rows_skipped) == (2, 2, 0)
    rejected = {row for (row,) in database.query_rows("SELECT row_number FROM rejects")}
    assert rejected == {4, 5}  # A-4 has a reception date: refused at reception, stored, never counted


@pytest.mark.parametrize("numbering", [["(1)", "(2)", "(3)", "(4)"], ["A", "B", "1", "2"], ["1", "2", "3", "4"]])
def test_numbering_row_under_the_header_is_skipped(tmp_path, numbering):
    path = tmp_path / "so.csv"
    path.write_text("STT;Mã hồ sơ;Ngày tiếp nhận;Trạng thái\n" + ";".join(numbering)
                    + "\n1;HS-1;02/04/2026;Đang xử lý\n", encoding="utf-8")
    table = read_file(path)[0]
    assert table.skipped_rows == {"numbering": 1} and table.table.column("dossier_code").to_pylist() == ["HS-1"]

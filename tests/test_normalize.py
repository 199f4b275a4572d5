"""RawTable -> canonical rows: dates (never month-first), labels, units, rejects with column and value."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from loaders.model import LoadError, RawTable
from loaders.normalize import Normalizer
from motcua.db import connect_memory
from motcua.units import resolve_unit, seed_units

NOW = datetime(2026, 11, 23, 12, 0)


@pytest.fixture(scope="module")
def con():
    connection = connect_memory()
    seed_units(connection)
    yield connection
    connection.close()


def normalize(con, columns: dict[str, list], *, unit: str | None = "Phường Ba Đình", title_map=None,
              kind="dossiers"):
    """Run the normaliser on string columns; returns (result, ok rows by source_row, rejects)."""
    n = len(next(iter(columns.values())))
    data = {"source_row": pa.array(range(2, n + 2), pa.int32())}
    if kind == "dossiers" and "dossier_code" not in columns:
        data["dossier_code"] = pa.array([f"HS-{i}" for i in range(n)], pa.string())
    data |= {name: pa.array(values, pa.string()) for name, values in columns.items()}
    raw = RawTable("t.csv", "csv", "local", kind, pa.table(data), column_map=title_map or {})
    fallback = resolve_unit(con, unit) if unit else None
    normalizer = Normalizer(con, raw, import_id=7, fallback_unit=fallback, now=NOW)
    result = normalizer.dossiers() if kind == "dossiers" else normalizer.procedures()
    ok = con.execute("SELECT * FROM norm_ok ORDER BY 1").df() if kind == "procedures" else \
        con.execute("SELECT * FROM norm_ok ORDER BY source_row").df().set_index("source_row")
    rejects = con.execute("SELECT * FROM norm_rejects ORDER BY row_number, column_name").df()
    return result, ok, rejects


DATE_CASES = [
    ("03/04/2025", datetime(2025, 4, 3)),  # 3 April, never 4 March
    ("03/04/2025 14:05", datetime(2025, 4, 3, 14, 5)),
    ("03/04/2025 14:05:09", datetime(2025, 4, 3, 14, 5, 9)),
    ("3/4/2025", datetime(2025, 4, 3)),
    ("03-04-2025", datetime(2025, 4, 3)),
    ("20250403140509", datetime(2025, 4, 3, 14, 5, 9)),
    ("2025-04-03", datetime(2025, 4, 3)),
    ("2025-04-03 14:05:09", datetime(2025, 4, 3, 14, 5, 9)),
    ("2025-04-03T14:05:09", datetime(2025, 4, 3, 14, 5, 9)),
    ("2025-04-03T14:05:09.250", datetime(2025, 4, 3, 14, 5, 9, 250000)),
    ("2025-04-03T07:05:09Z", datetime(2025, 4, 3, 14, 5, 9)),  # UTC -> Asia/Ho_Chi_Minh
    ("2025-04-03T07:05:09.5Z", datetime(2025, 4, 3, 14, 5, 9, 500000)),
    ("2025-04-03T14:05:09+07:00", datetime(2025, 4, 3, 14, 5, 9)),
    ("2025-04-03T09:05:09+02:00", datetime(2025, 4, 3, 14, 5, 9)),
    ("2025-04-02T23:05:09-08:00", datetime(2025, 4, 3, 14, 5, 9)),
    ("45845.5", datetime.combine(date(1899, 12, 30), datetime.min.time()) + timedelta(days=45845.5)),
    ("24/11/2026 08:00", datetime(2026, 11, 24, 8, 0)),  # tomorrow morning is still allowed
]


def test_every_date_form(con):
    raws = [raw for raw, _ in DATE_CASES]
    result, ok, rejects = normalize(con, {"received_at": raws})
    assert rejects.empty, rejects.to_dict("records")
    assert result.rows_ok == len(DATE_CASES)
    for row, (raw, expected) in enumerate(DATE_CASES, start=2):
        assert ok.loc[row, "received_at"].to_pydatetime() == expected, raw


def test_excel_serial_example_is_7_july_2025(con):  # serial 45658 = 01/01/2025
    _, ok, _ = normalize(con, {"received_at": ["45845.5"]})
    assert ok.iloc[0]["received_at"].to_pydatetime() == datetime(2025, 7, 7, 12, 0)


@pytest.mark.parametrize(("raw", "fragment"), [
    ("12/31/2025", "Không đọc được ngày"),  # a month-first value in a day-first column: refused, never swapped
    ("31/02/2025", "Không đọc được ngày"),
    ("hôm qua", "Không đọc được ngày"),
    ("99999", "Không đọc được ngày"),  # implausible Excel serial
    ("31/12/1999", "trước 01/01/2000"),
    ("1999-12-31T23:00:00", "trước 01/01/2000"),
    ("25/11/2026", "tương lai"),
])
def test_bad_dates_are_rejected_naming_column_and_value(con, raw, fragment):
    # "13/01/2025" shows the column is day-first (a whole month-first column is refused: test_hostile_ingest).
    result, ok, rejects = normalize(con, {"received_at": [raw, "13/01/2025"]},
                                    title_map={"Ngày nhận hồ sơ": "received_at"})
    assert result.rows_ok == 1 and result.rows_rejected == 1
    reject = rejects.iloc[0]
    assert reject["row_number"] == 2
    assert reject["column_name"] == "Ngày nhận hồ sơ"  # the file's own header
    assert reject["raw_value"] == raw
    assert fragment in reject["reason"] and raw in reject["reason"]


def test_optional_dates_empty_are_null_and_bad_optional_date_rejects(con):
    result, ok, rejects = normalize(con, {
        "received_at": ["01/03/2025", "01/03/2025", "01/03/2025"],
        "due_at": ["", None, "sai ngày"],
        "finished_at": ["05/03/2025 10:00", None, None],
    })
    assert result.rows_ok == 2
    assert ok.loc[2, "due_at"] is None or str(ok.loc[2, "due_at"]) == "NaT"
    assert ok.loc[2, "state_at"].to_pydatetime() == datetime(2025, 3, 5, 10, 0)  # greatest timestamp
    assert ok.loc[3, "state_at"].to_pydatetime() == datetime(2025, 3, 1)
    assert list(rejects["column_name"]) == ["Ngày hẹn trả"]


def test_missing_code_or_received_at_is_rejected(con):
    result, _, rejects = normalize(con, {"dossier_code": [None, "A", "B"], "received_at": ["01/03/2025", None, "02/03/2025"]})
    assert result.rows_ok == 1
    assert set(rejects["reason"]) == {"Thiếu mã hồ sơ", "Thiếu ngày tiếp nhận (cột 'Ngày tiếp nhận')"}


def test_labels_are_mapped_and_unknown_labels_rejected(con):
    result, ok, rejects = normalize(con, {
        "received_at": ["01/03/2025"] * 6,
        "status": ["Đã trả kết quả", "4", "Quá hạn", "Lưu nháp", "Bay lên", None],
        "channel": ["Trực tuyến", "BCCI", None, "1", "2", "Bồ câu"],
        "dvc_level": ["Toàn trình", "Mức độ 3", None, "2", "4", "4"],
        "digitized": ["Có", "x", None, "Không", "1", "0"],
        "fee": ["1.234.500", "50.000 đ", None, "0", "", "1"],
        "charge": ["500", None, None, None, None, None],
        "finished_at": ["05/03/2025", None, None, None, None, None],
    })
    assert result.rows_ok == 3 and result.rows_rejected == 3
    assert list(ok["status"].astype("Int64")) == [10, 4, pd_na()]
    assert list(ok["status_raw"]) == ["Đã trả kết quả", "4", "Quá hạn"]
    assert list(ok["channel"]) == ["online", "postal", "direct"]  # missing channel -> direct (QĐ 766)
    assert list(ok["dvc_level"]) == ["toan_trinh", "mot_phan", "unknown"]
    # The column exists: a blank cell is an unticked box (no); a file without the column leaves NULL.
    assert list(ok["has_digitized_components"].astype("boolean")) == [True, True, False]
    assert list(ok["fee_amount"].astype("Int64")) == [1_235_000, 50_000, pd_na()]  # phí + lệ phí
    reasons = dict(zip(rejects["row_number"], rejects["reason"], strict=True))
    assert "nháp" in reasons[5]
    assert "Bay lên" in reasons[6]
    assert "Bồ câu" in reasons[7]


def pd_na():
    import pandas as pd

    return pd.NA


def test_duplicate_codes_in_file_keep_newest_then_last(con):
    result, ok, rejects = normalize(con, {
        "dossier_code": ["A", "A", "A", "B", "B"],
        "received_at": ["01/03/2025", "01/03/2025", "01/03/2025", "01/03/2025", "01/03/2025"],
        "finished_at": [None, "05/03/2025", None, "04/03/2025", "04/03/2025"],
    })
    assert result.rows_ok == 2 and result.rows_rejected == 3
    assert sorted(ok.index) == [3, 6]  # A: newest state (row 3); B: tie -> the last row (6)
    assert list(rejects["reason"]) == ["Mã hồ sơ trùng trong tệp; giữ dòng 3"] * 2 + [
        "Mã hồ sơ trùng trong tệp; giữ dòng 6"]


def test_unit_columns_resolve_once_and_default_resolving_unit(con):
    result, ok, rejects = normalize(con, {
        "received_at": ["01/09/2025"] * 4,
        "receiving_unit": ["Phường Hoàn Kiếm", "UBND phường Hoàn Kiếm", None, "Xã Thanh Xá"],
    }, unit=None)
    hoan_kiem = resolve_unit(con, "Phường Hoàn Kiếm").code
    assert list(ok["receiving_unit_code"]) == [hoan_kiem, hoan_kiem]
    assert list(ok["resolving_unit_code"]) == [hoan_kiem, hoan_kiem]
    reasons = dict(zip(rejects["row_number"], rejects["reason"], strict=True))
    assert "hãy dùng --unit" in reasons[4]  # empty unit cell and no fallback
    # Ambiguous (two pre-2025 communes, neither in Hà Nội): candidates listed with old district/province.
    assert "không rõ ràng" in reasons[5] and "tỉnh Phú Thọ" in reasons[5] and "tỉnh Hải Dương" in reasons[5]


def test_group_label_is_the_resolving_unit(con):
    _, ok, _ = normalize(con, {"received_at": ["01/03/2025"], "group_label": ["Phường Hoàn Kiếm"]})
    ba_dinh = resolve_unit(con, "Phường Ba Đình").code
    hoan_kiem = resolve_unit(con, "Phường Hoàn Kiếm").code
    assert ok.iloc[0]["resolving_unit_code"] == hoan_kiem
    assert ok.iloc[0]["receiving_unit_code"] == hoan_kiem  # the unit column wins over the fallback
    assert ba_dinh != hoan_kiem


def test_unknown_unit_name_is_rejected_alone(con):
    # Before: an unknown (here damaged) name was registered as a new legacy unit.
    _, ok, rejects = normalize(con, {"received_at": ["01/03/2025"] * 2,
                                     "receiving_unit": ["Xã Ph\ufffdợng Kỳ", "Xã Phượng Kỳ"]}, unit=None)
    assert list(rejects["row_number"]) == [2]
    assert "Không tìm thấy đơn vị 'Xã Ph\ufffdợng Kỳ'" in rejects.iloc[0]["reason"]
    assert list(ok["receiving_unit_code"]) == ["L-xa-phuong-ky"]
    assert con.execute("SELECT count(*) FROM units WHERE code LIKE 'L-xa-phuong-ky-cu%'").fetchone()[0] == 0


def test_no_unit_anywhere_is_a_load_error(con):
    with pytest.raises(LoadError, match="--unit"):
        normalize(con, {"received_at": ["01/03/2025"]}, unit=None)


def test_missing_required_column_is_a_load_error(con):
    with pytest.raises(LoadError, match="Ngày tiếp nhận"):
        normalize(con, {"due_at": ["01/03/2025"]})


def test_procedure_catalogue(con):
    result, ok, rejects = normalize(con, {
        "procedure_code": ["1.001193", "1.001022", None, "1.001193"],
        "procedure_name": ["Khai sinh cũ", "Kết hôn", "Không mã", "Đăng ký khai sinh"],
        "dvc_level": ["Toàn trình", "Một phần", "4", "4"],
        "legal_days": ["3", "5 ngày làm việc", "1", "3"],
    }, kind="procedures")
    assert result.rows_ok == 2 and result.rows_rejected == 1
    assert list(ok["procedure_name"]) == ["Kết hôn", "Đăng ký khai sinh"]  # ORDER BY code; last row wins
    assert list(ok["legal_days"]) == [5.0, 3.0]
    assert rejects.iloc[0]["reason"] == "Thiếu mã TTHC"


def test_result_before_reception_is_rejected_by_day(con):
    result, ok, rejects = normalize(con, {
        "received_at": ["20/08/2025 08:00", "20/08/2025 08:00", "20/08/2025 08:00"],
        "finished_at": ["01/08/2025 08:00", "20/08/2025", None],  # same day without a time is fine
        "returned_at": [None, None, "19/08/2025"],
    })
    assert result.rows_ok == 1 and list(ok.index) == [3]
    assert list(rejects["column_name"]) == ["Ngày có kết quả", "Ngày trả kết quả"]
    assert rejects.iloc[0]["reason"] == "Ngày '01/08/2025 08:00' ở cột 'Ngày có kết quả' trước ngày tiếp nhận 20/08/2025"

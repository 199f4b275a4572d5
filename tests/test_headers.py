"""Header detection: aliases, personal-data columns, header rows, title rows, cell cleaning."""

from __future__ import annotations

import unicodedata
from datetime import date

import pyarrow as pa
import pytest

from loaders.headers import (
    ALIASES,
    TIME_SUFFIX,
    clean_text_column,
    detect_header,
    is_pii_header,
    match_header,
    parse_title,
)
from loaders.model import PROCEDURE_FIELDS, RAW_FIELDS, LoadError

# Every alias listed in research/export_formats.md §2.4 / §7 and the brief, with its raw field.
SPEC_ALIASES = [
    ("Mã hồ sơ", "dossier_code"), ("Mã số hồ sơ", "dossier_code"), ("Số hồ sơ", "dossier_code"),
    ("Số biên nhận", "dossier_code"), ("Mã số biên nhận", "dossier_code"), ("MaHoSo", "dossier_code"),
    ("Tên thủ tục hành chính", "procedure_name"), ("Tên thủ tục", "procedure_name"), ("Thủ tục", "procedure_name"),
    ("TenTTHC", "procedure_name"), ("Mã TTHC", "procedure_code"), ("Mã thủ tục", "procedure_code"),
    ("MaTTHC", "procedure_code"), ("Lĩnh vực", "field_name"), ("Mã lĩnh vực", "field_code"),
    ("Mức độ", "dvc_level"), ("Mức độ DVC", "dvc_level"), ("Mức độ dịch vụ công", "dvc_level"),
    ("Kênh thực hiện", "channel"), ("Hình thức nộp", "channel"), ("Loại tiếp nhận", "channel"),
    ("Kiểu tiếp nhận", "channel"), ("Kênh tiếp nhận", "channel"), ("KenhThucHien", "channel"),
    ("Ngày nộp", "submitted_at"), ("Ngày nộp hồ sơ", "submitted_at"), ("NgayNopHoSo", "submitted_at"),
    ("Ngày tiếp nhận", "received_at"), ("Ngày nhận", "received_at"), ("Ngày nhận hồ sơ", "received_at"),
    ("NgayTiepNhan", "received_at"), ("Ngày hẹn trả", "due_at"), ("Ngày hẹn trả kết quả", "due_at"),
    ("Hạn xử lý", "due_at"), ("Hạn giải quyết", "due_at"), ("NgayHenTra", "due_at"),
    ("Ngày hẹn trả mới", "new_due_at"), ("Gia hạn đến", "new_due_at"),
    ("Ngày kết thúc xử lý", "finished_at"), ("Ngày có kết quả", "finished_at"),
    ("Ngày hoàn thành", "finished_at"), ("Ngày xử lý xong", "finished_at"), ("NgayKetThucXuLy", "finished_at"),
    ("Ngày trả", "returned_at"), ("Ngày trả kết quả", "returned_at"), ("Ngày thực trả", "returned_at"),
    ("NgayTra", "returned_at"), ("Trạng thái", "status"), ("Trạng thái hồ sơ", "status"),
    ("Tình trạng", "status"), ("TrangThaiHoSo", "status"), ("Tiến độ", "time_status"),
    ("Tình trạng xử lý", "time_status"), ("Đơn vị tiếp nhận", "receiving_unit"),
    ("Nơi tiếp nhận", "receiving_unit"), ("Bộ phận một cửa", "receiving_unit"),
    ("Đơn vị giải quyết", "resolving_unit"), ("Đơn vị xử lý", "resolving_unit"),
    ("Đơn vị/ cá nhân giải quyết", "resolving_unit"), ("Cơ quan giải quyết", "resolving_unit"),
    ("DonViXuLy", "resolving_unit"), ("Số hóa", "digitized"), ("Đã số hóa", "digitized"),
    ("Số hóa thành phần hồ sơ", "digitized"), ("HoSoCoThanhPhanSoHoa", "digitized"),
    ("Kết quả điện tử", "electronic_result"), ("Số hóa kết quả", "electronic_result"),
    ("Tái sử dụng", "reused"), ("Tái sử dụng dữ liệu số hóa", "reused"),
    ("Thanh toán trực tuyến", "paid_online"), ("DuocThanhToanTrucTuyen", "paid_online"),
    ("Phí (VNĐ)", "fee"), ("Lệ phí (VNĐ)", "charge"), ("Số lần bổ sung", "supplement_count"),
    ("Thời hạn giải quyết (ngày)", "legal_days"), ("Ngày yêu cầu bổ sung", "supplement_requested_at"),
    ("Ngày nhận bổ sung", "supplement_received_at"), ("Giờ nhận", "received_at" + TIME_SUFFIX),
    ("gioPhutHenTraHoSo", "due_at" + TIME_SUFFIX), ("Có phí/lệ phí", "has_fee"),
]


@pytest.mark.parametrize(("header", "expected"), SPEC_ALIASES)
def test_spec_aliases(header, expected):
    assert match_header(header) == expected


@pytest.mark.parametrize("header", ["MÃ HỒ SƠ", "ma ho so", "Mã  hồ\tsơ\t", "Mã hồ sơ (*)", "Mã-hồ-sơ"])
def test_header_noise_is_folded(header):
    assert match_header(unicodedata.normalize("NFD", header)) == "dossier_code"
    assert match_header(header) == "dossier_code"


def test_alias_table_only_targets_known_fields():
    known = set(RAW_FIELDS) | set(PROCEDURE_FIELDS) | {f + TIME_SUFFIX for f in RAW_FIELDS}
    assert set(ALIASES.values()) <= known
    assert match_header("Ghi chú") is None and match_header("") is None and match_header(None) is None


@pytest.mark.parametrize("header", [
    "Chủ hồ sơ", "Người nộp", "Tên người nộp", "Tổ chức/cá nhân", "Họ tên", "Họ và tên", "CCCD", "CMND",
    "Số CCCD/CMND", "Số giấy tờ", "Số định danh", "Số điện thoại", "SĐT", "Điện thoại", "Địa chỉ",
    "Địa chỉ thường trú", "Email", "Thư điện tử", "SoDienThoai",
])
def test_pii_headers(header):
    assert is_pii_header(header)
    assert is_pii_header(unicodedata.normalize("NFD", header.upper()))


@pytest.mark.parametrize("header", ["Đơn vị/ cá nhân giải quyết", "Mã hồ sơ", "Người tiếp nhận", "Ghi chú",
                                    "Tình trạng"])
def test_not_pii_headers(header):
    assert not is_pii_header(header)


def test_detect_header_after_title_rows_with_pii_and_unknown_columns():
    rows = [
        ["UBND XÃ A"], [], ["STT", "Mã hồ sơ", "Họ tên", "Ngày nhận", "Ngày hẹn trả", "Ghi chú"],
        ["1", "HS1", "X", "01/01/2024", "02/01/2024", ""],
    ]
    match = detect_header(rows)
    assert (match.first_row, match.last_row, match.kind, match.header_row) == (2, 2, "dossiers", 3)
    assert match.columns == {1: "dossier_code", 3: "received_at", 4: "due_at"}
    assert match.dropped_pii == ["Họ tên"] and match.ignored_columns == ["STT", "Ghi chú"]


def test_detect_two_level_header_forward_fills_parents():
    parent = ["STT", "Mã hồ sơ", "Ngày", None, None, "Số hóa", None, "Trạng thái"]
    child = [None, None, "Tiếp nhận", "Hẹn trả", "Trả kết quả", "Thành phần", "Kết quả", None]
    match = detect_header([["DANH SÁCH"], parent, child, ["1", "HS1"]])
    assert (match.first_row, match.last_row) == (1, 2)
    assert match.columns == {1: "dossier_code", 2: "received_at", 3: "due_at", 4: "returned_at",
                             5: "digitized", 6: "electronic_result", 7: "status"}


def test_duplicate_fields_keep_the_first_column():
    match = detect_header([["Mã hồ sơ", "Ngày nhận", "Ngày tiếp nhận", "Số hồ sơ", "Trạng thái"]])
    assert match.columns == {0: "dossier_code", 1: "received_at", 4: "status"}
    assert match.ignored_columns == ["Ngày tiếp nhận", "Số hồ sơ"]


def test_procedure_catalogue_header():
    match = detect_header([["Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Mức độ", "Có phí/lệ phí", "Thời hạn giải quyết"]])
    assert match.kind == "procedures"
    assert set(match.columns.values()) == {"procedure_code", "procedure_name", "field_name", "dvc_level",
                                           "has_fee", "legal_days"}


def test_missing_received_at_is_named():
    with pytest.raises(LoadError, match="thiếu cột bắt buộc 'Ngày tiếp nhận'.*'Mã hồ sơ', 'Trạng thái'"):
        detect_header([["Mã hồ sơ", "Trạng thái", "Ngày hẹn trả"]], file_name="a.xlsx")


def test_no_dossier_code_column_is_named():
    with pytest.raises(LoadError, match="'Mã hồ sơ'"):
        detect_header([["Tên thủ tục", "Ngày tiếp nhận", "Trạng thái", "Ngày hẹn trả"]])


def test_title_prefers_commune_and_reads_period_day_first():
    info = parse_title([
        ["UBND TỈNH HẢI DƯƠNG", None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
        ["UBND HUYỆN TỨ KỲ"],
        ["TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG XÃ TỨ KỲ"],
        ["BÁO CÁO\n(Từ ngày 01/02/2024 đến ngày 03/04/2024)"],
    ])
    assert info.unit == "Xã Tứ Kỳ"
    assert (info.period_from, info.period_to) == (date(2024, 2, 1), date(2024, 4, 3))


@pytest.mark.parametrize(("line", "unit"), [
    ("ỦY BAN NHÂN DÂN XÃ PHƯỢNG KỲ", "Xã Phượng Kỳ"),
    ("UBND PHƯỜNG ĐỨC THUẬN", "Phường Đức Thuận"),
    ("Ủy ban nhân dân xã Tân Tiến, tỉnh Đồng Nai", "Xã Tân Tiến, Tỉnh Đồng Nai"),
    ("UBND HUYỆN TỨ KỲ", "Huyện Tứ Kỳ"),
    ("Đơn vị: UBND xã Hà Kỳ", "Xã Hà Kỳ"),
    ("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ PHƯỜNG 12", "Phường 12"),
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", None),
])
def test_title_unit_lines(line, unit):
    assert parse_title([[unicodedata.normalize("NFD", line)]]).unit == unit


def test_impossible_period_is_ignored():
    info = parse_title([["(Từ ngày 31/02/2024 đến ngày 01/03/2024)"]])
    assert info.period_from is None and info.period_to is None


def test_clean_text_column():
    raw = pa.array([unicodedata.normalize("NFD", " Đăng  ký\u00a0khai\tsinh "), "", "   ", None, "1.0", "45845.5"])
    assert clean_text_column(raw).to_pylist() == ["Đăng ký khai sinh", None, None, None, "1.0", "45845.5"]
    assert clean_text_column(raw, numeric_text=True).to_pylist()[4:] == ["1", "45845.5"]

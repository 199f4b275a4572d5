"""Alias tables: every exported label maps to one canonical value, unknown labels are refused."""

from __future__ import annotations

import pytest

from loaders import vocab


@pytest.mark.parametrize(("raw", "code"), [
    ("1", 1), ("10", 10), ("09", 9), ("9.0", 9),
    ("Mới đăng ký", 1), ("Trực tuyến chờ tiếp nhận", 1), ("Đã tiếp nhận", 2), ("Chờ phân công", 2),
    ("Không được tiếp nhận", 3), ("Bị từ chối", 3), ("Đang xử lý", 4), ("ĐANG THỤ LÝ", 4),
    ("Chờ bổ sung", 5), ("Tạm dừng (chờ bổ sung)", 5), ("Chờ thanh toán", 6), ("Đã hủy/rút", 7),
    ("Trả lại", 7), ("Đã dừng xử lý", 8), ("Chờ trả kết quả", 9), ("Đã xử lý xong", 9),
    ("Đã trả kết quả", 10), ("Hoàn thành", 10), ("da tra ket qua", 10),
    ("receiving", 1), ("new", 2), ("denied", 3), ("processing", 4), ("waiting", 5), ("paying", 6),
    ("cancelled", 7), ("unresolved", 8), ("releasing", 9), ("done", 10),
])
def test_status_labels_and_codes(raw, code):
    assert vocab.map_status(raw) == (code, None)


def test_status_time_labels_are_not_statuses_and_not_errors():
    for label in ("Quá hạn", "Trước hạn", "Đúng hạn", "Trễ hẹn", "Chưa đến hạn"):
        assert vocab.map_status(label) == (None, None)


@pytest.mark.parametrize("raw", ["Lưu nháp", "LƯU NHÁP"])
def test_status_draft_is_refused(raw):
    value, error = vocab.map_status(raw)
    assert value is None and "nháp" in error


@pytest.mark.parametrize("raw", ["Đang bay", "11", "0", "abc"])
def test_status_unknown_is_refused_with_reason(raw):
    value, error = vocab.map_status(raw)
    assert value is None
    assert raw in error


def test_empty_cells_are_null_not_errors():
    for mapper in (vocab.map_status, vocab.map_channel, vocab.map_dvc_level, vocab.map_flag, vocab.map_money,
                   vocab.map_days, vocab.map_count):
        assert mapper(None) == (None, None)
        assert mapper("  ") == (None, None)


@pytest.mark.parametrize(("raw", "code"), [
    ("1", "direct"), ("2", "online"), ("3", "postal"), ("2.0", "online"),
    ("Trực tiếp", "direct"), ("Trực tuyến", "online"), ("Qua bưu chính công ích", "postal"),
    ("Qua bưu chính", "postal"), ("BCCI", "postal"), ("Dịch vụ bưu chính", "postal"),
    ("TrucTiep", "direct"), ("TrucTuyen", "online"), ("QuaBuuDien", "postal"), ("TRỰC TUYẾN", "online"),
])
def test_channel(raw, code):
    assert vocab.map_channel(raw) == (code, None)


def test_channel_unknown_is_refused():
    value, error = vocab.map_channel("Bồ câu")
    assert value is None and "Bồ câu" in error
    assert vocab.map_channel("4")[0] is None


@pytest.mark.parametrize(("raw", "level"), [
    ("Toàn trình", "toan_trinh"), ("DVC trực tuyến toàn trình", "toan_trinh"), ("4", "toan_trinh"),
    ("Mức độ 4", "toan_trinh"), ("mức 4", "toan_trinh"), ("Một phần", "mot_phan"), ("3", "mot_phan"),
    ("Mức độ 3", "mot_phan"), ("DVC trực tuyến một phần", "mot_phan"), ("Cung cấp thông tin", "thong_tin"),
    ("2", "thong_tin"), ("1", "thong_tin"), ("Mức độ 2", "thong_tin"),
])
def test_dvc_level(raw, level):
    assert vocab.map_dvc_level(raw) == (level, None)


@pytest.mark.parametrize("raw", ["Mức độ 5", "Cao", "0"])
def test_dvc_level_unknown_is_refused(raw):
    value, error = vocab.map_dvc_level(raw)
    assert value is None and raw in error


@pytest.mark.parametrize(("raw", "flag"), [
    ("Có", True), ("x", True), ("X", True), ("✓", True), ("1", True), ("1.0", True), ("true", True),
    ("yes", True), ("Đã số hóa", True), ("Không", False), ("0", False), ("false", False), ("no", False),
    ("Chưa số hóa", False), ("Chưa", False),
])
def test_flags(raw, flag):
    assert vocab.map_flag(raw) == (flag, None)


def test_flag_unknown_is_refused():
    value, error = vocab.map_flag("có lẽ")
    assert value is None and "có lẽ" in error


def test_paid_online_accepts_dvcqg_codes():
    assert vocab.map_flag("2", paid_online=True) == (True, None)
    assert vocab.map_flag("3", paid_online=True) == (False, None)
    assert vocab.map_flag("2")[0] is None  # a plain flag column has no code 2


@pytest.mark.parametrize(("raw", "amount"), [
    ("1.234.500", 1_234_500), ("1,234,500", 1_234_500), ("50.000 đ", 50_000), ("50.000đ", 50_000),
    ("50000", 50_000), ("50000.0", 50_000), ("0", 0), ("Miễn phí", 0), ("1 234 500 VNĐ", 1_234_500),
])
def test_money(raw, amount):
    assert vocab.map_money(raw) == (amount, None)


@pytest.mark.parametrize("raw", ["năm chục", "12.34.5", "1.2.3.4"])
def test_money_garbage_is_refused(raw):
    value, error = vocab.map_money(raw)
    assert value is None and raw in error


def test_days_and_counts():
    assert vocab.map_days("15 ngày làm việc") == (15.0, None)
    assert vocab.map_days("1,5") == (1.5, None)
    assert vocab.map_count("2") == (2, None)
    assert vocab.map_count("2.0") == (2, None)
    assert vocab.map_count("1,5")[0] is None
    assert vocab.map_days("mười")[0] is None


def test_time_status():
    assert vocab.map_time_status("Trễ hạn") == ("qua_han", None)
    assert vocab.map_time_status("Sớm hạn") == ("truoc_han", None)
    assert vocab.map_time_status("???")[0] is None


def test_money_out_of_range_is_refused():
    assert "quá lớn" in vocab.map_money("99999999999999999999999999")[1]
    assert vocab.map_money("-5.000")[0] is None


@pytest.mark.parametrize(("raw", "level"), [
    ("Cung cấp TTTT", "thong_tin"), ("Cung cấp thông tin trực tuyến", "thong_tin"),
    ("Chỉ cung cấp thông tin", "thong_tin"), ("DVC một phần", "mot_phan"), ("toàn trình", "toan_trinh"),
    ("DVCTT toàn trình", "toan_trinh"), ("Mức độ 2", "thong_tin"), ("Mức 3", "mot_phan"),
    ("DVC mức độ 4", "toan_trinh"), ("Dịch vụ công trực tuyến mức độ 4", "toan_trinh"), ("Level 3", "mot_phan"),
])
def test_dvc_level_labels_from_real_documents(raw, level):
    assert vocab.map_dvc_level(raw) == (level, None)


@pytest.mark.parametrize(("raw", "days"), [
    ("15", 15.0), ("15 ngày làm việc", 15.0), ("15 ngày", 15.0),  # "N ngày" = working days
    ("Không quá 20 ngày làm việc", 20.0), ("1,5", 1.5), ("04 giờ", 0.5), ("8 giờ làm việc", 1.0),
    ("24 giờ", 1.0), ("48 giờ", 2.0), ("2 tuần", 10.0), ("01 tháng", round(30 * 5 / 7, 2)),
    ("30 ngày (kể cả ngày nghỉ)", round(30 * 5 / 7, 2)), ("15 ngày kể từ ngày nhận đủ hồ sơ", 15.0),
])
def test_time_limits_in_hours_days_and_months(raw, days):
    assert vocab.map_time_limit(raw) == (pytest.approx(days), None)


@pytest.mark.parametrize("raw", ["mười", "3 xyz", "ngày"])
def test_unreadable_time_limits_are_refused(raw):
    value, error = vocab.map_time_limit(raw)
    assert value is None and raw in error

"""Golden texts of the two digests on a hand-made dossier set (every number checked by hand)."""

from __future__ import annotations

from datetime import date

import pytest
from kpi_fixtures import make_db

from motcua.auth import User
from motcua.digest import build_digest

TODAY = date(2026, 11, 20)  # a Friday


@pytest.fixture(scope="module")
def con():
    return make_db([
        # overdue: due Tue 10/11, open on Fri 20/11 -> 8 working days late
        dict(dossier_code="HS-QUA-HAN", received_at="2026-11-02 08:00", due_at="2026-11-10 17:00", status=4,
             handling_department="Văn phòng HĐND và UBND"),
        # due Mon 23/11 -> 1 working day left (within the default 2)
        dict(dossier_code="HS-SAP-HAN", received_at="2026-11-16 09:00", due_at="2026-11-23 17:00", status=4,
             procedure_name="Chứng thực bản sao", channel="online"),
        dict(dossier_code="HS-XONG", received_at="2026-10-05 08:00", due_at="2026-10-08 17:00",
             finished_at="2026-10-07 10:00", status=10),
        dict(dossier_code="HS-TRONG-HAN", received_at="2026-11-18 08:00", due_at="2026-12-15 17:00", status=4,
             channel="online"),
        dict(dossier_code="HS-KHAC", receiving_unit_code="10002", received_at="2026-11-02 08:00",
             due_at="2026-11-09 17:00", status=4),
    ])


CHAIR_TEXT = """Kính gửi Chủ tịch UBND xã Tứ Kỳ,

Thư tổng hợp tự động ngày 20/11/2026 về Xã Tứ Kỳ (Quý 4/2026, số liệu từ 01/10/2026 đến 20/11/2026). \
Số liệu lấy từ cơ sở dữ liệu Một Cửa KPI, cùng cách tính với bảng điều khiển.

CHỈ TIÊU CHÍNH
Chỉ tiêu | Giá trị
Tổng số hồ sơ nhận giải quyết | 4
Mới tiếp nhận trong kỳ | 4
Đã giải quyết | 1
Đang giải quyết | 3
Đang giải quyết quá hạn | 1
Đang chờ bổ sung | 0
Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766) | 75,00%
Tỷ lệ giải quyết đúng hạn (trên số đã giải quyết) | 100,00%
Tỷ lệ hồ sơ trực tuyến | 50,00%
Tỷ lệ số hóa hồ sơ khi tiếp nhận | 0,00%

HỒ SƠ QUÁ HẠN TẠI NGÀY 20/11/2026
Mã hồ sơ | Đơn vị tiếp nhận | Thủ tục | Ngày tiếp nhận | Hạn trả | Trạng thái | Phòng ban xử lý | \
Quá hạn (ngày làm việc)
HS-QUA-HAN | Xã Tứ Kỳ | Đăng ký khai sinh | 02/11/2026 08:00 | 10/11/2026 17:00 | Đang xử lý | \
Văn phòng HĐND và UBND | 8

HỒ SƠ SẮP ĐẾN HẠN TRONG 2 NGÀY LÀM VIỆC TỚI
Mã hồ sơ | Đơn vị tiếp nhận | Thủ tục | Ngày tiếp nhận | Hạn trả | Trạng thái | Phòng ban xử lý | \
Còn (ngày làm việc)
HS-SAP-HAN | Xã Tứ Kỳ | Chứng thực bản sao | 16/11/2026 09:00 | 23/11/2026 17:00 | Đang xử lý |  | 1

HỒ SƠ ĐANG CHỜ BỔ SUNG TẠI NGÀY 20/11/2026
Không có hồ sơ nào.

Danh sách đầy đủ ở tệp Excel đính kèm. Thư gửi tự động, xin không trả lời.
"""

OFFICER_TABLE = """XẾP HẠNG ĐƠN VỊ THEO TỶ LỆ XỬ LÝ TRƯỚC HẠN, ĐÚNG HẠN (QĐ 766)
Hạng | Đơn vị | Tổng hồ sơ | Đã giải quyết | Đang giải quyết quá hạn | \
Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (QĐ 766) | Tỷ lệ giải quyết đúng hạn (trên số đã giải quyết) | \
Tỷ lệ hồ sơ trực tuyến
1 | Xã Tứ Kỳ | 4 | 1 | 1 | 75,00% | 100,00% | 50,00%
2 | Xã Phượng Kỳ | 1 | 0 | 1 | 0,00% | – | 0,00%
– | Tổng cộng | 5 | 1 | 2 | 60,00% | 100,00% | 40,00%
Tỷ lệ của dòng Tổng cộng = tổng tử số / tổng mẫu số.
"""


def test_chair_digest_golden(con):
    digest = build_digest(con, User("ct.tuky", "chair", ("10001",), "Chủ tịch UBND xã Tứ Kỳ", "ct@x.vn"), TODAY)
    assert digest.subject == "[Một Cửa KPI] Xã Tứ Kỳ – Quý 4/2026: 1 hồ sơ quá hạn, 1 sắp đến hạn"
    assert digest.text == CHAIR_TEXT
    assert "HS-KHAC" not in digest.html and "Phượng Kỳ" not in digest.html


def test_officer_digest_golden(con):
    digest = build_digest(con, User("cb", "officer", ("10001", "10002"), "", "cb@x.vn"), TODAY)
    assert digest.subject == ("[Một Cửa KPI] Xã Phượng Kỳ, Xã Tứ Kỳ – Quý 4/2026: 2 đơn vị, "
                              "đúng hạn (QĐ 766) 60,00%, 2 hồ sơ quá hạn")
    assert OFFICER_TABLE in digest.text

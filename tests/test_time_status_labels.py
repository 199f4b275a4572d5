"""Exported timeliness labels ("Sớm hạn", "Quá 2 ngày") count where the dates cannot decide."""

from __future__ import annotations

import pytest
from kpi_fixtures import make_db

from loaders import vocab
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import parse_period

KEYS = ("resolved_total", "early", "on_time", "late", "pending_total", "within_deadline", "overdue")


@pytest.mark.parametrize(("raw", "key"), [
    ("Sớm hạn", "truoc_han"), ("Đúng hạn", "dung_han"), ("Quá hạn", "qua_han"), ("Còn 3 ngày", "trong_han"),
    ("Còn 2,5 ngày", "trong_han"), ("Còn 4 giờ", "trong_han"), ("Quá 2 ngày", "qua_han"),
    ("Quá 1.5 ngày", "qua_han"), ("Tạm dừng xử lý", "tam_dung"), ("QUÁ 10 NGÀY LÀM VIỆC", "qua_han"),
])
def test_opencps_timeliness_words(raw, key):
    assert vocab.map_time_status(raw) == (key, None)
    assert vocab.map_status(raw) == (None, None)  # a status column saying "Quá 2 ngày" is no error either


def test_new_status_labels():
    assert vocab.map_status("Từ chối xử lý") == (8, None)
    assert vocab.map_status("Chờ xử lý") == (1, None)  # 2 when the row has a reception date (normaliser)
    assert vocab.map_time_label("Tiến độ 50%") == (None, None)


def _counts(con, allow_cube: bool) -> dict:
    period = parse_period("2026Q3")
    frame = metrics._grouped_counts(con, Scope(), period, metrics.Settings(), None, allow_cube=allow_cube)
    counts = metrics._counts_dict(frame.iloc[0].to_dict())
    return {key: counts[key] for key in KEYS}


def test_labels_decide_only_where_dates_cannot():
    con = make_db([
        # resolved, no end date: the label decides (a due date alone cannot tell when it closed)
        {"received_at": "2026-07-02", "due_at": "2026-07-01", "status": 10, "time_status": "truoc_han"},
        {"received_at": "2026-07-02", "status": 9, "time_status": "dung_han"},
        {"received_at": "2026-07-02", "status": 10, "time_status": "qua_han"},
        # open, no due date: "Quá …" is overdue, "Còn …" and a paused clock are within the deadline
        {"received_at": "2026-07-03", "status": 4, "time_status": "qua_han"},
        {"received_at": "2026-07-03", "status": 4, "time_status": "trong_han"},
        {"received_at": "2026-07-03", "status": 5, "time_status": "tam_dung"},
        # dates given: they decide, the label (a snapshot at export time) does not
        {"received_at": "2026-07-03", "status": 4, "due_at": "2026-12-31", "time_status": "qua_han"},
        {"received_at": "2026-07-03", "status": 10, "finished_at": "2026-07-03", "due_at": "2026-07-10",
         "time_status": "qua_han"},
    ])
    expected = {"resolved_total": 4, "early": 2, "on_time": 1, "late": 1, "pending_total": 4,
                "within_deadline": 3, "overdue": 1}
    assert _counts(con, allow_cube=True) == expected  # half-month cube
    assert _counts(con, allow_cube=False) == expected  # dossier facts


def test_without_labels_nothing_changes():
    con = make_db([
        {"received_at": "2026-07-02", "status": 4},
        {"received_at": "2026-07-02", "status": 10, "finished_at": "2026-07-05", "due_at": "2026-07-04"},
    ])
    assert _counts(con, allow_cube=False) == {"resolved_total": 1, "early": 0, "on_time": 0, "late": 1,
                                             "pending_total": 1, "within_deadline": 1, "overdue": 0}


@pytest.mark.parametrize(("raw", "key"), [
    ("Quá hạn 2 ngày", "qua_han"), ("Trễ hạn 1 ngày", "qua_han"), ("Còn hạn 3 ngày", "trong_han"),
    ("Sớm hạn 2 ngày", "truoc_han"),
])
def test_timeliness_with_a_number_after_the_word(raw, key):
    assert vocab.time_status_key(raw) == key


@pytest.mark.parametrize(("raw", "online"), [
    ("true", True), ("false", False), ("x", True), ("Có", True), ("Không", False), ("Trực tuyến", True),
    ("Trực tiếp", False), ("Qua bưu chính công ích", False),
])
def test_online_column_values(raw, online):
    assert vocab.map_online_flag(raw) == (online, None)


def test_online_column_refuses_unknown_values():
    assert vocab.map_online_flag("2")[0] is None and vocab.map_online_flag("bồ câu")[1]

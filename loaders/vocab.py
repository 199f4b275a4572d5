"""Alias tables: exported labels -> canonical codes (status, channel, DVC level, yes/no flags, money).

Every mapper takes one raw cell (already NFC) and returns ``(value, error)``: exactly one of them is set,
or both are ``None`` for an empty cell. Errors are Vietnamese and quote the raw value; labels are never
guessed. Matching is on ``motcua.text.fold`` keys, so case, diacritics and punctuation do not matter.
The pipeline calls these on DISTINCT values only, then joins the result back (no per-row Python).
"""

from __future__ import annotations

import re

from motcua.text import fold

Mapped = tuple[object, str | None]

# --- Trạng thái hồ sơ (national codes 1..10, export_formats.md §2.2 and §7) -------------------------
_STATUS_LABELS: dict[int, tuple[str, ...]] = {
    # "Chờ xử lý" is OpenCPS's waiting-for-reception state (online submissions nobody received yet): status 1,
    # never counted. Other systems use the same words for a received dossier waiting for an officer, so a row
    # WITH a reception date becomes status 2 (``RECEIVED_WHEN_DATED``, applied by the normaliser).
    1: ("Mới đăng ký", "Chờ tiếp nhận", "Trực tuyến chờ tiếp nhận", "Đang tiếp nhận", "Mới tiếp nhận",
        "Chờ xử lý", "receiving"),
    2: ("Được tiếp nhận", "Đã tiếp nhận", "Tiếp nhận", "Chờ phân công", "Chờ duyệt", "new"),
    3: ("Không được tiếp nhận", "Từ chối tiếp nhận", "Đã từ chối tiếp nhận", "Bị từ chối", "Từ chối",
        "Không đủ điều kiện", "denied"),
    4: ("Đang xử lý", "Đang giải quyết", "Đang thụ lý", "Chờ đơn vị chuyên môn thụ lý", "Đang phê duyệt",
        "Chờ phê duyệt", "Đang lấy ý kiến", "Đã phê duyệt", "Liên thông", "Đang liên thông", "interoperating",
        "processing"),
    5: ("Yêu cầu bổ sung giấy tờ", "Yêu cầu bổ sung", "Chờ bổ sung", "Chờ tiếp nhận bổ sung",
        "Tạm dừng (chờ bổ sung)", "Bổ sung hồ sơ", "waiting"),
    6: ("Yêu cầu thực hiện nghĩa vụ tài chính", "Chờ thanh toán", "Chờ nộp phí", "Chờ thực hiện nghĩa vụ tài chính",
        "paying"),
    7: ("Công dân yêu cầu rút hồ sơ", "Đã hủy/rút", "Chờ xác nhận hủy/rút", "Đã trả hồ sơ rút", "Trả lại",
        "Hồ sơ trả lại", "Rút hồ sơ", "Đã rút", "Đã hủy", "cancelled"),
    # "Từ chối xử lý/giải quyết" (OpenCPS): refused after reception, i.e. the dossier was not resolved.
    8: ("Dừng xử lý", "Đã dừng xử lý", "Không giải quyết", "Từ chối xử lý", "Từ chối giải quyết", "unresolved"),
    9: ("Đã xử lý xong", "Chờ trả kết quả", "Hoàn thành (chưa trả)", "Đã giải quyết", "Đã có kết quả",
        "Đã xử lý", "releasing"),
    10: ("Đã trả kết quả", "Hoàn thành", "Đã hoàn thành", "Đã trả", "Trả kết quả", "done"),
}
RECEIVED_WHEN_DATED = frozenset({fold("Chờ xử lý")})
STATUS_ALIASES: dict[str, int] = {fold(label): code for code, labels in _STATUS_LABELS.items() for label in labels}

# Drafts were never submitted: not a dossier, the row is rejected.
DRAFT_LABELS = frozenset(fold(x) for x in ("Lưu nháp", "Nháp", "draft"))

# Time-status words (Trước hạn, Quá hạn ...) describe timeliness, never a national status. Keys:
#   truoc_han (resolved early), dung_han (resolved on time), qua_han (late if resolved, overdue if pending),
#   trong_han (pending within the deadline), tam_dung (clock stopped: pending, within the deadline).
# OpenCPS "Hạn xử lý" also writes the time left or past the due date: "Còn 2,5 ngày", "Quá 3 ngày", "Còn 4 giờ".
TIME_STATUS_ALIASES: dict[str, str] = {
    fold(label): key
    for key, labels in {
        "truoc_han": ("Trước hạn", "Sớm hạn", "Hoàn thành sớm hạn", "Hoàn thành trước hạn"),
        "dung_han": ("Đúng hạn", "Trả đúng thời hạn", "Đúng hẹn", "Hoàn thành đúng hạn"),
        "trong_han": ("Trong hạn", "Chưa đến hạn", "Còn hạn", "Tới hạn", "Đến hạn"),
        "qua_han": ("Quá hạn", "Trễ hạn", "Trễ hẹn", "Trả quá hạn", "Chậm", "Quá hạn xử lý", "Hoàn thành trễ hạn"),
        "tam_dung": ("Tạm dừng xử lý", "Tạm dừng", "Dừng tính thời gian"),
    }.items()
    for label in labels
}
TIME_STATUS_KEYS = ("truoc_han", "dung_han", "trong_han", "qua_han", "tam_dung")
_TIME_LEFT_RE = re.compile(
    r"^(con|qua|tre|cham|som|truoc)(?: han| hen)? \d+(?: \d+)? (?:ngay(?: lam viec)?|gio|phut)$")
_TIME_LEFT_KEYS = {"con": "trong_han", "qua": "qua_han", "tre": "qua_han", "cham": "qua_han", "som": "truoc_han",
                   "truoc": "truoc_han"}


def time_status_key(raw: object) -> str | None:
    """Time-status key of a label ("Sớm hạn", "Quá 3 ngày", "Còn 2,5 ngày"), None when it is not one."""
    key = fold(raw)
    if not key:
        return None
    if key in TIME_STATUS_ALIASES:
        return TIME_STATUS_ALIASES[key]
    left = _TIME_LEFT_RE.match(key)
    if left:
        return _TIME_LEFT_KEYS[left.group(1)]
    return None


_NUMERIC_RE = re.compile(r"^0*(\d{1,3})(?:[.,]0+)?$")  # "9", "09", "9.0" (numbers read from Excel)


def _small_int(raw: object) -> int | None:
    match = _NUMERIC_RE.match(str(raw).strip())
    return int(match.group(1)) if match else None


def map_status(raw: str | None) -> Mapped:
    """Status code 1..10; a time-status label gives ``(None, None)`` (status unknown, not an error)."""
    if raw is None or not str(raw).strip():
        return None, None
    key = fold(raw)
    number = _small_int(raw)
    if number is not None:
        if 1 <= number <= 10:
            return number, None
        return None, f"Mã trạng thái '{raw}' không thuộc 1–10"
    if key in DRAFT_LABELS:
        return None, f"Hồ sơ lưu nháp ('{raw}'), chưa nộp nên không phải hồ sơ"
    if key in STATUS_ALIASES:
        return STATUS_ALIASES[key], None
    if time_status_key(raw) is not None:
        return None, None
    return None, f"Trạng thái '{raw}' không nhận diện được"


def map_time_status(raw: str | None) -> Mapped:
    if raw is None or not str(raw).strip():
        return None, None
    key = time_status_key(raw)
    return (key, None) if key else (None, f"Tình trạng hạn '{raw}' không nhận diện được")


def map_time_label(raw: str | None) -> Mapped:
    """Lenient twin of ``map_time_status`` for progress columns ("Tiến độ: 50%"): unknown text is no error."""
    return time_status_key(raw), None


# --- Kênh nộp (KenhThucHien 1/2/3) -------------------------------------------------------------------
_CHANNEL_LABELS: dict[str, tuple[str, ...]] = {
    "direct": ("1", "Trực tiếp", "Nộp trực tiếp", "Tại quầy", "Tại bộ phận một cửa", "Một cửa", "TrucTiep",
               "Truc tiep", "direct", "offline"),
    "online": ("2", "Trực tuyến", "Nộp trực tuyến", "Qua mạng", "Dịch vụ công trực tuyến", "DVC trực tuyến",
               "DVCTT", "Cổng dịch vụ công", "TrucTuyen", "online"),
    "postal": ("3", "Qua bưu chính công ích", "Bưu chính công ích", "Qua bưu chính", "Bưu chính", "BCCI",
               "Qua BCCI", "Dịch vụ bưu chính", "Dịch vụ bưu chính công ích", "Qua dịch vụ bưu chính công ích",
               "Qua bưu điện", "Bưu điện", "QuaBuuDien", "QuaBuuChinh", "postal"),
}
CHANNEL_ALIASES: dict[str, str] = {fold(label): code for code, labels in _CHANNEL_LABELS.items()
                                   for label in labels}
# QĐ 766 counts a dossier without a channel as "trực tiếp"; the pipeline applies the same default.
CHANNEL_DEFAULT = "direct"


def map_channel(raw: str | None) -> Mapped:
    if raw is None or not str(raw).strip():
        return None, None
    key = fold(raw)
    number = _small_int(raw)
    code = CHANNEL_ALIASES.get(str(number) if number is not None else key)
    return (code, None) if code else (None, f"Kênh nộp '{raw}' không nhận diện được")


# --- Mức độ dịch vụ công ------------------------------------------------------------------------------
# MucDo 4/3 are "toàn trình"/"một phần". Levels 1 and 2 of the old NĐ 43/2011 scale both become
# "thong_tin" (information only). Approximate: old level 3/4 were defined by the online steps offered,
# not by today's toàn trình/một phần criteria, so legacy "Mức độ 4" is taken as toàn trình at face value.
_LEVEL_BY_NUMBER = {4: "toan_trinh", 3: "mot_phan", 2: "thong_tin", 1: "thong_tin"}
_LEVEL_NUMBER_RE = re.compile(r"^(?:dvc(?: truc tuyen)? )?(?:muc(?: do)? )?0*([1-4])(?: 0+)?$")
# Labels found in real exports and procedure lists: "Mức độ 2", "DVC mức 3", "Dịch vụ công trực tuyến mức độ 4",
# "DVCTT cấp độ 3", "Level 4".
_LEVEL_WORD_RE = re.compile(r"\b(?:muc do|muc|cap do|level)\s*0*([1-4])\b")
# Words of each level, checked in this order ("toàn trình" before "một phần": "không toàn trình" is rare).
_LEVEL_WORDS = (
    ("toan_trinh", ("toan trinh", "toan phan", "dvctt tt", "truc tuyen day du")),
    ("mot_phan", ("mot phan", "dvctt mp")),
    # "Cung cấp TTTT" = cung cấp thông tin trực tuyến; "Chỉ cung cấp thông tin"; "CCTT".
    ("thong_tin", ("thong tin", "tttt", "cctt", "cung cap tt")),
)
DVC_LEVEL_DEFAULT = "unknown"


def map_dvc_level(raw: str | None) -> Mapped:
    if raw is None or not str(raw).strip():
        return None, None
    key = fold(raw)
    for level, words in _LEVEL_WORDS:
        if any(re.search(rf"(?:^|\s){re.escape(word)}(?:\s|$)", key) for word in words):
            return level, None
    match = _LEVEL_NUMBER_RE.match(key) or _LEVEL_WORD_RE.search(key)
    if match:
        return _LEVEL_BY_NUMBER[int(match.group(1))], None
    return None, f"Mức độ DVC '{raw}' không nhận diện được"


# --- Cờ có/không ---------------------------------------------------------------------------------------
_TRUE = {"co", "x", "v", "✓", "✔", "☑", "1", "true", "t", "yes", "y", "dung", "da", "roi", "co so hoa",
         "da so hoa", "da thanh toan", "thanh toan truc tuyen", "da tai su dung", "tai su dung",
         "co ket qua dien tu", "ket qua dien tu"}
_FALSE = {"khong", "k", "0", "false", "f", "no", "n", "sai", "chua", "chua so hoa", "chua thanh toan",
          "khong so hoa", "khong co", "chua tai su dung", "khong tai su dung", "khong co ket qua dien tu"}
# DuocThanhToanTrucTuyen: 1 = DVCQG payment, 2 = provincial gateway (both online), 3 = has fee, not paid.
_PAID_ONLINE_EXTRA = {"2": True, "3": False}


def map_flag(raw: str | None, *, paid_online: bool = False) -> Mapped:
    if raw is None or not str(raw).strip():
        return None, None
    key = fold(raw)
    number = _small_int(raw)
    if number is not None:
        key = str(number)
    if paid_online and key in _PAID_ONLINE_EXTRA:
        return _PAID_ONLINE_EXTRA[key], None
    # "Đã …"/"Chưa …" phrases ("Đã số hóa", "Chưa thanh toán"); "Có lẽ"/"Không rõ" stay unknown.
    if key in _TRUE or key.startswith("da "):
        return True, None
    if key in _FALSE or key.startswith("chua "):
        return False, None
    return None, f"Giá trị có/không '{raw}' không nhận diện được"


def map_online_flag(raw: str | None) -> Mapped:
    """OpenCPS "Trực tuyến" column: true/false (or có/không, x), or a channel word written in it."""
    value, error = map_flag(raw)
    if error is None:
        return value, None
    channel, channel_error = map_channel(raw)
    if channel_error is None and not str(raw).strip().isdigit():
        return channel == "online", None
    return None, f"Giá trị '{raw}' ở cột trực tuyến không nhận diện được (đúng/sai, có/không)"


# --- Tiền (VND) -----------------------------------------------------------------------------------------
_CURRENCY_RE = re.compile(r"(?i)\s*(vnđ|vnd|đồng|dong|đ|d)\.?\s*$")
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:([.,\s])\d{3})(?:\1\d{3})*$")
_PLAIN_RE = re.compile(r"^\d+(?:[.,]\d{1,2})?$")
# A fee above a trillion đồng is a typing error (and would overflow BIGINT sums).
MAX_FEE_VND = 10**12
_FREE = {"mien phi", "khong thu", "khong", "0 dong", "khong co", "mien"}


def map_money(raw: str | None) -> Mapped:
    """'1.234.500', '1,234,500', '50.000 đ', '50000.0' -> int VND."""
    if raw is None or not str(raw).strip() or str(raw).strip() == "-":
        return None, None
    text = _CURRENCY_RE.sub("", str(raw).strip()).strip()
    if fold(text) in _FREE:
        return 0, None
    if _THOUSANDS_RE.match(text):
        amount = int(re.sub(r"\D", "", text))
    elif _PLAIN_RE.match(text):
        amount = int(round(float(text.replace(",", "."))))
    else:
        return None, f"Số tiền '{raw}' không hợp lệ"
    if amount > MAX_FEE_VND:
        return None, f"Số tiền '{raw}' quá lớn"
    return amount, None


_NUMBER_RE = re.compile(r"^(\d+(?:[.,]\d+)?)(?:\s*(?:ngày|ngày làm việc|ngay|ngay lam viec|lần|lan))?$")


def map_days(raw: str | None) -> Mapped:
    """Legal processing time in days: '15', '1,5', '15 ngày làm việc' -> float."""
    if raw is None or not str(raw).strip():
        return None, None
    match = _NUMBER_RE.match(str(raw).strip().lower())
    if not match:
        return None, f"Số ngày '{raw}' không hợp lệ"
    return float(match.group(1).replace(",", ".")), None


# Time limits (thời hạn giải quyết) as published: "15 ngày làm việc", "15 ngày", "04 giờ", "24 giờ", "01 tháng",
# "30 ngày (kể cả ngày nghỉ)". Stored in working days (the unit of the due-date arithmetic):
#   - "N ngày" counts as N working days unless the text says calendar days ("kể cả ngày nghỉ", "ngày lịch");
#   - calendar days and months are converted at 5 working days per 7 calendar days, a month = 30 days
#     (approximate: the exact count depends on the holidays inside the span);
#   - hours: a multiple of 24 is whole days ("24 giờ" = 1 ngày), otherwise working hours, 8 per working day
#     (Bộ luật Lao động 2019 Điều 105).
_LIMIT_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_LIMIT_PREFIXES = ("", "khong qua", "trong", "trong vong", "trong thoi han", "toi da", "thoi han")
_LIMIT_UNIT_RE = re.compile(r"^(?:(ngay lam viec|ngay|gio lam viec|gio|tieng|thang|tuan)\b)?\s*(.*)$")
_CALENDAR_WORDS = ("ke ca ngay nghi", "ngay lich", "theo lich", "ke ca thu 7", "ke ca thu bay")
WORKING_HOURS_PER_DAY = 8
CALENDAR_TO_WORKING = 5 / 7


def map_time_limit(raw: str | None) -> Mapped:
    """A procedure's time limit in working days: '15' / '15 ngày làm việc' -> 15, '4 giờ' -> 0.5, '1 tháng' -> 21.43."""
    if raw is None or not str(raw).strip():
        return None, None
    text = str(raw).strip()
    found = _LIMIT_NUMBER_RE.search(text)
    words = _LIMIT_UNIT_RE.match(fold(text[found.end():])) if found else None
    if (not found or words is None or fold(text[:found.start()]) not in _LIMIT_PREFIXES
            or (words.group(1) is None and words.group(2))):  # "3 xyz": a number with unknown words
        return None, f"Thời hạn giải quyết '{raw}' không hợp lệ"
    number, unit, rest = float(found.group(0).replace(",", ".")), words.group(1) or "ngay", words.group(2)
    calendar_days = any(word in rest for word in _CALENDAR_WORDS)
    if unit in ("gio", "tieng", "gio lam viec"):
        if unit != "gio lam viec" and number >= 24 and number % 24 == 0:
            days = number / 24
            return (days * CALENDAR_TO_WORKING if calendar_days else days), None
        return number / WORKING_HOURS_PER_DAY, None
    if unit == "thang":
        return round(number * 30 * CALENDAR_TO_WORKING, 2), None
    if unit == "tuan":
        return number * 5, None
    if unit == "ngay" and calendar_days:
        return round(number * CALENDAR_TO_WORKING, 2), None
    return number, None


def map_count(raw: str | None) -> Mapped:
    """A small non-negative integer (số lần bổ sung): '2', '2.0', '2 lần'."""
    value, error = map_days(raw)
    if error:
        return None, f"Số lần '{raw}' không hợp lệ"
    if value is None:
        return None, None
    if value != int(value) or value > 1000:
        return None, f"Số lần '{raw}' không hợp lệ"
    return int(value), None

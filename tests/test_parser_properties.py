"""Property-based tests (hypothesis) of the date parser (``loaders.normalize.date_sql``) and the header
matcher (``loaders.headers.match_header``): no input crashes them, and noise never changes the answer."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.headers import ALIASES, TIME_SUFFIX, match_header
from loaders.model import PROCEDURE_FIELDS, RAW_FIELDS
from loaders.normalize import EXCEL_EPOCH, _excel_serial, date_sql
from motcua import db

LATEST = datetime(2031, 1, 1)
LATEST_SERIAL = _excel_serial(LATEST)
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31, 23, 59, 59)).map(
    lambda moment: moment.replace(microsecond=0))
FULL_FORMATS = ("%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y %H:%M:%S", "%Y%m%d%H%M%S")
MINUTE_FORMATS = ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d-%m-%Y %H:%M")
DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_CON = db.connect_memory()


def parse_dates(texts: list[str | None]) -> list[datetime | None]:
    """Run the pipeline's own SQL over a batch of texts (one statement, like the importer)."""
    batch = pd.DataFrame({"raw": pd.Series(texts, dtype="object")})
    cur = _CON.cursor()
    try:
        cur.register("batch", batch)
        rows = cur.execute(f"SELECT {date_sql('raw', latest_serial=LATEST_SERIAL)} FROM batch").fetchall()
    finally:
        cur.close()
    return [row[0] for row in rows]


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(MOMENTS, st.sampled_from(FULL_FORMATS + MINUTE_FORMATS + DAY_FORMATS)), min_size=1,
                max_size=40))
def test_formatted_dates_parse_back(pairs):
    parsed = parse_dates([moment.strftime(fmt) for moment, fmt in pairs])
    for (moment, fmt), value in zip(pairs, parsed, strict=True):
        if fmt in MINUTE_FORMATS:
            moment = moment.replace(second=0)
        elif fmt in DAY_FORMATS:
            moment = moment.replace(hour=0, minute=0, second=0)
        assert value == moment, (moment.strftime(fmt), value)


@PROPERTY_SETTINGS
@given(st.integers(1, 12), st.integers(1, 12), st.integers(2000, 2030))
def test_dates_are_day_first_never_month_first(day, month, year):
    (value,) = parse_dates([f"{day:02d}/{month:02d}/{year}"])
    assert (value.day, value.month, value.year) == (day, month, year)


@PROPERTY_SETTINGS
@given(MOMENTS, st.sampled_from(["Z", "+00:00", "+0700", "+07:00", "-05:00"]))
def test_zoned_timestamps_become_vietnam_local_time(moment, zone):
    (value,) = parse_dates([moment.strftime("%Y-%m-%dT%H:%M:%S") + zone])
    sign = -1 if zone.startswith("-") else 1
    offset = timedelta(0) if zone == "Z" else sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
    assert value == moment - offset + timedelta(hours=7)


@PROPERTY_SETTINGS
@given(st.integers(int(_excel_serial(datetime(2000, 1, 2))), int(LATEST_SERIAL) - 1), st.integers(0, 86399))
def test_excel_serials_in_range_are_dates(days, seconds):
    (value,) = parse_dates([f"{days + seconds / 86400:.6f}".rstrip("0").rstrip(".")])
    expected = datetime.combine(EXCEL_EPOCH, datetime.min.time()) + timedelta(days=days, seconds=seconds)
    assert value is not None and abs((value - expected).total_seconds()) <= 1


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(st.none(), st.text(max_size=40),
                          st.from_regex(r"\d{1,2}/\d{1,2}/\d{2,5}( \d{1,2}:\d{1,2}(:\d{1,2})?)?", fullmatch=True),
                          st.from_regex(r"\d{4,14}(\.\d{1,8})?", fullmatch=True)), min_size=1, max_size=40))
def test_any_text_parses_to_a_timestamp_or_null_never_an_error(texts):
    for value in parse_dates(texts):
        assert value is None or isinstance(value, datetime)


@PROPERTY_SETTINGS
@given(st.from_regex(r"(3[2-9]|[4-9]\d)/(1[3-9]|[2-9]\d)/20\d\d", fullmatch=True))
def test_impossible_day_month_is_not_silently_swapped(text):
    assert parse_dates([text]) == [None]


# ------------------------------------------------------------------------------------------ headers

KNOWN_FIELDS = set(RAW_FIELDS) | set(PROCEDURE_FIELDS) | {f + TIME_SUFFIX for f in RAW_FIELDS}
REAL_HEADERS = [
    "Mã hồ sơ", "Số biên nhận", "Ngày tiếp nhận", "Ngày nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý",
    "Ngày trả kết quả", "Đơn vị tiếp nhận", "Tên thủ tục hành chính", "Mã TTHC", "Lĩnh vực", "Mức độ",
    "Kênh thực hiện", "Trạng thái", "Phí (VNĐ)", "Thời hạn giải quyết (ngày)", "Số lần bổ sung",
]
VIETNAMESE_TEXT = st.text(
    alphabet=st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXY"
                             "àáạảãầấậẩẫằắặẳẵèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡùúụủũừứựửữỳýỵỷỹ0123456789 ()/-._\t"),
    max_size=40)


def _noisy(text: str, data) -> str:
    """The same header as another export might write it: case, NFD, spacing, a trailing tab."""
    if data.draw(st.booleans()):
        text = text.upper()
    elif data.draw(st.booleans()):
        text = text.lower()
    if data.draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    if data.draw(st.booleans()):
        text = text.replace(" ", data.draw(st.sampled_from(["  ", " \u00a0", "\n", " \t "])))
    return data.draw(st.sampled_from(["", " ", "\t", "\u00a0"])) + text + data.draw(st.sampled_from(["", "\t", " ", ":"]))


@PROPERTY_SETTINGS
@given(st.sampled_from(REAL_HEADERS), st.data())
def test_real_headers_survive_noise(header, data):
    expected = match_header(header)
    assert expected is not None, header
    assert match_header(_noisy(header, data)) == expected


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(ALIASES)), st.data())
def test_every_alias_survives_noise(alias, data):
    assert match_header(_noisy(alias, data)) == ALIASES[alias]


@PROPERTY_SETTINGS
@given(st.one_of(st.text(max_size=60), VIETNAMESE_TEXT))
def test_any_header_text_is_a_known_field_or_none(text):
    found = match_header(text)
    assert found is None or found in KNOWN_FIELDS


@PROPERTY_SETTINGS
@given(VIETNAMESE_TEXT)
def test_matching_ignores_unicode_form_and_case(text):
    expected = match_header(text)
    assert match_header(unicodedata.normalize("NFD", text)) == expected
    assert match_header(text.upper()) == expected
    assert match_header(text.lower()) == expected

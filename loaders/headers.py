"""Header detection for exported dossier lists: alias table, PII columns, title rows, body rows.

Readers hand this module a grid of text cells (the first ~50 rows as Python lists, the body as an Arrow
table of string columns). Matching is done on ``motcua.text.fold`` keys so case, NFC/NFD, diacritics,
odd spacing and punctuation ("Đơn vị/ cá nhân", trailing tabs) never matter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loaders import vocab
from loaders.locality import localities
from loaders.model import PROCEDURE_FIELDS, RAW_FIELDS, REQUIRED_FIELDS, LoadError
from loaders.sniff import may_be_non_nfc, needs_space_folding
from motcua.text import fold, nfc

HEADER_SCAN_ROWS = 50
MIN_HEADER_HITS = 3

# Time-of-day columns that complete a date column ("Ngày nhận" + "Giờ nhận").
TIME_SUFFIX = "#time"

_ALIASES: dict[str, tuple[str, ...]] = {
    "dossier_code": (
        "ma ho so", "ma so ho so", "so ho so", "so bien nhan", "ma so bien nhan", "ma bien nhan",
        "so bien nhan ho so", "ma ho so tthc", "mahoso", "masobiennhan", "dossierno", "codeprofile", "sohoso",
    ),
    "procedure_code": (
        "ma tthc", "ma thu tuc", "ma thu tuc hanh chinh", "ma tt", "matthc", "servicecode", "codetthc",
    ),
    "procedure_name": (
        "ten thu tuc", "ten thu tuc hanh chinh", "thu tuc", "thu tuc hanh chinh", "ten tthc", "tthc",
        "tentthc", "servicename", "nametthc", "tenthutuc",
    ),
    "field_code": ("ma linh vuc", "malinhvuc", "domaincode"),
    "field_name": ("linh vuc", "ten linh vuc", "tenlinhvuc", "domainname"),
    "dvc_level": (
        "muc do", "muc do dvc", "muc do dich vu cong", "muc do dvctt", "muc do dich vu cong truc tuyen",
        "muc do dvc truc tuyen", "mucdo", "level",
    ),
    "channel": (
        "kenh thuc hien", "hinh thuc nop", "hinh thuc nop ho so", "loai tiep nhan", "kieu tiep nhan",
        "kenh tiep nhan", "kenh nop", "kenh nop ho so", "hinh thuc tiep nhan", "kenhthuchien",
        "formsreception",
    ),
    "online_flag": ("truc tuyen", "nop truc tuyen", "ho so truc tuyen"),
    "submitted_at": ("ngay nop", "ngay nop ho so", "ngaynophoso", "submitdate", "ngay gui", "ngay gui ho so"),
    "received_at": (
        "ngay tiep nhan", "ngay nhan", "ngay nhan ho so", "ngay tiep nhan ho so", "ngaytiepnhan",
        "ngaynhanhoso", "receivedate", "ngay tiep nhan tiep nhan", "ngay tiep nhan ho so tiep nhan",
        # Register (sổ theo dõi): "Ngày, tháng, năm" > "Nhận hồ sơ".
        "nhan ho so", "ngay thang nam nhan ho so",
    ),
    "due_at": (
        "ngay hen tra", "ngay hen tra ket qua", "han xu ly", "han giai quyet", "ngayhentra",
        "ngayhentrahoso", "duedate", "ngay hen tra hen tra", "hen tra ket qua", "ngay thang nam hen tra ket qua",
    ),
    "new_due_at": ("ngay hen tra moi", "gia han den", "ngayhentramoi", "extenddate"),
    "finished_at": (
        "ngay ket thuc xu ly", "ngay co ket qua", "ngay hoan thanh", "ngay xu ly xong", "ngayketthucxuly",
        "ngayxulyxong", "releasedate", "ngay ket thuc", "ngay ket thuc ho so", "ngay thang nam ngay co ket qua",
        "nhan ket qua tu co quan giai quyet", "ngay thang nam nhan ket qua tu co quan giai quyet",
    ),
    "returned_at": (
        "ngay tra", "ngay tra ket qua", "ngay thuc tra", "ngaytra", "ngaytraketquathucte", "finishdate",
        "ngay tra kq", "ngay nhan ket qua", "tra ket qua ngay nhan ket qua", "ngay thang nam ngay nhan ket qua",
        # Official register form (TT 01/2018, mẫu sổ theo dõi): "Trả kết quả cho cá nhân, tổ chức".
        "tra ket qua cho ca nhan to chuc", "ngay thang nam tra ket qua cho ca nhan to chuc",
        "tra ket qua cho to chuc ca nhan", "ngay thang nam tra ket qua",
    ),
    "supplement_requested_at": ("ngay yeu cau bo sung", "ngayyeucaubosung", "ngaybosung"),
    "supplement_received_at": ("ngay nhan bo sung", "ngay tiep nhan bo sung", "ngaytiepnhanbosung"),
    "status": (
        "trang thai", "trang thai ho so", "tinh trang", "tinh trang ho so", "trangthaihoso",
        "trangthai", "tentrangthaihoso", "dossierstatus",
    ),
    "time_status": ("tien do", "tinh trang xu ly", "tien do giai quyet", "tien do xu ly"),
    "receiving_unit": (
        "don vi tiep nhan", "noi tiep nhan", "bo phan mot cua", "co quan tiep nhan", "donvitiepnhan",
        "madonvitiepnhan",
    ),
    "resolving_unit": (
        "don vi giai quyet", "don vi xu ly", "don vi ca nhan giai quyet", "co quan giai quyet",
        "co quan xu ly", "donvixuly", "govagencyname",
    ),
    "digitized": (
        "so hoa", "da so hoa", "so hoa thanh phan ho so", "so hoa thanh phan", "so hoa ho so",
        "hosocothanhphansohoa", "duocsohoa", "co so hoa",
    ),
    "electronic_result": (
        "ket qua dien tu", "so hoa ket qua", "so hoa ket qua giai quyet", "co ket qua dien tu",
        "dinhkemketqua",
    ),
    "reused": (
        "tai su dung", "tai su dung du lieu", "tai su dung du lieu so hoa", "duoctaisudung",
        "duoclaytukhodmqg",
    ),
    "paid_online": ("thanh toan truc tuyen", "da thanh toan truc tuyen", "duocthanhtoantructuyen"),
    "fee": ("phi", "phi vnd", "phi dong", "phihoso"),
    "charge": ("le phi", "le phi vnd", "le phi dong", "lephihoso"),
    "supplement_count": ("so lan bo sung", "solanbosung"),
    "legal_days": (
        "thoi han giai quyet", "thoi han giai quyet ngay", "thoi gian giai quyet", "so ngay giai quyet",
        "thoigianthuchien", "songayxuly", "thoi han xu ly ngay",
    ),
    "has_fee": ("co phi le phi", "co phi", "phi le phi", "co le phi"),
    "handling_department": (
        "phong ban xu ly", "phong ban giai quyet", "bo phan giai quyet", "bo phan xu ly", "phong ban",
        "phong chuyen mon", "phong chuyen mon xu ly", "co quan chuyen mon", "phongbanxuly", "bo phan thu ly",
    ),
    "handling_officer": (
        "can bo xu ly", "nguoi xu ly", "nguoi thuc hien", "chuyen vien xu ly", "can bo thu ly", "nguoi thu ly",
        "cong chuc xu ly", "can bo giai quyet", "nguoixuly", "canboxuly", "nguoi dang xu ly",
    ),
    "current_step": ("buoc hien tai", "buoc xu ly", "buoc xu ly hien tai", "cong viec hien tai", "buochientai"),
    "reappointment_count": (
        "so lan hen lai", "so lan xin loi", "so lan gia han", "so lan hen lai ngay tra", "xin loi hen lai",
        "so lan xin loi hen lai", "solanhenlai", "solangiahan",
    ),
    "non_territorial": (
        "khong phu thuoc dia gioi", "khong phu thuoc dia gioi hanh chinh", "ho so khong phu thuoc dia gioi",
        "tiep nhan khong phu thuoc dia gioi hanh chinh", "phi dia gioi", "phi dia gioi hanh chinh",
        "khongphuthuocdiagioi", "hosokhongphuthuocdiagioi",
    ),
    "received_at" + TIME_SUFFIX: ("gio nhan", "gio tiep nhan", "gioPhutNhanHoSo", "gio nhan ho so"),
    "due_at" + TIME_SUFFIX: ("gio hen tra", "giophuthentrahoso", "gio hen tra ket qua"),
    "returned_at" + TIME_SUFFIX: ("gio tra", "gio tra ket qua"),
    "submitted_at" + TIME_SUFFIX: ("gio nop",),
}

# Combined two-level headers ("Ngày" > "Tiếp nhận", "Số hóa" > "Kết quả") fold to these keys.
_COMBINED_ALIASES: dict[str, tuple[str, ...]] = {
    "received_at": ("ngay tiep nhan", "ngay nhan"),
    "due_at": ("ngay hen tra", "ngay hen tra ket qua"),
    "returned_at": ("ngay tra ket qua", "ngay tra"),
    "finished_at": ("ngay co ket qua", "ngay hoan thanh", "ngay ket thuc xu ly"),
    "submitted_at": ("ngay nop",),
    "digitized": ("so hoa thanh phan", "so hoa thanh phan ho so", "so hoa ho so"),
    "electronic_result": ("so hoa ket qua",),
}


def _build_alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for raw_field, aliases in (*_ALIASES.items(), *_COMBINED_ALIASES.items()):
        for alias in aliases:
            table.setdefault(fold(alias), raw_field)
    return table


ALIASES: dict[str, str] = _build_alias_table()

# Folded prefixes / words of headers that carry personal data (never copied into a RawTable).
_PII_PATTERNS = (
    r"chu ho so", r"nguoi nop", r"ten nguoi nop", r"nguoi dung ten", r"to chuc ca nhan", r"ca nhan to chuc",
    r"ten ca nhan", r"ho ten",
    r"ho va ten", r"ten cong dan", r"cong dan", r"cccd", r"cmnd", r"cmt", r"so giay to", r"so dinh danh",
    r"can cuoc", r"chung minh", r"so dien thoai", r"dien thoai", r"sdt", r"dt", r"dia chi", r"email",
    r"e mail", r"thu dien tu", r"chuhoso", r"sogiaytochuhoso", r"dinhdanhchs", r"sodienthoai",
    r"diachi\w*", r"madoituong", r"tennguoinop", r"contactname",
)
_ADDRESS_RE = re.compile(r"(?:^| )(?:dia chi|diachi\w*)(?: |$)")
_PII_RE = re.compile(r"(?:^| )(?:" + "|".join(_PII_PATTERNS) + r")(?: |$)")

# Columns whose Excel numbers must lose a float tail ("1.0" -> "1"): codes, flags and counts.
NUMERIC_TEXT_FIELDS = frozenset({
    "dossier_code", "status", "channel", "dvc_level", "digitized", "electronic_result", "reused",
    "paid_online", "fee", "charge", "supplement_count", "legal_days", "field_code", "has_fee",
})

FIELD_LABELS = {
    "dossier_code": "Mã hồ sơ",
    "received_at": "Ngày tiếp nhận",
    "procedure_code": "Mã TTHC",
    "procedure_name": "Tên thủ tục",
}


def match_header(text: object) -> str | None:
    """Raw field for a header cell, or None (alias table lookup on the folded text)."""
    key = fold(text)
    if not key:
        return None
    found = ALIASES.get(key)
    if found is None:
        # "Phí (VNĐ)", "Thời hạn giải quyết (ngày)", "Mã hồ sơ (*)": retry without a unit tail.
        trimmed = re.sub(r" (?:vnd|vnđ|dong|d|ngay|ngay lam viec|gio)$", "", key)
        found = ALIASES.get(trimmed) if trimmed != key else None
    return found


def is_pii_header(text: object) -> bool:
    key = fold(text)
    return bool(key) and match_header(text) is None and bool(_PII_RE.search(key))


# ---------------------------------------------------------------------------------------------------
# Header row detection


@dataclass
class HeaderMatch:
    """Where the header is and what each column means."""

    first_row: int  # 0-based index of the first header row in the grid (parent row of a two-level header)
    last_row: int  # 0-based index of the last header row; the body starts right after it
    kind: str  # 'dossiers' | 'procedures'
    columns: dict[int, str]  # column index -> raw field (or '<field>#time')
    labels: dict[int, str]  # column index -> header text as shown (parent + child for two-level)
    column_map: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    dropped_pii: list[str] = field(default_factory=list)
    key_column: int = 0  # column of dossier_code (dossiers) or procedure_code (procedures)
    pii_columns: list[int] = field(default_factory=list)  # never read into memory beyond the header
    address_column: int | None = None  # applicant address: only its administrative tail is read (locality)

    @property
    def header_row(self) -> int:
        """1-based row of the (last) header row relative to the grid."""
        return self.last_row + 1


def _forward_fill(row: Sequence[str | None], width: int) -> list[str]:
    filled, current = [], ""
    for index in range(width):
        value = row[index] if index < len(row) else None
        if value:
            current = value
        filled.append(current)
    return filled


def _cell(row: Sequence[str | None], index: int) -> str:
    value = row[index] if index < len(row) else None
    return value or ""


def _label_columns(child: Sequence[str | None], parent: Sequence[str | None] | None,
                   width: int) -> tuple[dict[int, str], dict[int, str]]:
    """Map columns of one header row (optionally under a parent row); children are matched first."""
    parents = _forward_fill(parent, width) if parent is not None else [""] * width
    columns: dict[int, str] = {}
    labels: dict[int, str] = {}
    for index in range(width):
        text, above = _cell(child, index), parents[index]
        candidates = []
        if text:
            candidates.append(text)
            if above and fold(above) != fold(text):
                candidates.append(f"{above} {text}")
        elif above:
            candidates.append(above)
        for candidate in candidates:
            found = match_header(candidate)
            if found is not None:
                columns[index], labels[index] = found, candidate
                break
        else:
            if candidates:
                labels[index] = candidates[-1]
    return columns, labels


# Fields only a dossier list has: with one of these a missing dossier code is an error, not a catalogue.
_DOSSIER_ONLY = frozenset(RAW_FIELDS) - frozenset(PROCEDURE_FIELDS) - {"group_label"}


def _score(columns: dict[int, str]) -> tuple[int, str | None]:
    fields = {name.split("#")[0] for name in columns.values()}
    if "dossier_code" in fields:
        kind = "dossiers"
    elif "procedure_code" in fields and "procedure_name" in fields and not fields & _DOSSIER_ONLY:
        kind = "procedures"
    else:
        kind = None
    return len(fields), kind


def detect_header(rows: Sequence[Sequence[str | None]], *, file_name: str | None = None) -> HeaderMatch:
    """Find the header row (or two-level header) among the first rows of a grid.

    Raises ``LoadError`` naming the missing required column and the headers that were found.
    """
    scan = list(rows[:HEADER_SCAN_ROWS])
    width = max((len(row) for row in scan), default=0)
    best: tuple[int, int, int, str, dict[int, str], dict[int, str]] | None = None
    best_any: tuple[int, int] | None = None  # (hits, row) for the error message
    for index, row in enumerate(scan):
        if not any(row):
            continue
        options = [(index, *_label_columns(row, None, width))]
        if index > 0 and any(scan[index - 1]):
            options.append((index - 1, *_label_columns(row, scan[index - 1], width)))
        for first, columns, labels in options:
            hits, kind = _score(columns)
            if best_any is None or hits > best_any[0]:
                best_any = (hits, index)
            if kind is None or hits < MIN_HEADER_HITS:
                continue
            if best is None or hits > best[0]:
                best = (hits, first, index, kind, columns, labels)
    if best is None:
        _raise_no_header(scan, best_any, file_name)
    _, first, last, kind, columns, labels = best
    match = _finish_match(scan, first, last, kind, columns, labels, width)
    _check_required(match, file_name)
    return match


def _raise_no_header(scan, best_any, file_name) -> None:
    if best_any is None:
        raise LoadError("không có dữ liệu (bảng trống).", file_name=file_name)
    row = scan[best_any[1]]
    columns, _ = _label_columns(row, None, len(row))
    found = _known_labels(row, columns)
    fields = set(columns.values())
    missing = [FIELD_LABELS[name] for name in REQUIRED_FIELDS if name not in fields]
    what = f"thiếu cột bắt buộc {', '.join(repr(m) for m in missing)}" if missing else "không nhận ra bảng"
    error = LoadError(
        f"không tìm thấy dòng tiêu đề danh sách hồ sơ ({what}). Các tiêu đề tìm thấy: {found}.",
        file_name=file_name, row=best_any[1] + 1,
    )
    error.header_hits = best_any[0]  # lets a reader report the table most like a dossier list
    raise error


def _known_labels(row: Sequence[str | None], columns: dict[int, str]) -> str:
    """The cells of ``row`` recognised as headers, for an error message. Other cells are only counted: in
    a file without a header row the best-scoring row is data (an applicant's name, phone, ID number)."""
    known = [f"'{row[index]}'" for index in sorted(columns) if index < len(row) and row[index]]
    others = sum(1 for index, cell in enumerate(row) if cell and index not in columns)
    text = ", ".join(known) or "(không có)"
    if others:
        text += f"; {others} ô khác không hiển thị vì có thể là dữ liệu cá nhân"
    return text


def _finish_match(scan, first, last, kind, columns, labels, width) -> HeaderMatch:
    allowed = set(RAW_FIELDS) if kind == "dossiers" else set(PROCEDURE_FIELDS)
    if kind == "dossiers":
        allowed |= {f + TIME_SUFFIX for f in ("received_at", "due_at", "returned_at", "submitted_at")}
    kept: dict[int, str] = {}
    match = HeaderMatch(first_row=first, last_row=last, kind=kind, columns=kept, labels=labels)
    used: set[str] = set()
    for index in range(width):
        label = labels.get(index) or ""
        raw_field = columns.get(index)
        if raw_field is not None and raw_field in allowed and raw_field not in used:
            kept[index] = raw_field
            used.add(raw_field)
            match.column_map[label] = raw_field
        elif raw_field is None and label and (is_pii_header(label) or is_pii_header(_cell(scan[last], index))):
            match.dropped_pii.append(label)
            match.pii_columns.append(index)
            if kind == "dossiers" and match.address_column is None and _ADDRESS_RE.search(fold(label)):
                match.address_column = index
        elif label:
            match.ignored_columns.append(label)
    key = "dossier_code" if kind == "dossiers" else "procedure_code"
    match.key_column = next(index for index, name in kept.items() if name == key)
    return match


def _check_required(match: HeaderMatch, file_name: str | None) -> None:
    if match.kind != "dossiers":
        return
    fields = set(match.columns.values())
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        found = _known_labels([match.labels.get(index) for index in range(max(match.labels, default=-1) + 1)],
                              match.columns)
        names = ", ".join(f"'{FIELD_LABELS.get(name, name)}'" for name in missing)
        error = LoadError(
            f"thiếu cột bắt buộc {names}. Các tiêu đề tìm thấy: {found}.",
            file_name=file_name, row=match.header_row, column=FIELD_LABELS.get(missing[0], missing[0]),
        )
        error.header_hits = len(fields)
        raise error


# ---------------------------------------------------------------------------------------------------
# Title rows above the header: unit and period

_LABEL_PREFIX = (r"(?:don vi|co quan|ten don vi|don vi bao cao|don vi thong ke|co quan thuc hien|don vi thuc hien|"
                 r"noi tiep nhan|don vi tiep nhan) ")
_ORG_RE = re.compile(
    rf"^(?:{_LABEL_PREFIX})?"  # "Đơn vị: UBND xã ...", "Đơn vị thống kê: UBND xã ..."
    r"(?:uy ban nhan dan|ubnd|trung tam phuc vu hanh chinh cong|bo phan tiep nhan va tra ket qua|"
    r"bo phan mot cua) (.+)$"
)
# "Đơn vị thống kê: Xã Tứ Kỳ": a labelled line naming a commune without the organisation words.
_LABELLED_UNIT_RE = re.compile(rf"^{_LABEL_PREFIX}((?:xa|phuong|thi tran|dac khu) .+)$")
# A group row's count ("UBND xã Tứ Kỳ ( 19 )", OpenCPS): never part of a unit name.
_TRAILING_COUNT_RE = re.compile(r"\s*[(\[]\s*\d[\d.,]*\s*(?:hồ sơ|ho so|hs)?\s*[)\]]\s*$", re.IGNORECASE)
_COMMUNE_WORDS = ("xa", "phuong", "thi tran", "dac khu")
_DISTRICT_WORDS = ("huyen", "quan", "thi xa", "thanh pho")
_PERIOD_RE = re.compile(
    r"tu ngay (\d{1,2}) (\d{1,2}) (\d{4}) den ngay (\d{1,2}) (\d{1,2}) (\d{4})"
)


@dataclass
class TitleInfo:
    unit: str | None = None
    period_from: date | None = None
    period_to: date | None = None


def _unit_level(folded_name: str) -> int:
    """0 commune, 1 district, 2 province/other (lower is preferred)."""
    if any(folded_name.startswith(word + " ") for word in _COMMUNE_WORDS):
        return 0
    if any(folded_name.startswith(word + " ") for word in _DISTRICT_WORDS):
        return 1
    return 2


def strip_count(text: str) -> str:
    """"UBND xã Tứ Kỳ ( 19 )" -> "UBND xã Tứ Kỳ": the count of a group row is not part of a name."""
    return _TRAILING_COUNT_RE.sub("", text)


def _unit_from_line(text: str) -> tuple[int, str] | None:
    text = strip_count(text)
    folded = fold(text)
    found = _ORG_RE.match(folded) or _LABELLED_UNIT_RE.match(folded)
    if not found:
        return None
    # Drop as many original words as the folded organisation prefix has ("ỦY BAN NHÂN DÂN" = 4).
    prefix_words = len(folded[: found.start(1)].split())
    name = " ".join(nfc(text).split(" ")[prefix_words:]).strip(" ,.;:-()")
    return _unit_level(found.group(1)), _title_case(name)


def _title_case(name: str) -> str:
    """"XÃ PHƯỢNG KỲ" -> "Xã Phượng Kỳ"; keeps words after a comma ("Xã A, Tỉnh B")."""
    def cap(part: str) -> str:
        return part[:1].upper() + part[1:].lower()

    return " ".join("-".join(cap(part) for part in word.split("-")) for word in name.split(" ") if word)


def _parse_period(text: str) -> tuple[date, date] | None:
    found = _PERIOD_RE.search(fold(text))
    if not found:
        return None
    d1, m1, y1, d2, m2, y2 = (int(part) for part in found.groups())
    try:
        return date(y1, m1, d1), date(y2, m2, d2)
    except ValueError:
        return None


def parse_title(rows: Sequence[Sequence[str | None]]) -> TitleInfo:
    """Unit ("ỦY BAN NHÂN DÂN XÃ PHƯỢNG KỲ" -> "Xã Phượng Kỳ") and period from the rows above the header."""
    info = TitleInfo()
    best_level = 99
    for row in rows:
        for cell in row:
            if not cell:
                continue
            for line in re.split(r"[\r\n]+", cell):
                unit = _unit_from_line(line)
                if unit is not None and unit[0] < best_level:
                    best_level, info.unit = unit
                period = _parse_period(line)
                if period is not None and info.period_from is None:
                    info.period_from, info.period_to = period
    return info


# ---------------------------------------------------------------------------------------------------
# Body rows

_WS_RUN_RE = r"[\s\x{00a0}\x{200b}\x{feff}]+"
_FLOAT_INT_RE = r"^(-?\d+)\.0+$"
_TOTAL_RE = re.compile(r"^(?:tong|tong cong|cong|tong so)(?: |$)")


def clean_text_column(column: pa.Array | pa.ChunkedArray, *, numeric_text: bool = False,
                      text_is_clean: bool = False) -> pa.Array | pa.ChunkedArray:
    """NFC, single spaces, trimmed, empty -> null (vectorised; Python only for non-NFC columns).

    ``text_is_clean``: the reader already checked NFC and odd whitespace for the whole file.
    """
    array = column
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    if text_is_clean:
        # Only plain spaces can remain: skip the trim pass (the costly part on big CSVs) without padding.
        if not (pc.any(pc.starts_with(array, " ")).as_py() or pc.any(pc.ends_with(array, " ")).as_py()):
            return array  # the CSV parser already turned empty cells into nulls
        array = pc.utf8_trim_whitespace(array)
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    data = _text_bytes(array)
    if may_be_non_nfc(data) and not unicodedata.is_normalized("NFC", data.decode("utf-8", errors="replace")):
        array = pa.array([None if v is None else unicodedata.normalize("NFC", v) for v in array.to_pylist()],
                         type=pa.string())
    if needs_space_folding(data):
        array = pc.replace_substring_regex(array, _WS_RUN_RE, " ")
    array = pc.utf8_trim_whitespace(array)
    if numeric_text:
        array = pc.replace_substring_regex(array, _FLOAT_INT_RE, r"\1")
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _text_bytes(array: pa.Array) -> bytes:
    """The UTF-8 bytes behind a string array (a superset for sliced arrays: fine for byte scans)."""
    data = array.buffers()[2]
    return b"" if data is None else data.to_pybytes()


@dataclass
class BodyResult:
    table: pa.Table
    skipped_rows: dict[str, int]
    retyped: dict[str, str] = field(default_factory=dict)  # raw field -> field its content showed it to be


def build_body(body: pa.Table, source_rows: pa.Array | np.ndarray, match: HeaderMatch, *,
               header_texts: dict[int, str] | None = None, excel_numbers: bool = False,
               text_is_clean: bool = False) -> BodyResult:
    """Turn the body grid (string columns in sheet order) into RawTable columns.

    Skips blank, total, group and repeated header rows (counted), carries group labels down and emits
    every other row, even without a dossier code, so the pipeline can reject it with a reason.
    """
    width = body.num_columns
    columns = {index: name for index, name in match.columns.items() if index < width}
    cleaned = {index: clean_text_column(body.column(index),
                                        numeric_text=excel_numbers and name in NUMERIC_TEXT_FIELDS,
                                        text_is_clean=text_is_clean)
               for index, name in columns.items()}
    key = cleaned.get(match.key_column, pa.nulls(body.num_rows, pa.string()))
    keep = np.ones(body.num_rows, dtype=bool)
    skipped = {"blank": 0, "total": 0, "group": 0, "header": 0, "numbering": 0}
    header_texts = header_texts or {}
    header_key = nfc(header_texts.get(match.key_column, ""))
    if header_key:
        # A header repeated in the body (page breaks, pasted exports) is an exact copy of the header.
        repeated = pc.fill_null(pc.equal(key, header_key), False)
        positions = np.flatnonzero(repeated.to_numpy(zero_copy_only=False))
        keep[positions] = False
        skipped["header"] += len(positions)
    group_at: list[tuple[int, str]] = []
    candidates = _candidate_rows(body, key)
    if len(candidates):
        _classify_rows(body, candidates, match.key_column, header_texts, keep, skipped, group_at)
    table = pa.table({name: cleaned[index] for index, name in columns.items()})
    if match.address_column is not None and match.address_column < width and "non_territorial" not in table.column_names:
        # Only the administrative tail leaves this function; the address itself is never kept.
        table = table.append_column("applicant_locality", localities(body.column(match.address_column)))
    table = _combine_time_columns(table)
    if group_at:
        table = table.append_column("group_label", _group_labels(group_at, body.num_rows))
    table = table.append_column("source_row", pa.array(np.asarray(source_rows, dtype=np.int32)))
    if not keep.all():
        table = table.filter(pa.array(keep))
    table, retyped = _retype_time_labels(table)
    table = _order_columns(table, match.kind)
    return BodyResult(table=_scan_batches(table), skipped_rows={k: v for k, v in skipped.items() if v},
                      retyped=retyped)


def _retype_time_labels(table: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """OpenCPS "Hạn xử lý" holds timeliness text ("Sớm hạn", "Quá 3 ngày"), not a due date: when every value of
    the due-date column is such a label, the column is the time status."""
    if "due_at" not in table.column_names or "time_status" in table.column_names:
        return table, {}
    values = [v for v in pc.unique(table.column("due_at")).to_pylist() if v is not None]
    if not values or not all(vocab.time_status_key(v) for v in values):
        return table, {}
    index = table.column_names.index("due_at")
    return table.rename_columns([*table.column_names[:index], "time_status", *table.column_names[index + 1:]]), \
        {"due_at": "time_status"}


# DuckDB scans an Arrow table one record batch per thread; a spreadsheet arrives as ONE batch, so the
# normalisation would run on one core. Zero-copy slices let it use every core.
SCAN_BATCH_ROWS = 16_384


def _scan_batches(table: pa.Table) -> pa.Table:
    if all(len(chunk) <= SCAN_BATCH_ROWS for chunk in table.column(0).chunks):
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), schema=table.schema)


_TOTAL_PREFIXES = pa.array(["tổng", "tong", "cộng", "cong"])


def _candidate_rows(body: pa.Table, key: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Rows that may be blank/total/group/header rows: no key, a single filled cell, or a "Tổng..." key.

    Everything else is a plain dossier row; this keeps the per-row Python work to a handful of rows.
    """
    mask = pc.is_null(key).to_numpy(zero_copy_only=False)
    filled = np.zeros(body.num_rows, dtype=np.int16)
    for column in body.columns:
        filled += pc.is_valid(column).to_numpy(zero_copy_only=False)
    prefix = pc.utf8_lower(pc.utf8_slice_codeunits(pc.fill_null(key, ""), 0, 4))
    total_like = pc.is_in(prefix, value_set=_TOTAL_PREFIXES).to_numpy(zero_copy_only=False)
    numbering = pc.fill_null(pc.match_substring_regex(key, _NUMBER_CELL_RE), False).to_numpy(zero_copy_only=False)
    return np.flatnonzero(mask | (filled <= 1) | total_like | numbering)


# The column-numbering row of official forms, under the header: "(1) (2) ... (14)", "1 2 ... 14" or
# "A B 1 2 ..." (letters for the label columns).
_NUMBER_CELL_RE = r"^\(?(?:\d{1,3}(?:\.0+)?|[A-Z])\)?$"  # "1.0": a number cell read as text


def _is_numbering_row(filled: list[tuple[int, str]]) -> bool:
    if len(filled) < 3 or not all(re.fullmatch(_NUMBER_CELL_RE, value) for _, value in filled):
        return False
    tokens = [value.strip("()") for _, value in filled]
    letters = [token for token in tokens if token.isalpha()]
    numbers = [float(token) for token in tokens if not token.isalpha()]
    return (len(numbers) >= 2 and tokens[: len(letters)] == letters
            and all(later > earlier for earlier, later in zip(numbers, numbers[1:], strict=False)))


def _classify_rows(body: pa.Table, positions: np.ndarray, key_column: int, header_texts: dict[int, str],
                   keep: np.ndarray, skipped: dict, group_at: list[tuple[int, str]]) -> None:
    rows = body.take(pa.array(positions)).to_pylist()
    header_folds = {fold(text) for text in header_texts.values() if text}
    for position, row in zip(positions, rows, strict=True):
        cells = [nfc(value) for value in row.values()]
        kind = _row_kind(cells, key_column, header_folds)
        if kind is None:
            continue
        keep[position] = False
        skipped[kind] += 1
        if kind == "group":
            label = _group_unit(next(value for value in cells if value))
            if label is not None:
                group_at.append((int(position), label))


def _group_unit(label: str) -> str | None:
    """The unit a group row names. A row with a count ("UBND xã Tứ Kỳ ( 19 )", "Hộ tịch ( 12 )") groups by
    whatever the export chose: it gives a unit (without the count) only when the text names one."""
    if not _TRAILING_COUNT_RE.search(label):
        return label
    name = strip_count(label)
    folded = fold(name)
    if _unit_from_line(name) or any(folded.startswith(w + " ") for w in (*_COMMUNE_WORDS, *_DISTRICT_WORDS)):
        return name
    return None


def _row_kind(cells: list[str], key_column: int, header_folds: set[str]) -> str | None:
    """blank / total / group / header, or None for a dossier row (kept even without a code)."""
    filled = [(index, value) for index, value in enumerate(cells) if value]
    if not filled:
        return "blank"
    if _is_numbering_row(filled):
        return "numbering"
    key = cells[key_column] if key_column < len(cells) else ""
    if (not key or _TOTAL_RE.match(fold(key))) and any(_TOTAL_RE.match(fold(value)) for _, value in filled[:2]):
        return "total"
    distinct = {value for _, value in filled}
    if (len(distinct) == 1 and (len(filled) > 1 or filled[0][0] <= 2) and not _looks_numeric(filled[0][1])
            and (not key or " " in key)):
        return "group"  # one label across the row; a lone code-like key ("HS001") stays a dossier row
    if header_folds and sum(fold(value) in header_folds for _, value in filled) >= max(2, len(filled) - 1):
        return "header"
    return None


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[\d.,]+", text))


def _group_labels(group_at: list[tuple[int, str]], num_rows: int) -> pa.Array:
    positions = np.array([position for position, _ in group_at])
    labels = [label for _, label in group_at]
    owner = np.searchsorted(positions, np.arange(num_rows), side="right") - 1
    values = [labels[index] if index >= 0 else None for index in owner]
    return pa.array(values, type=pa.string())


_ISO_MIDNIGHT_RE = r"^(\d{4})-(\d{2})-(\d{2})(?: 00:00:00)?$"
_BARE_DAY_RE = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$"
_TIME_ONLY_RE = r"^(?:1899-12-3[01] |1900-01-0[01] )?(\d{1,2})[:hH](\d{2})(?::\d{2}(?:\.\d+)?)?$"


def _combine_time_columns(table: pa.Table) -> pa.Table:
    """"Ngày nhận" + "Giờ nhận" -> one text "dd/mm/yyyy HH:MM" (date cells may arrive as ISO text)."""
    for name in [n for n in table.column_names if n.endswith(TIME_SUFFIX)]:
        date_name = name[: -len(TIME_SUFFIX)]
        times = table.column(name)
        table = table.drop_columns([name])
        if date_name not in table.column_names:
            continue
        dates = table.column(date_name)
        day_text = pc.replace_substring_regex(dates, _ISO_MIDNIGHT_RE, r"\3/\2/\1")
        time_text = pc.replace_substring_regex(times, _TIME_ONLY_RE, r"\1:\2")
        time_text = pc.if_else(pc.match_substring_regex(time_text, r"^\d:"),
                               pc.binary_join_element_wise("0", time_text, ""), time_text)
        # Only a bare day takes the time: a cell that already has a time ("... 07:00:00") is left alone.
        bare_day = pc.fill_null(pc.match_substring_regex(day_text, _BARE_DAY_RE), False)
        joined = pc.binary_join_element_wise(day_text, time_text, " ")
        combined = pc.if_else(pc.and_(bare_day, pc.is_valid(joined)), joined, dates)
        table = table.set_column(table.column_names.index(date_name), date_name, combined)
    return table


def _order_columns(table: pa.Table, kind: str) -> pa.Table:
    order = RAW_FIELDS if kind == "dossiers" else PROCEDURE_FIELDS
    names = [name for name in order if name in table.column_names]
    return table.select([*names, "source_row"])


# ---------------------------------------------------------------------------------------------------
# Body rows with fewer cells than the header (HTML exports whose template lost a <td>)

_DATE_LIKE_RE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")
_DATE_FIELDS = frozenset({"submitted_at", "received_at", "due_at", "new_due_at", "finished_at", "returned_at",
                          "supplement_requested_at", "supplement_received_at"})
_LABEL_MAPPERS = {
    "status": vocab.map_status, "channel": vocab.map_channel, "dvc_level": vocab.map_dvc_level,
    "online_flag": vocab.map_online_flag, "digitized": vocab.map_flag, "electronic_result": vocab.map_flag,
    "reused": vocab.map_flag, "paid_online": vocab.map_flag, "fee": vocab.map_money, "charge": vocab.map_money,
    "legal_days": vocab.map_days, "supplement_count": vocab.map_count, "time_status": vocab.map_time_status,
}
_FIT_SAMPLE = 50


def _fits(raw_field: str, value: str) -> bool:
    """Does a cell's content look like what the column holds? (content evidence for realignment)"""
    name = raw_field.split("#")[0]
    folded = fold(value)
    if name in _DATE_FIELDS:
        return bool(_DATE_LIKE_RE.search(value))
    if name in _LABEL_MAPPERS:
        return _LABEL_MAPPERS[name](value)[1] is None
    if name in ("receiving_unit", "resolving_unit"):
        return _unit_from_line(value) is not None or _unit_level(folded) < 2
    if name in ("dossier_code", "procedure_code", "field_code"):
        return " " not in value.strip() and any(ch.isdigit() for ch in value) and not _DATE_LIKE_RE.search(value)
    if name in ("procedure_name", "field_name"):
        return len(folded.split()) >= 2 and not any(ch.isdigit() for ch in folded[:3])
    return False


def _realign_score(samples: list[list[str]], columns: dict[int, str], missing: int) -> float:
    """Fit of the short rows when the header column ``missing`` has no cell in them."""
    score = 0.0
    for body_index, values in enumerate(samples):
        header_index = body_index if body_index < missing else body_index + 1
        raw_field = columns.get(header_index)
        if raw_field is not None and values:
            score += sum(_fits(raw_field, value) for value in values) / len(values)
    return score


def realign_short_rows(body: pa.Table, widths: np.ndarray, header_width: int, match: HeaderMatch, *,
                       file_name: str | None, first_row_number: int) -> pa.Table:
    """Rows one cell shorter than the header are shifted right from the column their content shows is missing.

    ``widths``: the number of cells each body row really had (HTML). Rows with another width stay as they are.
    Raises ``LoadError`` when most rows are shorter by more than one cell, or the content cannot tell which
    column is missing.
    """
    data_rows = widths >= 2
    if not data_rows.any():
        return body
    values, counts = np.unique(widths[data_rows], return_counts=True)
    usual = int(values[np.argmax(counts)])
    if usual >= header_width:
        return body
    first_short = int(np.flatnonzero(data_rows & (widths == usual))[0]) + first_row_number
    where = (f"dòng tiêu đề (dòng {match.header_row}) có {header_width} ô nhưng các dòng hồ sơ chỉ có "
             f"{usual} ô (từ dòng {first_short})")
    if usual < header_width - 1:
        raise LoadError(f"phần thân bảng có ít ô hơn dòng tiêu đề: {where}; không biết giá trị nào thuộc cột nào.",
                        file_name=file_name, row=first_short)
    short = data_rows & (widths == usual)
    positions = np.flatnonzero(short)[:_FIT_SAMPLE]
    sample_rows = body.take(pa.array(positions)).to_pylist()
    samples = [[nfc(row[name]) for row in sample_rows if row[name] and nfc(row[name])]
               for name in body.column_names[:usual]]
    scores = {k: _realign_score(samples, match.columns, k) for k in range(header_width)}
    best = max(scores.values())
    if scores[header_width - 1] >= best:
        return body  # the last column is the empty one: the cells already sit under their headers
    winners = [k for k, score in scores.items() if score == best]
    missing = winners[0]
    if len(winners) > 1:
        raise LoadError(f"phần thân bảng có ít ô hơn dòng tiêu đề: {where}; không xác định được cột bị thiếu.",
                        file_name=file_name, row=first_short)
    return _shift_right(body, pa.array(short), missing, header_width)


def _shift_right(body: pa.Table, rows: pa.Array, missing: int, width: int) -> pa.Table:
    """In the given rows, column j >= missing takes the value of column j - 1; column ``missing`` is null."""
    names = [f"c{index}" for index in range(width)]
    columns = [body.column(index) if index < body.num_columns else pa.nulls(body.num_rows, pa.string())
               for index in range(width)]
    shifted = []
    for index, column in enumerate(columns):
        if index < missing:
            shifted.append(column)
            continue
        source = pa.nulls(body.num_rows, pa.string()) if index == missing else columns[index - 1]
        shifted.append(pc.if_else(rows, source, column))
    return pa.table(dict(zip(names, shifted, strict=True)))

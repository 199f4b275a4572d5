"""Deterministic demo data set: realistic one-stop-shop exports of Hải Phòng communes, 2023 … 09/2026.

``python -m sample_data.generate`` rewrites ``sample_data/exports/*``, ``sample_data/reference/*`` and
``sample_data/manifest.json``. Running it twice gives byte-identical files (fixed seed, fixed document
dates). Before 1/7/2025 dossiers belong to pre-reform communes (not in the 2025 catalogue), afterwards to
the new communes of Thành phố Hải Phòng. Each dossier is written to exactly one file, except one
deliberate monthly re-export that overlaps a quarterly file (older state; the loader must keep the newer).
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sample_data import synth
from sample_data.synth import CHANNEL_LABELS, LEVEL_LABELS, PROCEDURES, STATUS_LABELS, Outcomes, Procedure

SEED = 20260930
START, END = date(2023, 1, 1), date(2026, 9, 30)
REFORM = date(2025, 7, 1)
AS_OF = datetime(2026, 9, 30, 17, 0, 0)
DOC_CREATED = datetime(2026, 10, 1, 8, 0, 0)  # fixed xlsx document date: byte-identical reruns

ROOT = Path(__file__).resolve().parent
EXPORTS_DIR = ROOT / "exports"
REFERENCE_DIR = ROOT / "reference"
MANIFEST_PATH = ROOT / "manifest.json"

HP_TITLE = "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG"
TU_KY_TITLE = "ỦY BAN NHÂN DÂN HUYỆN TỨ KỲ"
HD_TITLE = "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI DƯƠNG"
THANH_MIEN_TITLE = "ỦY BAN NHÂN DÂN HUYỆN THANH MIỆN"


@dataclass(frozen=True)
class Commune:
    name: str
    parent_title: str  # first title row of its exports
    monthly: float  # mean dossiers per month
    legacy: bool  # True: a pre-1/7/2025 commune (not in the 2025 catalogue)
    # Drawn from their own random stream (``build_split_life``) so the other communes' data stay as they were:
    # split communes whose exports number dossiers with local receipt numbers.
    receipt_numbers: bool = False
    district: str = ""  # written after the name in unit columns ("Xã Thanh Tùng - huyện Thanh Miện")

    @property
    def agency(self) -> str:
        return f"000.{COMMUNES.index(self) + 1:02d}.{'30.H23' if self.legacy else '31.H26'}"

    @property
    def period(self) -> tuple[date, date]:
        return (START, REFORM - timedelta(days=1)) if self.legacy else (REFORM, END)


COMMUNES: tuple[Commune, ...] = (
    Commune("Xã Phượng Kỳ", TU_KY_TITLE, 26, True),
    Commune("Xã Hà Kỳ", TU_KY_TITLE, 20, True),
    Commune("Xã Quang Phục", TU_KY_TITLE, 18, True),
    Commune("Xã Hà Thanh", TU_KY_TITLE, 16, True),
    Commune("Phường Bình Hàn", HD_TITLE, 34, True),
    Commune("Phường Cẩm Thượng", HD_TITLE, 30, True),
    Commune("Xã Tứ Kỳ", HP_TITLE, 38, False),
    Commune("Xã Lạc Phượng", HP_TITLE, 28, False),
    Commune("Xã Nguyễn Lương Bằng", HP_TITLE, 24, False),
    Commune("Phường Hải Dương", HP_TITLE, 40, False),
    Commune("Phường Lê Thanh Nghị", HP_TITLE, 36, False),
    Commune("Phường Thành Đông", HP_TITLE, 32, False),
    # Split on 1/7/2025 between Xã Nguyễn Lương Bằng (default successor) and Xã Thượng Hồng; both number
    # their dossiers "BN-2024-0001" …, so the same receipt number exists in two units (never one dossier).
    Commune("Xã Thanh Tùng", THANH_MIEN_TITLE, 14, True, receipt_numbers=True, district="huyện Thanh Miện"),
    Commune("Xã Đoàn Tùng", THANH_MIEN_TITLE, 12, True, receipt_numbers=True, district="huyện Thanh Miện"),
)
_BY_NAME = {c.name: i for i, c in enumerate(COMMUNES)}

# Catalogue-only procedures (no dossiers): the dashboard shows procedures that never had a dossier.
IDLE_PROCEDURES: tuple[Procedure, ...] = (
    Procedure("1.000419", "Thủ tục đăng ký giám hộ", "HT", "Hộ tịch", "mot_phan", 3, 0, 0.0),
    Procedure("1.000447", "Thủ tục đăng ký chấm dứt giám hộ", "HT", "Hộ tịch", "mot_phan", 2, 0, 0.0),
    Procedure("2.000794", "Thủ tục chứng thực việc sửa đổi, bổ sung, hủy bỏ hợp đồng, giao dịch", "CT",
              "Chứng thực", "mot_phan", 2, 30000, 0.0),
    Procedure("1.003005", "Thủ tục công nhận câu lạc bộ thể thao cơ sở", "TDTT", "Thể dục thể thao", "mot_phan",
              7, 0, 0.0),
    Procedure("1.010810", "Thủ tục xác nhận vào đơn đề nghị di chuyển hài cốt liệt sĩ", "NCC", "Người có công",
              "mot_phan", 5, 0, 0.0),
)
# Per-unit counts a file format cannot carry (legacy cp1258 CSV and SpreadsheetML have fewer columns).
FIELDS_NOT_EXPORTED = {
    "Phường Cẩm Thượng": ["supplemented", "e_result", "reused", "paid_online"],
    "Phường Bình Hàn": ["paid_online"],
}
# Online share ~45% in 2023 rising to ~90% in 2026 (procedure factors pull the average down a little).
DEMO_OUTCOMES = Outcomes(online_start=0.36, online_end=1.08, stalled=0.015)
# Hộ kinh doanh and building permits moved to the commune with the two-level reform.
_DISTRICT_FIELDS_BEFORE_REFORM = {"HKD", "XD"}

_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Vũ", "Hoàng", "Đỗ", "Bùi", "Đặng", "Ngô")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Ngọc", "Quang", "Thanh")
_GIVEN = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phương", "Tuấn", "Yến")


# ---------------------------------------------------------------------------------------------- truth


def _monthly_counts(rng: np.random.Generator, commune: Commune) -> list[tuple[date, int]]:
    first, last = commune.period
    months = pd.period_range(first, last, freq="M")
    seasonal = {1: 1.15, 2: 0.75, 7: 1.05, 8: 1.1, 12: 1.2}  # Tết dip, year-end peak
    return [(m.start_time.date(), int(rng.poisson(commune.monthly * seasonal.get(m.month, 1.0))))
            for m in months]


def _receptions(rng: np.random.Generator, receipt_numbers: bool = False) -> tuple[np.ndarray, np.ndarray]:
    unit_idx, days = [], []
    for index, commune in enumerate(COMMUNES):
        if commune.receipt_numbers != receipt_numbers:
            continue
        for month_start, count in _monthly_counts(rng, commune):
            month_end = (pd.Timestamp(month_start) + pd.offsets.MonthEnd(0)).date()
            workdays = synth.working_days(month_start, month_end)
            days.append(np.sort(workdays[rng.integers(0, len(workdays), count)]))
            unit_idx.append(np.full(count, index))
    return np.concatenate(unit_idx), np.concatenate(days)


def _procedures(rng: np.random.Generator, received_day: np.ndarray) -> np.ndarray:
    weights = np.array([p.weight for p in PROCEDURES])
    early = weights * [p.field_code not in _DISTRICT_FIELDS_BEFORE_REFORM for p in PROCEDURES]
    before = received_day < np.datetime64(REFORM)
    return np.where(before, rng.choice(len(PROCEDURES), len(received_day), p=early / early.sum()),
                    rng.choice(len(PROCEDURES), len(received_day), p=weights / weights.sum()))


def build_life(seed: int = SEED) -> pd.DataFrame:
    """Every demo dossier's whole life, with its code and commune, ordered by reception."""
    rng = np.random.default_rng(seed)
    unit_idx, received_day = _receptions(rng)
    life = synth.simulate(rng, unit_idx, received_day, trend=(START, END), outcomes=DEMO_OUTCOMES,
                          proc_idx=_procedures(rng, received_day))
    life = life.sort_values(["received_at", "unit_idx"], kind="stable").reset_index(drop=True)
    life["code"] = synth.assign_codes(life, [c.agency for c in COMMUNES])
    life["pii_seed"] = rng.integers(0, 2**31, len(life))
    split = build_split_life(seed)
    return pd.concat([life, split], ignore_index=True).sort_values(
        ["received_at", "unit_idx"], kind="stable").reset_index(drop=True)


def build_split_life(seed: int = SEED) -> pd.DataFrame:
    """The split communes (own random stream): local receipt numbers 'BN-<year>-<nnnn>' per unit and year."""
    rng = np.random.default_rng(seed + 1)
    unit_idx, received_day = _receptions(rng, receipt_numbers=True)
    life = synth.simulate(rng, unit_idx, received_day, trend=(START, END), outcomes=DEMO_OUTCOMES,
                          proc_idx=_procedures(rng, received_day))
    life = life.sort_values(["received_at", "unit_idx"], kind="stable").reset_index(drop=True)
    year = life["received_at"].dt.year
    seq = life.groupby([life["unit_idx"], year], sort=False).cumcount() + 1
    life["code"] = [f"BN-{y}-{n:04d}" for y, n in zip(year, seq, strict=True)]
    life["pii_seed"] = rng.integers(0, 2**31, len(life))
    return life


def state_at(life: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Snapshot at ``as_of`` with the code and the per-dossier PII seed carried along."""
    kept = life[life["received_at"].to_numpy() <= np.datetime64(as_of, "s")]
    state = synth.snapshot(kept.drop(columns=["code", "pii_seed"]), as_of)
    return state.assign(code=kept["code"].to_numpy(), pii_seed=kept["pii_seed"].to_numpy())


# ------------------------------------------------------------------------------------------ file rows


def _ts(value) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


@dataclass
class Row:
    """One dossier as the writers need it (plain Python values)."""

    code: str
    unit: str
    procedure: Procedure
    channel: int
    status: int
    submitted_at: datetime | None
    received_at: datetime | None
    due_at: datetime | None
    new_due_at: datetime | None
    supplement_requested_at: datetime | None
    supplement_received_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None
    digitized: bool
    e_result: bool
    reused: bool
    paid_online: bool
    fee: int
    supplement_count: int
    pii_seed: int
    status_label: str | None = None  # overrides the national label (bad rows)
    received_text: str | None = None  # overrides the reception date with a raw text (bad rows)

    @property
    def status_text(self) -> str:
        return self.status_label if self.status_label is not None else STATUS_LABELS[self.status]

    def pii(self) -> tuple[str, str, str]:
        """Fake applicant name, address and phone number (deterministic per dossier).

        About one applicant in twelve lives in another commune (some in another province): those dossiers are
        received regardless of boundaries (NĐ 118/2025), derived at import from the address."""
        seed = self.pii_seed
        name = (f"{_SURNAMES[seed % 10]} {_MIDDLE[seed // 10 % 8]} {_GIVEN[seed // 80 % 13]}")
        kind, place = self.unit.split(" - ")[0].split(" ", 1)
        home = f"{kind.lower()} {place}, thành phố Hải Phòng"
        if seed % 23 == 0:
            home = "xã Yên Phong, tỉnh Bắc Ninh"
        elif seed % 13 == 0:
            home = "phường Lê Chân, thành phố Hải Phòng" if place != "Lê Chân" else "xã An Lão, thành phố Hải Phòng"
        address = f"Thôn {seed // 1040 % 9 + 1}, {home}"
        phone = f"09{seed % 100000000:08d}"
        return name, address, phone

    @property
    def department(self) -> str:
        """Handling department by field (the commune's offices after the 2025 reform)."""
        return _DEPARTMENTS.get(self.procedure.field_code, "Văn phòng HĐND và UBND")

    @property
    def officer(self) -> str:
        """A handling official (fake name), exported where the one-stop system lists who holds the dossier."""
        return _OFFICERS[self.pii_seed % len(_OFFICERS)]


_DEPARTMENTS = {"DD": "Phòng Kinh tế", "XD": "Phòng Kinh tế", "HKD": "Phòng Kinh tế",
                "BTXH": "Phòng Văn hóa - Xã hội", "NCC": "Phòng Văn hóa - Xã hội", "VHCS": "Phòng Văn hóa - Xã hội",
                "TG": "Phòng Văn hóa - Xã hội"}
_OFFICERS = ("Vũ Thị Hạnh", "Đỗ Minh Quân", "Ngô Thu Trang")


def _unit_text(commune: Commune) -> str:
    return f"{commune.name} - {commune.district}" if commune.district else commune.name


def to_rows(state: pd.DataFrame) -> list[Row]:
    rows = []
    for rec in state.itertuples(index=False):
        rows.append(Row(
            rec.code, _unit_text(COMMUNES[rec.unit_idx]), PROCEDURES[rec.proc_idx], int(rec.channel), int(rec.status),
            _ts(rec.submitted_at), _ts(rec.received_at), _ts(rec.due_at), _ts(rec.new_due_at),
            _ts(rec.supplement_requested_at), _ts(rec.supplement_received_at), _ts(rec.finished_at),
            _ts(rec.returned_at), bool(rec.digitized), bool(rec.e_result), bool(rec.reused),
            bool(rec.paid_online), int(rec.fee), int(rec.supplement_count), int(rec.pii_seed)))
    return rows


def _bad_row(template: Row, code: str, **changes) -> Row:
    values = {**template.__dict__, "code": code, **changes}
    return Row(**values)


def _dmy(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y %H:%M:%S" if with_time else "%d/%m/%Y")


def _period_title(first: date, last: date) -> str:
    return f"(Từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y})"


def _org_title(unit: str) -> str:
    return "ỦY BAN NHÂN DÂN " + unit.upper()


def _level_text(procedure: Procedure, old_style: bool) -> str:
    if old_style:  # wording before Nghị định 42/2022 took hold: "Mức độ 3 / Mức độ 4"
        return "Mức độ 4" if procedure.dvc_level == "toan_trinh" else "Mức độ 3"
    return LEVEL_LABELS[procedure.dvc_level]


def _yes(flag: bool) -> str:
    return "Có" if flag else "Không"


# --------------------------------------------------------------------------------------------- xlsx


@dataclass
class XlsxLayout:
    titles: list[str]  # title rows above the table
    period: tuple[date, date]
    pii: bool = False
    old_style: bool = False
    group_by_unit: bool = True
    handlers: bool = False  # "Phòng ban xử lý" and "Cán bộ xử lý" columns


_XLSX_SIMPLE = ("STT", "Mã hồ sơ", "Lĩnh vực", "Mã TTHC", "Tên thủ tục hành chính", "Mức độ", "Kênh thực hiện")
_XLSX_PII = ("Chủ hồ sơ", "Địa chỉ", "Số điện thoại")
_XLSX_DATES = ("Tiếp nhận", "Hẹn trả", "Hẹn trả mới", "Có kết quả", "Trả kết quả")
_XLSX_TAIL = ("Tái sử dụng dữ liệu", "Thanh toán trực tuyến", "Phí (VNĐ)", "Số lần bổ sung")
_XLSX_HANDLERS = ("Phòng ban xử lý", "Cán bộ xử lý")


def write_title_xlsx(path: Path, rows: list[Row], layout: XlsxLayout) -> int:
    """xlsx as a commune exports it: title rows, merged two-level header, unit group rows, total row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    book.set_properties({"title": "Danh sách hồ sơ", "author": "Phần mềm một cửa điện tử",
                         "created": DOC_CREATED})
    sheet = book.add_worksheet("DanhSachHoSo")
    bold = book.add_format({"bold": True})
    center = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1,
                              "text_wrap": True})
    dt = book.add_format({"num_format": "dd/mm/yyyy hh:mm", "border": 1})
    cell = book.add_format({"border": 1})
    group = book.add_format({"bold": True, "italic": True, "border": 1})
    head = [*_XLSX_SIMPLE, *(_XLSX_PII if layout.pii else ()), "Trạng thái"]
    width = len(head) + len(_XLSX_DATES) + 2 + len(_XLSX_TAIL) + (len(_XLSX_HANDLERS) if layout.handlers else 0)
    row_no = 0
    for title in layout.titles:
        sheet.merge_range(row_no, 0, row_no, 6, title, bold)
        row_no += 1
    sheet.merge_range(row_no + 1, 0, row_no + 1, width - 1, "DANH SÁCH HỒ SƠ TIẾP NHẬN", center)
    sheet.merge_range(row_no + 2, 0, row_no + 2, width - 1, _period_title(*layout.period), center)
    top = row_no + 4
    for col, name in enumerate(head):
        sheet.merge_range(top, col, top + 1, col, name, center)
    col = len(head)
    sheet.merge_range(top, col, top, col + len(_XLSX_DATES) - 1, "Ngày", center)
    for k, name in enumerate(_XLSX_DATES):
        sheet.write(top + 1, col + k, name, center)
    col += len(_XLSX_DATES)
    sheet.merge_range(top, col, top, col + 1, "Số hóa", center)
    sheet.write(top + 1, col, "Thành phần", center)
    sheet.write(top + 1, col + 1, "Kết quả", center)
    for k, name in enumerate(_XLSX_TAIL + (_XLSX_HANDLERS if layout.handlers else ()), start=col + 2):
        sheet.merge_range(top, k, top + 1, k, name, center)
    row_no = top + 2
    groups = sorted({r.unit for r in rows}, key=lambda u: _BY_NAME.get(u, 99)) if layout.group_by_unit else [None]
    for unit in groups:
        members = [r for r in rows if unit is None or r.unit == unit]
        if unit is not None:
            sheet.merge_range(row_no, 0, row_no, width - 1, unit, group)
            row_no += 1
        for stt, r in enumerate(members, start=1):
            _write_xlsx_row(sheet, row_no, stt, r, layout, cell, dt)
            row_no += 1
    sheet.merge_range(row_no, 0, row_no, 2, "Tổng cộng", group)
    sheet.write_number(row_no, 3, len(rows), group)
    sheet.set_column(0, 0, 5)
    sheet.set_column(1, 1, 26)
    sheet.set_column(4, 4, 50)
    book.close()
    return len(rows)


def _write_xlsx_row(sheet, row_no: int, stt: int, r: Row, layout: XlsxLayout, cell, dt) -> None:
    values: list = [stt, r.code, r.procedure.field_name, r.procedure.code, r.procedure.name,
                    _level_text(r.procedure, layout.old_style), CHANNEL_LABELS[r.channel]]
    if layout.pii:
        values.extend(r.pii())
    values.append(r.status_text)
    sheet.write_row(row_no, 0, values, cell)
    col = len(values)
    dates = (r.received_at, r.due_at, r.new_due_at, r.finished_at, r.returned_at)
    for k, value in enumerate(dates):
        if k == 0 and r.received_text is not None:
            sheet.write_string(row_no, col, r.received_text, cell)
        elif value is None:
            sheet.write_blank(row_no, col + k, None, cell)
        else:
            sheet.write_datetime(row_no, col + k, value, dt)
    col += len(dates)
    sheet.write_row(row_no, col, [_yes(r.digitized), _yes(r.e_result), _yes(r.reused), _yes(r.paid_online),
                                  r.fee, r.supplement_count], cell)
    if layout.handlers:
        # Only some dossiers name an official (the current holder is blank once returned).
        officer = r.officer if r.returned_at is None or r.pii_seed % 2 else ""
        sheet.write_row(row_no, col + 6, [r.department, officer], cell)


# ------------------------------------------------------------------------------------- HTML as .xls


_HTML_HEAD = ("STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Lĩnh vực", "Mức độ", "Hình thức nộp")
_HTML_DATES = ("Nhận", "Hẹn trả", "Hẹn trả mới", "Kết thúc xử lý", "Trả kết quả")
_HTML_TAIL = ("Trạng thái", "Đã số hóa", "Số hóa kết quả", "Tái sử dụng dữ liệu", "Thanh toán trực tuyến",
              "Phí (VNĐ)", "Số lần bổ sung")


def write_html_xls(path: Path, rows: list[Row], titles: list[str], period: tuple[date, date]) -> int:
    """HTML table saved with an .xls name (what some web one-stop systems call "Xuất Excel")."""
    width = len(_HTML_HEAD) + len(_HTML_DATES) + len(_HTML_TAIL)
    esc = html.escape
    out = ['<html xmlns:o="urn:schemas-microsoft-com:office:office" '
           'xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">',
           '<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
           "<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet>"
           "<x:Name>Sheet1</x:Name></x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]-->"
           "</head><body>", '<table border="1">']
    for title in [*titles, "", "DANH SÁCH HỒ SƠ TIẾP NHẬN", _period_title(*period)]:
        out.append(f'<tr><td colspan="{width}"><strong>{esc(title)}</strong></td></tr>')
    first = "".join(f'<th rowspan="2">{esc(h)}</th>' for h in _HTML_HEAD)
    first += f'<th colspan="{len(_HTML_DATES)}">Ngày</th>'
    first += "".join(f'<th rowspan="2">{esc(h)}</th>' for h in _HTML_TAIL)
    out.append(f"<tr>{first}</tr>")
    out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in _HTML_DATES) + "</tr>")
    for stt, r in enumerate(rows, start=1):
        received = r.received_text if r.received_text is not None else _dmy(r.received_at, False)
        cells = [str(stt), r.code, r.procedure.name, r.procedure.field_name, _level_text(r.procedure, True),
                 CHANNEL_LABELS[r.channel], received, _dmy(r.due_at, False), _dmy(r.new_due_at, False),
                 _dmy(r.finished_at, False), _dmy(r.returned_at, False), r.status_text, _yes(r.digitized),
                 _yes(r.e_result), _yes(r.reused), _yes(r.paid_online), f"{r.fee:,}".replace(",", "."),
                 str(r.supplement_count)]
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></body></html>")
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(out).encode("utf-8"))
    return len(rows)


# ---------------------------------------------------------------------------------------------- CSV


_CSV_HEAD = ("STT", "Mã hồ sơ", "Đơn vị tiếp nhận", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Mức độ",
             "Kênh thực hiện", "Ngày nộp hồ sơ", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày yêu cầu bổ sung",
             "Ngày nhận bổ sung", "Ngày hẹn trả mới", "Ngày kết thúc xử lý", "Ngày trả kết quả", "Trạng thái",
             "Số hóa", "Kết quả điện tử", "Tái sử dụng dữ liệu", "Thanh toán trực tuyến", "Phí (VNĐ)",
             "Số lần bổ sung")


def _csv_cells(stt: int, r: Row, old_style: bool) -> list[str]:
    received = r.received_text if r.received_text is not None else _dmy(r.received_at)
    return [str(stt), r.code, r.unit, r.procedure.code, r.procedure.name, r.procedure.field_name,
            _level_text(r.procedure, old_style), CHANNEL_LABELS[r.channel], _dmy(r.submitted_at), received,
            _dmy(r.due_at), _dmy(r.supplement_requested_at), _dmy(r.supplement_received_at), _dmy(r.new_due_at),
            _dmy(r.finished_at), _dmy(r.returned_at), r.status_text, _yes(r.digitized), _yes(r.e_result),
            _yes(r.reused), _yes(r.paid_online), str(r.fee), str(r.supplement_count)]


def _quote(text: str, sep: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if sep in text or '"' in text else text


def write_units_csv(path: Path, rows: list[Row], old_style: bool = False) -> int:
    """``;`` separated UTF-8-BOM list with a unit column (several communes in one file)."""
    lines = [";".join(_CSV_HEAD)]
    lines += [";".join(_quote(c, ";") for c in _csv_cells(stt, r, old_style)) for stt, r in enumerate(rows, 1)]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return len(rows)


_LEGACY_HEAD = ("STT", "Số biên nhận", "Bộ phận một cửa", "Tên thủ tục", "Lĩnh vực", "Hình thức nộp",
                "Ngày nhận", "Ngày hẹn trả", "Ngày hoàn thành", "Ngày trả", "Tình trạng", "Đã số hóa",
                "Phí (VNĐ)")
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    """Windows-1258 stores tone marks as combining characters: split off only those (â, ơ, ư stay whole)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONE_MARKS)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS)) + tones)
    return "".join(out).encode("cp1258")


def write_legacy_csv(path: Path, rows: list[Row]) -> int:
    """An old commune's CSV: Windows-1258, ``,`` separated, quoted, older header words."""
    lines = [",".join(f'"{h}"' for h in _LEGACY_HEAD)]
    for stt, r in enumerate(rows, start=1):
        cells = [str(stt), r.code, "UBND " + r.unit.replace("Phường", "phường").replace("Xã", "xã"),
                 r.procedure.name, r.procedure.field_name, CHANNEL_LABELS[r.channel],
                 _dmy(r.received_at)[:16], _dmy(r.new_due_at or r.due_at)[:16], _dmy(r.finished_at)[:16],
                 _dmy(r.returned_at)[:16], r.status_text, _yes(r.digitized), str(r.fee)]
        lines.append(",".join(f'"{c}"' for c in cells))
    path.write_bytes(b"".join(_cp1258(line) + b"\r\n" for line in lines))
    return len(rows)


# ---------------------------------------------------------------------------------- SpreadsheetML 2003


_XML_HEAD = ("STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Lĩnh vực", "Mức độ", "Kênh thực hiện",
             "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày hẹn trả mới", "Ngày kết thúc xử lý", "Ngày trả kết quả",
             "Trạng thái", "Số hóa", "Kết quả điện tử", "Tái sử dụng dữ liệu", "Phí (VNĐ)", "Số lần bổ sung")


def _xml_cell(value, style: str | None = None, merge: int = 0) -> str:
    attrs = (f' ss:StyleID="{style}"' if style else "") + (f' ss:MergeAcross="{merge}"' if merge else "")
    if value is None or value == "":
        return f"<Cell{attrs}/>"
    if isinstance(value, datetime):
        return f'<Cell{attrs}><Data ss:Type="DateTime">{value:%Y-%m-%dT%H:%M:%S}.000</Data></Cell>'
    if isinstance(value, int):
        return f'<Cell{attrs}><Data ss:Type="Number">{value}</Data></Cell>'
    return f'<Cell{attrs}><Data ss:Type="String">{html.escape(str(value), quote=False)}</Data></Cell>'


def write_spreadsheetml(path: Path, rows: list[Row], titles: list[str], period: tuple[date, date]) -> int:
    """Excel 2003 XML ("XML Spreadsheet") saved as .xls."""
    width = len(_XML_HEAD)
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">',
           '<Styles><Style ss:ID="t"><Font ss:Bold="1"/></Style>'
           '<Style ss:ID="d"><NumberFormat ss:Format="dd/mm/yyyy hh:mm"/></Style></Styles>',
           '<Worksheet ss:Name="Danh sach ho so"><Table>']
    for title in [*titles, "DANH SÁCH HỒ SƠ TIẾP NHẬN", _period_title(*period)]:
        out.append(f"<Row>{_xml_cell(title, 't', width - 1)}</Row>")
    out.append("<Row>" + "".join(_xml_cell(h, "t") for h in _XML_HEAD) + "</Row>")
    for stt, r in enumerate(rows, start=1):
        values = [stt, r.code, r.procedure.name, r.procedure.field_name, _level_text(r.procedure, True),
                  CHANNEL_LABELS[r.channel]]
        dates = [r.received_at, r.due_at, r.new_due_at, r.finished_at, r.returned_at]
        tail = [r.status_text, _yes(r.digitized), _yes(r.e_result), _yes(r.reused), r.fee, r.supplement_count]
        cells = [_xml_cell(v) for v in values] + [_xml_cell(v, "d") for v in dates] + [_xml_cell(v) for v in tail]
        out.append("<Row>" + "".join(cells) + "</Row>")
    out.append("</Table></Worksheet></Workbook>")
    path.write_bytes("\n".join(out).encode("utf-8"))
    return len(rows)


# ---------------------------------------------------------------------------------------- DVCQG JSON


def _ymdhms(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y%m%d%H%M%S")


def _dvcqg_record(r: Row) -> dict:
    name, address, phone = r.pii()
    record = {
        "MaHoSo": r.code, "MaTTHC": r.procedure.base_code, "TenTTHC": r.procedure.name,
        "MaLinhVuc": r.procedure.field_code, "TenLinhVuc": r.procedure.field_name,
        "KenhThucHien": str(r.channel), "ChuHoSo": name, "LoaiDoiTuong": "1",
        "SoGiayToChuHoSo": f"0310{r.pii_seed % 10**8:08d}", "SoDienThoai": phone, "Email": "",
        "DiaChiChuHoSo": address, "TrichYeuHoSo": r.procedure.name,
        "NgayNopHoSo": _ymdhms(r.submitted_at), "NgayTiepNhan": _ymdhms(r.received_at),
        "NgayHenTra": _ymdhms(r.due_at), "NgayKetThucXuLy": _ymdhms(r.finished_at),
        "NgayTra": _ymdhms(r.returned_at), "NgayTuChoi": _ymdhms(r.finished_at) if r.status == 3 else "",
        "TrangThaiHoSo": str(r.status), "HinhThuc": "1" if r.channel == 3 else "0",
        "DonViXuLy": "UBND " + r.unit.replace("Phường", "phường").replace("Xã", "xã"),
        "NoiNopHoSo": "2" if r.channel == 2 else "1", "HoSoCoThanhPhanSoHoa": "1" if r.digitized else "0",
        "TaiKhoanDuocXacThucVoiVNeID": "1" if r.channel == 2 else "0",
        "DuocThanhToanTrucTuyen": "1" if r.paid_online else ("3" if r.fee else "0"),
        "TaiLieuNop": [{
            "TepDinhKemId": f"{r.code}-TP1", "TenTepDinhKem": "Tờ khai.pdf", "IsDeleted": False,
            "MaThanhPhanHoSo": "TP1", "DuocSoHoa": "1" if r.digitized else "0",
            "DuocTaiSuDung": "1" if r.reused else "0", "DuocLayTuKhoDMQG": "1" if r.reused else "0"}],
        "DanhSachLePhi": [] if not r.fee else [{
            "TenPhiLePhi": "Phí giải quyết thủ tục", "MaPhiLePhi": "PHI01",
            "HinhThucThu": "2" if r.paid_online else "1", "Gia": r.fee, "LoaiPhiLePhi": "1"}],
        "DanhSachGiayToKetQua": [] if not r.e_result else [{
            "TenGiayTo": "Kết quả giải quyết", "MaThanhPhanHoSo": "KQ1", "GiayToId": f"{r.code}-KQ",
            "DuongDanTepTinKetQua": f"/ketqua/{r.code}.pdf", "MaGiayToKetQua": f"KQ.{r.code}"}],
        "DanhSachHoSoBoSung": [],
    }
    if r.supplement_requested_at is not None:
        record["DanhSachHoSoBoSung"].append({
            "HoSoBoSungId": f"{r.code}-BS1", "NguoiYeuCauBoSung": "Công chức một cửa",
            "NoiDungBoSung": "Bổ sung bản sao giấy tờ", "NgayBoSung": _ymdhms(r.supplement_requested_at),
            "NgayTiepNhanBoSung": _ymdhms(r.supplement_received_at),
            "TrangThaiBoSung": "2" if r.supplement_received_at else "1",
            "NgayHenTraTruoc": _ymdhms(r.due_at), "NgayHenTraMoi": _ymdhms(r.new_due_at)})
    return record


def write_dvcqg_json(path: Path, rows: list[Row]) -> int:
    """National portal sync payload (DongBoHoSoMC), one record per dossier, with fake applicant data."""
    body = {"service": "DongBoHoSoMC", "isUpdating": False, "data": [_dvcqg_record(r) for r in rows]}
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(rows)


# ----------------------------------------------------------------------------------- procedure list


def write_catalogue(path: Path) -> int:
    """Danh mục TTHC cấp xã (includes procedures that never had a dossier)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": "Danh mục thủ tục hành chính", "created": DOC_CREATED})
    sheet = book.add_worksheet("DanhMuc")
    bold = book.add_format({"bold": True})
    sheet.write(0, 0, HP_TITLE, bold)
    sheet.write(2, 0, "DANH MỤC THỦ TỤC HÀNH CHÍNH THUỘC THẨM QUYỀN GIẢI QUYẾT CỦA UBND CẤP XÃ", bold)
    head = ("STT", "Mã TTHC", "Tên thủ tục", "Mã lĩnh vực", "Lĩnh vực", "Mức độ", "Có phí",
            "Thời hạn giải quyết (ngày làm việc)")
    sheet.write_row(4, 0, head, bold)
    procedures = sorted(PROCEDURES + IDLE_PROCEDURES, key=lambda p: (p.field_name, p.base_code))
    for k, p in enumerate(procedures, start=1):
        sheet.write_row(4 + k, 0, [k, p.code, p.name, p.field_code, p.field_name, LEVEL_LABELS[p.dvc_level],
                                   "Có" if p.fee else "Không", p.legal_days])
    book.close()
    return len(procedures)


# --------------------------------------------------------------------------------------------- plan


@dataclass
class ExportFile:
    name: str
    fmt: str
    source: str
    units: tuple[str, ...]
    period: tuple[date, date]
    write: Callable[[Path, list[Row]], int]
    as_of: datetime = AS_OF
    bad: list[tuple[int, str, dict]] = field(default_factory=list)  # (insert position, reason, changes)


def _periods(first: date, last: date, freq: str) -> list[tuple[date, date, str]]:
    out = []
    for period in pd.period_range(first, last, freq=freq):
        a, b = max(period.start_time.date(), first), min(period.end_time.date(), last)
        label = f"{period.year}-q{period.quarter}" if freq == "Q" else f"{period.year}"
        if freq == "Y" and (a, b) == (date(period.year, 1, 1), date(period.year, 6, 30)):
            label += "-h1"
        out.append((a, b, label))
    return out


def _halves(first: date, last: date) -> list[tuple[date, date, str]]:
    out = []
    for year in range(first.year, last.year + 1):
        for half, (a, b) in enumerate(((date(year, 1, 1), date(year, 6, 30)), (date(year, 7, 1),
                                                                             date(year, 12, 31))), 1):
            a, b = max(a, first), min(b, last)
            if a <= b:
                out.append((a, b, f"{year}-h{half}"))
    return out


def _title_xlsx(titles, period, **kw):
    return lambda path, rows: write_title_xlsx(path, rows, XlsxLayout(titles, period, **kw))


def export_plan() -> list[ExportFile]:
    """Which dossiers go to which file (unit set x period x format)."""
    plan: list[ExportFile] = []
    old_first, old_last = START, REFORM - timedelta(days=1)
    for a, b, label in _periods(old_first, old_last, "Y"):
        unit = "Xã Phượng Kỳ"
        plan.append(ExportFile(f"{label}_xa-phuong-ky.xlsx", "xlsx", "local", (unit,), (a, b),
                               _title_xlsx([TU_KY_TITLE, _org_title(unit)], (a, b), old_style=True)))
        unit = "Xã Hà Kỳ"
        titles = [TU_KY_TITLE, _org_title(unit)]
        plan.append(ExportFile(f"{label}_xa-ha-ky.xls", "html", "local", (unit,), (a, b),
                               lambda p, r, t=titles, per=(a, b): write_html_xls(p, r, t, per)))
        plan.append(ExportFile(f"{label}_xa-quang-phuc_xa-ha-thanh.csv", "csv", "local",
                               ("Xã Quang Phục", "Xã Hà Thanh"), (a, b),
                               lambda p, r: write_units_csv(p, r, old_style=True)))
        unit = "Phường Bình Hàn"
        titles = [HD_TITLE, _org_title(unit)]
        plan.append(ExportFile(f"{label}_phuong-binh-han.xls", "spreadsheetml", "local", (unit,), (a, b),
                               lambda p, r, t=titles, per=(a, b): write_spreadsheetml(p, r, t, per)))
        plan.append(ExportFile(f"{label}_phuong-cam-thuong.csv", "csv-cp1258", "local", ("Phường Cẩm Thượng",),
                               (a, b), write_legacy_csv))
        plan.append(ExportFile(f"{label}_xa-thanh-tung_xa-doan-tung.csv", "csv", "local",
                               ("Xã Thanh Tùng", "Xã Đoàn Tùng"), (a, b), write_units_csv))
    for a, b, label in _periods(REFORM, END, "Q"):
        unit = "Xã Tứ Kỳ"
        plan.append(ExportFile(f"{label}_xa-tu-ky.xlsx", "xlsx", "local", (unit,), (a, b),
                               _title_xlsx([HP_TITLE, _org_title(unit)], (a, b), pii=True, handlers=True)))
        plan.append(ExportFile(f"{label}_xa-lac-phuong_xa-nguyen-luong-bang.csv", "csv", "local",
                               ("Xã Lạc Phượng", "Xã Nguyễn Lương Bằng"), (a, b), write_units_csv))
    for a, b, label in _halves(REFORM, END):
        plan.append(ExportFile(f"{label}_phuong-hai-duong_phuong-le-thanh-nghi.xlsx", "xlsx", "local",
                               ("Phường Hải Dương", "Phường Lê Thanh Nghị"), (a, b),
                               _title_xlsx([HP_TITLE], (a, b))))
        plan.append(ExportFile(f"dvcqg_{label}_phuong-thanh-dong.json", "json", "dvcqg", ("Phường Thành Đông",),
                               (a, b), write_dvcqg_json))
    # The deliberate overlap: September 2026 exported mid-month, older state than the Q3 file.
    plan.append(ExportFile("2026-q3_xa-lac-phuong_xa-nguyen-luong-bang_xuat-15-09-2026.csv", "csv", "local",
                           ("Xã Lạc Phượng", "Xã Nguyễn Lương Bằng"), (date(2026, 9, 1), date(2026, 9, 15)),
                           write_units_csv, as_of=datetime(2026, 9, 15, 17, 0, 0)))
    _add_bad_rows(plan)
    return plan


def _add_bad_rows(plan: list[ExportFile]) -> None:
    """3-6 broken rows so the dashboard's rejected-rows view has content."""
    by_name = {f.name: f for f in plan}
    csv_file = by_name["2025-q4_xa-lac-phuong_xa-nguyen-luong-bang.csv"]
    csv_file.bad = [
        (12, "ngày tiếp nhận không hợp lệ", {"received_text": "32/10/2025 08:15:00"}),
        (45, "trạng thái không xác định", {"status_label": "Hồ sơ lỗi đồng bộ"}),
        (80, "thiếu mã hồ sơ", {"code": ""}),
    ]
    by_name["2024_xa-ha-ky.xls"].bad = [(30, "ngày tiếp nhận không hợp lệ", {"received_text": "00/00/0000"})]
    by_name["2026-q1_xa-tu-ky.xlsx"].bad = [(20, "ngày tiếp nhận không hợp lệ", {"received_text": "31/02/2026"})]


# ---------------------------------------------------------------------------------------------- run


def _rows_for(export: ExportFile, life: pd.DataFrame, cache: dict) -> tuple[list[Row], list[dict]]:
    """The file's rows (state at its export time) with its deliberately broken rows inserted."""
    state = cache.get(export.as_of)
    if state is None:
        state = cache[export.as_of] = state_at(life, export.as_of)
    units = {_BY_NAME[u] for u in export.units}
    day = state["received_at"].dt.date
    mask = state["unit_idx"].isin(units) & (day >= export.period[0]) & (day <= export.period[1])
    rows = to_rows(state[mask])
    rejects = []
    for k, (position, reason, changes) in enumerate(export.bad):
        template = rows[min(position, len(rows) - 1)]
        code = changes.get("code", f"{template.code.rsplit('-', 1)[0]}-{9001 + k}")
        rows.insert(position, _bad_row(template, code, **{key: v for key, v in changes.items() if key != "code"}))
        raw = changes.get("received_text", changes.get("status_label", changes.get("code")))
        rejects.append({"file": export.name, "data_row": position + 1, "dossier_code": code, "reason": reason,
                        "raw_value": raw or None})
    return rows, rejects


def _unit_code(name: str) -> str:
    """The code the loader gives a commune of the demo province (current, or legacy through its old province)."""
    from motcua import units

    return units.resolve_unit(_units_db(), f"{name}, {synth.PROVINCE_NAME}", suggest=False).code


@functools.lru_cache(maxsize=1)
def _units_db():
    from motcua import db, units

    con = db.connect_memory()
    units.seed_units(con)
    return con


def _expected(final: pd.DataFrame) -> dict:
    """Counts computed from the generator's own truth (state at AS_OF)."""
    final = final.assign(unit=[COMMUNES[i].name for i in final["unit_idx"]])
    resolved = final["status"].isin([9, 10])
    deadline = final["new_due_at"].fillna(final["due_at"])
    fin_day, due_day = final["finished_at"].dt.normalize(), deadline.dt.normalize()
    pending = final["status"].isin([2, 4, 5])
    final = final.assign(
        quarter=final["received_at"].dt.to_period("Q").astype(str),
        online=final["channel"] == 2, resolved=resolved,
        early=resolved & (fin_day < due_day), on_time=resolved & (fin_day == due_day),
        late=resolved & (fin_day > due_day), pending=pending,
        pending_overdue=pending & (deadline < pd.Timestamp(AS_OF)),
        pending_due_soon=pending & (deadline >= pd.Timestamp(AS_OF))
        & (deadline.dt.normalize() <= pd.Timestamp(synth.add_working_days(np.datetime64(AS_OF.date()), 2))),
        withdrawn=final["status"] == 7, stopped=final["status"] == 8, refused=final["status"] == 3,
        supplemented=final["supplement_count"] > 0)
    sums = ["online", "resolved", "early", "on_time", "late", "pending", "pending_overdue", "pending_due_soon",
            "withdrawn", "stopped", "refused", "supplemented", "digitized", "e_result", "reused", "paid_online"]
    per_unit = {}
    for unit, group in final.groupby("unit", sort=False):
        per_unit[unit] = {"code": _unit_code(unit), "dossiers": len(group),
                          **{k: int(group[k].sum()) for k in sums}}
    quarters = []
    for (unit, quarter), group in final.groupby(["unit", "quarter"], sort=True):
        quarters.append({"unit": unit, "quarter": quarter, "received": len(group),
                         **{k: int(group[k].sum()) for k in ("online", "resolved", "early", "on_time", "late",
                                                              "pending")}})
    totals = {k: int(final[k].sum()) for k in sums}
    return {"dossiers": len(final), **totals, "per_unit": dict(sorted(per_unit.items())),
            "per_unit_quarter": quarters}


def generate(out_dir: Path = ROOT, seed: int = SEED) -> dict:
    """Write every export file, the reference file and the manifest under ``out_dir``; return the manifest."""
    exports, reference = out_dir / "exports", out_dir / "reference"
    exports.mkdir(parents=True, exist_ok=True)
    reference.mkdir(parents=True, exist_ok=True)
    life = build_life(seed)
    cache: dict = {}
    files, rejects, codes = [], [], set()
    for export in export_plan():
        rows, bad = _rows_for(export, life, cache)
        written = export.write(exports / export.name, rows)
        bad_codes = {b["dossier_code"] for b in bad}
        good = [(r.code, r.unit) for r in rows if r.code not in bad_codes]  # receipt numbers: per unit
        codes.update(good)
        rejects += bad
        files.append({"file": export.name, "format": export.fmt, "source": export.source,
                      "units": list(export.units), "period_from": export.period[0].isoformat(),
                      "period_to": export.period[1].isoformat(), "exported_at": export.as_of.isoformat(),
                      "data_rows": written, "dossier_rows": len(good), "bad_rows": len(bad)})
    catalogue_rows = write_catalogue(exports / "danh-muc-tthc.xlsx")
    files.append({"file": "danh-muc-tthc.xlsx", "format": "xlsx", "source": "catalogue", "units": [],
                  "exported_at": AS_OF.isoformat(), "data_rows": catalogue_rows, "dossier_rows": 0, "bad_rows": 0})
    final = state_at(life, AS_OF)
    assert len(codes) == len(final), "every dossier must be in exactly one non-overlapping file"
    manifest = {
        "generator": "python -m sample_data.generate", "seed": seed, "province": synth.PROVINCE_NAME,
        "period": [START.isoformat(), END.isoformat()], "as_of": AS_OF.isoformat(),
        "reform_date": REFORM.isoformat(),
        "definitions": {
            "online": "Kênh thực hiện = Trực tuyến", "resolved": "trạng thái 9 hoặc 10 tại as_of",
            "early/on_time/late": "ngày kết thúc xử lý trước / bằng / sau ngày hẹn trả (hẹn trả mới nếu có)",
            "pending": "trạng thái 2, 4, 5 tại as_of",
            "pending_overdue": "đang giải quyết và hạn (hẹn trả mới nếu có) trước as_of",
            "pending_due_soon": "đang giải quyết, chưa quá hạn, hạn trong 2 ngày làm việc sau 30/09/2026",
            "quarter": "quý của ngày tiếp nhận",
            "digitized/e_result/reused/paid_online": "số hồ sơ có cờ Số hóa / Kết quả điện tử / Tái sử dụng "
                                                     "dữ liệu / Thanh toán trực tuyến",
            "fields_not_exported": "các số đếm mà định dạng tệp của đơn vị không chứa (không thể kiểm tra "
                                   "sau khi nạp)"},
        "files": files,
        "expected": {"imports": len(files), "rejects": len(rejects), "procedures_in_catalogue": catalogue_rows,
                     "procedures_without_dossiers": [p.code for p in IDLE_PROCEDURES],
                     "rejected_rows": rejects, "fields_not_exported": FIELDS_NOT_EXPORTED, **_expected(final)},
        "reference": generate_reference(reference / "phuong-ky-2023.xlsx"),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                           encoding="utf-8")
    return manifest


# ------------------------------------------------------------------------------------ reference case

REFERENCE_PERIOD = (date(2022, 12, 10), date(2023, 7, 31))
REFERENCE_TOTAL, REFERENCE_DIRECT = 907, 15


def reference_life(seed: int = 2023) -> pd.DataFrame:
    """Xã Phượng Kỳ, 10/12/2022-31/07/2023 (báo cáo CCHC 2023): 907 dossiers, 892 online, 15 direct (NCC),
    all resolved before their due date, 100% digitised components and electronic results."""
    rng = np.random.default_rng(seed)
    days = synth.working_days(*REFERENCE_PERIOD)
    received_day = np.sort(days[rng.integers(0, len(days), REFERENCE_TOTAL)])
    ncc = [i for i, p in enumerate(PROCEDURES) if p.field_code == "NCC"]
    others = [i for i, p in enumerate(PROCEDURES) if p.field_code not in ("NCC", "HKD", "XD")]
    weights = np.array([PROCEDURES[i].weight for i in others])
    proc_idx = rng.choice(others, REFERENCE_TOTAL, p=weights / weights.sum())
    direct = np.sort(rng.choice(REFERENCE_TOTAL, REFERENCE_DIRECT, replace=False))
    proc_idx[direct] = rng.choice(ncc, REFERENCE_DIRECT)
    channel = np.full(REFERENCE_TOTAL, 2)
    channel[direct] = 1
    every_time = Outcomes(refused=0, withdrawn=0, stopped=0, supplement=0, early=1.0, on_time=0.0, stalled=0.0,
                          kept_unreturned=0, digitized_start=1.0, digitized_end=1.0, e_result_start=1.0,
                          e_result_end=1.0, reused_start=0.3, reused_end=0.3)
    life = synth.simulate(rng, np.zeros(REFERENCE_TOTAL, dtype=int), received_day, trend=REFERENCE_PERIOD,
                          outcomes=every_time, proc_idx=proc_idx, channel=channel)
    life = _close_by_report_end(life, pd.Timestamp(REFERENCE_PERIOD[1]) + pd.Timedelta(hours=16))
    life = life.sort_values("received_at", kind="stable").reset_index(drop=True)
    life["code"] = synth.assign_codes(life, ["000.21.30.H23"])
    life["pii_seed"] = rng.integers(0, 2**31, len(life))
    return life


def _close_by_report_end(life: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The report says all 907 were resolved by 31/07/2023: dossiers received in the last days are
    finished on the day they came in (still before their due date) and carry no supplement round."""
    life = life.copy()
    spill = (life["returned_at"] > cutoff) | (life["finished_at"] > cutoff) | (life["supplement_received_at"] > cutoff)
    life.loc[spill, ["supplement_requested_at", "supplement_received_at", "new_due_at"]] = pd.NaT
    life.loc[spill, "has_supplement"] = False
    life.loc[spill, "finished_at"] = life.loc[spill, "received_at"] + pd.Timedelta(hours=2)
    life.loc[spill, "returned_at"] = life.loc[spill, "received_at"] + pd.Timedelta(hours=3)
    return life


def generate_reference(path: Path) -> dict:
    life = reference_life()
    state = state_at(life, datetime(2023, 12, 15, 17, 0, 0))
    state = state.assign(unit_idx=_BY_NAME["Xã Phượng Kỳ"])
    rows = to_rows(state)
    layout = XlsxLayout([TU_KY_TITLE, _org_title("Xã Phượng Kỳ")], REFERENCE_PERIOD, old_style=True)
    write_title_xlsx(path, rows, layout)
    deadline = state["new_due_at"].fillna(state["due_at"])
    return {"file": f"reference/{path.name}", "unit": "Xã Phượng Kỳ", "unit_code": _unit_code("Xã Phượng Kỳ"),
            "period_from": REFERENCE_PERIOD[0].isoformat(), "period_to": REFERENCE_PERIOD[1].isoformat(),
            "dossiers": len(state), "online": int((state["channel"] == 2).sum()),
            "direct": int((state["channel"] == 1).sum()),
            "resolved": int(state["status"].isin([9, 10]).sum()),
            "early": int((state["finished_at"].dt.normalize() < deadline.dt.normalize()).sum()),
            "digitized": int(state["digitized"].sum()), "electronic_result": int(state["e_result"].sum())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sinh lại bộ dữ liệu mẫu (sample_data/).")
    parser.add_argument("--out", type=Path, default=ROOT, help="thư mục đích (mặc định: sample_data/)")
    args = parser.parse_args(argv)
    manifest = generate(args.out)
    expected = manifest["expected"]
    print(f"Đã ghi {len(manifest['files'])} tệp vào {args.out / 'exports'}: {expected['dossiers']} hồ sơ, "
          f"{expected['rejects']} dòng lỗi; tệp đối chiếu {manifest['reference']['file']}.")


if __name__ == "__main__":
    main()

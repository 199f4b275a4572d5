"""Fast, vectorised generator of export-shaped dossier data (benchmarks and the demo data set).

``simulate`` draws the *truth* (typed columns, one row per dossier) with numpy only; ``export_frame``
turns it into what a commune one-stop-shop export looks like (Vietnamese headers, dates as
``dd/mm/yyyy HH:MM:SS`` text). One million rows take a few seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

PROVINCE_CODE = "31"
PROVINCE_NAME = "Thành phố Hải Phòng"
PROVINCE_AGENCY = "H26"  # level-1 letter + number of the agency identifier used in dossier codes


@dataclass(frozen=True)
class Procedure:
    base_code: str  # national code d.dddddd
    name: str
    field_code: str
    field_name: str
    dvc_level: str  # toan_trinh | mot_phan
    legal_days: int  # working days
    fee: int  # VND per dossier (0 = free)
    weight: float  # relative frequency at a commune
    online_factor: float = 1.0  # how readily the procedure is filed online (1 = average)

    @property
    def code(self) -> str:
        return f"{self.base_code}.000.00.00.{PROVINCE_AGENCY}"


def _p(code, name, field_code, field_name, level, days, fee, weight, online=1.0) -> Procedure:
    return Procedure(code, name, field_code, field_name, level, days, fee, weight, online)


HT, CT, DD, XD = ("HT", "Hộ tịch"), ("CT", "Chứng thực"), ("DD", "Đất đai"), ("XD", "Hoạt động xây dựng")
NCC, BTXH = ("NCC", "Người có công"), ("BTXH", "Bảo trợ xã hội")
KD, TDKT = ("HKD", "Thành lập và hoạt động của hộ kinh doanh"), ("TDKT", "Thi đua, khen thưởng")
VH, TG = ("VHCS", "Văn hóa cơ sở"), ("TG", "Tôn giáo Chính phủ")

# Procedures handled at commune level (names follow the national catalogue; codes are real-looking).
PROCEDURES: tuple[Procedure, ...] = (
    _p("1.001193", "Thủ tục đăng ký khai sinh", *HT, "toan_trinh", 1, 0, 14.0, 1.1),
    _p("1.000894", "Thủ tục đăng ký kết hôn", *HT, "mot_phan", 1, 0, 4.0, 0.8),
    _p("1.000656", "Thủ tục đăng ký khai tử", *HT, "toan_trinh", 1, 0, 5.0, 1.0),
    _p("1.004746", "Thủ tục đăng ký lại khai sinh", *HT, "mot_phan", 5, 0, 1.0, 0.8),
    _p("1.004873", "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân", *HT, "toan_trinh", 3, 0, 9.0, 1.1),
    _p("1.004859", "Thủ tục đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch", *HT, "mot_phan", 3, 0,
       2.0, 0.9),
    _p("2.000635", "Thủ tục cấp bản sao Trích lục hộ tịch", *HT, "toan_trinh", 1, 0, 8.0, 1.2),
    _p("1.001022", "Thủ tục đăng ký nhận cha, mẹ, con", *HT, "mot_phan", 3, 0, 0.6, 0.7),
    _p("2.000815", "Thủ tục cấp bản sao từ sổ gốc", *CT, "toan_trinh", 1, 0, 1.5, 1.0),
    _p("2.000908", "Thủ tục chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan tổ chức có thẩm quyền "
       "của Việt Nam cấp hoặc chứng nhận", *CT, "toan_trinh", 1, 2000, 16.0, 1.0),
    _p("2.000884", "Thủ tục chứng thực chữ ký trong các giấy tờ, văn bản", *CT, "mot_phan", 1, 10000, 4.0, 0.7),
    _p("2.001035", "Thủ tục chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền sử dụng "
       "đất và nhà ở", *CT, "mot_phan", 2, 50000, 3.0, 0.6),
    _p("2.001019", "Thủ tục chứng thực văn bản thỏa thuận phân chia di sản", *CT, "mot_phan", 3, 50000, 0.8, 0.6),
    _p("1.003554", "Thủ tục hòa giải tranh chấp đất đai", *DD, "mot_phan", 30, 0, 0.6, 0.5),
    _p("1.012771", "Thủ tục xác nhận nguồn gốc, quá trình sử dụng đất", *DD, "mot_phan", 10, 0, 1.2, 0.7),
    _p("1.009994", "Thủ tục cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", *XD, "mot_phan", 15, 75000,
       1.0, 0.6),
    _p("1.009997", "Thủ tục cấp giấy phép xây dựng sửa chữa, cải tạo đối với nhà ở riêng lẻ", *XD, "mot_phan",
       15, 75000, 0.4, 0.6),
    _p("1.010821", "Thủ tục giải quyết chế độ mai táng phí đối với người có công với cách mạng", *NCC,
       "mot_phan", 5, 0, 0.8, 0.3),
    _p("1.010824", "Thủ tục cấp giấy giới thiệu đi thăm viếng mộ liệt sĩ và hỗ trợ thăm viếng mộ liệt sĩ", *NCC,
       "mot_phan", 5, 0, 0.5, 0.3),
    _p("1.010819", "Thủ tục xác nhận thân nhân của người có công với cách mạng", *NCC, "mot_phan", 5, 0, 0.6,
       0.3),
    _p("1.001776", "Thủ tục thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng, hỗ trợ kinh phí chăm "
       "sóc, nuôi dưỡng hằng tháng", *BTXH, "mot_phan", 15, 0, 1.6, 0.6),
    _p("2.000286", "Thủ tục hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", *BTXH, "mot_phan", 3, 0,
       0.6, 0.5),
    _p("1.001758", "Thủ tục xác định, xác định lại mức độ khuyết tật và cấp Giấy xác nhận khuyết tật", *BTXH,
       "mot_phan", 20, 0, 0.7, 0.6),
    _p("2.000720", "Thủ tục đăng ký thành lập hộ kinh doanh", *KD, "toan_trinh", 3, 100000, 2.0, 1.0),
    _p("2.000575", "Thủ tục đăng ký thay đổi nội dung đăng ký hộ kinh doanh", *KD, "toan_trinh", 3, 100000,
       1.0, 1.0),
    _p("2.000644", "Thủ tục chấm dứt hoạt động hộ kinh doanh", *KD, "toan_trinh", 3, 0, 0.5, 1.0),
    _p("1.000775", "Thủ tục tặng Giấy khen của Chủ tịch Ủy ban nhân dân cấp xã về thực hiện nhiệm vụ chính "
       "trị", *TDKT, "mot_phan", 20, 0, 0.3, 0.2),
    _p("1.000748", "Thủ tục tặng Giấy khen của Chủ tịch Ủy ban nhân dân cấp xã cho gia đình", *TDKT,
       "mot_phan", 20, 0, 0.2, 0.2),
    _p("1.000954", "Thủ tục xét tặng danh hiệu Gia đình văn hóa hằng năm", *VH, "mot_phan", 5, 0, 0.3, 0.3),
    _p("1.001078", "Thủ tục thông báo danh mục hoạt động tôn giáo đối với tổ chức có địa bàn hoạt động tôn "
       "giáo ở một xã", *TG, "mot_phan", 20, 0, 0.1, 0.4),
)

STATUS_LABELS = {
    1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận", 4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ", 6: "Yêu cầu thực hiện nghĩa vụ tài chính", 7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý", 9: "Đã xử lý xong", 10: "Đã trả kết quả",
}
CHANNEL_LABELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua bưu chính công ích"}
LEVEL_LABELS = {"toan_trinh": "Toàn trình", "mot_phan": "Một phần"}

# Communes of Hải Phòng (2025 catalogue) used first, the rest of the province follows.
PREFERRED_UNITS = (
    "Xã Tứ Kỳ", "Xã Nguyễn Lương Bằng", "Xã Lạc Phượng", "Phường Hải Dương", "Phường Lê Thanh Nghị",
    "Phường Thành Đông", "Xã Tân Kỳ", "Xã Đại Sơn", "Xã Chí Minh", "Xã Nguyên Giáp", "Phường Việt Hòa",
    "Phường Tân Hưng",
)

EXPORT_COLUMNS = (
    "STT", "Mã hồ sơ", "Đơn vị tiếp nhận", "Lĩnh vực", "Mã TTHC", "Tên thủ tục hành chính", "Mức độ",
    "Kênh thực hiện", "Trạng thái", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý", "Ngày trả kết quả",
    "Số hóa", "Kết quả điện tử", "Tái sử dụng dữ liệu", "Thanh toán trực tuyến", "Phí (VNĐ)", "Số lần bổ sung",
)
DATE_TEXT_FORMAT = "%d/%m/%Y %H:%M:%S"

_DAY_START = 7 * 3600 + 30 * 60  # 07:30, office opens
_DAY_SPAN = 9 * 3600 + 15 * 60  # until 16:45
_SECOND = np.timedelta64(1, "s")


@dataclass(frozen=True)
class Outcomes:
    """Probabilities of how a dossier ends (the rest is resolved)."""

    refused: float = 0.006
    withdrawn: float = 0.010
    stopped: float = 0.004
    supplement: float = 0.06
    supplement_abandoned: float = 0.15  # of supplements: the applicant never hands the papers in
    early: float = 0.78  # of resolved dossiers
    on_time: float = 0.17  # the rest is late
    stalled: float = 0.012  # forgotten dossiers, finished weeks after the deadline (or still open)
    kept_unreturned: float = 0.03  # resolved but never marked as handed back (status 9)
    online_start: float = 0.40  # online share at the start of the trend ...
    online_end: float = 0.90  # ... and at its end
    digitized_start: float = 0.55
    digitized_end: float = 0.95
    e_result_start: float = 0.60
    e_result_end: float = 0.95
    reused_start: float = 0.15
    reused_end: float = 0.60
    paid_online: float = 0.80  # of online dossiers with a fee
    postal: float = 0.02  # of offline dossiers


@lru_cache(maxsize=1)
def holiday_days() -> np.ndarray:
    """Vietnamese public holidays 2020-2028 (``holidays.VN``) as datetime64[D]."""
    days = sorted(holidays.VN(years=range(2020, 2029)).keys())
    return np.array(days, dtype="datetime64[D]")


def working_days(start: date, end: date) -> np.ndarray:
    """Working days in [start, end] (weekends and VN holidays skipped)."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    return days[np.is_busday(days, holidays=holiday_days())]


def add_working_days(days: np.ndarray, offsets) -> np.ndarray:
    return np.busday_offset(days, offsets, roll="forward", holidays=holiday_days())


def hai_phong_units(n_units: int) -> list[str]:
    """``n_units`` commune names of Thành phố Hải Phòng from the 2025 catalogue."""
    from motcua.units import catalogue_frame

    frame = catalogue_frame()
    names = frame.loc[(frame.province_code == PROVINCE_CODE) & (frame.level == "commune"), "name"].tolist()
    ordered = [n for n in PREFERRED_UNITS if n in names] + sorted(n for n in names if n not in PREFERRED_UNITS)
    if n_units > len(ordered):
        raise ValueError(f"Hải Phòng chỉ có {len(ordered)} xã/phường, không đủ {n_units}.")
    return ordered[:n_units]


def agency_id(unit_index: int) -> str:
    """Agency identifier of a commune (QCVN 102:2016 shape) used as the dossier code prefix."""
    return f"000.{unit_index:02d}.{PROVINCE_CODE}.{PROVINCE_AGENCY}"


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    return (_DAY_START + rng.integers(0, _DAY_SPAN, n)) * _SECOND


def _at(days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[s]") + seconds


def _trend(received_day: np.ndarray, first: float, last: float, start: date, end: date) -> np.ndarray:
    span = max((np.datetime64(end, "D") - np.datetime64(start, "D")).astype(int), 1)
    frac = np.clip((received_day - np.datetime64(start, "D")).astype(int) / span, 0.0, 1.0)
    return first + (last - first) * frac


def simulate(rng: np.random.Generator, unit_idx: np.ndarray, received_day: np.ndarray, *,
             trend: tuple[date, date] = (date(2023, 1, 1), date(2026, 9, 30)),
             outcomes: Outcomes = Outcomes(), procedures: tuple[Procedure, ...] = PROCEDURES,
             proc_idx: np.ndarray | None = None, channel: np.ndarray | None = None) -> pd.DataFrame:
    """The whole life of dossiers received on ``received_day`` by units ``unit_idx`` (see ``snapshot``).

    Finished/returned times may lie in the future of any export date; ``final_status`` is the status
    once everything is over (3 refused, 7 withdrawn, 8 stopped, 9 resolved not handed back, 10 returned).
    """
    n = len(received_day)
    received_day = received_day.astype("datetime64[D]")
    if proc_idx is None:
        weights = np.array([p.weight for p in procedures], dtype=float)
        proc_idx = rng.choice(len(procedures), size=n, p=weights / weights.sum())
    legal = np.array([p.legal_days for p in procedures])[proc_idx]
    received = _at(received_day, _times(rng, n))

    if channel is None:
        online_factor = np.array([p.online_factor for p in procedures])[proc_idx]
        p_online = np.clip(_trend(received_day, outcomes.online_start, outcomes.online_end, *trend)
                           * online_factor, 0.0, 0.99)
        draw = rng.random(n)
        channel = np.where(draw < p_online, 2, np.where(rng.random(n) < outcomes.postal, 3, 1))
    submitted = np.where(channel == 2, received - rng.integers(600, 3 * 86400, n) * _SECOND, received)
    due_day = add_working_days(received_day, legal)
    due = _at(due_day, received - received_day.astype("datetime64[s]"))

    # Supplements: the clock restarts when the papers are handed in; the due date moves.
    draw = rng.random(n)
    kind = np.select([draw < outcomes.refused, draw < outcomes.refused + outcomes.withdrawn,
                      draw < outcomes.refused + outcomes.withdrawn + outcomes.stopped],
                     [3, 7, 8], default=10)
    has_supp = (kind != 3) & (rng.random(n) < outcomes.supplement)
    supp_req_day = add_working_days(received_day, rng.integers(0, np.maximum(legal // 2, 1)))
    supp_req = np.maximum(_at(supp_req_day, (14 * 3600 + rng.integers(0, 7200, n)) * _SECOND),
                          received + 1800 * _SECOND)
    supp_recv_day = add_working_days(supp_req_day, rng.integers(1, 6, n))
    supp_recv = _at(supp_recv_day, _times(rng, n))
    abandoned = has_supp & (rng.random(n) < outcomes.supplement_abandoned)
    kind = np.where(abandoned, 7, kind)
    new_due_day = add_working_days(supp_recv_day, legal)
    new_due = _at(new_due_day, supp_recv - supp_recv_day.astype("datetime64[s]"))

    clock_day = np.where(has_supp, supp_recv_day, received_day)
    clock = np.where(has_supp, supp_recv, received)
    deadline_day = np.where(has_supp, new_due_day, due_day)
    deadline = np.where(has_supp, new_due, due)

    # Resolution timing: early = an earlier calendar day than the deadline, on time = the deadline day.
    draw = rng.random(n)
    early_day = add_working_days(clock_day, (rng.random(n) * legal).astype(int))
    late_day = add_working_days(deadline_day, rng.integers(1, 6, n))
    deadline_tod = (deadline - deadline_day.astype("datetime64[s]")).astype(int)
    on_time_tod = _DAY_START + (rng.random(n) * np.maximum(deadline_tod - _DAY_START, 1)).astype(int)
    finished = np.select(
        [draw < outcomes.early, draw < outcomes.early + outcomes.on_time],
        [_at(early_day, _times(rng, n)), _at(deadline_day, on_time_tod * _SECOND)],
        default=_at(late_day, _times(rng, n)))
    stalled_day = add_working_days(deadline_day, rng.integers(8, 45, n))
    finished = np.where(rng.random(n) < outcomes.stalled, _at(stalled_day, _times(rng, n)), finished)
    finished = np.maximum(finished, clock + 600 * _SECOND)
    finished = np.where(kind == 3, received + rng.integers(600, 7200, n) * _SECOND, finished)
    finished = np.where(abandoned, _at(add_working_days(supp_req_day, 15), _times(rng, n)), finished)
    finished = np.where((kind == 7) & ~abandoned | (kind == 8), _at(early_day, _times(rng, n)), finished)
    finished = np.maximum(finished, received + 600 * _SECOND)

    return_lag = rng.choice(np.array([0, 0, 0, 1, 2]), n)
    returned = np.where(return_lag == 0, finished + rng.integers(1800, 7200, n) * _SECOND,
                        _at(add_working_days(finished.astype("datetime64[D]"), return_lag), _times(rng, n)))
    returned = np.maximum(returned, finished + 600 * _SECOND)

    status = np.where((kind == 10) & (rng.random(n) < outcomes.kept_unreturned), 9, kind)
    digitized = rng.random(n) < _trend(received_day, outcomes.digitized_start, outcomes.digitized_end, *trend)
    e_result = rng.random(n) < _trend(received_day, outcomes.e_result_start, outcomes.e_result_end, *trend)
    reused = digitized & (rng.random(n) < _trend(received_day, outcomes.reused_start, outcomes.reused_end,
                                                  *trend))
    fee = np.where(kind == 3, 0, np.array([p.fee for p in procedures])[proc_idx])
    paid_online = (fee > 0) & (channel == 2) & (rng.random(n) < outcomes.paid_online)
    return pd.DataFrame({
        "unit_idx": unit_idx, "proc_idx": proc_idx, "channel": channel.astype(np.int8),
        "submitted_at": submitted, "received_at": received, "due_at": due, "new_due_at": new_due,
        "has_supplement": has_supp, "abandoned": abandoned,
        "supplement_requested_at": supp_req, "supplement_received_at": supp_recv,
        "finished_at": finished, "returned_at": returned, "final_status": status.astype(np.int8),
        "digitized": digitized, "e_result": e_result, "reused": reused, "paid_online": paid_online,
        "fee": fee.astype(np.int64),
    })


def snapshot(life: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """What an export made at ``as_of`` shows for the dossiers of ``life`` received by then.

    Columns: unit_idx, proc_idx, channel (1/2/3), submitted_at, received_at, due_at, new_due_at,
    supplement_requested_at, supplement_received_at, supplement_count, finished_at, returned_at,
    status (national 1..10), digitized, e_result, reused, paid_online, fee.
    """
    as_of64 = np.datetime64(as_of, "s")
    nat = np.datetime64("NaT", "s")
    life = life[life["received_at"].to_numpy() <= as_of64]
    has_supp = life["has_supplement"].to_numpy()
    supp_known = has_supp & (life["supplement_requested_at"].to_numpy() <= as_of64)
    supp_done = (has_supp & ~life["abandoned"].to_numpy()
                 & (life["supplement_received_at"].to_numpy() <= as_of64))
    finished = life["finished_at"].to_numpy()
    returned = life["returned_at"].to_numpy()
    open_ = finished > as_of64
    status = life["final_status"].to_numpy()
    status = np.where((status == 10) & (returned > as_of64), 9, status)
    status = np.where(open_, np.where(supp_known & ~supp_done, 5, 4), status)
    received_today = life["received_at"].to_numpy().astype("datetime64[D]") == as_of64.astype("datetime64[D]")
    status = np.where(open_ & received_today & (status == 4), 2, status)
    resolved = (status == 9) | (status == 10)
    state = life.drop(columns=["has_supplement", "abandoned", "final_status"]).assign(
        new_due_at=np.where(supp_done, life["new_due_at"].to_numpy(), nat),
        supplement_requested_at=np.where(supp_known, life["supplement_requested_at"].to_numpy(), nat),
        supplement_received_at=np.where(supp_done, life["supplement_received_at"].to_numpy(), nat),
        supplement_count=supp_known.astype(np.int8),
        finished_at=np.where(open_, nat, finished),
        returned_at=np.where(status == 10, returned, nat),
        status=status.astype(np.int8),
        e_result=life["e_result"].to_numpy() & resolved,
    )
    return state.reset_index(drop=True)


def assign_codes(truth: pd.DataFrame, agencies: list[str]) -> np.ndarray:
    """Legal dossier codes ``agency-YYMMDD-NNNN`` (daily counter per unit, in order of reception)."""
    day = truth["received_at"].to_numpy().astype("datetime64[D]")
    order = np.lexsort((truth["received_at"].to_numpy(), truth["unit_idx"].to_numpy()))
    keys = pd.DataFrame({"u": truth["unit_idx"].to_numpy()[order], "d": day[order]})
    seq = np.empty(len(truth), dtype=np.int64)
    seq[order] = keys.groupby(["u", "d"], sort=False).cumcount().to_numpy() + 1
    yymmdd = pc.strftime(pa.array(day, type=pa.date32()).cast(pa.timestamp("s")), format="%y%m%d")
    prefix = np.array(agencies, dtype=object)[truth["unit_idx"].to_numpy()]
    width = 4 if seq.max(initial=0) < 10000 else 5
    seq_text = pc.utf8_lpad(pa.array(seq).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.array(prefix, pa.string()), yymmdd, seq_text, "-").to_numpy(
        zero_copy_only=False)


_FORMAT_TOKEN_RE = re.compile(r"%[dmYyHMS]|[^%]")
_TWO_DIGITS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) from days since 1970-01-01 in integer arithmetic (H. Hinnant's algorithm);
    numpy's datetime64[Y]/[M] casts are several times slower on millions of values."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def date_text(values, fmt: str = DATE_TEXT_FORMAT) -> pa.Array:
    """datetime64 values -> text in ``fmt`` (tokens %d %m %Y %y %H %M %S; NaT -> null).

    Digits are written straight into a byte matrix: Arrow's strftime goes through the C library and
    is ~10x slower, which matters at a million rows.
    """
    stamps = np.asarray(values, dtype="datetime64[s]")
    missing = np.isnat(stamps)
    seconds = np.where(missing, 0, stamps.astype(np.int64))
    year, month, day = _civil_from_days(seconds // 86400)
    parts = {
        "%Y": (year, 4),
        "%y": (year % 100, 2),
        "%m": (month, 2),
        "%d": (day, 2),
        "%H": (seconds % 86400 // 3600, 2),
        "%M": (seconds % 3600 // 60, 2),
        "%S": (seconds % 60, 2),
    }
    tokens = _FORMAT_TOKEN_RE.findall(fmt)
    width = sum(parts[t][1] if t in parts else len(t.encode()) for t in tokens)
    buffer = np.empty((len(stamps), width), dtype=np.uint8)
    position = 0
    for token in tokens:
        if token in parts:
            number, digits = parts[token]
            for k in range(0, digits, 2):  # two digits per pass through a lookup table
                buffer[:, position + k:position + k + 2] = _TWO_DIGITS[number // 10 ** (digits - 2 - k) % 100]
            position += digits
        else:
            for byte in token.encode():
                buffer[:, position] = byte
                position += 1
    texts = pa.array(buffer.view(f"S{width}").ravel(), type=pa.binary(width), mask=missing)
    return texts.cast(pa.binary()).cast(pa.string())


def _labels(codes: np.ndarray, mapping: dict) -> pa.Array:
    keys = np.array(list(mapping.keys()))
    values = pa.array(list(mapping.values()), pa.string())
    return pc.take(values, pa.array(np.searchsorted(keys, codes)))


def _yes_no(flags: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(flags), "Có", "Không")


def export_table(truth: pd.DataFrame, units: list[str], codes: np.ndarray,
                 procedures: tuple[Procedure, ...] = PROCEDURES) -> pa.Table:
    """Export-shaped Arrow table (headers of a commune one-stop-shop list) for ``truth`` rows in order."""
    proc = truth["proc_idx"].to_numpy()
    proc_code = np.array([p.code for p in procedures], dtype=object)[proc]
    proc_name = np.array([p.name for p in procedures], dtype=object)[proc]
    field_name = np.array([p.field_name for p in procedures], dtype=object)[proc]
    level = np.array([LEVEL_LABELS[p.dvc_level] for p in procedures], dtype=object)[proc]
    effective_due = truth["new_due_at"].fillna(truth["due_at"]).to_numpy()
    columns = {
        "STT": pa.array(np.arange(1, len(truth) + 1, dtype=np.int64)),
        "Mã hồ sơ": pa.array(codes, pa.string()),
        "Đơn vị tiếp nhận": pa.array(np.array(units, dtype=object)[truth["unit_idx"].to_numpy()], pa.string()),
        "Lĩnh vực": pa.array(field_name, pa.string()),
        "Mã TTHC": pa.array(proc_code, pa.string()),
        "Tên thủ tục hành chính": pa.array(proc_name, pa.string()),
        "Mức độ": pa.array(level, pa.string()),
        "Kênh thực hiện": _labels(truth["channel"].to_numpy(), CHANNEL_LABELS),
        "Trạng thái": _labels(truth["status"].to_numpy(), STATUS_LABELS),
        "Ngày tiếp nhận": date_text(truth["received_at"]),
        "Ngày hẹn trả": date_text(effective_due),
        "Ngày kết thúc xử lý": date_text(truth["finished_at"]),
        "Ngày trả kết quả": date_text(truth["returned_at"]),
        "Số hóa": _yes_no(truth["digitized"].to_numpy()),
        "Kết quả điện tử": _yes_no(truth["e_result"].to_numpy()),
        "Tái sử dụng dữ liệu": _yes_no(truth["reused"].to_numpy()),
        "Thanh toán trực tuyến": _yes_no(truth["paid_online"].to_numpy()),
        "Phí (VNĐ)": pa.array(truth["fee"].to_numpy()),
        "Số lần bổ sung": pa.array(truth["supplement_count"].to_numpy().astype(np.int64)),
    }
    return pa.table(columns)


def export_frame(n: int, seed: int = 0, n_units: int = 12, start: date = date(2023, 1, 1),
                 end: date = date(2026, 9, 30)) -> pd.DataFrame:
    """``n`` dossiers of ``n_units`` Hải Phòng communes received in [start, end], as an export would list them.

    Deterministic for a given seed; dossier codes are unique; rows are ordered by reception time.
    """
    rng = np.random.default_rng(seed)
    units = hai_phong_units(n_units)
    days = working_days(start, end)
    unit_idx = rng.integers(0, n_units, n)
    received_day = np.sort(days[rng.integers(0, len(days), n)])
    life = simulate(rng, unit_idx, received_day, trend=(start, end))
    truth = snapshot(life, datetime(end.year, end.month, end.day, 17, 0, 0))
    truth = truth.sort_values("received_at", kind="stable").reset_index(drop=True)
    codes = assign_codes(truth, [agency_id(i + 1) for i in range(n_units)])
    return export_table(truth, units, codes).to_pandas()


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """CSV as one-stop-shop systems export it: ``;`` separated, UTF-8 with BOM."""
    path = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb") as handle:
        header = ("\ufeff" + ";".join(frame.columns) + "\n").encode("utf-8")
        handle.write(header)
        try:  # exports rarely quote; fall back to quoting when a value holds ';' or '"'
            pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(
                delimiter=";", quoting_style="none", include_header=False))
        except pa.ArrowInvalid:
            handle.seek(len(header))
            handle.truncate()
            pacsv.write_csv(table, handle, write_options=pacsv.WriteOptions(delimiter=";", include_header=False))
    return path


def write_xlsx(frame: pd.DataFrame, path: str | Path, sheet_name: str = "Danh sách hồ sơ") -> Path:
    """Plain one-sheet xlsx (header row + data), streamed with xlsxwriter's constant_memory mode."""
    import xlsxwriter

    path = Path(path)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    workbook.set_properties({"created": datetime(2026, 10, 1, 8, 0, 0)})
    sheet = workbook.add_worksheet(sheet_name)
    sheet.write_row(0, 0, list(frame.columns))
    columns = [frame[c].astype(object).where(frame[c].notna(), "").tolist() for c in frame.columns]
    for row_number, row in enumerate(zip(*columns, strict=True), start=1):
        sheet.write_row(row_number, 0, row)
    workbook.close()
    return path

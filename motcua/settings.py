"""Every definition the official texts leave open, declared once as a ``SettingSpec``.

The click options (``cli.common.settings_options``), the dashboard's sidebar widgets and URL codec
(``dashboard.url_state``), the Dữ liệu definitions list, the ``settings`` block of ``motcua kpi --json``
and the property tests' settings product are all generated from ``SETTINGS``. A new setting is one
entry here plus its field on ``Settings`` (``tests/test_settings.py`` checks they agree and that every
setting is documented in the README).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

# DVC levels are the vocabulary of one setting (and of the metrics' breakdowns, which re-export them).
LEVEL_LABELS = {
    "toan_trinh": "Toàn trình",
    "mot_phan": "Một phần",
    "thong_tin": "Cung cấp thông tin",
    "unknown": "Chưa xác định",
}
CALENDARS = {
    "calendar": "Kỳ dương lịch (như Cổng DVC quốc gia)",
    "report": "Kỳ báo cáo (ngày 15 tháng trước – ngày 14, NĐ 09/2019)",
}
EARLY_RULES = {
    "date": "Theo ngày: trước hạn nếu xong trước ngày hẹn trả, đúng hạn nếu xong trong ngày hẹn trả",
    "timestamp": "Theo thời điểm: quá hạn nếu xong sau giờ hẹn trả, trước hạn nếu xong trước ngày hẹn trả",
}
RETURNED_POLICIES = {
    "resolved_on_time": "Hồ sơ trả lại/rút/dừng tính là đã giải quyết đúng hạn (cách phần mềm một cửa thường làm)",
    "excluded": "Không tính hồ sơ trả lại/rút/dừng vào Biểu 06 (báo cáo riêng; số liệu các kỳ trước cũng thay đổi)",
    "judged_766": "Hồ sơ trả lại/rút/dừng là hồ sơ đã kết thúc, so với ngày hẹn trả như Cổng DVCQG (QĐ 766)",
}
SUPPLEMENT_RULES = {
    "restart": "Tính lại thời hạn từ ngày nhận đủ hồ sơ bổ sung; hồ sơ đang chờ bổ sung là trong hạn "
               "(NĐ 61/2018 Điều 19(4), NĐ 118/2025)",
    "portal_766": "Như Cổng DVCQG: thời điểm kết thúc trừ thời gian chờ bổ sung; bổ sung quá 1 lần là quá hạn; "
                  "yêu cầu bổ sung chưa được đáp ứng kết thúc tại thời điểm yêu cầu (QĐ 766 chỉ số 2.1)",
    "as_exported": "Dùng ngày hẹn trả như tệp xuất, không xét bổ sung",
}
DUE_ON_DAY_OFF_RULES = {
    "as_exported": "Ngày hẹn trả rơi vào ngày nghỉ giữ nguyên như tệp xuất",
    "next_working_day": "Ngày hẹn trả rơi vào ngày nghỉ lùi sang ngày làm việc tiếp theo (Bộ luật Dân sự 2015 "
                        "Điều 148)",
}
DIGITIZATION_SCOPES = {
    "all_new": "Mọi hồ sơ mới tiếp nhận",
    "direct_postal_only": "Chỉ hồ sơ nộp trực tiếp/bưu chính (hồ sơ trực tuyến được miễn, TT 03/2025 Điều 5)",
}
BOUNDARIES = {
    "current": "Địa giới hiện hành: xã/phường mới gồm cả hồ sơ của các xã cũ trước 1/7/2025 (chuỗi từ kỳ trước liên tục)",
    "recorded": "Địa giới khi ghi nhận: mỗi hồ sơ thuộc đơn vị ghi trong tệp xuất (xã cũ giữ số liệu riêng)",
}
ATTRIBUTIONS = {
    "resolving": "Đơn vị trực tiếp giải quyết (Biểu 06; thiếu thông tin thì lấy đơn vị tiếp nhận)",
    "receiving": "Đơn vị tiếp nhận hồ sơ",
}
# Service-index formula versions (motcua.index_estimate): scores of two versions are never compared.
INDEX_VERSIONS = {
    "portal_2026": "Bảng chỉ số của Cổng DVCQG năm 2026 (công thức khớp ngược theo điểm công bố, không chính thức)",
    "qd766_2022": "Văn bản QĐ 766/QĐ-TTg năm 2022 (điểm = điểm tối đa × tỷ lệ)",
}
_ALIASES = {"returned_policy": {"separate": "excluded"}}


@dataclass(frozen=True)
class SettingSpec:
    """One named setting: where it shows (CLI flag, URL parameter, widget label) and why it exists.

    ``kind``: "choice" (one of ``choices``), "multi" (a subset of ``choices``) or "int" (0..``maximum``).
    ``changes_facts``: True when the setting picks a different outcome column of the derived facts (the
    identities must then be re-checked for it); False when it only selects periods or presentation.
    """

    name: str
    label: str
    default: object
    kind: str
    source: str
    choices: Mapping[str, str] | None = None
    url_param: str | None = None
    maximum: int | None = None
    changes_facts: bool = True
    help: str = ""

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def param(self) -> str:
        return self.url_param or self.name

    def parse(self, value):
        """A value as given in a URL, a CLI or a config (text or already typed) -> the typed value.

        Raises ``ValueError`` with a Vietnamese message for anything outside the allowed values."""
        if self.kind == "int":
            text = str(value).strip()
            if not text.isascii() or not text.isdigit() or int(text) > (self.maximum or 10**6):
                raise ValueError(f"{self.label}: '{value}' không hợp lệ; cần một số nguyên từ 0 đến "
                                 f"{self.maximum}.")
            return int(text)
        if self.kind == "multi":
            items = value.split(",") if isinstance(value, str) else list(value)
            items = [str(item).strip() for item in items if str(item).strip()]
            bad = [item for item in items if item not in self.choices]
            if bad or not items:
                raise ValueError(f"{self.label}: '{', '.join(bad) or value}' không hợp lệ; chỉ dùng: "
                                 f"{', '.join(self.choices)}.")
            return tuple(dict.fromkeys(items))
        value = _ALIASES.get(self.name, {}).get(value, value)
        if value not in self.choices:
            raise ValueError(f"{self.label}: '{value}' không hợp lệ; chỉ dùng: {', '.join(self.choices)}.")
        return value

    def format(self, value) -> str:
        """Text form used in URLs and CLI flags (inverse of ``parse``)."""
        if self.kind == "multi":
            return ",".join(value)
        return str(value)

    def describe(self, value) -> str:
        """Vietnamese wording of a value, for captions, report footnotes and the definitions page."""
        if self.kind == "int":
            return str(value)
        if self.kind == "multi":
            return ", ".join(self.choices.get(item, item) for item in value)
        return self.choices.get(value, value)


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "calendar", "Cách tính kỳ", "calendar", "choice",
        "NĐ 09/2019/NĐ-CP Điều 12 (kỳ chốt số liệu 15 → 14); Cổng DVC quốc gia dùng tháng/quý dương lịch",
        choices=CALENDARS, changes_facts=False,
        help="calendar: tháng/quý dương lịch; report: kỳ chốt số liệu ngày 15 tháng trước – ngày 14.",
    ),
    SettingSpec(
        "early_rule", "Phân biệt trước hạn / đúng hạn", "date", "choice",
        "Biểu 06/VPCP/KSTT (TT 01/2020/TT-VPCP) cột 8–10; chưa có hướng dẫn chính thức",
        choices=EARLY_RULES, help="Cách phân biệt trước hạn/đúng hạn.",
    ),
    SettingSpec(
        "returned_policy", "Hồ sơ trả lại, rút, dừng", "resolved_on_time", "choice",
        "NĐ 118/2025/NĐ-CP Điều 21; TT 03/2025/TT-VPCP Điều 7; QĐ 766/QĐ-TTg chỉ số 2.1 (judged_766)",
        choices=RETURNED_POLICIES,
        url_param="returned", help="Cách tính hồ sơ trả lại, rút, dừng xử lý.",
    ),
    SettingSpec(
        "at_risk_days", "Sắp đến hạn: còn tối đa (ngày làm việc)", 2, "int",
        "Lựa chọn của đơn vị (cảnh báo sớm; Thông báo kiểm tra CCHC 2026)", url_param="at_risk", maximum=30,
        changes_facts=False, help="Số ngày làm việc còn lại để đưa hồ sơ vào danh sách sắp đến hạn.",
    ),
    SettingSpec(
        "online_procedure_levels", "Mức độ tính là TTHC có DVC trực tuyến", ("toan_trinh", "mot_phan"), "multi",
        "NĐ 42/2022/NĐ-CP Điều 11: DVC trực tuyến gồm toàn trình và một phần (mặc định theo nguồn này). "
        "TT 23/2018/TT-BTTTT Điều 8 chỉ tính TTHC mức độ 4 (≈ toàn trình): chọn toan_trinh",
        choices=LEVEL_LABELS,
        url_param="online_levels", help="Các mức độ DVC, cách nhau bằng dấu phẩy (toan_trinh,mot_phan).",
    ),
    SettingSpec(
        "digitization_scope", "Phạm vi tính tỷ lệ số hóa", "all_new", "choice",
        "TT 03/2025/TT-VPCP Điều 5 (hồ sơ trực tuyến được miễn số hóa khi tiếp nhận)", choices=DIGITIZATION_SCOPES,
        url_param="digitization", help="Mẫu số của tỷ lệ số hóa khi tiếp nhận.",
    ),
    SettingSpec(
        "boundaries", "Địa giới đơn vị", "current", "choice",
        "NQ 202/2025/QH15 và các nghị quyết sắp xếp ĐVHC cấp xã (hiệu lực 1/7/2025); chưa có hướng dẫn so sánh số liệu",
        choices=BOUNDARIES, changes_facts=False,
        help="current: xã/phường hiện hành gồm cả xã cũ; recorded: theo đơn vị ghi trong tệp xuất.",
    ),
    SettingSpec(
        "attribution", "Hồ sơ tính cho đơn vị", "resolving", "choice",
        "Biểu 06/VPCP/KSTT: 'tại cơ quan, đơn vị trực tiếp giải quyết TTHC'; NĐ 118/2025/NĐ-CP (sửa bởi NĐ "
        "309/2026/NĐ-CP): nộp hồ sơ không phụ thuộc địa giới", choices=ATTRIBUTIONS, changes_facts=False,
        help="resolving: đơn vị giải quyết (mặc định của Biểu 06); receiving: đơn vị tiếp nhận.",
    ),
    SettingSpec(
        "index_version", "Phiên bản công thức chỉ số phục vụ (ước tính)", "portal_2026", "choice",
        "QĐ 766/QĐ-TTg (2022); bảng chỉ số Cổng DVCQG 2026 (công thức khớp ngược, ChippedTopaz/qd766)",
        choices=INDEX_VERSIONS, url_param="index_version", changes_facts=False,
        help="Công thức tính điểm ước tính; không so sánh điểm giữa hai phiên bản.",
    ),
    SettingSpec(
        "supplement_rule", "Hồ sơ yêu cầu bổ sung", "restart", "choice",
        "NĐ 61/2018/NĐ-CP Điều 19(4), giữ ở NĐ 118/2025 (tính lại thời hạn từ khi nhận đủ hồ sơ); QĐ 766/QĐ-TTg "
        "chỉ số 2.1 (portal_766)", choices=SUPPLEMENT_RULES, url_param="supplement",
        help="Cách tính hạn của hồ sơ có yêu cầu bổ sung.",
    ),
    SettingSpec(
        "due_on_day_off", "Ngày hẹn trả rơi vào ngày nghỉ", "as_exported", "choice",
        "Bộ luật Dân sự 2015 Điều 148 (hạn kết thúc vào ngày nghỉ thì chuyển sang ngày làm việc tiếp theo)",
        choices=DUE_ON_DAY_OFF_RULES, url_param="day_off",
        help="Giữ ngày hẹn trả như tệp xuất hoặc lùi sang ngày làm việc tiếp theo.",
    ),
)
SPECS: dict[str, SettingSpec] = {spec.name: spec for spec in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The values of every ``SettingSpec`` (defaults from the specs); validated on construction."""

    calendar: str = SPECS["calendar"].default
    early_rule: str = SPECS["early_rule"].default
    returned_policy: str = SPECS["returned_policy"].default
    at_risk_days: int = SPECS["at_risk_days"].default
    online_procedure_levels: tuple[str, ...] = SPECS["online_procedure_levels"].default
    digitization_scope: str = SPECS["digitization_scope"].default
    boundaries: str = SPECS["boundaries"].default
    attribution: str = SPECS["attribution"].default
    index_version: str = SPECS["index_version"].default
    supplement_rule: str = SPECS["supplement_rule"].default
    due_on_day_off: str = SPECS["due_on_day_off"].default

    def __post_init__(self) -> None:
        for spec in SETTINGS:
            object.__setattr__(self, spec.name, spec.parse(getattr(self, spec.name)))

    def as_dict(self) -> dict:
        """Every rule in force, JSON-ready (the ``settings`` block of ``motcua kpi --json``)."""
        return {spec.name: (list(value) if isinstance(value, tuple) else value)
                for spec in SETTINGS for value in [getattr(self, spec.name)]}

    def describe(self, names: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        """(label, Vietnamese value) pairs, for report footnotes and captions."""
        return [(spec.label, spec.describe(getattr(self, spec.name)))
                for spec in SETTINGS if names is None or spec.name in names]

    def changed(self) -> dict[str, object]:
        """Settings that differ from their defaults (what a URL must carry)."""
        defaults = Settings()
        return {spec.name: getattr(self, spec.name) for spec in SETTINGS
                if getattr(self, spec.name) != getattr(defaults, spec.name)}

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


def from_params(params: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """Typed values for the settings present in ``params`` (keyed by URL parameter), and a Vietnamese
    warning for each invalid one (the setting then keeps its default)."""
    values, warnings = {}, []
    for spec in SETTINGS:
        raw = params.get(spec.param)
        if raw is None or raw == "":
            continue
        try:
            values[spec.name] = spec.parse(raw)
        except ValueError as exc:
            warnings.append(f"Đường dẫn: {exc} Đang dùng giá trị mặc định.")
    return values, warnings


def to_params(settings: Settings, include_defaults: tuple[str, ...] = ()) -> dict[str, str]:
    """URL parameters for the settings that differ from their defaults (plus ``include_defaults``)."""
    changed = settings.changed()
    return {spec.param: spec.format(getattr(settings, spec.name)) for spec in SETTINGS
            if spec.name in changed or spec.name in include_defaults}


def all_combinations(names: tuple[str, ...] | None = None) -> Iterator[Settings]:
    """Every combination of the choice settings that change the derived facts (property tests)."""
    specs = [spec for spec in SETTINGS if spec.kind == "choice" and spec.changes_facts
             and (names is None or spec.name in names)]
    for values in itertools.product(*(list(spec.choices) for spec in specs)):
        yield Settings(**dict(zip([spec.name for spec in specs], values, strict=True)))

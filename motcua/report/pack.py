"""Report packs: one unit-period -> ``<unit>-<period>.xlsx`` + ``.docx``; a province -> one zip.

``make_pack`` returns bytes (the Báo cáo page's download buttons), ``build_pack`` writes files (CLI),
``batch_zip_bytes`` / ``build_batch_zip`` put one pack per commune plus the comparison workbook
(league table) into a zip. Charts are rendered in one Chromium session for the whole batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from motcua import charts, metrics
from motcua.filters import Scope
from motcua.periods import Period
from motcua.report import excel, word
from motcua.report.data import (
    EmptyReport,
    ReportData,
    check_not_empty,
    collect,
    period_sentence,
    scope_unit_name,
)
from motcua.report.images import ChartRenderer
from motcua.text import slug

MAX_STEM = 60
Progress = Callable[[int, int, str], None]  # (done, total, unit name)


@dataclass
class Pack:
    stem: str  # "xa-tu-ky-2026Q3"
    xlsx: bytes
    docx: bytes
    charts: int  # number of chart images embedded in the docx
    chart_note: str | None  # why charts are missing, when they are
    data: ReportData

    @property
    def files(self) -> dict[str, bytes]:
        return {f"{self.stem}.xlsx": self.xlsx, f"{self.stem}.docx": self.docx}


# Names Windows refuses for a file or folder (also with an extension: "con.xlsx").
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_name(text: str, max_length: int = MAX_STEM) -> str:
    """A file/folder name valid on Windows, macOS and Linux: ASCII letters, digits, '-' and '_' only
    (no ``<>:"/\\|?*!``, no trailing dot or space, never a reserved device name such as CON or LPT1)."""
    name = re.sub(r"-{2,}", "-", _UNSAFE_NAME_RE.sub("-", str(text)))[:max_length].strip("-_") or "x"
    return f"{name}_" if name.lower() in _WINDOWS_RESERVED else name


def pack_stem(unit_name: str, period: Period, settings: metrics.Settings | None = None) -> str:
    """'xa-tu-ky_2026Q3_ky-bao-cao': unit, period and calendar (two calendars never share a name), plus a tag of
    the counting rules when they are not the defaults (the same figures always carry the same name)."""
    return f"{safe_name(slug(unit_name))}_{safe_name(period.file_code)}{rules_tag(settings)}"


def rules_tag(settings: metrics.Settings | None = None) -> str:
    """'' for the default rules, else '_cach-tinh-<6 hex>' from the settings block (calendar aside)."""
    block = metrics.settings_block(dataclasses.replace(settings or metrics.Settings(), calendar="calendar"))
    if block == metrics.settings_block(metrics.Settings(calendar="calendar")):
        return ""
    return "_cach-tinh-" + hashlib.sha1(json.dumps(block, sort_keys=True).encode()).hexdigest()[:6]


def chart_figures(data: ReportData) -> list[tuple[str, object]]:
    """The report's four charts (builders from ``motcua.charts``), as (title, figure)."""
    caption = data.caption
    figures = [
        ("Tiến độ giải quyết hồ sơ theo tháng", charts.resolution_by_month(data.months, caption)),
        ("Cơ cấu kênh tiếp nhận theo tháng", charts.channel_mix_by_month(data.months, caption)),
        ("Số hóa và thanh toán trực tuyến", charts.digitization_rates(data.kpis, caption)),
        ("Cơ cấu mức độ dịch vụ công", charts.level_mix(data.levels, caption)),
    ]
    return [(title, _for_print(figure, title)) for title, figure in figures]


def _for_print(figure, title: str):
    """Print tweaks: white background, short title (the caption is the subtitle), legend below the axis."""
    height = int(figure.layout.height or 420)
    return figure.update_layout(template="plotly_white", title={"text": title}, height=max(height, 400),
                                legend={"y": -0.3 if height < 400 else -0.15})


def render_charts(data: ReportData, renderer: ChartRenderer) -> tuple[list[tuple[str, bytes]], str | None]:
    """(title, PNG) pairs of the report's charts and the note explaining missing ones."""
    if not renderer.enabled:
        return [], renderer.note
    figures = chart_figures(data)
    pngs = renderer.render([figure for _title, figure in figures])
    return [(title, png) for (title, _figure), png in zip(figures, pngs, strict=False)], renderer.note


def pack_from_data(data: ReportData, images: list[tuple[str, bytes]], note: str | None) -> Pack:
    return Pack(stem=pack_stem(data.unit_name, data.period, data.settings), xlsx=excel.workbook_bytes(data),
                docx=word.document_bytes(data, images, note), charts=len(images),
                chart_note=None if images else note, data=data)


def make_pack(db, scope: Scope, period: Period, settings: metrics.Settings | None = None,
              *, with_charts: bool = True) -> Pack:
    """One pack as bytes. Raises ``EmptyReport`` when the period has no dossier for the scope."""
    settings = settings or metrics.Settings()
    check_not_empty(db, scope, period, settings)  # before paying for a Chromium start
    with ChartRenderer(with_charts) as renderer:  # Chromium starts while the numbers are queried
        data = collect(db, scope, period, settings)
        images, note = render_charts(data, renderer)
        renderer.release()  # Chromium closes while the documents are built
        return pack_from_data(data, images, note)


def build_pack(db, scope: Scope, period: Period, settings: metrics.Settings | None, out_dir: str | Path,
               *, with_charts: bool = True) -> list[Path]:
    """Write ``<unit>-<period>.xlsx`` and ``.docx`` into ``out_dir``; returns the paths."""
    pack = make_pack(db, scope, period, settings, with_charts=with_charts)
    return write_files(pack.files, Path(out_dir))


def write_files(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in files.items():
        path = out_dir / name
        temp = path.with_name(path.name + ".part")
        temp.write_bytes(content)
        temp.replace(path)  # never leave a half-written report behind
        paths.append(path)
    return paths


def batch_units(db, scope: Scope, period: Period, settings: metrics.Settings) -> pd.DataFrame:
    """League table rows of the units that have dossiers in the period."""
    league = metrics.league_table(db, scope, period, settings)
    if league.empty:
        return league
    active = (league["received_total"] > 0) | (league["resolved_total"] > 0)
    return league[active].reset_index(drop=True)


def batch_zip_bytes(db, period: Period, settings: metrics.Settings | None = None, scope: Scope | None = None,
                    *, with_charts: bool = True, progress: Progress | None = None) -> tuple[str, bytes]:
    """(file name, zip bytes): one folder per commune with its pack, plus the comparison workbook."""
    settings = settings or metrics.Settings()
    scope = scope or Scope()
    league = batch_units(db, scope, period, settings)
    if league.empty:
        raise EmptyReport(f"Không có hồ sơ nào trong kỳ {period.caption} ({scope.caption()}): "
                          "không lập bộ báo cáo.")
    caption, _province = scope_unit_name(db, scope)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, ChartRenderer(with_charts) as renderer:
        archive.writestr(f"so-sanh-don-vi_{safe_name(period.file_code)}{rules_tag(settings)}.xlsx", excel.league_workbook_bytes(
            league, caption, period_sentence(period)))
        total, used_stems = len(league), set()
        # By unit code, not rank: ties in the ranking must not change which same-named commune gets the suffix.
        for done, record in enumerate(league.sort_values("key").to_dict("records"), start=1):
            code = str(record["key"])
            data = collect(db, dataclasses.replace(scope, unit_codes=(code,)), period, settings, allow_empty=True)
            pack = pack_from_data(data, *render_charts(data, renderer))
            if pack.stem in used_stems:  # same commune name in two provinces: the code tells them apart
                pack.stem = pack_stem(f"{data.unit_name} {code}", period, settings)
            used_stems.add(pack.stem)
            for name, content in pack.files.items():
                archive.writestr(f"{pack.stem}/{name}", content)
            if progress:
                progress(done, total, str(record["label"]))
    return f"bao-cao-{safe_name(slug(caption))}_{safe_name(period.file_code)}{rules_tag(settings)}.zip", buffer.getvalue()


def build_batch_zip(db, period: Period, settings: metrics.Settings | None, out_dir: str | Path,
                    scope: Scope | None = None, *, with_charts: bool = True,
                    progress: Progress | None = None) -> Path:
    name, content = batch_zip_bytes(db, period, settings, scope, with_charts=with_charts, progress=progress)
    return write_files({name: content}, Path(out_dir))[0]


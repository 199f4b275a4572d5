"""`motcua brief`: the one-page A4 PDF brief of one commune and period (for the chair)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cli.common import EXIT_EMPTY, EXIT_FAILED, db_option, fail, resolve_unit, settings_options
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.periods import parse_period


@click.command("brief")
@db_option
@click.option("--unit", "unit_text", required=True, help="Đơn vị (mã hoặc tên xã/phường).")
@click.option("--period", "period_text", required=True, help="Kỳ, ví dụ 2026Q3, 2026M07, 2026H1, 2026.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Thư mục ghi tệp PDF.")
@settings_options()
def brief_command(db_path, unit_text, period_text, out_dir, settings) -> None:
    """Lập bản tóm tắt một trang A4 (PDF): chỉ tiêu so với mục tiêu, chỉ số phục vụ ước tính và xếp hạng,
    hồ sơ quá hạn, sắp đến hạn và xu hướng 12 tháng."""
    from motcua import brief, metrics

    try:
        period = parse_period(period_text, settings.calendar)
    except ValueError as exc:
        fail(str(exc))
    database = dbmod.Database(db_path)
    started = time.perf_counter()
    try:
        database.version()
        unit = resolve_unit(database, unit_text)
        scope = Scope(unit_codes=(unit.code,))
        if metrics.kpi_counts(database, scope, period, settings)["received_total"] == 0:
            fail(f"{unit.name} không có hồ sơ trong {period.caption}.", EXIT_EMPTY)
        name, pdf = brief.brief_pdf(database, scope, period, settings)
    except dbmod.DatabaseUnavailable as exc:
        fail(str(exc))
    except brief.BriefError as exc:
        fail(str(exc), EXIT_FAILED)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    path.write_bytes(pdf)
    click.echo(f"Đã ghi {path} ({time.perf_counter() - started:.1f} giây).")

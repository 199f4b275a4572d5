"""`motcua report`: write the quarterly report pack (Excel Biểu 06 + Word draft) or the batch zip."""

from __future__ import annotations

import time
from pathlib import Path

import click

from cli.audit import record_cli
from cli.common import EXIT_BAD_INPUT, EXIT_EMPTY, db_option, fail, resolve_unit, settings_options
from motcua import db as dbmod
from motcua import metrics
from motcua import units as unitsmod
from motcua.filters import Scope
from motcua.periods import parse_period

__all__ = ["EXIT_BAD_INPUT", "EXIT_EMPTY", "report_command"]


def _province_scope(database: dbmod.Database, text: str | None) -> Scope:
    """All communes of a province (``--province``), or every unit."""
    if not text:
        return Scope()
    cur = database.cursor()
    try:
        # An empty list must never reach Scope(): there it would mean every unit.
        return Scope(unit_codes=tuple(unitsmod.commune_codes(cur, unitsmod.resolve_province(cur, text))))
    except unitsmod.UnitError as exc:
        fail(str(exc))
    finally:
        cur.close()


@click.command("report")
@db_option
@click.option("--unit", "unit_text", default=None, help="Đơn vị (mã hoặc tên xã/phường).")
@click.option("--period", "period_text", required=True, help="Kỳ báo cáo, ví dụ 2026Q3, 2026M07, 2026H1, 2026.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Thư mục ghi tệp báo cáo.")
@click.option("--all-units", is_flag=True, help="Lập bộ báo cáo cho mọi xã/phường có hồ sơ (một tệp zip).")
@click.option("--province", default=None, help="Với --all-units: chỉ các xã/phường của tỉnh này.")
@click.option("--no-charts", is_flag=True, help="Không vẽ biểu đồ (nhanh hơn, không cần Chromium).")
@click.option("--email", "email_mode", is_flag=True,
              help="Với --all-units: gửi bộ báo cáo của mỗi xã/phường cho chủ tịch xã/phường đó (email trong tệp "
                   "người dùng, máy chủ thư trong motcua.toml) thay vì ghi tệp zip.")
@click.option("--dry-run", "dry_run_dir", type=click.Path(file_okay=False), default=None,
              help="Với --email: không gửi, ghi mỗi thư thành tệp .eml trong thư mục này.")
@click.option("--config-dir", type=click.Path(file_okay=False), default=None,
              help="Với --email: thư mục cấu hình (mặc định: MOTCUA_CONFIG_DIR hoặc config/).")
@settings_options(defaults={"calendar": "report"})  # the legal report periods (NĐ 09/2019)
def report_command(db_path, unit_text, period_text, out_dir, all_units, province, no_charts, email_mode,
                   dry_run_dir, config_dir, settings) -> None:
    """Lập báo cáo quý: tệp Excel Biểu 06 và dự thảo báo cáo Word (hoặc tệp zip cho cả tỉnh)."""
    from motcua.report import EmptyReport, build_batch_zip, make_pack
    from motcua.report.pack import write_files

    if bool(unit_text) == bool(all_units):
        fail("Cần đúng một trong hai tùy chọn: --unit ĐƠN_VỊ hoặc --all-units.")
    if (email_mode or dry_run_dir) and not all_units:
        fail("--email chỉ dùng với --all-units.")
    if dry_run_dir and not email_mode:
        fail("--dry-run chỉ dùng với --email.")
    try:
        period = parse_period(period_text, settings.calendar)
    except ValueError as exc:
        fail(str(exc))
    database = dbmod.Database(db_path)
    calendar = ("kỳ báo cáo từ ngày 15 tháng trước đến ngày 14 (NĐ 09/2019/NĐ-CP)" if settings.calendar == "report"
                else "tháng, quý dương lịch (--calendar calendar)")
    click.echo(f"Kỳ {period.caption}: {calendar}.", err=True)
    click.echo(metrics.settings_notes(settings.as_dict())[0], err=True)
    if settings.returned_policy == "excluded":
        click.echo(metrics.EXCLUDED_WARNING, err=True)
    started = time.perf_counter()
    try:
        database.version()
        if all_units and email_mode:
            from cli.report_email import email_packs

            email_packs(database, period, settings, _province_scope(database, province), config_dir=config_dir,
                        dry_run_dir=dry_run_dir, with_charts=not no_charts, progress=_echo_progress)
            return
        if all_units:
            scope = _province_scope(database, province)
            path = build_batch_zip(database, period, settings, out_dir, scope,
                                   with_charts=not no_charts, progress=_echo_progress)
            record_cli("report_batch", path.name, scope.unit_codes, f"{period.caption}", db_path=db_path)
            click.echo(f"Đã ghi {path} ({time.perf_counter() - started:.1f} giây).")
            return
        unit = resolve_unit(database, unit_text)
        pack = make_pack(database, Scope(unit_codes=(unit.code,)), period, settings, with_charts=not no_charts)
    except dbmod.DatabaseUnavailable as exc:
        fail(str(exc))
    except EmptyReport as exc:
        fail(str(exc), EXIT_EMPTY)
    for path in write_files(pack.files, Path(out_dir)):
        record_cli("report", path.name, [unit.code], pack.data.caption, db_path=db_path)
        click.echo(f"Đã ghi {path}")
    if pack.chart_note and not no_charts:
        click.echo(f"Lưu ý: {pack.chart_note}", err=True)
    click.echo(f"{unit.name} – {period.caption}: {pack.charts} biểu đồ, "
               f"{time.perf_counter() - started:.1f} giây.")


def _echo_progress(done: int, total: int, unit_name: str) -> None:
    click.echo(f"[{done}/{total}] {unit_name}", err=True)

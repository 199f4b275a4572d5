"""`motcua index`: service-index components entered by an admin (the ones exports cannot give)."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import db_option, fail, settings_options


@click.group("index")
def index_group() -> None:
    """Chỉ số phục vụ (ước tính): nhập các thành phần không tính được từ hồ sơ."""


@index_group.command("import")
@db_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "entered_by", default=None, help="Người nhập (ghi vào cơ sở dữ liệu).")
@settings_options()
def import_command(db_path, csv_file, entered_by, settings) -> None:
    """Nạp điểm thành phần từ tệp CSV (cột don_vi; ky; thanh_phan; diem; ghi_chu tùy chọn), tất cả hoặc không."""
    from motcua import db as dbmod
    from motcua import index_estimate

    try:
        count = index_estimate.import_inputs_csv(dbmod.resolve_path(db_path), Path(csv_file), settings.calendar,
                                                 settings.index_version, entered_by)
    except (ValueError, dbmod.DatabaseUnavailable) as exc:
        fail(str(exc))
    click.echo(f"Đã nạp {count} điểm thành phần ({settings.index_version}).")

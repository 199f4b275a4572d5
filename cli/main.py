"""`motcua` command line: the terminal front-end, beside the dashboard.

Each command lives in its own module of this package, only parses options and calls the library
(``loaders`` for imports, ``motcua`` for everything else); the core never imports this package."""

from __future__ import annotations

import json
import sys

import click

from cli.audit import audit_command
from cli.backup import backup_command, restore_command
from cli.brief import brief_command
from cli.common import db_option, fail, open_cursor
from cli.digest import digest_command
from cli.index import index_group
from cli.kpi import kpi_command
from cli.lake import lake_group
from cli.load import load_command
from cli.report import report_command
from cli.serve import serve_command
from cli.user import user_group
from cli.watch import watch_command
from motcua import db as dbmod
from motcua import units as unitsmod


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="motcua-kpi")
def main() -> None:
    """Một Cửa KPI: nạp tệp xuất hồ sơ TTHC, tính chỉ tiêu, lập báo cáo."""


@main.command("units")
@db_option
@click.option("--all", "show_all", is_flag=True, help="Liệt kê cả các đơn vị chưa có hồ sơ.")
@click.option("--province", default=None, help="Chỉ một tỉnh/thành phố (mã hoặc tên).")
@click.option("--find", "find", default=None, help="Tìm một đơn vị theo mã hoặc tên.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def units_command(db_path, show_all, province, find, as_json) -> None:
    """Liệt kê các đơn vị (xã/phường) đã biết."""
    cur = open_cursor(dbmod.Database(db_path))
    try:
        if find:
            try:
                unit = unitsmod.resolve_unit(cur, find)
            except unitsmod.UnitError as exc:
                fail(str(exc))
            click.echo(json.dumps(unit.__dict__, ensure_ascii=False) if as_json else unit.label)
            return
        province_code = unitsmod.resolve_province(cur, province) if province else None
        frame = unitsmod.list_units(cur, used_only=not show_all, province=province_code)
    finally:
        cur.close()
    if as_json:
        click.echo(frame.to_json(orient="records", force_ascii=False))
        return
    from motcua.fmt import fmt_int

    for row in frame.itertuples():  # legacy units: old district/province and successor, never 'nan'
        click.echo(f"{row.code:<22} {row.label:<60} {fmt_int(row.dossiers):>9} hồ sơ")
    click.echo(f"Tổng: {fmt_int(len(frame))} đơn vị")


for _command in (load_command, kpi_command, report_command, brief_command, index_group, user_group,
                 serve_command, watch_command, digest_command, backup_command, restore_command, audit_command,
                 lake_group):
    main.add_command(_command)

if __name__ == "__main__":
    sys.exit(main())

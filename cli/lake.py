"""`motcua lake …`: export the published database to a Parquet lake (national scale, Spark) and check it."""

from __future__ import annotations

import json

import click

from cli.common import EXIT_FAILED, db_option, fail
from motcua import db as dbmod
from motcua import fmt
from motcua import lake as lakemod


@click.group("lake")
def lake_group() -> None:
    """Kho Parquet phân vùng theo tỉnh và năm (cho Spark và quy mô quốc gia)."""


@lake_group.command("export")
@db_option
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Thư mục kho Parquet.")
@click.option("--force", is_flag=True, help="Ghi lại mọi phân vùng (mặc định chỉ ghi phân vùng đã thay đổi).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
def export_command(db_path, out, force, as_json) -> None:
    """Xuất hồ sơ, bảng tổng hợp, đơn vị, thủ tục ra Parquet (không có dữ liệu cá nhân) kèm manifest."""
    try:
        result = lakemod.export(dbmod.resolve_path(db_path), out, force=force)
    except dbmod.DatabaseUnavailable as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps({"out": str(result.out), "written": result.written, "unchanged": result.unchanged,
                               "removed": result.removed, "rows": result.rows, "bytes": result.bytes},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"Kho Parquet '{result.out}': ghi {fmt.fmt_int(len(result.written))} phân vùng, giữ nguyên "
               f"{fmt.fmt_int(len(result.unchanged))}, xóa {fmt.fmt_int(len(result.removed))}; "
               f"{fmt.fmt_int(result.rows.get('dossiers', 0))} hồ sơ, {fmt.fmt_int(result.bytes // 1024)} KB.")


@lake_group.command("verify")
@click.argument("lake", type=click.Path(file_okay=False))
def verify_command(lake) -> None:
    """Kiểm tra mọi tệp trong manifest (kích thước, sha256)."""
    try:
        problems = lakemod.verify(lake)
    except lakemod.LakeError as exc:
        fail(str(exc))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        fail(f"{fmt.fmt_int(len(problems))} tệp hỏng hoặc thiếu.", EXIT_FAILED)
    click.echo(f"Kho Parquet '{lake}' nguyên vẹn.")

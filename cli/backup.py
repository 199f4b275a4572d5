"""`motcua backup DIR` and `motcua restore FILE` (``motcua.backup``); this module only parses options."""

from __future__ import annotations

import logging

import click

from cli.common import EXIT_FAILED, db_option, fail
from motcua import backup as backupmod
from motcua import db as dbmod
from motcua.fmt import fmt_int
from motcua.jsonlog import setup_logging
from motcua.service_config import ServiceConfigError, apply_config_dir, load_service_config

LOG = logging.getLogger("motcua.backup")

_config_option = click.option("--config-dir", type=click.Path(file_okay=False), default=None,
                              help="Thư mục cấu hình (mặc định: MOTCUA_CONFIG_DIR hoặc config/).")


@click.command("backup")
@click.argument("out_dir", type=click.Path(file_okay=False))
@db_option
@_config_option
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Số bản sao lưu giữ lại (mặc định: [backup] keep trong motcua.toml, không có thì 14).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Ghi nhật ký JSON vào tệp này.")
def backup_command(out_dir, db_path, config_dir, keep, log_file) -> None:
    """Sao lưu cơ sở dữ liệu đang dùng, cấu hình, người dùng và nhật ký vào thư mục OUT_DIR.

    Bản sao lưu là đúng một phiên bản đã công bố của cơ sở dữ liệu (trước hoặc sau một lần nạp đang
    chạy, không bao giờ lẫn), không làm gián đoạn bảng điều khiển hay việc nạp.
    """
    directory = apply_config_dir(config_dir)
    setup_logging(log_file)
    try:
        keep = keep or load_service_config(directory).backup_keep
        archive = backupmod.create_backup(out_dir, db_path=db_path, config_dir=directory, keep=keep)
    except (backupmod.BackupError, ServiceConfigError) as exc:
        fail(str(exc))
    LOG.info("Đã sao lưu %s", archive, extra={"fields": {"archive": str(archive), "bytes": archive.stat().st_size}})
    click.echo(f"Đã sao lưu vào {archive} ({fmt_int(archive.stat().st_size)} byte); giữ {keep} bản mới nhất.")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@db_option
@_config_option
@click.option("--yes", is_flag=True, help="Không hỏi xác nhận.")
def restore_command(archive, db_path, config_dir, yes) -> None:
    """Khôi phục bản sao lưu ARCHIVE: thay cơ sở dữ liệu, cấu hình và nhật ký hiện tại."""
    directory = apply_config_dir(config_dir)
    try:
        plan = backupmod.plan_restore(archive, db_path=db_path, config_dir=directory)
    except backupmod.BackupError as exc:
        fail(str(exc))
    click.echo(f"Bản sao lưu lúc {plan.created_at} sẽ THAY THẾ:")
    current = "chưa có" if plan.dossiers is None else f"hiện có {fmt_int(plan.dossiers)} hồ sơ"
    click.echo(f"  cơ sở dữ liệu {plan.db_target} ({current})")
    for path in (*plan.config_targets, *plan.audit_targets):
        click.echo(f"  {path}")
    if not yes:
        click.confirm("Tiếp tục khôi phục?", abort=True)
    try:
        backupmod.restore_backup(plan)
    except (backupmod.BackupError, dbmod.DatabaseUnavailable) as exc:
        fail(str(exc), EXIT_FAILED)
    restored = dbmod.Database(plan.db_target).query_rows("SELECT count(*) FROM dossiers")[0][0]
    click.echo(f"Đã khôi phục: {fmt_int(restored)} hồ sơ. Bảng điều khiển dùng bản này ngay, không cần khởi động lại.")

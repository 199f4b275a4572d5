"""`motcua digest --send | --dry-run DIR`: e-mail digests (``motcua.digest``) to chairs and officers."""

from __future__ import annotations

from datetime import date

import click

from cli.common import (
    DEFAULT_SENDER,
    EXIT_FAILED,
    db_option,
    deliver_mail,
    fail,
    mail_setup,
    settings_options,
)
from cli.mailer import MailError, check_settings
from motcua import auth
from motcua import db as dbmod
from motcua.digest import DigestOptions, build_digest, recipients, to_message
from motcua.jsonlog import setup_logging


@click.command("digest")
@db_option
@click.option("--send", is_flag=True, help="Gửi thư qua máy chủ SMTP trong motcua.toml.")
@click.option("--dry-run", "dry_run_dir", type=click.Path(file_okay=False), default=None,
              help="Không gửi: ghi mỗi thư thành một tệp .eml trong thư mục này.")
@click.option("--user", "only_users", multiple=True, help="Chỉ người dùng này (lặp lại được).")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Ngày lập thư (mặc định: hôm nay), dạng 2026-11-20.")
@click.option("--config-dir", type=click.Path(file_okay=False), default=None,
              help="Thư mục cấu hình (mặc định: MOTCUA_CONFIG_DIR hoặc config/).")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Ghi nhật ký JSON vào tệp này.")
@settings_options()
def digest_command(db_path, send, dry_run_dir, only_users, today, config_dir, log_file, settings) -> None:
    """Thư tổng hợp: chủ tịch xã nhận chỉ tiêu chính, hồ sơ quá hạn và sắp đến hạn của xã mình; cán bộ
    theo dõi nhận bảng xếp hạng các đơn vị được giao. Người nhận và địa chỉ lấy từ tệp người dùng."""
    if bool(send) == bool(dry_run_dir):
        fail("Cần đúng một trong hai: --send hoặc --dry-run THƯ_MỤC.")
    config, users = mail_setup(config_dir, "thư")
    setup_logging(log_file)
    chosen = [u for u in users.users.values() if not only_users or u.username in only_users]
    wanted, no_email = recipients(chosen)
    for user in no_email:
        click.echo(f"Bỏ qua {user.username}: chưa có email trong tệp người dùng.", err=True)
    options = DigestOptions(config.digest.period, config.digest.max_rows)
    database = dbmod.Database(db_path)
    day = today.date() if today else date.today()
    sender = config.smtp.sender or DEFAULT_SENDER
    try:
        messages = [to_message(build_digest(database, user, day, settings, options), sender) for user in wanted]
    except (dbmod.DatabaseUnavailable, auth.AccessDenied) as exc:
        fail(str(exc))
    if not dry_run_dir:
        try:
            check_settings(config.smtp)
        except MailError as exc:
            fail(str(exc))
    if deliver_mail(messages, config.smtp, dry_run_dir, "thư."):
        raise click.exceptions.Exit(EXIT_FAILED)

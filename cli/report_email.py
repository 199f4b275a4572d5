"""`motcua report --all-units --email`: each commune's pack to that commune's chairs only
(``motcua.report.mailing``); this module loads the users and the SMTP settings and sends."""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import EXIT_FAILED, fail, mail_setup
from cli.mailer import MailError, check_settings, send_all, write_eml
from motcua.filters import Scope
from motcua.periods import Period
from motcua.report.mailing import pack_mails, pack_message


def email_packs(database, period: Period, settings, scope: Scope, *, config_dir, dry_run_dir, with_charts: bool,
                progress) -> None:
    config, users = mail_setup(config_dir, "bộ báo cáo")
    if not dry_run_dir:
        try:
            check_settings(config.smtp)
        except MailError as exc:
            fail(str(exc))
    sender = config.smtp.sender or "Một Cửa KPI <motcua-kpi@localhost>"
    skipped: list[str] = []
    mails = pack_mails(database, list(users.users.values()), period, settings, scope, with_charts=with_charts,
                       progress=progress, skipped=skipped)
    messages = (pack_message(mail, sender) for mail in mails)
    if dry_run_dir:
        paths = write_eml(messages, Path(dry_run_dir))
        for path in paths:
            click.echo(f"Đã ghi {path}")
    else:
        try:
            report = send_all(messages, config.smtp)
        except MailError as exc:
            fail(str(exc), EXIT_FAILED)
        click.echo(f"Đã gửi {len(report.sent)} thư kèm bộ báo cáo {period.label}.")
        for address, reason in report.failed:
            click.echo(f"Không gửi được tới {address}: {reason}", err=True)
    if skipped:
        click.echo(f"Không có người nhận (chủ tịch có email) cho {len(skipped)} đơn vị: {', '.join(skipped)}",
                   err=True)
    if not dry_run_dir and report.failed:
        raise click.exceptions.Exit(EXIT_FAILED)

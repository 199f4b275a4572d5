"""`motcua report --all-units --email`: each commune's pack to that commune's chairs only
(``motcua.report.mailing``); this module loads the users and the SMTP settings and sends."""

from __future__ import annotations

import click

from cli.common import DEFAULT_SENDER, EXIT_FAILED, deliver_mail, fail, mail_setup
from cli.mailer import MailError, check_settings
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
    sender = config.smtp.sender or DEFAULT_SENDER
    skipped: list[str] = []
    mails = pack_mails(database, list(users.users.values()), period, settings, scope, with_charts=with_charts,
                       progress=progress, skipped=skipped)
    messages = (pack_message(mail, sender) for mail in mails)
    failed = deliver_mail(messages, config.smtp, dry_run_dir, f"thư kèm bộ báo cáo {period.label}.")
    if skipped:
        click.echo(f"Không có người nhận (chủ tịch có email) cho {len(skipped)} đơn vị: {', '.join(skipped)}",
                   err=True)
    if failed:
        raise click.exceptions.Exit(EXIT_FAILED)

"""The SMTP code of the CLI (digests, report packs): STARTTLS, login, one message at a time, or .eml files.

Library modules build ``email.message.EmailMessage`` objects; only this module talks to a mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from motcua.service_config import SmtpSettings
from motcua.text import slug

LOG = logging.getLogger("cli.mailer")


class MailError(RuntimeError):
    """The mail server could not be used at all; the message is Vietnamese."""


@dataclass
class SendReport:
    sent: list[str]
    failed: list[tuple[str, str]]  # (address, reason)


def check_settings(smtp: SmtpSettings) -> None:
    missing = [key for key in ("host", "sender") if not getattr(smtp, key)]
    if missing:
        raise MailError(f"Chưa cấu hình máy chủ thư: thiếu {', '.join(missing)} trong mục [smtp] của motcua.toml.")


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    try:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        client.ehlo()
        if smtp.starttls:
            context = ssl.create_default_context(cafile=smtp.ca_file or None)
            client.starttls(context=context)
            client.ehlo()
        if smtp.username:
            client.login(smtp.username, smtp.password)
        return client
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"Máy chủ thư {smtp.host} từ chối đăng nhập của '{smtp.username}' "
                        f"(kiểm tra biến {smtp.password_env}).") from exc
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailError(f"Không kết nối được máy chủ thư {smtp.host}:{smtp.port}"
                        f"{' (STARTTLS)' if smtp.starttls else ''}: {exc}") from exc


def send_all(messages: Iterable[EmailMessage], smtp: SmtpSettings) -> SendReport:
    """Send over one connection; a refused recipient is recorded and the others still go out."""
    check_settings(smtp)
    report = SendReport([], [])
    client = _connect(smtp)
    try:
        for message in messages:
            address = parseaddr(message["To"])[1]
            try:
                client.send_message(message)
                report.sent.append(address)
                LOG.info("Đã gửi thư", extra={"fields": {"to": address, "subject": message["Subject"]}})
            except smtplib.SMTPException as exc:
                report.failed.append((address, str(exc)))
                LOG.error("Không gửi được thư", extra={"fields": {"to": address, "error": str(exc)}})
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
    return report


def write_eml(messages: Iterable[EmailMessage], out_dir: Path) -> list[Path]:
    """``--dry-run``: one ``.eml`` per message (opens in any mail client), nothing is sent."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, message in enumerate(messages, start=1):
        address = parseaddr(message["To"])[1]
        path = out_dir / f"{index:03d}-{slug(address)}.eml"
        path.write_bytes(bytes(message))
        paths.append(path)
    return paths

"""A real SMTP server on 127.0.0.1 for the mail tests: aiosmtpd with STARTTLS and AUTH both required."""

from __future__ import annotations

import contextlib
import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from e2e_utils import free_port

USER, PASSWORD = "kpi@tinh.gov.vn", "mat-khau-thu-nghiem"


@dataclass
class Mailbox:
    host: str
    port: int
    ca_file: Path
    messages: list = field(default_factory=list)  # (envelope recipients, parsed EmailMessage)

    def config_toml(self, password_env: str = "MOTCUA_TEST_SMTP_PASSWORD") -> str:
        return (f'[smtp]\nhost = "{self.host}"\nport = {self.port}\nstarttls = true\nusername = "{USER}"\n'
                f'password_env = "{password_env}"\nsender = "Một Cửa KPI <{USER}>"\n'
                f'ca_file = "{self.ca_file}"\ntimeout = 10.0\n')


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        if not session.ssl:  # STARTTLS is required below; this double-checks the message came encrypted
            return "530 TLS required"
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.box.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def smtp_server(directory: Path) -> Iterator[Mailbox]:
    cert, key = _self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox("127.0.0.1", free_port(), cert)
    controller = Controller(_Handler(box), hostname=box.host, port=box.port, tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=_authenticator)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()

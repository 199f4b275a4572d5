"""Quarter-end packs by e-mail (``motcua report --all-units --email``): each commune's pack goes only to the
users of that commune.

Recipients of commune C: users with role ``chair`` and an e-mail address whose allowed units
(``User.allowed_unit_codes``, the same resolution the dashboard uses) contain C. Officers are not sent
commune packs (their scope is many communes: they use the batch zip). Each pack is built for the scope
``restrict_scope(Scope(C), user)``, which must be exactly ``(C,)``: a user never receives a pack wider than
what they may see. Communes without a recipient are skipped before any pack is built (packs are costly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from motcua import metrics
from motcua.auth import User, restrict_scope
from motcua.filters import Scope
from motcua.periods import Period
from motcua.report.data import collect, period_sentence
from motcua.report.images import ChartRenderer
from motcua.report.pack import Pack, batch_units, pack_from_data, render_charts

DOCX_MIME = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PackMail:
    unit_code: str
    unit_name: str
    recipient: User
    pack: Pack


def commune_recipients(db, users, unit_code: str) -> list[User]:
    """Chairs with an e-mail whose scope contains the commune."""
    return [u for u in sorted(users, key=lambda u: u.username)
            if u.role == "chair" and u.email and unit_code in (u.allowed_unit_codes(db) or ())]


def pack_mails(db, users, period: Period, settings: metrics.Settings | None = None, scope: Scope | None = None,
               *, with_charts: bool = True, progress: Progress | None = None,
               skipped: list[str] | None = None) -> Iterator[PackMail]:
    """One ``PackMail`` per (commune, recipient); communes without a recipient are appended to ``skipped``."""
    settings = settings or metrics.Settings()
    league = batch_units(db, scope or Scope(), period, settings)
    targets = []
    for record in league.sort_values("key").to_dict("records"):
        code, name = str(record["key"]), str(record["label"])
        receivers = commune_recipients(db, users, code)
        if receivers:
            targets.append((code, name, receivers))
        elif skipped is not None:
            skipped.append(name)
    with ChartRenderer(with_charts) as renderer:
        for done, (code, name, receivers) in enumerate(targets, start=1):
            for user in receivers:  # the scope check the dashboard makes, per recipient
                if restrict_scope(Scope(unit_codes=(code,)), user, db).unit_codes != (code,):
                    raise PermissionError(f"{user.username} không được xem {name}")
            data = collect(db, Scope(unit_codes=(code,)), period, settings, allow_empty=True)
            pack = pack_from_data(data, *render_charts(data, renderer))
            for user in receivers:
                yield PackMail(code, name, user, pack)
            if progress:
                progress(done, len(targets), name)


def pack_message(mail: PackMail, sender: str) -> EmailMessage:
    """Vietnamese cover note with the pack's xlsx (Biểu 06) and docx (draft report) attached."""
    data = mail.pack.data
    message = EmailMessage()
    message["Subject"] = f"[Một Cửa KPI] Bộ báo cáo {data.period.label} – {mail.unit_name}"
    message["From"] = sender
    message["To"] = formataddr((mail.recipient.display_name or mail.recipient.username, mail.recipient.email))
    message["Message-ID"] = make_msgid(domain="motcua-kpi")
    message.set_content(
        f"Kính gửi {mail.recipient.display_name or mail.recipient.username},\n\n"
        f"Gửi kèm bộ báo cáo của {mail.unit_name}, {period_sentence(data.period)}:\n"
        f"  - {mail.pack.stem}.xlsx: Biểu 06 (số liệu);\n"
        f"  - {mail.pack.stem}.docx: dự thảo báo cáo (cần rà soát, ký trước khi ban hành).\n\n"
        "Thư gửi tự động từ Một Cửa KPI, xin không trả lời.\n")
    for name, content in mail.pack.files.items():
        mime = XLSX_MIME if name.endswith(".xlsx") else DOCX_MIME
        message.add_attachment(content, maintype=mime[0], subtype=mime[1], filename=name)
    return message

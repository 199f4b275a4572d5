"""`motcua audit`: read (and verify) the append-only audit log kept beside the database."""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime, time, timedelta

import click

from cli.common import EXIT_FAILED, db_option, fail
from motcua import audit


def cli_user(explicit: str | None = None) -> str:
    """Who runs a command: ``--user`` when given, else the operating-system account."""
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "?"


def record_cli(action: str, target: str, units, detail: str, user: str | None = None, db_path=None) -> None:
    audit.record_quietly(audit.Event(action, cli_user(user), target, list(units), detail, via="cli"), db_path)


def _day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    fail(f"{option} '{text}' không phải ngày (dd/mm/yyyy hoặc yyyy-mm-dd).")


@click.command("audit")
@db_option
@click.option("--user", "users", multiple=True, help="Chỉ người dùng này (lặp lại được).")
@click.option("--action", "actions", multiple=True, type=click.Choice(list(audit.ACTIONS)),
              help="Chỉ thao tác này (lặp lại được): " + ", ".join(f"{k} = {v}" for k, v in audit.ACTIONS.items()))
@click.option("--unit", "units", multiple=True, help="Chỉ các sự kiện liên quan đến mã đơn vị này.")
@click.option("--since", default=None, help="Từ ngày (dd/mm/yyyy).")
@click.option("--until", default=None, help="Đến hết ngày (dd/mm/yyyy).")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True, help="Số sự kiện mới nhất.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON (mỗi dòng một sự kiện).")
@click.option("--verify", is_flag=True, help="Kiểm tra chuỗi băm: báo dòng nào đã bị sửa, xoá hoặc chèn.")
def audit_command(db_path, users, actions, units, since, until, limit, as_json, verify) -> None:
    """Nhật ký truy cập: ai đăng nhập, nạp tệp nào, tải bảng hay báo cáo nào, của đơn vị nào."""
    path = audit.audit_path(db_path)
    try:
        if verify:
            problems = audit.verify(db_path)
            for problem in problems:
                click.echo(problem)
            if problems:
                fail(f"Nhật ký {path} đã bị thay đổi ({len(problems)} chỗ).", EXIT_FAILED)
            click.echo(f"Nhật ký {path} nguyên vẹn.")
            return
        start, end = _day(since, "--since"), _day(until, "--until")
        where = audit.Filter(users=users, actions=actions, units=units,
                             since=datetime.combine(start, time.min) if start else None,
                             until=datetime.combine(end + timedelta(days=1), time.min) if end else None)
        events = audit.read(db_path, where, limit=limit)
    except audit.AuditError as exc:
        fail(str(exc), EXIT_FAILED)
    for event in events:
        if as_json:
            click.echo(json.dumps(event, ensure_ascii=False))
            continue
        at = datetime.fromisoformat(event["at"]).strftime("%d/%m/%Y %H:%M:%S")
        label = audit.ACTIONS.get(event["action"], event["action"])
        target = f" {event['target']}" if event.get("target") else ""
        click.echo(f"{at}  {event['user']:<16} {label:<22}{target} · {audit.describe_units(event.get('units', []))}"
                   + (f" · {event['detail']}" if event.get("detail") else "") + f" ({event.get('via', '')})")
    if not as_json:
        click.echo(f"{len(events)} sự kiện ({path}).")

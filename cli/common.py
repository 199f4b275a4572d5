"""What every `motcua` command shares: one error path, one exit-code table, the --db option and the
definition settings generated from ``motcua.settings.SETTINGS``."""

from __future__ import annotations

from collections.abc import Callable

import click

from motcua import db as dbmod
from motcua import units as unitsmod
from motcua.settings import SETTINGS, Settings

# Exit codes (tests assert them exactly).
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran but did not succeed (e.g. no row of an import could be loaded)
EXIT_BAD_INPUT = 2  # unknown unit, bad period, missing database, wrong options
EXIT_EMPTY = 3  # nothing to report (no dossier in the period)

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=None,
    help="Tệp cơ sở dữ liệu DuckDB (mặc định: biến MOTCUA_DB hoặc data/motcua.duckdb).",
)


def fail(message: str, code: int = EXIT_BAD_INPUT):
    """Print 'Lỗi: …' on stderr and exit with ``code``; the one error path of every command."""
    click.echo(f"Lỗi: {message}", err=True)
    raise click.exceptions.Exit(code)


def _option_for(spec) -> Callable:
    if spec.kind == "int":
        kind = click.IntRange(0, spec.maximum)
    elif spec.kind == "multi":
        kind = str
    else:
        kind = click.Choice(list(spec.choices))
    default = spec.format(spec.default) if spec.kind == "multi" else spec.default
    return click.option(spec.cli_flag, spec.name, type=kind, default=default, show_default=True,
                        help=f"{spec.help or spec.label} Căn cứ: {spec.source}.")


def settings_options(defaults: dict | None = None, exclude: tuple[str, ...] = ()) -> Callable:
    """Decorator adding one option per setting; the command receives ``settings`` (a ``Settings``).

    ``defaults`` overrides a spec's default for this command (``motcua report`` uses the legal report
    calendar)."""
    overrides = defaults or {}

    def decorate(command):
        def wrapper(*args, **kwargs):
            values = {spec.name: kwargs.pop(spec.name) for spec in SETTINGS
                      if spec.name in kwargs and spec.name not in exclude}
            try:
                kwargs["settings"] = Settings(**values)
            except ValueError as exc:
                fail(str(exc))
            return command(*args, **kwargs)

        wrapper.__name__ = command.__name__
        wrapper.__doc__ = command.__doc__
        for spec in reversed(SETTINGS):
            if spec.name in exclude:
                continue
            if spec.name in overrides:
                spec = _with_default(spec, overrides[spec.name])
            wrapper = _option_for(spec)(wrapper)
        return wrapper

    return decorate


def _with_default(spec, default):
    import dataclasses

    return dataclasses.replace(spec, default=default)


def open_cursor(database: dbmod.Database):
    """A read cursor, or the CLI's missing-database error."""
    try:
        return database.cursor()
    except dbmod.DatabaseUnavailable as exc:
        fail(str(exc))


def resolve_units(database: dbmod.Database, names: tuple[str, ...]) -> tuple[str, ...]:
    """Unit codes for names/codes given on the command line (an unknown or ambiguous name fails)."""
    cur = open_cursor(database)
    try:
        codes = []
        for name in names:
            try:
                codes.append(unitsmod.resolve_unit(cur, name).code)
            except unitsmod.UnitError as exc:
                fail(str(exc))
        return tuple(dict.fromkeys(codes))
    finally:
        cur.close()


def resolve_unit(database: dbmod.Database, text: str) -> unitsmod.Unit:
    cur = open_cursor(database)
    try:
        return unitsmod.resolve_unit(cur, text)
    except unitsmod.UnitError as exc:
        fail(str(exc))
    finally:
        cur.close()


def mail_setup(config_dir, what: str):
    """(service config, users) for a command that sends mail; ``what`` names what it would send."""
    from motcua import auth
    from motcua.service_config import ServiceConfigError, apply_config_dir, load_service_config

    directory = apply_config_dir(config_dir)
    try:
        config = load_service_config(directory)
        users = auth.load_users()
    except (ServiceConfigError, auth.AuthConfigError) as exc:
        fail(str(exc))
    if users is None:
        fail(f"Chưa có tệp người dùng (users.toml): không biết gửi {what} cho ai.")
    return config, users


DEFAULT_SENDER = "Một Cửa KPI <motcua-kpi@localhost>"


def deliver_mail(messages, smtp, dry_run_dir: str | None, sent_text: str) -> list[tuple[str, str]]:
    """Write the messages as .eml files into ``dry_run_dir``, or send them over ``smtp``; say what happened
    ("Đã gửi N <sent_text>") and return the (address, reason) of those that could not be sent."""
    from pathlib import Path

    from cli.mailer import MailError, send_all, write_eml

    if dry_run_dir:
        for path in write_eml(messages, Path(dry_run_dir)):
            click.echo(f"Đã ghi {path}")
        return []
    try:
        report = send_all(messages, smtp)
    except MailError as exc:
        fail(str(exc), EXIT_FAILED)
    click.echo(f"Đã gửi {len(report.sent)} {sent_text}")
    for address, reason in report.failed:
        click.echo(f"Không gửi được tới {address}: {reason}", err=True)
    return report.failed

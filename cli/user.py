"""`motcua user add/list/remove/passwd`: manage the users file (config/users.toml)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator

import click

from motcua import auth
from motcua import db as dbmod
from motcua import units as unitsmod

users_option = click.option(
    "--users", "users_file", type=click.Path(dir_okay=False), default=None,
    help=f"Tệp người dùng (mặc định: biến {auth.USERS_ENV} hoặc {auth.DEFAULT_USERS_PATH}).",
)
db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=None,
    help="Cơ sở dữ liệu dùng để tra tên đơn vị (mặc định: MOTCUA_DB; không có thì dùng danh mục 2025).",
)


@click.group("user")
def user_group() -> None:
    """Quản lý người dùng và quyền xem (admin, officer, chair)."""


@contextlib.contextmanager
def _unit_lookup(db_path) -> Iterator:
    """A cursor on the published database when there is one (it knows legacy units too), else the catalogue."""
    database = dbmod.Database(db_path)
    try:
        cur = database.cursor()
    except dbmod.DatabaseUnavailable:
        cur = dbmod.connect_memory()
        unitsmod.seed_units(cur)
    try:
        yield cur
    finally:
        cur.close()


def _load_directory(users_file) -> auth.UserDirectory:
    path = auth.users_path(users_file)
    try:
        directory = auth.load_users(path) if path.exists() else None
    except auth.AuthConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return directory or auth.UserDirectory(path=path, users={})


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    try:
        auth.check_password_strength(password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return password


def _resolve_units(db_path, role: str, entries: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Entries -> unit codes (stored) and code -> label (written as comments next to the codes)."""
    if role == "admin":
        if entries:
            click.echo("Lưu ý: quản trị viên xem mọi đơn vị, bỏ qua --unit.", err=True)
        return (), {}
    if not entries:
        raise click.UsageError(f"Vai trò '{role}' cần ít nhất một --unit (mã hoặc tên xã/phường"
                               f"{', hoặc mã/tên tỉnh' if role == 'officer' else ''}).")
    codes, labels = [], {}
    with _unit_lookup(db_path) as cur:
        for entry in entries:
            try:
                unit = auth.resolve_unit_entry(cur, entry, role)
            except unitsmod.UnitError as exc:
                raise click.ClickException(str(exc)) from exc
            codes.append(unit.code)
            labels[unit.code] = unit.label + (" – cả tỉnh" if unit.level == "province" else "")
    return tuple(dict.fromkeys(codes)), labels


def _existing_labels(db_path, directory: auth.UserDirectory) -> dict[str, str]:
    """Labels for the units already in the file, so rewriting it keeps the name comments."""
    labels = {}
    with _unit_lookup(db_path) as cur:
        for user in directory.users.values():
            for entry in user.units:
                with contextlib.suppress(unitsmod.UnitError):
                    unit = auth.resolve_unit_entry(cur, entry, user.role)
                    labels[entry] = unit.label + (" – cả tỉnh" if unit.level == "province" else "")
    return labels


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(auth.ROLES), required=True, help="Vai trò.")
@click.option("--unit", "unit_entries", multiple=True,
              help="Đơn vị được xem (lặp lại được): mã/tên xã, phường; cán bộ (officer) có thể ghi mã/tên tỉnh.")
@click.option("--display-name", default="", help="Tên hiển thị.")
@click.option("--email", default="", help="E-mail dùng khi đăng nhập OIDC (st.login).")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ dòng đầu của stdin (cho script).")
@click.option("--no-password", is_flag=True, help="Không đặt mật khẩu (chỉ đăng nhập OIDC; cần --email).")
@click.option("--replace", is_flag=True, help="Ghi đè người dùng đã có.")
@users_option
@db_option
def add_command(username, role, unit_entries, display_name, email, password_stdin, no_password, replace,
                users_file, db_path) -> None:
    """Thêm người dùng (mật khẩu chỉ lưu dạng băm argon2)."""
    name = auth.normalize_username(username)
    if not auth.USERNAME_RE.fullmatch(name):
        raise click.UsageError("Tên đăng nhập chỉ gồm chữ thường không dấu, số, '.', '_', '-' (2–64 ký tự).")
    directory = _load_directory(users_file)
    if name in directory.users and not replace:
        raise click.ClickException(f"Người dùng '{name}' đã có; dùng --replace để ghi đè.")
    if no_password and not email:
        raise click.UsageError("--no-password cần --email để đăng nhập qua OIDC.")
    codes, labels = _resolve_units(db_path, role, tuple(unit_entries))
    password_hash = "" if no_password else auth.hash_password(_read_password(password_stdin))
    directory.users[name] = auth.User(username=name, role=role, units=codes, display_name=display_name,
                                      email=email.strip(), password_hash=password_hash)
    auth.save_users(directory, {**_existing_labels(db_path, directory), **labels})
    click.echo(f"Đã lưu người dùng '{name}' ({auth.ROLE_LABELS[role]}) vào {directory.path}.")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ dòng đầu của stdin.")
@users_option
@db_option
def passwd_command(username, password_stdin, users_file, db_path) -> None:
    """Đặt lại mật khẩu của một người dùng."""
    directory = _load_directory(users_file)
    user = directory.get(username)
    if user is None:
        raise click.ClickException(f"Không có người dùng '{username}'.")
    new_hash = auth.hash_password(_read_password(password_stdin))
    directory.users[user.username] = auth.User(**{**user.__dict__, "password_hash": new_hash})
    auth.save_users(directory, _existing_labels(db_path, directory))
    click.echo(f"Đã đổi mật khẩu của '{user.username}'.")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@users_option
@db_option
def list_command(as_json, users_file, db_path) -> None:
    """Liệt kê người dùng (không bao giờ in mật khẩu hay chuỗi băm)."""
    path = auth.users_path(users_file)
    directory = _load_directory(users_file)
    with _unit_lookup(db_path) as cur:  # the names an admin granted, not only the codes stored
        rows = [{"username": u.username, "role": u.role, "units": list(u.units),
                 "unit_labels": auth.unit_labels(cur, u), "display_name": u.display_name,
                 "email": u.email, "has_password": bool(u.password_hash)}
                for u in sorted(directory.users.values(), key=lambda u: u.username)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo(f"Chưa có người dùng nào ({path} không có) – ứng dụng chạy ở chế độ demo (không đăng nhập).")
        return
    for row in rows:
        units = "; ".join(row["unit_labels"]) if row["units"] else "tất cả đơn vị"
        login = "mật khẩu" if row["has_password"] else "chỉ OIDC"
        click.echo(f"{row['username']:<24} {row['role']:<8} {login:<9} {units}")
    click.echo(f"Tổng: {len(rows)} người dùng ({path})")


@user_group.command("remove")
@click.argument("username")
@users_option
@db_option
def remove_command(username, users_file, db_path) -> None:
    """Xoá người dùng (và ánh xạ e-mail OIDC của họ)."""
    directory = _load_directory(users_file)
    user = directory.get(username)
    if user is None:
        raise click.ClickException(f"Không có người dùng '{username}'.")
    del directory.users[user.username]
    directory.oidc_emails = {e: n for e, n in directory.oidc_emails.items() if n != user.username}
    auth.save_users(directory, _existing_labels(db_path, directory))
    click.echo(f"Đã xoá người dùng '{user.username}'.")
    if not directory.users:
        click.echo(f"Không còn người dùng nào nên không ai đăng nhập được; xoá {directory.path} để quay về "
                   "chế độ demo.", err=True)

"""Users, roles and the query-layer scope check (plain Python, no Streamlit).

Users live in a TOML file (env ``MOTCUA_USERS``, default ``config/users.toml``; see
``config/users.example.toml``). Roles:

- ``admin``: imports, deletes, sees every unit;
- ``officer``: sees a set of units (commune codes/names, or a province code/name meaning all its communes);
- ``chair``: sees their own commune(s) only.

Without a users file the tool runs in an explicit local demo mode (everyone is a demo admin), unless
``MOTCUA_REQUIRE_LOGIN=1`` is set, in which case the missing file is an error. A users file that cannot be
read is *always* an error: a broken file must never silently open the tool to everyone.

``restrict_scope`` / ``restrict_unit_codes`` are what the dashboard, exports and reports call before any
query: they intersect the requested units with the allowed ones, so URL parameters, cached filters or
hand-made requests can only ever narrow what a user sees.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from motcua.text import nfc

USERS_ENV = "MOTCUA_USERS"
REQUIRE_LOGIN_ENV = "MOTCUA_REQUIRE_LOGIN"
DEFAULT_USERS_PATH = Path("config/users.toml")
ROLES = ("admin", "officer", "chair")
ROLE_LABELS = {"admin": "Quản trị viên", "officer": "Cán bộ theo dõi", "chair": "Chủ tịch UBND xã/phường"}
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL_RE = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
MIN_PASSWORD_LENGTH = 10

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so a wrong name costs as much time as a wrong password.
    Made on first use, not at import: argon2 costs ~0.18 s, which every CLI command and dashboard start paid."""
    return _HASHER.hash("motcua-dummy-password-for-timing")


class AuthConfigError(ValueError):
    """The users file is unreadable or invalid; the message is Vietnamese, for the admin."""


class AccessDenied(PermissionError):
    """The user may not see anything of what was asked; the message is Vietnamese."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    units: tuple[str, ...] = ()  # as written in the file: codes or names, province codes for officers
    display_name: str = ""
    email: str = ""
    password_hash: str = field(default="", repr=False, compare=False)
    demo: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_import(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        name = self.display_name or self.username
        suffix = " – chế độ demo" if self.demo else ""
        return f"{name} ({ROLE_LABELS.get(self.role, self.role)}{suffix})"

    def allowed_unit_codes(self, db) -> tuple[str, ...] | None:
        """Unit codes this user may see (None = all, admin). ``db`` is a ``Database`` or a connection."""
        if self.is_admin:
            return None
        return _cached_allowed_codes(self, db)


# The demo user of a local installation without a users file.
DEMO_USER = User(username="demo", role="admin", display_name="Người dùng demo", demo=True)


@dataclass
class UserDirectory:
    path: Path
    users: dict[str, User]
    oidc_emails: dict[str, str] = field(default_factory=dict)  # lower-case e-mail -> username

    def get(self, username: str) -> User | None:
        return self.users.get(normalize_username(username))

    def user_for_email(self, email: str) -> User | None:
        """The user an OIDC identity maps to: ``[oidc.emails]`` first, then a user's own ``email``."""
        key = (email or "").strip().lower()
        if not key:
            return None
        if key in self.oidc_emails:
            return self.users.get(self.oidc_emails[key])
        matches = [u for u in self.users.values() if u.email and u.email.lower() == key]
        return matches[0] if len(matches) == 1 else None


# --------------------------------------------------------------------------------------------- file


def users_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path) if path is not None else Path(os.environ.get(USERS_ENV) or DEFAULT_USERS_PATH)


def login_required() -> bool:
    return os.environ.get(REQUIRE_LOGIN_ENV, "").strip().lower() in ("1", "true", "yes")


def is_demo_mode(path: str | os.PathLike | None = None) -> bool:
    """True when no users file exists and login is not required: the app shows a demo banner."""
    return not users_path(path).exists() and not login_required()


def normalize_username(name: str) -> str:
    return nfc(name).lower()


def load_users(path: str | os.PathLike | None = None) -> UserDirectory | None:
    """The users file, or None in demo mode. Raises ``AuthConfigError`` on any problem (fail closed)."""
    target = users_path(path)
    if not target.exists():
        if login_required():
            raise AuthConfigError(
                f"Chưa có tệp người dùng '{target}' nhưng {REQUIRE_LOGIN_ENV}=1 yêu cầu đăng nhập. "
                "Quản trị viên hãy tạo người dùng bằng lệnh `motcua user add TÊN --role admin`."
            )
        return None
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AuthConfigError(f"Không đọc được tệp người dùng '{target}': {exc}") from exc
    return _parse_directory(target, data)


def _parse_directory(target: Path, data: dict) -> UserDirectory:
    raw_users = data.get("users", {})
    if not isinstance(raw_users, dict):
        raise AuthConfigError(f"Tệp '{target}': mục [users] phải là một bảng (ví dụ [users.ten_dang_nhap]).")
    users = {}
    for name, entry in raw_users.items():
        user = _parse_user(target, name, entry)
        users[user.username] = user
    oidc = data.get("oidc", {})
    emails = oidc.get("emails", {}) if isinstance(oidc, dict) else None
    if not isinstance(emails, dict) or not all(isinstance(v, str) for v in emails.values()):
        raise AuthConfigError(f"Tệp '{target}': mục [oidc.emails] phải có dạng \"email\" = \"ten_dang_nhap\".")
    mapping = {email.strip().lower(): normalize_username(name) for email, name in emails.items()}
    unknown = sorted(set(mapping.values()) - set(users))
    if unknown:
        raise AuthConfigError(f"Tệp '{target}': [oidc.emails] trỏ tới người dùng không tồn tại: {', '.join(unknown)}.")
    return UserDirectory(path=target, users=users, oidc_emails=mapping)


def _parse_user(target: Path, name: str, entry) -> User:
    where = f"Tệp '{target}', người dùng '{name}'"
    if not isinstance(entry, dict):
        raise AuthConfigError(f"{where}: phải là một bảng [users.{name}].")
    username = normalize_username(name)
    if not USERNAME_RE.fullmatch(username):
        raise AuthConfigError(f"{where}: tên đăng nhập chỉ gồm chữ thường không dấu, số, '.', '_', '-' (2–64 ký tự).")
    role = entry.get("role")
    if role not in ROLES:
        raise AuthConfigError(f"{where}: vai trò '{role}' không hợp lệ (chọn một trong: {', '.join(ROLES)}).")
    units = entry.get("units", [])
    if not isinstance(units, list) or not all(isinstance(u, str) and u.strip() for u in units):
        raise AuthConfigError(f"{where}: 'units' phải là danh sách mã hoặc tên đơn vị.")
    if role != "admin" and not units:
        raise AuthConfigError(f"{where}: vai trò '{role}' cần ít nhất một đơn vị trong 'units'.")
    if "password" in entry:
        raise AuthConfigError(f"{where}: không được ghi mật khẩu rõ ('password'); dùng `motcua user passwd {name}`.")
    email = str(entry.get("email", "")).strip()
    if email and not EMAIL_RE.fullmatch(email):  # also keeps line breaks out of the digest's To: header
        raise AuthConfigError(f"{where}: 'email' không phải địa chỉ thư hợp lệ ('{email}').")
    password_hash = entry.get("password_hash", "")
    if not isinstance(password_hash, str) or (password_hash and not password_hash.startswith("$argon2")):
        raise AuthConfigError(f"{where}: 'password_hash' phải là chuỗi băm argon2 (tạo bằng `motcua user add`).")
    return User(
        username=username,
        role=role,
        units=tuple(nfc(u) for u in units),
        display_name=nfc(entry.get("display_name", "")),
        email=email,
        password_hash=password_hash,
    )


def _toml_string(value: str) -> str:
    # JSON string escapes (\", \\, \n, \uXXXX) are all valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def render_users_toml(directory: UserDirectory, unit_labels: dict[str, str] | None = None) -> str:
    """Serialise the directory (the CLI rewrites the whole file; comments on units show their names)."""
    unit_labels = unit_labels or {}
    lines = [
        "# Người dùng của Một Cửa KPI. Tệp do lệnh `motcua user add/remove` ghi; xem config/users.example.toml.",
        "# Mật khẩu chỉ lưu dạng băm argon2 (không bao giờ lưu mật khẩu rõ).",
        "",
    ]
    for user in sorted(directory.users.values(), key=lambda u: u.username):
        lines.append(f"[users.{_toml_string(user.username)}]")
        lines.append(f"role = {_toml_string(user.role)}")
        if user.display_name:
            lines.append(f"display_name = {_toml_string(user.display_name)}")
        if user.email:
            lines.append(f"email = {_toml_string(user.email)}")
        if user.units:
            lines.append("units = [")
            for unit in user.units:
                label = unit_labels.get(unit, "").replace("\n", " ")
                lines.append(f"  {_toml_string(unit)},{f'  # {label}' if label else ''}")
            lines.append("]")
        if user.password_hash:
            lines.append(f"password_hash = {_toml_string(user.password_hash)}")
        lines.append("")
    if directory.oidc_emails:
        lines.append("[oidc.emails]")
        for email, username in sorted(directory.oidc_emails.items()):
            lines.append(f"{_toml_string(email)} = {_toml_string(username)}")
        lines.append("")
    return "\n".join(lines)


def save_users(directory: UserDirectory, unit_labels: dict[str, str] | None = None) -> None:
    """Write atomically with mode 0600 (the file holds password hashes)."""
    text = render_users_toml(directory, unit_labels)
    tomllib.loads(text)  # never publish a file we could not read back
    directory.path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=directory.path.name + ".", suffix=".tmp", dir=directory.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, directory.path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


# ---------------------------------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    if password.strip() != password:
        raise ValueError("Mật khẩu không được bắt đầu hoặc kết thúc bằng khoảng trắng.")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class ThrottleRule:
    """``free`` failures cost nothing; then each failure doubles the wait before the next attempt,
    from ``base`` seconds up to ``cap``. Failures older than the throttle's window are forgotten."""

    free: int
    base: float
    cap: float

    def delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** min(failures - self.free - 1, 30))


class LoginThrottle:
    """Progressive delay after failed logins (in memory, per server process), never a hard lock.

    Three counters: the account from one source address (a guesser at one account), the source address
    over all accounts (one password tried against 40 names) and the account over all addresses (a
    distributed guesser; its short cap means a stranger can slow ``admin`` down by at most ``cap``
    seconds per attempt, not lock them out). An attempt during a wait is refused without verifying the
    password, so it costs no argon2 work and does not lengthen the wait.
    """

    def __init__(self, *, per_account_address: ThrottleRule = ThrottleRule(3, 1.0, 300.0),
                 per_address: ThrottleRule = ThrottleRule(10, 1.0, 300.0),
                 per_account: ThrottleRule = ThrottleRule(20, 1.0, 30.0),
                 window_seconds: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.rules = {"pair": per_account_address, "address": per_address, "account": per_account}
        self.window, self._clock = window_seconds, clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> dict[str, tuple[str, str]]:
        name, source = normalize_username(username or ""), (address or "?").strip().lower()
        return {"pair": ("pair", f"{name}\0{source}"), "address": ("address", source), "account": ("account", name)}

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        stamps = [t for t in self._failures.get(key, []) if now - t < self.window]
        if stamps:
            self._failures[key] = stamps
        else:
            self._failures.pop(key, None)
        return stamps

    def retry_after(self, username: str, address: str | None = None) -> float:
        """Seconds to wait before the next attempt for this account from this address (0: may try now)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for kind, key in self._keys(username, address).items():
                stamps = self._recent(key, now)
                if stamps:
                    wait = max(wait, stamps[-1] + self.rules[kind].delay(len(stamps)) - now)
        return max(wait, 0.0)

    def blocked(self, username: str, address: str | None = None) -> bool:
        return self.retry_after(username, address) > 0

    def record(self, username: str, success: bool, address: str | None = None) -> None:
        keys = self._keys(username, address)
        now = self._clock()
        with self._lock:
            if success:  # the address's count stays: it may be guessing other accounts
                self._failures.pop(keys["pair"], None)
                self._failures.pop(keys["account"], None)
                return
            for key in keys.values():
                self._failures[key] = [*self._recent(key, now), now]
            if len(self._failures) > 100_000:  # bounded memory under a flood of random names/addresses
                for key in list(self._failures):
                    self._recent(key, now)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


THROTTLE = LoginThrottle()

# argon2id uses 64 MB and a core per verification: 32 simultaneous logins took 2 GB and 9 s. At most this
# many run at once; the others wait their turn (up to VERIFY_WAIT_SECONDS, then a "busy" message).
MAX_CONCURRENT_VERIFICATIONS = 2
VERIFY_WAIT_SECONDS = 20.0
_VERIFY_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_VERIFICATIONS)


class LoginBusy(RuntimeError):
    """Too many sign-ins are being checked at this moment; the message is Vietnamese."""


def _verify_bounded(password_hash: str, password: str) -> bool:
    if not _VERIFY_SLOTS.acquire(timeout=VERIFY_WAIT_SECONDS):
        raise LoginBusy("Máy chủ đang kiểm tra nhiều lượt đăng nhập cùng lúc; hãy thử lại sau ít giây.")
    try:
        return verify_password(password_hash, password)
    finally:
        _VERIFY_SLOTS.release()


def authenticate(username: str, password: str, directory: UserDirectory | None = None,
                 throttle: LoginThrottle | None = THROTTLE, address: str | None = None) -> User | None:
    """The user when the password matches, else None (same work whether or not the name exists).

    ``directory`` defaults to ``load_users()``; in demo mode (no users file) nobody can log in.
    ``address`` is the client's address (throttled separately from the account). During a throttle wait
    the attempt is refused without checking the password. Raises ``LoginBusy`` when the server cannot
    check it in time.
    """
    if directory is None:
        directory = load_users()
    if directory is None or not username or not password:
        return None
    if throttle is not None and throttle.blocked(username, address):
        return None
    user = directory.get(username)
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = _verify_bounded(stored, password) and user is not None and bool(user.password_hash)
    if throttle is not None:
        throttle.record(username, ok, address)
    return user if ok else None


# ------------------------------------------------------------------------------------ unit scopes


def _cursor(db):
    """A fresh cursor on a ``Database`` or a DuckDB connection (never share one across threads)."""
    return db.cursor()


_ALLOWED_CACHE: dict[tuple, tuple[str, ...]] = {}
_ALLOWED_LOCK = threading.Lock()


def _resolve_on(db, user: User) -> tuple[str, ...]:
    cur = _cursor(db)
    try:
        return resolve_allowed_codes(cur, user.role, user.units)
    finally:
        cur.close()


def _cached_allowed_codes(user: User, db) -> tuple[str, ...]:
    """Cached per published database version (a ``Database``); plain connections are resolved each time."""
    version = getattr(db, "version", None)
    if not callable(version):
        return _resolve_on(db, user)
    key = (user.username, user.role, user.units, str(db.path), version())
    with _ALLOWED_LOCK:
        cached = _ALLOWED_CACHE.get(key)
    if cached is not None:
        return cached
    codes = _resolve_on(db, user)
    with _ALLOWED_LOCK:
        if len(_ALLOWED_CACHE) > 512:
            _ALLOWED_CACHE.clear()
        _ALLOWED_CACHE[key] = codes
    return codes


def resolve_unit_entry(con, entry: str, role: str):
    """One ``units`` entry -> the ``motcua.units.Unit`` it names (province allowed for officers only)."""
    from motcua import units as unitsmod

    text = nfc(entry).strip()
    if role == "officer":  # "31", "1", "TP Hải Phòng", "Tỉnh Lào Cai": a whole province
        row = con.execute("SELECT code FROM units WHERE level = 'province' AND (code = ? OR fold_name = ?)",
                          [province_code_of(text), unitsmod._province_key(text)]).fetchone()
        if row:
            return _unit_by_code(con, row[0])
    unit = unitsmod.resolve_unit(con, text)  # raises UnitError (Vietnamese) when unknown/ambiguous
    if unit.level == "province" and role != "officer":
        raise unitsmod.UnitError(f"Vai trò '{role}' chỉ được gán xã/phường, không gán cả tỉnh ('{entry}').")
    return unit


def province_code_of(text: str) -> str | None:
    """'1' / '01' -> '01'; anything else (a 5-digit commune code such as '11140') -> None.

    Never truncate: SQL ``lpad('11140', 2, '0')`` is ``'11'``, which turned commune codes into provinces.
    """
    return text.zfill(2) if text.isascii() and text.isdigit() and len(text) <= 2 else None


def unit_labels(con, user: User) -> list[str]:
    """What was granted, in words ('Xã Tứ Kỳ, Thành phố Hải Phòng (mã 11074)', '… – cả tỉnh'):
    shown by ``motcua user list`` and in the dashboard sidebar so an admin sees what a code means."""
    from motcua import units as unitsmod

    labels = []
    for entry in user.units:
        try:
            unit = resolve_unit_entry(con, entry, user.role)
        except unitsmod.UnitError:
            labels.append(f"{entry} (không tìm thấy đơn vị)")
            continue
        labels.append(unit.label + (" – cả tỉnh" if unit.level == "province" else ""))
    return labels


def _unit_by_code(con, code: str):
    from motcua import units as unitsmod

    return unitsmod.resolve_unit(con, code)


def resolve_allowed_codes(con, role: str, entries: Sequence[str]) -> tuple[str, ...]:
    """Commune codes for the entries: provinces expand to their communes; merged legacy units follow
    their successor. Unknown entries raise (fail closed) instead of silently granting nothing/all."""
    from motcua import units as unitsmod

    codes: set[str] = set()
    for entry in entries:
        try:
            unit = resolve_unit_entry(con, entry, role)
        except unitsmod.UnitError as exc:
            raise AccessDenied(f"Cấu hình quyền của người dùng có đơn vị không hợp lệ: {exc}") from exc
        if unit.level == "province":
            rows = con.execute("SELECT code FROM units WHERE province_code = ? AND level = 'commune'",
                               [unit.code]).fetchall()
            codes.update(r[0] for r in rows)
        else:
            codes.add(unit.code)
    if codes:
        rows = con.execute("SELECT code FROM units WHERE successor_code IN (SELECT unnest(?))",
                           [sorted(codes)]).fetchall()
        codes.update(r[0] for r in rows)
    if not codes:
        raise AccessDenied("Tài khoản chưa được gán đơn vị nào; hãy liên hệ quản trị viên.")
    return tuple(sorted(codes))


def restrict_unit_codes(requested: Iterable[str] | None, user: User, db) -> tuple[str, ...] | None:
    """The units a query may touch: requested ∩ allowed.

    None = no restriction (admin asking for everything). An empty request means "all allowed"; a request
    containing only forbidden units yields all allowed units (never the forbidden data, never an empty
    tuple that a caller could mistake for "no filter").
    """
    wanted = tuple(dict.fromkeys(nfc(c) for c in (requested or ()) if nfc(c)))
    allowed = user.allowed_unit_codes(db)
    if allowed is None:
        return wanted or None
    kept = tuple(c for c in wanted if c in set(allowed))
    return kept or _default_view(allowed, db)


def _default_view(allowed: tuple[str, ...], db) -> tuple[str, ...]:
    """The allowed units without the legacy ones whose successor is allowed too: under the current
    boundaries the successor includes their dossiers, and a chair's view stays one commune. They remain
    allowed when asked for explicitly (their own recorded data)."""
    from motcua.db import query_df

    frame = query_df(db, "SELECT code FROM units WHERE code IN (SELECT unnest(?)) AND NOT in_catalogue "
                         "AND successor_code IN (SELECT unnest(?))", [list(allowed), list(allowed)])
    covered = set(frame["code"])
    return tuple(c for c in allowed if c not in covered) or allowed


def can_see_unit(user: User, db, unit_code: str) -> bool:
    allowed = user.allowed_unit_codes(db)
    return allowed is None or nfc(unit_code) in allowed


def restrict_scope(scope, user: User, db):
    """A copy of ``scope`` (``motcua.filters.Scope``) whose ``unit_codes`` are cut down to what ``user``
    may see. For non-admins the result always names units explicitly (never the "all units" ``()``)."""
    restricted = restrict_unit_codes(scope.unit_codes, user, db)
    return dataclasses.replace(scope, unit_codes=() if restricted is None else restricted)


def require_admin(user: User | None, action: str = "thực hiện thao tác này") -> None:
    """Imports, deletes and user management are admin-only (checked in the library, not just the UI)."""
    if user is None or not user.is_admin:
        raise AccessDenied(f"Chỉ quản trị viên mới được {action}.")


def may_see_officer_names(user: User) -> bool:
    """Officials' names (handling officer) are shown only where the site stores them (``motcua.site``) and
    only to signed-in users (admins, and the unit's own chair and officers: every query is already cut
    to the user's units by ``restrict_scope``, so another unit's names never reach them)."""
    from motcua.site import load_site

    return load_site().store_officer_names and user.role in ("admin", "chair", "officer")

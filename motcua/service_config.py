"""Settings of the running service: the config directory and its ``motcua.toml`` (SMTP, digest, backup).

A province deploys one config directory (``--config-dir`` or ``$MOTCUA_CONFIG_DIR``, default ``config/``)
holding ``users.toml``, ``holiday_overrides.toml``, ``targets.toml``, ``site.toml`` and ``motcua.toml`` (see
``config/motcua.example.toml``). ``apply_config_dir`` points the library at the first two through their
environment variables (``targets.toml`` through ``$MOTCUA_TARGETS``), so every command and the Streamlit
process read the same files.

Secrets are never written in the file: the SMTP password comes from an environment variable
(``password_env``, e.g. set by a systemd ``EnvironmentFile``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from motcua.auth import USERS_ENV
from motcua.site import SITE_ENV
from motcua.workdays import OVERRIDES_ENV

CONFIG_DIR_ENV = "MOTCUA_CONFIG_DIR"
TARGETS_ENV = "MOTCUA_TARGETS"  # read by the dashboard (dashboard/state.py)
DEFAULT_CONFIG_DIR = Path("config")
SERVICE_FILE = "motcua.toml"
PERIOD_KINDS = ("month", "quarter")


class ServiceConfigError(ValueError):
    """``motcua.toml`` is unreadable or invalid; the message is Vietnamese and names file and key."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    starttls: bool = True  # STARTTLS on the submission port; plain SMTP only when explicitly turned off
    username: str = ""
    password_env: str = "MOTCUA_SMTP_PASSWORD"
    sender: str = ""
    ca_file: str = ""  # extra CA bundle (a province mail server signed by an internal CA)
    timeout: float = 30.0

    @property
    def password(self) -> str:
        return os.environ.get(self.password_env, "") if self.password_env else ""


@dataclass(frozen=True)
class DigestSettings:
    period: str = "quarter"  # headline KPIs of the current month or quarter
    max_rows: int = 50  # dossiers listed in the e-mail body; the xlsx attachment holds them all


@dataclass(frozen=True)
class ServiceConfig:
    directory: Path
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    backup_keep: int = 14


def config_dir(path: str | os.PathLike | None = None) -> Path:
    return Path(path) if path is not None else Path(os.environ.get(CONFIG_DIR_ENV) or DEFAULT_CONFIG_DIR)


def apply_config_dir(path: str | os.PathLike | None = None) -> Path:
    """Export ``$MOTCUA_CONFIG_DIR`` and, when the files exist and no variable overrides them, the users and
    holiday-override paths of that directory. Returns the absolute directory."""
    directory = config_dir(path).resolve()
    os.environ[CONFIG_DIR_ENV] = str(directory)
    for variable, name in ((USERS_ENV, "users.toml"), (OVERRIDES_ENV, "holiday_overrides.toml"),
                           (TARGETS_ENV, "targets.toml"), (SITE_ENV, "site.toml")):
        if (directory / name).exists() and not os.environ.get(variable):
            os.environ[variable] = str(directory / name)
    return directory


def _section(data: dict, name: str, where: str) -> dict:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ServiceConfigError(f"{where}: [{name}] phải là một bảng.")
    return section


def _typed(section: dict, key: str, kind: type, default, where: str):
    value = section.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ServiceConfigError(f"{where}: khóa '{key}' phải là {_KIND_NAMES[kind]} (đang là {value!r}).")
    return value


_KIND_NAMES = {str: "chuỗi", int: "số nguyên", bool: "true/false", float: "số"}


def _build(cls, section: dict, where: str):
    defaults = cls()
    unknown = sorted(set(section) - set(cls.__dataclass_fields__))
    if unknown:
        raise ServiceConfigError(f"{where}: khóa không được hỗ trợ: {', '.join(unknown)}.")
    values = {}
    for name in cls.__dataclass_fields__:
        default = getattr(defaults, name)
        values[name] = _typed(section, name, type(default), default, where)
    return cls(**values)


def load_service_config(path: str | os.PathLike | None = None) -> ServiceConfig:
    """Read ``motcua.toml`` of the config directory; a missing file gives the defaults (no SMTP server)."""
    directory = config_dir(path)
    target = directory / SERVICE_FILE
    if not target.exists():
        return ServiceConfig(directory=directory)
    where = f"Tệp '{target}'"
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ServiceConfigError(f"{where}: không đọc được ({exc}).") from exc
    smtp = _build(SmtpSettings, _section(data, "smtp", where), f"{where} [smtp]")
    digest = _build(DigestSettings, _section(data, "digest", where), f"{where} [digest]")
    backup = _section(data, "backup", where)
    keep = _typed(backup, "keep", int, 14, f"{where} [backup]")
    if digest.period not in PERIOD_KINDS:
        raise ServiceConfigError(f"{where} [digest]: 'period' chỉ nhận {', '.join(PERIOD_KINDS)}.")
    if digest.max_rows < 1 or keep < 1:
        raise ServiceConfigError(f"{where}: [digest] max_rows ≥ 1 và [backup] keep ≥ 1.")
    return ServiceConfig(directory=directory, smtp=smtp, digest=digest, backup_keep=keep)

"""Site settings of one deployment: ``config/site.toml`` (or ``$MOTCUA_SITE``).

``store_officer_names`` (default false): officials' names from "Cán bộ xử lý" / "Người xử lý" columns are
personal data of officials (NĐ 13/2023/NĐ-CP Art 2). Handling an overdue dossier is public duty, and an
inspection names the office responsible (Thông báo kiểm tra CCHC 2026), so the *department* is always
kept; a name is kept only when the site decides it needs one (a documented purpose, NĐ 13/2023 Art 3),
and only users of that unit (its chair and officers, and admins) see it. Turning the setting off stops
new names from being stored; re-import to drop the stored ones.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

SITE_ENV = "MOTCUA_SITE"
DEFAULT_SITE_PATH = Path(__file__).resolve().parent.parent / "config" / "site.toml"


class SiteConfigError(ValueError):
    """The site file exists but cannot be used (Vietnamese message naming the file and key)."""


@dataclass(frozen=True)
class Site:
    store_officer_names: bool = False
    province: str | None = None  # names are resolved within this province (and the old ones merged into it)


def site_path() -> Path:
    return Path(os.environ.get(SITE_ENV) or DEFAULT_SITE_PATH)


def load_site(path: Path | None = None) -> Site:
    """The site settings; defaults when the file does not exist."""
    path = path or site_path()
    if not path.exists():
        return Site()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SiteConfigError(f"Không đọc được tệp cấu hình '{path}': {exc}") from exc
    store = data.get("store_officer_names", False)
    if not isinstance(store, bool):
        raise SiteConfigError(f"Tệp '{path}': store_officer_names phải là true hoặc false.")
    province = data.get("province")
    if province is not None and not isinstance(province, str):
        raise SiteConfigError(f"Tệp '{path}': province phải là tên tỉnh/thành phố.")
    return Site(store_officer_names=store, province=province or None)

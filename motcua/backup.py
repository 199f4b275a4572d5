"""Backups of a deployment (``motcua backup DIR`` / ``motcua restore FILE``).

A backup is one ``motcua-backup-YYYYmmdd-HHMMSS.tar.gz`` holding ``motcua.duckdb`` (the published database),
``config/*.toml`` (users with their password hashes, holiday overrides, targets, service settings), the
audit log when there is one, and ``manifest.json`` (sha256 and size of every member, the database version).

Consistency: imports never write the published file in place; they build a new file and rename it over the
old one (``motcua.db.write_transaction``). The backup opens the published file once and copies from that
open handle, so it copies exactly one published version, the one before or the one after an import running
at the same moment, never a mix, and it never blocks the import. The archive is written under a temporary
name and renamed when complete, so a killed backup never leaves a truncated file that rotation would keep.
Archives hold password hashes: they are created with mode 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from motcua import db as dbmod
from motcua import service_config

PREFIX = "motcua-backup-"
SUFFIX = ".tar.gz"
DB_MEMBER = "motcua.duckdb"
MANIFEST = "manifest.json"
CONFIG_DIR = "config"
AUDIT_DIR = "audit"
AUDIT_ENV = "MOTCUA_AUDIT_LOG"
_NAME_RE = re.compile(rf"{re.escape(PREFIX)}(\d{{8}}-\d{{6}})(?:-(\d+))?{re.escape(SUFFIX)}")
_CHUNK = 1 << 20
_ARCHIVE_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, KeyError, AttributeError, ValueError)


class BackupError(ValueError):
    """A backup cannot be made or restored; the message is Vietnamese."""


@dataclass(frozen=True)
class RestorePlan:
    """What ``restore`` would replace (shown to the admin before confirming)."""

    archive: Path
    created_at: str
    db_target: Path
    config_targets: tuple[Path, ...]
    audit_targets: tuple[Path, ...]  # restored only where no audit log exists now (see restore_backup)
    dossiers: int | None


def audit_logs(db_path: Path) -> list[Path]:
    """The audit log(s) of the deployment: ``$MOTCUA_AUDIT_LOG``, else ``audit*`` files beside the database."""
    configured = os.environ.get(AUDIT_ENV)
    if configured:
        return [Path(configured)] if Path(configured).is_file() else []
    from motcua.audit import audit_path  # the dashboard's and CLI's log: <database>.audit.jsonl

    found = {p for p in db_path.parent.glob("audit*") if p.is_file()}
    if audit_path(db_path).is_file():
        found.add(audit_path(db_path))
    return sorted(found)


def config_files(config_dir: Path) -> list[Path]:
    if not config_dir.is_dir():
        return []
    return sorted(p for p in config_dir.glob("*.toml") if p.is_file() and not p.name.endswith(".example.toml"))


def _archive_name(out_dir: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    candidate, counter = out_dir / f"{PREFIX}{stamp}{SUFFIX}", 2
    while candidate.exists():
        candidate, counter = out_dir / f"{PREFIX}{stamp}-{counter}{SUFFIX}", counter + 1
    return candidate


class _HashingReader:
    """Reads through an open file and hashes what was read (one pass for copy and manifest)."""

    def __init__(self, handle):
        self.handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_open_file(tar: tarfile.TarFile, handle, arcname: str) -> dict:
    """Add an already-open file (its inode is fixed even if the path is renamed over meanwhile)."""
    stat = os.fstat(handle.fileno())
    reader = _HashingReader(handle)
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
    tar.addfile(info, reader)
    return {"name": arcname, "size": stat.st_size, "sha256": reader.digest.hexdigest()}


def create_backup(out_dir: str | os.PathLike, *, db_path: str | os.PathLike | None = None,
                  config_dir: str | os.PathLike | None = None, keep: int = 14,
                  now: datetime | None = None) -> Path:
    """Write one archive into ``out_dir`` and delete the oldest beyond ``keep``. Returns the archive path."""
    source = dbmod.resolve_path(db_path)
    target_dir = Path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        db_handle = open(source, "rb")  # noqa: SIM115 - held open for the whole copy (pins one version)
    except FileNotFoundError as exc:
        raise BackupError(f"Chưa có cơ sở dữ liệu tại '{source}': không có gì để sao lưu.") from exc
    archive = _archive_name(target_dir, now or datetime.now())
    fd, temp = tempfile.mkstemp(prefix=f".{archive.name}.", dir=target_dir)
    members = []
    try:
        with db_handle, os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
            pinned = os.fstat(db_handle.fileno())
            version = f"{pinned.st_ino}-{pinned.st_mtime_ns}-{pinned.st_size}"  # as motcua.db.file_version
            members.append(_add_open_file(tar, db_handle, DB_MEMBER))
            for path in config_files(service_config.config_dir(config_dir)):
                with open(path, "rb") as handle:
                    members.append(_add_open_file(tar, handle, f"{CONFIG_DIR}/{path.name}"))
            for path in audit_logs(source):
                with open(path, "rb") as handle:
                    members.append(_add_open_file(tar, handle, f"{AUDIT_DIR}/{path.name}"))
            manifest = {"format": 1, "created_at": (now or datetime.now()).isoformat(timespec="seconds"),
                        "db_version": version, "members": members}
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            raw.flush()
        os.chmod(temp, 0o600)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, archive)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp)
    rotate(target_dir, keep)
    return archive


def list_backups(out_dir: str | os.PathLike) -> list[Path]:
    """Archives of ``out_dir``, oldest first (by the time stamp in the name)."""
    directory = Path(out_dir)
    if not directory.is_dir():
        return []
    found = [(m.group(1), int(m.group(2) or 1), p) for p in directory.iterdir()
             if (m := _NAME_RE.fullmatch(p.name)) and p.is_file()]
    return [p for _, _, p in sorted(found)]


def rotate(out_dir: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest archives; only files named like our archives are touched."""
    if keep < 1:
        raise BackupError("Phải giữ lại ít nhất 1 bản sao lưu.")
    backups = list_backups(out_dir)
    removed = backups[:-keep]
    for path in removed:
        path.unlink()
    return removed


def _open_archive(archive: Path) -> tuple[tarfile.TarFile, dict]:
    tar = None
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 - returned open; the caller closes it
        manifest = json.loads(tar.extractfile(MANIFEST).read().decode("utf-8"))
    except _ARCHIVE_ERRORS as exc:
        if tar is not None:
            tar.close()
        raise BackupError(f"Tệp '{archive}' không phải bản sao lưu Một Cửa KPI hợp lệ ({exc}).") from exc
    names = [m["name"] for m in manifest.get("members", [])]
    unsafe = [n for n in names if not re.fullmatch(rf"{DB_MEMBER}|({CONFIG_DIR}|{AUDIT_DIR})/[^/\\]+", n)
              or n.endswith(("/..", "/."))]
    if DB_MEMBER not in names or unsafe:
        tar.close()
        raise BackupError(f"Tệp '{archive}': danh mục bản sao lưu không hợp lệ ({', '.join(unsafe) or 'thiếu CSDL'}).")
    return tar, manifest


def _extract_verified(tar: tarfile.TarFile, member: dict, destination: Path) -> None:
    """Extract one member to ``destination`` and check it against the manifest's sha256."""
    digest = hashlib.sha256()
    source = tar.extractfile(member["name"])
    if source is None:
        raise BackupError(f"Bản sao lưu thiếu '{member['name']}'.")
    with open(destination, "wb") as out:
        for block in iter(lambda: source.read(_CHUNK), b""):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != member["sha256"]:
        raise BackupError(f"Bản sao lưu hỏng: '{member['name']}' không khớp mã kiểm tra sha256.")


def plan_restore(archive: str | os.PathLike, *, db_path: str | os.PathLike | None = None,
                 config_dir: str | os.PathLike | None = None) -> RestorePlan:
    path = Path(archive)
    tar, manifest = _open_archive(path)
    tar.close()
    target = dbmod.resolve_path(db_path)
    names = [m["name"] for m in manifest["members"]]
    config_root = service_config.config_dir(config_dir)
    dossiers = None
    with contextlib.suppress(dbmod.DatabaseUnavailable):
        dossiers = dbmod.Database(target).query_rows("SELECT count(*) FROM dossiers")[0][0]
    return RestorePlan(
        archive=path, created_at=manifest.get("created_at", ""), db_target=target,
        config_targets=tuple(config_root / n.split("/", 1)[1] for n in names if n.startswith(CONFIG_DIR + "/")),
        audit_targets=tuple(p for p in (target.parent / n.split("/", 1)[1] for n in names
                                        if n.startswith(AUDIT_DIR + "/")) if not p.exists()),
        dossiers=dossiers)


def restore_backup(plan: RestorePlan) -> None:
    """Verify every member, then publish the database atomically and put config and audit files back.

    An audit log that exists now is never replaced: it is append-only and already holds every event of the
    backup's copy plus the later ones (among them the restore itself); only a lost log is brought back."""
    tar, manifest = _open_archive(plan.archive)
    members = {m["name"]: m for m in manifest["members"]}
    with tar, tempfile.TemporaryDirectory(prefix="motcua-restore-", dir=plan.db_target.parent
                                          if plan.db_target.parent.exists() else None) as work:
        staged = {}
        for name, member in members.items():
            staged[name] = Path(work) / name.replace("/", "__")
            try:
                _extract_verified(tar, member, staged[name])  # all verified before anything is replaced
            except _ARCHIVE_ERRORS as exc:
                raise BackupError(f"Bản sao lưu '{plan.archive}' hỏng ở '{name}' ({exc}).") from exc
        dbmod.publish_copy(staged[DB_MEMBER], plan.db_target)
        for target in (*plan.config_targets, *plan.audit_targets):
            folder = CONFIG_DIR if target in plan.config_targets else AUDIT_DIR
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.restore")
            temp.write_bytes(staged[f"{folder}/{target.name}"].read_bytes())
            os.chmod(temp, 0o600)
            os.replace(temp, target)

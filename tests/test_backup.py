"""Backup and restore: identical figures after a restore, a backup during an import is old or new."""

from __future__ import annotations

import hashlib
import json
import tarfile
import threading

import pytest
from click.testing import CliRunner

from cli.backup import backup_command, restore_command
from loaders import pipeline
from motcua import backup as backupmod
from motcua import db as dbmod
from motcua.filters import Scope
from motcua.metrics import compute_kpis, league_table
from motcua.periods import parse_period

HEADER = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày kết thúc xử lý;Trạng thái;Kênh thực hiện"


def export(path, first: int, count: int, unit="Phường Ba Đình"):
    rows = [f"HS-{i};{unit};{1 + i % 27:02d}/03/2025 08:00;{'' if i % 3 else f'{1 + i % 27:02d}/03/2025 16:00'};"
            f"{'Đang xử lý' if i % 3 else 'Đã trả kết quả'};{'Trực tuyến' if i % 2 else 'Trực tiếp'}"
            for i in range(first, first + count)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def figures(db_path) -> str:
    """Every published figure the product shows for the data: KPIs of each unit and the league table."""
    database = dbmod.Database(db_path)
    period = parse_period("2025Q1")
    codes = [c for (c,) in database.query_rows("SELECT DISTINCT receiving_unit_code FROM dossiers ORDER BY 1")]
    kpis = [compute_kpis(database, Scope(unit_codes=(code,)), period) for code in codes]
    league = league_table(database, Scope(), period).to_json(orient="records")
    return json.dumps([kpis, league], sort_keys=True, default=str)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.mkdir()
    (config / "users.toml").write_text('[users.admin]\nrole = "admin"\n', encoding="utf-8")
    (config / "motcua.toml").write_text("[backup]\nkeep = 2\n", encoding="utf-8")
    (config / "users.example.toml").write_text("# not backed up\n", encoding="utf-8")
    db_path = tmp_path / "data" / "motcua.duckdb"
    pipeline.import_files([export(tmp_path / "a.csv", 1, 40)], db_path=db_path)
    (db_path.parent / "audit.jsonl").write_text('{"event": "login"}\n', encoding="utf-8")
    monkeypatch.delenv(backupmod.AUDIT_ENV, raising=False)
    return db_path, config


def test_restore_gives_byte_identical_figures(deployment, tmp_path):
    db_path, config = deployment
    before_figures, before_sha = figures(db_path), sha(db_path)
    archive = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["audit/audit.jsonl", "config/motcua.toml", "config/users.toml",
                                          "manifest.json", "motcua.duckdb"]
    assert archive.stat().st_mode & 0o777 == 0o600

    pipeline.import_files([export(tmp_path / "b.csv", 1000, 25, "Phường Hoàn Kiếm")], db_path=db_path)
    (config / "users.toml").write_text('[users.other]\nrole = "admin"\n', encoding="utf-8")
    assert figures(db_path) != before_figures

    plan = backupmod.plan_restore(archive, db_path=db_path, config_dir=config)
    assert plan.dossiers == 65 and plan.config_targets == (config / "motcua.toml", config / "users.toml")
    assert plan.audit_targets == ()  # the current audit log is kept (append-only)
    (db_path.parent / "audit.jsonl").write_text('{"event": "login"}\n{"event": "later"}\n', encoding="utf-8")
    backupmod.restore_backup(plan)
    assert "later" in (db_path.parent / "audit.jsonl").read_text(encoding="utf-8")
    assert figures(db_path) == before_figures
    assert sha(db_path) == before_sha
    assert "[users.admin]" in (config / "users.toml").read_text(encoding="utf-8")


def test_backup_while_an_import_is_publishing_holds_the_old_state(deployment, tmp_path):
    db_path, config = deployment
    old = figures(db_path)
    publishing, release = threading.Event(), threading.Event()

    def hold_before_publish(event):
        if event.stage == "publishing":  # inside the write transaction, before commit and rename
            publishing.set()
            release.wait(30)

    new_file = export(tmp_path / "b.csv", 1000, 25, "Phường Hoàn Kiếm")
    worker = threading.Thread(target=pipeline.import_files, args=([new_file],),
                              kwargs={"db_path": db_path, "progress": hold_before_publish})
    worker.start()
    assert publishing.wait(30)
    during = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    release.set()
    worker.join(30)
    after = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    new = figures(db_path)
    assert new != old
    for archive, expected in ((during, old), (after, new)):
        restored = tmp_path / f"restored-{archive.name}.duckdb"
        backupmod.restore_backup(backupmod.plan_restore(archive, db_path=restored, config_dir=tmp_path / "c"))
        assert figures(restored) == expected


def test_publish_in_the_middle_of_the_copy_gives_the_old_state_not_a_mix(deployment, tmp_path, monkeypatch):
    db_path, config = deployment
    old_sha = sha(db_path)
    real_copy = tarfile.copyfileobj
    published = []

    def copy_with_a_publish_after_the_first_block(src, dst, length=None, *args, **kwargs):
        if not published:  # the first member is the database: an import renames a new file over it now
            dst.write(src.read(4096))
            published.append(pipeline.import_files([export(tmp_path / "b.csv", 1000, 25)], db_path=db_path))
            return real_copy(src, dst, None if length is None else length - 4096, *args, **kwargs)
        return real_copy(src, dst, length, *args, **kwargs)

    monkeypatch.setattr(tarfile, "copyfileobj", copy_with_a_publish_after_the_first_block)
    archive = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    monkeypatch.undo()
    assert published[0].any_loaded and sha(db_path) != old_sha
    with tarfile.open(archive) as tar:
        assert hashlib.sha256(tar.extractfile("motcua.duckdb").read()).hexdigest() == old_sha


def test_corrupt_archive_is_refused_before_anything_is_replaced(deployment, tmp_path):
    db_path, config = deployment
    archive = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    data = bytearray(archive.read_bytes())
    bad = tmp_path / "hong.tar.gz"
    bad.write_bytes(bytes(data[: len(data) // 2]))
    before = sha(db_path)
    with pytest.raises(backupmod.BackupError, match="không phải bản sao lưu"):
        backupmod.plan_restore(bad, db_path=db_path, config_dir=config)
    assert sha(db_path) == before


def test_cli_backup_rotates_and_restore_asks_first(deployment, tmp_path):
    db_path, config = deployment
    out = tmp_path / "backups"
    runner = CliRunner()
    for _ in range(3):
        result = runner.invoke(backup_command, [str(out), "--db", str(db_path), "--config-dir", str(config)],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
    kept = backupmod.list_backups(out)
    assert len(kept) == 2  # [backup] keep = 2 in motcua.toml
    before = sha(db_path)
    pipeline.import_files([export(tmp_path / "b.csv", 1000, 25)], db_path=db_path)

    refused = runner.invoke(restore_command, [str(kept[-1]), "--db", str(db_path), "--config-dir", str(config)],
                            input="n\n")
    assert refused.exit_code == 1 and "sẽ THAY THẾ" in refused.output and sha(db_path) != before
    done = runner.invoke(restore_command, [str(kept[-1]), "--db", str(db_path), "--config-dir", str(config),
                                           "--yes"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "Đã khôi phục: 40 hồ sơ" in done.output and sha(db_path) == before


def test_backup_without_database_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(backup_command, [str(tmp_path / "b"), "--db", str(tmp_path / "none.duckdb"),
                                                 "--config-dir", str(tmp_path)])
    assert result.exit_code == 2 and "Lỗi: Chưa có cơ sở dữ liệu" in result.output


def test_a_lost_audit_log_is_restored(deployment, tmp_path):
    db_path, config = deployment
    archive = backupmod.create_backup(tmp_path / "backups", db_path=db_path, config_dir=config)
    (db_path.parent / "audit.jsonl").unlink()
    plan = backupmod.plan_restore(archive, db_path=db_path, config_dir=config)
    assert plan.audit_targets == (db_path.parent / "audit.jsonl",)
    backupmod.restore_backup(plan)
    assert (db_path.parent / "audit.jsonl").read_text(encoding="utf-8") == '{"event": "login"}\n'

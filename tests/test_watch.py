"""Drop folder (`motcua watch`): files written slowly, locked files, bad files, crashes and restarts."""

from __future__ import annotations

import fcntl
import hashlib
import os

import pytest
from click.testing import CliRunner

from cli.watch import watch_command
from loaders import pipeline
from loaders.watch import DropFolder, is_candidate
from motcua import db as dbmod

HEADER = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày kết thúc xử lý;Trạng thái;Kênh thực hiện"


def export_lines(first: int, count: int) -> list[str]:
    return [f"HS-{i};Phường Ba Đình;0{1 + i % 9}/03/2025 08:00;;Đang xử lý;Trực tuyến"
            for i in range(first, first + count)]


def write_export(path, first=1, count=5):
    path.write_text("\n".join([HEADER, *export_lines(first, count)]) + "\n", encoding="utf-8")
    return path


def dossier_count(db_path) -> int:
    return dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers")[0][0]


def loaded_imports(db_path) -> list[tuple]:
    return dbmod.Database(db_path).query_rows(
        "SELECT file_name, status FROM imports WHERE status = 'loaded' ORDER BY import_id")


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "motcua.duckdb"


def test_file_written_slowly_in_pieces_is_imported_once_complete(inbox, db_path):
    # settle is long: a file is taken only once a poll sees it unchanged since the previous poll.
    folder = DropFolder(inbox, db_path=db_path, settle_seconds=3600)
    target = inbox / "quy1.csv"
    lines = [HEADER, *export_lines(1, 30)]
    with open(target, "w", encoding="utf-8") as handle:
        for piece in range(3):  # a slow copy: a third of the rows between two polls
            handle.write("\n".join(lines[piece * 10:(piece + 1) * 10 + (piece == 2)]) + "\n")
            handle.flush()
            assert folder.poll() == []
            assert not db_path.exists()  # a partial CSV would import happily: it must not be touched
    outcomes = folder.poll()  # unchanged since the last poll: complete
    assert [(o.file_name, o.status) for o in outcomes] == [("quy1.csv", "done")]
    assert dossier_count(db_path) == 30
    assert (inbox / "done" / "quy1.csv").exists() and not target.exists()


def test_locked_file_waits_for_its_writer(inbox, db_path):
    target = write_export(inbox / "dang-chep.csv")
    folder = DropFolder(inbox, db_path=db_path, settle_seconds=0)
    with open(target, "rb") as writer:
        fcntl.flock(writer, fcntl.LOCK_EX)
        assert folder.poll() == [] and folder.poll() == []
        fcntl.flock(writer, fcntl.LOCK_UN)
    assert [o.status for o in folder.poll()] == ["done"]


def test_temporary_names_are_ignored(inbox):
    for name in ("~$quy1.xlsx", ".quy1.csv", "quy1.csv.part", "quy1.xlsx.crdownload"):
        (inbox / name).write_text("x")
    assert not any(is_candidate(p) for p in inbox.iterdir())
    assert is_candidate(write_export(inbox / "quy1.csv"))


def test_bad_file_goes_to_failed_with_vietnamese_reason_and_good_file_still_loads(inbox, db_path):
    (inbox / "hong.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    write_export(inbox / "tot.csv")
    outcomes = DropFolder(inbox, db_path=db_path, settle_seconds=0).poll()
    assert sorted((o.file_name, o.status) for o in outcomes) == [("hong.xlsx", "failed"), ("tot.csv", "done")]
    reason = (inbox / "failed" / "hong.xlsx.txt").read_text(encoding="utf-8")
    assert reason.startswith("Tệp 'hong.xlsx' KHÔNG được nạp.\nLý do: ")
    assert "hong.xlsx" in reason.splitlines()[1]  # the pipeline's message names the file
    assert (inbox / "failed" / "hong.xlsx").exists() and (inbox / "done" / "tot.csv").exists()
    assert dossier_count(db_path) == 5


def test_all_rows_rejected_lists_rows_in_the_reason(inbox, db_path):
    (inbox / "sai-ngay.csv").write_text(
        "\n".join([HEADER, "HS-1;Phường Ba Đình;31/02/2025;;Đang xử lý;Trực tuyến"]) + "\n", encoding="utf-8")
    (outcome,) = DropFolder(inbox, db_path=db_path, settle_seconds=0).poll()
    assert outcome.status == "failed"
    reason = (inbox / "failed" / "sai-ngay.csv.txt").read_text(encoding="utf-8")
    assert "  - dòng 2, cột 'Ngày tiếp nhận'" in reason


class Crash(BaseException):
    """A kill between the publish and the move (not an Exception: nothing may catch it)."""


def test_crash_between_import_and_move_never_imports_twice(inbox, db_path):
    write_export(inbox / "quy1.csv")

    def import_then_die(*args, **kwargs):
        pipeline.import_files(*args, **kwargs)
        raise Crash

    with pytest.raises(Crash):
        DropFolder(inbox, db_path=db_path, settle_seconds=0, importer=import_then_die).poll()
    assert (inbox / "quy1.csv").exists() and dossier_count(db_path) == 5
    published = (hashlib.sha256(db_path.read_bytes()).hexdigest(), os.stat(db_path).st_ino)

    outcomes = DropFolder(inbox, db_path=db_path, settle_seconds=0).poll()  # the restarted watcher
    assert [(o.status, o.import_status) for o in outcomes] == [("done", "duplicate_file")]
    assert loaded_imports(db_path) == [("quy1.csv", "loaded")]
    assert (hashlib.sha256(db_path.read_bytes()).hexdigest(), os.stat(db_path).st_ino) == published


def test_restart_and_same_file_dropped_again(inbox, db_path):
    write_export(inbox / "quy1.csv")
    DropFolder(inbox, db_path=db_path, settle_seconds=0).run(interval=0.01, max_polls=2)
    write_export(inbox / "quy1.csv")  # an officer copies the same export again after a restart
    outcomes = DropFolder(inbox, db_path=db_path, settle_seconds=0).run(interval=0.01, max_polls=2)
    assert [(o.status, o.path.name) for o in outcomes] == [("done", "quy1 (2).csv")]
    assert loaded_imports(db_path) == [("quy1.csv", "loaded")] and dossier_count(db_path) == 5


def test_a_run_that_raises_is_retried_file_by_file(inbox, db_path):
    write_export(inbox / "a.csv", first=1)
    write_export(inbox / "doc-hai.csv", first=100)

    def fragile(paths, **kwargs):
        if any("doc-hai" in p for p in paths):
            raise RuntimeError("lỗi lập trình")
        return pipeline.import_files(paths, **kwargs)

    outcomes = DropFolder(inbox, db_path=db_path, settle_seconds=0, importer=fragile).poll()
    assert sorted((o.file_name, o.status) for o in outcomes) == [("a.csv", "done"), ("doc-hai.csv", "failed")]
    assert "lỗi hệ thống" in (inbox / "failed" / "doc-hai.csv.txt").read_text(encoding="utf-8")
    assert dossier_count(db_path) == 5


def test_cli_once(inbox, db_path, tmp_path):
    write_export(inbox / "quy1.csv")
    log = tmp_path / "watch.log"
    result = CliRunner().invoke(watch_command, [str(inbox), "--db", str(db_path), "--once", "--settle", "0",
                                                "--log-file", str(log)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "quy1.csv -> done/" in result.output
    assert '"status": "done"' in log.read_text(encoding="utf-8")
    assert dossier_count(db_path) == 5


def test_unknown_unit_option_stops_the_watcher_and_leaves_files_alone(inbox, db_path):
    write_export(inbox / "quy1.csv")
    result = CliRunner().invoke(watch_command, [str(inbox), "--db", str(db_path), "--once", "--settle", "0",
                                                "--unit", "Xã Không Có Thật"])
    assert result.exit_code == 2 and "Lỗi: --unit:" in result.output
    assert (inbox / "quy1.csv").exists() and not (inbox / "failed").exists()

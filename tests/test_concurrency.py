"""Concurrency and fault tolerance of the published database.

- 24 reader threads query through ``motcua.db.Database`` and ``motcua.metrics`` while an import publishes:
  no errors, and every answer is exactly the old or the new state (each statement, and a page-like group
  of statements on one pinned cursor, are each internally consistent).
- ``motcua load`` killed with SIGKILL at random moments, several times: the published file is byte-identical
  afterwards and the next import succeeds.
- A missing, empty or corrupt database file: ``Database`` raises ``DatabaseUnavailable`` with a Vietnamese
  message telling the admin what to do.
"""

from __future__ import annotations

import glob
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from loaders.pipeline import import_files
from motcua import db as dbmod
from motcua import metrics
from motcua.filters import Scope
from motcua.periods import custom_period
from sample_data.synth import export_frame, write_csv

ROOT = Path(__file__).resolve().parents[1]
READERS = 24
PERIOD = custom_period(date(2023, 1, 1), date(2026, 12, 31))
STATE_SQL = ("SELECT (SELECT count(*) FROM dossiers), (SELECT count(*) FROM imports), "
             "(SELECT count(*) FROM kpi_facts), (SELECT max(import_id) FROM dossiers)")


def _export(path: Path, rows: int, seed: int, prefix: str) -> Path:
    frame = export_frame(rows, seed=seed, n_units=4)
    frame["Mã hồ sơ"] = prefix + frame["Mã hồ sơ"].astype(str)
    return write_csv(frame, path)


def _state(source) -> tuple:
    """(table counts in one statement, KPI received total) read on ``source`` (Database or cursor)."""
    if isinstance(source, dbmod.Database):
        counts = source.query_rows(STATE_SQL)[0]
    else:
        counts = source.execute(STATE_SQL).fetchall()[0]
    return counts, metrics.kpi_counts(source, Scope(), PERIOD)["received_total"]


class ReaderPool:
    """Threads that query until told to stop, recording every distinct state and every error."""

    def __init__(self, db_path: Path, count: int):
        self.database = dbmod.Database(db_path)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.queries = 0
        self.errors: list[str] = []
        self.single: list[tuple] = []  # (counts, kpi) from independent statements
        self.pinned: list[tuple] = []  # two reads on one pinned cursor: must be equal
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]

    def _run(self, index: int) -> None:
        while not self.stop.is_set():
            try:
                if index % 2:
                    counts = self.database.query_rows(STATE_SQL)[0]
                    kpi = metrics.kpi_counts(self.database, Scope(), PERIOD)["received_total"]
                    record, target, n = (counts, kpi), self.single, 2
                else:
                    cursor = self.database.cursor()  # a page pins one snapshot for all its queries
                    try:
                        record, target, n = (_state(cursor), _state(cursor)), self.pinned, 4
                    finally:
                        cursor.close()
            except Exception as exc:  # any error is a failure of the test, reported with its text
                with self.lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.queries += n
                target.append(record)
            time.sleep(0.001)  # hammer, but leave the importer some CPU on a 2-core runner

    def __enter__(self) -> ReaderPool:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_readers_see_old_or_new_state_never_a_mix(tmp_path):
    db_path = tmp_path / "kpi.duckdb"
    import_files([_export(tmp_path / "cu.csv", 3000, seed=1, prefix="A")], db_path=db_path)
    old = _state(dbmod.Database(db_path))
    new_file = _export(tmp_path / "moi.csv", 6000, seed=2, prefix="B")

    with ReaderPool(db_path, READERS) as pool:
        time.sleep(0.5)
        started = time.monotonic()
        summary = import_files([new_file], db_path=db_path)
        import_seconds = time.monotonic() - started
        queries_at_publish = pool.queries
        deadline = time.monotonic() + 20
        while pool.queries < queries_at_publish + 4 * READERS and time.monotonic() < deadline:
            time.sleep(0.05)
    new = _state(dbmod.Database(db_path))

    assert summary.files[0].rows_loaded == 6000 and new != old
    seen_single = {record for record in pool.single}
    seen_pinned = {record for record in pool.pinned}
    print(f"\n[concurrency] readers={READERS} queries={pool.queries} errors={len(pool.errors)} "
          f"import={import_seconds:.2f}s queries_during_import={queries_at_publish} "
          f"old_seen={sum(r == old for r in pool.single) + sum(r[0] == old for r in pool.pinned)} "
          f"new_seen={sum(r == new for r in pool.single) + sum(r[0] == new for r in pool.pinned)}")
    assert pool.errors == []
    assert pool.queries >= 10 * READERS
    counts_seen = {r[0] for r in seen_single} | {r[0][0] for r in seen_pinned}
    assert counts_seen <= {old[0], new[0]}, "a statement saw a half-published state"
    assert {r[1] for r in seen_single} <= {old[1], new[1]}
    assert all(first == second and first in (old, new) for first, second in seen_pinned), \
        "a pinned cursor mixed two states"
    assert any(r[0] == new[0] for r in seen_single), "no reader saw the new state after publishing"


# ----------------------------------------------------------------------------------- SIGKILL


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _big_export(path: Path, rows: int) -> Path:
    header = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày hẹn trả;Ngày kết thúc xử lý;Trạng thái;Kênh thực hiện"
    lines = (f"K-{i:08d};Xã Tứ Kỳ, TP Hải Phòng;{1 + i % 28:02d}/{1 + i % 12:02d}/2025 08:{i % 60:02d};"
             f"{1 + i % 28:02d}/{1 + i % 12:02d}/2025 17:00;;Đang xử lý;{1 + i % 3}" for i in range(rows))
    path.write_bytes(("\ufeff" + header + "\n" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def _start_load(files: list[Path], db_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "load",
                             *map(str, files), "--db", str(db_path)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sigkill_at_random_points_keeps_previous_state(tmp_path):
    db_path = tmp_path / "kpi.duckdb"
    import_files([_export(tmp_path / "cu.csv", 500, seed=3, prefix="A")], db_path=db_path)
    before, count_before = _digest(db_path), dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers")
    big = _big_export(tmp_path / "lon.csv", 250_000)
    rng = random.Random(int(os.environ.get("MOTCUA_KILL_SEED", "20251123")))
    # Kill points are fractions of a full run timed here, so they land inside the import on any machine.
    scratch = tmp_path / "do-thoi-gian.duckdb"
    shutil.copyfile(db_path, scratch)
    started = time.monotonic()
    assert _start_load([big], scratch).wait(timeout=300) == 0
    full_run = time.monotonic() - started
    kills = []
    for _attempt in range(4):
        process = _start_load([big], db_path)
        delay = rng.uniform(0.05, 0.7) * full_run
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        finished_first = process.returncode == 0  # also when it ended between poll() and kill()
        kills.append((round(delay, 2), "finished" if finished_first else "killed"))
        if finished_first:  # the import beat the timer: its new state is now the "previous" state
            before, count_before = _digest(db_path), dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers")
            continue
        assert process.returncode == -signal.SIGKILL
        if _digest(db_path) != before:  # killed after the atomic rename: must be the complete new state
            assert dbmod.Database(db_path).query_rows(
                "SELECT count(*) FROM dossiers WHERE dossier_code LIKE 'K-%'") == [(250_000,)], \
                f"published file changed but is not the complete import after SIGKILL at {delay:.2f}s"
            kills[-1] = (round(delay, 2), "killed after publish")
            before, count_before = _digest(db_path), dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers")
            continue
        assert dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers") == count_before
    print(f"\n[sigkill] attempts={kills}")
    assert any(outcome == "killed" for _, outcome in kills)

    final = _start_load([big], db_path)
    assert final.wait(timeout=300) == 0
    assert dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers WHERE dossier_code LIKE 'K-%'") == [
        (250_000,)]
    assert not glob.glob(f"{db_path}.tmp-*"), "stale private copies were not cleaned up"


# --------------------------------------------------------------------------- missing / corrupt


def _corrupt_variants(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.duckdb"
    import_files([_export(tmp_path / "cu.csv", 200, seed=4, prefix="A")], db_path=good)
    data = good.read_bytes()
    variants = {
        "missing": tmp_path / "none.duckdb",
        "empty": tmp_path / "empty.duckdb",
        "garbage": tmp_path / "garbage.duckdb",
        "truncated": tmp_path / "truncated.duckdb",
        "directory": tmp_path / "folder.duckdb",
    }
    variants["empty"].write_bytes(b"")
    variants["garbage"].write_bytes(os.urandom(300_000))
    variants["truncated"].write_bytes(data[:4096])
    variants["directory"].mkdir()
    return variants


def test_missing_or_corrupt_database_gives_a_clear_message(tmp_path):
    for name, path in _corrupt_variants(tmp_path).items():
        database = dbmod.Database(path)
        with pytest.raises(dbmod.DatabaseUnavailable) as caught:
            database.query_rows("SELECT count(*) FROM dossiers")
        message = str(caught.value)
        assert str(path) in message, (name, message)
        assert "Quản trị viên" in message, (name, message)


def test_corrupt_database_does_not_break_a_later_good_import(tmp_path):
    variants = _corrupt_variants(tmp_path)
    fresh = tmp_path / "fresh.duckdb"
    summary = import_files([_export(tmp_path / "moi.csv", 100, seed=5, prefix="B")], db_path=fresh)
    assert summary.files[0].rows_loaded == 100
    assert dbmod.Database(fresh).query_rows("SELECT count(*) FROM dossiers") == [(100,)]
    with pytest.raises(dbmod.DatabaseUnavailable):  # the broken file stays broken, untouched
        dbmod.Database(variants["garbage"]).query_rows("SELECT 1")


@pytest.mark.apptest
@pytest.mark.parametrize("variant", ["missing", "garbage", "truncated"])
def test_dashboard_keeps_serving_with_a_broken_database(tmp_path, monkeypatch, variant):
    from streamlit.testing.v1 import AppTest

    path = _corrupt_variants(tmp_path)[variant]
    monkeypatch.setenv("MOTCUA_DB", str(path))
    monkeypatch.setenv("MOTCUA_USERS", str(tmp_path / "no-users.toml"))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(e.value for e in at.error)
    assert "Quản trị viên" in shown or "quản trị viên" in shown, shown

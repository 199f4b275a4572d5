"""A killed `motcua load` leaves the published database unchanged; the next import works."""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loaders import pipeline
from motcua import db as dbmod

ROOT = Path(__file__).resolve().parents[1]
HEADER = "Mã hồ sơ;Đơn vị tiếp nhận;Ngày tiếp nhận;Ngày kết thúc xử lý;Trạng thái"


def write_export(path: Path, n: int, prefix: str) -> Path:
    rows = (f"{prefix}-{i:07d};Phường Ba Đình;{1 + i % 28:02d}/03/2025 08:{i % 60:02d};"
            f"{1 + i % 28:02d}/04/2025;Đã trả kết quả" for i in range(n))
    path.write_bytes(("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n").encode("utf-8"))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_during_import_changes_nothing(tmp_path):
    db_path = tmp_path / "motcua.duckdb"
    pipeline.import_files([write_export(tmp_path / "nho.csv", 50, "A")], db_path=db_path)
    before = digest(db_path)
    big = write_export(tmp_path / "lon.csv", 300_000, "B")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "load", str(big),
                                "--db", str(db_path)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    temp = f"{db_path}.tmp-{process.pid}"
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(temp) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        time.sleep(0.3)  # well inside reading/normalising 300k rows
        assert process.poll() is None, "the import finished before it could be killed"
        assert os.path.exists(temp), "the writer's private copy should exist while importing"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert digest(db_path) == before
    assert dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers") == [(50,)]

    after = pipeline.import_files([write_export(tmp_path / "tiep.csv", 20, "C")], db_path=db_path)
    assert after.files[0].rows_loaded == 20
    assert dbmod.Database(db_path).query_rows("SELECT count(*) FROM dossiers") == [(70,)]
    assert not glob.glob(f"{db_path}.tmp-*")  # the stale private copy was cleaned up

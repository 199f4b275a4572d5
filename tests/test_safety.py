"""Untrusted-file limits: zip bombs (honest and lying zip directories), sizes, upload names and types."""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

import pytest
from corpus.build import _fresh, _zip_bomb

from loaders import safety
from loaders.model import LoadError
from sample_data.synth import write_xlsx


@pytest.fixture(scope="module")
def real_xlsx(tmp_path_factory) -> Path:
    return write_xlsx(_fresh(2, "Z"), tmp_path_factory.mktemp("safety") / "that.xlsx")


@pytest.mark.parametrize("lie", [False, True])
def test_zip_bomb_is_refused_in_milliseconds(tmp_path, real_xlsx, lie):
    bomb = _zip_bomb(tmp_path / "bomb.xlsx", real_xlsx, 48 * 1024 * 1024, lie_in_directory=lie)
    assert bomb.stat().st_size < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(LoadError, match="zip bomb") as caught:
        safety.check_file(bomb, file_name="bao-cao.xlsx")
    assert time.monotonic() - started < 2
    assert "bao-cao.xlsx" in str(caught.value)


def test_total_inflated_size_limit(tmp_path, real_xlsx):
    with pytest.raises(LoadError, match="zip bomb"):
        safety.check_zip_bomb(real_xlsx, max_total=1000)
    members = zipfile.ZipFile(real_xlsx).infolist()
    with open(real_xlsx, "rb") as handle, pytest.raises(LoadError, match="zip bomb"):
        # the deep check alone (a lying directory would pass the first check)
        safety._check_inflated("x.xlsx", handle, members, 1000, safety.MAX_COMPRESSION_RATIO)


def test_real_export_passes(real_xlsx):
    safety.check_file(real_xlsx)


def test_truncated_zip_is_a_clear_error(tmp_path, real_xlsx):
    data = real_xlsx.read_bytes()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(data[:-200])  # central directory cut off
    safety.check_zip_bomb(broken)  # not recognised as a zip: left to the reader's own message
    lying = tmp_path / "lying.xlsx"
    lying.write_bytes(data[: len(data) // 2] + data[-200:])  # directory kept, member data cut
    with pytest.raises(LoadError, match="hỏng|bị cắt|zip bomb"):
        safety.check_zip_bomb(lying)


def test_size_limits(tmp_path, monkeypatch):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="rỗng"):
        safety.check_size(empty)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(LoadError, match="quá lớn"):
        safety.check_size(big, limit=1024)


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.csv", "passwd.csv"),
    ("C:\\Users\\a\\Danh sách hồ sơ.xlsx", "Danh sách hồ sơ.xlsx"),
    ("..hidden.csv", "hidden.csv"),
    ("a;rm -rf ~.csv", "a_rm -rf _.csv"),
    ("", "tep-tai-len"),
])
def test_safe_file_name(name, expected):
    assert safety.safe_file_name(name) == expected


def test_save_upload_stays_in_a_private_temp_dir(tmp_path):
    path = safety.save_upload("../../evil/Danh sách.csv", b"Ma ho so;Ngay tiep nhan\n1;01/08/2025\n", tmp_path)
    assert path.parent.parent == tmp_path and path.name == "Danh sách.csv"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_save_upload_refuses_types_sizes_and_bombs(tmp_path, real_xlsx, monkeypatch):
    with pytest.raises(LoadError, match="không được hỗ trợ"):
        safety.save_upload("tool.exe", b"MZ", tmp_path)
    with pytest.raises(LoadError, match="không được hỗ trợ"):
        safety.save_upload("script.py", b"print(1)", tmp_path)
    monkeypatch.setattr(safety, "MAX_UPLOAD_BYTES", 100)
    with pytest.raises(LoadError, match="quá lớn"):
        safety.save_upload("big.csv", b"x" * 101, tmp_path)
    monkeypatch.setattr(safety, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    bomb = _zip_bomb(tmp_path / "b.xlsx", real_xlsx, 48 * 1024 * 1024, lie_in_directory=True)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    with pytest.raises(LoadError, match="zip bomb"):
        safety.save_upload("bomb.xlsx", bomb.read_bytes(), uploads)
    assert list(uploads.iterdir()) == []  # the refused file does not linger on disk

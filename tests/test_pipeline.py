"""Import pipeline: idempotence, overlapping exports, rejects, failed files, all-or-nothing runs."""

from __future__ import annotations

import glob
import hashlib
import os
import re

import pyarrow as pa
import pytest

from loaders import pipeline
from loaders.model import RawTable
from motcua import db as dbmod
from motcua import units as unitsmod

HEADER = ["Mã hồ sơ", "Đơn vị tiếp nhận", "Ngày tiếp nhận", "Ngày kết thúc xử lý", "Trạng thái", "Kênh thực hiện"]


def write_csv(path, rows, header=HEADER):
    """A one-stop-shop style CSV: ';' separated, UTF-8 with BOM."""
    lines = [";".join(header)] + [";".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dossiers(db_path) -> list[tuple]:
    return dbmod.Database(db_path).query_rows(
        "SELECT dossier_code, status, status_raw, finished_at, import_id FROM dossiers ORDER BY dossier_code")


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "motcua.duckdb"


@pytest.fixture
def first_export(tmp_path):
    return write_csv(tmp_path / "quy1.csv", [
        ("HS-1", "Phường Ba Đình", "01/03/2025 08:00", None, "Đang xử lý", "Trực tuyến"),
        ("HS-2", "Phường Ba Đình", "01/03/2025 09:00", "05/03/2025 10:00", "Đã trả kết quả", "Trực tiếp"),
        ("HS-3", "Phường Ba Đình", "02/03/2025 09:00", "04/03/2025 10:00", "Đã xử lý xong", ""),
    ])


def test_import_then_reimport_changes_nothing(first_export, db_path):
    summary = pipeline.import_files([first_export], db_path=db_path, user="cán bộ A")
    result = summary.files[0]
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 3, 3, 0)
    assert summary.any_loaded and summary.ok
    before = (file_digest(db_path), os.stat(db_path).st_ino)

    again = pipeline.import_files([first_export], db_path=db_path)
    assert again.files[0].status == "duplicate_file"
    assert re.fullmatch(r"Tệp đã được nạp lúc \d\d/\d\d/\d{4} \d\d:\d\d \(lần nạp #1\)", again.files[0].message)
    assert not again.any_loaded and again.ok
    assert (file_digest(db_path), os.stat(db_path).st_ino) == before  # byte for byte, same file

    imports = dbmod.Database(db_path).query_rows(
        "SELECT import_id, file_name, format, status, rows_read, rows_loaded, imported_by, unit_code FROM imports")
    ba_dinh = dbmod.Database(db_path).query_rows("SELECT code FROM units WHERE name = 'Phường Ba Đình' AND in_catalogue")[0][0]
    assert imports == [(1, "quy1.csv", "csv", "loaded", 3, 3, "cán bộ A", ba_dinh)]


def test_duplicate_inside_a_run_with_new_file_leaves_rows_unchanged(first_export, tmp_path, db_path):
    pipeline.import_files([first_export], db_path=db_path)
    rows_before = dossiers(db_path)
    other = write_csv(tmp_path / "khac.csv", [("HS-9", "Phường Ba Đình", "03/03/2025", None, "4", "2")])
    summary = pipeline.import_files([first_export, other, other], db_path=db_path)
    assert [f.status for f in summary.files] == ["duplicate_file", "loaded", "duplicate_file"]
    rows_after = dossiers(db_path)
    assert rows_after[:3] == rows_before and rows_after[3][0] == "HS-9"


def _create_with_primary_key(db_path) -> None:
    """A database file as schema version 1 made it: ``dossiers`` with PRIMARY KEY (source, dossier_code)."""
    from motcua.schema import DOSSIER_COLUMNS

    with dbmod.write_transaction(db_path) as con:
        con.execute("DROP TABLE dossiers")
        con.execute("CREATE TABLE dossiers (" + ", ".join(f"{n} {t}" for n, t in DOSSIER_COLUMNS.items())
                    + ", PRIMARY KEY (source, dossier_code))")


@pytest.mark.parametrize("legacy_primary_key", [False, True], ids=["schema-2", "schema-1-primary-key"])
def test_overlapping_exports_newer_state_wins(first_export, tmp_path, db_path, legacy_primary_key):
    if legacy_primary_key:
        _create_with_primary_key(db_path)
    pipeline.import_files([first_export], db_path=db_path)
    later = write_csv(tmp_path / "quy1-xuat-lai.csv", [
        ("HS-1", "Phường Ba Đình", "01/03/2025 08:00", "06/03/2025 16:00", "Đã trả kết quả", "Trực tuyến"),  # newer
        ("HS-2", "Phường Ba Đình", "01/03/2025 09:00", None, "Đang xử lý", "Trực tiếp"),  # older state
        ("HS-3", "Phường Ba Đình", "02/03/2025 09:00", "04/03/2025 10:00", "10", ""),  # same state_at: tie
        ("HS-4", "Phường Ba Đình", "07/03/2025 09:00", None, "2", ""),  # new
    ])
    result = pipeline.import_files([later], db_path=db_path).files[0]
    assert (result.rows_loaded, result.rows_new, result.rows_updated, result.rows_older) == (4, 1, 2, 1)
    rows = {r[0]: r for r in dossiers(db_path)}
    assert rows["HS-1"][1:3] == (10, "Đã trả kết quả") and rows["HS-1"][4] == 2
    assert rows["HS-2"][1:3] == (10, "Đã trả kết quả") and rows["HS-2"][4] == 1  # stored newer state kept
    assert rows["HS-3"][2] == "10" and rows["HS-3"][4] == 2  # tie: the later import wins
    assert rows["HS-4"][1] == 2
    again = write_csv(tmp_path / "quy1-lan-3.csv", [
        ("HS-4", "Phường Ba Đình", "07/03/2025 09:00", "08/03/2025 10:00", "10", ""),  # newer
        ("HS-5", "Phường Ba Đình", "07/03/2025 10:00", None, "2", ""),  # new
    ])
    pipeline.import_files([again], db_path=db_path)
    keys = dbmod.Database(db_path).query_rows(
        "SELECT count(*), count(DISTINCT (source, dossier_code)) FROM dossiers")[0]
    assert keys == (5, 5)  # one row per key, with or without a PRIMARY KEY
    assert {r[0]: r[1] for r in dossiers(db_path)}["HS-4"] == 10


def test_rejects_are_recorded_with_file_row_column_and_value(tmp_path, db_path):
    export = write_csv(tmp_path / "loi.csv", [
        ("HS-1", "Phường Ba Đình", "01/03/2025", None, "4", ""),
        ("HS-2", "Phường Ba Đình", "12/31/2025", None, "4", ""),
        ("HS-3", "Phường Ba Đình", "13/03/2025", None, "Đang bay", ""),  # day-first: 12/31 is one bad value
        ("HS-1", "Phường Ba Đình", "01/03/2025", "02/03/2025", "10", ""),
    ])
    result = pipeline.import_files([export], db_path=db_path).files[0]
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 4, 1, 3)
    assert result.reject_samples[0]["row_number"] == 2
    rejects = dbmod.Database(db_path).query_rows(
        "SELECT import_id, file_name, row_number, column_name, raw_value, reason FROM rejects ORDER BY row_number")
    assert rejects == [
        (1, "loi.csv", 2, "Mã hồ sơ", "HS-1", "Mã hồ sơ trùng trong tệp; giữ dòng 5"),
        (1, "loi.csv", 3, "Ngày tiếp nhận", "12/31/2025",
         "Không đọc được ngày '12/31/2025' ở cột 'Ngày tiếp nhận' (dạng hợp lệ: dd/mm/yyyy hoặc dd/mm/yyyy HH:MM)"),
        (1, "loi.csv", 4, "Trạng thái", "Đang bay", "Trạng thái 'Đang bay' không nhận diện được"),
    ]


def test_unreadable_file_is_recorded_failed_and_the_run_goes_on(first_export, tmp_path, db_path):
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    summary = pipeline.import_files([broken, first_export], db_path=db_path)
    failed, loaded = summary.files
    assert failed.status == "failed" and "hong.xlsx" in failed.message
    assert loaded.status == "loaded" and loaded.rows_loaded == 3
    statuses = dbmod.Database(db_path).query_rows("SELECT file_name, status, message FROM imports ORDER BY import_id")
    assert statuses[0][:2] == ("hong.xlsx", "failed") and statuses[0][2] == failed.message
    # A failed file is not a duplicate: it can be imported again once fixed.
    assert pipeline.import_files([broken], db_path=db_path).files[0].status == "failed"


def test_file_without_unit_fails_unless_unit_option(tmp_path, db_path):
    export = write_csv(tmp_path / "khong-don-vi.csv", [("HS-1", "01/03/2025", "4")],
                       header=["Mã hồ sơ", "Ngày tiếp nhận", "Trạng thái"])
    failed = pipeline.import_files([export], db_path=db_path)
    assert not failed.ok and "--unit" in failed.files[0].message
    loaded = pipeline.import_files([export], db_path=db_path, unit="Phường Ba Đình").files[0]
    assert loaded.status == "loaded"
    code = dbmod.Database(db_path).query_rows("SELECT receiving_unit_code, resolving_unit_code FROM dossiers")
    assert code == [(loaded.unit_code, loaded.unit_code)]


def test_bad_unit_option_raises_before_anything_is_written(first_export, db_path):
    pipeline.import_files([first_export], db_path=db_path)
    before = file_digest(db_path)
    other = first_export.with_name("khac.csv")
    other.write_bytes(first_export.read_bytes() + b"HS-8;;03/03/2025;;4;\n")
    with pytest.raises(unitsmod.UnitError):
        pipeline.import_files([other], db_path=db_path, unit="Xã Tân Tiến")  # ambiguous name
    assert file_digest(db_path) == before


def test_exception_mid_run_leaves_published_file_unchanged(first_export, tmp_path, db_path, monkeypatch):
    pipeline.import_files([first_export], db_path=db_path)
    before = file_digest(db_path)
    second = write_csv(tmp_path / "b.csv", [("HS-7", "Phường Ba Đình", "03/03/2025", None, "4", "")])
    third = write_csv(tmp_path / "c.csv", [("HS-8", "Phường Ba Đình", "03/03/2025", None, "4", "")])
    real_load = pipeline._load_table
    calls = []

    def load_then_fail(con, normalizer, result, unit_codes, **options):
        calls.append(result.file_name)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return real_load(con, normalizer, result, unit_codes, **options)

    monkeypatch.setattr(pipeline, "_load_table", load_then_fail)
    with pytest.raises(OSError):
        pipeline.import_files([second, third], db_path=db_path)
    assert calls == ["b.csv", "c.csv"]
    assert file_digest(db_path) == before  # b.csv was processed but nothing was published
    assert not glob.glob(str(db_path) + ".tmp-*")
    monkeypatch.undo()
    assert pipeline.import_files([second, third], db_path=db_path).any_loaded


def test_files_are_read_one_ahead_in_order_and_never_twice(first_export, tmp_path, db_path, monkeypatch):
    """The next file is parsed on a worker thread while the current one is written: each new file is read
    exactly once (a file repeated in the run or already loaded is not read), results keep the given order,
    and a read never starts before the file two places earlier is written (two files in memory at most)."""
    import threading

    from loaders import isolate

    pipeline.import_files([first_export], db_path=db_path)
    files = [write_csv(tmp_path / f"f{i}.csv", [(f"HS-{i}0", "Phường Ba Đình", "03/03/2025", None, "4", "")])
             for i in range(5)]
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    events, lock = [], threading.Lock()
    real_read, real_import = isolate.parse_in_child, pipeline.import_raw_tables

    def record(*event):
        with lock:
            events.append(event)

    def read_file(path, *, file_name=None):
        record("read", file_name, threading.current_thread().name)
        return real_read(path, file_name=file_name)

    def import_raw_tables(con, tables, *, file_name, **kwargs):
        result = real_import(con, tables, file_name=file_name, **kwargs)
        record("written", file_name, threading.current_thread().name)
        return result

    monkeypatch.setattr(isolate, "parse_in_child", read_file)
    monkeypatch.setattr(pipeline, "import_raw_tables", import_raw_tables)
    run = [files[0], first_export, files[1], broken, files[2], files[1], files[3], files[4]]
    summary = pipeline.import_files(run, db_path=db_path)
    assert [f.status for f in summary.files] == ["loaded", "duplicate_file", "loaded", "failed", "loaded",
                                                 "duplicate_file", "loaded", "loaded"]
    reads = [name for kind, name, _ in events if kind == "read"]
    assert reads == ["f0.csv", "f1.csv", "hong.xlsx", "f2.csv", "f3.csv", "f4.csv"]
    assert all(thread.startswith("motcua-read") for kind, _, thread in events if kind == "read")
    position = {(kind, name): index for index, (kind, name, _) in enumerate(events)}
    written = [name for kind, name, _ in events if kind == "written"]  # the broken file is never written
    assert written == ["f0.csv", "f1.csv", "f2.csv", "f3.csv", "f4.csv"]
    order = ["f0.csv", "f1.csv", "hong.xlsx", "f2.csv", "f3.csv", "f4.csv"]
    for earlier, later in zip(order[:-2], order[2:], strict=True):
        if earlier != "hong.xlsx":
            assert position[("read", later)] > position[("written", earlier)]


def test_rejects_of_a_several_sheet_workbook_name_their_sheet(make_xlsx, dossier_rows, db_path):
    """Row numbers restart on every sheet, so a reject from a workbook with several tables names its sheet."""
    # Open dossiers: a resolved status without an end date would be a second reject (see test_vendor_layouts).
    dossier_rows = [dossier_rows[0], *([*row[:7], "Đang xử lý"] for row in dossier_rows[1:])]
    bad = [*dossier_rows[:2], [9, "HS-9", "Đăng ký khai sinh", "", "", "31/02/2023", "", "Đang xử lý"]]
    path = make_xlsx("hai-quy.xlsx", {"Quý 1": dossier_rows, "Quý 2": bad})
    result = pipeline.import_files([path], db_path=db_path, unit="Phường Ba Đình").files[0]
    assert (result.rows_loaded, result.rows_rejected) == (4, 1)
    rejects = dbmod.Database(db_path).query_rows("SELECT row_number, column_name, reason FROM rejects")
    assert rejects == [(3, "Ngày tiếp nhận", "Trang tính 'Quý 2': Không đọc được ngày '31/02/2023' ở cột "
                        "'Ngày tiếp nhận' (dạng hợp lệ: dd/mm/yyyy hoặc dd/mm/yyyy HH:MM)")]
    assert result.reject_samples[0]["reason"].startswith("Trang tính 'Quý 2': ")
    single = make_xlsx("mot-quy.xlsx", {"Quý 2": bad})
    alone = pipeline.import_files([single], db_path=db_path, unit="Phường Ba Đình").files[0]
    assert alone.reject_samples[0]["reason"].startswith("Không đọc được ngày")  # one sheet: no prefix


def test_procedure_catalogue_and_procedures_seen_in_dossiers(db_path):
    catalogue = RawTable("danh-muc.xlsx", "xlsx", "local", "procedures", pa.table({
        "source_row": pa.array([2], pa.int32()), "procedure_code": ["1.001193"],
        "procedure_name": ["Đăng ký khai sinh"], "dvc_level": ["Toàn trình"], "legal_days": ["3"],
    }))
    dossier_table = RawTable("hs.csv", "csv", "local", "dossiers", pa.table({
        "source_row": pa.array([2, 3], pa.int32()), "dossier_code": ["A", "B"],
        "received_at": ["01/03/2025", "01/03/2025"], "procedure_code": ["1.001193", "2.000908"],
        "procedure_name": ["Khai sinh (tên khác)", "Chứng thực bản sao"], "dvc_level": ["Một phần", "Một phần"],
    }), title_unit="UBND phường Ba Đình")
    with dbmod.write_transaction(db_path) as con:
        unitsmod.seed_units(con)
        first = pipeline.import_raw_tables(con, [catalogue], file_name="danh-muc.xlsx", sha256="a")
        second = pipeline.import_raw_tables(con, [dossier_table], file_name="hs.csv", sha256="b")
    assert (first.kind, first.rows_loaded, second.rows_loaded) == ("procedures", 1, 2)
    rows = dbmod.Database(db_path).query_rows("SELECT * FROM procedures ORDER BY procedure_code")
    assert rows == [
        ("1.001193", "Đăng ký khai sinh", None, None, "toan_trinh", None, 3.0, True),  # catalogue kept
        ("2.000908", "Chứng thực bản sao", None, None, "mot_phan", None, None, False),
    ]
    unit = dbmod.Database(db_path).query_rows("SELECT DISTINCT receiving_unit_code FROM dossiers")
    assert unit == [(second.unit_code,)] and second.unit_code.isdigit()  # title unit resolved


def test_progress_events_and_summary_dict(first_export, db_path):
    events = []
    summary = pipeline.import_files([first_export], db_path=db_path, progress=events.append)
    stages = [e.stage for e in events]
    assert stages[0] == "reading" and "done" in stages and stages[-1] == "publishing"
    data = summary.to_dict()
    assert data["totals"]["rows_loaded"] == 3 and data["any_loaded"] is True
    assert set(data["files"][0]) >= {"file_name", "format", "status", "rows_read", "rows_loaded",
                                     "rows_rejected", "message", "import_id"}


def test_older_export_imported_later_does_not_reopen_a_finished_dossier(tmp_path, db_path):
    header = ["Mã hồ sơ", "Đơn vị tiếp nhận", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý", "Trạng thái"]
    newer = write_csv(tmp_path / "q3.csv", [("HS-1", "Phường Ba Đình", "10/09/2025", "20/09/2025", "18/09/2025", "10")],
                      header=header)
    older = write_csv(tmp_path / "q3-xuat-15-09.csv",
                      [("HS-1", "Phường Ba Đình", "10/09/2025", "20/09/2025", None, "Đang xử lý")], header=header)
    summary = pipeline.import_files([newer, older], db_path=db_path)
    assert summary.files[1].rows_older == 1  # the due date is a deadline, not a newer state
    assert dossiers(db_path)[0][1] == 10


def test_missing_file_is_recorded_failed(first_export, tmp_path, db_path):
    summary = pipeline.import_files([tmp_path / "khong-co.csv", first_export], db_path=db_path)
    assert [f.status for f in summary.files] == ["failed", "loaded"]
    assert "khong-co.csv" in summary.files[0].message

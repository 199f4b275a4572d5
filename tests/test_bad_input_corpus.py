"""Every malformed/hostile file of ``tests/corpus/build.py`` against a database holding a good import.

For each file: no uncaught exception; a Vietnamese file-level message or quarantined rows with reasons;
and the rows of the earlier good import byte-for-byte unchanged (count + checksum over every column).
A file-level failure must not add a single dossier.
"""

from __future__ import annotations

import re
import time

import pytest
from corpus.build import build_corpus, good_export

from loaders.pipeline import STATUS_FAILED, STATUS_LOADED, import_files
from motcua import db

VIETNAMESE_RE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I)
SLOW_FILE_SECONDS = 20  # a hostile file must be refused or read quickly, never hang the import

_CHECKSUM_SQL = """
    SELECT count(*), coalesce(sum(CAST(hash(d) AS HUGEINT)), 0) FROM dossiers d
    WHERE import_id IN (SELECT import_id FROM imports WHERE file_name = 'good.csv')
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return {case.name: case for case in build_corpus(tmp_path_factory.mktemp("corpus"))}


@pytest.fixture(scope="module")
def good_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpusdb")
    path = folder / "kpi.duckdb"
    summary = import_files([good_export(folder / "good.csv")], db_path=path)
    assert summary.files[0].status == STATUS_LOADED and summary.files[0].rows_rejected == 0
    return path


def _state(path):
    database = db.Database(path)
    good = database.query_rows(_CHECKSUM_SQL)[0]
    total = database.query_rows("SELECT count(*) FROM dossiers")[0][0]
    return good, total


def test_corpus_has_at_least_30_hostile_inputs(corpus):
    assert len(corpus) >= 30
    assert {case.expect for case in corpus.values()} == {"file", "rows", "any"}


def _case_names():
    # Names only (the files are built in tmp_path by the fixture); keep in step with build_corpus.
    import inspect

    from corpus import build

    return re.findall(r'add\("([a-z0-9_]+)"', inspect.getsource(build.build_corpus))


@pytest.mark.parametrize("name", _case_names())
def test_hostile_input_is_refused_or_quarantined(name, corpus, good_db):
    case = corpus[name]
    good_before, total_before = _state(good_db)
    started = time.monotonic()
    summary = import_files([case.path], db_path=good_db)  # any uncaught exception fails the test
    elapsed = time.monotonic() - started
    result = summary.files[0]
    good_after, total_after = _state(good_db)
    print(f"\n[corpus] {name}: {result.status} read={result.rows_read} loaded={result.rows_loaded} "
          f"rejected={result.rows_rejected} {elapsed:.2f}s :: {result.message[:160]}")

    assert good_after == good_before, "the earlier good import changed"
    assert elapsed < SLOW_FILE_SECONDS
    if result.status == STATUS_FAILED:
        assert case.expect in ("file", "any"), f"unexpected file-level failure: {result.message}"
        assert total_after == total_before, "a failed file added dossiers"
        assert VIETNAMESE_RE.search(result.message), result.message
        assert result.file_name == case.path.name  # shown next to the message by the CLI and the Data page
        if case.message:
            assert case.message.lower() in result.message.lower(), result.message
        return
    assert case.expect in ("rows", "any"), f"expected a file-level refusal, got: {result.status} {result.message}"
    assert result.status == STATUS_LOADED
    if case.expect == "rows":
        reasons = db.Database(good_db).query_rows("SELECT reason FROM rejects WHERE import_id = ?", [result.import_id])
        assert result.rows_rejected > 0 and reasons, "bad rows were loaded without a reject reason"
        assert all(VIETNAMESE_RE.search(r[0]) for r in reasons)
        if case.reason:
            assert any(case.reason.lower() in r[0].lower() for r in reasons), reasons[:5]


def test_sql_text_is_stored_as_data(corpus, good_db):
    """Text that looks like SQL stays text: the tables it names are still there and it is stored verbatim."""
    import_files([corpus["sql_injection_text"].path], db_path=good_db)
    database = db.Database(good_db)
    assert database.query_rows("SELECT count(*) FROM units")[0][0] > 3000
    stored = database.query_rows("SELECT count(*) FROM dossiers WHERE dossier_code = ?",
                                 ["R7-'; DROP TABLE dossiers; --"])[0][0]
    assert stored == 1


def test_no_personal_data_or_script_reaches_the_database(corpus, good_db):
    import_files([corpus["json_wrong_types"].path, corpus["html_with_scripts"].path,
                  corpus["xml_external_entity"].path], db_path=good_db)
    database = db.Database(good_db)
    text_columns = ["dossier_code", "procedure_name", "procedure_code", "status_raw", "field_name"]
    for needle in ("Nguyễn Văn A", "0912345678", "<script", "alert(", "root:x:0:0"):
        for column in text_columns:
            hits = database.query_rows(f"SELECT count(*) FROM dossiers WHERE contains({column}, ?)", [needle])[0][0]
            assert hits == 0, (needle, column)

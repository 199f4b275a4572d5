"""Parquet lake: layout, manifest, incremental re-export, and the same KPIs from DuckDB over the lake."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pandas as pd
import pytest

from motcua import lake as lakemod
from motcua import metrics
from motcua.db import Database, DatabaseUnavailable, write_transaction
from motcua.filters import Scope
from motcua.periods import custom_period, parse_period
from motcua.sql_dialect import QueryEngine
from tests.dbfactory import build_db, commune_codes, make_dossiers


def _two_provinces() -> list[str]:
    """Two communes of Hà Nội and one of another province (three partitions of 2026)."""
    from motcua import units

    catalogue = units.catalogue_frame()
    communes = catalogue[catalogue["level"] == "commune"]
    other = communes[communes["province_code"] != communes.iloc[0]["province_code"]].iloc[0]["code"]
    return [*commune_codes()[:2], str(other)]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    codes = _two_provinces()
    frame = pd.concat([make_dossiers(900, codes, datetime(2025, 11, 2), datetime(2026, 9, 30)),
                       make_dossiers(50, codes[2:], datetime(2026, 1, 2), datetime(2026, 3, 30), seed=3)
                       .assign(dossier_code=lambda f: "B-" + f["dossier_code"])])
    path = build_db(root / "m.duckdb", frame)
    out = root / "lake"
    result = lakemod.export(path, out)
    return {"db": path, "lake": out, "result": result, "codes": codes}


def test_layout_string_partitions_codes_inside_one_file_each(published):
    out = published["lake"]
    facts = sorted(p.relative_to(out).as_posix() for p in (out / "kpi_facts").rglob("*.parquet"))
    assert len(facts) == 4  # 2 provinces × 2 years (2025, 2026): one file per partition, no tiny files
    assert all(p.split("/")[1].startswith("p_province=") and p.split("/")[2].startswith("p_year=") for p in facts)
    first = out / facts[0]
    columns = [row[0] for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{first}', hive_partitioning = false)").fetchall()]
    assert "receiving_unit_code" in columns and "p_province" not in columns and "p_year" not in columns
    manifest = lakemod.read_manifest(out)
    part = next(iter(manifest["tables"]["kpi_facts"]["partitions"].values()))
    assert isinstance(part["values"]["p_province"], str) and len(part["values"]["p_province"]) == 2
    engine = lakemod.LakeDatabase(out)
    kinds = dict(engine.query_rows("SELECT column_name, column_type FROM (DESCRIBE kpi_facts)"))
    assert kinds["p_province"] == "VARCHAR" and kinds["p_year"] == "VARCHAR"  # '01' never becomes 1


def test_manifest_counts_and_checksums(published):
    manifest = lakemod.read_manifest(published["lake"])
    assert manifest["schema_version"] == lakemod.LAKE_SCHEMA_VERSION
    database = Database(published["db"])
    for table in ("dossiers", "kpi_facts", "kpi_cube", "units", "procedures"):
        rows = sum(p["rows"] for p in manifest["tables"][table]["partitions"].values())
        assert rows == database.query_rows(f"SELECT count(*) FROM {table}")[0][0], table
        assert all(len(f["sha256"]) == 64 for p in manifest["tables"][table]["partitions"].values()
                   for f in p["files"])
    assert lakemod.verify(published["lake"]) == []


def test_verify_reports_a_changed_file(tmp_path, published):
    import shutil

    copy = tmp_path / "lake"
    shutil.copytree(published["lake"], copy)
    victim = next(copy.joinpath("units").glob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    assert lakemod.verify(copy) == [f"Tệp {victim.relative_to(copy).as_posix()} khác tổng kiểm (sha256)"]


def test_no_personal_data_columns(published):
    """The dossier files carry exactly the database columns (checked PII-free by test_pii), nothing more."""
    from motcua.schema import DOSSIER_COLUMNS

    manifest = lakemod.read_manifest(published["lake"])
    assert [c for c, _kind in manifest["tables"]["dossiers"]["columns"]] == list(DOSSIER_COLUMNS)
    engine = lakemod.LakeDatabase(published["lake"])
    columns = [row[0] for row in engine.query_rows("SELECT column_name FROM (DESCRIBE dossiers)")]
    assert columns == [*DOSSIER_COLUMNS, "p_province", "p_year"]


def test_reexport_writes_only_changed_partitions(tmp_path):
    codes = _two_provinces()
    path = build_db(tmp_path / "m.duckdb", make_dossiers(400, codes, datetime(2026, 1, 2), datetime(2026, 6, 30)))
    out = tmp_path / "lake"
    first = lakemod.export(path, out)
    assert {w.split("/")[0] for w in first.written} == {"dossiers", "kpi_facts", "kpi_cube", "units", "procedures",
                                                        "imports", "meta", "workday_calendar"}
    untouched = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    again = lakemod.export(path, out)
    assert again.written == [] and {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == untouched
    # New dossiers of the third commune only (another province): its partitions alone are rewritten.
    extra = make_dossiers(30, codes[2:], datetime(2026, 7, 1), datetime(2026, 7, 20), seed=5)
    extra["dossier_code"] = "N-" + extra["dossier_code"]
    with write_transaction(path) as con:
        con.execute("INSERT INTO dossiers SELECT * FROM extra")
    changed = lakemod.export(path, out)
    manifest = lakemod.read_manifest(out)
    other_province = [k for k in manifest["tables"]["kpi_facts"]["partitions"] if not k.startswith("01/")]
    assert sorted(changed.written) == sorted([f"dossiers/{other_province[0]}", f"kpi_facts/{other_province[0]}",
                                              f"kpi_cube/{other_province[0].split('/')[0]}"])
    assert lakemod.verify(out) == []
    kept = [p for p in untouched if p.exists()]
    assert kept and all(p.stat().st_mtime_ns == untouched[p] for p in kept)
    # Replaced files are gone once the new manifest is in place.
    listed = {f["path"] for t in manifest["tables"].values() for p in t["partitions"].values() for f in p["files"]}
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.parquet")} == listed
    counts = lakemod.LakeDatabase(out).query_rows("SELECT count(*) FROM dossiers")[0][0]
    assert counts == 430


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


def test_duckdb_over_the_lake_gives_the_database_answers(published):
    database, lake = Database(published["db"]), lakemod.LakeDatabase(published["lake"])
    assert isinstance(lake, QueryEngine)
    codes = tuple(published["codes"])
    for scope in (Scope(), Scope(unit_codes=codes[:1]), Scope(unit_codes=codes, field_names=("Hộ tịch",))):
        for period in (parse_period("2026Q1"), custom_period(date(2025, 12, 3), date(2026, 2, 20))):
            assert metrics.compute_kpis(database, scope, period) == metrics.compute_kpis(lake, scope, period)
            _frames_equal(metrics.league_table(database, scope, period), metrics.league_table(lake, scope, period))
        _frames_equal(metrics.dossier_list(database, scope, period, "late"),
                      metrics.dossier_list(lake, scope, period, "late"))
        now = datetime(2026, 10, 1)
        _frames_equal(metrics.data_quality(database, scope, now=now), metrics.data_quality(lake, scope, now=now))


def test_lake_engine_sees_a_new_export(tmp_path):
    codes = commune_codes()[:1]
    path = build_db(tmp_path / "m.duckdb", make_dossiers(40, codes, datetime(2026, 1, 2), datetime(2026, 3, 1)))
    out = tmp_path / "lake"
    lakemod.export(path, out)
    engine = lakemod.LakeDatabase(out)
    assert engine.query_rows("SELECT count(*) FROM kpi_facts")[0][0] == 40
    extra = make_dossiers(5, codes, datetime(2026, 3, 2), datetime(2026, 3, 9), seed=9)
    extra["dossier_code"] = "N-" + extra["dossier_code"]
    with write_transaction(path) as con:
        con.execute("INSERT INTO dossiers SELECT * FROM extra")
    lakemod.export(path, out)
    assert engine.query_rows("SELECT count(*) FROM kpi_facts")[0][0] == 45


def test_missing_or_foreign_lake_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseUnavailable, match="Không có kho Parquet"):
        lakemod.LakeDatabase(tmp_path / "nowhere").version()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / lakemod.MANIFEST).write_text(json.dumps({"schema_version": 0}))
    with pytest.raises(lakemod.LakeError, match="phiên bản 0"):
        lakemod.read_manifest(tmp_path / "old")


class _ReversedEngine:
    """Same answers in the opposite row order (as another engine may return groups)."""

    dialect = "duckdb"

    def __init__(self, inner):
        self.inner = inner

    def query_df(self, sql, params=None):
        return self.inner.query_df(sql, params).iloc[::-1].reset_index(drop=True)

    def explain(self, sql):
        return sql


def test_league_ties_are_broken_by_unit_code():
    from tests.kpi_fixtures import make_db

    con = make_db([{"receiving_unit_code": code, "received_at": "2026-07-02"} for code in ("10001", "10002")])
    con.execute("UPDATE units SET name = 'Xã Tân Tiến' WHERE code IN ('10001', '10002')")
    database = _Wrapped(con)
    period = parse_period("2026Q3")
    straight = metrics.league_table(database, Scope(), period)
    reversed_ = metrics.league_table(_ReversedEngine(database), Scope(), period)
    assert straight["key"].tolist() == reversed_["key"].tolist() == ["10001", "10002"]


class _Wrapped:
    dialect = "duckdb"

    def __init__(self, con):
        self.con = con

    def query_df(self, sql, params=None):
        cur = self.con.cursor()
        try:
            return cur.execute(sql, list(params or [])).df()
        finally:
            cur.close()

    def explain(self, sql):
        return sql


def test_a_commune_query_reads_only_its_province_partitions(tmp_path, published):
    import shutil

    copy = tmp_path / "lake"
    shutil.copytree(published["lake"], copy)
    engine = lakemod.LakeDatabase(copy)
    # Partitions follow the receiving unit as recorded: that filter prunes (the default, resolving unit under
    # the current boundaries, may lie in another province and reads every partition).
    own = Scope(unit_codes=(published["codes"][0],), unit_role="receiving", boundaries="recorded")
    period = custom_period(date(2026, 1, 5), date(2026, 2, 20))  # the facts path (not the cube)
    expected = metrics.compute_kpis(Database(published["db"]), own, period)
    province = engine.provinces()[published["codes"][0]]
    for path in copy.rglob("*.parquet"):  # every other province's files become unreadable
        parts = path.relative_to(copy).parts
        if parts[0] in ("kpi_facts", "kpi_cube") and (parts[1] != f"p_province={province}"):
            path.write_bytes(b"not parquet")
    assert metrics.compute_kpis(engine, own, period) == expected
    assert metrics.compute_kpis(engine, own, parse_period("2026Q1")) == \
        metrics.compute_kpis(Database(published["db"]), own, parse_period("2026Q1"))
    assert "d.p_province = ?" in engine.explain("SELECT 1 FROM kpi_facts d WHERE d.receiving_unit_code = ?")

"""`MOTCUA_LAKE=DIR make run`: every dashboard page over a Parquet lake, with the database's numbers."""

from __future__ import annotations

import dbfactory
import pytest
from test_apptest_pages import PAGES, page_app, run, texts

from motcua import lake as lakemod

pytestmark = pytest.mark.apptest


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake-dashboard")
    path = dbfactory.sample_db(folder / "sample.duckdb")
    lakemod.export(path, folder / "lake")
    return path, folder / "lake"


@pytest.mark.parametrize("module", list(PAGES))
def test_page_over_the_lake_shows_the_database_numbers(module, exported, monkeypatch):
    path, lake = exported
    monkeypatch.setenv("MOTCUA_DB", str(path))
    monkeypatch.delenv("MOTCUA_LAKE", raising=False)
    from_db = run(page_app(module))
    monkeypatch.setenv("MOTCUA_LAKE", str(lake))
    from_lake = run(page_app(module))
    assert texts(from_lake.title) == [PAGES[module]]
    assert [(m.label, m.value) for m in from_lake.metric] == [(m.label, m.value) for m in from_db.metric]
    if module == "du_lieu":
        assert any("kho Parquet (chỉ đọc)" in c for c in texts(from_lake.caption))
    elif module == "so_sanh":
        assert from_lake.dataframe[0].value.equals(from_db.dataframe[0].value)

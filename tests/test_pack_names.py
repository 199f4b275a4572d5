"""Batch-zip folder and file names are valid on Windows (issue 12 item 12)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

import dbfactory
import pytest

from motcua import db as dbmod
from motcua import metrics, periods
from motcua.report import pack

HOSTILE = ('Xã <Tứ> "Kỳ"!', "CON", 'a/b\\c|d?e*f:g.', "LPT1. ")
WINDOWS_BAD = re.compile(r'[<>:"\\|?*!\x00-\x1f]')
RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def _windows_valid(part: str) -> bool:
    return bool(part) and not WINDOWS_BAD.search(part) and not part.endswith((".", " ")) \
        and not RESERVED.match(part)


@pytest.mark.parametrize("name", [*HOSTILE, "Xã Tứ Kỳ", "...", "", "nul.txt", "Com9"])
def test_safe_name_is_valid_on_windows(name):
    assert _windows_valid(pack.safe_name(name))
    assert len(pack.safe_name(name * 40)) <= pack.MAX_STEM + 1


def test_ordinary_names_keep_their_slug():
    period = periods.parse_period("2026Q3")
    assert pack.pack_stem("Xã Tứ Kỳ", period) == f"xa-tu-ky_{period.file_code}"


def test_batch_zip_entries_are_valid_windows_paths(tmp_path):
    codes = dbfactory.commune_codes() + dbfactory.commune_codes(("Xã Tứ Kỳ",))
    frame = dbfactory.make_dossiers(200, codes, datetime(2026, 1, 2), datetime(2026, 3, 30))
    path = dbfactory.build_db(tmp_path / "m.duckdb", frame)
    with dbmod.write_transaction(path) as con:
        for code, name in zip(codes, HOSTILE, strict=True):
            con.execute("UPDATE units SET name = ? WHERE code = ?", [name, code])
    name, content = pack.batch_zip_bytes(dbmod.Database(path), periods.parse_period("2026Q1"),
                                         metrics.Settings(), with_charts=False)
    entries = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert len(entries) == 1 + 2 * len(codes)
    bad = [e for e in [name, *entries] if not all(_windows_valid(p) for p in e.split("/"))]
    assert bad == []

"""End to end against a real commune report: Xã Phượng Kỳ, báo cáo CCHC 2023 (seeds/bao-cao-cchc-2023-phuong-ky).

"Tính đến ngày 31/7/2023 ... 907, trong đó, trực tuyến: 892; trực tiếp: 15. Số lượng hồ sơ đã giải quyết: 907;
trong đó, giải quyết trước hạn: 907 ... Số hóa đầy đủ thành phần hồ sơ khi tiếp nhận là 100%, số hóa kết quả
hồ sơ giải quyết là 100%." The reference export is loaded with `motcua load`, then `motcua kpi` must give
every one of those figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

REFERENCE = Path(__file__).resolve().parent.parent / "sample_data" / "reference" / "phuong-ky-2023.xlsx"
KPI_ARGS = ["--unit", "Xã Phượng Kỳ", "--from", "2022-12-10", "--to", "2023-07-31"]

pytestmark = pytest.mark.skipif(not REFERENCE.exists(),
                                reason=f"reference export {REFERENCE.name} not generated yet (sample_data helper)")


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory):
    from cli.main import main

    db_path = str(tmp_path_factory.mktemp("phuong_ky") / "phuong-ky.duckdb")
    result = CliRunner().invoke(main, ["load", str(REFERENCE), "--db", db_path])
    assert result.exit_code == 0, result.output
    return db_path


def test_phuong_ky_2023_figures(loaded_db):
    from cli.main import main

    result = CliRunner().invoke(main, ["kpi", "--db", loaded_db, *KPI_ARGS, "--json"])
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.output)
    assert kpis["received"] == {"total": 907, "carried_over": 0, "new": 907, "online": 892, "direct": 15,
                                "postal": 0, "non_territorial": None, "non_territorial_known": 0}
    assert kpis["resolved"] == {"total": 907, "early": 907, "on_time": 0, "late": 0}
    assert kpis["pending"] == {"total": 0, "within_deadline": 0, "overdue": 0, "waiting_supplement": 0}
    assert kpis["rates"]["online_rate"] == pytest.approx(892 / 907)
    assert kpis["rates"]["on_time_rate_resolved"] == 1.0
    assert kpis["rates"]["on_time_rate_766"] == 1.0
    assert kpis["rates"]["digitized_intake_rate"] == 1.0
    assert kpis["rates"]["electronic_result_rate"] == 1.0


def test_phuong_ky_2023_summary_text(loaded_db):
    from cli.main import main

    result = CliRunner().invoke(main, ["kpi", "--db", loaded_db, *KPI_ARGS])
    assert result.exit_code == 0, result.output
    assert "Tỷ lệ hồ sơ trực tuyến: 98,35%" in result.output
    assert "Số hồ sơ nhận giải quyết: 907" in result.output

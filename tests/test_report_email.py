"""`motcua report --all-units --email`: each commune's pack reaches that commune's chairs, and only them."""

from __future__ import annotations

import email
import email.policy
import io

import openpyxl
import pytest
from click.testing import CliRunner
from report_fixtures import build_report_db
from smtp_server import PASSWORD, smtp_server

from cli.main import main


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return str(build_report_db(tmp_path_factory.mktemp("report-email") / "motcua.duckdb", count=600))


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    for variable in ("MOTCUA_USERS", "MOTCUA_HOLIDAY_OVERRIDES", "MOTCUA_CONFIG_DIR"):
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "users.toml").write_text("""
[users."ct.tuky"]
role = "chair"
email = "ct.tuky@hp.gov.vn"
units = ["10001"]

[users."pct.tuky"]
role = "chair"
email = "pct.tuky@hp.gov.vn"
units = ["Xã Tứ Kỳ"]

[users."ct.ducthuan"]
role = "chair"
email = "ct.ducthuan@ht.gov.vn"
units = ["10003"]

[users."canbo.hp"]
role = "officer"
email = "canbo@hp.gov.vn"
units = ["01"]
""", encoding="utf-8")
    return folder


def unit_names_in_pack(message) -> set[str]:
    """Names of the communes that appear in the attached Biểu 06 workbook."""
    known = {"Xã Tứ Kỳ", "Xã Phượng Kỳ", "Phường Đức Thuận"}
    xlsx = next(p for p in message.iter_attachments() if p.get_filename().endswith(".xlsx"))
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()))
    text = " ".join(str(c) for s in workbook for row in s.iter_rows(values_only=True) for c in row if c).casefold()
    return {name for name in known if name.casefold() in text}


def test_each_commune_pack_goes_only_to_its_chairs(db_path, config_dir, tmp_path, monkeypatch):
    with smtp_server(tmp_path) as box:
        (config_dir / "motcua.toml").write_text(box.config_toml(), encoding="utf-8")
        monkeypatch.setenv("MOTCUA_TEST_SMTP_PASSWORD", PASSWORD)
        # Receiving attribution: every dossier in a pack was received by that commune, so no other unit's
        # name may appear (under the default resolving attribution a pack also lists, as their receiving
        # unit, the other communes whose dossiers this commune resolved: its own work, not a leak).
        result = CliRunner().invoke(main, ["report", "--db", db_path, "--all-units", "--email", "--period",
                                           "2026Q2", "--no-charts", "--config-dir", str(config_dir),
                                           "--attribution", "receiving"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        messages = list(box.messages)
    assert "Đã gửi 3 thư" in result.output
    assert "Không có người nhận (chủ tịch có email) cho 1 đơn vị: Xã Phượng Kỳ" in result.output
    by_recipient = {tuple(rcpt): message for rcpt, message in messages}
    assert set(by_recipient) == {("ct.tuky@hp.gov.vn",), ("pct.tuky@hp.gov.vn",), ("ct.ducthuan@ht.gov.vn",)}
    for address, unit in (("ct.tuky@hp.gov.vn", "Xã Tứ Kỳ"), ("pct.tuky@hp.gov.vn", "Xã Tứ Kỳ"),
                          ("ct.ducthuan@ht.gov.vn", "Phường Đức Thuận")):
        message = by_recipient[(address,)]
        assert message["Subject"] == f"[Một Cửa KPI] Bộ báo cáo Quý 2/2026 – {unit}"
        assert unit_names_in_pack(message) == {unit}
        names = sorted(p.get_filename() for p in message.iter_attachments())
        assert [n.rsplit(".", 1)[1] for n in names] == ["docx", "xlsx"] and all("2026Q2" in n for n in names)


def test_dry_run_writes_eml_and_email_needs_all_units(db_path, config_dir, tmp_path):
    out = tmp_path / "eml"
    result = CliRunner().invoke(main, ["report", "--db", db_path, "--all-units", "--email", "--dry-run", str(out),
                                       "--period", "2026Q2", "--no-charts", "--config-dir", str(config_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in out.glob("*.eml")]
    assert sorted(m["To"].addresses[0].addr_spec for m in parsed) == [
        "ct.ducthuan@ht.gov.vn", "ct.tuky@hp.gov.vn", "pct.tuky@hp.gov.vn"]
    wrong = CliRunner().invoke(main, ["report", "--db", db_path, "--unit", "10001", "--email", "--period",
                                      "2026Q2"])
    assert wrong.exit_code == 2 and "--email chỉ dùng với --all-units" in wrong.output

"""deploy/: every unit runs a real `motcua` command with real options; nginx matches the serve unit."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cli.main import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
README = Path(__file__).resolve().parent.parent / "README.md"
SERVICES = sorted(DEPLOY.glob("*.service"))


def exec_start(unit: Path) -> list[str]:
    (line,) = [line for line in unit.read_text(encoding="utf-8").splitlines() if line.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.parametrize("unit", SERVICES, ids=lambda p: p.name)
def test_unit_runs_an_existing_command_with_existing_options(unit):
    argv = exec_start(unit)
    assert argv[0] == "/opt/motcua/.venv/bin/motcua"
    command = main.commands[argv[1]]
    known = {opt for param in command.params for opt in param.opts}
    used = {token.split("=")[0] for token in argv[2:] if token.startswith("--")}
    assert used <= known, used - known
    text = unit.read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/motcua/motcua.env" in text and "User=motcua" in text


def test_timers_start_existing_services_and_the_four_commands_are_deployed():
    for timer in DEPLOY.glob("*.timer"):
        assert (DEPLOY / f"{timer.stem}.service").exists()
    assert {exec_start(unit)[1] for unit in SERVICES} == {"serve", "watch", "digest", "backup"}
    assert {t.stem for t in DEPLOY.glob("*.timer")} == {"motcua-digest", "motcua-backup"}


def test_nginx_proxies_the_serve_base_path_with_websocket_upgrade():
    argv = exec_start(DEPLOY / "motcua-serve.service")
    base, port = argv[argv.index("--base-path") + 1], argv[argv.index("--port") + 1]
    nginx = (DEPLOY / "nginx-motcua.conf").read_text(encoding="utf-8")
    assert f"location /{base}/ {{" in nginx and f"proxy_pass http://127.0.0.1:{port};" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "proxy_set_header Connection $connection_upgrade;" in nginx
    assert re.search(r"listen 443 ssl;", nginx) and "return 301 https://" in nginx


def test_readme_explains_every_deploy_file():
    readme = README.read_text(encoding="utf-8")
    for path in DEPLOY.iterdir():
        assert f"deploy/{path.name}" in readme, path.name

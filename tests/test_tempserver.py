"""The temporary Prefect server a manual CLI run starts when no server is configured."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows import tempserver
from flows.tempserver import TempServer, TempServerError, api_url_configured
from tests.helpers import wait_for

REPO = Path(__file__).resolve().parent.parent


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PYTHONPATH=str(REPO))
    return env


def _servers_of(home: Path) -> list[int]:
    """Pids of Prefect API servers whose PREFECT_HOME is `home`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"create_app" in cmdline and f"PREFECT_HOME={home}".encode() in environ:
            found.append(int(proc.name))
    return found


@pytest.mark.slow
def test_a_manual_run_uses_a_temporary_server_that_stops_with_it(tmp_path, sources_file):
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    cli = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--warehouse", str(warehouse), "--sources",
         str(sources_file), "backfill", "--source", "mirror", "--pages", "1-2"],
        env=_cli_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert cli.returncode == 0, cli.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (flow_run_id,) = con.execute("select flow_run_id from ingest_runs").fetchone()
        assert con.execute("select count(*) from articles").fetchone()[0] > 0
    # The run is in the database of Prefect's home, as an ephemeral run would be; and, as
    # with the ephemeral API, the lock file alone gave it its turn (no concurrency limit).
    with sqlite3.connect(tmp_path / "prefect" / "prefect.db") as db:
        state = db.execute("select state_type from flow_run where id = ?", [flow_run_id]).fetchone()
        limits = db.execute("select count(*) from concurrency_limit_v2").fetchone()
    assert state == ("COMPLETED",)
    assert limits == (0,)
    assert _servers_of(tmp_path / "prefect") == []


@pytest.mark.slow
def test_the_temporary_server_dies_with_a_killed_cli(tmp_path, sources_file):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--warehouse", str(tmp_path / "w.duckdb"),
         "--sources", str(sources_file), "backfill", "--source", "mirror", "--pages", "1-2"],
        env=_cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        (server,) = wait_for(lambda: _servers_of(tmp_path / "prefect"), 60, "the temporary server")
        proc.kill()
        proc.wait(30)
        wait_for(lambda: not _servers_of(tmp_path / "prefect"), 60, "the server to go with the CLI")
    finally:
        proc.kill()
        for pid in _servers_of(tmp_path / "prefect"):
            os.kill(pid, signal.SIGKILL)


def test_a_configured_api_url_is_left_to_prefect(tmp_path, monkeypatch):
    for key in ("PREFECT_API_URL", "PREFECT_PROFILES_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert not api_url_configured()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "profiles.toml").write_text(
        'active = "remote"\n[profiles.remote]\nPREFECT_API_URL = "http://h:4200/api"\n')
    assert api_url_configured()
    (tmp_path / "home" / "profiles.toml").unlink()
    for name, text in ((".env", "PREFECT_API_URL=http://h/api\n"), ("prefect.toml", "[api]\n"),
                       ("pyproject.toml", "[tool.prefect.api]\nurl = 'http://h/api'\n")):
        (tmp_path / name).write_text(text)
        assert api_url_configured(), name
        (tmp_path / name).unlink()
    monkeypatch.setenv("PREFECT_API_URL", "http://h/api")
    assert api_url_configured()


def _fake_spawns(monkeypatch, *commands: list[str]) -> list[list[str]]:
    """TempServer's children are these commands in turn ({port} is filled in); the ones
    not spawned yet."""
    queue = list(commands)
    monkeypatch.setattr(tempserver, "_spawn", lambda port: subprocess.Popen(
        [part.format(port=port) for part in queue.pop(0)], start_new_session=True))
    return queue


def test_a_server_that_lost_its_port_is_started_on_another(tmp_path, monkeypatch):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "health").write_text("true")
    left = _fake_spawns(monkeypatch, [sys.executable, "-c", "raise SystemExit(3)"],
                        [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1",
                         "--directory", str(tmp_path)])
    server = TempServer()
    server.proc.wait(30)
    try:
        server.wait_ready(timeout=60)
        assert left == []  # the second child, on a new port, answered
    finally:
        server.stop()
    assert server.proc.poll() is not None


def test_a_server_that_exits_is_a_one_line_error(monkeypatch):
    _fake_spawns(monkeypatch, [sys.executable, "-c", "raise SystemExit(1)"])
    server = TempServer()
    with pytest.raises(TempServerError, match=r"^the temporary Prefect server exited \(1\)$"):
        server.wait_ready(timeout=60)

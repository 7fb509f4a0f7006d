"""`news-ingest serve`: a local Prefect server as its child, both deployments, a triggered backfill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb
import httpx
import pytest

from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.slow




def test_serve_runs_a_backfill_with_parameters_and_stops_its_server(tmp_path, sources_file):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--warehouse", str(warehouse), "--sources",
         str(sources_file), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def both_deployments():
            resp = httpx.post(f"{api}/deployments/filter", json={})
            found = {d["name"]: d for d in resp.json()} if resp.status_code == 200 else {}
            return found if len(found) == 2 else None

        deployments = wait_for(both_deployments, 240, "both deployments")
        assert deployments["ingest"]["schedules"][0]["schedule"]["cron"] == "0 * * * *"
        assert deployments["backfill"]["schedules"] == []
        def create_run():
            resp = httpx.post(
                f"{api}/deployments/{deployments['backfill']['id']}/create_flow_run",
                json={"parameters": {"source": "mirror", "pages": "1-2"}})
            # A busy local server (SQLite) answers 503 for a moment: ask again.
            assert resp.status_code in (201, 503), resp.text
            return resp.json() if resp.status_code == 201 else None

        run = wait_for(create_run, 120, "the flow run to be created")
        def finished():
            state = httpx.get(f"{api}/flow_runs/{run['id']}").json()["state"]
            return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

        state = wait_for(finished, 240, "the backfill run")
        assert state["type"] == "COMPLETED", state

        # A manual run on the same warehouse uses serve's server, not an ephemeral one.
        cli = subprocess.run(
            [sys.executable, "-m", "flows.cli", "--warehouse", str(warehouse), "--sources",
             str(sources_file), "backfill", "--source", "mirror", "--pages", "3-3"],
            env=env, capture_output=True, text=True, timeout=240)
        assert cli.returncode == 0, cli.stderr
        assert f"using the Prefect server of `news-ingest serve` at {api}" in cli.stderr
        con = duckdb.connect(str(warehouse), read_only=True)
        (manual_run,) = con.execute("select flow_run_id from ingest_runs where kind = 'backfill'"
                                    " order by started_at desc limit 1").fetchone()
        con.close()
        assert httpx.get(f"{api}/flow_runs/{manual_run}").json()["state"]["type"] == "COMPLETED"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from articles").fetchone() == (30,)
    con.close()
    # The server was the serve command's child: it is gone with it.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
    assert "ingest/ingest" in out
    assert not (warehouse.parent / "prefect" / "server.json").exists()

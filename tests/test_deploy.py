"""README "A Prefect server and workers": server, work pool, `prefect deploy --all`, a worker, a backfill."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from flows.mirror import MirrorServer
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]  # the checkout: prefect.yaml lives here
PREFECT = str(Path(sys.executable).parent / "prefect")
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")




def ok_json(resp: httpx.Response):
    """The JSON of a 2xx answer; None for a busy server's 503 (the caller asks again)."""
    if resp.status_code == 503:
        return None
    resp.raise_for_status()
    return resp.json()


def stop_group(proc: subprocess.Popen | None, grace: float = 30) -> None:
    """SIGTERM the process group; SIGKILL what is left of it after `grace` seconds."""
    if proc is None:
        return
    deadline = time.monotonic() + grace
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    while time.monotonic() < deadline and group_alive(proc.pid):  # the leader's children too
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({path}: {exc})"


def test_readme_deploy_commands_run_a_backfill_on_a_worker(tmp_path: Path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ)
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=api,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    server = worker = None
    with MirrorServer() as mirror:
        try:
            with server_log.open("wb") as out:
                server = subprocess.Popen(
                    [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            wait_for(lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200, 180,
                     "the server's /api/health", lambda: f"server log:\n{tail(server_log)}")

            def cli(*args: str) -> str:
                done = subprocess.run([PREFECT, *args], env=env, cwd=ROOT, capture_output=True,
                                      text=True, timeout=300, stdin=subprocess.DEVNULL)
                assert done.returncode == 0, (f"prefect {' '.join(args)} exited {done.returncode}\n"
                                              f"{done.stdout}\n{done.stderr}")
                return done.stdout

            cli("work-pool", "create", "news-ingest", "--type", "process")
            cli("--no-prompt", "deploy", "--all")

            def deployments():
                found = ok_json(httpx.post(f"{api}/deployments/filter", timeout=10, json={
                    "work_pools": {"name": {"any_": ["news-ingest"]}}}))
                return {d["name"]: d for d in found} if found else None

            deps = wait_for(deployments, 60, "the deployments")
            assert set(deps) == {"ingest", "backfill"}, deps
            flows = {name: wait_for(lambda d=d: ok_json(httpx.get(f"{api}/flows/{d['flow_id']}",
                                                                  timeout=10)), 60, "a flow")["name"]
                     for name, d in deps.items()}
            assert flows == {"ingest": "ingest", "backfill": "backfill"}
            assert all(d["work_pool_name"] == "news-ingest" for d in deps.values()), deps
            assert [s["schedule"]["cron"] for s in deps["ingest"]["schedules"]] == ["0 * * * *"]
            assert deps["backfill"]["schedules"] == []
            # No pull section: deploy records this checkout's path, from which the worker runs the flows.
            here = {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT.resolve())}}
            assert all(d["pull_steps"] == [here] for d in deps.values()), deps

            sources = tmp_path / "sources.toml"
            sources.write_text(mirror.source_toml("mirror"), encoding="utf-8")
            # The flow run's own log lines (one per page) go to the worker log, for failures.
            worker_env = dict(env, NEWS_INGEST_WAREHOUSE=str(warehouse), NEWS_INGEST_SOURCES=str(sources),
                              PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL="INFO")
            with worker_log.open("wb") as out:
                worker = subprocess.Popen(
                    [PREFECT, "worker", "start", "--pool", "news-ingest"], env=worker_env, cwd=tmp_path,
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

            out = cli("deployment", "run", "backfill/backfill", "-p", "source=mirror", "-p", "pages=1-3")
            match = re.search(r"UUID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", out)
            if match:
                run_id = match.group(1)
            else:  # the output's format changed: the newest run of the deployment
                runs = wait_for(lambda: ok_json(httpx.post(f"{api}/flow_runs/filter", timeout=10, json={
                    "deployments": {"id": {"any_": [deps["backfill"]["id"]]}},
                    "sort": "EXPECTED_START_TIME_DESC", "limit": 1})), 60, f"the flow run of\n{out}")
                run_id = runs[0]["id"]

            def finished():
                run = ok_json(httpx.get(f"{api}/flow_runs/{run_id}", timeout=10))
                return run["state"] if run and run["state"]["type"] in TERMINAL else None

            state = wait_for(finished, 300, f"flow run {run_id}", lambda: f"worker log:\n{tail(worker_log)}")
            assert state["type"] == "COMPLETED", f"{state}\nworker log:\n{tail(worker_log)}"

            con = duckdb.connect(str(warehouse), read_only=True)
            try:
                assert con.execute("select count(*) from articles").fetchone() == (30,)
                runs = con.execute("select kind, state, flow_run_id from ingest_runs").fetchall()
            finally:
                con.close()
            assert runs == [("backfill", "completed", run_id)], runs

            artifacts = wait_for(lambda: ok_json(httpx.post(f"{api}/artifacts/filter", timeout=10, json={
                "artifacts": {"flow_run_id": {"any_": [run_id]}}})), 60, "the run's artifacts")
            markdown = [a["data"] for a in artifacts if a["type"] == "markdown"]
            assert any("| mirror | completed |" in m for m in markdown), artifacts
        except BaseException as exc:
            if worker is not None and "worker log" not in str(exc) and not isinstance(exc, KeyboardInterrupt):
                exc.add_note(f"worker log ({worker_log}):\n{tail(worker_log)}")
            raise
        finally:
            stop_group(worker)  # workers before the server (NOTES.md)
            stop_group(server)

"""`news-ingest serve`: the one-command scheduler for a single machine.

Schedules do not fire on Prefect's ephemeral API, so with no PREFECT_API_URL
this starts a local Prefect server (127.0.0.1, its home under data/) as a child
process, serves both deployments on it, and stops it on exit, in that order:
`serve` must stop before the server, or it hangs trying to pause its deployments.

While it runs, the server's address is in ``data/prefect/server.json``: manual
`run`/`backfill`/`reparse` commands on the same warehouse use that server instead of
starting a temporary one (≈ 3 s before the flow body runs instead of 5–6 s), and
their runs show up in its UI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

INGEST_CRON = "0 * * * *"
ADDRESS_FILE = "server.json"


class ServeError(RuntimeError):
    """The local Prefect server could not be started (one line, for the CLI)."""


def start_local_server(home: Path, port: int, timeout: float = 120.0) -> subprocess.Popen:
    """A `prefect server start` child on 127.0.0.1:port, once it answers /api/health."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)
    prefect = Path(sys.executable).parent / "prefect"
    with open(home / "server.log", "ab") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServeError(f"prefect server exited ({proc.returncode}); see {home / 'server.log'}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise ServeError(f"prefect server did not answer on {url} within {timeout:.0f}s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def server_home(warehouse: Path) -> Path:
    """Where `serve` keeps its local server's database, log and address."""
    return Path(warehouse).parent / "prefect"


def running_server(warehouse: Path) -> str | None:
    """The API URL of the server a running `serve` started for this warehouse, if it answers."""
    try:
        url = json.loads((server_home(warehouse) / ADDRESS_FILE).read_text())["api_url"]
        if httpx.get(f"{url}/health", timeout=1).status_code == 200:
            return str(url)
    except (OSError, ValueError, KeyError, TypeError, httpx.HTTPError):
        pass
    return None


def serve(port: int = 4200) -> int:
    server = None
    address = None
    if not os.environ.get("PREFECT_API_URL"):
        home = server_home(Path(os.environ["NEWS_INGEST_WAREHOUSE"]))
        print(f"starting a local Prefect server on 127.0.0.1:{port} (home {home})", flush=True)
        server = start_local_server(home, port)
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
        address = home / ADDRESS_FILE
        address.write_text(json.dumps({"api_url": os.environ["PREFECT_API_URL"],
                                       "pid": os.getpid()}))
        print(f"Prefect UI: http://127.0.0.1:{port}", flush=True)
    # SIGTERM ends serve like Ctrl-C does, so the server is stopped after it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from prefect import serve as prefect_serve

        from flows.backfill import backfill
        from flows.ingest import ingest

        prefect_serve(
            ingest.to_deployment(name="ingest", cron=INGEST_CRON),
            backfill.to_deployment(name="backfill"),
        )
    except KeyboardInterrupt:
        pass
    finally:
        if address is not None:
            address.unlink(missing_ok=True)
        if server is not None:
            stop_server(server)
    return 0

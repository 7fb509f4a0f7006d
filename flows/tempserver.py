"""A temporary Prefect server for one CLI run, started before the CLI imports Prefect.

With no PREFECT_API_URL, Prefect runs a flow against an "ephemeral" server: the first API
call imports Prefect's whole server app into the CLI process (~2.5 s here) only to spawn
it as a uvicorn child, then waits for it to boot. We spawn the same child (Prefect's own
command and settings) first thing instead and point PREFECT_API_URL at it, so it boots
while the CLI imports its flows, and the CLI never imports the server app. The child dies
with the CLI (PR_SET_PDEATHSIG), even on SIGKILL, and is stopped at exit.

Prefect reads its settings once, when it is imported, so the URL must be in the
environment before that: whether the user configured a server is judged without Prefect
(`api_url_configured`), erring towards "yes", which leaves the run to Prefect as before.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import httpx

from flows.serve import stop_server

# What Prefect's SubprocessASGIServer sets for its ephemeral child (prefect 3.8).
_CHILD_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
              "PREFECT__SERVER_FINAL": "1"}
# Set to the temporary server's API URL, for flows/turns.py: a server of one process has
# no other flow runs to take turns with.
URL_ENV = "NEWS_INGEST_TEMP_API_URL"
_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
_PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind
_PR_SET_PDEATHSIG = 1


def api_url_configured() -> bool:
    """Whether Prefect might find an API URL of the user's: in the environment, the active
    profiles file, or the working directory's .env, prefect.toml or pyproject.toml."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    return (_mentions(profiles, "PREFECT_API_URL") or _mentions(Path(".env"), "PREFECT_API_URL")
            or Path("prefect.toml").exists() or _mentions(Path("pyproject.toml"), "tool.prefect"))


def _mentions(path: Path, needle: str) -> bool:
    try:
        return needle in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


class TempServerError(RuntimeError):
    """The temporary server did not come up (one line, for the CLI)."""


class TempServer:
    """A uvicorn child serving Prefect's API on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.proc = _spawn(self.port)
        atexit.register(self.stop)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self, timeout: float | None = None) -> None:
        """Return once the API answers /health; TempServerError if it does not in time."""
        if timeout is None:
            timeout = float(os.environ.get(_TIMEOUT_ENV) or 90)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                code = self.proc.poll()
                if code == _PORT_IN_USE:  # lost the port to another process: another one
                    self.port = _free_port()
                    self.proc = _spawn(self.port)
                elif code is not None:
                    raise TempServerError(f"the temporary Prefect server exited ({code})")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise TempServerError(f"the temporary Prefect server did not start within {timeout:.0f} s")

    def stop(self) -> None:
        stop_server(self.proc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(port: int) -> subprocess.Popen:
    spec = find_spec("prefect")  # locates the package without importing it
    assert spec is not None and spec.origin is not None
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent),
         "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "error", "--lifespan", "on"],
        env={**os.environ, **_CHILD_ENV}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        start_new_session=True,  # its own group, as serve's server: stop_server ends it whole
    )


def _die_with_parent() -> None:
    # In the child before exec: the kernel sends it SIGTERM when the CLI dies. Linux only;
    # elsewhere it outlives a killed CLI, as Prefect's own ephemeral server does.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

"""Small helpers shared by the tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx


def q(warehouse: Path, sql: str) -> list[tuple]:
    """Rows of a query against a warehouse file, on a read-only connection closed at once."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable, timeout: float, what: str, detail: Callable[[], str] = lambda: ""):
    """Poll `check` each second until it returns something truthy; `detail()` explains a timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, KeyError, TypeError, ValueError):  # not up yet, or a transient 503
            pass
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{detail()}")

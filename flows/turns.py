"""Whose turn it is to write the warehouse.

On one machine our writers queue on the warehouse's lock file, batch by batch: the
file is held for one batch's merge, never for a fetch. Flow runs on several workers
against a Prefect server also take turns through a Prefect global concurrency limit
of one slot, held for a source's whole run: Prefect 3.8.8 frees a released slot only
about 2 s later, too slow to hand over batch by batch. A run that has to wait says so.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from flows.tempserver import URL_ENV as TEMP_URL_ENV
from warehouse import connect

LIMIT_ENV = "NEWS_INGEST_WRITER_LIMIT"
DEFAULT_LIMIT = "news-ingest-warehouse"

log = logging.getLogger("news_ingest.turns")
_lock = threading.Lock()
_local_locks: dict[str, threading.Lock] = {}
_ensured: set[tuple[str, str]] = set()


@contextmanager
def writer_turn(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection to the warehouse for one short write.

    Threads of one process queue on a plain lock first (it hands over at once), then
    processes on the lock file.
    """
    with _local_lock(warehouse), connect(warehouse, on_wait=say) as con:
        yield con


@contextmanager
def run_turn(what: str) -> Iterator[None]:
    """This run's turn among all flow runs of a Prefect server (nothing without one)."""
    url = _server_url()
    if not url:  # the ephemeral API means one machine: the lock file is the turn
        yield
        return
    from prefect.concurrency.sync import concurrency

    name = os.environ.get(LIMIT_ENV, DEFAULT_LIMIT)
    if _ensure_limit(url, name):
        say(f"{what}: waiting for its turn on the warehouse (global concurrency limit {name!r})")
    start = time.monotonic()
    with concurrency(name, occupy=1, strict=True):  # renews its lease while the run lasts
        waited = time.monotonic() - start
        if waited > 5:
            say(f"{what}: got its turn on the warehouse after {waited:.0f} s")
        yield


def say(message: str) -> None:
    """Into the flow run's log when there is one (Prefect is loaded only by flows)."""
    if "prefect" in sys.modules:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger

        try:
            get_run_logger().info(message)
            return
        except MissingContextError:
            pass
    log.info(message)


def _local_lock(warehouse: Path) -> threading.Lock:
    with _lock:
        return _local_locks.setdefault(str(Path(warehouse).resolve()), threading.Lock())


def _server_url() -> str | None:
    if "prefect" not in sys.modules:  # plain use (tests, scripts): the file lock suffices
        return None
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    # A temporary server of this CLI run (flows/tempserver.py) is as good as the ephemeral API.
    return None if url and url == os.environ.get(TEMP_URL_ENV) else url


def _ensure_limit(url: str, name: str) -> bool:
    """Create the one-slot limit if the server lacks it (a new server has none, and a
    missing limit is skipped with only a warning). True if its slot is taken now."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with _lock:
                if (url, name) not in _ensured:
                    with suppress(ObjectAlreadyExists):  # another worker was first
                        client.create_global_concurrency_limit(
                            GlobalConcurrencyLimitCreate(name=name, limit=1))
                    _ensured.add((url, name))
            return False
        return limit.active_slots >= limit.limit

"""Shared fixtures: the offline mirror on 127.0.0.1, a sources file, Prefect's test harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before Prefect is imported anywhere: quiet, offline, patient on a loaded 2-core box.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL", "WARNING")

from flows.mirror import Mirror, MirrorServer  # noqa: E402


@pytest.fixture
def mirror_server():
    with MirrorServer(Mirror()) as server:
        yield server


@pytest.fixture
def sources_file(tmp_path: Path, mirror_server: MirrorServer) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(mirror_server.source_toml("mirror"), encoding="utf-8")
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def flow_env(prefect_harness, sources_file: Path, warehouse_path: Path, monkeypatch):
    """Flows read their paths from the environment, as on a worker."""
    monkeypatch.setenv("NEWS_INGEST_SOURCES", str(sources_file))
    monkeypatch.setenv("NEWS_INGEST_WAREHOUSE", str(warehouse_path))
    return warehouse_path

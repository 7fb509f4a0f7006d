"""The `ingest_runs` log: one row per run, opened at start, counters bumped by merges."""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.errors import WarehouseError
from warehouse.rows import RunFigures

KINDS = ("ingest", "backfill", "reparse")
FINAL_STATES = ("completed", "partial", "failed")


def start_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    flow_run_id: str | None,
    kind: str,
    source: str,
    started_at: dt.datetime,
) -> None:
    """Record a run in state 'running' with all counters at 0."""
    # Checked here rather than with SQL CHECKs: DuckDB cannot drop a constraint later.
    if kind not in KINDS:
        raise WarehouseError(f"unknown run kind {kind!r} (expected one of {', '.join(KINDS)})")
    try:
        con.execute(
            "INSERT INTO ingest_runs (run_id, flow_run_id, kind, source, started_at, state,"
            " pages_fetched, pages_failed, items_parsed, items_inserted, items_updated,"
            " items_unchanged, items_quarantined)"
            " VALUES (?, ?, ?, ?, ?, 'running', 0, 0, 0, 0, 0, 0, 0)",
            [run_id, flow_run_id, kind, source, started_at],
        )
    except duckdb.ConstraintException as exc:
        raise WarehouseError(f"run {run_id} already exists in ingest_runs") from exc


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    state: str,
    ended_at: dt.datetime,
    pages_failed: int = 0,
    error: str | None = None,
) -> None:
    """Close a run: set its final state, end time and error, and its failed-page count to
    `pages_failed` unless more failures were already recorded page by page (record_page,
    add_page_failure): the larger figure wins, so nothing is counted twice.
    """
    if state not in FINAL_STATES:
        raise WarehouseError(
            f"unknown final run state {state!r} (expected one of {', '.join(FINAL_STATES)})"
        )
    found = con.execute(
        "UPDATE ingest_runs SET state = ?, ended_at = ?, error = ?,"
        " pages_failed = greatest(coalesce(pages_failed, 0), ?)"
        " WHERE run_id = ? RETURNING run_id",
        [state, ended_at, error, pages_failed, run_id],
    ).fetchall()
    if not found:
        raise WarehouseError(f"no run {run_id} in ingest_runs")


def add_page_failure(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Count one page that could not be fetched or parsed (pages_failed += 1)."""
    found = con.execute(
        "UPDATE ingest_runs SET pages_failed = coalesce(pages_failed, 0) + 1"
        " WHERE run_id = ? RETURNING run_id",
        [run_id],
    ).fetchall()
    if not found:
        raise WarehouseError(f"no run {run_id} in ingest_runs")


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunFigures | None:
    """The run's row as RunFigures, or None if there is no such run."""
    cur = con.execute("SELECT * FROM ingest_runs WHERE run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        return None
    columns = [d[0] for d in cur.description]
    values = dict(zip(columns, row, strict=True))
    return RunFigures(**{name: values[name] for name in RunFigures.__dataclass_fields__})


def last_run_state(con: duckdb.DuckDBPyConnection, source: str, kind: str) -> str | None:
    """State of the source's most recent run of this kind; None if it never ran.

    A scheduled run uses it to catch up after a run that did not complete.
    """
    row = con.execute(
        "SELECT state FROM ingest_runs WHERE source = ? AND kind = ?"
        " ORDER BY started_at DESC LIMIT 1",
        [source, kind],
    ).fetchone()
    return row[0] if row else None

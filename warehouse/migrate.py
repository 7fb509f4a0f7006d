"""Numbered SQL migrations (warehouse/migrations/NNN_name.sql), applied in order, once each."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from warehouse.errors import WarehouseError, first_line
from warehouse.transaction import transaction

_FILE_RE = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.sql$")

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR,
    applied_at TIMESTAMPTZ
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@functools.cache
def available_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with the package, sorted by version (read once per process:
    every writer connection checks them)."""
    # importlib.resources, not __file__, so a wheel/zip install finds the files too.
    folder = resources.files("warehouse").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise WarehouseError(f"two migrations share version {version}: {entry.name}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return tuple(found[v] for v in sorted(found))


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet recorded in schema_migrations; return their versions.

    Each migration runs in its own transaction together with its schema_migrations row,
    so a failed migration leaves neither half-made tables nor a ledger entry behind.
    Callers must hold the writer lock (connect() does) so two processes never race here.
    """
    con.execute(_CREATE_LEDGER)
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    migrations = available_migrations()
    known = max((m.version for m in migrations), default=0)
    # Older code writing into a newer schema could silently break its invariants: refuse.
    if applied and max(applied) > known:
        raise WarehouseError(
            f"warehouse schema is version {max(applied)}, newer than this news-ingest knows"
            f" ({known}): upgrade news-ingest"
        )
    newly: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            with transaction(con):
                con.execute(migration.sql)
                con.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (?, ?, current_timestamp)",
                    [migration.version, migration.name],
                )
        except duckdb.Error as exc:
            label = f"{migration.version:03d}_{migration.name}"
            raise WarehouseError(f"migration {label} failed: {first_line(exc)}") from exc
        newly.append(migration.version)
    return newly


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest migration applied to the database behind `con`; 0 for an empty database."""
    has_ledger = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
        " AND database_name = current_database() AND schema_name = 'main'"
    ).fetchone()
    if not has_ledger or not has_ledger[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0

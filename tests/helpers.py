"""Small helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

import duckdb


def q(warehouse: Path, sql: str) -> list[tuple]:
    """Rows of a query against a warehouse file, on a read-only connection closed at once."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()

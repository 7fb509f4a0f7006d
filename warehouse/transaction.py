"""One explicit transaction: committed when the block ends, rolled back on any error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # The original error is the one worth seeing, not a failed ROLLBACK.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise

"""Read-only SQL for people: run a query, format the result, export it to Parquet."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from warehouse.connection import connect
from warehouse.errors import WarehouseError, first_line

FORMATS = ("table", "csv", "json")
_READ_TYPES = {"SELECT", "EXPLAIN"}  # DESCRIBE, SHOW, SUMMARIZE, FROM, VALUES parse as SELECT
_MAX_CELL = 60


def run_query(
    path: str | Path,
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    wait_seconds: float = 10.0,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one read statement against the warehouse at `path`; return (columns, rows).

    Raises WarehouseError for anything but a single SELECT/EXPLAIN, for DuckDB errors
    (first line of the message), WarehouseMissing if the file is absent.
    """
    query = check_read_only(sql, allow_explain=True)
    with connect(path, read_only=True, wait_seconds=wait_seconds) as con:
        try:
            cur = con.execute(query, list(params) if params is not None else None)
            columns = [d[0] for d in cur.description] if cur.description else []
            rows = cur.fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from exc
    return columns, rows


def export_parquet(
    path: str | Path,
    sql: str,
    output: str | Path,
    params: Sequence[Any] | None = None,
    *,
    wait_seconds: float = 10.0,
) -> int:
    """Write the result of one SELECT to a Parquet file; return the number of rows written."""
    query = check_read_only(sql, allow_explain=False)
    target = Path(output).expanduser().resolve()
    # A SQL string literal: only the quote needs doubling. Newlines around the query keep a
    # trailing `-- comment` from swallowing the closing parenthesis.
    literal = "'" + str(target).replace("'", "''") + "'"
    copy_sql = f"COPY (\n{query}\n) TO {literal} (FORMAT parquet)"
    with connect(path, read_only=True, wait_seconds=wait_seconds) as con:
        try:
            result = con.execute(copy_sql, list(params) if params is not None else None)
            row = result.fetchone()
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from exc
    return int(row[0]) if row else 0


def check_read_only(sql: str, *, allow_explain: bool = True) -> str:
    """Return the single read statement in `sql` (without its `;`) or raise WarehouseError."""
    # Parse with a throwaway in-memory database: refusing a write must not need the file.
    # The read-only connection the query then runs on is the second line of defence.
    parser = duckdb.connect(":memory:")
    try:
        statements = parser.extract_statements(sql)
    except duckdb.Error as exc:
        raise WarehouseError(first_line(exc)) from exc
    finally:
        parser.close()
    if not statements:
        raise WarehouseError("query is empty")
    if len(statements) > 1:
        raise WarehouseError(
            f"query is read-only: one statement at a time (got {len(statements)})"
        )
    kind = statements[0].type.name
    allowed = _READ_TYPES if allow_explain else {"SELECT"}
    if kind not in allowed:
        raise WarehouseError(
            f"query is read-only: only SELECT statements are allowed (got {kind})"
        )
    return statements[0].query.strip().rstrip(";").strip()


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Render a result as 'table' (aligned, for terminals), 'csv' or 'json' (list of objects)."""
    if fmt == "table":
        return _as_table(columns, rows)
    if fmt == "csv":
        return _as_csv(columns, rows)
    if fmt == "json":
        records = [dict(zip(columns, row, strict=False)) for row in rows]
        return json.dumps(records, ensure_ascii=False, indent=2, default=_json_default)
    raise WarehouseError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _plain(value: Any) -> str:
    """A value as text for csv/table: ISO dates, no Python reprs."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _as_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_plain(v) for v in row])
    return buffer.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact; a float would round
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = _plain(value)
    # One physical line per row: newlines and tabs would break the columns.
    text = " ".join(text.split()) if any(c in text for c in "\r\n\t") else text
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 1] + "…"
    return text


def _width(text: str) -> int:
    """Terminal columns `text` takes: CJK titles are two columns per character."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def _as_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    header = [_cell(c) for c in columns]
    body = [[_cell(v) for v in row] for row in rows]
    # Numbers right-aligned, as every SQL shell does; decided per column from its values.
    numeric = [
        bool(rows) and all(
            isinstance(row[i], int | float | decimal.Decimal) and not isinstance(row[i], bool)
            for row in rows if row[i] is not None
        ) and any(row[i] is not None for row in rows)
        for i in range(len(columns))
    ]
    widths = [
        max([_width(header[i])] + [_width(line[i]) for line in body]) for i in range(len(columns))
    ]
    lines = [" | ".join(_pad(h, w, False) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    for line in body:
        cells = (_pad(c, w, r) for c, w, r in zip(line, widths, numeric, strict=True))
        lines.append(" | ".join(cells).rstrip())
    count = len(rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines)

"""Everything DuckDB: schema and migrations, merge/dedupe, the runs log, read-only queries.

Importing this package loads duckdb only; it never imports Prefect, flows or parsers.
"""

from warehouse.connection import connect, resolve_path
from warehouse.errors import WarehouseBusy, WarehouseError, WarehouseMissing
from warehouse.merge import merge_items
from warehouse.migrate import apply_migrations
from warehouse.query import export_parquet, format_rows, run_query
from warehouse.rows import ArticleRow, MergeStats, QuarantineRow, RunFigures
from warehouse.runs import add_page_failure, finish_run, get_run, last_run_state, start_run

__all__ = [
    "ArticleRow",
    "MergeStats",
    "QuarantineRow",
    "RunFigures",
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseMissing",
    "add_page_failure",
    "apply_migrations",
    "connect",
    "export_parquet",
    "finish_run",
    "format_rows",
    "get_run",
    "last_run_state",
    "merge_items",
    "resolve_path",
    "run_query",
    "start_run",
]

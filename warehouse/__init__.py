"""Everything DuckDB: schema and migrations, merge/dedupe, the runs log, the raw page archive,
read-only queries and the stats report. Tables and views are documented in SCHEMA.md.

Importing this package loads duckdb only; it never imports Prefect, flows or parsers.
"""

from warehouse.connection import connect, resolve_path
from warehouse.errors import WarehouseBusy, WarehouseError, WarehouseMissing
from warehouse.merge import merge_items, merge_pages
from warehouse.migrate import apply_migrations
from warehouse.pages import archive_page, archived_pages, page_validators, record_page
from warehouse.query import export_parquet, format_rows, run_query
from warehouse.report import stats_report
from warehouse.rows import (
    ArchivedPage,
    ArticleRow,
    MergeStats,
    PageItems,
    PageRecord,
    QuarantineRow,
    RunFigures,
)
from warehouse.runs import add_page_failure, finish_run, get_run, last_run_state, start_run

__all__ = [
    "ArchivedPage",
    "ArticleRow",
    "MergeStats",
    "PageItems",
    "PageRecord",
    "QuarantineRow",
    "RunFigures",
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseMissing",
    "add_page_failure",
    "apply_migrations",
    "archive_page",
    "archived_pages",
    "connect",
    "export_parquet",
    "finish_run",
    "format_rows",
    "get_run",
    "last_run_state",
    "merge_items",
    "merge_pages",
    "page_validators",
    "record_page",
    "resolve_path",
    "run_query",
    "start_run",
    "stats_report",
]

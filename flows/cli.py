"""The `news-ingest` command.

Commands that run no flow (query, sources, stats) never import Prefect, so they
answer at once; run, backfill, demo and serve import it when they start.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from flows.config import ConfigError, load_sources, resolve_sources_path, select_sources
from flows.crawl import PlanError, backfill_plan
from warehouse import WarehouseError, resolve_path

# Quiet, offline Prefect unless the user chose otherwise.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",
}


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ConfigError, PlanError, WarehouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--warehouse", default=argparse.SUPPRESS, metavar="PATH",
                        help="DuckDB file (default: $NEWS_INGEST_WAREHOUSE or data/warehouse.duckdb)")
    common.add_argument("--sources", default=argparse.SUPPRESS, metavar="PATH",
                        help="sources file (default: $NEWS_INGEST_SOURCES or sources.toml)")
    ap = _Parser(prog="news-ingest", parents=[common],
                 description="Keep a DuckDB warehouse of news listings up to date.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", parents=[common], help="incremental ingest of enabled sources")
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", parents=[common], help="walk one source over a page or date range")
    p.add_argument("--source", required=True, metavar="NAME")
    p.add_argument("--pages", metavar="A-B", help="page range, e.g. 1-20")
    p.add_argument("--since", metavar="DATE", help="oldest date to load (ISO, e.g. 2024-12-01)")
    p.add_argument("--until", metavar="DATE", help="newest date to load (default: no bound)")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("query", parents=[common], help="run a read-only SQL query")
    p.add_argument("sql")
    p.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("sources", parents=[common], help="list the configured sources")
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("stats", parents=[common], help="per-source counts and freshness")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("demo", parents=[common],
                       help="serve the offline mirror and ingest it (Prefect ephemeral API)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", parents=[common],
                       help="serve the ingest (hourly) and backfill deployments from this process")
    p.add_argument("--port", type=int, default=4200, help="port of the local Prefect server")
    p.set_defaults(func=cmd_serve)
    return ap


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """Resolve the two paths and hand them to flows (same process or workers) by env."""
    warehouse = resolve_path(getattr(args, "warehouse", None)).resolve()
    sources = resolve_sources_path(getattr(args, "sources", None)).resolve()
    os.environ["NEWS_INGEST_WAREHOUSE"] = str(warehouse)
    os.environ["NEWS_INGEST_SOURCES"] = str(sources)
    return warehouse, sources


def _prefect_env() -> None:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def cmd_run(args: argparse.Namespace) -> int:
    warehouse, sources_path = _paths(args)
    chosen = select_sources(load_sources(sources_path), args.source)
    if not chosen:
        raise CliError(f"no enabled source in {sources_path}: enable one or pass --source NAME")
    _prefect_env()
    from flows.ingest import ingest

    return _report(ingest(sources=[s.name for s in chosen], return_state=True), warehouse)


def cmd_backfill(args: argparse.Namespace) -> int:
    warehouse, sources_path = _paths(args)
    plan = backfill_plan(args.pages, args.since, args.until)
    select_sources(load_sources(sources_path), [args.source])
    _prefect_env()
    from flows.backfill import backfill

    state = backfill(source=args.source, pages=args.pages, since=plan.since, until=plan.until,
                     return_state=True)
    return _report(state, warehouse)


def _report(state: object, warehouse: Path) -> int:
    """Print each source's figures from ingest_runs; exit 1 unless all completed."""
    from warehouse import format_rows, run_query

    flow_run_id = str(state.state_details.flow_run_id)  # type: ignore[attr-defined]
    cols, rows = run_query(warehouse, (
        "select source, kind, state, pages_fetched as pages, pages_not_modified as not_modified,"
        " pages_failed as failed,"
        " items_inserted as new, items_updated as updated, items_unchanged as unchanged,"
        " items_quarantined as quarantined, error from ingest_runs where flow_run_id = ?"
        " order by started_at"), [flow_run_id])
    print(format_rows(cols, rows, "table"))
    if state.is_completed():  # type: ignore[attr-defined]
        return 0
    print(f"error: run did not complete: {state.message}", file=sys.stderr)  # type: ignore[attr-defined]
    return 1


def cmd_query(args: argparse.Namespace) -> int:
    from warehouse import export_parquet, format_rows, run_query

    warehouse, _ = _paths(args)
    if args.format == "parquet":
        if not args.output:
            raise CliError("--format parquet needs --output FILE")
        export_parquet(warehouse, args.sql, args.output)
        return 0
    cols, rows = run_query(warehouse, args.sql)
    text = format_rows(cols, rows, args.format)
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        print(text)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from warehouse import format_rows

    _, sources_path = _paths(args)
    sources = load_sources(sources_path)
    rows = [(s.name, "yes" if s.enabled else "no", s.parser, s.start_url or "(not set)",
             s.max_pages, s.delay_seconds) for s in sources.values()]
    print(format_rows(["source", "enabled", "parser", "start_url", "max_pages", "delay_s"], rows,
                      "table"))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from warehouse import format_rows, run_query

    warehouse, _ = _paths(args)
    cols, rows = run_query(warehouse, """
        select a.source, count(*) as articles, max(a.published_date) as newest,
               min(a.published_date) as oldest, max(a.last_seen_at) as last_seen,
               (select state from ingest_runs r where r.source = a.source
                order by started_at desc limit 1) as last_run
        from articles a group by a.source order by a.source""")
    print(format_rows(cols, rows, "table"))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    warehouse, _ = _paths(args)
    _prefect_env()
    from flows.demo import run_demo

    return run_demo(warehouse)


def cmd_serve(args: argparse.Namespace) -> int:
    _paths(args)
    _prefect_env()
    from flows.serve import ServeError, serve

    try:
        return serve(port=args.port)
    except ServeError as exc:
        raise CliError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())

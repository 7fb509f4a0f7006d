"""The `news-ingest` command.

Commands that run no flow (query, sources, stats) never import Prefect, so they
answer at once; run, backfill, demo and serve import it when they start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from flows.config import ConfigError, Source, load_sources, resolve_sources_path, select_sources
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

    p = sub.add_parser("reparse", parents=[common],
                       help="rerun the parsers over archived pages (no network) and merge")
    p.add_argument("--source", metavar="NAME", help="only this source (default: all)")
    p.add_argument("--since", metavar="DATE", help="only pages fetched on or after this day (UTC)")
    p.set_defaults(func=cmd_reparse)

    p = sub.add_parser("sources", parents=[common],
                       help="the configured sources and their health; --check NAME tries one")
    p.add_argument("--check", metavar="NAME",
                   help="fetch the source's first page and show what its parser finds there")
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


def _prefect_env(warehouse: Path | None = None, *, temp_server: bool = True) -> Callable[[], None]:
    """Prefect's settings for a flow run from the CLI; returns what to call right before the
    first flow runs.

    With no PREFECT_API_URL, a server that `news-ingest serve` runs for this warehouse is
    used. Failing that (and with `temp_server`), a temporary server is started at once so it
    boots while the CLI imports its flows (flows/tempserver.py): Prefect's own ephemeral one
    would start only at the first flow call. What is returned waits until it answers.
    """
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from flows.tempserver import URL_ENV, TempServer, TempServerError, api_url_configured

    if api_url_configured():
        return _nothing
    if warehouse is not None:
        from flows.serve import running_server

        url = running_server(warehouse)
        if url:
            os.environ["PREFECT_API_URL"] = url
            print(f"using the Prefect server of `news-ingest serve` at {url}", file=sys.stderr)
            return _nothing
    if not temp_server or "prefect" in sys.modules:  # imported: too late to tell it the URL
        return _nothing
    server = TempServer()
    os.environ["PREFECT_API_URL"] = os.environ[URL_ENV] = server.api_url

    def ready() -> None:
        try:
            server.wait_ready()
        except TempServerError as exc:
            raise CliError(str(exc)) from None

    return ready


def _nothing() -> None:
    pass


def cmd_run(args: argparse.Namespace) -> int:
    warehouse, sources_path = _paths(args)
    chosen = select_sources(load_sources(sources_path), args.source)
    if not chosen:
        raise CliError(f"no enabled source in {sources_path}: enable one or pass --source NAME")
    ready = _prefect_env(warehouse)
    from flows.ingest import ingest

    ready()
    return _report(ingest(sources=[s.name for s in chosen], return_state=True), warehouse)


def cmd_backfill(args: argparse.Namespace) -> int:
    warehouse, sources_path = _paths(args)
    plan = backfill_plan(args.pages, args.since, args.until)
    select_sources(load_sources(sources_path), [args.source])
    ready = _prefect_env(warehouse)
    from flows import progress
    from flows.backfill import backfill

    ready()
    total = plan.last_page - plan.first_page + 1 if plan.last_page else None
    label = f"backfill {args.source} {plan.describe()}"
    progress.start(progress.Progress(label, total))
    try:
        state = backfill(source=args.source, pages=args.pages, since=plan.since, until=plan.until,
                         return_state=True)
    finally:
        progress.stop()
    return _report(state, warehouse)


def cmd_reparse(args: argparse.Namespace) -> int:
    warehouse, sources_path = _paths(args)
    sources = load_sources(sources_path)
    if args.source:
        select_sources(sources, [args.source])
    since = backfill_plan(since=args.since).since if args.since else None
    if not warehouse.exists():
        raise CliError(f"no warehouse at {warehouse}: nothing to reparse")
    ready = _prefect_env(warehouse)
    from flows.reparse import reparse

    ready()
    return _report(reparse(source=args.source, since=since, return_state=True), warehouse)


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

    warehouse, sources_path = _paths(args)
    sources = load_sources(sources_path)
    if args.check:
        return _check_source(select_sources(sources, [args.check])[0])
    health = _health(warehouse)
    rows = []
    for s in sources.values():
        h = {k: f"{v:%Y-%m-%d %H:%M} UTC" if isinstance(v, dt.datetime) else v
             for k, v in health.get(s.name, {}).items()}
        failure = h.get("last_failure")
        rows.append((s.name, "yes" if s.enabled else "no", s.parser, s.start_url or "(not set)",
                     h.get("articles", 0), h.get("newest_date"), h.get("stale_days"),
                     h.get("last_success"),
                     f"{failure}: {h.get('last_failure_error') or ''}" if failure else None))
    print(format_rows(["source", "enabled", "parser", "start_url", "articles", "newest",
                       "stale_days", "last_success", "last_failure"], rows, "table"))
    return 0


def _health(warehouse: Path) -> dict[str, dict]:
    """Per source: articles, newest date, days since it, last success, last failure."""
    from warehouse import WarehouseMissing, run_query

    try:
        cols, rows = run_query(warehouse, (
            "select *, current_date - newest_date as stale_days from source_freshness"))
    except WarehouseMissing:
        return {}
    except WarehouseError as exc:  # e.g. a warehouse from before the view: the list still helps
        print(f"note: no health figures ({exc}); any run upgrades an old warehouse",
              file=sys.stderr)
        return {}
    return {r[0]: dict(zip(cols, r, strict=True)) for r in rows}


def _check_source(source: Source) -> int:
    """Fetch page 1 live and print what the parser finds (items, dates, next link, and
    for `auto` the selectors to paste into sources.toml)."""
    from flows.fetch import Fetcher, FetchError
    from parsers import ParseError, explain_page

    try:
        with Fetcher.for_source(source, max_retries=1) as fetcher:
            page = fetcher.get(source.start_url)
    except FetchError as exc:
        raise CliError(f"cannot fetch {source.name}: {exc}") from None
    try:
        print(explain_page(page.body, page.url, parser=source.parser, name=source.name,
                           fetched_at=page.fetched_at, tz=source.timezone,
                           header_charset=page.charset, selectors=source.selectors or None))
    except ParseError as exc:
        raise CliError(f"{source.name}: {exc}") from None
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from warehouse import stats_report

    warehouse, _ = _paths(args)
    print(stats_report(warehouse))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    warehouse, _ = _paths(args)
    ready = _prefect_env()
    from flows.demo import run_demo

    ready()
    return run_demo(warehouse)


def cmd_serve(args: argparse.Namespace) -> int:
    _paths(args)
    _prefect_env(temp_server=False)
    from flows.serve import ServeError, serve

    try:
        return serve(port=args.port)
    except ServeError as exc:
        raise CliError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())

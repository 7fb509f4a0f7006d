"""Reparse: run today's parsers over the archived pages, with no network, and merge the
result like a normal run. The way to repair the warehouse after a parser fix.

Each page is parsed as of its own fetch time, so month-day and relative dates resolve
as they did when it was fetched, never against the day of the reparse.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import State

from flows.config import Source, load_sources, resolve_sources_path, select_sources
from flows.crawl import Plan, SourceReport
from flows.drift import LayoutDrift
from flows.fetch import describe
from flows.tasks import final_state
from flows.turns import run_turn, writer_turn
from flows.writer import merge_page
from parsers import ParseError, parse_listing
from warehouse import archived_pages, finish_run, resolve_path, start_run

log = logging.getLogger("news_ingest.reparse")


def reparse_source(source: Source, *, warehouse: Path, since: dt.date | None = None,
                   flow_run_id: str | None = None) -> SourceReport:
    """Reparse one source's archived pages (the latest fetch of each URL) into the warehouse.

    Holds the warehouse for the whole source: other writers wait (30 s at most), so
    reparse a large archive by source or with ``since``.
    """
    with run_turn(f"reparse of {source.name}"):
        return _reparse(source, warehouse=warehouse, since=since, flow_run_id=flow_run_id)


def _reparse(source: Source, *, warehouse: Path, since: dt.date | None,
             flow_run_id: str | None) -> SourceReport:
    run_id = str(uuid.uuid4())
    report = SourceReport(source=source.name, kind="reparse", run_id=run_id)
    plan = Plan(kind="reparse")
    now = dt.datetime.now(dt.UTC)
    with writer_turn(warehouse) as con:
        start_run(con, run_id=run_id, flow_run_id=flow_run_id, kind="reparse", source=source.name,
                  started_at=now)
        try:
            for archived in archived_pages(con, source=source.name, since=since):
                try:
                    page = parse_listing(archived.body, archived.base_url, parser=source.parser,
                                         fetched_at=archived.fetched_at, tz=source.timezone,
                                         header_charset=archived.encoding, selectors=source.selectors)
                    report.stats += merge_page(
                        con, source, plan, page, url=archived.base_url,
                        page_no=archived.page_no or 1, run_id=run_id, fetched_at=archived.fetched_at)
                except (LayoutDrift, ParseError) as exc:  # one bad page does not stop the repair
                    report.pages_failed += 1
                    report.failures.append(f"{archived.url}: {exc}")
                    log.warning("%s: %s", source.name, exc)
                    continue
                report.pages_fetched += 1
        except Exception as exc:
            report.error = describe(exc)
            raise
        finally:
            finish_run(con, run_id, state=report.state, ended_at=dt.datetime.now(dt.UTC),
                       pages_failed=report.pages_failed,
                       error=report.run_error)
    return report


@flow(name="reparse", log_prints=False)
def reparse(source: str | None = None, since: dt.date | None = None) -> State:
    """Reparse the archived pages of ``source`` (default: every source in the sources file
    that has archived pages) fetched on or after ``since``, with no network."""
    sources = load_sources(resolve_sources_path())
    chosen = select_sources(sources, [source]) if source else list(sources.values())
    warehouse = resolve_path(None).resolve()
    flow_run_id = str(flow_run.id) if flow_run.id else None
    logger = get_run_logger()
    reports = []
    for src in chosen:
        report = reparse_source(src, warehouse=warehouse, since=since, flow_run_id=flow_run_id)
        logger.info(report.summary())
        reports.append(report)
    return final_state(reports, "reparse report")

"""One source's run: walk its listing pages, merge them in batches, account for everything.

Plain functions: the Prefect flows call ``run_source`` with the batch merge wrapped in a
task; the tests call them directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from flows.config import Source
from flows.drift import drift_from
from flows.fetch import Disallowed, Fetcher, FetchError, describe
from flows.turns import run_turn, writer_turn
from flows.walk import PageVisitor, walk
from flows.writer import BatchMerger, PageWriter, ParsedPage, merge_batch
from parsers import Item, ParseError, parse_listing
from warehouse import (
    MergeStats,
    PageRecord,
    finish_run,
    last_run_state,
    page_validators,
    record_page,
    start_run,
)

log = logging.getLogger("news_ingest.crawl")



class PlanError(ValueError):
    """A backfill range that makes no sense (one line, for the CLI)."""


@dataclass(frozen=True)
class Plan:
    """Which pages a run walks and which items it keeps."""

    kind: str = "ingest"  # "ingest": incremental, stops early; "backfill": walks the range
    first_page: int = 1
    last_page: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    # A scheduled run after one that did not complete walks on to max_pages without
    # the early stop, so the pages that failed last time are fetched again.
    catch_up: bool = False

    def keeps(self, item: Item) -> bool:
        """Date-range backfills keep items in the range (and undated ones on the pages walked)."""
        if item.date is None:
            return True
        if self.since and item.date < self.since:
            return False
        return not (self.until and item.date > self.until)

    def describe(self) -> str:
        if self.kind == "ingest":
            return "incremental, catching up" if self.catch_up else "incremental"
        if self.since:
            return f"dates {self.since}..{self.until or 'today'}"
        return f"pages {self.first_page}-{self.last_page}"


def backfill_plan(
    pages: str | None = None, since: dt.date | str | None = None, until: dt.date | str | None = None
) -> Plan:
    """Validate backfill parameters: ``pages`` as "A-B", or ``since`` [``until``]."""
    if pages and (since or until):
        raise PlanError("give either --pages or --since/--until, not both")
    if pages:
        m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", pages)
        if not m:
            raise PlanError(f"--pages must look like 1-20, got {pages!r}")
        first, last = int(m[1]), int(m[2])
        if first < 1 or last < first:
            raise PlanError(f"--pages {pages}: need 1 <= first page <= last page")
        return Plan(kind="backfill", first_page=first, last_page=last)
    if until and not since:
        raise PlanError("--until needs --since")
    if not since:
        raise PlanError("give --pages A-B or --since DATE")
    since_d, until_d = _date(since, "--since"), _date(until, "--until") if until else None
    if until_d and until_d < since_d:
        raise PlanError(f"--until {until_d} is before --since {since_d}")
    return Plan(kind="backfill", since=since_d, until=until_d)


def _date(value: dt.date | str, flag: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PlanError(f"{flag} must be a date like 2025-01-08, got {value!r}") from None


@dataclass
class SourceReport:
    source: str
    kind: str
    run_id: str
    pages_fetched: int = 0
    pages_failed: int = 0
    pages_skipped: int = 0  # disallowed by robots.txt
    pages_not_modified: int = 0  # answered 304: nothing to parse
    stats: MergeStats = field(default_factory=MergeStats)
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    newest_items: list[tuple[str, str]] = field(default_factory=list)

    @property
    def run_error(self) -> str | None:
        """What ingest_runs.error records: the error, else the failed pages."""
        return self.error or ("; ".join(self.failures)[:2000] or None)

    @property
    def state(self) -> str:
        if self.error or (self.pages_failed and not self.pages_fetched):
            return "failed"
        return "partial" if self.pages_failed else "completed"

    def summary(self) -> str:
        s = self.stats
        line = (f"{self.source}: {self.state}, {self.pages_fetched} pages"
                f" ({self.pages_failed} failed, {self.pages_not_modified} not modified),"
                f" {s.inserted} new, {s.updated} updated,"
                f" {s.unchanged} unchanged, {s.quarantined} quarantined")
        return line + (f": {self.error}" if self.error else "")



def fetch_page(
    source: Source, plan: Plan, url: str, page_no: int, run_id: str,
    *, fetcher: Fetcher, warehouse: Path,
) -> ParsedPage:
    """Fetch and parse one listing page; the writer merges it later.

    A failed fetch, a 304 and a page that no longer parses are recorded in ``pages`` at
    once (they bring no merge); a failure is then raised, as FetchError or LayoutDrift.
    """
    etag = last_modified = None
    if plan.kind == "ingest" and not plan.catch_up:  # backfills and catch-ups want the body
        with writer_turn(warehouse) as con:
            etag, last_modified = page_validators(con, source.name, url)
    record = PageRecord(run_id=run_id, source=source.name, url=url, page_no=page_no,
                        fetched_at=_now(), status=None)
    try:
        fetched = fetcher.get(url, etag=etag, last_modified=last_modified)
    except Disallowed:
        raise
    except FetchError as exc:
        with writer_turn(warehouse) as con:
            record_page(con, replace(record, status=exc.status, error=exc.reason, attempts=exc.attempts))
        raise
    record = replace(record, final_url=fetched.url, fetched_at=fetched.fetched_at, status=fetched.status,
                     etag=fetched.etag, last_modified=fetched.last_modified, attempts=fetched.attempts)
    if fetched.not_modified:  # costs no parse and no merge
        record = replace(record, not_modified=True)
        with writer_turn(warehouse) as con:
            record_page(con, record)
        return ParsedPage(page_no, record, None)
    record = replace(record, body=fetched.body)
    try:
        page = parse_listing(fetched.body, fetched.url, parser=source.parser,
                             fetched_at=fetched.fetched_at, tz=source.timezone,
                             header_charset=fetched.charset, selectors=source.selectors or None)
    except ParseError as exc:  # e.g. a css selector that matches nothing any more
        drift = drift_from(source.name, fetched.url, page_no, str(exc))
        with writer_turn(warehouse) as con:
            record_page(con, replace(record, error=str(drift)))
        raise drift from None
    return ParsedPage(page_no, replace(record, encoding=page.encoding), page)


def run_source(
    source: Source,
    plan: Plan,
    *,
    warehouse: Path,
    flow_run_id: str | None = None,
    visit: PageVisitor | None = None,
    fetcher: Fetcher | None = None,
    merge: BatchMerger = merge_batch,
) -> SourceReport:
    """One source's run, recorded in ``ingest_runs`` from start to end.

    ``visit`` (fetch and parse a page) defaults to ``fetch_page`` with a fetcher for the
    source; ``merge`` (a batch of pages into the warehouse) to ``merge_batch``, which the
    Prefect flows wrap in a task. With a Prefect server, the run first takes its turn
    among all flow runs writing the warehouse.
    """
    with run_turn(f"{plan.kind} of {source.name}"):
        return _run_source(source, plan, warehouse=warehouse, flow_run_id=flow_run_id,
                           visit=visit, fetcher=fetcher, merge=merge)


def _run_source(source: Source, plan: Plan, *, warehouse: Path, flow_run_id: str | None,
                visit: PageVisitor | None, fetcher: Fetcher | None,
                merge: BatchMerger) -> SourceReport:
    run_id = str(uuid.uuid4())
    report = SourceReport(source=source.name, kind=plan.kind, run_id=run_id)
    with writer_turn(warehouse) as con:
        if plan.kind == "ingest" and last_run_state(con, source.name, "ingest") not in (
            None, "completed",
        ):
            log.info("%s: the last scheduled run did not complete: catching up", source.name)
            plan = replace(plan, catch_up=True)
        start_run(con, run_id=run_id, flow_run_id=flow_run_id, kind=plan.kind,
                  source=source.name, started_at=_now())
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher.for_source(source)
    if visit is None:
        def visit(src: Source, pl: Plan, url: str, page_no: int, rid: str) -> ParsedPage:
            return fetch_page(src, pl, url, page_no, rid, fetcher=fetcher, warehouse=warehouse)
    writer = PageWriter(source, plan, run_id, warehouse, merge=merge)
    try:
        walk(source, plan, run_id, visit, report, writer)
    except Exception as exc:  # one broken source must not take the others down
        log.exception("%s: run failed", source.name)
        report.error = describe(exc)
    except BaseException:  # Ctrl-C, Prefect cancellation: recorded, then passed on
        report.error = "interrupted"
        raise
    finally:
        writer.close()
        if own_fetcher:
            fetcher.close()
        with writer_turn(warehouse) as con:
            finish_run(con, run_id, state=report.state, ended_at=_now(),
                       pages_failed=report.pages_failed,
                       error=report.run_error)
    return report


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

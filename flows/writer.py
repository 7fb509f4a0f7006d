"""A run's writer: parsed pages go into the warehouse in batches, one transaction a batch.

Fetching and parsing run in threads; the warehouse is one writer at a time, and taking
it (lock, open, close) costs ~30 ms however little is written. So pages wait in a batch
until it is full or old (``BATCH_PAGES``, ``BATCH_SECONDS``), and one turn on the file
merges them all: the cost of a page no longer includes an open and a close. A batch is
all or nothing, and pages go in in page order, so a crash leaves whole pages only.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from flows.drift import History, LayoutDrift, check_page, run_history
from flows.rows import to_rows
from flows.turns import writer_turn
from parsers import ListingPage
from warehouse import MergeStats, PageItems, PageRecord, merge_pages, record_page

if TYPE_CHECKING:
    from flows.config import Source
    from flows.crawl import Plan

# A batch is merged once it holds this many pages or its first page waited this long
# (so a slow listing still lands, and `query` sees progress, every few seconds).
BATCH_PAGES = 100
BATCH_SECONDS = 2.0


@dataclass(frozen=True)
class ParsedPage:
    """A listing page fetched and parsed, not merged yet (``page`` is None for a 304)."""

    page_no: int
    record: PageRecord  # the fetch, to archive with the merge
    page: ListingPage | None

    @property
    def url(self) -> str:
        return self.record.final_url or self.record.url

    @property
    def not_modified(self) -> bool:
        return self.page is None

    @property
    def items(self) -> int:
        return len(self.page.items) if self.page else 0

    @property
    def next_url(self) -> str | None:
        return self.page.next_url if self.page else None

    @property
    def newest(self) -> dt.date | None:
        dates = [i.date for i in self.page.items if i.date] if self.page else []
        return max(dates) if dates else None

    def first_items(self, n: int = 5) -> list[tuple[str, str]]:
        """(date, title) of the page's first items, for the run report."""
        items = self.page.items[:n] if self.page else []
        return [(i.date.isoformat() if i.date else "", i.title) for i in items]


@dataclass(frozen=True)
class Merged:
    """What merging a batch did: (page number, stats) per merged page, in order, and the page
    whose layout drifted, if one did (nothing from it or after it was merged). No bodies:
    a batch's pages are freed once merged."""

    pages: list[tuple[int, MergeStats]]
    drift: tuple[int, LayoutDrift] | None = None


# How a batch reaches the warehouse; the Prefect flows wrap merge_batch in a task.
BatchMerger = Callable[["Source", "Plan", str, Path, list[ParsedPage]], Merged]


def merge_batch(source: Source, plan: Plan, run_id: str, warehouse: Path,
                batch: list[ParsedPage]) -> Merged:
    """Merge the pages of ``batch`` (in page order) in one turn on the warehouse.

    A page whose layout drifted is archived with the reason and ends the batch: the
    pages before it are merged, it and those after it are not.
    """
    with writer_turn(warehouse) as con:
        def history() -> History:
            return run_history(con, source.name, run_id)

        ready: list[ParsedPage] = []
        drift = None
        for fetched in batch:
            assert fetched.page is not None, "a 304 is recorded when fetched, never merged"
            try:
                check_page(source.name, fetched.url, fetched.page_no, fetched.page, history)
            except LayoutDrift as exc:
                record_page(con, replace(fetched.record, error=str(exc)))
                drift = (fetched.page_no, exc)
                break
            ready.append(fetched)
        stats = merge_pages(con, [page_items(source, plan, f.page, url=f.url, page_no=f.page_no,
                                             fetched_at=f.record.fetched_at, record=f.record)
                                  for f in ready], run_id=run_id, now=_now()) if ready else []
    return Merged([(f.page_no, s) for f, s in zip(ready, stats, strict=True)], drift)


def page_items(source: Source, plan: Plan, page: ListingPage, *, url: str, page_no: int,
               fetched_at: dt.datetime, record: PageRecord | None = None) -> PageItems:
    """The rows of a parsed page that the plan keeps, and its quarantined items."""
    # Pages before the plan's first page are only walked through: nothing merged,
    # but the merge still counts the page, so ingest_runs agrees with the report.
    kept = [i for i in page.items if plan.keeps(i)] if page_no >= plan.first_page else []
    rows, bad = to_rows(source.name, source.hosts, url, kept, fetched_at=fetched_at,
                        timezone=source.timezone, link_hosts=source.link_hosts)
    return PageItems(rows, bad, record)


def merge_page(con: duckdb.DuckDBPyConnection, source: Source, plan: Plan, page: ListingPage, *,
               url: str, page_no: int, run_id: str, fetched_at: dt.datetime) -> MergeStats:
    """Check one parsed page for layout drift, then merge it on an open connection (reparse)."""
    check_page(source.name, url, page_no, page, lambda: run_history(con, source.name, run_id))
    items = page_items(source, plan, page, url=url, page_no=page_no, fetched_at=fetched_at)
    return merge_pages(con, [items], run_id=run_id, now=_now())[0]


class PageWriter:
    """Collects a run's fetched pages and merges them in batches through ``merge``, on a
    thread of its own: the walk goes on fetching while a batch is merged. One batch merges
    while the next fills; a full batch waits for the one before (so memory stays bounded,
    and a drift found in a batch is known before the next one is handed over)."""

    def __init__(self, source: Source, plan: Plan, run_id: str, warehouse: Path, *,
                 merge: BatchMerger = merge_batch, batch_pages: int | None = None,
                 batch_seconds: float | None = None) -> None:
        self.source, self.plan, self.run_id, self.warehouse = source, plan, run_id, warehouse
        self.merge = merge
        self.batch_pages = batch_pages or BATCH_PAGES
        self.batch_seconds = BATCH_SECONDS if batch_seconds is None else batch_seconds
        self.batch: list[ParsedPage] = []
        self.since = 0.0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"writer-{source.name}")
        self._merging: Future[Merged] | None = None

    def add(self, fetched: ParsedPage) -> None:
        if not self.batch:
            self.since = time.monotonic()
        self.batch.append(fetched)

    @property
    def due(self) -> bool:
        return bool(self.batch) and (len(self.batch) >= self.batch_pages
                                     or time.monotonic() - self.since >= self.batch_seconds)

    def hand_over(self) -> list[Merged]:
        """Wait for the batch being merged, then start merging the waiting one; what the
        finished batch did. If it found a drifted page, the waiting batch is dropped."""
        done = self._finish()
        batch, self.batch = self.batch, []
        if batch and not any(m.drift for m in done):
            # A copy of this context, so a Prefect task knows its flow run.
            self._merging = self._pool.submit(contextvars.copy_context().run, self.merge,
                                              self.source, self.plan, self.run_id,
                                              self.warehouse, batch)
        return done

    def flush(self) -> list[Merged]:
        """Merge everything waiting and wait for it: what every batch not reported yet did."""
        done = self.hand_over()
        return done + self._finish()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _finish(self) -> list[Merged]:
        merging, self._merging = self._merging, None
        return [merging.result()] if merging is not None else []


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

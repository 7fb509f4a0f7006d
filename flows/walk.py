"""Walking a source's listing pages: the stop rules and the accounting, page by page
(following next links) or with ``concurrency`` pages in flight (backfills of templated
listings). Pages are taken in page order and handed to the run's writer, which merges
them in batches."""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from flows import progress
from flows.drift import LayoutDrift
from flows.fetch import Blocked, Disallowed, FetchError
from parsers.urls import host_of

if TYPE_CHECKING:
    from flows.config import Source
    from flows.crawl import Plan, SourceReport
    from flows.writer import Merged, PageWriter, ParsedPage

log = logging.getLogger("news_ingest.crawl")

# A backfill walks until the listing ends; this only guards against a listing
# that never ends (a pager that keeps inventing pages).
BACKFILL_PAGE_LIMIT = 10_000
# Pages that failed in a row before a run gives up on the source (a site that is down).
MAX_FAILED_IN_A_ROW = 3

PageVisitor = Callable[["Source", "Plan", str, int, str], "ParsedPage"]


class _Walk:
    """The stop rules and figures of one walk; each method says whether to go on."""

    def __init__(self, source: Source, plan: Plan, report: SourceReport, writer: PageWriter) -> None:
        self.source, self.plan, self.report, self.writer = source, plan, report, writer
        self.limit = plan.last_page or (source.max_pages if plan.kind == "ingest" else BACKFILL_PAGE_LIMIT)
        self.hosts = {host_of(h) for h in source.hosts}
        self.known_streak = self.failed_streak = 0
        # The early stop of a scheduled run needs each page's merge before the next fetch.
        self.each_page = plan.kind == "ingest" and not plan.catch_up

    def failed(self, page_no: int, exc: FetchError | LayoutDrift) -> bool:
        name, report = self.source.name, self.report
        if isinstance(exc, LayoutDrift):  # the source fails; nothing more is merged
            report.error = str(exc)
            log.error("%s", exc)
            return False
        if isinstance(exc, Blocked):  # paging on would only hammer a site that refuses us
            report.error = str(exc)
            log.error("%s: %s", name, exc)
            return False
        if isinstance(exc, Disallowed):
            report.pages_skipped += 1
            report.failures.append(str(exc))
            log.warning("%s page %d: %s", name, page_no, exc)
            return True
        if exc.status == 404 and page_no > 1 and self.source.page_url:
            log.info("%s: page %d is not there (404): end of the listing", name, page_no)
            return False
        report.pages_failed += 1
        report.failures.append(str(exc))
        progress.page(failed=True)
        log.warning("%s page %d failed: %s", name, page_no, exc)
        self.failed_streak += 1
        if self.failed_streak == MAX_FAILED_IN_A_ROW:
            report.failures.append(f"gave up after {self.failed_streak} failed pages in a row")
        return self.failed_streak < MAX_FAILED_IN_A_ROW

    def fetched(self, fetched: ParsedPage) -> bool:
        """A page came in (in page order): queue it for the writer, merge if due."""
        report, plan = self.report, self.plan
        self.failed_streak = 0
        if fetched.not_modified:  # nothing changed on it, so nothing new behind it either
            report.pages_not_modified += 1
            return False
        newest = fetched.newest
        progress.page(items=fetched.items, reached=newest.isoformat() if newest else None)
        if not report.newest_items:
            report.newest_items = fetched.first_items()
        self.writer.add(fetched)
        # Past the end of the listing, or the whole page is older than the range (a pinned
        # old item alone does not stop it).
        go_on = fetched.items > 0 and not (plan.since and newest and newest < plan.since)
        if self.each_page or not go_on:
            return self.flush() and go_on
        if self.writer.due:
            return self.count(self.writer.hand_over())
        return go_on

    def flush(self) -> bool:
        """Merge the pages waiting in the writer, wait for them, and count them."""
        return self.count(self.writer.flush())

    def count(self, batches: list[Merged]) -> bool:
        go_on = True
        for merged in batches:
            for _, stats in merged.pages:
                self.report.pages_fetched += 1
                self.report.stats += stats
                if self.each_page:
                    self.known_streak = 0 if stats.inserted else self.known_streak + 1
            if merged.drift:
                go_on = self.failed(*merged.drift) and go_on
        return go_on and not (self.each_page
                              and self.known_streak >= self.source.stop_after_known_pages)

    def follows(self, next_url: str | None) -> bool:
        if next_url and host_of(next_url) not in self.hosts:
            log.warning("%s: next page %s is on another host: not followed", self.source.name, next_url)
            self.report.failures.append(f"next page link to another host not followed: {next_url}")
            return False
        return bool(next_url)


def walk(source: Source, plan: Plan, run_id: str, visit: PageVisitor, report: SourceReport,
         writer: PageWriter) -> None:
    """Walk the pages the plan asks for; figures go into ``report``, pages into ``writer``.

    Stops at the end of the listing, at a page already seen (a pager loop), at
    ``max_pages`` (scheduled runs), at the plan's last page, once pages are older
    than ``since``, once ``stop_after_known_pages`` pages in a row brought nothing
    new (scheduled runs not catching up), when the site blocks us, or after
    ``MAX_FAILED_IN_A_ROW`` failed pages. Backfills of a templated listing keep
    ``source.concurrency`` pages in flight. Pages fetched before a stop (or an
    interruption) are merged.
    """
    w = _Walk(source, plan, report, writer)
    try:
        if plan.kind == "backfill" and source.page_url and source.concurrency > 1:
            _walk_templated(source, plan, run_id, visit, w)
        else:
            _walk_links(source, plan, run_id, visit, w)
    finally:
        w.flush()


def _walk_links(source: Source, plan: Plan, run_id: str, visit: PageVisitor, w: _Walk) -> None:
    page_no = plan.first_page if plan.first_page > 1 and source.page_url else 1
    url = source.url_for_page(page_no)
    seen: set[str] = set()
    while url and page_no <= w.limit:
        if url in seen:
            log.warning("%s: page %d (%s) was already seen in this run: stopping", source.name,
                        page_no, url)
            return
        seen.add(url)
        try:
            fetched = visit(source, plan, url, page_no, run_id)
        except (FetchError, LayoutDrift) as exc:
            if not w.failed(page_no, exc):
                return
            # Without a page template there is no way past a page that failed.
            page_no += 1
            url = source.url_for_page(page_no) if source.page_url else None
            continue
        if not w.fetched(fetched) or not w.follows(fetched.next_url):
            return
        page_no += 1
        url = fetched.next_url


def _walk_templated(source: Source, plan: Plan, run_id: str, visit: PageVisitor, w: _Walk) -> None:
    """``concurrency`` pages in flight, a new one asked for as the oldest comes in; pages
    are taken in page order, so the stop rules see them as a sequential walk would."""
    width = source.concurrency
    in_flight: deque[tuple[int, Future[ParsedPage]]] = deque()
    next_page = plan.first_page
    with ThreadPoolExecutor(width, thread_name_prefix=f"walk-{source.name}") as pool:
        try:
            while True:
                while len(in_flight) < width and next_page <= w.limit:
                    # Each thread runs in a copy of this context, so Prefect knows the flow run.
                    in_flight.append((next_page, pool.submit(
                        contextvars.copy_context().run, visit, source, plan,
                        source.url_for_page(next_page), next_page, run_id)))
                    next_page += 1
                if not in_flight:
                    return
                page_no, future = in_flight.popleft()
                try:
                    fetched = future.result()
                except (FetchError, LayoutDrift) as exc:
                    if not w.failed(page_no, exc):
                        return
                    continue
                if not w.fetched(fetched):
                    return
        finally:
            for _, future in in_flight:  # past the stop: not asked for, or not taken
                future.cancel()

"""Walking a source's listing pages: the stop rules and the accounting, page by page
(following next links) or in parallel windows (backfills of templated listings)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from flows import progress
from flows.drift import LayoutDrift
from flows.fetch import Blocked, Disallowed, FetchError
from parsers.urls import host_of

if TYPE_CHECKING:
    from flows.config import Source
    from flows.crawl import PageResult, Plan, SourceReport

log = logging.getLogger("news_ingest.crawl")

# A backfill walks until the listing ends; this only guards against a listing
# that never ends (a pager that keeps inventing pages).
BACKFILL_PAGE_LIMIT = 10_000
# Pages that failed in a row before a run gives up on the source (a site that is down).
MAX_FAILED_IN_A_ROW = 3

PageVisitor = Callable[["Source", "Plan", str, int, str], "PageResult"]


class _Walk:
    """The stop rules and figures of one walk; each method says whether to go on."""

    def __init__(self, source: Source, plan: Plan, report: SourceReport) -> None:
        self.source, self.plan, self.report = source, plan, report
        self.limit = plan.last_page or (source.max_pages if plan.kind == "ingest" else BACKFILL_PAGE_LIMIT)
        self.hosts = {host_of(h) for h in source.hosts}
        self.known_streak = self.failed_streak = 0

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

    def fetched(self, result: PageResult) -> bool:
        report, plan = self.report, self.plan
        self.failed_streak = 0
        if result.not_modified:  # nothing changed on it, so nothing new behind it either
            report.pages_not_modified += 1
            return False
        report.pages_fetched += 1
        report.stats += result.stats
        progress.page(items=result.items, reached=result.newest.isoformat() if result.newest else None)
        if not report.newest_items:
            report.newest_items = list(result.newest_items)
        if result.items == 0:  # past the end of the listing
            return False
        if plan.kind == "ingest" and not plan.catch_up:
            self.known_streak = 0 if result.stats.inserted else self.known_streak + 1
            if self.known_streak >= self.source.stop_after_known_pages:
                return False
        # The whole page is older than the range (a pinned old item alone does not stop it).
        return not (plan.since and result.newest and result.newest < plan.since)

    def follows(self, next_url: str | None) -> bool:
        if next_url and host_of(next_url) not in self.hosts:
            log.warning("%s: next page %s is on another host: not followed", self.source.name, next_url)
            self.report.failures.append(f"next page link to another host not followed: {next_url}")
            return False
        return bool(next_url)


def walk(source: Source, plan: Plan, run_id: str, visit: PageVisitor, report: SourceReport) -> None:
    """Walk the pages the plan asks for; figures go into ``report``.

    Stops at the end of the listing, at a page already seen (a pager loop), at
    ``max_pages`` (scheduled runs), at the plan's last page, once pages are older
    than ``since``, once ``stop_after_known_pages`` pages in a row brought nothing
    new (scheduled runs not catching up), when the site blocks us, or after
    ``MAX_FAILED_IN_A_ROW`` failed pages. Backfills of a templated listing fetch
    ``source.concurrency`` pages at a time.
    """
    if plan.kind == "backfill" and source.page_url and source.concurrency > 1:
        _walk_windows(source, plan, run_id, visit, _Walk(source, plan, report))
    else:
        _walk_links(source, plan, run_id, visit, _Walk(source, plan, report))


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
            result = visit(source, plan, url, page_no, run_id)
        except (FetchError, LayoutDrift) as exc:
            if not w.failed(page_no, exc):
                return
            # Without a page template there is no way past a page that failed.
            page_no += 1
            url = source.url_for_page(page_no) if source.page_url else None
            continue
        if not w.fetched(result) or not w.follows(result.next_url):
            return
        page_no += 1
        url = result.next_url


def _walk_windows(source: Source, plan: Plan, run_id: str, visit: PageVisitor, w: _Walk) -> None:
    width = source.concurrency
    with ThreadPoolExecutor(width, thread_name_prefix=f"walk-{source.name}") as pool:
        first = plan.first_page
        while first <= w.limit:
            pages = range(first, min(w.limit, first + width - 1) + 1)
            # Each thread runs in a copy of this context, so Prefect tasks know their flow run.
            futures = [pool.submit(contextvars.copy_context().run, visit, source, plan,
                                   source.url_for_page(n), n, run_id) for n in pages]
            go_on = True
            for page_no, future in zip(pages, futures, strict=True):
                try:
                    result = future.result()
                except (FetchError, LayoutDrift) as exc:
                    go_on = w.failed(page_no, exc) and go_on
                    continue
                go_on = w.fetched(result) and go_on
            if not go_on:
                return
            first += width

"""Layout-drift alarm: a 200 page whose parse lost what the source always had.

Loading zero rows and reporting success is the worst failure a scraper has, so a page
1 with no items, or items that lost their dates or links while the source's history
had them, fails the source's run and nothing is merged from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from parsers import ListingPage

# History needs this many articles, and this share of them dated/linked, to count.
MIN_HISTORY = 10
SHARE = 0.9
MIN_ITEMS = 3  # pages with fewer items prove nothing about dates or links


class LayoutDrift(Exception):
    """The page no longer parses like the source's history (one line, for reports)."""


@dataclass(frozen=True)
class History:
    articles: int = 0
    dated_share: float = 0.0
    linked_share: float = 0.0


_CACHE: dict[tuple[str, str], History] = {}
_CACHE_SIZE = 64


def run_history(con: duckdb.DuckDBPyConnection, source: str, run_id: str) -> History:
    """The source's history as the run found it: read once per run (and only if a page
    needs it), not once per page, so a page's cost does not grow with the warehouse."""
    key = (run_id, source)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = load_history(con, source)
    return _CACHE[key]


def load_history(con: duckdb.DuckDBPyConnection, source: str) -> History:
    total, dated, linked = con.execute(
        "SELECT count(*), count(published_date), count(url) FROM articles WHERE source = ?",
        [source],
    ).fetchone()
    if not total:
        return History()
    return History(total, dated / total, linked / total)


def check_page(source: str, url: str, page_no: int, page: ListingPage,
               history: Callable[[], History]) -> None:
    """Raise LayoutDrift naming the source, the URL, what changed and what to run.

    ``history`` is asked for only when the page lost all its dates or links: a healthy
    page costs no query, so an idle run's cost does not grow with the warehouse.
    """
    items = page.items
    what = None
    if not items and page_no == 1:
        what = "the page parsed to no items"
    elif len(items) >= MIN_ITEMS:
        dated, linked = any(i.date for i in items), any(i.url for i in items)
        past = history() if not (dated and linked) else History()
        if past.articles >= MIN_HISTORY:
            if past.dated_share >= SHARE and not dated:
                what = f"none of its {len(items)} items has a date any more"
            elif past.linked_share >= SHARE and not linked:
                what = f"none of its {len(items)} items has a link any more"
    if what:
        raise drift_from(source, url, page_no, what)


def drift_from(source: str, url: str, page_no: int, what: str) -> LayoutDrift:
    return LayoutDrift(
        f"layout changed? {source} page {page_no} ({url}): {what}; nothing was merged from it."
        f" Check the parser with `news-ingest sources --check {source}`"
    )

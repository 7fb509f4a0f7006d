"""Plain rows that cross the warehouse boundary: callers build these, no DuckDB types leak."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ArticleRow:
    """One parsed item, ready to merge into `articles`.

    `article_id` and `content_hash` are computed by the caller (see DESIGN.md: identity is
    source + canonical URL). `content_hash` must not depend on the URL's host/port, or a
    mirror move would look like a content change.
    """

    article_id: str
    source: str
    url: str | None
    title: str
    published_date: dt.date | None
    summary: str | None
    content_hash: str


@dataclass(frozen=True)
class QuarantineRow:
    """An item that could not become an article, kept with the reason for a human to look at."""

    source: str | None
    page_url: str | None
    reason: str
    title: str | None = None
    url: str | None = None
    raw_date: str | None = None
    snippet: str | None = None


@dataclass(frozen=True)
class PageRecord:
    """One fetch of a listing page, for the raw archive (`pages` + `page_bodies`).

    `url` is the URL asked for (conditional GET looks validators up by it), `final_url` the
    one after redirects. `body` is the raw response bytes, before any decoding; leave it None
    for a 304 (`not_modified=True`) or when no usable response came (`error` says why).
    """

    run_id: str
    source: str
    url: str
    fetched_at: dt.datetime  # UTC, timezone-aware
    status: int | None
    body: bytes | None = None
    final_url: str | None = None
    page_no: int | None = None
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    attempts: int = 1


@dataclass(frozen=True)
class PageItems:
    """One fetched page's rows for `merge_pages`: what it parsed to, and its fetch to archive."""

    rows: Sequence[ArticleRow]
    quarantined: Sequence[QuarantineRow] = ()
    page: PageRecord | None = None


@dataclass(frozen=True)
class ArchivedPage:
    """An archived 200 response with its body decompressed, as reparse needs it."""

    page_id: str
    run_id: str | None
    source: str
    url: str
    final_url: str | None
    page_no: int | None
    fetched_at: dt.datetime  # UTC: relative and month-day dates resolve against this
    status: int
    encoding: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str
    body: bytes

    @property
    def base_url(self) -> str:
        """The URL relative links on the page resolve against: after redirects if known."""
        return self.final_url or self.url


@dataclass(frozen=True)
class MergeStats:
    """What one merge (or several, summed with +) did to `articles` and `quarantine`."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def __add__(self, other: MergeStats) -> MergeStats:
        if not isinstance(other, MergeStats):
            return NotImplemented
        return MergeStats(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.quarantined + other.quarantined,
        )

    @property
    def seen(self) -> int:
        """Articles the merge accepted (after in-batch dedupe), whatever happened to them."""
        return self.inserted + self.updated + self.unchanged


@dataclass(frozen=True)
class RunFigures:
    """One `ingest_runs` row, as `warehouse.runs.get_run` returns it."""

    run_id: str
    flow_run_id: str | None
    kind: str
    source: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    state: str
    pages_fetched: int
    pages_failed: int
    items_parsed: int
    items_inserted: int
    items_updated: int
    items_unchanged: int
    items_quarantined: int
    error: str | None
    pages_not_modified: int = 0  # added by migration 002, hence last and defaulted

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (timestamps as ISO strings), e.g. for a Prefect artifact."""
        out: dict[str, object] = dict(self.__dict__)
        for key in ("started_at", "ended_at"):
            value = out[key]
            out[key] = value.isoformat() if isinstance(value, dt.datetime) else value
        return out

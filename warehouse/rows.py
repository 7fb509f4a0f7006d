"""Plain rows that cross the warehouse boundary: callers build these, no DuckDB types leak."""

from __future__ import annotations

import datetime as dt
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

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (timestamps as ISO strings), e.g. for a Prefect artifact."""
        out: dict[str, object] = dict(self.__dict__)
        for key in ("started_at", "ended_at"):
            value = out[key]
            out[key] = value.isoformat() if isinstance(value, dt.datetime) else value
        return out

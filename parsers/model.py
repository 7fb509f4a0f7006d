"""Plain data that crosses the parsers boundary: no Prefect, no DuckDB."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """One listing entry as the page shows it."""

    title: str
    url: str | None  # absolute http(s) URL, fragment removed; None when the item has no link
    date: dt.date | None  # in the source's local time zone; None when absent or unparseable
    summary: str | None = None
    raw_date: str | None = None  # the date text as found, for quarantine and debugging

    def as_json(self) -> dict:
        return {
            "title": self.title,
            "url": self.url,
            "date": self.date.isoformat() if self.date else None,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ListingPage:
    """What one listing page holds: its items in page order and the next page's URL."""

    items: list[Item] = field(default_factory=list)
    next_url: str | None = None
    encoding: str | None = None  # the charset the body was decoded with

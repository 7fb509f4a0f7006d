"""Plain data that crosses the parsers boundary: no Prefect, no DuckDB."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, init=False)
class Item:
    """One listing entry as the page shows it."""

    title: str
    url: str | None  # absolute http(s) URL, fragment removed; None when the item has no link
    date: dt.date | None  # in the source's local time zone; None when absent or unparseable
    summary: str | None = None
    raw_date: str | None = None  # the date text as found, for quarantine and debugging

    def __init__(self, title: str, url: str | None, date: dt.date | None, summary: str | None = None,
                 raw_date: str | None = None) -> None:
        # The generated frozen __init__ sets each field through object.__setattr__: one
        # update of the instance dict costs half as much (parsers make an Item per entry).
        self.__dict__.update(title=title, url=url, date=date, summary=summary, raw_date=raw_date)

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

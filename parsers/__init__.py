"""HTML bytes + URL -> ListingPage. Pure functions: no I/O, no Prefect, no DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from parsers import ecoforum
from parsers.context import PageContext, base_href
from parsers.model import Item, ListingPage
from parsers.text import decode_html

SiteParser = Callable[[LexborHTMLParser, PageContext], ListingPage]

# Built-in site parsers by the name sources.toml uses.
PARSERS: dict[str, SiteParser] = {
    "ecoforum": ecoforum.parse,
}

__all__ = ["PARSERS", "Item", "ListingPage", "ParseError", "parse_listing"]


class ParseError(ValueError):
    """The page cannot be parsed with the parser asked for."""


def parse_listing(
    body: bytes,
    url: str,
    *,
    parser: str,
    fetched_at: dt.datetime | None = None,
    tz: str = "Asia/Shanghai",
    header_charset: str | None = None,
) -> ListingPage:
    """Parse one listing page into its items (page order) and the next page URL.

    ``fetched_at`` is when the page was fetched: month-day and relative dates
    resolve against it (default: now), never against the day of a reparse.
    """
    try:
        site_parser = PARSERS[parser]
    except KeyError:
        raise ParseError(f"unknown parser {parser!r} (known: {', '.join(sorted(PARSERS))})") from None
    text, encoding = decode_html(body, header_charset)
    tree = LexborHTMLParser(text)
    ctx = PageContext(
        url=url,
        fetched_at=fetched_at or dt.datetime.now(dt.UTC),
        tz=tz,
        base_href=base_href(tree),
    )
    page = site_parser(tree, ctx)
    return ListingPage(items=page.items, next_url=page.next_url, encoding=encoding)

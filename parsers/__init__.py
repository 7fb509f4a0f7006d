"""HTML bytes + URL -> ListingPage. Pure functions: no I/O, no Prefect, no DuckDB."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from collections.abc import Callable, Mapping

from selectolax.lexbor import LexborHTMLParser

from parsers import auto, css, ecoforum
from parsers.context import PageContext, ParseError, base_href, find_next
from parsers.css import SelectorError, check_selectors
from parsers.model import Item, ListingPage
from parsers.text import decode_html

SiteParser = Callable[[LexborHTMLParser, PageContext], ListingPage]

# Parsers by the name sources.toml uses. "css" reads its selectors from ctx.selectors.
PARSERS: dict[str, SiteParser] = {
    "auto": auto.parse,
    "css": css.parse,
    "ecoforum": ecoforum.parse,
}

__all__ = [
    "PARSERS", "Item", "ListingPage", "ParseError", "SelectorError", "check_selectors",
    "explain_page", "page_tree", "parse_listing",
]  # fmt: skip


def page_tree(
    body: bytes,
    url: str,
    *,
    fetched_at: dt.datetime | None = None,
    tz: str = "Asia/Shanghai",
    header_charset: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> tuple[LexborHTMLParser, PageContext, str]:
    """Decode and parse a page: (tree, context, encoding) for parsers and auto.explain."""
    text, encoding = decode_html(body, header_charset)
    tree = LexborHTMLParser(_lexbor_input(body, text, encoding))
    ctx = PageContext(
        url=url,
        fetched_at=fetched_at or dt.datetime.now(dt.UTC),
        tz=tz,
        base_href=base_href(tree),
        selectors=selectors,
    )
    return tree, ctx, encoding


def _lexbor_input(body: bytes, text: str, encoding: str) -> str | bytes:
    # Lexbor reads bytes as UTF-8. Valid UTF-8 without a BOM is exactly text.encode(), which
    # selectolax would otherwise make (a copy of the page) from the str.
    if (encoding == "utf-8" and isinstance(body, bytes) and "\ufffd" not in text
            and not body.startswith(codecs.BOM_UTF8)):
        return body
    return text


def parse_listing(
    body: bytes,
    url: str,
    *,
    parser: str,
    fetched_at: dt.datetime | None = None,
    tz: str = "Asia/Shanghai",
    header_charset: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> ListingPage:
    """Parse one listing page into its items (page order) and the next page URL.

    ``fetched_at`` is when the page was fetched: month-day and relative dates
    resolve against it (default: now), never against the day of a reparse.
    ``selectors`` is the source's [selectors] table; parser "css" needs it, others ignore it.
    Raises ParseError (SelectorError for a css selector that is invalid or matched nothing).
    """
    try:
        site_parser = PARSERS[parser]
    except KeyError:
        raise ParseError(f"unknown parser {parser!r} (known: {', '.join(sorted(PARSERS))})") from None
    tree, ctx, encoding = page_tree(body, url, fetched_at=fetched_at, tz=tz,
                                    header_charset=header_charset, selectors=selectors)
    page = site_parser(tree, ctx)
    return ListingPage(items=page.items, next_url=page.next_url, encoding=encoding)


def explain_page(
    body: bytes,
    url: str,
    *,
    parser: str,
    name: str,
    fetched_at: dt.datetime | None = None,
    tz: str = "Asia/Shanghai",
    header_charset: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> str:
    """What a parser finds on a page, for people: items with dates and links, the next
    page and how it was recognized, and for "auto" the inferred selectors as a
    ``[sources.NAME.selectors]`` snippet to paste into sources.toml (``python -m parsers
    --explain``, ``news-ingest sources --check``). Raises ParseError like parse_listing.
    """
    page = parse_listing(body, url, parser=parser, fetched_at=fetched_at, tz=tz,
                         header_charset=header_charset, selectors=selectors)
    tree, ctx, _ = page_tree(body, url, fetched_at=fetched_at, tz=tz, header_charset=header_charset,
                             selectors=selectors)
    lines = [f"{len(page.items)} items on {url} (parser {parser})"]
    for n, item in enumerate(page.items, 1):
        date = item.date.isoformat() if item.date else "no date   "
        lines.append(f"{n:>4}  {date}  {item.title}")
        lines.append(f"      {'':10}  {item.url or '(no link)'}")
    found = find_next(tree, ctx)
    how = f" (found by {found.how})" if found and page.next_url == found.url else ""
    lines.append(f"next page: {page.next_url or 'none'}{how}")
    if parser != "auto":
        return "\n".join(lines)
    explained = auto.explain(tree, ctx)
    lines.append("")
    if explained.selectors:
        verdict = ("parser css with them finds the same items" if explained.reproduces
                   else "check them: parser css with them does not find exactly the same")
        lines.append(f'# Inferred selectors for parser = "css" ({verdict}):')
        lines.append(f"[sources.{name}.selectors]")
        lines += [f"{key} = {_toml_string(value)}" for key, value in explained.selectors.items()]
    if explained.page_url:
        lines.append(f"# and in [sources.{name}]: page_url = {_toml_string(explained.page_url)}")
    lines += [f"# note: {note}" for note in explained.notes]
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    # TOML literal strings keep selectors such as a[rel~="next"] readable.
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)

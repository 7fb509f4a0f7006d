"""Built-in parser for the Eco Forum Global Guiyang news listing.

Written against the project's offline mirror (flows/mirror.py): the real site's
HTML cannot be seen from here, so its markup is an assumption until confirmed.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from parsers.context import PageContext, find_next_url
from parsers.dates import parse_date
from parsers.model import Item, ListingPage
from parsers.text import link_title, node_text


def parse(tree: LexborHTMLParser, ctx: PageContext) -> ListingPage:
    items = []
    for block in tree.css("div.news-list li"):
        link = block.css_first("h3 a[href]") or block.css_first("a.more[href]")
        heading = block.css_first("h3")
        title = link_title(link) if link else node_text(heading) if heading else ""
        date_node = block.css_first("span.time")
        raw_date = node_text(date_node) if date_node else None
        summary_node = block.css_first("p.news-summary")
        items.append(Item(
            title=title,
            url=ctx.resolve(link.attributes.get("href")) if link else None,
            date=parse_date(raw_date, ctx.fetched_at, ctx.tz) if raw_date else None,
            summary=(node_text(summary_node) or None) if summary_node else None,
            raw_date=raw_date,
        ))
    return ListingPage(items=items, next_url=find_next_url(tree, ctx))

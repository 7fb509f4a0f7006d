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
        heading_link = block.css_first("h3 a")
        heading = block.css_first("h3")
        # The title is the heading's text, never the "详情" label of the details link.
        title = link_title(heading_link) if heading_link else node_text(heading) if heading else ""
        # The first link that is a real http(s) link: the heading's, else "详情".
        links = (ctx.resolve(a.attributes.get("href")) for a in block.css("h3 a[href], a.more[href]"))
        date_node = block.css_first("span.time")
        raw_date = node_text(date_node) if date_node else None
        summary_node = block.css_first("p.news-summary")
        items.append(Item(
            title=title,
            url=next((u for u in links if u), None),
            date=parse_date(raw_date, ctx.fetched_at, ctx.tz) if raw_date else None,
            summary=(node_text(summary_node) or None) if summary_node else None,
            raw_date=raw_date,
        ))
    return ListingPage(items=items, next_url=find_next_url(tree, ctx))

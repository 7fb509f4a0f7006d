"""Built-in parser for the Eco Forum Global Guiyang news listing.

Written against the project's offline mirror (flows/mirror.py): the real site's
HTML cannot be seen from here, so its markup is an assumption until confirmed.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.context import PageContext, find_next_url
from parsers.css import ItemMatcher, item_ancestors
from parsers.dates import parse_date
from parsers.model import Item, ListingPage
from parsers.text import link_title, node_text


def parse(tree: LexborHTMLParser, ctx: PageContext) -> ListingPage:
    blocks = tree.css("div.news-list li")
    first = ItemMatcher(tree, [[b] for b in blocks], item_ancestors(blocks)).first  # block.css_first
    items = []
    columns = zip(blocks, first("h3 a"), first("h3 a[href], a.more[href]"), first("span.time"),
                  first("p.news-summary"), strict=True)
    for block, heading_link, first_link, date_node, summary_node in columns:
        # The title is the heading's text, never the "详情" label of the details link.
        if heading_link is not None:
            title = link_title(heading_link)
        else:
            heading = block.css_first("h3")
            title = node_text(heading) if heading else ""
        raw_date = node_text(date_node) if date_node else None
        items.append(Item(
            title=title,
            url=_item_url(block, first_link, ctx),
            date=parse_date(raw_date, ctx.fetched_at, ctx.tz) if raw_date else None,
            summary=(node_text(summary_node) or None) if summary_node else None,
            raw_date=raw_date,
        ))
    return ListingPage(items=items, next_url=find_next_url(tree, ctx))


def _item_url(block: LexborNode, first_link: LexborNode | None, ctx: PageContext) -> str | None:
    # The first link that is a real http(s) link: the heading's, else "详情".
    if first_link is None:
        return None
    url = ctx.resolve(first_link.attrs.get("href"))
    if url:
        return url
    links = (ctx.resolve(a.attrs.get("href")) for a in block.css("h3 a[href], a.more[href]"))
    return next((u for u in links if u), None)

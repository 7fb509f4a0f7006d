"""What every site parser needs to know about the page besides its markup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from parsers.urls import resolve_url


@dataclass(frozen=True)
class PageContext:
    url: str  # the URL the page was fetched from (after redirects)
    fetched_at: dt.datetime  # aware; month-day and relative dates resolve against it
    tz: str = "Asia/Shanghai"  # the source's local time zone
    base_href: str | None = None  # <base href>, when the page declares one

    def resolve(self, href: str | None) -> str | None:
        return resolve_url(href, self.url, self.base_href)


def base_href(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("base[href]")
    return node.attributes.get("href") if node else None


NEXT_LABELS = ("下一页", "下页", "next", "next page", "next »", "›", "»", ">")


def find_next_url(tree: LexborHTMLParser, ctx: PageContext) -> str | None:
    """The page's next-page link: rel=next, else a link labelled 下一页/next."""
    for node in tree.css('link[rel="next"], a[rel="next"]'):
        url = ctx.resolve(node.attributes.get("href"))
        if url:
            return url
    for node in tree.css("a[href]"):
        label = (node.text(deep=True) or "").strip().lower()
        if label in NEXT_LABELS:
            url = ctx.resolve(node.attributes.get("href"))
            if url and url != ctx.url:
                return url
    return None

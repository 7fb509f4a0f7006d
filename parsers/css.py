"""parser = "css": items and their fields from the source's ``[sources.NAME.selectors]`` table.

Semantics (auto's inferred selectors follow them too):

- ``item`` selects each item's node, in page order.
- ``title``, ``url``, ``date``, ``summary`` are matched against the item node itself and
  its descendants; the first match counts. ``url`` defaults to ``title``. Matching is in
  document context (``div.list li a`` works from an ``li``), so an ancestor outside the
  item can satisfy a selector: from a table row, ``td:nth-child(2) a`` also matches when
  an outer layout cell is the second one; ``td:nth-child(2) > a`` stays inside the row.
- Where item nodes are siblings interleaved with other siblings (``<dt>`` + ``<dd>``,
  ``<a>`` + ``<span>date</span><br>``), the siblings up to the next item belong to the
  item before them.
- ``next`` is matched in the whole page; the first match with an http(s) link wins.

A selector that matches nothing on a page with visible text raises SelectorError naming
the key and the selector (``next`` excepted: the last page has no next link).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from parsers.context import PageContext, ParseError
from parsers.dates import parse_date
from parsers.model import Item, ListingPage
from parsers.text import clean_text, link_title, node_text

__all__ = [
    "ItemMatcher", "SELECTOR_KEYS", "SelectorError", "check_selectors", "extract", "item_ancestors",
    "parse",
]

SELECTOR_KEYS = ("item", "title", "url", "date", "summary", "next")
REQUIRED_KEYS = ("item", "title")


class SelectorError(ParseError):
    """A selectors table that is wrong, or a selector that matched nothing on the page.

    ``key`` is the selector key ("item", "title"...) or "" for the table as a whole;
    ``reason`` is the message without the key, for callers that prefix their own context.
    """

    def __init__(self, key: str, reason: str) -> None:
        self.key, self.reason = key, reason
        super().__init__(f"selector {key} {reason}" if key else reason)


_PROBE = LexborHTMLParser("<html><body><p>probe</p></body></html>")


def check_selectors(selectors: Any) -> dict[str, str]:
    """Validate a selectors table without a page: known keys, item and title present,
    each value a CSS selector selectolax compiles. Returns it as a plain dict.

    Raises SelectorError (a ParseError, a ValueError) with a one-line message.
    """
    if not isinstance(selectors, Mapping):
        raise SelectorError("", "selectors must be a table of CSS selector strings")
    try:
        table = tuple(selectors.items())
        hash(table)
    except TypeError:  # a value that is no string (the checks below say so)
        return _check(selectors)
    return dict(_checked(table))


@lru_cache(maxsize=128)
def _checked(table: tuple[tuple[Any, Any], ...]) -> dict[str, str]:
    # A source's table is checked once, not on every page (errors are not cached: they re-raise).
    return _check(dict(table))


def _check(selectors: Mapping[Any, Any]) -> dict[str, str]:
    for key in selectors:
        if key not in SELECTOR_KEYS:
            raise SelectorError(str(key), f"is not a selector key (known: {', '.join(SELECTOR_KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in selectors:
            raise SelectorError(key, "is missing (item and title are required)")
    out = {}
    for key in SELECTOR_KEYS:
        if key not in selectors:
            continue
        value = selectors[key]
        if not isinstance(value, str) or not value.strip():
            raise SelectorError(key, "must be a non-empty CSS selector string")
        try:
            _PROBE.css(value)
        except SelectolaxError:
            raise SelectorError(key, f"{value!r} is not a valid CSS selector") from None
        out[key] = value.strip()
    return out


def parse(tree: LexborHTMLParser, ctx: PageContext) -> ListingPage:
    if not ctx.selectors:
        raise ParseError("parser 'css' needs selectors (a [sources.NAME.selectors] table)")
    return extract(tree, ctx, check_selectors(ctx.selectors))


def extract(tree: LexborHTMLParser, ctx: PageContext, selectors: Mapping[str, str],
            *, strict: bool = True) -> ListingPage:
    """Apply checked selectors to the page. ``strict``: raise for a selector matching nothing."""
    sel = dict(selectors)
    sel.setdefault("url", sel["title"])
    next_url = select_next(tree, ctx, sel.get("next"))

    def nothing(key: str) -> ListingPage:
        if strict and page_has_text(tree):
            raise SelectorError(key, f"{sel[key]!r} matched nothing")
        return ListingPage(items=[], next_url=next_url)

    nodes = tree.css(sel["item"])
    if not nodes:
        return nothing("item")
    ancestors, common = item_ancestry(nodes)
    extents = item_extents(nodes, ancestors)
    matcher = ItemMatcher(tree, extents, ancestors, common)
    columns: dict[str, list[LexborNode | None]] = {}
    for key in ("title", "url", "date", "summary"):
        if key in sel:  # url is usually the title's selector: match it once
            columns[key] = (columns["title"] if key == "url" and sel["url"] == sel["title"]
                            else matcher.first(sel[key]))
    titles, urls = columns["title"], columns["url"]
    nones: list[LexborNode | None] = [None] * len(extents)
    dates, summaries = columns.get("date", nones), columns.get("summary", nones)
    # Items with neither title nor link are header rows or separators: not items, and
    # what matched in them does not count.
    kept = [i for i in range(len(extents)) if titles[i] is not None or urls[i] is not None]
    items = [_item(titles[i], urls[i], dates[i], summaries[i], extents[i][0], ctx) for i in kept]
    for key, column in columns.items():
        if not any(column[i] is not None for i in kept) and (key != "url" or "url" in selectors):
            return nothing(key)
    return ListingPage(items=items, next_url=next_url)


def _item(title_node: LexborNode | None, url_node: LexborNode | None, date_node: LexborNode | None,
          summary_node: LexborNode | None, lead: LexborNode, ctx: PageContext) -> Item:
    # The title node's text serves twice: as the title, and to cut from the date's text.
    title_text = node_text(title_node) if title_node is not None else None
    date, raw_date = (node_date(date_node, ctx, exclude=title_node, item=lead, exclude_text=title_text)
                      if date_node is not None else (None, None))
    title = node_title(title_node, title_text) if title_node is not None else ""
    url = node_url(url_node, ctx) if url_node is not None else None
    summary = (node_text(summary_node) or None) if summary_node is not None else None
    return Item(title, url, date, summary, raw_date)  # positional: a quarter cheaper than keywords


def page_has_text(tree: LexborHTMLParser) -> bool:
    return bool(node_text(tree.body)) if tree.body is not None else False


def select_next(tree: LexborHTMLParser, ctx: PageContext, selector: str | None) -> str | None:
    if not selector:
        return None
    for node in tree.css(selector):
        url = node_url(node, ctx)
        if url and not ctx.is_self(url):
            return url
    return None


# --- helpers shared with parser "auto" -------------------------------------------


def item_extents(nodes: list[LexborNode], ancestors: set[int] | None = None) -> list[list[LexborNode]]:
    """Each item node with the siblings that belong to it (see the module docstring).

    Siblings are taken only when the items are interleaved with other siblings, and
    the last item takes no more of them than the items before it did (a pager or a
    footer after the list must not join the last item). ``ancestors`` is
    item_ancestors(nodes), when the caller has it.
    """
    ids = {n.mem_id for n in nodes}
    if ancestors is None:
        ancestors = item_ancestors(nodes)
    tails: list[list[LexborNode]] = []
    for n in nodes:
        tail: list[LexborNode] = []
        sib = n.next
        while sib is not None and (mem_id := sib.mem_id) not in ids and mem_id not in ancestors:
            if sib.is_element_node or (sib.is_text_node and (sib.text_content or "").strip()):
                tail.append(sib)
            sib = sib.next
        tails.append(tail)
    inner = tails[:-1]
    if not any(any(s.is_element_node for s in t) for t in inner):
        return [[n] for n in nodes]
    cap = max(len(t) for t in inner)
    tails[-1] = tails[-1][:cap]
    return [[n, *t] for n, t in zip(nodes, tails, strict=True)]


def item_ancestors(nodes: list[LexborNode]) -> set[int]:
    """The mem_ids of every proper ancestor of ``nodes``."""
    return item_ancestry(nodes)[0]


def item_ancestry(nodes: list[LexborNode]) -> tuple[set[int], LexborNode | None]:
    """item_ancestors(nodes), and the nearest ancestor holding all of them (their siblings
    too), found in the same walk; None for none."""
    ancestors: set[int] = set()
    lead_chain: list[LexborNode] = []  # the first node's ancestors, nearest first
    height: dict[int, int] = {}  # their mem_ids -> index in lead_chain
    top, joined = 0, True
    for k, n in enumerate(nodes):
        parent = n.parent
        while parent is not None and (mem_id := parent.mem_id) not in ancestors:
            ancestors.add(mem_id)
            if k == 0:
                height[mem_id] = len(lead_chain)
                lead_chain.append(parent)
            parent = parent.parent
        if parent is not None:  # the walk joined an earlier one there
            top = max(top, height.get(mem_id, 0))
        elif k:
            joined = False  # another tree: no common ancestor
    return ancestors, lead_chain[top] if lead_chain and joined else None


class ItemMatcher:
    """Each item's first match of a selector, ``first_match(extent, selector)`` for every
    extent, from one query of the items' common ancestor instead of one per item.

    Matching is in document context either way, and the matches come in page order, so
    an extent's first match is the first that lies inside it. Extents that nest (items
    inside items) are matched one by one.
    """

    def __init__(self, tree: LexborHTMLParser, extents: list[list[LexborNode]], ancestors: set[int],
                 common: LexborNode | None = None) -> None:
        # ``extents``: item_extents(nodes), or each node alone; ``ancestors`` and ``common``:
        # item_ancestry(nodes) (without ``common`` the whole page is queried).
        self.extents = extents
        # Where a walk up from a match stops: an extent node (-> its item) or an ancestor of
        # the items (-> -1, outside every item). None when extents nest.
        self.stops: dict[int, int] | None = None
        stops = dict.fromkeys(ancestors, -1)
        for i, extent in enumerate(extents):
            for node in extent:
                if node.is_element_node:
                    if node.mem_id in ancestors:
                        return
                    stops[node.mem_id] = i
        self.stops = stops
        # Matching is in document context from any node, so the common ancestor's query finds
        # the page's matches inside it (all that can lie in an extent) and walks less of the page.
        self.scope: LexborHTMLParser | LexborNode = (
            common if common is not None and common.is_element_node else tree)

    def first(self, selector: str) -> list[LexborNode | None]:
        stops = self.stops
        if stops is None:
            return [first_match(extent, selector) for extent in self.extents]
        found: list[LexborNode | None] = [None] * len(self.extents)
        left = len(found)
        for match in self.scope.css(selector):
            node: LexborNode | None = match
            while node is not None:
                i = stops.get(node.mem_id)
                if i is not None:
                    if i >= 0 and found[i] is None:
                        found[i], left = match, left - 1
                    break
                node = node.parent
            if not left:
                break
        return found


def first_match(extent: list[LexborNode], selector: str) -> LexborNode | None:
    """The first node of the extent, or of its descendants, that matches ``selector``."""
    for node in extent:
        if node.is_element_node:
            found = node.css_first(selector)
            if found is not None:
                return found
    return None


def node_url(node: LexborNode, ctx: PageContext) -> str | None:
    """The http(s) link of a node: its own href, else its first link's, else its enclosing link's."""
    attrs = node.attrs  # read once: most url nodes are the link itself
    if "href" in attrs:
        return ctx.resolve(attrs["href"])
    link = node.css_first("a[href]")
    if link is None:
        link = node.parent
        while link is not None and link.tag != "a":
            link = link.parent
    return ctx.resolve(link.attrs.get("href")) if link is not None else None


def node_title(node: LexborNode, text: str | None = None) -> str:
    """A title node's text; the link's title attribute when its visible text is cut short.
    ``text`` is node_text(node), when the caller has it."""
    link = node if node.tag == "a" else node.css_first("a[href]")
    if link is not None:
        visible = text if link is node and text is not None else node_text(link)
        if visible:
            return link_title(link, visible)
    return link_title(node)


# Attributes that carry a date when the text does not ("3 hours ago" has none to spare).
_DATE_ATTRS = ("datetime", "content", "data-date", "data-time", "data-publish", "title")


def node_date(node: LexborNode, ctx: PageContext, *, exclude: LexborNode | None = None,
              item: LexborNode | None = None, exclude_text: str | None = None,
              ) -> tuple[dt.date | None, str | None]:
    """The date a node shows: its text (without the title's, when it holds the title),
    else a date attribute of it or of a <time> inside it. Returns (date, raw text).

    A month-day date takes the year of a heading before ``item`` (see with_heading_year).
    ``exclude_text`` is node_text(exclude), when the caller has it.
    """
    item = item if item is not None else node
    raw = node_text(node)
    if exclude is not None and raw:
        title_text = exclude_text if exclude_text is not None else node_text(exclude)
        if title_text and title_text in raw and title_text != raw:
            raw = clean_text(raw.replace(title_text, " ", 1))
    day = date_from_text(raw, ctx) if raw else None
    if day is None and raw:  # "08" and "2025-01" in two spans read as "082025-01"
        spaced = clean_text(node.text(deep=True, separator=" "))
        day = date_from_text(spaced, ctx) if spaced != raw else None
    if day is None:
        for holder in (node, *node.css("time[datetime], [datetime]")):
            for attr in _DATE_ATTRS:
                value = clean_text(holder.attributes.get(attr))
                if value and len(value) <= 40:
                    day = date_from_text(value, ctx)
                    if day is not None:
                        return with_heading_year(day, value, item), value
    if day is None:
        return None, raw or None
    return with_heading_year(day, raw, item), raw


# "08 2025-01": a day badge beside a year-month line, which parse_date cannot read.
_DAY_THEN_YM = re.compile(r"(?<!\d)(\d{1,2})\s+((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})(?!\d)")
_YM_THEN_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*月?\s+(\d{1,2})(?![\d:])")


def date_from_text(text: str, ctx: PageContext) -> dt.date | None:
    day = parse_date(text, ctx.fetched_at, ctx.tz)
    if day is not None:
        return day
    for pattern, order in ((_DAY_THEN_YM, (2, 3, 1)), (_YM_THEN_DAY, (1, 2, 3))):
        m = pattern.search(text)
        if m:
            try:
                return dt.date(*(int(m[i]) for i in order))
            except ValueError:
                continue
    return None


_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_MONTH_DAY = re.compile(
    r"(?<!\d)\d{1,2}\s*[-/.月]\s*\d{1,2}|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d",
    re.IGNORECASE,
)
# A heading that is essentially a year: "2023年", "2024年12月", "December 2024", "2023".
_YEAR_HEADING = re.compile(
    r"^\D{0,8}?((?:19|20)\d{2})\s*(?:年|年度)?\s*(?:\d{1,2}\s*月份?)?\D{0,8}$"
)


def with_heading_year(day: dt.date, raw: str, item: LexborNode) -> dt.date:
    """A month-day date takes its year from a heading before its item's list ("2023年"),
    if any; otherwise the year inferred from the fetch date stands."""
    if _HAS_YEAR.search(raw) or not _MONTH_DAY.search(raw):
        return day
    year = heading_year(item)
    if year is None or year == day.year:
        return day
    try:
        return day.replace(year=year)
    except ValueError:  # Feb 29 in a common year
        return day


def heading_year(node: LexborNode, levels: int = 6, siblings: int = 80) -> int | None:
    """The year stated by the nearest short heading before ``node`` (at its level or above)."""
    current: LexborNode | None = node
    for _ in range(levels):
        if current is None or current.tag in ("body", "html"):
            return None
        sib, seen = current.prev, 0
        while sib is not None and seen < siblings:
            if sib.is_element_node:
                seen += 1
                text = sib.text(deep=True) or ""
                if len(text) <= 60:
                    m = _YEAR_HEADING.match(clean_text(text))
                    if m:
                        return int(m[1])
            sib = sib.prev
        current = current.parent
    return None

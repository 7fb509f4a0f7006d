"""What every site parser needs to know about the page besides its markup, and the next-page link."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.text import clean_text
from parsers.urls import canonical_url, resolve_url


class ParseError(ValueError):
    """The page cannot be parsed with the parser asked for (one-line message)."""


@dataclass(frozen=True)
class PageContext:
    url: str  # the URL the page was fetched from (after redirects)
    fetched_at: dt.datetime  # aware; month-day and relative dates resolve against it
    tz: str = "Asia/Shanghai"  # the source's local time zone
    base_href: str | None = None  # <base href>, when the page declares one
    selectors: Mapping[str, str] | None = None  # parser "css": the source's [selectors] table

    def resolve(self, href: str | None) -> str | None:
        return resolve_url(href, self.url, self.base_href)

    def is_self(self, url: str) -> bool:
        """True when ``url`` is this very page (a pager's current page, a "#top" link)."""
        return canonical_url(url) == self._canonical

    @cached_property
    def _canonical(self) -> str:
        return canonical_url(self.url)


def base_href(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("base[href]")
    return node.attributes.get("href") if node else None


# --- the next page --------------------------------------------------------------

# Labels once arrows, brackets and spaces are stripped: "下一页>>", "Next ›", "Older posts".
_NEXT_WORDS = frozenset(
    {"下一页", "下页", "后页", "后一页", "下一頁", "next", "nextpage", "older", "olderposts",
     "olderentries", "olderarticles", "oldernews", "更早"}
)  # fmt: skip
_LABEL_NOISE = re.compile(r"[\s<>«»‹›→←≫\[\]【】()（）.·|/\\\-]+")
# Arrows alone: "›" and ">" read as next; "»"/">>" is as often "last page", so it is tried last.
_NEXT_ARROWS = frozenset({"›", ">", "→", "›››", "››"})
_WEAK_ARROWS = frozenset({"»", ">>", "»»", "≫"})
_CURRENT_CLASS = re.compile(r"active|current|\bcur\b|\bon\b|selected|\bsel\b|\bnow\b|thisclass|\bthis\b")
_DISABLED = re.compile(r"disabled")
_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*(?:(['\"])[^'\"]*\1\s*,\s*)?(\d+)\s*,\s*(\d+)\s*,\s*(['\"])([^'\"]*)\4"
    r"\s*,\s*(['\"])([^'\"]*)\6"
)


@dataclass(frozen=True)
class NextLink:
    url: str
    how: str  # "rel", "label", "class", "arrow", "pager", "script"
    node: LexborNode | None = None  # the link (None for "script")
    current: LexborNode | None = None  # "pager": the current page's marker
    template: str | None = None  # "script": page_url template, e.g. ".../index_{page_index}.shtml"


def _classes(node: LexborNode | None) -> str:
    if node is None or not node.is_element_node:
        return ""
    attrs = node.attrs
    return ((attrs.get("class") or "") + " " + (attrs.get("id") or "")).lower()


def _disabled(node: LexborNode) -> bool:
    return bool(_DISABLED.search(_classes(node)) or _DISABLED.search(_classes(node.parent))
                or "disabled" in node.attrs or node.attrs.get("aria-disabled") == "true")


def find_next(tree: LexborHTMLParser, ctx: PageContext) -> NextLink | None:
    """The page's next-page link and how it was recognized.

    In order: rel=next; a link labelled 下一页/下页/next/older posts (text, title or
    aria-label); a link whose class says next; a "›" link; the createPageHTML(total,
    current, "index", "shtml") script of TRS-style CMSs (pages index.shtml, index_1.shtml...);
    a numbered pager (the number after the current page's); a lone "»" link.
    """
    for node in tree.css('link[rel~="next"], a[rel~="next"]'):
        url = ctx.resolve(node.attributes.get("href"))
        if url and not ctx.is_self(url):
            return NextLink(url, "rel", node)
    by_class = arrow = weak = None
    numbered: list[tuple[LexborNode, int, str]] = []
    for node in tree.css("a[href]"):
        # What the link could be is judged first: most links (items, menus) are none of
        # these, and resolving their URL is the costly part.
        raw = clean_text(node.text(deep=True))
        label = _LABEL_NOISE.sub("", raw.lower())
        if label in _NEXT_WORDS or (not label.isdigit() and _attrs_say_next(node)):
            kind = "label"
        elif label.isdigit() and len(label) <= 5:
            kind = "number"
        elif by_class is None and len(raw) <= 12 and "next" in _classes(node) + " " + _classes(node.parent):
            kind = "class"
        elif arrow is None and raw in _NEXT_ARROWS:
            kind = "arrow"
        elif weak is None and raw in _WEAK_ARROWS:
            kind = "weak"
        else:
            continue
        url = ctx.resolve(node.attrs.get("href"))
        if not url or ctx.is_self(url) or _disabled(node):
            continue
        if kind == "label":
            return NextLink(url, "label", node)
        if kind == "number":
            numbered.append((node, int(label), url))
        elif kind == "class":
            by_class = NextLink(url, "class", node)
        elif kind == "arrow":
            arrow = NextLink(url, "arrow", node)
        else:
            weak = NextLink(url, "arrow", node)
    return by_class or arrow or _from_script(tree, ctx) or _from_pager(numbered, ctx) or weak


def _attrs_say_next(node: LexborNode) -> bool:
    attrs = node.attrs
    return any(_LABEL_NOISE.sub("", value.lower()) in _NEXT_WORDS
               for value in (attrs.get("title"), attrs.get("aria-label")) if value)


def find_next_url(tree: LexborHTMLParser, ctx: PageContext) -> str | None:
    """The URL of the page's next page, or None on the last page (see find_next)."""
    found = find_next(tree, ctx)
    return found.url if found else None


def _from_script(tree: LexborHTMLParser, ctx: PageContext) -> NextLink | None:
    # TRS WCM and its imitators write the pager from a script; page 0 is prefix.ext.
    for script in tree.css("script"):
        m = _CREATE_PAGE.search(script.text(deep=True) or "")
        if not m:
            continue
        total, current, prefix, ext = int(m[2]), int(m[3]), m[5], m[7]
        template = ctx.resolve(f"{prefix}_PAGEINDEX.{ext}")
        if current + 1 >= total or not template:
            return None
        url = template.replace("PAGEINDEX", str(current + 1))
        return NextLink(url, "script", template=template.replace("PAGEINDEX", "{page_index}"))
    return None


def _pager_box(node: LexborNode) -> LexborNode:
    # A number's box: its parent, or its grandparent when the parent wraps just it (<li><a>2</a></li>).
    parent = node.parent
    wrappers = ("li", "span", "em", "b", "strong", "font", "td")
    if parent is not None and parent.tag in wrappers and parent.parent is not None:
        return parent.parent
    return parent if parent is not None else node


def _from_pager(numbered: list[tuple[LexborNode, int, str]], ctx: PageContext) -> NextLink | None:
    boxes: dict[int, list[tuple[LexborNode, int, str]]] = {}
    owner: dict[int, LexborNode] = {}
    for entry in numbered:
        box = _pager_box(entry[0])
        boxes.setdefault(box.mem_id, []).append(entry)
        owner[box.mem_id] = box
    for key, links in boxes.items():
        box, by_number = owner[key], {n: (node, url) for node, n, url in links}
        current, marker = _current_page(box, ctx)
        if current is None and 1 not in by_number and min(by_number) == 2:
            current = 1  # page 1 shows no link to itself
        if current is not None and current + 1 in by_number:
            node, url = by_number[current + 1]
            return NextLink(url, "pager", node, current=marker)
    return None


def _current_page(box: LexborNode, ctx: PageContext) -> tuple[int | None, LexborNode | None]:
    # The current page: a number that is not a link, or a link marked active/current or to this page.
    for node in box.traverse():
        if node is box or not node.is_element_node:
            continue
        text = clean_text(node.text(deep=True))
        if not text.isdigit() or len(text) > 5:
            continue
        if node.tag == "a":
            url = ctx.resolve(node.attributes.get("href"))
            marked = (_CURRENT_CLASS.search(_classes(node)) or _CURRENT_CLASS.search(_classes(node.parent))
                      or "aria-current" in node.attributes or (url is not None and ctx.is_self(url))
                      or url is None)
            if marked:
                return int(text), node
        elif not any(True for _ in node.iter()):  # a leaf: <span class="current">3</span>, <b>1</b>
            return int(text), node
    return None, None

"""What every site parser needs to know about the page besides its markup, and the next-page link."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

from parsers.text import clean_text
from parsers.urls import canonical_url, resolve_canonical, resolve_url


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

    def resolve_other(self, href: str | None) -> str | None:
        """resolve(href), or None when that is this very page (is_self): a link elsewhere."""
        url, canonical = resolve_canonical(href, self.url, self.base_href)
        return url if canonical != self._canonical else None

    def is_self(self, url: str) -> bool:
        """True when ``url`` is this very page (a pager's current page, a "#top" link)."""
        return canonical_url(url) == self._canonical

    @cached_property
    def _canonical(self) -> str:
        return canonical_url(self.url)


def base_href(tree: LexborHTMLParser) -> str | None:
    # The first <base> with an href, in tree order (as browsers take it). tags() lists the
    # <base> elements in that order at a quarter of the cost of css_first("base[href]").
    for node in tree.tags("base"):
        attrs = node.attributes
        if "href" in attrs:
            return attrs["href"]
    return None


# --- the next page --------------------------------------------------------------

# Labels once arrows, brackets and spaces are stripped: "下一页>>", "Next ›", "Older posts".
_NEXT_WORDS = frozenset(
    {"下一页", "下页", "后页", "后一页", "下一頁", "next", "nextpage", "older", "olderposts",
     "olderentries", "olderarticles", "oldernews", "更早"}
)  # fmt: skip
_NOISE_CHARS = r"\s<>«»‹›→←≫\[\]【】()（）.·|/\\\-"
_LABEL_NOISE = re.compile(f"[{_NOISE_CHARS}]+")
# A character that is neither noise nor, in either case, a letter of _NEXT_WORDS (no other
# character lower-cases to one): text holding one is no next label, whatever it says.
_NEXT_LETTERS = "".join(sorted(set("".join(_NEXT_WORDS))))
_NOT_NEXT = re.compile(f"[^{_NOISE_CHARS}{_NEXT_LETTERS}{_NEXT_LETTERS.upper()}]")
# Likewise, no ASCII digit either: if what it finds is no digit at all, the label holds a
# character that is neither a next word's nor a number's (most titles).
_NO_LABEL = re.compile(f"[^{_NOISE_CHARS}{_NEXT_LETTERS}{_NEXT_LETTERS.upper()}0-9]")
# Arrows alone: "›" and ">" read as next; "»"/">>" is as often "last page", so it is tried last.
_NEXT_ARROWS = frozenset({"›", ">", "→", "›››", "››"})
_WEAK_ARROWS = frozenset({"»", ">>", "»»", "≫"})
_CURRENT_CLASS = re.compile(r"active|current|\bcur\b|\bon\b|selected|\bsel\b|\bnow\b|thisclass|\bthis\b")
_DISABLED = re.compile(r"disabled")
# Elements whose rel may say next (more than rel=next links: the check that follows is
# exact), and elements whose class or id holds "next" in any case (no other character
# lower-cases to its letters): one query for both, which walks the page once. Three
# selectors, each a part of the cost, rather than four.
_NEXT_MARKED = '[rel~="next" i], [class*="next" i], [id*="next" i]'
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
    attrs = node.attributes  # a dict: attrs.get of a missing name raises and catches a KeyError
    return ((attrs.get("class") or "") + " " + (attrs.get("id") or "")).lower()


def _disabled(node: LexborNode, attrs: Mapping[str, str | None]) -> bool:
    # ``attrs``: node.attributes.
    if _DISABLED.search(_classes(node)) or _DISABLED.search(_classes(node.parent)):
        return True
    return "disabled" in attrs or attrs.get("aria-disabled") == "true"


def find_next(tree: LexborHTMLParser, ctx: PageContext) -> NextLink | None:
    """The page's next-page link and how it was recognized.

    In order: rel=next; a link labelled 下一页/下页/next/older posts (text, title or
    aria-label); a link whose class says next; a "›" link; the createPageHTML(total,
    current, "index", "shtml") script of TRS-style CMSs (pages index.shtml, index_1.shtml...);
    a numbered pager (the number after the current page's); a lone "»" link.
    """
    scan = NextScan(tree, ctx)
    if scan.found is None:
        for node in tree.css("a[href]"):
            scan.read(node, clean_text(node.text(deep=True)), node.attributes)
            if scan.found is not None:
                break
    return scan.result()


class NextScan:
    """find_next as it reads the page's links (a[href], in page order) one at a time, for a
    caller that reads each link anyway: ``read`` them until ``found``, then ``result``."""

    def __init__(self, tree: LexborHTMLParser, ctx: PageContext) -> None:
        self.tree, self.ctx = tree, ctx
        marked = tree.css(_NEXT_MARKED)
        # A rel=next or labelled link ends the reading. Few pages have a rel=next link: its
        # query runs only when the first one found a rel that may say next.
        self.found = _rel_next(tree, ctx) if any(map(_rel_may_say_next, marked)) else None
        self._by_class: NextLink | None = None
        self._arrow: NextLink | None = None
        self._weak: NextLink | None = None
        self._numbered: list[tuple[LexborNode, int, str]] = []
        # Read from the query, rather than two nodes' attributes a link.
        self._classed = set() if self.found else {node.mem_id for node in marked if "next" in _classes(node)}

    def read(self, node: LexborNode, text: str, attrs: Mapping[str, str | None]) -> None:
        """Take a link into account; ``text`` is clean_text(node.text(deep=True)), ``attrs``
        node.attributes (a caller that reads them too shares one read)."""
        # What the link could be is judged first: most links (items, menus) are none of
        # these, and resolving their URL is the costly part.
        label = "" if _no_label(text) else _label(text)  # "": neither a next word nor a number
        if label in _NEXT_WORDS or (not label.isdigit() and _attrs_say_next(attrs)):
            kind = "label"
        elif label.isdigit() and len(label) <= 5:
            kind = "number"
        elif self._by_class is None and len(text) <= 12 and (
                node.mem_id in self._classed
                or (parent := node.parent) is not None and parent.mem_id in self._classed):
            kind = "class"
        elif self._arrow is None and text in _NEXT_ARROWS:
            kind = "arrow"
        elif self._weak is None and text in _WEAK_ARROWS:
            kind = "weak"
        else:
            return
        ctx = self.ctx
        url = ctx.resolve_other(attrs.get("href"))
        if url is None or _disabled(node, attrs):
            return
        if kind == "label":
            self.found = NextLink(url, "label", node)
        elif kind == "number":
            self._numbered.append((node, int(label), url))
        elif kind == "class":
            self._by_class = NextLink(url, "class", node)
        elif kind == "arrow":
            self._arrow = NextLink(url, "arrow", node)
        else:
            self._weak = NextLink(url, "arrow", node)

    def result(self) -> NextLink | None:
        return (self.found or self._by_class or self._arrow or _from_script(self.tree, self.ctx)
                or _from_pager(self._numbered, self.ctx) or self._weak)


def _rel_next(tree: LexborHTMLParser, ctx: PageContext) -> NextLink | None:
    for node in tree.css('link[rel~="next"], a[rel~="next"]'):
        url = ctx.resolve_other(node.attributes.get("href"))
        if url is not None:
            return NextLink(url, "rel", node)
    return None


def _rel_may_say_next(node: LexborNode) -> bool:
    # Whatever link[rel~="next"] matches (the case of rel is ignored in HTML, kept in SVG) passes.
    return "next" in (node.attrs.get("rel") or "").lower()


def _attrs_say_next(attrs: Mapping[str, str | None]) -> bool:
    # ``attrs`` is node.attributes, a dict: most links have neither, and node.attrs.get raises for each.
    return _says_next(attrs.get("title")) or _says_next(attrs.get("aria-label"))


def _says_next(value: str | None) -> bool:
    # The quick refusal spares most titles (a link's title attribute) the label.
    return bool(value) and not _NOT_NEXT.search(value) and _label(value) in _NEXT_WORDS


def _no_label(text: str) -> bool:
    # The label of ``text`` is no next word and no number: cheaper to ask than to make it
    # (titles are unique, so _label's cache misses them).
    found = _NO_LABEL.search(text)
    return found is not None and not found[0].isdigit()


@lru_cache(maxsize=4096)
def _label(text: str) -> str:
    # Lower-case, without spaces, arrows and brackets. Cached: a site's pages share their
    # menus, pagers and labels.
    return _LABEL_NOISE.sub("", text.lower())


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

"""parser = "auto": the items of a listing page whose markup was never seen before.

The main list is found as the largest well-formed group of repeated sibling blocks
that each carry one link with title-like text (and usually a date): every link whose
text looks like a title votes for its ancestors, ancestors are grouped by (parent,
tag), and each group is scored on its titles, its dates, and what surrounds it
(navigation, footers, "hot"/"recommended" side boxes score low). Groups with the
same shape next to the winner join it (lists split under year or month headings).

Records follow the css parser's semantics (parsers/css.py), so ``explain`` can turn
what was found into selectors that reproduce it with ``parser = "css"``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from parsers.context import NextLink, NextScan, PageContext, find_next
from parsers.css import (
    date_from_text,
    extract,
    first_match,
    item_extents,
    node_title,
    select_next,
    with_heading_year,
)
from parsers.dates import has_word, looks_like_date
from parsers.model import Item, ListingPage
from parsers.text import clean_text, is_truncated, link_title, lone_text, node_text, text_longer_than
from parsers.urls import host_of

__all__ = ["explain", "find_records", "parse"]

_MAX_DEPTH = 8  # levels a title link votes up: enough for <tr><td><div><h3><a>
_MIN_WEIGHT = 5.0  # "政务公开" (4) is a menu entry, "县长带队检查工作" a title
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")  # runs: far fewer matches than characters
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NUMBER = re.compile(r"\d+")
_WORD_OR_NUMBER = re.compile(r"[A-Za-z\d]")  # where either of the two starts
_LABEL_NOISE_CHARS = r"\s<>«»‹›→\[\]【】()（）.·|/\\:：…"
_LABEL_NOISE = re.compile(f"[{_LABEL_NOISE_CHARS}]+")
_LABEL_WORDS = (
    "更多", "查看更多", "了解更多", "详情", "详细", "查看详情", "阅读全文", "全文", "阅读原文", "点击查看",
    "more", "readmore", "learnmore", "continuereading", "viewall", "seeall", "seemore",
    "首页", "尾页", "末页", "上一页", "下一页", "上页", "下页", "prev", "previous", "next", "last", "first",
)  # fmt: skip
_LABELS = re.compile(f"^(?:{'|'.join(_LABEL_WORDS)})", re.IGNORECASE)
# What a text must start with, past its noise, for _LABELS to match it cleaned: most
# titles fail this, and are spared the cleaning.
_LABEL_START = re.compile(
    f"[{_LABEL_NOISE_CHARS}]*[{''.join(sorted({w[0] for w in _LABEL_WORDS}))}]", re.IGNORECASE
)
# The lookahead is every character a hint can start with: it spares the other positions
# (most of a CJK text) trying each alternative, several times faster.
_DATE_HINT = re.compile(
    r"(?=[\djfmasondyt昨前今刚])"
    r"(?:(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}|(?<![\d.])\d{1,2}\s*[-/]\s*\d{1,2}(?![\d/])|\d{1,2}\s*月\s*\d{1,2}"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\d+\s*(?:秒|分钟|小时|天)前|昨天|前天|今天|刚刚|\bago\b|\byesterday\b|\btoday\b)",
    re.IGNORECASE,
)
# Boxes that are not the page's main list, by what their heading says ...
_NOISE_WORDS = re.compile(
    r"热点|热门|热读|热榜|推荐|排行|排名|精彩|猜你喜欢|相关|友情链接|图片新闻"
    r"|most\s*(?:read|popular|viewed|shared)|popular|trending|recommended|related|editor'?s?\s*picks?"
    r"|you\s*may\s*also|also\s*read|top\s*stories",
    re.IGNORECASE,
)
# ... and by their tag, class or id.
_NOISE_TAGS = frozenset({"nav", "aside", "footer", "header", "menu"})
_NOISE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:nav|menu|sidebar|side|aside|footer|foot|header|hot|rank|recommend|related|popular"
    r"|trending|breadcrumb|crumb|pager|pagination|friend|links|widget|rail|commend|tuijian|paihang|redian)",
    re.IGNORECASE,
)


def text_weight(text: str) -> float:
    """How much of a title ``text`` is: CJK characters count 1, English words 1.5."""
    if _CJK_RUN.fullmatch(text):  # CJK alone (many titles): one scan, no substrings
        return len(text)
    cjk = sum(map(len, _CJK_RUN.findall(text)))
    if not _WORD_OR_NUMBER.search(text):  # most CJK titles: one scan instead of two
        return cjk
    return cjk + 1.5 * len(_WORD.findall(text)) + 0.5 * len(_NUMBER.findall(text))


def _weighs(text: str, least: int) -> bool:
    """``text_weight(text) >= least``, from as little of a long text (a summary) as settles
    it: the CJK characters of its start, then its start, weigh no more than the whole."""
    head = text[:32]
    if _cjk_at_least(least).match(head) or text_weight(head) >= least:
        return True
    return len(text) > len(head) and text_weight(text) >= least


@lru_cache(maxsize=8)
def _cjk_at_least(count: int) -> re.Pattern[str]:
    # Matches a text holding ``count`` CJK characters or more: one scan, no substrings
    # (as _CJK_RUN.findall makes).
    return re.compile(f"(?:[^{_CJK}]*[{_CJK}]){{{count}}}")


@dataclass(slots=True)
class _Link:
    node: LexborNode
    url: str
    weight: float
    raw: str  # node.text(deep=True), as read for the title: later questions about the link reuse it
    visible: str | None  # node_text(node) when the text was read in one piece, else None (unknown)


@dataclass(slots=True)
class _Group:
    parent: LexborNode
    tag: str
    members: list[LexborNode]
    links: dict[int, list[_Link]]  # each member's title links, in the members' order
    leads: list[LexborNode] = field(default_factory=list)  # by _find_items
    extents: list[list[LexborNode]] = field(default_factory=list)  # item_extents(leads), likewise
    # By _measure, with what the score is made of (see _score):
    mains: list[_Link] = field(default_factory=list)  # each member's _main_link
    weights: float = 0.0  # of the members' main links, each up to 30
    same_host: int = 0  # members whose main link stays on the page's host
    spread: float = 0.0  # title-like URLs a member: 1 for items, many for boxes of whole lists
    dated: float | None = None  # share of members with a date; None until _dated_share
    noise: bool = False  # inside navigation, a footer, a "hot" box...


# mem_id -> (node, its parent, its group key): see _Page.linked.
_Linked = dict[int, tuple[LexborNode, LexborNode | None, tuple[int, str] | None]]


@dataclass
class _Page:
    """Facts about the whole page, gathered once instead of by a CSS query or a walk per node."""

    # The elements with an a[href] inside or at them (css_first("a[href]")), up to the document,
    # as mem_id -> (node, its parent, the key of the group it is a member of (its parent's
    # mem_id, its tag) or None where a title link's vote stops): the title links' groups
    # are read from it rather than from the tree.
    linked: _Linked
    tree: LexborHTMLParser
    host: str  # host_of(ctx.url)
    origin: str | None  # "http://host:port/" of ctx.url: a URL under it is on the page's host

    def on_host(self, url: str) -> bool:
        """host_of(url) == self.host: host_of reads a URL only up to the first "/" after
        its "://", so a URL under the page's origin is on it without a look."""
        return self.origin is not None and url.startswith(self.origin) or host_of(url) == self.host

    @cached_property
    def has_time(self) -> bool:
        """The page has a <time datetime> at all (asked only of items without a date in their text)."""
        return self.tree.css_first("time[datetime]") is not None


def _page_facts(tree: LexborHTMLParser, anchors: list[LexborNode], page_url: str) -> _Page:
    linked: _Linked = {}
    for node in anchors:
        mem_id = node.mem_id
        # Stops at the first node already in: its ancestors are in too.
        while mem_id not in linked:
            parent = node.parent
            if parent is None:
                linked[mem_id] = (node, None, None)
                break
            tag, parent_id = node.tag, parent.mem_id
            votes = tag not in ("body", "html") and parent.is_element_node
            linked[mem_id] = (node, parent, (parent_id, tag) if votes else None)
            node, mem_id = parent, parent_id
    return _Page(linked, tree, host_of(page_url), _origin(page_url))


def _origin(url: str) -> str | None:
    # The scheme and authority of an http(s) ``url``, with the "/" that ends them.
    scheme_end = url.find("://") + 3
    end = url.find("/", scheme_end)
    return url[:end + 1] if url.startswith(("http://", "https://")) and end >= 0 else None


@dataclass
class Record:
    """One item as auto found it, with the nodes each field came from."""

    lead: LexborNode  # the item node (what the css item selector must select)
    extent: list[LexborNode]
    link: LexborNode  # the element whose href is the item's URL
    title_node: LexborNode  # the link, or the heading inside a link that wraps a whole card
    title: str
    url: str
    date: dt.date | None = None
    raw_date: str | None = None
    date_node: LexborNode | None = None
    summary: str | None = None
    summary_node: LexborNode | None = None

    def item(self) -> Item:
        return Item(self.title, self.url, self.date, self.summary, self.raw_date)  # positional: cheaper


def parse(tree: LexborHTMLParser, ctx: PageContext) -> ListingPage:
    scan = NextScan(tree, ctx)  # the next link is looked for as the links are read for titles
    items = [r.item() for r in _find_records(tree, ctx, scan)]
    found = scan.result()
    return ListingPage(items=items, next_url=found.url if found else None)


# --- finding the main list ----------------------------------------------------------


def _good_links(anchors: list[LexborNode], ctx: PageContext, scan: NextScan | None) -> list[_Link]:
    """Links whose text reads like a title (not a menu entry, label, number or date). Each
    link goes to the next-link ``scan`` too, while it looks, so that each is read once."""
    links = []
    for node in anchors:
        attrs = node.attributes  # one read for the scan and the title
        lone = lone_text(node)
        raw = lone if lone is not None else node.text(deep=True) or ""
        text = clean_text(raw)
        visible = text if lone is not None else None  # node_text(node) reads a lone text so too
        if scan is not None and scan.found is None:
            scan.read(node, text, attrs)
        if lone is None:
            # Text in pieces (<a>标题<br>副题</a>): a title reads them spaced.
            text = clean_text(node.text(deep=True, separator=" "))
        # The text first: it rules out most menu links without resolving their URL.
        cut_short, weight = _title_facts(text)
        if cut_short:
            text = clean_text(attrs.get("title")) or text
            weight = _title_facts(text)[1]
        if not weight:
            continue
        url = ctx.resolve_other(attrs.get("href"))
        if url is None:
            continue
        links.append(_Link(node, url, weight, raw, visible))
    return links


@lru_cache(maxsize=4096)
def _title_facts(text: str) -> tuple[bool, float]:
    # Whether a link text is empty or cut short (its title attribute may say more), and its
    # text_weight if it reads like a title, else 0. Cached: the menus and side boxes of a
    # site's pages repeat theirs.
    cut_short = not text or is_truncated(text)
    if 1.5 * len(text) < _MIN_WEIGHT:
        return cut_short, 0.0  # text_weight counts at most 1.5 a character: "首页" cannot reach it
    weight = text_weight(text)
    if weight < _MIN_WEIGHT or looks_like_date(text) or _is_label(text):
        return cut_short, 0.0
    return cut_short, weight


def _is_label(text: str) -> bool:
    # "更多>>", "[详情]", "Read more": a link label, not a title.
    return _LABEL_START.match(text) is not None and _LABELS.match(_LABEL_NOISE.sub("", text)) is not None


_Votes = dict[tuple[int, str], dict[int, list[_Link]]]


def _votes(links: list[_Link], page: _Page) -> _Votes:
    """The title links' votes for their ancestors: by group key (the parent's mem_id, the
    tag), each member's mem_id and its links, members in the order of their first link."""
    votes: _Votes = {}
    linked = page.linked  # holds every link and its ancestors
    for link in links:
        mem_id = link.node.mem_id
        for _ in range(_MAX_DEPTH):
            key = linked[mem_id][2]
            if key is None:
                break
            members = votes.get(key)
            if members is None:
                votes[key] = {mem_id: [link]}
            else:
                voters = members.get(mem_id)
                if voters is None:
                    members[mem_id] = [link]
                else:
                    voters.append(link)
            mem_id = key[0]
    return votes


def _group(key: tuple[int, str], members: dict[int, list[_Link]], page: _Page) -> _Group:
    linked = page.linked
    return _Group(linked[key[0]][0], key[1], [linked[mem_id][0] for mem_id in members], members)


def _main_link(links: list[_Link]) -> _Link:
    # The URL with the most title-like text; of its links, the first (the title comes
    # before a linked summary or a "详情" label).
    if len(links) == 1:
        return links[0]  # most blocks hold one link
    best: dict[str, float] = {}
    for link in links:
        best[link.url] = max(best.get(link.url, 0.0), link.weight)
    url = max(best, key=lambda u: best[u])  # first URL on ties (dicts keep order)
    return next(link for link in links if link.url == url)


def _rivals(links: list[_Link], main: _Link) -> int:
    """Distinct URLs in a block about as title-like as its main link: 1 for an item, many
    for a box holding a whole list. A category link ("[生态环境保护督察]") is no rival."""
    if len(links) == 1:
        return 1
    return len({link.url for link in links if link.weight >= 0.6 * main.weight})


def _noisy_classes(node: LexborNode) -> bool:
    attrs = node.attributes  # a dict: node.attrs.get of a missing id raises and catches a KeyError
    return _noise_class(((attrs.get("class") or "") + " " + (attrs.get("id") or "")).strip())


@lru_cache(maxsize=1024)
def _noise_class(classes: str) -> bool:
    # Cached: a site's pages share their boxes' classes.
    return _NOISE_CLASS.search(classes) is not None


def _text_exceeds(node: LexborNode, limit: int) -> bool:
    """``len(node.text(deep=True)) > limit`` (the raw text is that of every text node
    below), without reading all of a box that holds a whole list."""
    size = 0
    for part in node.traverse(include_text=True):
        size += len(part.text_content or "")
        if size > limit:
            return True
    return False


def _is_noise(group: _Group, page: _Page) -> bool:
    """Inside navigation, a header or footer, or a box headed "热点"/"推荐"/"Most read"."""
    if _noisy_classes(group.members[0]):
        return True
    boxes = []
    node: LexborNode | None = group.parent
    while node is not None and (tag := node.tag) not in ("body", "html"):
        if tag in _NOISE_TAGS or _noisy_classes(node):
            return True
        boxes.append(node)
        node = node.parent
    # Tags and classes first: they are cheaper to read than headings (any one will do).
    long: set[int] = set()  # nodes known to hold more than a label, as does what holds one
    for box in boxes[:3]:
        # The box's own heading: the element before it, or its first child unless that is
        # the list's first item (asked last: it may read a whole item).
        if _noisy_label(_prev_element(box), long):
            return True
        child = _first_child_element(box)
        if child is None:
            continue
        if _noisy_label(child, long) and not (child.mem_id in page.linked and text_longer_than(child, 12)):
            return True
        if child.mem_id in long:
            long.add(box.mem_id)
    return False


def _noisy_label(node: LexborNode | None, long: set[int]) -> bool:
    """The node is a short label (a box's heading) with a noise word in it. ``long`` gathers
    the nodes found longer than a label."""
    if node is None or not node.is_element_node:
        return False
    if node.mem_id in long or _text_exceeds(node, 60):
        long.add(node.mem_id)
        return False
    label = clean_text(node.text(deep=True))
    return bool(label) and _NOISE_WORDS.search(label) is not None


def _prev_element(node: LexborNode) -> LexborNode | None:
    sib = node.prev
    while sib is not None and not sib.is_element_node:
        sib = sib.prev
    return sib


def _first_child_element(node: LexborNode) -> LexborNode | None:
    child = node.child
    while child is not None and not child.is_element_node:
        child = child.next
    return child


def _leads(group: _Group) -> list[LexborNode]:
    """The item node of each member: the member, or for lists where each date comes
    before its link as a sibling (``<span>date</span><a>title</a><br>``), that date."""
    members = group.members
    ids = {m.mem_id for m in members}
    # A date before the first member, members interleaved with other elements, and no date
    # after the last: the cheapest question first.
    if (_dated(_elements_before(members[0], ids, 3)) is None or not _interleaved(members, ids)
            or _dated(_elements_after(members[-1], 3)) is not None):
        return members
    return [_dated(_elements_before(m, ids, 4)) or m for m in members]


def _dated(nodes: list[LexborNode]) -> LexborNode | None:
    # The first of ``nodes`` that is a short text with a date in it.
    for n in nodes:
        text = n.text(deep=True) or ""
        if len(text) <= 40 and _DATE_HINT.search(text):
            return n
    return None


def _interleaved(members: list[LexborNode], ids: set[int]) -> bool:
    # Some member but the last is followed by an element that is no member.
    return any((after := _next_element(m)) is not None and after.mem_id not in ids for m in members[:-1])


def _elements_before(node: LexborNode, ids: set[int], most: int) -> list[LexborNode]:
    # The elements before ``node`` among its siblings, nearest first, back to one of ``ids``.
    found: list[LexborNode] = []
    sib = node.prev
    while sib is not None and sib.mem_id not in ids and len(found) < most:
        if sib.is_element_node:
            found.append(sib)
        sib = sib.prev
    return found


def _elements_after(node: LexborNode, most: int) -> list[LexborNode]:
    # The elements after ``node`` among its siblings, nearest first.
    found: list[LexborNode] = []
    sib = node.next
    while sib is not None and len(found) < most:
        if sib.is_element_node:
            found.append(sib)
        sib = sib.next
    return found


def _next_element(node: LexborNode) -> LexborNode | None:
    sib = node.next
    while sib is not None and not sib.is_element_node:
        sib = sib.next
    return sib


def _measure(group: _Group, page: _Page) -> None:
    """All the group's score is made of but the dated share (once)."""
    if group.mains:
        return
    group.mains = [_main_link(links) for links in group.links.values()]
    weights, same_host, urls = 0.0, 0, 0
    for links, main in zip(group.links.values(), group.mains, strict=True):
        urls += _rivals(links, main)
        weights += min(main.weight, 30.0)
        same_host += page.on_host(main.url)
    group.weights, group.same_host, group.spread = weights, same_host, urls / len(group.members)
    group.noise = _is_noise(group, page)


def _find_items(group: _Group) -> None:
    """The group's leads and extents (once): only the dated share and records need them."""
    if not group.leads:
        group.leads = _leads(group)
        group.extents = item_extents(group.leads)


def _score(group: _Group, dated: float) -> float:
    """The measured group's score, were ``dated`` the share of its members with a date.
    It grows with ``dated``: with 0.0, it is the least the group can score."""
    score = group.weights * (1 + 1.5 * dated) * (0.6 + 0.4 * group.same_host / len(group.members))
    if group.spread > 1.5:
        score /= group.spread * group.spread
    if group.noise:
        score *= 0.2
    return score


def _dated_share(group: _Group, page: _Page) -> float:
    """The share of the measured group's members with a date outside their title, found once."""
    if group.dated is None:
        _find_items(group)
        dated = 0
        for main, extent in zip(group.mains, group.extents, strict=True):
            rest = _item_text(extent).replace(main.raw, " ")
            if _DATE_HINT.search(rest) or page.has_time and any(
                    n.is_element_node and n.css_first("time[datetime]") for n in extent):
                dated += 1
        group.dated = dated / len(group.members)
    return group.dated


def _ancestor_ids(node: LexborNode, below: LexborNode | None = None) -> set[int]:
    """``node`` and its ancestors; only those under ``below``, when it is given."""
    stop = below.mem_id if below is not None else None
    found = set()
    current: LexborNode | None = node
    while current is not None:
        mem_id = current.mem_id
        if mem_id == stop:
            break
        found.add(mem_id)
        current = current.parent
    return found


def _linked_ancestor_ids(mem_id: int, linked: _Linked, stop: int | None) -> set[int]:
    """_ancestor_ids of the node ``mem_id`` of ``linked`` (a link or a box holding one) up
    to the node ``stop``, read from ``linked`` rather than the tree."""
    found = set()
    while mem_id != stop:
        found.add(mem_id)
        parent = linked[mem_id][1]
        if parent is None:
            break
        mem_id = parent.mem_id
    return found


def _siblings_of_shape(best: _Group, groups: list[_Group], page: _Page) -> list[_Group]:
    """The winner and groups of the same shape close to it (one list split by headings),
    measured. ``groups`` are those of the winner's tag."""
    def shape(g: _Group) -> tuple[str, str, str]:
        return g.tag, g.parent.tag, g.parent.attributes.get("class") or ""

    chosen, best_shape, best_above = [best], shape(best), _above(best.parent)
    for group in groups:
        if (group is best or shape(group) != best_shape
                or not _near(best_above, _above(group.parent))):
            continue
        _measure(group, page)
        if group.spread <= 1.5 and not group.noise:
            chosen.append(group)
    return chosen


def _above(node: LexborNode) -> list[int | None]:
    """The mem_ids of the node's ancestors 1 to 3 levels up (None past the top)."""
    ids: list[int | None] = []
    current: LexborNode | None = node
    for _ in range(3):
        current = current.parent if current is not None else None
        ids.append(current.mem_id if current is not None else None)
    return ids


def _near(a: list[int | None], b: list[int | None]) -> bool:
    """Two groups, by the _above of their parents, share an ancestor 1 to 3 levels above them."""
    return any(x is not None and x == y for x, y in zip(a, b, strict=True))


def _bound(group: _Group) -> float:
    """No less than _score(group): every factor of the score at its best."""
    total = 0.0
    for links in group.links.values():  # a loop, not sum() of a generator: most hold one link
        weight = links[0].weight if len(links) == 1 else max([link.weight for link in links])
        total += min(weight, 30.0)
    return total * 2.5


def _best_group(groups: list[_Group], page: _Page) -> _Group | None:
    """The first group (of those with two members or more) with the highest score above 0,
    as scoring every group in order finds it; groups whose bound cannot reach the best
    score so far are not scored."""
    ranked = sorted(((_bound(g), i, g) for i, g in enumerate(groups)), key=lambda t: -t[0])
    best, best_score, best_index = None, 0.0, -1
    for rank, (bound, index, group) in enumerate(ranked):
        if bound < best_score:
            break  # sorted by bound: no later group can win either
        _measure(group, page)
        # The dated share costs the most to find: a group that wins at its least score goes without.
        least = _score(group, 0.0)
        if least > best_score and _beats_later(least, ranked[rank + 1:], page):
            return group
        score = _score(group, _dated_share(group, page))
        tie = score == best_score and best is not None and index < best_index
        if score > best_score or tie:
            best, best_score, best_index = group, score, index
    return best


def _item_text(extent: list[LexborNode]) -> str:
    # Its nodes' raw texts, spaced.
    return " ".join([n.text(deep=True) for n in extent]) if len(extent) > 1 else extent[0].text(deep=True)


def _beats_later(score: float, later: list[tuple[float, int, _Group]], page: _Page) -> bool:
    """No group of ``later`` (as ranked by _best_group) can reach ``score``: by its bound,
    or, measured, by its score were all its members dated."""
    for bound, _, group in later:
        if bound < score:
            return True  # sorted by bound: neither can the rest
        _measure(group, page)
        if _score(group, 1.0) >= score:
            return False
    return True


def find_records(tree: LexborHTMLParser, ctx: PageContext) -> list[Record]:
    """The page's main list, item by item, in page order."""
    return _find_records(tree, ctx, None)


def _find_records(tree: LexborHTMLParser, ctx: PageContext, scan: NextScan | None) -> list[Record]:
    anchors = tree.css("a[href]")
    links = _good_links(anchors, ctx, scan)
    page = _page_facts(tree, anchors, ctx.url)
    votes = _votes(links, page)
    # Most groups are never looked at: those of one member cannot win, and only those of
    # the winner's tag can join it. So groups of two or more members are made here, and
    # those of one member only if they have the winner's tag.
    made = {key: _group(key, members, page) for key, members in votes.items() if len(members) >= 2}
    best = _best_group(list(made.values()), page)
    if best is None or (best.noise and _dated_share(best, page) < 0.5):
        return []  # only menus and link boxes: the page has no list (or it vanished)
    same_tag = [made[key] if key in made else _group(key, members, page)
                for key, members in votes.items() if key[1] == best.tag]
    chosen = _siblings_of_shape(best, same_tag, page)
    if len(chosen) > 1:
        order = {n.mem_id: i for i, n in enumerate(tree.root.traverse())}
        chosen.sort(key=lambda g: order.get(g.members[0].mem_id, 0))
    records = []
    for group in chosen:
        _find_items(group)
        for lead, extent, main in zip(group.leads, group.extents, group.mains, strict=True):
            records.append(_record(lead, extent, main, ctx, page))
    return records


# --- one record's fields --------------------------------------------------------------


def _record(lead: LexborNode, extent: list[LexborNode], main: _Link, ctx: PageContext,
            page: _Page) -> Record:
    link = main.node
    # A link wrapping a whole card: its heading is the title, the rest its date and summary.
    # A link of text alone (most) can only match itself, which is no heading of its own.
    leaf = main.visible is not None or not _has_element_child(link)  # a lone text has no element
    heading = None if leaf else link.css_first("h1, h2, h3, h4, h5, h6, [class*=title]")
    title_node = heading if heading is not None and not _same(heading, link) and node_text(heading) else link
    title = node_title(title_node, main.visible) if title_node is link else link_title(title_node)
    skip = _subtree_ids(title_node, lone=title_node is link and main.visible is not None)
    if title_node is link and not leaf:
        title = _without_dates(link, title)
    record = Record(lead, extent, link, title_node, title, main.url)
    title_raw = main.raw if title_node is link else title_node.text(deep=True)
    linked = page.linked if title_node is link else None
    walk = _walk(extent, skip, title_node, title_raw, linked, lead.parent)
    _find_date(record, walk.nodes, ctx, leaf, walk.wordy)
    _find_summary(record, walk)
    return record


def _subtree_ids(node: LexborNode, *, lone: bool) -> set[int]:
    # The mem_ids of ``node`` and all below it; of a node whose only child is a text node
    # (``lone``), without a walk.
    if lone:
        return {node.mem_id, node.first_child.mem_id}
    return {n.mem_id for n in node.traverse(include_text=True)}


def _has_element_child(node: LexborNode) -> bool:
    return any(child.is_element_node for child in node.iter())


def _without_dates(link: LexborNode, title: str) -> str:
    # "<a>标题 <span>2025-01-08</span></a>": the date is not part of the title.
    for node in link.css("*"):
        if node.mem_id != link.mem_id:
            text = node_text(node)
            if text and looks_like_date(text) and text in title and text != title:
                title = clean_text(title.replace(text, " ", 1))
    return title


@dataclass(slots=True)
class _Walk:
    """An item's nodes outside its title, walked once for both its date and its summary."""

    nodes: list[LexborNode]  # elements and text nodes, in page order
    wordy: set[int]  # nodes whose text holds a word (an ideograph no date uses), so no date
    boxes: list[LexborNode]  # the elements that may hold the summary
    no_box: Container[int]  # nodes holding the title or a link; with each, its boxes up to ``stop``
    stop: int | None  # the mem_id of the node above the extent


def _walk(extent: list[LexborNode], skip: set[int], title_node: LexborNode, title_raw: str,
          linked: _Linked | None, below: LexborNode | None) -> _Walk:
    """The extent's elements and text nodes outside the title (``skip``, a whole subtree)
    and outside <script> and <style>, but for blank text nodes (the indentation between
    tags), which neither field reads. No summary is a link or holds the title, nor, when
    the title is the link (``linked`` is the page's, else None), holds a link (a list of
    links). ``title_raw`` is title_node.text(deep=True). ``below`` holds the extent:
    nothing above is walked."""
    stop = below.mem_id if below is not None else None
    # The boxes holding the title's text: a title link's are on record, without a walk up the tree.
    around = (_linked_ancestor_ids(title_node.mem_id, linked, stop) if linked is not None
              else _ancestor_ids(title_node, below=below))
    no_box = linked if linked is not None else around  # a title link's boxes are in linked too
    wordy = set(around) if has_word(title_raw) else set()
    walk = _Walk([], wordy, [], no_box, stop)
    add_node, add_box = walk.nodes.append, walk.boxes.append
    for top in extent:
        if top.mem_id in skip:
            continue
        hidden = skip
        # traverse() walks in C, and skips the blank text nodes there; the subtrees to
        # leave out are dropped by id.
        for node in top.traverse(include_text=True, skip_empty=True):
            mem_id = node.mem_id
            if mem_id in hidden:
                continue
            add_node(node)
            tag = node.tag  # "-text" for a text node: one question tells the commonest two kinds
            if tag == "-text":
                if has_word(node.text_content):
                    # It and its boxes, up to one already in (its boxes are in too).
                    current: LexborNode | None = node
                    while mem_id != stop and mem_id not in wordy:
                        wordy.add(mem_id)
                        current = current.parent
                        if current is None:
                            break
                        mem_id = current.mem_id
            elif node.is_element_node:
                if tag in ("script", "style"):
                    inside = {n.mem_id for n in node.traverse(include_text=True)}
                    inside.discard(mem_id)
                    hidden = hidden | inside
                elif tag != "a" and mem_id not in no_box:
                    add_box(node)
    return walk


def _element_of(node: LexborNode) -> LexborNode:
    return node if node.is_element_node else node.parent


def _find_date(record: Record, walked: list[LexborNode], ctx: PageContext, leaf: bool,
               wordy: set[int]) -> None:
    # A node that is just a date ("[2025-01-08]", "发布时间：2025年01月08日"), then a
    # <time datetime>, then a short text that holds a date among other words. The texts
    # are gathered while looking for the first: it usually ends early. Those of ``wordy``
    # nodes, known to hold words, are read only if the look for a date among words needs them.
    texts: list[str | None] = []  # clean_text(_date_text(node)), None for wordy nodes
    failed: set[str] = set()  # a <p> and its only text node read the same: judged once
    for node in walked:
        text = None if node.mem_id in wordy else clean_text(_date_text(node))
        if text and text not in failed:
            if looks_like_date(text) and _set_date(record, text, _element_of(node), ctx):
                return
            failed.add(text)
        texts.append(text)
    for node in walked:
        if node.is_element_node:
            attrs = node.attributes  # a dict: node.attrs.get of a missing name raises a KeyError
            for attr in ("datetime", "data-date", "data-time", "content"):
                value = clean_text(attrs.get(attr))
                if value and len(value) <= 40 and _set_date(record, value, node, ctx):
                    return
    for node, known in zip(walked, texts, strict=True):
        text = clean_text(_date_text(node)) if known is None else known
        if text and len(text) <= 60 and _DATE_HINT.search(text) and _set_date(
                record, text, _element_of(node), ctx):
            return
    if record.title_node is record.link and not leaf:  # a leaf link holds no date of its own
        for node in record.link.css("*"):
            text = node_text(node)
            if node.mem_id != record.link.mem_id and text and looks_like_date(text) and _set_date(
                    record, text, node, ctx):
                return


def _date_text(node: LexborNode) -> str:
    # The raw text the date search reads: "" when it is blank, or too long for a date.
    # Spaced: a day badge and its year-month in two spans ("08" "2025-01") stay apart.
    raw = node.text(deep=True, separator=" ") if node.is_element_node else node.text_content
    return raw if raw and len(raw) <= 120 and not raw.isspace() else ""


def _set_date(record: Record, text: str, node: LexborNode, ctx: PageContext) -> bool:
    day = date_from_text(text, ctx)
    if day is None:
        return False
    record.date = with_heading_year(day, text, record.lead)
    record.raw_date, record.date_node = text, node
    return True


def _find_summary(record: Record, walk: _Walk) -> None:
    # Boxes around the date hold more than a summary (those around the title are out already).
    near_date = _date_boxes(record.date_node, walk) if record.date_node is not None else set()
    best, best_text = None, ""
    for node in walk.boxes:
        if node.mem_id in near_date:
            continue
        text = node_text(node)
        # ">=": the innermost of nested boxes with the same text. The length first: it is cheap.
        if len(text) < len(best_text) or not _weighs(text, 12) or text == record.title or looks_like_date(
                text):
            continue
        best, best_text = node, text
    if best is not None:
        record.summary, record.summary_node = best_text, best


def _date_boxes(node: LexborNode, walk: _Walk) -> set[int]:
    """The date ``node`` and its boxes that may be walk.boxes: the walk up stops at the
    first in no_box, since so are the boxes above it."""
    found = set()
    current: LexborNode | None = node
    while current is not None and (mem_id := current.mem_id) != walk.stop and mem_id not in walk.no_box:
        found.add(mem_id)
        current = current.parent
    return found


# --- explain: selectors that reproduce the result with parser = "css" ----------------------


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
# Classes that differ between items of one list, or say nothing about structure.
_UNSTABLE_CLASS = re.compile(r"^(?:odd|even|first|last|on|active|cur|current|selected|hover|clearfix"
                             r"|fl|fr|left|right|clear|cf|n\d+)$|\d{3,}")
_SPECIFIC = re.compile(r"[.#\[]")


def _plain_classes(node: LexborNode) -> list[str]:
    return [c for c in (node.attributes.get("class") or "").split() if _PLAIN.match(c)]


def _classes_of(node: LexborNode) -> list[str]:
    return [c for c in _plain_classes(node) if not _UNSTABLE_CLASS.search(c)]


def _simple(nodes: list[LexborNode], *, ids: bool = False) -> list[str]:
    """Simple selectors every node of ``nodes`` matches: #id (one node), tag.class, tag."""
    if not nodes or any(n.tag != nodes[0].tag for n in nodes):
        return []
    tag = nodes[0].tag
    out = []
    if ids and len(nodes) == 1 and _PLAIN.match(nodes[0].attributes.get("id") or ""):
        out.append("#" + nodes[0].attributes["id"])
    common = [c for c in _classes_of(nodes[0]) if all(c in _classes_of(n) for n in nodes[1:])]
    return out + [f"{tag}.{c}" for c in common] + [tag]


def _unique(nodes: list[LexborNode]) -> list[LexborNode]:
    return list({n.mem_id: n for n in nodes}.values())


def _by_preference(candidates: list[str]) -> list[str]:
    # Classes and ids survive redesigns of a page better than bare tags and positions;
    # among equals, the generation order (simplest first) stands.
    def key(c: str) -> tuple[int, int]:
        return -min(len(_SPECIFIC.findall(c)), 2), ("nth-child" in c)

    return sorted(dict.fromkeys(candidates), key=key)


def _nth(node: LexborNode) -> int:
    index, sib = 1, node.prev
    while sib is not None:
        if sib.is_element_node:
            index += 1
        sib = sib.prev
    return index


def _path(node: LexborNode, top: LexborNode) -> list[LexborNode]:
    # node, its parent, ... up to and including top (node itself when node is top).
    chain = [node]
    while chain[-1].mem_id != top.mem_id and chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    return chain


def _field_candidates(records: list[Record], targets: list[LexborNode | None]) -> list[str]:
    paths = []
    for record, target in zip(records, targets, strict=True):
        if target is not None:
            top = next((e for e in record.extent if e.is_element_node and _contains(e, target)), target)
            paths.append(_path(target, top))
    if not paths:
        return []
    selves = _simple([p[0] for p in paths])
    candidates = list(selves)
    if selves and all("title" in p[0].attributes for p in paths):
        candidates.append(f"{selves[-1]}[title]")
    if selves and len(nth := {_nth(p[0]) for p in paths}) == 1:
        candidates.append(f"{selves[-1]}:nth-child({nth.pop()})")
    for level in range(1, min(len(p) for p in paths)):
        outers = _simple([p[level] for p in paths])
        for outer in outers:
            for inner in selves:
                candidates.append(f"{outer} {inner}")
                if level == 1:
                    candidates.append(f"{outer} > {inner}")
        if outers and selves and len(nth := {_nth(p[level]) for p in paths}) == 1:
            # ">" keeps it inside the item: an outer layout cell can be the n-th child too.
            joint = " > " if level == 1 else " "
            candidates.append(f"{outers[-1]}:nth-child({nth.pop()}){joint}{selves[-1]}")
    return _by_preference(candidates)


def _same(a: LexborNode | None, b: LexborNode | None) -> bool:
    return a is not None and b is not None and a.mem_id == b.mem_id


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    return outer.mem_id in _ancestor_ids(inner)


def _field_selectors(records: list[Record], targets: list[LexborNode | None]) -> list[str]:
    """Selectors whose first match in each record is that record's target, best first."""
    out = []
    for candidate in _field_candidates(records, targets):
        try:
            if all(_same(first_match(r.extent, candidate), t)
                   for r, t in zip(records, targets, strict=True) if t is not None):
                out.append(candidate)
        except SelectolaxError:
            continue
    return out


def _item_selectors(tree: LexborHTMLParser, leads: list[LexborNode]) -> list[str]:
    """Selectors that pick the item nodes: exact ones first, then supersets (header
    rows, separators) that the title selector has to filter out."""
    selves = _simple(leads)
    if selves:
        # a[target="_blank"]: list links often differ from a pager's links in the same cell only so.
        shared = [(k, v) for k, v in leads[0].attributes.items() if k in ("target", "title") and v
                  and all(n.attributes.get(k) == v for n in leads) and '"' not in v]
        selves += [f'{selves[-1]}[{k}="{v}"]' for k, v in shared if k == "target"]
        if all("title" in n.attributes for n in leads):
            selves.append(f"{selves[0]}[title]")
    parents = _unique([n.parent for n in leads if n.parent is not None])
    outers = _simple(parents, ids=True)
    candidates = [f"{outer} > {inner}" for outer in outers for inner in selves]
    grands = _unique([p.parent for p in parents if p.parent is not None])
    for grand in _simple(grands, ids=True):
        for inner in selves:
            candidates += [f"{grand} > {outers[-1]} > {inner}" if outers else f"{grand} {inner}",
                           f"{grand} {inner}"]
    # Chains of ancestors, for class-less markup (tables in tables).
    levels = [leads]
    for _ in range(6):
        above = _unique([n.parent for n in levels[-1] if n.parent is not None])
        if not above or any(n.tag in ("body", "html") for n in above):
            break
        levels.append(above)
        for pick in (0, -1):
            chain = [_simple(level) for level in reversed(levels[1:])]
            if all(chain) and selves:
                candidates.append(" > ".join([c[pick] for c in chain] + [selves[pick]]))
    node = grands[0].parent if len(grands) == 1 else None
    while node is not None and node.tag not in ("body", "html"):  # the nearest id above anchors it
        if _PLAIN.match(node.attributes.get("id") or ""):
            candidates += [f"#{node.attributes['id']} {outers[-1]} > {inner}" for inner in selves if outers]
            break
        node = node.parent
    exact, superset = [], []
    want = [n.mem_id for n in leads]
    for candidate in _by_preference(candidates):
        try:
            got = [n.mem_id for n in tree.css(candidate)]
        except SelectolaxError:
            continue
        if got == want:
            exact.append(candidate)
        elif set(want) <= set(got) and len(got) <= 3 * len(want) + 5:
            superset.append(candidate)
    return exact + superset


def _next_selector(tree: LexborHTMLParser, ctx: PageContext, found: NextLink | None) -> str | None:
    if found is None or found.node is None:
        return None
    node = found.node
    candidates = []
    if found.how == "rel":
        candidates.append(f'{node.tag}[rel~="next"]')
    candidates += [f"a.{c}" for c in _classes_of(node) if "next" in c.lower()]
    parent = node.parent
    if parent is not None:
        candidates += [f"{parent.tag}.{c} > a" for c in _classes_of(parent) if "next" in c.lower()]
    title = node.attributes.get("title")
    if title and '"' not in title:
        candidates.append(f'a[title="{title}"]')
    label = clean_text(node.text(deep=True))
    if label and '"' not in label and not label.isdigit():
        candidates.append(f'a:lexbor-contains("{label}")')
    if found.how == "pager" and found.current is not None:
        # The current page's marker ("span.cur", "li.active") comes right before the next number.
        current = found.current
        before = _prev_element(node)
        if before is not None and before.mem_id == current.mem_id:
            candidates += [f"{current.tag}.{c} + a" for c in _plain_classes(current)] + [f"{current.tag} + a"]
        box = current if current.tag == "li" else current.parent
        if box is not None and box.tag == "li" and parent is not None and parent.tag == "li":
            candidates += [f"li.{c} + li > a" for c in _plain_classes(box)]
        # Scoped to the pager's box, so a menu's "li.active" does not match first.
        scopes: list[str] = []
        above = box.parent if box is not None and box.tag == "li" else current.parent
        for _ in range(3):
            if above is None or above.tag in ("body", "html"):
                break
            scopes += _simple([above], ids=True)[:-1]
            above = above.parent
        candidates = [f"{scope} {c}" for scope in scopes for c in candidates] + candidates
    for candidate in candidates:
        try:
            if select_next(tree, ctx, candidate) == found.url:
                return candidate
        except SelectolaxError:
            continue
    return None


@dataclass
class Explanation:
    """What auto found, as css selectors, plus what they cannot express."""

    selectors: dict[str, str]  # keys of [sources.NAME.selectors]
    page_url: str | None = None  # a page_url template, when the pager is a createPageHTML script
    reproduces: bool = False  # css with ``selectors`` finds the same items (and next URL)
    notes: list[str] = field(default_factory=list)


def explain(tree: LexborHTMLParser, ctx: PageContext) -> Explanation:
    """The selectors that make parser "css" reproduce what auto finds on this page.

    Each selector is checked against the page: the item selector picks the item nodes
    (with extra nodes only where the title selector skips them), and css with the
    selectors must give the same titles, URLs and dates (``reproduces``).
    """
    records = find_records(tree, ctx)
    found = find_next(tree, ctx)
    out = Explanation(selectors={})
    if not records:
        out.notes.append("no list of items found")
        return out
    fields: dict[str, str] = {}
    if any(r.title_node is not r.link for r in records):
        urls = _field_selectors(records, [r.link for r in records])
        if urls:
            fields["url"] = urls[0]
    if any(r.date_node is not None for r in records):
        dates = _field_selectors(records, [r.date_node for r in records])
        if dates:
            fields["date"] = dates[0]
        else:
            out.notes.append("no selector picks every date")
    if sum(r.summary_node is not None for r in records) * 2 >= len(records):
        summaries = _field_selectors(records, [r.summary_node for r in records])
        if summaries:
            fields["summary"] = summaries[0]
    if found is not None and found.how == "script":
        out.page_url = found.template
        out.notes.append("the pager is a createPageHTML script: set page_url instead of a next selector")
    elif found is not None:
        nxt = _next_selector(tree, ctx, found)
        if nxt:
            fields["next"] = nxt
        else:
            out.notes.append("no selector picks the next-page link")
    want = [(r.title, r.url, r.date) for r in records]
    titles = _field_selectors(records, [r.title_node for r in records])
    best: tuple[int, dict[str, str]] | None = None
    for item_sel in _item_selectors(tree, [r.lead for r in records]):
        for title_sel in titles[:6]:
            sel = {"item": item_sel, "title": title_sel, **fields}
            got = [(i.title, i.url, i.date) for i in extract(tree, ctx, sel, strict=False).items]
            same = sum(a == b for a, b in zip(got, want, strict=False)) - abs(len(got) - len(want))
            if best is None or same > best[0]:
                best = (same, sel)
            if got == want:
                out.selectors = sel
                # The next link counts too: by selector, or by the page_url a script pager needs.
                out.reproduces = found is None or "next" in sel or out.page_url is not None
                return out
    if best is None:
        out.notes.append("no selector picks every item" if titles else "no selector picks every title")
        return out
    out.selectors = best[1]
    out.notes.append(f"css with these selectors gets {max(best[0], 0)} of {len(want)} items right")
    return out

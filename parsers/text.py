"""Text out of HTML: decoding the body, visible text of nodes, link titles."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from functools import lru_cache

from selectolax.lexbor import LexborNode

__all__ = ["clean_text", "decode_html", "is_truncated", "link_title", "lone_text", "node_text",
           "text_longer_than"]

# Zero-width characters render as nothing: dropping them (rather than turning them
# into spaces) keeps "新\u200b闻" equal to "新闻". Joiners (\u200c, \u200d) carry meaning.
_INVISIBLE = str.maketrans("", "", "\u200b\u2060\ufeff")


def clean_text(s: str | None) -> str:
    """Collapse every run of whitespace (\\u3000, \\xa0, newlines...) to one space; strip.

    Characters are otherwise kept as they are (no NFKC): this is display text.
    """
    if not s:
        return ""
    if "\u200b" in s or "\u2060" in s or "\ufeff" in s:  # rare; translate is slow on CJK text
        s = s.translate(_INVISIBLE)
    # str.split() splits on exactly what \s matches in str patterns (str.isspace), and
    # is several times faster than re.sub + strip.
    return " ".join(s.split())


# Their content is never shown as text.
_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template"})
# Boundaries of these render as line breaks, so their text must not run together.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip


def node_text(node: LexborNode | None) -> str:
    """The visible text of ``node``, cleaned with clean_text.

    Skips <script>, <style>, <noscript>, <template> and comments; block elements
    and <br> separate words with a space. Reads the tree only, never changes it.
    """
    if node is None:
        return ""
    lone = lone_text(node)
    if lone is not None and node.tag not in _HIDDEN_TAGS:
        return clean_text(lone)  # the common leaf, <a>title</a>: no walk
    return clean_text("".join(_text_parts(node)))


def lone_text(node: LexborNode) -> str | None:
    """The raw text of a node whose only child is a text node (<a>title</a>), else None."""
    child = node.first_child
    if child is not None and child.next is None and child.is_text_node:
        return child.text_content or ""
    return None


def text_longer_than(node: LexborNode, limit: int) -> bool:
    """``len(node_text(node)) > limit``, reading only as much of the node as that takes
    (a whole list's text is not needed to see that it has some)."""
    parts: list[str] = []
    size = checked = 0
    for part in _text_parts(node):
        parts.append(part)
        size += len(part)
        # Cleaning only shortens, and more text never makes the cleaned text shorter; check
        # when the raw text has doubled, so a long walk stays linear.
        if size > limit and size >= 2 * checked:
            checked = size
            if len(clean_text("".join(parts))) > limit:
                return True
    return len(clean_text("".join(parts))) > limit


def _text_parts(node: LexborNode) -> Iterator[str]:
    # The raw text pieces node_text joins, in page order.
    # Iterative walk: deeply nested markup must not hit the recursion limit.
    stack: list[LexborNode | str] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
            continue
        if current.is_text_node:
            yield current.text_content or ""
            continue
        if not current.is_element_node and current is not node:
            continue  # comments, doctype
        tag = current.tag
        if tag in _HIDDEN_TAGS:
            continue
        if tag in _BLOCK_TAGS:
            yield " "
            stack.append(" ")
        stack.extend(reversed(list(current.iter(include_text=True))))


_ELLIPSES = ("…", "...", "..", "……", "。。。", "⋯")


def is_truncated(text: str) -> bool:
    """True when ``text`` ends with an ellipsis: the site cut the title short."""
    return bool(text) and text.strip().endswith(_ELLIPSES)


def _stem(text: str) -> str:
    # The visible text without its trailing ellipsis marks.
    return text.rstrip("….。⋯ ")


def link_title(a_node: LexborNode | None, visible: str | None = None) -> str:
    """The title of a link: its visible text, or the ``title`` attribute when that
    text is empty or cut short (``…``, ``...``).

    The attribute is looked up on the element, then on its descendants in document
    order. A truncated text keeps winning over an attribute shorter than what is
    visible: such an attribute ("详情", the site name) cannot be the whole title.
    ``visible`` is node_text(a_node) when the caller has it already.
    """
    if a_node is None:
        return ""
    if visible is None:
        visible = node_text(a_node)
    if visible and not is_truncated(visible):
        return visible
    for candidate in _title_attributes(a_node):
        if not visible or len(candidate) >= len(_stem(visible)):
            return candidate
    return visible


def _title_attributes(node: LexborNode) -> list[str]:
    # Non-empty title attributes of the node and its descendants, in document order,
    # skipping the subtrees node_text skips.
    found = []
    stack = [node]
    while stack:
        element = stack.pop()
        if not element.is_element_node or element.tag in _HIDDEN_TAGS:
            continue
        title = clean_text(element.attrs.get("title"))
        if title:
            found.append(title)
        stack.extend(reversed(list(element.iter())))
    return found


# --- decoding -----------------------------------------------------------------

# Browsers decode every GB2312/GBK label as GB18030 (a strict superset), and so do we.
_ALIASES = {
    "gbk": "gb18030", "gb2312": "gb18030", "gb_2312": "gb18030", "gb_2312-80": "gb18030",
    "x-gbk": "gb18030", "csgb2312": "gb18030", "chinese": "gb18030", "iso-ir-58": "gb18030",
    "euc-cn": "gb18030", "cp936": "gb18030", "windows-936": "gb18030", "gb18030": "gb18030",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
    "utf-16": "utf-16-le", "unicode": "utf-16-le",
    # As in browsers, Latin-1 and ASCII labels mean windows-1252.
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "l1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "iso_8859-1": "cp1252",
}  # fmt: skip
# Python codecs no browser offers (utf-7 would even let markup hide in "ASCII").
_REFUSED = frozenset(
    {"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "mbcs", "oem"}
)

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@lru_cache(maxsize=64)
def _codec(label: str | bytes | None) -> str | None:
    """The Python codec for a charset label, or None when it is unknown or unusable.
    Cached: pages name a few labels over and over."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    label = label.lower()
    if "charset=" in label:  # a whole Content-Type value was passed
        label = label.split("charset=", 1)[1].split(";", 1)[0]
    label = label.strip().strip("\"'").strip()
    if not label:
        return None
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, errors="replace")  # refuses bytes-to-bytes codecs such as base64
    except (LookupError, ValueError):
        return None
    return None if name in _REFUSED else name


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode an HTML body; returns (text, encoding name such as "utf-8", "gb18030").

    Order: BOM, the HTTP header charset, a <meta> (or XML declaration) charset in
    the first 4 KB, strict UTF-8, else GB18030. Unknown labels fall through to the
    next rule. Bad bytes become U+FFFD; this never raises.
    """
    body = bytes(body or b"")
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace"), name

    encoding = _codec(header_charset)
    if encoding is None:
        head = body[:4096]
        for pattern in (_META_CHARSET, _XML_ENCODING):
            found = pattern.search(head)
            encoding = _codec(found.group(1)) if found else None
            if encoding is not None:
                break
        # A <meta> readable as ASCII cannot be UTF-16: browsers read it as UTF-8.
        if encoding is not None and encoding.startswith("utf-16"):
            encoding = "utf-8"
    if encoding is not None:
        try:
            return body.decode(encoding, errors="replace"), encoding
        except (LookupError, ValueError):  # a codec that still refuses: fall through
            pass

    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace"), "gb18030"

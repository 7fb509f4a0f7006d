"""Item links: resolve them as a browser would, and give each article a stable identity.

An article's identity must survive cosmetic URL changes (tracking parameters,
fragments, http/https, www/no-www, ports — our offline mirror runs on a random
127.0.0.1 port), so identity is built from the canonical URL, and made
host-relative when the link points at the source's own site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

__all__ = ["canonical_url", "host_of", "identity_key", "resolve_canonical", "resolve_url"]

_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": "80", "https": "443"}

# Query parameters that only say who shared or clicked a link, never which article it is.
_TRACKING_PARAMS = frozenset(
    {
        "spm", "from", "fbclid", "gclid", "mc_cid", "mc_eid", "yclid", "_hsenc", "_hsmi",
        "share_source", "share_medium", "wxshare_count", "isappinstalled", "scene",
        "clicktime", "enterid",
    }
)  # fmt: skip

# Browsers drop ASCII tab and newlines anywhere in a URL (WHATWG URL parsing).
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are when re-encoding: RFC 3986 reserved + unreserved + "%".
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
# A host as the fast paths below take it: lower-case ASCII labels, no userinfo.
_PLAIN_HOST = r"[a-z0-9-]+(?:\.[a-z0-9-]+)*"
_QUERY_SAFE = _PATH_SAFE + "?"


# A link that is a plain path ("content/2024/1.html", "/news/"): no scheme, host, query,
# fragment, dot segment, empty segment or character urljoin treats specially. It resolves
# to the page's directory (or origin, when rooted) + itself, so urljoin can be skipped.
_PLAIN_HREF = re.compile(r"/?[\w~%+,=-]+(?:[./][\w~%+,=-]+)*/?", re.ASCII)
# A plain href of the characters of _CANONICAL paths alone (most): appended to a canonical
# prefix, it makes a canonical URL.
_CANONICAL_HREF = re.compile(r"/?[\w~-]+(?:[./][\w~-]+)*/?", re.ASCII)


def resolve_url(href: str | None, page_url: str, base_href: str | None = None) -> str | None:
    """The absolute http(s) URL an ``href`` on ``page_url`` points to, without fragment.

    Relative links resolve against ``base_href`` (itself resolved against the page
    URL) when the page has a ``<base href>``. Returns None for empty and
    fragment-only links and for anything that is not http(s) (javascript:, mailto:...).
    """
    if href is None:
        return None
    plain = _resolve_plain(href, page_url, base_href)
    return plain[0] if plain is not None else _resolve(href, page_url, base_href)


def resolve_canonical(href: str | None, page_url: str, base_href: str | None = None
                      ) -> tuple[str | None, str | None]:
    """resolve_url(href, page_url, base_href) and its canonical_url (None for None), the
    latter without a second look at a plain link known to be canonical already."""
    if href is None:
        return None, None
    plain = _resolve_plain(href, page_url, base_href)
    if plain is not None:
        url, canonical = plain
        return url, url if canonical else canonical_url(url)
    url = _resolve(href, page_url, base_href)
    return url, canonical_url(url) if url is not None else None


def _resolve_plain(href: str, page_url: str, base_href: str | None) -> tuple[str, bool] | None:
    # What resolve_url makes of a plain href without urljoin, and whether that is a canonical
    # URL; None for other hrefs, which take the slow way.
    canonical_href = _CANONICAL_HREF.fullmatch(href)
    if canonical_href or _PLAIN_HREF.fullmatch(href):
        prefix = _prefix(page_url, base_href, "/x" if href[0] == "/" else "x")
        if prefix is not None:
            return prefix[0] + href, prefix[1] and canonical_href is not None
    elif _PLAIN_ABSOLUTE.fullmatch(href) and _parses_alone(page_url, base_href):
        return href, False  # what _resolve makes of it: the page's URL cannot change or refuse it
    return None


# An absolute link in the form _resolve gives it: lower-case http(s), a plain host, a path
# of plain segments, no query or fragment.
_PLAIN_ABSOLUTE = re.compile(rf"https?://{_PLAIN_HOST}(?::[0-9]+)?(?:/[\w~%+,=.-]*)*", re.ASCII)


def _parses_alone(page_url: str, base_href: str | None) -> bool:
    # No <base> to resolve, and a page URL whose host urljoin cannot refuse (it refuses
    # unbalanced brackets and some non-ASCII hosts).
    return not (base_href and base_href.strip()) and page_url.isascii() and "[" not in page_url \
        and "]" not in page_url


_NOT_PLAIN_URL = re.compile(r"[?#;\s\\]")


@lru_cache(maxsize=256)
def _prefix(page_url: str, base_href: str | None, probe: str) -> tuple[str, bool] | None:
    # What a plain href is appended to, and whether it is canonical (as the resolved probe
    # is: then so is it with any _CANONICAL_HREF appended). It depends on the page URL only up to its path's
    # last "/" (when there is no query, fragment or ";" params to cut first), so pages of
    # one directory share the slow part.
    if not _NOT_PLAIN_URL.search(page_url):
        page_url = page_url[: page_url.rfind("/") + 1]
    return _directory_prefix(page_url, base_href, probe)


@lru_cache(maxsize=256)
def _directory_prefix(page_url: str, base_href: str | None, probe: str) -> tuple[str, bool] | None:
    # The probe resolved the slow way, minus the probe.
    resolved = _resolve(probe, page_url, base_href)
    if resolved is None or not resolved.endswith(probe):
        return None
    return resolved[: -len(probe)], _CANONICAL.fullmatch(resolved) is not None


def _resolve(href: str, page_url: str, base_href: str | None) -> str | None:
    # Browsers treat "\" as "/" in http(s) URLs; some CMSs emit Windows-style paths.
    href = href.strip().translate(_TAB_NEWLINE).replace("\\", "/")
    if not href or href.startswith("#"):
        return None
    base = page_url.strip()
    try:
        if base_href and base_href.strip():
            candidate = urljoin(base, base_href.strip().translate(_TAB_NEWLINE))
            if urlsplit(candidate).scheme.lower() in _WEB_SCHEMES:  # ignore a bogus <base>
                base = candidate
        parts = urlsplit(urljoin(base, href))
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _normalize_escapes(text: str, safe: str) -> str:
    # Decode escapes of unreserved characters (%41 -> A) and upper-case the rest
    # (%e6 -> %E6), then percent-encode what is left raw (non-ASCII as UTF-8,
    # spaces, a stray "%"), so every spelling of a URL gives the same string.
    def unescape(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    text = _ESCAPE.sub(unescape, text)
    text = quote(text, safe=safe)
    # quote() keeps every "%"; encode the ones that do not start an escape.
    return re.sub(r"%(?![0-9A-F]{2})", "%25", text)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, on "/"-separated segments.
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def _normalize_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:  # internationalized names compare in their ASCII (punycode) form
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _is_tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0]
    key = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), key).strip().lower()
    return key.startswith("utm_") or key in _TRACKING_PARAMS


# A URL already in canonical form (what resolve_url makes of plain links), returned as is:
# lower-case scheme and ASCII host, no default port, a path of plain segments, no query.
_CANONICAL = re.compile(
    rf"https?://{_PLAIN_HOST}(?::(?!(?:80|443)(?!\d))[1-9]\d*)?"
    r"(?:/[\w~-]*(?:\.[\w~-]+)*)+",
    re.ASCII,
)


def canonical_url(url: str) -> str:
    """The one spelling of ``url`` used for identity.

    Lower-case scheme and host, no default port, no fragment, no tracking
    parameters (others keep their order), ``/`` for an empty path, dot segments
    resolved, non-ASCII and unsafe characters percent-encoded as UTF-8 (existing
    escapes are kept, never double-encoded). A string that cannot be parsed as a
    URL comes back stripped, unchanged otherwise.
    """
    if _CANONICAL.fullmatch(url):
        return url
    url = url.strip().translate(_TAB_NEWLINE)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: its colons are not a port separator
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = _normalize_host(host)
    if port and _DEFAULT_PORTS.get(scheme) == port.lstrip("0"):
        port = ""
    netloc = userinfo + at + host + (":" + port if port else "")

    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_SAFE))
    if not path and netloc:
        path = "/"
    pairs = [p for p in parts.query.split("&") if p and not _is_tracking(p)]
    query = "&".join(_normalize_escapes(p, _QUERY_SAFE) for p in pairs)
    return urlunsplit((scheme, netloc, path, query, ""))


_SIMPLE_HOST = re.compile(rf"https?://({_PLAIN_HOST})(?::\d*)?(?=[/?#]|\Z)", re.ASCII)


def host_of(url: str) -> str:
    """The comparable host of a URL (or of a bare ``host[:port]``).

    Lower-case, without port, without a leading ``www.``; "" when there is none.
    """
    simple = _SIMPLE_HOST.match(url)
    if simple:  # lower-case ASCII host, no userinfo: what urlsplit would find, without it
        host = simple[1]
        return host[4:] if host.startswith("www.") else host
    text = url.strip()
    if "://" not in text and not text.startswith("//"):
        text = "//" + text  # a bare host such as "www.Example.com:8080"
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = _normalize_host(host)
    return host[4:] if host.startswith("www.") else host


def identity_key(url: str, source_hosts: Iterable[str]) -> str:
    """What identifies the article behind ``url`` within its source.

    On one of the source's hosts (given as hosts or URLs, compared via host_of)
    this is the canonical path and query, e.g. ``/news/content/1.html?id=3``, so
    identity survives http/https, www/no-www and port changes. Links to other
    hosts keep the full canonical URL.
    """
    canonical = canonical_url(url)
    if host_of(canonical) in _own_hosts(tuple(source_hosts)):
        parts = urlsplit(canonical)
        return (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return canonical


@lru_cache(maxsize=64)
def _own_hosts(source_hosts: tuple[str, ...]) -> frozenset[str]:
    # Once per source, not once per item.
    return frozenset(host_of(h) for h in source_hosts) - {""}

"""Parsed items -> warehouse rows: identity, content hash, and what cannot be a row."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from parsers import Item
from parsers.text import clean_text
from parsers.urls import host_of, identity_key
from warehouse import ArticleRow, QuarantineRow

_SEP = "\x1f"


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEP.join(parts).encode("utf-8")).hexdigest()[:32]


def article_id(source: str, source_hosts: Iterable[str], item: Item) -> str:
    """Stable hash of the source and the canonical URL (host-relative on the source's hosts).

    Items without a link fall back to source + normalized title + date.
    """
    if item.url:
        return _digest(source, identity_key(item.url, source_hosts))
    title = unicodedata.normalize("NFKC", clean_text(item.title)).casefold()
    return _digest(source, "title:" + title, item.date.isoformat() if item.date else "")


def content_hash(item: Item) -> str:
    """What counts as a change of the article: title, date, summary."""
    return _digest(item.title, item.date.isoformat() if item.date else "", item.summary or "")


def quarantine_reason(item: Item, today: dt.date, link_hosts: Sequence[str] = ()) -> str | None:
    """Why an item cannot be a row, or None. ``link_hosts``: the hosts its link may be on
    ("*.example.org" for subdomains); empty allows any."""
    if not item.title:
        return "no title"
    if link_hosts and item.url and not host_allowed(host_of(item.url), link_hosts):
        return f"link to a host the source does not allow: {host_of(item.url)}"
    if item.raw_date and item.date is None:
        return f"unparseable date {item.raw_date!r}"
    if item.date and item.date > today + dt.timedelta(days=1):
        return f"date {item.date.isoformat()} is in the future"
    return None


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.lower().split(":")[0].removeprefix("www.")
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def to_rows(
    source: str,
    source_hosts: Iterable[str],
    page_url: str,
    items: Iterable[Item],
    *,
    fetched_at: dt.datetime,
    timezone: str,
    link_hosts: Sequence[str] = (),
) -> tuple[list[ArticleRow], list[QuarantineRow]]:
    """Split a page's items into article rows and quarantined items (with a reason)."""
    hosts = tuple(source_hosts)
    today = fetched_at.astimezone(ZoneInfo(timezone)).date()
    rows: list[ArticleRow] = []
    bad: list[QuarantineRow] = []
    for item in items:
        reason = quarantine_reason(item, today, link_hosts)
        if reason:
            snippet = _SEP.join(filter(None, [item.title, item.url, item.raw_date]))[:500]
            bad.append(QuarantineRow(source=source, page_url=page_url, reason=reason,
                                     title=item.title, url=item.url, raw_date=item.raw_date,
                                     snippet=snippet))
            continue
        rows.append(ArticleRow(
            article_id=article_id(source, hosts, item),
            source=source,
            url=item.url,
            title=item.title,
            published_date=item.date,
            summary=item.summary,
            content_hash=content_hash(item),
        ))
    return rows, bad

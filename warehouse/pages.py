"""The raw archive: every fetched listing page in `pages`, bodies compressed and deduplicated.

Keeping the bytes lets a parser fix be applied to pages fetched months ago (reparse) and lets
the next fetch be a conditional GET. A page's row is written in the same transaction as its
merge (merge_items(page=...)), so after a crash the archive and `articles` agree.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import uuid
import zlib
from collections.abc import Iterator, Sequence

import duckdb

from warehouse.errors import WarehouseError
from warehouse.rows import ArchivedPage, PageRecord
from warehouse.transaction import transaction

__all__ = ["archive_page", "archived_pages", "content_hash", "page_validators", "record_page"]

_ZLIB_LEVEL = 6  # listing HTML shrinks 4-8x; higher levels buy little for much more CPU

# One list per column, unnested side by side: one statement for a batch of pages.
_INSERT_PAGES = """
INSERT INTO pages (page_id, run_id, source, url, final_url, page_no, fetched_at, status,
                   encoding, etag, last_modified, content_hash, not_modified, error, attempts)
SELECT unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?::TIMESTAMPTZ[]),
       unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)
"""

_BUMP_RUN = """
UPDATE ingest_runs SET
    pages_fetched      = coalesce(pages_fetched, 0) + $fetched,
    pages_not_modified = coalesce(pages_not_modified, 0) + $not_modified,
    pages_failed       = coalesce(pages_failed, 0) + $failed
WHERE run_id = $run_id
"""

# Validators only from a fetch whose items were merged: reusing those of a page that failed
# to parse would get a 304 next time and its items would never arrive.
_VALIDATORS = """
SELECT etag, last_modified FROM pages
WHERE source = ? AND url = ? AND status = 200 AND content_hash IS NOT NULL AND error IS NULL
ORDER BY fetched_at DESC, page_id DESC
LIMIT 1
"""

# Latest 200 per (source, url), with or without an error: a page the old parser choked on is
# exactly what a reparse should retry. Oldest first, so merging in order ends on the newest.
_ARCHIVED = """
SELECT page_id, run_id, source, url, final_url, page_no, fetched_at, status, encoding, etag,
       last_modified, content_hash
FROM pages
WHERE status = 200 AND content_hash IS NOT NULL
  AND ($source IS NULL OR source = $source)
  AND ($since IS NULL OR fetched_at >= $since)
QUALIFY row_number() OVER (PARTITION BY source, url ORDER BY fetched_at DESC, page_id DESC) = 1
ORDER BY fetched_at, page_id
"""


def content_hash(body: bytes) -> str:
    """The key of a body in `page_bodies`: sha256 hex of the uncompressed bytes."""
    return hashlib.sha256(body).hexdigest()


def archive_page(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    source: str,
    url: str,
    final_url: str | None,
    page_no: int | None,
    fetched_at: dt.datetime,
    status: int | None,
    encoding: str | None,
    etag: str | None,
    last_modified: str | None,
    body: bytes | None,
    not_modified: bool = False,
    error: str | None = None,
    attempts: int = 1,
) -> str | None:
    """Write one `pages` row (and its body, once per content); return the body's content_hash.

    Opens no transaction and moves no run counters: call it inside the transaction of the
    page's merge. merge_items(page=...) and record_page do exactly that, so flows normally
    use those. The hash is None for a 304 or when there is no body.
    """
    page = PageRecord(
        run_id=run_id, source=source, url=url, final_url=final_url, page_no=page_no,
        fetched_at=fetched_at, status=status, encoding=encoding, etag=etag,
        last_modified=last_modified, body=body, not_modified=not_modified, error=error,
        attempts=attempts,
    )
    return write_page(con, page)[1]


def record_page(con: duckdb.DuckDBPyConnection, page: PageRecord) -> str | None:
    """Archive a page that brings no merge (a 304, a failed fetch or parse) in one transaction.

    The run's counters move with it: a 304 adds one to pages_not_modified, a page with an
    `error` to pages_failed, any other to pages_fetched. Returns the body's content_hash.
    """
    with transaction(con):
        _, digest = write_page(con, page)
        con.execute(_BUMP_RUN, {
            "fetched": int(not page.not_modified and page.error is None),
            "not_modified": int(page.not_modified),
            "failed": int(not page.not_modified and page.error is not None),
            "run_id": page.run_id,
        })
    return digest


def page_validators(
    con: duckdb.DuckDBPyConnection, source: str, url: str
) -> tuple[str | None, str | None]:
    """(ETag, Last-Modified) of the latest successful 200 for this URL, for a conditional GET.

    (None, None) if the URL was never fetched and merged, or its server sent neither.
    """
    row = con.execute(_VALIDATORS, [source, url]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def archived_pages(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str | None = None,
    since: dt.date | None = None,
) -> Iterator[ArchivedPage]:
    """The latest 200 fetch of each (source, url), body decompressed, oldest fetch first.

    `since` keeps pages fetched on or after that day (UTC; a datetime is used as given).
    The page list is read up front and each body only when its page is reached, so the
    caller may merge on the same connection between pages, and memory holds one body.
    """
    params = {"source": source, "since": _since_bound(since)}
    listing = con.execute(_ARCHIVED, params).fetchall()
    for (page_id, run_id, src, url, final_url, page_no, fetched_at, status, encoding, etag,
         last_modified, digest) in listing:
        yield ArchivedPage(
            page_id=page_id, run_id=run_id, source=src, url=url, final_url=final_url,
            page_no=page_no, fetched_at=fetched_at, status=status, encoding=encoding,
            etag=etag, last_modified=last_modified, content_hash=digest,
            body=_load_body(con, digest),
        )


def write_page(con: duckdb.DuckDBPyConnection, page: PageRecord) -> tuple[str, str | None]:
    """Insert the page (and its body if new) in the caller's transaction; (page_id, hash).

    For archive_page and record_page here; merge.py archives its batch with write_pages.
    """
    return write_pages(con, [page])[0]


def write_pages(con: duckdb.DuckDBPyConnection,
                pages: Sequence[PageRecord]) -> list[tuple[str, str | None]]:
    """Insert pages (and their bodies not stored yet) in the caller's transaction, set-based:
    three statements for a batch of any size; (page_id, hash) per page, in order."""
    for page in pages:
        if page.fetched_at.tzinfo is None or page.fetched_at.utcoffset() is None:
            raise ValueError("archive_page: `fetched_at` must be timezone-aware (UTC)")
    digests = [content_hash(p.body) if p.body is not None and not p.not_modified else None
               for p in pages]
    bodies = {d: p.body for d, p in zip(digests, pages, strict=True) if d is not None}
    if bodies:
        # Compress only bodies not stored yet: an unchanged page is one lookup, no zlib.
        stored = {d for (d,) in con.execute(
            "SELECT content_hash FROM page_bodies WHERE content_hash IN (SELECT unnest(?))",
            [list(bodies)]).fetchall()}
        new = [(d, *_compress(b), len(b)) for d, b in bodies.items() if d not in stored]
        if new:
            con.execute("INSERT INTO page_bodies (content_hash, compression, body, size)"
                        " SELECT unnest(?), unnest(?), unnest(?::BLOB[]), unnest(?)",
                        [list(c) for c in zip(*new, strict=True)])
    ids = [str(uuid.uuid4()) for _ in pages]
    rows = [(i, p.run_id, p.source, p.url, p.final_url, p.page_no, p.fetched_at, p.status,
             p.encoding, p.etag, p.last_modified, d, p.not_modified, p.error, p.attempts)
            for i, p, d in zip(ids, pages, digests, strict=True)]
    if rows:
        con.execute(_INSERT_PAGES, [list(c) for c in zip(*rows, strict=True)])
    return list(zip(ids, digests, strict=True))


def _compress(body: bytes) -> tuple[str, bytes]:
    packed = zlib.compress(body, _ZLIB_LEVEL)
    # Already-compressed payloads grow under zlib; keep those as they are.
    return ("zlib", packed) if len(packed) < len(body) else ("none", body)


def _load_body(con: duckdb.DuckDBPyConnection, digest: str) -> bytes:
    row = con.execute(
        "SELECT compression, body FROM page_bodies WHERE content_hash = ?", [digest]
    ).fetchone()
    if row is None:
        raise WarehouseError(f"archived body {digest} is missing from page_bodies")
    method, stored = row
    if method == "zlib":
        body = zlib.decompress(stored)
    elif method == "gzip":
        body = gzip.decompress(stored)
    elif method == "none":
        body = bytes(stored)
    else:
        raise WarehouseError(f"archived body {digest} has unknown compression {method!r}")
    # Years later the bytes must still be the ones fetched; a mismatch is worth stopping for.
    if content_hash(body) != digest:
        raise WarehouseError(f"archived body {digest} does not match its hash")
    return body


def _since_bound(since: dt.date | None) -> dt.datetime | None:
    if since is None:
        return None
    if isinstance(since, dt.datetime):
        return since if since.tzinfo is not None else since.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)

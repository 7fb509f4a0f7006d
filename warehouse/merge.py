"""Merging pages of items into `articles`, set-based, a batch of pages in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence

import duckdb

from warehouse.connection import checkpoint_if_due
from warehouse.pages import write_pages
from warehouse.rows import ArticleRow, MergeStats, PageItems, PageRecord, QuarantineRow
from warehouse.transaction import transaction

_STAGE = "_merge_stage"
_ARTICLE_COLS = ("article_id", "source", "url", "title", "published_date", "summary",
                 "content_hash")
_STAGE_COLS = ("page_index", *_ARTICLE_COLS)
_QUARANTINE_COLS = ("quarantine_id", "run_id", "source", "page_url", "reason", "title", "url",
                    "raw_date", "snippet", "quarantined_at", "page_id")

# The stage has no constraints on purpose: a bad row must fail against `articles` itself,
# inside the transaction, so the whole merge rolls back.
_Q_STAGE = "_quarantine_stage"
_CREATE_QUARANTINE_STAGE = f"CREATE OR REPLACE TEMP TABLE {_Q_STAGE} AS FROM quarantine LIMIT 0"
# A bad item seen again by the next run is the same quarantine entry, not a new one.
_INSERT_NEW_QUARANTINE = f"""
INSERT INTO quarantine
SELECT s.* FROM {_Q_STAGE} s
WHERE NOT EXISTS (
    SELECT 1 FROM quarantine q
    WHERE q.source IS NOT DISTINCT FROM s.source AND q.reason = s.reason
      AND q.url IS NOT DISTINCT FROM s.url AND q.title IS NOT DISTINCT FROM s.title
      AND q.raw_date IS NOT DISTINCT FROM s.raw_date
)
QUALIFY row_number() OVER (PARTITION BY s.source, s.reason, s.url, s.title, s.raw_date) = 1
"""

_CREATE_STAGE = f"""
CREATE OR REPLACE TEMP TABLE {_STAGE} (
    page_index INTEGER, article_id VARCHAR, source VARCHAR, url VARCHAR, title VARCHAR,
    published_date DATE, summary VARCHAR, content_hash VARCHAR
)
"""

# The one lookup of the batch in `articles`: the staged rows whose id exists there, with the
# stored row's rowid and whether the content changed. The statements below work from this
# table instead of each joining `articles` again. It carries no stored text on purpose: the
# join would decompress the stored summaries of every matched row, unchanged ones too, while
# only changed rows need them (for their version row, fetched by rowid). On a 700k-article
# table: 115 ms a 10k-row batch against 30 + 9 ms; an idle page: 4.0 against 3.0 ms. The
# 1M-row load bench, where every re-seen row has changed, is even.
_EXISTING = "_merge_existing"
_FIND_EXISTING = f"""
CREATE OR REPLACE TEMP TABLE {_EXISTING} AS
SELECT a.rowid AS row_id, s.article_id, s.url,
       a.content_hash IS DISTINCT FROM s.content_hash AS changed,
       a.first_seen_at, a.first_run_id
FROM {_STAGE} s JOIN articles a ON a.article_id = s.article_id
"""

# Per page of the batch: how many of its rows are new, changed, unchanged.
_COUNT = f"""
SELECT
    s.page_index,
    count(*) FILTER (WHERE e.article_id IS NULL),
    count(*) FILTER (WHERE e.changed),
    count(*) FILTER (WHERE NOT e.changed)
FROM {_STAGE} s LEFT JOIN {_EXISTING} e ON e.article_id = s.article_id
GROUP BY s.page_index
"""

# DuckDB pushes the rowid filter into the scan: only the changed rows' text is read.
_KEEP_OLD_VERSIONS = f"""
INSERT INTO article_versions (article_id, source, url, title, published_date, summary,
                              content_hash, valid_from, replaced_at, replaced_by_run)
SELECT article_id, source, url, title, published_date, summary, content_hash, updated_at,
       $now, $run_id
FROM articles
WHERE rowid IN (SELECT row_id FROM {_EXISTING} WHERE changed)
"""

# A changed row is deleted and inserted again (keeping first_seen_at and first_run_id): on a
# big table whose rows sit in compressed row groups, DuckDB's UPDATE of the wide columns cost
# more than a delete (a mark) plus an append (1M-row load: 38.7 s -> 33.0 s).
_DELETE_CHANGED = f"""
DELETE FROM articles WHERE rowid IN (SELECT row_id FROM {_EXISTING} WHERE changed)
"""

# An unchanged row only gets its url, last_seen_at and last_run_id, never its text. FROM is
# the one table on purpose: with the stage joined to it there, DuckDB's UPDATE took 10-20x
# longer while `articles` was small (< 50k rows).
_UPDATE_UNCHANGED = f"""
UPDATE articles SET url = e.url, last_seen_at = $now, last_run_id = $run_id
FROM {_EXISTING} e
WHERE articles.rowid = e.row_id AND NOT e.changed
"""

# New rows and changed ones (deleted above) in one statement; a changed row keeps its
# first_seen_at and first_run_id. The PRIMARY KEY still refuses an id inserted twice, should
# the lookup above ever miss one.
_INSERT_ROWS = f"""
INSERT INTO articles (article_id, source, url, title, published_date, summary, content_hash,
                      first_seen_at, last_seen_at, updated_at, first_run_id, last_run_id)
SELECT s.article_id, s.source, s.url, s.title, s.published_date, s.summary, s.content_hash,
       CASE WHEN e.row_id IS NULL THEN $now ELSE e.first_seen_at END, $now, $now,
       CASE WHEN e.row_id IS NULL THEN $run_id ELSE e.first_run_id END, $run_id
FROM {_STAGE} s LEFT JOIN {_EXISTING} e ON e.article_id = s.article_id
WHERE e.row_id IS NULL OR e.changed
"""

_BUMP_RUN = """
UPDATE ingest_runs SET
    pages_fetched     = coalesce(pages_fetched, 0) + $pages,
    items_parsed      = coalesce(items_parsed, 0) + $parsed,
    items_inserted    = coalesce(items_inserted, 0) + $inserted,
    items_updated     = coalesce(items_updated, 0) + $updated,
    items_unchanged   = coalesce(items_unchanged, 0) + $unchanged,
    items_quarantined = coalesce(items_quarantined, 0) + $quarantined
WHERE run_id = $run_id
"""


def merge_items(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[ArticleRow],
    *,
    run_id: str,
    now: dt.datetime,
    quarantined: Sequence[QuarantineRow] = (),
    page: PageRecord | None = None,
) -> MergeStats:
    """Merge one page's rows (and its quarantined items) in one transaction: `merge_pages`
    of a single page."""
    return merge_pages(con, [PageItems(rows, quarantined, page)], run_id=run_id, now=now)[0]


def merge_pages(
    con: duckdb.DuckDBPyConnection,
    pages: Sequence[PageItems],
    *,
    run_id: str,
    now: dt.datetime,
) -> list[MergeStats]:
    """Merge a batch of pages in one transaction, set-based; one MergeStats per page.

    New article_ids are inserted; a changed content_hash moves the stored row into
    article_versions and updates it; an unchanged one only refreshes last_seen_at,
    last_run_id and url. An id repeated in the batch keeps its first occurrence (pages in
    the order given) and counts for that page only. If `ingest_runs` has `run_id`, its
    counters move in the same transaction (pages_fetched + number of pages, items_parsed +
    rows and quarantined items, before the dedupe). Each page's `page`, the fetch its rows
    came from, is archived in the same transaction (its quarantined items point at it), so
    a page is in `pages` exactly when its merge is in. Any error rolls everything back
    and is re-raised. A merge that grew the WAL past 1 GiB checkpoints it afterwards
    (`checkpoint_if_due`).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("merge_items: `now` must be timezone-aware (UTC)")
    for item in pages:
        _check_page(item.page, run_id)
    staged = _first_of_each(pages)

    with transaction(con):
        archived = iter(write_pages(con, [p.page for p in pages if p.page is not None]))
        page_ids = [next(archived)[0] if p.page is not None else None for p in pages]
        counts = _merge_in_transaction(con, staged, run_id=run_id, now=now)
        quarantined = [(q, page_ids[i]) for i, p in enumerate(pages) for q in p.quarantined]
        if quarantined:
            _quarantine(con, quarantined, run_id=run_id, now=now)
        con.execute(_BUMP_RUN, {
            "pages": len(pages),
            "parsed": sum(len(p.rows) + len(p.quarantined) for p in pages),
            "inserted": sum(c[0] for c in counts.values()),
            "updated": sum(c[1] for c in counts.values()),
            "unchanged": sum(c[2] for c in counts.values()),
            "quarantined": len(quarantined),
            "run_id": run_id,
        })
    checkpoint_if_due(con)
    return [MergeStats(*counts.get(i, (0, 0, 0)), len(p.quarantined)) for i, p in enumerate(pages)]


def _check_page(page: PageRecord | None, run_id: str) -> None:
    if page is None:
        return
    if page.run_id != run_id:
        raise ValueError(f"merge_items: page.run_id {page.run_id!r} is not run_id {run_id!r}")
    if page.not_modified or page.error is not None or page.body is None:
        raise ValueError("merge_items: a 304, failed or empty fetch goes to record_page")


def _first_of_each(pages: Sequence[PageItems]) -> list[tuple[object, ...]]:
    """Stage tuples (page index first), the first occurrence of each article_id only."""
    seen: dict[str, tuple[object, ...]] = {}
    for index, page in enumerate(pages):
        for r in page.rows:
            if r.article_id not in seen:
                seen[r.article_id] = (index, r.article_id, r.source, r.url, r.title,
                                      r.published_date, r.summary, r.content_hash)
    return list(seen.values())


def _merge_in_transaction(
    con: duckdb.DuckDBPyConnection,
    staged: list[tuple[object, ...]],
    *,
    run_id: str,
    now: dt.datetime,
) -> dict[int, tuple[int, int, int]]:
    """(inserted, updated, unchanged) per page index."""
    if not staged:
        return {}
    _create_stage(con, _CREATE_STAGE, _STAGE, _STAGE_COLS, staged)
    con.execute(_FIND_EXISTING)
    counts = {index: (new, changed, same)
              for index, new, changed, same in con.execute(_COUNT).fetchall()}
    params = {"now": now, "run_id": run_id}
    new, changed, unchanged = (any(c[kind] for c in counts.values()) for kind in range(3))
    # Rowids of `articles` in _EXISTING stay valid: the unchanged rows are not deleted, and
    # the insert comes last.
    if changed:
        con.execute(_KEEP_OLD_VERSIONS, params)
        con.execute(_DELETE_CHANGED)
    if unchanged:
        con.execute(_UPDATE_UNCHANGED, params)
    if new or changed:
        con.execute(_INSERT_ROWS, params)
    con.execute(f"DROP TABLE {_EXISTING}")
    con.execute(f"DROP TABLE {_STAGE}")
    return counts


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    quarantined: Sequence[tuple[QuarantineRow, str | None]],
    *,
    run_id: str,
    now: dt.datetime,
) -> None:
    _create_stage(
        con, _CREATE_QUARANTINE_STAGE, _Q_STAGE, _QUARANTINE_COLS,
        [(str(uuid.uuid4()), run_id, q.source, q.page_url, q.reason, q.title, q.url,
          q.raw_date, q.snippet, now, page_id) for q, page_id in quarantined],
    )
    con.execute(_INSERT_NEW_QUARANTINE)
    con.execute(f"DROP TABLE {_Q_STAGE}")


def _create_stage(
    con: duckdb.DuckDBPyConnection,
    create_sql: str,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """Create a temp stage table and fill it (one value per column of `columns`) through
    DuckDB's appender, in the caller's transaction; a bad value raises at the flush.

    About 3x faster than binding one list per column and unnesting them (the lists become
    constants of the plan). The appender comes from the connection `execute` returns (the
    connection itself), so a wrapper that only forwards execute() still works.
    """
    with con.execute(create_sql).appender(table, columns=list(columns)) as appender:
        appender.append_rows(rows)

"""The raw archive: pages + page_bodies, conditional-GET validators, reading back for reparse."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import random
import zlib
from pathlib import Path

import duckdb
import pytest

from warehouse import (
    ArticleRow,
    PageRecord,
    QuarantineRow,
    WarehouseError,
    archive_page,
    archived_pages,
    connect,
    get_run,
    merge_items,
    page_validators,
    record_page,
    start_run,
)

T0 = dt.datetime(2025, 1, 8, 1, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
LIST = "https://e.org/news/list.html"
BODY = ("<html><body><ul>" + "<li><a href='/a/1.html'>生态文明贵阳国际论坛</a> 2025-01-08</li>" * 40
        + "</ul></body></html>").encode("gb18030")  # not UTF-8: bytes must come back as they were


def art(n: int, title: str | None = None) -> ArticleRow:
    title = title or f"t{n}"
    return ArticleRow(f"id{n}", "eco", f"https://e.org/a/{n}.html", title, dt.date(2025, 1, 8),
                      None, f"h:{title}")


def page(run_id: str = "r1", *, url: str = LIST, at: dt.datetime = T0, body: bytes | None = BODY,
         status: int | None = 200, **kw) -> PageRecord:
    return PageRecord(run_id=run_id, source=kw.pop("source", "eco"), url=url, fetched_at=at,
                      status=status, body=body, **kw)


@pytest.fixture
def con(tmp_path: Path):
    with connect(tmp_path / "w.duckdb") as c:
        start_run(c, run_id="r1", flow_run_id=None, kind="ingest", source="eco", started_at=T0)
        yield c


def everything(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("articles", "quarantine", "pages", "page_bodies", "ingest_runs")}


def test_merge_archives_the_page_with_its_rows(con) -> None:
    p = page(final_url=LIST + "?from=redirect", page_no=1, encoding="gb18030", etag='"v1"',
             last_modified="Wed, 08 Jan 2025 01:00:00 GMT", attempts=2)
    merge_items(con, [art(1), art(2)], run_id="r1", now=T0 + HOUR, page=p,
                quarantined=[QuarantineRow("eco", LIST, "no title")])

    (page_id, run_id, source, url, final_url, page_no, fetched_at, status, encoding, etag,
     last_modified, digest, not_modified, error, attempts) = con.execute(
        "SELECT * FROM pages").fetchone()
    assert (run_id, source, url, final_url, page_no, fetched_at, status, encoding, etag,
            last_modified, not_modified, error, attempts) == (
        "r1", "eco", LIST, LIST + "?from=redirect", 1, T0, 200, "gb18030", '"v1"',
        "Wed, 08 Jan 2025 01:00:00 GMT", False, None, 2)
    assert digest == hashlib.sha256(BODY).hexdigest()
    method, stored, size = con.execute("SELECT compression, body, size FROM page_bodies").fetchone()
    assert (method, size) == ("zlib", len(BODY))
    assert len(stored) < len(BODY) and zlib.decompress(stored) == BODY
    # The quarantined item points at the archived page it came from.
    assert con.execute("SELECT page_id FROM quarantine").fetchall() == [(page_id,)]
    run = get_run(con, "r1")
    assert run is not None
    assert (run.pages_fetched, run.pages_not_modified, run.pages_failed) == (1, 0, 0)


def test_bodies_are_deduplicated_by_content(con) -> None:
    merge_items(con, [art(1)], run_id="r1", now=T0, page=page(at=T0))
    merge_items(con, [art(1)], run_id="r1", now=T0 + HOUR, page=page(at=T0 + HOUR))
    merge_items(con, [art(2)], run_id="r1", now=T0, page=page(url=LIST + "?p=2", body=b"other"))
    assert con.execute("SELECT count(*), count(DISTINCT content_hash) FROM pages").fetchone() == (3, 2)
    assert con.execute("SELECT count(*) FROM page_bodies").fetchone() == (2,)


def test_incompressible_body_is_stored_plain(con) -> None:
    noise = random.Random(4).randbytes(4096)
    record_page(con, page(body=noise))
    assert con.execute("SELECT compression, body, size FROM page_bodies").fetchone() == (
        "none", noise, 4096)
    assert [p.body for p in archived_pages(con)] == [noise]


def test_a_failed_merge_leaves_no_page_behind(con) -> None:
    merge_items(con, [art(1)], run_id="r1", now=T0, page=page(body=b"first"))
    before = everything(con)
    bad = ArticleRow("id9", "eco", None, None, None, None, "h9")  # type: ignore[arg-type]
    with pytest.raises(duckdb.ConstraintException):
        merge_items(con, [art(2), bad], run_id="r1", now=T0 + HOUR, page=page(body=b"second"),
                    quarantined=[QuarantineRow("eco", LIST, "no date")])
    assert everything(con) == before


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"run_id": "other"}, "is not run_id"),
        ({"not_modified": True, "status": 304, "body": None}, "goes to record_page"),
        ({"error": "parse failed"}, "goes to record_page"),
        ({"body": None}, "goes to record_page"),
    ],
)
def test_merge_refuses_pages_that_are_not_a_merged_fetch(con, kw: dict, message: str) -> None:
    before = everything(con)
    with pytest.raises(ValueError, match=message):
        merge_items(con, [art(1)], run_id="r1", now=T0, page=page(**kw))
    assert everything(con) == before


def test_record_page_counts_304_failures_and_plain_fetches(con) -> None:
    nm = record_page(con, page(status=304, body=None, not_modified=True, etag='"v1"', at=T0))
    failed = record_page(con, page(status=None, body=None, error="timed out", attempts=4))
    # A 200 the parser choked on: counted as failed, but its body is kept for a reparse.
    choked = record_page(con, page(body=b"<html>odd</html>", error="ParseError: no items"))
    walked = record_page(con, page(url=LIST + "?p=2", body=b"<html>ok</html>"))
    assert (nm, failed) == (None, None)
    assert choked == hashlib.sha256(b"<html>odd</html>").hexdigest()
    assert walked == hashlib.sha256(b"<html>ok</html>").hexdigest()
    run = get_run(con, "r1")
    assert run is not None
    assert (run.pages_fetched, run.pages_not_modified, run.pages_failed) == (1, 1, 2)
    got = con.execute(
        "SELECT status, not_modified, content_hash IS NULL, error, attempts FROM pages"
    ).fetchall()
    assert sorted(got, key=str) == sorted([
        (304, True, True, None, 1),
        (None, False, True, "timed out", 4),
        (200, False, False, "ParseError: no items", 1),
        (200, False, False, None, 1),
    ], key=str)


def test_record_page_is_one_transaction(con) -> None:
    before = everything(con)
    with pytest.raises(ValueError, match="timezone-aware"):
        record_page(con, page(at=dt.datetime(2025, 1, 8), status=304, body=None, not_modified=True))
    assert everything(con) == before
    # No transaction was left open: the next write works and commits.
    record_page(con, page(status=304, body=None, not_modified=True))
    assert get_run(con, "r1").pages_not_modified == 1  # type: ignore[union-attr]


def test_archive_page_joins_the_callers_transaction(con) -> None:
    con.execute("BEGIN TRANSACTION")
    digest = archive_page(
        con, run_id="r1", source="eco", url=LIST, final_url=None, page_no=3, fetched_at=T0,
        status=200, encoding="utf-8", etag=None, last_modified=None, body=b"abc",
    )
    con.execute("ROLLBACK")
    assert digest == hashlib.sha256(b"abc").hexdigest()
    assert con.execute("SELECT count(*) FROM pages").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM page_bodies").fetchone() == (0,)
    # It moves no run counters: those belong to merge_items / record_page.
    assert get_run(con, "r1").pages_fetched == 0  # type: ignore[union-attr]


def test_page_validators_come_from_the_latest_merged_200(con) -> None:
    assert page_validators(con, "eco", LIST) == (None, None)
    merge_items(con, [art(1)], run_id="r1", now=T0,
                page=page(at=T0, etag='"old"', last_modified="Tue, 07 Jan 2025 00:00:00 GMT"))
    merge_items(con, [art(1)], run_id="r1", now=T0 + HOUR,
                page=page(at=T0 + HOUR, body=b"v2", etag='"v2"', last_modified=None))
    # Later: a 304 (carries its own headers) and a 200 that failed to parse. Neither counts:
    # reusing the failed page's ETag would hide its items behind 304s forever.
    record_page(con, page(at=T0 + 2 * HOUR, status=304, body=None, not_modified=True, etag='"x"'))
    record_page(con, page(at=T0 + 3 * HOUR, body=b"v3", etag='"v3"', error="ParseError"))
    assert page_validators(con, "eco", LIST) == ('"v2"', None)
    assert page_validators(con, "eco", LIST + "?p=2") == (None, None)
    assert page_validators(con, "other-source", LIST) == (None, None)


def test_archived_pages_latest_200_per_url_with_fetch_details(con) -> None:
    p2 = LIST + "?p=2"
    merge_items(con, [art(1)], run_id="r1", now=T0, page=page(at=T0, body=b"list v1", page_no=1))
    merge_items(con, [art(2)], run_id="r1", now=T0, page=page(
        url=p2, at=T0 + HOUR, body=BODY, page_no=2, final_url=p2 + "&r=1", encoding="gb18030"))
    merge_items(con, [art(1)], run_id="r1", now=T0, page=page(at=T0 + 2 * HOUR, body=b"list v2",
                                                              page_no=1))
    record_page(con, page(at=T0 + 3 * HOUR, status=304, body=None, not_modified=True))
    record_page(con, page(at=T0 + 4 * HOUR, status=503, body=None, error="503"))
    record_page(con, page(source="other", url="https://o.org/", at=T0, body=b"o"))

    got = list(archived_pages(con, source="eco"))
    # Oldest fetch first, so merging in this order ends on the newest content.
    assert [(p.url, p.body, p.fetched_at, p.page_no) for p in got] == [
        (p2, BODY, T0 + HOUR, 2),
        (LIST, b"list v2", T0 + 2 * HOUR, 1),
    ]
    first = got[0]
    assert (first.final_url, first.base_url, first.encoding, first.status, first.run_id) == (
        p2 + "&r=1", p2 + "&r=1", "gb18030", 200, "r1")
    assert first.content_hash == hashlib.sha256(BODY).hexdigest()
    assert got[1].base_url == LIST
    assert {p.source for p in archived_pages(con)} == {"eco", "other"}
    assert list(archived_pages(con, source="nope")) == []


def test_archived_pages_since(con) -> None:
    midnight = dt.datetime(2025, 1, 9, tzinfo=dt.UTC)
    record_page(con, page(url=LIST + "?a", at=midnight - dt.timedelta(seconds=1), body=b"a"))
    record_page(con, page(url=LIST + "?b", at=midnight, body=b"b"))
    record_page(con, page(url=LIST + "?c", at=midnight + 30 * HOUR, body=b"c"))
    assert [p.body for p in archived_pages(con, since=dt.date(2025, 1, 9))] == [b"b", b"c"]
    assert [p.body for p in archived_pages(con, since=dt.date(2025, 1, 10))] == [b"c"]
    assert [p.body for p in archived_pages(con, since=dt.date(2025, 1, 11))] == []
    assert len(list(archived_pages(con, since=None))) == 3


def test_merging_while_iterating_on_the_same_connection(con) -> None:
    start_run(con, run_id="rp", flow_run_id=None, kind="reparse", source="eco", started_at=T0)
    for n in range(5):
        record_page(con, page(url=f"{LIST}?p={n}", at=T0 + n * HOUR, body=f"page {n}".encode()))
    seen = []
    for archived in archived_pages(con, source="eco"):
        # What a reparse does: parse the body, merge the rows on the same connection.
        n = int(archived.body.decode().split()[1])
        merge_items(con, [art(n)], run_id="rp", now=T0, quarantined=[])
        seen.append(n)
    assert seen == [0, 1, 2, 3, 4]
    assert get_run(con, "rp").pages_fetched == 5  # type: ignore[union-attr]
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (5,)


def test_gzip_bodies_read_and_corruption_is_caught(con) -> None:
    digest = hashlib.sha256(b"gz body").hexdigest()
    con.execute("INSERT INTO page_bodies VALUES (?, 'gzip', ?, 7)", [digest, gzip.compress(b"gz body")])
    con.execute(
        "INSERT INTO pages (page_id, source, url, fetched_at, status, content_hash, not_modified)"
        " VALUES ('p1', 'eco', ?, ?, 200, ?, false)", [LIST, T0, digest])
    assert [p.body for p in archived_pages(con)] == [b"gz body"]

    con.execute("UPDATE page_bodies SET compression = 'zlib', body = ?", [zlib.compress(b"other")])
    with pytest.raises(WarehouseError, match="does not match its hash"):
        list(archived_pages(con))
    con.execute("UPDATE page_bodies SET compression = 'brotli'")
    with pytest.raises(WarehouseError, match="unknown compression 'brotli'"):
        list(archived_pages(con))

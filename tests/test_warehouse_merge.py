"""Merge, migrations and the runs log, against a real DuckDB file in tmp_path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from warehouse import (
    ArticleRow,
    MergeStats,
    PageItems,
    PageRecord,
    QuarantineRow,
    WarehouseError,
    add_page_failure,
    apply_migrations,
    connect,
    finish_run,
    merge_items,
    merge_pages,
    start_run,
)
from warehouse.runs import get_run

T0 = dt.datetime(2025, 1, 8, 1, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)


def row(n: int, *, title: str | None = None, url: str | None = None, h: str | None = None,
        summary: str | None = "s") -> ArticleRow:
    title = f"title {n}" if title is None else title
    return ArticleRow(
        article_id=f"id{n}",
        source="eco-forum",
        url=url or f"https://example.org/a/{n}.html",
        title=title,
        published_date=dt.date(2025, 1, n % 28 + 1),
        summary=summary,
        content_hash=h or f"h:{title}",
    )


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


@pytest.fixture
def con(wh: Path):
    with connect(wh) as c:
        yield c


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = ["articles", "article_versions", "ingest_runs", "quarantine", "schema_migrations",
              "pages", "page_bodies"]
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def test_insert_update_unchanged_counts(con) -> None:
    first = merge_items(con, [row(1), row(2), row(3)], run_id="r1", now=T0)
    assert first == MergeStats(inserted=3, updated=0, unchanged=0, quarantined=0)

    second = merge_items(con, [row(1), row(2, title="new title"), row(4)], run_id="r2", now=T1)
    assert second == MergeStats(inserted=1, updated=1, unchanged=1, quarantined=0)
    assert first + second == MergeStats(4, 1, 1, 0)

    got = dict(con.execute("SELECT article_id, last_run_id FROM articles").fetchall())
    assert got == {"id1": "r2", "id2": "r2", "id3": "r1", "id4": "r2"}


def test_title_change_keeps_old_version(con) -> None:
    merge_items(con, [row(1, title="old title")], run_id="r1", now=T0)
    merge_items(con, [row(1, title="new title")], run_id="r2", now=T1)

    art = con.execute(
        "SELECT title, content_hash, first_seen_at, last_seen_at, updated_at,"
        " first_run_id, last_run_id FROM articles"
    ).fetchall()
    assert art == [("new title", "h:new title", T0, T1, T1, "r1", "r2")]
    versions = con.execute(
        "SELECT article_id, title, content_hash, valid_from, replaced_at, replaced_by_run"
        " FROM article_versions"
    ).fetchall()
    assert versions == [("id1", "old title", "h:old title", T0, T1, "r2")]


def test_unchanged_touches_only_last_seen_run_and_url(con) -> None:
    merge_items(con, [row(1, url="https://example.org/a/1.html")], run_id="r1", now=T0)
    moved = row(1, url="https://example.org:8443/a/1.html")  # same content, other port
    stats = merge_items(con, [moved], run_id="r2", now=T1)
    assert stats == MergeStats(0, 0, 1, 0)
    got = con.execute(
        "SELECT url, title, updated_at, first_seen_at, last_seen_at, last_run_id FROM articles"
    ).fetchall()
    assert got == [("https://example.org:8443/a/1.html", "title 1", T0, T0, T1, "r2")]
    assert con.execute("SELECT count(*) FROM article_versions").fetchone() == (0,)


def test_duplicates_in_one_batch_keep_first(con) -> None:
    stats = merge_items(
        con, [row(1, title="first"), row(2), row(1, title="second")], run_id="r1", now=T0
    )
    assert stats == MergeStats(inserted=2, updated=0, unchanged=0, quarantined=0)
    assert con.execute("SELECT title FROM articles WHERE article_id = 'id1'").fetchall() == [
        ("first",)
    ]


def test_insert_then_update_same_id_across_merges_and_twice(con) -> None:
    # DuckDB has had trouble updating PRIMARY KEY tables repeatedly: exercise that path.
    merge_items(con, [row(1, title="v1")], run_id="r1", now=T0)
    assert merge_items(con, [row(1, title="v2")], run_id="r2", now=T1).updated == 1
    assert merge_items(con, [row(1, title="v3")], run_id="r3", now=T2).updated == 1
    assert merge_items(con, [row(1, title="v3")], run_id="r4", now=T2).unchanged == 1
    assert con.execute("SELECT title FROM articles").fetchall() == [("v3",)]
    versions = con.execute(
        "SELECT title, valid_from, replaced_at, replaced_by_run FROM article_versions"
        " ORDER BY replaced_at"
    ).fetchall()
    assert versions == [("v1", T0, T1, "r2"), ("v2", T1, T2, "r3")]


def test_failure_mid_merge_rolls_back_everything(con) -> None:
    start_run(con, run_id="r1", flow_run_id=None, kind="ingest", source="eco-forum",
              started_at=T0)
    merge_items(con, [row(1), row(2)], run_id="r1", now=T0)
    before = snapshot(con)

    bad = ArticleRow("id9", "eco-forum", None, None, None, None, "h9")  # type: ignore[arg-type]
    with pytest.raises(duckdb.ConstraintException):
        merge_items(
            con,
            [row(1, title="changed"), row(3), bad],
            run_id="r1",
            now=T1,
            quarantined=[QuarantineRow("eco-forum", "https://p", "no date", "t")],
        )
    assert snapshot(con) == before
    # The connection is usable afterwards (no transaction left open).
    assert merge_items(con, [row(3)], run_id="r1", now=T1).inserted == 1


def test_failure_on_update_path_rolls_back(con) -> None:
    merge_items(con, [row(1)], run_id="r1", now=T0)
    before = snapshot(con)
    bad = ArticleRow("id1", "eco-forum", None, None, None, None, "other")  # type: ignore[arg-type]
    with pytest.raises(duckdb.ConstraintException):
        merge_items(con, [row(2), bad], run_id="r2", now=T1)
    assert snapshot(con) == before


def test_quarantine_rows_land(con) -> None:
    q = [
        QuarantineRow("eco-forum", "https://p/1", "missing title", None, "https://x", "2025-13-01",
                      "<li>…</li>"),
        QuarantineRow("eco-forum", "https://p/1", "bad date", "t"),
    ]
    stats = merge_items(con, [row(1)], run_id="r1", now=T0, quarantined=q)
    assert stats == MergeStats(1, 0, 0, 2)
    got = con.execute(
        "SELECT run_id, reason, raw_date, quarantined_at, length(quarantine_id)"
        " FROM quarantine ORDER BY reason"
    ).fetchall()
    assert got == [("r1", "bad date", None, T0, 36), ("r1", "missing title", "2025-13-01", T0, 36)]


def test_naive_now_is_refused(con) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        merge_items(con, [row(1)], run_id="r1", now=dt.datetime(2025, 1, 8))


def test_large_batch_is_chunked(con) -> None:
    rows = [row(n) for n in range(1234)]
    assert merge_items(con, rows, run_id="r1", now=T0).inserted == 1234
    changed = [row(n, title=f"t{n}") if n % 2 else row(n) for n in range(1300)]
    assert merge_items(con, changed, run_id="r2", now=T1) == MergeStats(66, 617, 617, 0)
    assert con.execute("SELECT count(*) FROM article_versions").fetchone() == (617,)


def test_migrations_applied_once(wh: Path) -> None:
    with connect(wh) as con:
        assert con.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall() == [(1, "initial"), (2, "raw_archive"), (3, "views")]
        assert apply_migrations(con) == []
    with connect(wh) as con:  # reopening does not reapply
        assert apply_migrations(con) == []
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (3,)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert {"articles", "article_versions", "ingest_runs", "quarantine", "pages", "page_bodies",
            "schema_migrations"} <= tables
    assert {"latest_articles", "articles_per_source_day", "source_freshness"} <= views


def test_apply_migrations_on_bare_connection() -> None:
    con = duckdb.connect(":memory:")
    assert apply_migrations(con) == [1, 2, 3]
    assert apply_migrations(con) == []


def test_run_counters(con) -> None:
    start_run(con, run_id="r1", flow_run_id="f-1", kind="ingest", source="eco-forum",
              started_at=T0)
    merge_items(con, [row(1), row(2), row(2)], run_id="r1", now=T0,
                quarantined=[QuarantineRow("eco-forum", "p", "bad date")])
    merge_items(con, [row(1), row(2, title="x")], run_id="r1", now=T1)
    merge_items(con, [], run_id="r1", now=T1)  # an empty page still counts as fetched
    add_page_failure(con, "r1")
    finish_run(con, "r1", state="partial", ended_at=T2, pages_failed=1, error="page 4: 503")

    run = get_run(con, "r1")
    assert run is not None
    assert (run.state, run.ended_at, run.error, run.flow_run_id) == (
        "partial", T2, "page 4: 503", "f-1")
    # The failure recorded page by page and the final count are the same page, counted once.
    assert (run.pages_fetched, run.pages_failed) == (3, 1)
    assert (run.items_parsed, run.items_inserted, run.items_updated, run.items_unchanged,
            run.items_quarantined) == (6, 2, 1, 1, 1)
    assert run.as_dict()["ended_at"] == T2.isoformat()
    assert get_run(con, "nope") is None


def test_runs_validate_input(con) -> None:
    with pytest.raises(WarehouseError, match="unknown run kind"):
        start_run(con, run_id="r", flow_run_id=None, kind="scrape", source="s", started_at=T0)
    start_run(con, run_id="rp", flow_run_id=None, kind="reparse", source="s", started_at=T0)
    start_run(con, run_id="r", flow_run_id=None, kind="backfill", source="s", started_at=T0)
    with pytest.raises(WarehouseError, match="already exists"):
        start_run(con, run_id="r", flow_run_id=None, kind="backfill", source="s", started_at=T0)
    with pytest.raises(WarehouseError, match="unknown final run state"):
        finish_run(con, "r", state="running", ended_at=T1)
    with pytest.raises(WarehouseError, match="no run"):
        finish_run(con, "missing", state="failed", ended_at=T1)
    with pytest.raises(WarehouseError, match="no run"):
        add_page_failure(con, "missing")


def test_the_same_bad_item_is_quarantined_once_across_runs(tmp_path):
    import datetime as dt

    from warehouse import QuarantineRow, connect, merge_items

    bad = QuarantineRow(source="s", page_url="http://e.org/l.html", reason="no title",
                        title="", url="http://e.org/1.html", raw_date="2025-01-08", snippet="x")
    other = QuarantineRow(source="s", page_url="http://e.org/l.html", reason="no title",
                          title="", url="http://e.org/2.html", raw_date=None, snippet="y")
    now = dt.datetime(2025, 1, 9, tzinfo=dt.UTC)
    with connect(tmp_path / "w.duckdb") as con:
        for run in ("r1", "r2", "r3"):
            stats = merge_items(con, [], run_id=run, now=now, quarantined=[bad, bad, other])
            assert stats.quarantined == 3
        assert con.execute("select url, run_id from quarantine order by url").fetchall() == [
            ("http://e.org/1.html", "r1"), ("http://e.org/2.html", "r1")]


def page_record(run_id: str, n: int) -> PageRecord:
    return PageRecord(run_id=run_id, source="eco-forum", url=f"https://example.org/list_{n}.html",
                      fetched_at=T0, status=200, body=f"<html>page {n}</html>".encode(), page_no=n)


def test_a_batch_of_pages_is_one_merge_with_stats_per_page(con) -> None:
    merge_items(con, [row(1), row(2)], run_id="r0", now=T0)
    start_run(con, run_id="r1", flow_run_id=None, kind="backfill", source="eco-forum",
              started_at=T1)
    bad = QuarantineRow("eco-forum", "https://example.org/list_3.html", "no title", url="u")
    stats = merge_pages(con, [
        PageItems([row(1), row(2, title="changed"), row(3)], (), page_record("r1", 1)),
        PageItems([row(3), row(4)], (), page_record("r1", 2)),  # 3 again: counted on page 1 only
        PageItems([], [bad], page_record("r1", 3)),
    ], run_id="r1", now=T1)
    assert stats == [MergeStats(1, 1, 1, 0), MergeStats(1, 0, 0, 0), MergeStats(0, 0, 0, 1)]
    assert con.execute("select count(*) from articles").fetchone() == (4,)
    assert con.execute("select title from article_versions").fetchall() == [("title 2",)]
    # Every page archived; the quarantined item points at the page it came from.
    assert con.execute("select p.page_no from quarantine q join pages p using (page_id)"
                       ).fetchall() == [(3,)]
    assert con.execute("select count(*) from pages where run_id = 'r1'").fetchone() == (3,)
    run = get_run(con, "r1")
    assert (run.pages_fetched, run.items_parsed, run.items_inserted, run.items_updated,
            run.items_unchanged, run.items_quarantined) == (3, 6, 2, 1, 1, 1)


def test_a_failing_batch_leaves_none_of_its_pages(con) -> None:
    merge_items(con, [row(1)], run_id="r0", now=T0)
    before = snapshot(con)
    broken = ArticleRow("id9", "eco-forum", None, None, None, None, "h")  # title is NOT NULL
    with pytest.raises(duckdb.ConstraintException):
        merge_pages(con, [PageItems([row(2)], (), page_record("r1", 1)),
                          PageItems([broken], (), page_record("r1", 2))], run_id="r1", now=T1)
    assert snapshot(con) == before

"""A source's run as plain functions (no Prefect) against the mirror on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from flows.config import load_sources
from flows.crawl import Plan, PlanError, backfill_plan, fetch_page, run_source
from flows.fetch import Fetcher, FetchError
from tests.helpers import q


def failing_pages(broken: set[int], warehouse):
    """A page visitor whose pages in `broken` fail as a 503 would (until removed from it)."""
    def visit(src, plan, url, page_no, run_id):
        if page_no in broken:
            raise FetchError(url, "HTTP 503", 5, 503)
        with Fetcher(delay=0) as f:
            return fetch_page(src, plan, url, page_no, run_id, fetcher=f, warehouse=warehouse)
    return visit


def source_of(sources_file):
    return load_sources(sources_file)["mirror"]


def rows(warehouse, sql="select count(*) from articles"):
    return q(warehouse, sql)


def test_incremental_runs(mirror_server, sources_file, warehouse_path):
    source = source_of(sources_file)
    first = run_source(source, Plan(), warehouse=warehouse_path)
    assert first.state == "completed"
    assert first.pages_fetched == 21 and first.stats.inserted == 210
    assert rows(warehouse_path) == [(210,)]

    # Nothing new: one page request.
    before = len(mirror_server.page_requests)
    second = run_source(source, Plan(), warehouse=warehouse_path)
    assert len(mirror_server.page_requests) - before == 1
    assert (second.pages_fetched, second.stats.inserted, second.stats.unchanged) == (1, 0, 10)

    # Three new items push everything down: they land, and nothing else does.
    new = [mirror_server.mirror.publish(f"新发布的测试新闻{n}", f"摘要{n}", dt.date(2025, 1, 10))
           for n in range(3)]
    third = run_source(source, Plan(), warehouse=warehouse_path)
    assert third.stats.inserted == 3 and third.pages_fetched == 2
    titles = {t for (t,) in rows(warehouse_path, "select title from articles where first_run_id ="
                                                 f" '{third.run_id}'")}
    assert titles == {i.title for i in new}
    assert rows(warehouse_path) == [(213,)]
    runs = rows(warehouse_path, "select kind, state, pages_fetched, items_inserted, items_unchanged"
                                " from ingest_runs order by started_at")
    assert runs == [("ingest", "completed", 21, 210, 0), ("ingest", "completed", 1, 0, 10),
                    ("ingest", "completed", 2, 3, 17)]


def test_max_pages_bounds_a_scheduled_run(mirror_server, sources_file, warehouse_path):
    source = source_of(sources_file)
    report = run_source(replace(source, max_pages=4), Plan(), warehouse=warehouse_path)
    assert report.pages_fetched == 4 and rows(warehouse_path) == [(40,)]


def test_changed_title_updates_the_row_and_keeps_the_old_version(mirror_server, sources_file,
                                                                 warehouse_path):
    source = source_of(sources_file)
    run_source(source, Plan(kind="backfill", first_page=1, last_page=1), warehouse=warehouse_path)
    item = mirror_server.mirror.items[2]
    old_title = item.title
    mirror_server.mirror.retitle(item.item_id, "更正后的标题")
    report = run_source(source, Plan(), warehouse=warehouse_path)
    assert (report.stats.updated, report.stats.inserted) == (1, 0)
    assert rows(warehouse_path) == [(10,)]
    assert rows(warehouse_path, "select title from articles where title = '更正后的标题'") == [
        ("更正后的标题",)]
    assert rows(warehouse_path, "select title from article_versions") == [(old_title,)]


def test_page_backfill_is_idempotent(mirror_server, sources_file, warehouse_path):
    source = source_of(sources_file)
    plan = backfill_plan(pages="3-5")
    a = run_source(source, plan, warehouse=warehouse_path)
    snapshot = rows(warehouse_path, "select article_id, title, published_date from articles"
                                    " order by article_id")
    b = run_source(source, plan, warehouse=warehouse_path)
    assert (a.pages_fetched, a.stats.inserted) == (3, 30)
    assert (b.pages_fetched, b.stats.inserted, b.stats.unchanged) == (3, 0, 30)
    assert rows(warehouse_path, "select article_id, title, published_date from articles"
                                " order by article_id") == snapshot
    # The page template took it straight to page 3.
    assert "/news/list.html" not in mirror_server.page_requests


def test_page_backfill_without_template_walks_next_links(mirror_server, sources_file,
                                                        warehouse_path):
    source = replace(source_of(sources_file), page_url=None)
    report = run_source(source, backfill_plan(pages="2-3"), warehouse=warehouse_path)
    assert report.stats.inserted == 20 and rows(warehouse_path) == [(20,)]
    assert mirror_server.page_requests[:3] == ["/news/list.html", "/news/list_2.html",
                                          "/news/list_3.html"]


def test_date_backfill_loads_the_range_only(mirror_server, sources_file, warehouse_path):
    source = source_of(sources_file)
    items = mirror_server.mirror.items
    since, until = items[25].date, items[12].date
    expected = {i.title for i in items if since <= i.date <= until}
    report = run_source(source, backfill_plan(since=since, until=until), warehouse=warehouse_path)
    assert report.state == "completed"
    got = {t for (t,) in rows(warehouse_path, "select title from articles")}
    assert got == expected
    # It stopped once a page went past `since` instead of walking all 21 pages.
    assert report.pages_fetched <= 5


def test_failed_page_makes_the_run_partial_and_a_rerun_completes_it(mirror_server, sources_file,
                                                                     warehouse_path):
    source = source_of(sources_file)
    broken = {3}
    visit = failing_pages(broken, warehouse_path)

    plan = backfill_plan(pages="1-5")
    report = run_source(source, plan, warehouse=warehouse_path, visit=visit)
    assert report.state == "partial" and report.pages_failed == 1
    assert report.stats.inserted == 40
    assert rows(warehouse_path, "select state, pages_failed, error like '%HTTP 503%' from"
                                " ingest_runs") == [("partial", 1, True)]
    broken.clear()
    again = run_source(source, plan, warehouse=warehouse_path, visit=visit)
    assert again.state == "completed" and again.stats.inserted == 10
    assert rows(warehouse_path) == [(50,)]


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_a_site_that_is_down_is_given_up_on(mirror_server, sources_file, warehouse_path,
                                           concurrency):
    # Pages 1-3 fail: the run stops there. With `concurrency` pages in flight, at most
    # concurrency - 1 pages past the third were asked for (and none of them counted).
    source = replace(source_of(sources_file), concurrency=concurrency)
    calls = []

    def visit(src, plan, url, page_no, run_id):
        calls.append(page_no)
        raise FetchError(url, "HTTP 503", 5, 503)

    report = run_source(source, backfill_plan(since="2020-01-01"), warehouse=warehouse_path,
                        visit=visit)
    assert sorted(calls)[:3] == [1, 2, 3] and max(calls) <= 2 + concurrency
    assert report.state == "failed" and report.pages_failed == 3
    assert "gave up after 3 failed pages in a row" in report.failures


def test_404_past_the_end_of_a_templated_listing_ends_it(mirror_server, sources_file,
                                                         warehouse_path):
    source = source_of(sources_file)
    # Page 21 is the last: the template takes the run to 22, which is not there.
    report = run_source(source, backfill_plan(pages="22-25"), warehouse=warehouse_path)
    assert report.state == "completed" and report.pages_fetched == 0
    # Its window (concurrency 2) asked for 23 as well, and nothing further.
    assert report.pages_failed == 0
    assert sorted(mirror_server.page_requests) == ["/news/list_22.html", "/news/list_23.html"]


def test_a_pinned_old_item_does_not_end_a_date_backfill(mirror_server, sources_file,
                                                        warehouse_path):
    source = source_of(sources_file)
    items = mirror_server.mirror.items
    since, until = items[14].date, items[2].date
    expected = {i.title for i in items if since <= i.date <= until}
    mirror_server.mirror.publish("置顶:2019年的旧通知", "旧", dt.date(2019, 5, 1))
    run_source(source, backfill_plan(since=since, until=until), warehouse=warehouse_path)
    assert {t for (t,) in rows(warehouse_path, "select title from articles")} == expected


def test_an_interrupted_run_is_recorded_as_failed(mirror_server, sources_file, warehouse_path):
    source = source_of(sources_file)

    def visit(src, plan, url, page_no, run_id):
        if page_no == 2:
            raise KeyboardInterrupt
        with Fetcher(delay=0) as f:
            return fetch_page(src, plan, url, page_no, run_id, fetcher=f,
                                warehouse=warehouse_path)

    with pytest.raises(KeyboardInterrupt):
        run_source(source, backfill_plan(pages="1-5"), warehouse=warehouse_path, visit=visit)
    assert rows(warehouse_path, "select state, error, items_inserted from ingest_runs") == [
        ("failed", "interrupted", 10)]


def test_walked_pages_count_the_same_in_the_report_and_ingest_runs(mirror_server, sources_file,
                                                                  warehouse_path):
    source = replace(source_of(sources_file), page_url=None)
    report = run_source(source, backfill_plan(pages="3-4"), warehouse=warehouse_path)
    assert rows(warehouse_path, "select pages_fetched, items_inserted from ingest_runs") == [
        (report.pages_fetched, 20)]
    assert report.pages_fetched == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pages": "5-2"}, "need 1 <= first page <= last page"),
    ({"pages": "x"}, "--pages must look like 1-20"),
    ({"pages": "0-3"}, "need 1 <= first page"),
    ({"since": "2025-01-08", "until": "2025-01-01"}, "is before --since"),
    ({"since": "yesterday"}, "--since must be a date"),
    ({"until": "2025-01-01"}, "--until needs --since"),
    ({}, "give --pages A-B or --since DATE"),
    ({"pages": "1-2", "since": "2025-01-01"}, "not both"),
])
def test_bad_backfill_ranges(kwargs, message):
    with pytest.raises(PlanError, match=message):
        backfill_plan(**kwargs)


def test_a_scheduled_run_after_a_partial_one_catches_up(mirror_server, sources_file,
                                                        warehouse_path):
    source = source_of(sources_file)
    broken = {3}
    visit = failing_pages(broken, warehouse_path)

    first = run_source(source, Plan(), warehouse=warehouse_path, visit=visit)
    assert first.state == "partial" and rows(warehouse_path) == [(200,)]
    broken.clear()
    second = run_source(source, Plan(), warehouse=warehouse_path, visit=visit)
    # Nothing new on page 1, but the last run was partial: it walks on and finds page 3.
    assert second.state == "completed" and second.stats.inserted == 10
    assert rows(warehouse_path) == [(210,)]
    third = run_source(source, Plan(), warehouse=warehouse_path, visit=visit)
    assert third.pages_fetched == 1  # back to the early stop


def test_stop_after_known_pages_is_configurable(mirror_server, sources_file, warehouse_path):
    source = replace(source_of(sources_file), stop_after_known_pages=2)
    run_source(source, Plan(kind="backfill", last_page=5), warehouse=warehouse_path)
    before = len(mirror_server.page_requests)
    report = run_source(source, Plan(), warehouse=warehouse_path)
    assert len(mirror_server.page_requests) - before == 2 and report.pages_fetched == 2


def test_a_pager_that_loops_back_stops_the_crawl(mirror_server, sources_file, warehouse_path):
    from flows.writer import ParsedPage
    from parsers import Item, ListingPage
    from warehouse import PageRecord

    source = replace(source_of(sources_file), concurrency=1)  # follows next links
    visited = []

    def visit(src, plan, url, page_no, run_id):
        visited.append(url)
        nxt = src.url_for_page(2) if page_no == 1 else src.url_for_page(1)
        record = PageRecord(run_id=run_id, source=src.name, url=url, page_no=page_no,
                            fetched_at=dt.datetime.now(dt.UTC), status=200, body=b"<html>")
        items = [Item(title=f"p{page_no} item {n}", url=f"{url}?item={n}", date=None)
                 for n in range(10)]
        return ParsedPage(page_no, record, ListingPage(items=items, next_url=nxt))

    report = run_source(source, backfill_plan(pages="1-50"), warehouse=warehouse_path, visit=visit)
    assert visited == [source.url_for_page(1), source.url_for_page(2)]
    assert report.state == "completed"


def test_identity_survives_the_mirror_moving_to_another_port(sources_file, warehouse_path,
                                                            mirror_server, tmp_path):
    from flows.mirror import Mirror, MirrorServer

    plan = Plan(kind="backfill", last_page=2)
    run_source(source_of(sources_file), plan, warehouse=warehouse_path)
    with MirrorServer(Mirror()) as other:
        moved = tmp_path / "moved.toml"
        moved.write_text(other.source_toml("mirror"), encoding="utf-8")
        report = run_source(load_sources(moved)["mirror"], plan, warehouse=warehouse_path)
        assert (report.stats.inserted, report.stats.updated, report.stats.unchanged) == (0, 0, 20)
        assert rows(warehouse_path, "select count(*) from article_versions") == [(0,)]
        # The stored link follows the site to where it is now.
        assert rows(warehouse_path, f"select count(*) from articles where url like"
                                    f" '{other.base_url}%'") == [(20,)]

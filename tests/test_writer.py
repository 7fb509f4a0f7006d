"""The run's writer: pages merged in batches, in page order, a drifted page ending its batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

import flows.writer as writer
from flows.config import load_sources
from flows.crawl import Plan, backfill_plan, fetch_page, run_source
from flows.fetch import Fetcher
from flows.writer import ParsedPage, merge_batch
from parsers import Item, ListingPage
from tests.helpers import q
from warehouse import PageRecord, connect, start_run

T0 = dt.datetime(2025, 1, 9, 2, 0, tzinfo=dt.UTC)


def recording(batches):
    def merge(source, plan, run_id, warehouse, batch):
        batches.append([f.page_no for f in batch])
        return merge_batch(source, plan, run_id, warehouse, batch)
    return merge


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_backfill_merges_its_pages_in_batches_in_page_order(
        mirror_server, sources_file, warehouse_path, monkeypatch, concurrency):
    monkeypatch.setattr(writer, "BATCH_PAGES", 5)
    monkeypatch.setattr(writer, "BATCH_SECONDS", 3600)
    source = replace(load_sources(sources_file)["mirror"], concurrency=concurrency)
    batches: list[list[int]] = []
    report = run_source(source, backfill_plan(pages="1-30"), warehouse=warehouse_path,
                        merge=recording(batches))
    # 21 pages: the 22nd is past the end of the listing (a 404 with the template).
    assert batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15],
                       [16, 17, 18, 19, 20], [21]]
    assert report.state == "completed" and report.pages_fetched == 21
    assert report.stats.inserted == 210
    assert q(warehouse_path, "select pages_fetched, items_inserted from ingest_runs") == [(21, 210)]
    assert q(warehouse_path, "select count(*) from pages where status = 200") == [(21,)]


def test_a_scheduled_run_merges_each_page_before_fetching_the_next(
        mirror_server, sources_file, warehouse_path):
    source = load_sources(sources_file)["mirror"]
    run_source(source, backfill_plan(pages="1-3"), warehouse=warehouse_path)
    batches: list[list[int]] = []
    report = run_source(source, Plan(), warehouse=warehouse_path, merge=recording(batches))
    # Page 1 brought nothing new (stop_after_known_pages = 1): one page, merged alone.
    assert batches == [[1]] and report.pages_fetched == 1


def page(n: int, *, dated: bool = True) -> ParsedPage:
    url = f"https://example.org/news/list_{n}.html"
    items = [Item(title=f"page {n} item {i}", url=f"https://example.org/news/{n}-{i}.html",
                  date=dt.date(2025, 1, 8) if dated else None) for i in range(10)]
    record = PageRecord(run_id="r2", source="s", url=url, fetched_at=T0, status=200,
                        body=f"<html>{n}{dated}</html>".encode(), page_no=n)
    return ParsedPage(n, record, ListingPage(items=items))


def test_a_drifted_page_ends_its_batch(tmp_path, sources_file):
    source = replace(load_sources(sources_file)["mirror"], name="s")
    wh = tmp_path / "w.duckdb"
    with connect(wh) as con:
        for run_id in ("r1", "r2"):
            start_run(con, run_id=run_id, flow_run_id=None, kind="backfill", source="s",
                      started_at=T0)
    history = merge_batch(source, Plan(kind="backfill"), "r1", wh,
                          [replace(page(9), record=replace(page(9).record, run_id="r1"))])
    assert history.pages[0][1].inserted == 10

    merged = merge_batch(source, Plan(kind="backfill"), "r2", wh,
                         [page(1), page(2, dated=False), page(3)])
    # Page 1 lands; page 2 lost every date the history had: archived with the reason,
    # and neither it nor page 3 after it is merged.
    assert [(n, s.inserted) for n, s in merged.pages] == [(1, 10)]
    assert merged.drift is not None and merged.drift[0] == 2
    assert "none of its 10 items has a date any more" in str(merged.drift[1])
    assert q(wh, "select count(*) from articles") == [(20,)]
    assert q(wh, "select page_no, coalesce(error like 'layout changed?%', false) from pages"
                 " where run_id = 'r2' order by page_no") == [(1, False), (2, True)]


def test_the_walk_fetches_on_while_a_batch_is_merged(mirror_server, sources_file, warehouse_path,
                                                     monkeypatch):
    import threading
    import time

    monkeypatch.setattr(writer, "BATCH_PAGES", 5)
    monkeypatch.setattr(writer, "BATCH_SECONDS", 3600)
    source = replace(load_sources(sources_file)["mirror"], concurrency=2)
    merging = threading.Event()
    fetched_while_merging: list[int] = []
    at_once = []

    def slow_merge(src, plan, run_id, wh, batch):
        at_once.append(merging.is_set())
        merging.set()
        try:
            time.sleep(0.3)
            return merge_batch(src, plan, run_id, wh, batch)
        finally:
            merging.clear()

    def visit(src, plan, url, page_no, run_id):
        if merging.is_set():
            fetched_while_merging.append(page_no)
        with Fetcher(delay=0) as f:
            return fetch_page(src, plan, url, page_no, run_id, fetcher=f, warehouse=warehouse_path)

    report = run_source(source, backfill_plan(pages="1-21"), warehouse=warehouse_path,
                        visit=visit, merge=slow_merge)
    assert report.state == "completed" and report.stats.inserted == 210
    assert fetched_while_merging  # pages 6-10 come in while 1-5 merge, and so on
    assert not any(at_once)  # one batch merges at a time

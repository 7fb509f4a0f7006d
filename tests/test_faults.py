"""Fetching against a server that misbehaves on purpose (tests/faultserver.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from itertools import pairwise

import pytest

from flows.config import load_sources
from flows.crawl import Plan, backfill_plan, run_source
from flows.fetch import Fetcher, FetchError, retry_after
from flows.politeness import HostLimiter
from tests.faultserver import FaultServer
from tests.helpers import q


@pytest.fixture
def server():
    with FaultServer(pages=30) as srv:
        yield srv


def source_for(srv: FaultServer, tmp_path, **settings):
    path = tmp_path / "sources.toml"
    defaults = {"delay_seconds": 0.0, "timeout_seconds": 1.0, "max_retries": 3, "concurrency": 2}
    path.write_text(srv.source_toml(**{**defaults, **settings}), encoding="utf-8")
    return load_sources(path)["faulty"]



def run(source, plan, warehouse):
    # A private limiter per run keeps the tests' host slots apart.
    with Fetcher.for_source(source, limiter=HostLimiter(), backoff_initial=0.05) as f:
        return run_source(source, plan, warehouse=warehouse, fetcher=f)


def test_every_item_lands_exactly_once_through_transient_faults(server, tmp_path):
    faults = [("status", 500), ("status", 503, {"Retry-After": "1"}),
              ("status", 429, {"Retry-After": "1"}), ("reset",), ("stall", 2.0), ("truncate",)]
    faulty_pages = [2, 7, 12, 17, 22, 27]  # a fifth of the 30 pages, each faulty once
    for page, fault in zip(faulty_pages, faults, strict=True):
        server.fault(page, fault)
    wh = tmp_path / "w.duckdb"
    report = run(source_for(server, tmp_path), backfill_plan(pages="1-30"), wh)
    assert report.state == "completed", report.failures
    assert q(wh, "select count(*), count(distinct url) from articles") == [(300, 300)]
    expected = {i.title for i in server.mirror.items}
    assert {t for (t,) in q(wh, "select title from articles")} == expected
    hits = server.page_hits()
    assert len(hits) == 30 + len(faults)  # one retry per faulty page
    for page in faulty_pages:
        assert sum(h.path == server.page_path(page) for h in hits) == 2


def test_permanent_failures_make_the_run_partial_and_a_rerun_completes_it(server, tmp_path):
    for page in (3, 9):
        server.permanent[server.page_path(page)] = ("status", 503)
    source = source_for(server, tmp_path, max_retries=1)
    wh = tmp_path / "w.duckdb"
    first = run(source, backfill_plan(pages="1-30"), wh)
    assert first.state == "partial" and first.pages_failed == 2 and first.stats.inserted == 280
    assert q(wh, "select state, pages_failed from ingest_runs") == [("partial", 2)]
    server.permanent.clear()
    again = run(source, backfill_plan(pages="1-30"), wh)
    assert again.state == "completed" and again.stats.inserted == 20
    assert q(wh, "select count(*), count(distinct article_id) from articles") == [(300, 300)]


def test_politeness_measured_from_the_server_log(tmp_path):
    with FaultServer(pages=12, service_time=0.3) as srv:
        source = source_for(srv, tmp_path, delay_seconds=0.2, concurrency=2)
        run(source, backfill_plan(pages="1-12"), tmp_path / "w.duckdb")
        starts = sorted(h.start for h in srv.page_hits())
        least_gap = min(b - a for a, b in pairwise(starts))
        assert len(starts) == 12
        assert least_gap >= 0.2 - 0.02
        assert srv.peak_in_flight == 2  # the limit, and used


def test_robots_txt_is_obeyed_once_per_run_unless_told_not_to(server, tmp_path):
    server.robots = b"User-agent: *\nDisallow: /news/list_3.html\n"
    wh = tmp_path / "w.duckdb"
    report = run(source_for(server, tmp_path), backfill_plan(pages="1-4"), wh)
    assert report.pages_skipped == 1 and report.state == "completed"
    assert server.page_path(3) not in [h.path for h in server.hits]
    assert [h.path for h in server.hits].count("/robots.txt") == 1
    assert q(wh, "select count(*) from articles") == [(30,)]
    report = run(source_for(server, tmp_path, obey_robots=False), backfill_plan(pages="3-3"), wh)
    assert report.stats.inserted == 10


@pytest.mark.parametrize("fault", [("status", 403), ("status", 412), ("challenge",)])
def test_blocked_is_reported_as_blocked_not_as_an_outage(server, tmp_path, fault):
    server.permanent[server.page_path(1)] = fault
    wh = tmp_path / "w.duckdb"
    report = run(source_for(server, tmp_path, concurrency=1), Plan(), wh)
    assert report.state == "failed" and "blocked by the site" in report.error
    assert len(server.page_hits()) == 1  # no retries, no paging on
    assert q(wh, "select state, error like '%blocked by the site%' from ingest_runs") == [("failed", True)]


def test_redirects_stay_on_the_source_host(server, tmp_path):
    port = server.server_address[1]
    server.fault(1, ("redirect", f"http://localhost:{port}/news/list.html"))
    report = run(source_for(server, tmp_path), backfill_plan(pages="1-1"), tmp_path / "w.duckdb")
    assert report.state == "failed" and report.pages_failed == 1
    assert "redirect to another host refused" in report.failures[0]
    assert not any(h.path == "/news/list.html" and h.status == 200 for h in server.hits)
    server.fault(1, ("redirect", "/news/list.html?from=old"))  # same host: followed
    report = run(source_for(server, tmp_path, concurrency=1, max_pages=1), Plan(), tmp_path / "w.duckdb")
    assert report.state == "completed" and report.stats.inserted == 10


def test_pagination_loops_and_off_host_next_links_are_not_followed(server, tmp_path):
    server.next_links[4] = "list_2.html"  # page 4's 下一页 goes back to page 2
    port = server.server_address[1]
    server.next_links[8] = f"http://localhost:{port}/news/list_9.html"
    source = source_for(server, tmp_path, concurrency=1)
    report = run(source, Plan(), tmp_path / "a.duckdb")
    assert report.pages_fetched == 4 and report.state == "completed"
    server.next_links.pop(4)
    report = run(source, Plan(), tmp_path / "b.duckdb")
    assert report.pages_fetched == 8
    assert "next page link to another host not followed" in report.failures[0]


def test_gbk_without_any_charset_is_detected(server, tmp_path):
    server.gbk = True
    wh = tmp_path / "w.duckdb"
    run(source_for(server, tmp_path, concurrency=1, max_pages=1), Plan(), wh)
    titles = [t for (t,) in q(wh, "select title from articles")]
    assert set(titles) == {i.title for i in server.mirror.page_items(1)}


def test_conditional_get_answers_304_with_the_stored_etag(server):
    with Fetcher(delay=0, limiter=HostLimiter()) as f:
        first = f.get(server.base + "/news/list.html")
        assert first.status == 200 and first.etag
        second = f.get(server.base + "/news/list.html", etag=first.etag)
        assert second.not_modified and second.body == b""


def test_a_scheduled_run_sends_the_stored_validators_and_a_304_costs_no_parse(server, tmp_path):
    source = source_for(server, tmp_path, concurrency=1)
    wh = tmp_path / "w.duckdb"
    first = run(source, Plan(), wh)
    assert first.pages_fetched == 30
    assert q(wh, "select count(*), count(distinct content_hash), min(encoding) from pages") == [
        (30, 30, "utf-8")]
    second = run(source, Plan(), wh)
    assert (second.pages_fetched, second.pages_not_modified, second.state) == (0, 1, "completed")
    assert server.page_hits()[-1].path == "/news/list.html"
    assert len(server.page_hits()) == 31
    assert q(wh, "select pages_fetched, pages_not_modified from ingest_runs order by started_at") == [
        (30, 0), (0, 1)]
    # The site moves on: page 1 changes, its ETag with it, and the new item lands.
    server.mirror.publish("新的一条", "摘要", server.mirror.items[0].date)
    third = run(source, Plan(), wh)
    assert third.stats.inserted == 1 and third.pages_fetched >= 1


def test_failed_pages_are_recorded_with_reason_and_attempts(server, tmp_path):
    server.permanent[server.page_path(2)] = ("status", 503)
    wh = tmp_path / "w.duckdb"
    run(source_for(server, tmp_path, max_retries=2), backfill_plan(pages="1-3"), wh)
    assert q(wh, "select page_no, status, error, attempts from pages where error is not null") == [
        (2, 503, "HTTP 503", 3)]
    assert q(wh, "select pages_failed from ingest_runs") == [(1,)]


def test_body_size_cap_aborts_without_retrying(server):
    with Fetcher(delay=0, max_bytes=10_000, limiter=HostLimiter()) as f, \
            pytest.raises(FetchError, match="byte cap"):
        f.get(server.base + "/news/list.html")
    assert len(server.page_hits()) == 1


def test_retry_after_as_seconds_or_http_date():
    assert retry_after("7") == 7.0
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= retry_after(later) <= 31
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_retry_after_is_honoured_and_capped(server):
    server.fault(1, ("status", 503, {"Retry-After": "1"}))
    with Fetcher(delay=0, backoff_initial=0.01, limiter=HostLimiter()) as f:
        f.get(server.base + "/news/list.html")
    first, second = server.page_hits()[:2]
    assert second.start - first.start >= 0.95
    server.fault(1, ("status", 503, {"Retry-After": "3600"}))
    with Fetcher(delay=0, backoff_initial=0.01, max_retry_after=0.2, limiter=HostLimiter()) as f:
        page = f.get(server.base + "/news/list.html")
    assert page.status == 200


def test_source_replace_keeps_hosts(server, tmp_path):
    # Guard for the tests above: a source's hosts are what redirects are checked against.
    source = source_for(server, tmp_path)
    assert replace(source, concurrency=1).hosts == ("127.0.0.1",)


def test_bad_items_land_in_quarantine_queryable_with_their_reason(server, tmp_path):
    first = server.mirror.page_items(1)
    server.transform = lambda html: (html.replace(first[1].date.isoformat(), "2099-01-01", 1)
                                     .replace(f'href="{first[2].path.removeprefix("/news/")}"',
                                              'href="https://elsewhere.example.net/x.html"'))
    wh = tmp_path / "w.duckdb"
    report = run(source_for(server, tmp_path, max_pages=1, link_hosts=["127.0.0.1"]), Plan(), wh)
    assert report.stats.quarantined == 2 and report.stats.inserted == 8
    assert q(wh, "select reason from quarantine order by reason") == [
        ("date 2099-01-01 is in the future",),
        ("link to a host the source does not allow: elsewhere.example.net",)]
    assert q(wh, "select items_quarantined from ingest_runs") == [(2,)]

"""Layout-drift alarm: a redesign that parses to nothing fails the source, loudly."""

from __future__ import annotations

import re

import duckdb
import pytest

from flows.config import load_sources
from flows.crawl import Plan, backfill_plan, run_source
from flows.fetch import Fetcher
from flows.politeness import HostLimiter
from tests.faultserver import FaultServer

REDESIGNS = {
    "items vanish": (lambda html: html.replace('class="news-list"', 'class="article-list-v2"'),
                     "page 1 .*: the page parsed to no items"),
    "dates vanish": (lambda html: re.sub(r'<span class="time">[^<]*</span>', "", html),
                     "none of its 10 items has a date any more"),
    "links vanish": (lambda html: re.sub(r'(<h3>|class="more") ?<a [^>]*?href="[^"]*"', r"\1<a ", html)
                     .replace('class="more" href=', 'class="more" data-href='),
                     "none of its 10 items has a link any more"),
}


@pytest.mark.parametrize("case", list(REDESIGNS))
def test_a_redesign_fails_the_source_and_merges_nothing(tmp_path, case):
    transform, message = REDESIGNS[case]
    with FaultServer(pages=5) as srv:
        path = tmp_path / "sources.toml"
        path.write_text(srv.source_toml(delay_seconds=0.0, concurrency=1), encoding="utf-8")
        source = load_sources(path)["faulty"]
        wh = tmp_path / "w.duckdb"

        def run(plan):
            with Fetcher.for_source(source, limiter=HostLimiter()) as f:
                return run_source(source, plan, warehouse=wh, fetcher=f)

        assert run(backfill_plan(pages="1-3")).stats.inserted == 30
        srv.mirror.publish("改版后的新闻", "摘要", srv.mirror.items[0].date)
        srv.transform = transform
        con = duckdb.connect(str(wh), read_only=True)
        articles_before = con.execute("select article_id, title from articles order by 1").fetchall()
        con.close()
        report = run(Plan())
        assert report.state == "failed"
        assert re.search(message, report.error), report.error
        assert f"faulty page 1 ({srv.base}/news/list.html)" in report.error
        assert "news-ingest sources --check faulty" in report.error
        con = duckdb.connect(str(wh), read_only=True)
        assert con.execute("select article_id, title from articles order by 1").fetchall() == articles_before
        assert con.execute("select state, error like 'layout changed?%' from ingest_runs"
                           " order by started_at desc limit 1").fetchall() == [("failed", True)]
        con.close()


def test_a_css_selector_that_stops_matching_is_drift(tmp_path):
    with FaultServer(pages=3) as srv:
        path = tmp_path / "sources.toml"
        path.write_text(srv.source_toml(delay_seconds=0.0, concurrency=1).replace('"ecoforum"', '"css"')
                        + '[sources.faulty.selectors]\nitem = "div.news-list li"\ntitle = "h3 a"\n'
                          'date = "span.time"\nnext = "a.next"\n', encoding="utf-8")
        source = load_sources(path)["faulty"]
        wh = tmp_path / "w.duckdb"
        with Fetcher.for_source(source, limiter=HostLimiter()) as f:
            assert run_source(source, Plan(), warehouse=wh, fetcher=f).stats.inserted == 30
        srv.mirror.publish("改版后的新闻", "摘要", srv.mirror.items[0].date)
        srv.transform = lambda html: html.replace('class="news-list"', 'class="list-v2"')
        with Fetcher.for_source(source, limiter=HostLimiter()) as f:
            report = run_source(source, Plan(), warehouse=wh, fetcher=f)
        assert report.state == "failed"
        assert "selector item 'div.news-list li' matched nothing" in report.error
        assert "news-ingest sources --check faulty" in report.error
        con = duckdb.connect(str(wh), read_only=True)
        assert con.execute("select count(*) from articles").fetchone() == (30,)
        assert con.execute("select count(*) from pages where error like 'layout changed?%'"
                           " and content_hash is not null").fetchone() == (1,)
        con.close()

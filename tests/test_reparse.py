"""Reparse: today's parsers over the archived pages, no network, merged like a run."""

from __future__ import annotations

from dataclasses import replace

import pytest

import parsers
from flows.config import load_sources
from flows.crawl import Plan, run_source
from flows.mirror import Mirror, MirrorServer
from flows.reparse import reparse_source
from parsers import ecoforum
from tests.helpers import q


@pytest.fixture
def buggy_parser(monkeypatch):
    """A parser release that cut every title at 6 characters, and recorded its fetch times."""
    seen = []

    def buggy(tree, ctx):
        seen.append(ctx.fetched_at)
        page = ecoforum.parse(tree, ctx)
        return replace(page, items=[replace(i, title=i.title[:6]) for i in page.items])

    monkeypatch.setitem(parsers.PARSERS, "buggy", buggy)
    return seen


def test_reparse_after_a_parser_fix_repairs_rows_without_network(tmp_path, buggy_parser):
    wh = tmp_path / "w.duckdb"
    path = tmp_path / "sources.toml"
    with MirrorServer(Mirror()) as server:
        path.write_text(server.source_toml("mirror").replace('"ecoforum"', '"buggy"'), encoding="utf-8")
        source = load_sources(path)["mirror"]
        run_source(source, Plan(kind="backfill", last_page=3), warehouse=wh)
        expected = {i.title for i in server.mirror.items[:30]}
    # The server is gone: a reparse that touched the network would fail.
    assert all(len(t) <= 6 for (t,) in q(wh, "select title from articles"))
    fetch_times = sorted(buggy_parser)
    report = reparse_source(replace(source, parser="ecoforum"), warehouse=wh)
    assert report.state == "completed" and report.pages_fetched == 3
    assert (report.stats.updated, report.stats.inserted) == (30, 0)
    assert {t for (t,) in q(wh, "select title from articles")} == expected
    assert q(wh, "select count(*) from article_versions") == [(30,)]
    assert q(wh, "select kind, state, items_updated from ingest_runs where kind = 'reparse'") == [
        ("reparse", "completed", 30)]
    # Reparsing again finds nothing left to fix; a reparse parses each page as of its fetch.
    buggy_parser.clear()
    again = reparse_source(replace(source, parser="buggy"), warehouse=wh)
    assert again.stats.updated == 30 and sorted(buggy_parser) == fetch_times

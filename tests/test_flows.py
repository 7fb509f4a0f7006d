"""The Prefect flows end to end: prefect_test_harness + the mirror on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

pytestmark = pytest.mark.slow


def count(warehouse, sql="select count(*) from articles"):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_ingest_flow_first_second_and_new_items(flow_env, mirror_server):
    from flows.ingest import ingest

    state = ingest(return_state=True)
    assert state.is_completed(), state.message
    assert count(flow_env) == 210
    assert count(flow_env, "select count(distinct flow_run_id) from ingest_runs") == 1

    before = len(mirror_server.page_requests)
    state = ingest(sources=["mirror"], return_state=True)
    assert state.is_completed()
    assert len(mirror_server.page_requests) - before == 1
    assert count(flow_env) == 210

    mirror_server.mirror.publish("贵阳发布最新生态文明建设成果", "摘要", dt.date(2025, 1, 9))
    state = ingest(return_state=True)
    assert state.is_completed()
    assert count(flow_env) == 211
    assert count(flow_env, "select count(*) from articles where title ="
                           " '贵阳发布最新生态文明建设成果'") == 1
    # The run report is published as an artifact.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-report"])))

    import asyncio

    found = asyncio.run(artifacts())
    assert found and "| mirror | completed |" in found[0].data


def test_backfill_flow_twice_and_title_change(flow_env, mirror_server):
    from flows.backfill import backfill

    state = backfill(source="mirror", pages="2-4", return_state=True)
    assert state.is_completed(), state.message
    ids = count(flow_env, "select string_agg(article_id, ',' order by article_id) from articles")
    assert count(flow_env) == 30
    item = mirror_server.mirror.page_items(3)[4]
    new_title = item.title + "(更新)"
    mirror_server.mirror.retitle(item.item_id, new_title)
    state = backfill(source="mirror", pages="2-4", return_state=True)
    assert state.is_completed()
    assert count(flow_env) == 30
    assert count(flow_env, "select string_agg(article_id, ',' order by article_id) from"
                           " articles") == ids
    assert count(flow_env, "select count(*) from article_versions") == 1
    assert count(flow_env, f"select count(*) from articles where title = '{new_title}'") == 1


def test_flow_fails_for_an_unreachable_source(flow_env, tmp_path, monkeypatch):
    from flows.ingest import ingest

    bad = tmp_path / "bad.toml"
    # A port nothing listens on: every attempt is refused.
    bad.write_text('[sources.gone]\nstart_url = "http://127.0.0.1:9/news/list.html"\n'
                   'parser = "ecoforum"\ndelay_seconds = 0\nmax_retries = 1\n', encoding="utf-8")
    monkeypatch.setenv("NEWS_INGEST_SOURCES", str(bad))
    state = ingest(return_state=True)
    assert state.is_failed()
    assert "gone: failed" in state.message
    assert count(flow_env, "select state from ingest_runs") == "failed"


def test_two_flow_runs_at_once_take_turns_and_both_land(flow_env, tmp_path, monkeypatch):
    import threading

    from prefect.client.orchestration import get_client

    from flows.backfill import backfill
    from flows.ingest import ingest
    from flows.mirror import Mirror, MirrorServer

    with MirrorServer(Mirror()) as a, MirrorServer(Mirror()) as b:
        sources = tmp_path / "two.toml"
        sources.write_text(a.source_toml("a") + b.source_toml("b"), encoding="utf-8")
        monkeypatch.setenv("NEWS_INGEST_SOURCES", str(sources))
        states = {}
        runs = [threading.Thread(target=lambda: states.__setitem__(
                    "ingest", ingest(sources=["a"], return_state=True))),
                threading.Thread(target=lambda: states.__setitem__(
                    "backfill", backfill(source="b", pages="1-21", return_state=True)))]
        for t in runs:
            t.start()
        for t in runs:
            t.join(300)
    assert states["ingest"].is_completed() and states["backfill"].is_completed()
    assert count(flow_env, "select count(*) from articles where source = 'a'") == 210
    assert count(flow_env, "select count(*) from articles where source = 'b'") == 210
    # With a Prefect API the writers also took turns through a one-slot global limit.
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("news-ingest-warehouse")
    assert limit.limit == 1 and limit.active_slots == 0


def test_reparse_flow_runs_over_the_archive(flow_env, mirror_server):
    from flows.backfill import backfill
    from flows.reparse import reparse

    assert backfill(source="mirror", pages="1-2", return_state=True).is_completed()
    state = reparse(source="mirror", return_state=True)
    assert state.is_completed(), state.message
    assert count(flow_env, "select count(*) from ingest_runs where kind = 'reparse'"
                           " and state = 'completed' and items_unchanged = 20") == 1

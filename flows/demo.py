"""`news-ingest demo`: serve the offline mirror on 127.0.0.1 and ingest it with Prefect."""

from __future__ import annotations

import os
from pathlib import Path

from flows.mirror import MirrorServer
from warehouse import format_rows, run_query

DEMO_SOURCE = "eco-forum-mirror"


def run_demo(warehouse: Path) -> int:
    from flows.ingest import ingest

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    # The mirror gets a free port each time; article ids are relative to the
    # source's host, so a second demo finds the same articles, not new ones.
    sources_file = warehouse.parent / "demo-sources.toml"
    with MirrorServer() as server:
        sources_file.write_text(server.source_toml(DEMO_SOURCE), encoding="utf-8")
        os.environ["NEWS_INGEST_SOURCES"] = str(sources_file)
        print(f"mirror of the Eco Forum news listing at {server.start_url}")
        state = ingest(sources=[DEMO_SOURCE], return_state=True)
        requests = len(server.page_requests)
    flow_run_id = str(state.state_details.flow_run_id)
    cols, rows = run_query(warehouse, (
        "select pages_fetched as pages, items_parsed as parsed, items_inserted as new,"
        " items_updated as updated, items_unchanged as unchanged, state"
        " from ingest_runs where flow_run_id = ?"), [flow_run_id])
    print(f"\nthis run ({requests} request{'s' * (requests != 1)} to the mirror):")
    print(format_rows(cols, rows, "table"))
    _, total = run_query(warehouse, "select count(*) from articles where source = ?", [DEMO_SOURCE])
    print(f"\n{total[0][0]} articles of {DEMO_SOURCE} in {warehouse}; the newest:")
    cols, rows = run_query(warehouse, (
        "select published_date, title from articles where source = ?"
        " order by published_date desc, first_seen_at, url desc limit 10"), [DEMO_SOURCE])
    print(format_rows(cols, rows, "table"))
    print(f'\ntry: news-ingest query "select count(*) from articles" --warehouse {warehouse}')
    return 0 if state.is_completed() else 1

"""Benchmark 4 of issue 7: a scheduled ingest that finds nothing new, small vs big warehouse.

Two warehouses of the same source: each gets one real ingest of the mirror (so page 1's
items exist, with their real identities), then synthetic rows bulk-inserted with DuckDB SQL
up to 1,000 and 1,000,000 articles (plus pages/page_bodies rows at one per 10 articles and
ingest_runs at one per 100, older than the real run, as a warehouse that grew by backfills
and hourly runs would have). Then ``run_source(source, Plan())`` in-process (no Prefect) on
each, alternately; every run must fetch one listing page and insert nothing.

    .venv-bench/bin/python bench/idle_bench.py [--rounds 11] [--big 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _crawl_helpers import (  # noqa: E402
    SOURCE,
    FastMirror,
    fmt_runs,
    median,
    result,
    serve,
    table,
    write_sources,
)

from flows.config import load_sources  # noqa: E402
from flows.crawl import Plan, run_source  # noqa: E402
from warehouse import connect  # noqa: E402

PAD_SQL = """
INSERT INTO articles
SELECT md5('synthetic-' || i), $source, $base || '/news/content/2001-01/01/content_s' || i || '.html',
       '合成标题 synthetic article ' || i, DATE '2000-01-01' + CAST(i % 9000 AS INTEGER),
       repeat('生态文明 synthetic summary text ', 6) || i, md5('hash-' || i),
       TIMESTAMPTZ '2024-01-01 00:00:00+00', TIMESTAMPTZ '2024-06-01 00:00:00+00',
       TIMESTAMPTZ '2024-01-01 00:00:00+00', 'synthetic-run-' || (i // 1000), 'synthetic-run-' || (i // 1000)
FROM range($n) t(i)
"""
PAD_BODIES_SQL = """
INSERT INTO page_bodies
SELECT md5('body-' || i), 'none', CAST(repeat('x', 200) || i AS BLOB), 200
FROM range($n) t(i)
"""
PAD_PAGES_SQL = """
INSERT INTO pages
SELECT md5('page-' || i), 'synthetic-run-' || (i // 100), $source,
       $base || '/news/archive_' || i || '.html', NULL, CAST(i % 5000 AS INTEGER) + 2,
       TIMESTAMPTZ '2024-01-01 00:00:00+00', 200, 'utf-8', NULL, NULL, md5('body-' || i), false, NULL, 1
FROM range($n) t(i)
"""
PAD_RUNS_SQL = """
INSERT INTO ingest_runs (run_id, flow_run_id, kind, source, started_at, ended_at, state, pages_fetched)
SELECT 'synthetic-run-' || i, NULL, CASE WHEN i % 50 = 0 THEN 'backfill' ELSE 'ingest' END, $source,
       TIMESTAMPTZ '2023-01-01 00:00:00+00' + i * INTERVAL 1 HOUR,
       TIMESTAMPTZ '2023-01-01 00:00:30+00' + i * INTERVAL 1 HOUR, 'completed', 1
FROM range($n) t(i)
"""


def build(warehouse: Path, articles: int, source, base: str) -> float:
    """A real ingest of the mirror, then synthetic rows up to ``articles``; seconds taken."""
    start = time.perf_counter()
    report = run_source(source, Plan(), warehouse=warehouse)
    if report.state != "completed":
        raise SystemExit(f"seeding ingest: {report.summary()}")
    with connect(warehouse) as con:
        have = con.execute("select count(*) from articles").fetchone()[0]
        pad = articles - have
        params = {"source": source.name, "base": base}
        con.execute(PAD_SQL, {**params, "n": pad})
        con.execute(PAD_BODIES_SQL, {"n": articles // 10})
        con.execute(PAD_PAGES_SQL, {**params, "n": articles // 10})
        con.execute(PAD_RUNS_SQL, {"source": source.name, "n": max(1, articles // 100)})
        con.execute("CHECKPOINT")
        assert con.execute("select count(*) from articles").fetchone()[0] == articles
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--big", type=int, default=1_000_000)
    args = ap.parse_args()
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="idle-bench-"))
    sizes = (args.small, args.big)
    times: dict[int, list[float]] = {n: [] for n in sizes}
    requests: dict[int, list[int]] = {n: [] for n in sizes}
    # The mirror's default listing: 21 pages of 10, so the seeding ingest stores 210 articles.
    with serve(FastMirror()) as server:
        source = load_sources(write_sources(work / "sources.toml", server, concurrency=2, delay=0.0,
                                            obey_robots=True, max_pages=100))[SOURCE]
        warehouses = {}
        for n in sizes:
            warehouses[n] = work / f"wh-{n}" / "warehouse.duckdb"
            took = build(warehouses[n], n, source, server.base_url)
            size_mb = warehouses[n].stat().st_size / 1e6
            print(f"  built {n:>9,} articles in {took:5.1f} s ({size_mb:.0f} MB)", flush=True)
        for r in range(args.rounds):
            for n in (sizes if r % 2 == 0 else sizes[::-1]):
                before = len(server.page_requests)
                start = time.perf_counter()
                report = run_source(source, Plan(), warehouse=warehouses[n])
                times[n].append(time.perf_counter() - start)
                requests[n].append(len(server.page_requests) - before)
                if report.state != "completed" or report.stats.inserted or report.pages_fetched != 1:
                    raise SystemExit(f"idle run on {n}: {report.summary()}")
            print(f"  round {r + 1}: " + ", ".join(f"{n:,}: {times[n][-1] * 1000:.0f} ms" for n in sizes),
                  flush=True)
    small, big = (median(times[n]) for n in sizes)
    rows = [[f"{n:,}", len(times[n]), f"{median(times[n]) * 1000:.0f}",
             fmt_runs([t * 1000 for t in times[n]]), f"{max(requests[n])}"] for n in sizes]
    print()
    print("## Idle run: scheduled ingest finding nothing new (in-process run_source, no Prefect)")
    print(table(["articles in warehouse", "rounds", "median ms", "runs ms", "listing pages fetched/run"],
                rows))
    print()
    ok = big <= 1.2 * small and all(max(requests[n]) == 1 for n in sizes)
    print(table(["measure", "value", "goal"], [
        [f"{args.big:,} / {args.small:,} run time", f"{big / small:.2f}x", "<= 1.2x, 1 page"
         + (" MET" if ok else " MISSED")],
    ]))
    result("idle", f"idle scheduled run, {args.big:,} vs {args.small:,} articles",
           f"{big * 1000:.0f} ms ({args.big:,} articles)", f"{small * 1000:.0f} ms ({args.small:,})",
           f"{big / small:.2f}x",
           "<= 1.2x, 1 page fetched", ok)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nidle bench wall time: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

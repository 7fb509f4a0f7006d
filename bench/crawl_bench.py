"""Benchmark 2 of issue 7: crawl end to end, ours (the real CLI, no Prefect server set up) vs Scrapy.

Backfills of N mirror pages x 20 items from a local MirrorServer (127.0.0.1), politeness off
(delay 0, concurrency 16, a page_url template, robots off), each into a fresh warehouse,
through ``news-ingest backfill --source S --pages 1-N`` as a subprocess (Prefect start-up
included) vs a Scrapy spider (CrawlerProcess in a subprocess, CONCURRENT_REQUESTS 16, the
same extraction) writing a JSON lines feed. Runs alternate; medians are reported.

    .venv-bench/bin/python bench/crawl_bench.py                 # 1,000 and 5,000 pages (~7 min)
    .venv-bench/bin/python bench/crawl_bench.py --sizes 200,1000 --rounds 2,1    # quicker

The fixed cost (a 1-page backfill) is measured twice for ours: with no Prefect server set
up (what a first manual run pays: the CLI starts a temporary one, flows/tempserver.py) and
against a running local Prefect server (what a manual run pays while ``news-ingest serve``
runs: the CLI then uses its server).

Then where our time goes: an in-process ``run_source`` (no Prefect) of the smaller size with
fetch / parse / merge / warehouse open+close timed, set against the CLI's wall time.
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
    bench_env,
    fmt_runs,
    median,
    mirror_with_pages,
    phase_timer,
    result,
    run_ours_cli,
    run_scrapy,
    serve,
    serve_in_child,
    table,
    write_sources,
)

from flows.config import load_sources  # noqa: E402
from flows.crawl import backfill_plan, run_source  # noqa: E402
from flows.serve import start_local_server, stop_server  # noqa: E402
from warehouse import connect  # noqa: E402


def count_articles(warehouse: Path) -> int:
    with connect(warehouse, read_only=True) as con:
        return con.execute("select count(*) from articles").fetchone()[0]


def crawl_pair(pages: int, rounds: int, work: Path, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Alternate ours and Scrapy over a mirror of ``pages`` pages; check both got every item."""
    mirror = mirror_with_pages(pages)
    expected = len(mirror.items)
    ours: list[float] = []
    peer: list[float] = []
    with serve(mirror) as server:
        sources = write_sources(work / f"sources-{pages}.toml", server)
        for r in range(rounds):
            order = ("ours", "scrapy") if r % 2 == 0 else ("scrapy", "ours")
            for who in order:
                run_dir = Path(tempfile.mkdtemp(prefix=f"{who}-{pages}-", dir=work))
                if who == "ours":
                    warehouse = run_dir / "warehouse.duckdb"
                    ours.append(run_ours_cli(pages, sources, warehouse, env))
                    got = count_articles(warehouse)
                else:
                    feed = run_dir / "items.jl"
                    peer.append(run_scrapy(server, pages, feed))
                    got = sum(1 for _ in feed.open(encoding="utf-8"))
                if got != expected:
                    raise SystemExit(f"{who} at {pages} pages: {got} items, expected {expected}")
                print(f"  {pages:>5} pages round {r + 1}: {who:<6} "
                      f"{(ours if who == 'ours' else peer)[-1]:6.1f} s", flush=True)
    return ours, peer


def fixed_cost_with_server(work: Path, env: dict[str, str], rounds: int) -> list[float]:
    """1-page backfills through the CLI against a running local Prefect server."""
    from tests.helpers import free_port

    port = free_port()
    server = start_local_server(work / "prefect-server", port)
    try:
        env = dict(env, PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
        mirror = mirror_with_pages(1)
        times = []
        with serve(mirror) as srv:
            sources = write_sources(work / "sources-server.toml", srv)
            for r in range(rounds + 1):  # the first one warms the server up: not counted
                took = run_ours_cli(1, sources, work / f"server-{r}" / "warehouse.duckdb", env)
                print(f"      1 page, CLI against a running Prefect server: {took:.1f} s"
                      + (" (warm-up, not counted)" if r == 0 else ""), flush=True)
                if r:
                    times.append(took)
        return times
    finally:
        stop_server(server)


def where_time_goes(pages: int, work: Path) -> tuple[float, dict[str, float], int]:
    """In-process run_source (no Prefect) of ``pages`` pages, phases timed (the mirror in a
    child process, as it is for the CLI runs)."""
    with serve_in_child(pages) as server:
        source = load_sources(write_sources(work / "sources-inproc.toml", server))[SOURCE]
        warehouse = Path(tempfile.mkdtemp(prefix="inproc-", dir=work)) / "warehouse.duckdb"
        start = time.perf_counter()
        with phase_timer() as phases:
            report = run_source(source, backfill_plan(f"1-{pages}"), warehouse=warehouse)
        wall = time.perf_counter() - start
    if report.state != "completed" or report.stats.inserted != 20 * pages - 10:
        raise SystemExit(f"in-process run: {report.summary()}")
    return wall, dict(phases.seconds), phases.calls.get("fetch", 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,5000", help="two page counts (default 1000,5000)")
    ap.add_argument("--rounds", default="3,3", help="rounds per size (default 3,3)")
    ap.add_argument("--fixed-rounds", type=int, default=2, help="rounds of the 1-page crawl")
    args = ap.parse_args()
    small, large = (int(x) for x in args.sizes.split(","))
    r_small, r_large = (int(x) for x in args.rounds.split(","))
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    # Prefect's home outlives the run: a first run in an empty one also builds its database.
    env = bench_env(Path(tempfile.gettempdir()) / "news-ingest-bench-prefect")
    print(f"crawl bench: work dir {work}", flush=True)

    # Warm-up (page cache, Prefect's database on a first run ever): shown, not counted.
    mirror = mirror_with_pages(1)
    with serve(mirror) as server:
        cold = run_ours_cli(1, write_sources(work / "sources-cold.toml", server),
                            work / "cold" / "warehouse.duckdb", env)
    print(f"  warm-up 1-page backfill (not counted): {cold:.1f} s", flush=True)

    results = {}
    for pages, rounds in ((1, args.fixed_rounds), (small, r_small), (large, r_large)):
        results[pages] = crawl_pair(pages, rounds, work, env)

    with_server = fixed_cost_with_server(work, env, args.fixed_rounds)
    inproc_wall, phases, fetched = where_time_goes(small, work)

    rows = []
    for pages, (ours, peer) in results.items():
        mo, mp = median(ours), median(peer)
        rows.append([pages, len(ours), f"{mo:.1f}", fmt_runs(ours), f"{mp:.1f}", fmt_runs(peer),
                     f"{pages / mo:.1f}", f"{pages / mp:.1f}", f"{mp / mo:.2f}x"])
    ours_s, peer_s = (median(results[small][i]) for i in (0, 1))
    ours_l, peer_l = (median(results[large][i]) for i in (0, 1))
    marg_ours = (large - small) / max(1e-9, ours_l - ours_s)
    marg_peer = (large - small) / max(1e-9, peer_l - peer_s)
    fixed_ours, fixed_peer = median(results[1][0]), median(results[1][1])

    print()
    print(f"## Crawl end to end: mirror pages x 20 items, concurrency 16, delay 0 (sizes {small}, {large})")
    print(table(["pages", "rounds", "ours s (median)", "ours runs", "scrapy s (median)", "scrapy runs",
                 "ours pages/s", "scrapy pages/s", "speed ours/scrapy"], rows))
    print()
    summary = [
        ["fixed cost: 1-page backfill wall s", f"{fixed_ours:.1f}", f"{fixed_peer:.1f}",
         f"{fixed_peer / fixed_ours:.2f}x", "-"],
        ["fixed cost, CLI against a running local Prefect server", f"{median(with_server):.1f}",
         f"{fixed_peer:.1f}", f"{fixed_peer / median(with_server):.2f}x", "-"],
        [f"marginal rate pages/s ({small}->{large})", f"{marg_ours:.1f}", f"{marg_peer:.1f}",
         f"{marg_ours / marg_peer:.2f}x", ">= 1.0x " + ("MET" if marg_ours >= marg_peer else "MISSED")],
        [f"whole run at {large} pages (speed ratio)", f"{ours_l:.1f} s", f"{peer_l:.1f} s",
         f"{peer_l / ours_l:.2f}x", ">= 0.8x " + ("MET" if peer_l / ours_l >= 0.8 else "MISSED")
         + (" (issue: at 5000)" if large != 5000 else "")],
    ]
    print(table(["measure", "ours", "scrapy", "ratio", "goal"], summary))
    result("crawl", f"marginal rate, backfill {small:,} -> {large:,} pages x 20 items",
           f"{marg_ours:.0f} pages/s", f"{marg_peer:.0f} pages/s (Scrapy)", f"{marg_ours / marg_peer:.2f}x",
           ">= 1.0x", marg_ours >= marg_peer)
    result("crawl", f"whole run at {large:,} pages (Prefect start-up included)", f"{ours_l:.1f} s",
           f"{peer_l:.1f} s (Scrapy)", f"{peer_l / ours_l:.2f}x", ">= 0.8x", peer_l / ours_l >= 0.8)
    result("crawl", "fixed cost: 1-page backfill, no server set up (temporary one)", f"{fixed_ours:.1f} s",
           f"{fixed_peer:.1f} s (Scrapy)", f"{fixed_peer / fixed_ours:.2f}x", "-", None)
    result("crawl", "fixed cost: 1-page backfill, running local server", f"{median(with_server):.1f} s",
           f"{fixed_peer:.1f} s (Scrapy)", f"{fixed_peer / median(with_server):.2f}x", "-", None)
    print()
    serialized = sum(v for k, v in phases.items() if k.startswith(("open", "close", "merge")))
    print(f"## Where our time goes: {small}-page backfill")
    goes = [
        ["CLI wall (median above)", f"{ours_s:.1f}", "100%"],
        ["  Prefect: start-up + flow/task engine (CLI - in-process)", f"{ours_s - inproc_wall:.1f}",
         f"{(ours_s - inproc_wall) / ours_s:.0%}"],
        ["  in-process run_source wall (no Prefect)", f"{inproc_wall:.1f}", f"{inproc_wall / ours_s:.0%}"],
        ["    warehouse open+merge+close, serialized under the writer lock", f"{serialized:.1f}",
         f"{serialized / ours_s:.0%}"],
    ]
    for name in ("open (lock, connect, migrations check)", "merge (SQL, in the open file)",
                 "close (commit to disk)"):
        v = phases.get(name, 0.0)
        goes.append([f"      {name} ({v / fetched * 1000:.0f} ms/page)", f"{v:.1f}", f"{v / ours_s:.0%}"])
    for name in ("parse", "fetch"):
        v = phases.get(name, 0.0)
        goes.append([f"    {name}, summed over 16 threads ({v / fetched * 1000:.0f} ms/page)",
                     f"{v:.1f}", "(overlaps)"])
    print(table(["phase", "seconds", "share of CLI wall"], goes))
    shutil.rmtree(work, ignore_errors=True)
    print(f"\ncrawl bench wall time: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

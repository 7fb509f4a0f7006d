"""Benchmark 5 of issue 7: peak RSS of a big backfill vs a 10x smaller one.

Each size runs in its own child process: the real CLI, ``news-ingest backfill --pages 1-N``
(``flows.cli.main`` called in the child, with the temporary Prefect server a manual run
starts when none is set up), over N mirror pages x 20 items from a local MirrorServer
(served by this parent process, so its memory is not counted; nor is the Prefect server's,
a process of its own) into a fresh warehouse, politeness off (delay 0, concurrency 16).
The child reports its peak RSS (VmHWM from /proc/self/status), its RSS once the CLI is
imported (before the run and Prefect), and its wall time.

    .venv-bench/bin/python bench/memory_bench.py                    # 1,000 vs 10,000 pages
    .venv-bench/bin/python bench/memory_bench.py --sizes 100,1000   # quicker
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _crawl_helpers import (  # noqa: E402
    SOURCE,
    bench_env,
    mirror_with_pages,
    result,
    serve,
    table,
    write_sources,
)


def status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(sources: str, pages: int, warehouse: str) -> None:
    import contextlib
    import io

    # Prefect is not imported yet, as in the CLI: then a manual run starts its temporary
    # server (a process of its own) before Prefect loads.
    from flows.cli import main as cli
    from warehouse import connect

    baseline = status_mb("VmRSS")
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli(["--warehouse", warehouse, "--sources", sources, "backfill", "--source", SOURCE,
                    "--pages", f"1-{pages}"])
    wall = time.perf_counter() - start
    peak = status_mb("VmHWM")
    with connect(warehouse, read_only=True) as con:
        items, fetched = con.execute("select items_inserted, pages_fetched from ingest_runs").fetchone()
    print(json.dumps({"state": "completed" if code == 0 else f"exit {code}", "pages": fetched,
                      "wall": wall, "baseline_mb": baseline, "peak_mb": peak,
                      "end_mb": status_mb("VmRSS"), "items": items}))


def measure(pages: int, work: Path) -> dict:
    mirror = mirror_with_pages(pages)
    with serve(mirror) as server:
        sources = write_sources(work / f"sources-{pages}.toml", server)
        warehouse = work / f"wh-{pages}" / "warehouse.duckdb"
        proc = subprocess.run([sys.executable, __file__, "--child", str(sources), str(pages), str(warehouse)],
                              capture_output=True, text=True, env=bench_env(work / "prefect-home"))
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"child for {pages} pages failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["state"] != "completed" or result["items"] != len(mirror.items):
        raise SystemExit(f"{pages} pages: {result}")
    result["warehouse_mb"] = warehouse.stat().st_size / 1e6
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="small,big page counts (default 1000,10000)")
    ap.add_argument("--child", nargs=3, metavar=("SOURCES", "PAGES", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return 0
    began = time.perf_counter()
    small, big = (int(x) for x in args.sizes.split(","))
    work = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    results = {}
    for pages in (small, big):
        results[pages] = r = measure(pages, work)
        print(f"  {pages:>6} pages: peak {r['peak_mb']:.0f} MB, {r['wall']:.1f} s", flush=True)
    rows = [[f"{p:,}", f"{r['items']:,}", f"{r['baseline_mb']:.0f}", f"{r['peak_mb']:.0f}",
             f"{r['peak_mb'] - r['baseline_mb']:.0f}", f"{r['warehouse_mb']:.0f}", f"{r['wall']:.1f}",
             f"{p / r['wall']:.1f}"] for p, r in results.items()]
    ratio = results[big]["peak_mb"] / results[small]["peak_mb"]
    growth = results[big]["peak_mb"] - results[big]["baseline_mb"]
    print()
    print("## Memory: peak RSS of `news-ingest backfill` (CLI in a child process per size)")
    print(table(["pages", "items", "RSS before the run MB", "peak RSS MB", "peak - before MB",
                 "warehouse MB", "wall s", "pages/s"], rows))
    print()
    ok = ratio <= 1.3 and results[big]["peak_mb"] < 500
    print(table(["measure", "value", "goal"], [
        [f"peak RSS {big:,} / {small:,} pages", f"{ratio:.2f}x",
         "<= 1.3x and < 500 MB" + (" MET" if ok else " MISSED")
         + (" (issue: 10,000 vs 1,000)" if (small, big) != (1000, 10000) else "")],
        [f"growth over the start at {big:,} pages", f"{growth:.0f} MB", "-"],
    ]))
    result("memory", f"peak RSS, backfill of {big:,} vs {small:,} pages",
           f"{results[big]['peak_mb']:.0f} MB ({big:,} pages)",
           f"{results[small]['peak_mb']:.0f} MB ({small:,})", f"{ratio:.2f}x",
           "<= 1.3x, < 500 MB", ok)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nmemory bench wall time: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

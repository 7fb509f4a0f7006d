"""Run every bench/*_bench.py in turn, then print their final tables together.

Each benchmark is its own process (so one's imports, threads and memory do not weigh on
the next), run with this interpreter, its output shown as it comes. A benchmark ends by
printing its table (Markdown, optionally under a "#" heading line, notes after it) and
exits 0. At the end come, for each benchmark, that last table and its wall time.

    .venv-bench/bin/python bench/run_all.py [--only parse] [--only load] [--write BENCHMARKS.md]

Every benchmark also prints its headline figures as ``RESULT {json}`` lines; they make the
ratio table printed last (and, with --write, the top of BENCHMARKS.md).

Extra arguments per benchmark: BENCH_ARGS_<NAME> in the environment, e.g.
BENCH_ARGS_LOAD="--rows 200000". Exit status 1 if any benchmark failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peers import RESULT_TAG, machine, table, versions  # noqa: E402

PEERS = ("scrapy", "parsel", "beautifulsoup4", "lxml", "dlt", "pyarrow", "duckdb", "selectolax",
         "prefect", "httpx")


def results_of(output: str) -> list[dict]:
    return [json.loads(line[len(RESULT_TAG):]) for line in output.splitlines()
            if line.startswith(RESULT_TAG)]


def ratio_table(found: list[dict]) -> str:
    verdict = {True: "met", False: "**MISSED**", None: ""}
    return table(["benchmark", "measure", "ours", "peer", "ratio", "goal", ""],
                 [[r["benchmark"], r["measure"], r["ours"], r["peer"], r["ratio"], r["goal"],
                   verdict[r["met"]]] for r in found])


def is_table(block: list[str]) -> bool:
    return any(line.lstrip().startswith("|") for line in block)


def final_table(output: str) -> str:
    """The output's last run of Markdown tables with their "#" headings, and what follows it."""
    blocks: list[list[str]] = [[]]
    for line in output.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    last = max((i for i, b in enumerate(blocks) if is_table(b)), default=None)
    if last is None:  # no table: the last block is the best guess
        return "\n".join(blocks[-1]) if blocks else "(no output)"
    first = last
    # Pull in the run of tables, "#" headings and "(" notes that ends with the last table.
    while first > 0 and (is_table(blocks[first - 1]) or blocks[first - 1][0].startswith(("#", "("))):
        first -= 1
    return "\n\n".join("\n".join(b) for b in blocks[first:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", default=[],
                    help="run only this benchmark (name without _bench.py); repeatable")
    ap.add_argument("--write", metavar="FILE", help="write the tables to FILE (BENCHMARKS.md)")
    args = ap.parse_args()

    scripts = sorted(HERE.glob("*_bench.py"))
    if args.only:
        scripts = [s for s in scripts if s.name.removesuffix("_bench.py") in args.only]
    if not scripts:
        print("no benchmark to run", file=sys.stderr)
        return 2
    print(f"benchmarks: {', '.join(s.name for s in scripts)}", flush=True)

    results: list[tuple[str, int, float, str]] = []
    for script in scripts:
        name = script.name.removesuffix("_bench.py")
        extra = shlex.split(os.environ.get(f"BENCH_ARGS_{name.upper()}", ""))
        cmd = [sys.executable, str(script), *extra]
        print(f"\n===== {script.name} {' '.join(extra)}".rstrip(), flush=True)
        results_cmd = " ".join(["python", f"bench/{script.name}", *extra])
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=HERE.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
        code = proc.wait()
        results.append((name, code, time.perf_counter() - start, "".join(lines), results_cmd))

    total = sum(r[2] for r in results)
    sections = []
    for name, code, seconds, output, cmd in results:
        state = "ok" if code == 0 else f"FAILED (exit {code})"
        body = final_table(output) if code == 0 else "\n".join(output.splitlines()[-15:])
        body = "\n".join(line for line in body.splitlines() if not line.startswith(RESULT_TAG))
        sections.append(f"## {name} — {state}, wall {seconds:.0f} s (`{cmd}`)\n\n{body}")
    found = [r for _, _, _, output, _ in results for r in results_of(output)]
    print("\n\n======== all benchmarks: final tables ========", flush=True)
    print("\n\n".join(sections))
    print("\n## Ratios, ours vs peer (the goals are issue 7's)\n")
    print(ratio_table(found))
    print(f"\ntotal wall time of the benchmarks: {total:.0f} s ({total / 60:.1f} min)")
    if args.write:
        Path(args.write).write_text(report(found, sections, total), encoding="utf-8")
        print(f"written to {args.write}")
    return 0 if all(r[1] == 0 for r in results) else 1


def report(found: list[dict], sections: list[str], total: float) -> str:
    return "\n".join([
        "# Benchmarks: news-ingest vs the tools people would use instead",
        "",
        f"Last run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` on {machine()}"
        f" (a shared machine: read the ratios, not the absolute times), in {total / 60:.1f} min.",
        f"Versions: {versions(*PEERS)}.",
        "",
        "Reproduce: `make bench` (creates `.venv-bench` with the peers, runs every",
        "`bench/*_bench.py` alternating ours and the peer, rewrites this file). One benchmark:",
        "`.venv-bench/bin/python bench/NAME_bench.py --help`. What each measures, and why",
        "the sizes: `bench/README.md`.",
        "",
        "## Ratios (ours / peer; the goals are issue 7's)",
        "",
        ratio_table(found),
        "",
        *[s + "\n" for s in sections],
    ])


if __name__ == "__main__":
    raise SystemExit(main())

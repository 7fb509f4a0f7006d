"""Shared pieces of the parse and load benchmarks (ours vs peers, run alternately).

- ``alternate``: runs every contender once per round, the order rotating each round, so
  a slow phase of the shared 2-core machine hits all of them alike; returns the timings.
- ``median``, ``ratio``, ``table``: the figures and the Markdown table every bench prints.
- ``machine``: one line saying what this ran on, for BENCHMARKS.md.

Run only through bench/parse_bench.py and bench/load_bench.py (or bench/run_all.py).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/NAME.py` from the checkout
    sys.path.insert(0, str(ROOT))

# dlt: no telemetry, no network (set before dlt is imported).
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


def alternate(contenders: dict[str, Callable[[], float | None]], rounds: int,
              *, log: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Run each contender once per round, rotating the order; {name: [seconds per round]}.

    A contender returns the seconds to count (its own timing, e.g. without data set-up), or
    None to be timed here as a whole.
    """
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            start = time.perf_counter()
            counted = contenders[name]()
            seconds = time.perf_counter() - start if counted is None else counted
            times[name].append(seconds)
            if log:
                log(f"  round {r + 1}/{rounds} {name:<22} {seconds:8.2f} s")
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}x" if peer else "n/a"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def versions(*names: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in names:
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def say(message: str) -> None:
    print(message, flush=True)


RESULT_TAG = "RESULT "


def result(benchmark: str, measure: str, ours: str, peer: str, ratio_: str, goal: str,
           met: bool | None) -> None:
    """One line of the final ratio table (bench/run_all.py collects these from every bench)."""
    import json

    print(RESULT_TAG + json.dumps({"benchmark": benchmark, "measure": measure, "ours": ours,
                                   "peer": peer, "ratio": ratio_, "goal": goal, "met": met},
                                  ensure_ascii=False), flush=True)

"""Real processes against one warehouse file: killed backfills, and writers with a reader."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flows.config import load_sources
from flows.crawl import backfill_plan, run_source
from flows.mirror import Mirror, MirrorServer
from tests.helpers import q
from warehouse import connect

CHILD = """
import sys
from pathlib import Path
from flows.config import load_sources
from flows.crawl import Plan, backfill_plan, run_source
source = load_sources(sys.argv[1])[sys.argv[2]]
plan = backfill_plan(pages="1-21") if sys.argv[3] == "backfill" else Plan()
run_source(source, plan, warehouse=Path(sys.argv[4]))
"""


def child(sources: Path, name: str, kind: str, warehouse: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(sources), name, kind, str(warehouse)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_backfill_killed_at_any_moment_then_rerun_equals_an_uninterrupted_one(tmp_path):
    with MirrorServer(Mirror()) as server:
        sources = tmp_path / "sources.toml"
        sources.write_text(server.source_toml("mirror").replace("delay_seconds = 0.0",
                                                                "delay_seconds = 0.03"))
        reference = tmp_path / "reference.duckdb"
        run_source(load_sources(sources)["mirror"], backfill_plan(pages="1-21"), warehouse=reference)
        want = q(reference, "select article_id, title, published_date from articles order by 1")
        assert len(want) == 210

        warehouse = tmp_path / "crashed.duckdb"
        kills = 0
        # Kill after k more page requests, k ms later: early, mid-walk, late, during merges.
        for k, ms in [(1, 0), (3, 5), (6, 12), (10, 20), (15, 3), (19, 8)]:
            start = len(server.page_requests)
            proc = child(sources, "mirror", "backfill", warehouse)
            deadline = time.monotonic() + 60
            while len(server.page_requests) - start < k and proc.poll() is None:
                assert time.monotonic() < deadline, "the child made no progress"
                time.sleep(0.002)
            time.sleep(ms / 1000)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
            # Openable, and never a duplicate or a half page.
            with connect(warehouse) as con:
                total, distinct = con.execute(
                    "select count(*), count(distinct article_id) from articles").fetchone()
            assert total == distinct and total % 10 == 0
        assert kills >= 5
        proc = child(sources, "mirror", "backfill", warehouse)
        assert proc.wait(120) == 0, proc.stdout.read().decode()
        assert q(warehouse, "select article_id, title, published_date from articles order by 1") == want
        states = [s for (s,) in q(warehouse, "select state from ingest_runs order by started_at")]
        assert states[-1] == "completed" and "running" in states  # the killed runs stay visible


def test_two_writers_and_a_reader_at_once_all_succeed(tmp_path):
    with MirrorServer(Mirror()) as a, MirrorServer(Mirror()) as b:
        sources = tmp_path / "sources.toml"
        slow = "delay_seconds = 0.02"
        sources.write_text(a.source_toml("a").replace("delay_seconds = 0.0", slow)
                           + b.source_toml("b").replace("delay_seconds = 0.0", slow))
        warehouse = tmp_path / "w.duckdb"
        with connect(warehouse):
            pass  # created, so the reader has a file to wait on from the start
        ingest = child(sources, "a", "ingest", warehouse)
        backfill = child(sources, "b", "backfill", warehouse)
        counts = []
        while ingest.poll() is None or backfill.poll() is None:
            out = subprocess.run([sys.executable, "-m", "flows.cli", "--warehouse", str(warehouse),
                                  "query", "--format", "csv", "select count(*) from articles"],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            counts.append(int(out.stdout.splitlines()[1]))
        assert ingest.returncode == 0 and backfill.returncode == 0
        assert counts and counts == sorted(counts)
        assert q(warehouse, "select source, count(*) from articles group by 1 order by 1") == [
            ("a", 210), ("b", 210)]
        assert q(warehouse, "select kind, state from ingest_runs order by kind") == [
            ("backfill", "completed"), ("ingest", "completed")]

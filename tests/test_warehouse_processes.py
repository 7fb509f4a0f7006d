"""Real processes against one warehouse file: SIGKILL at many moments, and concurrent use.

The child processes run this module's `child_main` (python -c ... <mode> <args>), so the
batches they write and the ones the tests expect come from the same `batch()` function.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from warehouse import (
    ArticleRow,
    PageRecord,
    QuarantineRow,
    connect,
    finish_run,
    merge_items,
    run_query,
    start_run,
)
from warehouse.migrate import schema_version

ROWS = 50  # new articles per batch
TOUCHED = 10  # articles of the previous batch each batch changes (old version -> history)
BATCHES = 200
T0 = dt.datetime(2025, 1, 8, tzinfo=dt.UTC)
HERE = Path(__file__).resolve().parent
CHILD_TIMEOUT = 120.0  # a hung child is killed and the test fails, instead of hanging


# --- what the children write ----------------------------------------------------------------

def page_url(b: int) -> str:
    return f"https://e.org/list_{b}.html"


def batch(b: int, run_id: str) -> tuple[list[ArticleRow], list[QuarantineRow], PageRecord]:
    """Batch b: ROWS new articles, new titles for TOUCHED of batch b-1, one bad item, its page.

    Everything derives from b (times included), so two runs of a batch write the same rows.
    """
    def row(of: int, i: int, title: str) -> ArticleRow:
        return ArticleRow(f"b{of:03d}-{i:02d}", "crash", f"https://e.org/{of}/{i}.html", title,
                          dt.date(2024, 1, 1) + dt.timedelta(days=of), f"summary {of}/{i}",
                          f"h:{title}")

    rows = [row(b, i, f"title {b}/{i}") for i in range(ROWS)]
    if b > 0:
        rows += [row(b - 1, i, f"title {b - 1}/{i}, revised") for i in range(TOUCHED)]
    bad = [QuarantineRow("crash", page_url(b), "no title", url=f"https://e.org/{b}/bad.html")]
    # Batches 150+ bring the bodies of 0+ again: the archive must store each body once.
    body = (f"<html><h1>list {b % 150}</h1>" + "<li>item</li>" * 200 + "</html>").encode()
    page = PageRecord(run_id=run_id, source="crash", url=page_url(b), final_url=page_url(b),
                      page_no=b + 1, fetched_at=batch_time(b), status=200, body=body,
                      encoding="utf-8", etag=f'"{b}"')
    return rows, bad, page


def batch_time(b: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=b)


def say(line: str) -> None:
    print(line, flush=True)


class PausingConnection:
    """The real connection, except that one statement stops (after saying "inside") for the
    parent to SIGKILL the process there: inside a merge's transaction, deterministically."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql_prefix: str) -> None:
        self._con, self._prefix = con, sql_prefix

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        if sql.lstrip().startswith(self._prefix):
            say("inside")
            time.sleep(CHILD_TIMEOUT)
        return self._con.execute(sql, *args)


def write_batches(path: str, run_id: str, kind: str, first: int, last: int,
                  reconnect_every: int, wait_for: str | None, pause_at: int = -1,
                  pause_sql: str = "") -> None:
    """Merge batches first..last-1, reopening the file every `reconnect_every` batches.

    Batch `pause_at` stops inside its transaction at the first statement starting with
    `pause_sql` (see PausingConnection).
    """
    say("opening")
    with connect(path, wait_seconds=60) as con:
        start_run(con, run_id=run_id, flow_run_id=None, kind=kind, source="crash",
                  started_at=batch_time(first))
    start = first
    while start < last:
        end = min(start + reconnect_every, last)
        say("opening")
        with connect(path, wait_seconds=60) as con:
            say("opened")
            for b in range(start, end):
                rows, bad, page = batch(b, run_id)
                say(f"merging {b}")
                target = PausingConnection(con, pause_sql) if b == pause_at else con
                merge_items(target, rows, run_id=run_id, now=batch_time(b),  # type: ignore[arg-type]
                            quarantined=bad, page=page)
                say(f"done {b}")
                if b % 25 == 24:
                    say("checkpoint")
                    con.execute("CHECKPOINT")
            say("closing")  # close() checkpoints too
        if wait_for and start == first:
            _wait_for_file(wait_for)  # without the file: the point is to let others in
        start = end
    with connect(path, wait_seconds=60) as con:
        finish_run(con, run_id, state="completed", ended_at=batch_time(last))
    say("finished")


def read_until(path: str, stop_file: str, seen_file: str, out_file: str) -> None:
    """Count rows again and again while writers run; record what was seen."""
    seen: list[list[int]] = []
    while True:
        stopping = os.path.exists(stop_file)
        _, rows = run_query(path, "SELECT (SELECT count(*) FROM articles),"
                            " (SELECT count(DISTINCT article_id) FROM articles),"
                            " (SELECT count(*) FROM pages)", wait_seconds=60)
        seen.append(list(rows[0]))
        if rows[0][0] > 0 and not os.path.exists(seen_file):
            Path(seen_file).touch()
        if stopping:
            break
        time.sleep(0.01)  # let writers take their turn
    Path(out_file).write_text(json.dumps(seen))


def _wait_for_file(name: str) -> None:
    deadline = time.monotonic() + 60
    while not os.path.exists(name):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} never appeared")
        time.sleep(0.01)


def child_main(argv: list[str]) -> None:
    if argv[0] == "write":
        path, run_id, kind, first, last, every, wait_for, pause_at, pause_sql = argv[1:]
        write_batches(path, run_id, kind, int(first), int(last), int(every), wait_for or None,
                      int(pause_at), pause_sql)
    elif argv[0] == "read":
        read_until(*argv[1:])
    else:
        raise SystemExit(f"unknown mode {argv[0]}")


# --- helpers for the parent -----------------------------------------------------------------

def spawn(*args: object) -> subprocess.Popen[str]:
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import {__name__} as m; " \
           "m.child_main(sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timer = threading.Timer(CHILD_TIMEOUT, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def write(path: Path, run_id: str, first: int, last: int, *, kind: str = "backfill",
          every: int = 20, wait_for: Path | str = "", pause: tuple[int, str] = (-1, "")
          ) -> subprocess.Popen[str]:
    return spawn("write", path, run_id, kind, first, last, every, wait_for, *pause)


def finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    assert proc.returncode == 0, err[-3000:]


def kill_when(proc: subprocess.Popen[str], trigger: Callable[[str, int], bool],
              delay: float) -> str:
    """SIGKILL the child right after (+ `delay` s) the line for which trigger(line, n) holds."""
    assert proc.stdout is not None
    counts: dict[str, int] = {}
    for line in proc.stdout:
        word = line.split()[0]
        counts[word] = counts.get(word, 0) + 1
        if trigger(word, counts[word]):
            if delay:
                time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(CHILD_TIMEOUT)
            proc.stdout.close()
            assert proc.stderr is not None
            proc.stderr.close()
            return line.strip()
    proc.wait(CHILD_TIMEOUT)
    raise AssertionError(f"child ended (rc {proc.returncode}) before the kill moment")


def check_consistent(path: Path) -> int:
    """Every batch fully there or absent, committed batches a prefix; return how many there are."""
    if not path.exists():
        return 0  # killed before DuckDB created the file
    with connect(path, read_only=True) as con:  # the file opens after the kill
        if schema_version(con) < 3:
            return 0  # killed while migrating a fresh file: nothing merged yet
        per_batch = dict(con.execute(
            "SELECT substr(article_id, 2, 3)::INTEGER, count(*) FROM articles GROUP BY 1"
        ).fetchall())
        pages = dict(con.execute(
            "SELECT page_no - 1, count(*) FROM pages GROUP BY 1").fetchall())
        bad = dict(con.execute(
            "SELECT regexp_extract(url, '/(\\d+)/bad', 1)::INTEGER, count(*) FROM quarantine"
            " GROUP BY 1").fetchall())
        revised = dict(con.execute(
            "SELECT substr(article_id, 2, 3)::INTEGER, count(*) FROM articles"
            " WHERE title LIKE '%revised' GROUP BY 1").fetchall())
        versions = con.execute("SELECT count(*) FROM article_versions").fetchone()
        missing_bodies = con.execute(
            "SELECT count(*) FROM pages p WHERE NOT EXISTS"
            " (SELECT 1 FROM page_bodies b WHERE b.content_hash = p.content_hash)").fetchone()
        runs = con.execute(
            "SELECT run_id, pages_fetched, items_inserted, items_updated, items_quarantined,"
            " (SELECT count(*) FROM pages p WHERE p.run_id = r.run_id),"
            " (SELECT count(*) FROM articles a WHERE a.first_run_id = r.run_id),"
            " (SELECT count(*) FROM quarantine q WHERE q.run_id = r.run_id),"
            " (SELECT count(*) FROM pages p WHERE p.run_id = r.run_id AND p.page_no > 1)"
            " FROM ingest_runs r").fetchall()
    done = len(pages)
    assert set(pages) == set(range(done)), f"committed batches are not a prefix: {sorted(pages)}"
    assert set(pages.values()) <= {1}
    assert per_batch == dict.fromkeys(range(done), ROWS)
    assert bad == dict.fromkeys(range(done), 1)
    # Batch b revised TOUCHED rows of b-1: exactly when b itself is there.
    assert revised == dict.fromkeys(range(done - 1), TOUCHED)
    assert versions == (TOUCHED * max(0, done - 1),)
    assert missing_bodies == (0,)
    for run_id, fetched, inserted, updated, quarantined, n_pages, n_first, n_bad, n_revising in runs:
        # The run's counters moved in the same transactions as its pages and rows.
        assert (fetched, inserted, updated, quarantined) == (
            n_pages, n_first, TOUCHED * n_revising, n_bad), run_id
    return done


def final_state(path: Path) -> dict[str, list[tuple]]:
    """Everything but run ids and uuids: those differ between runs by design."""
    queries = {
        "articles": "SELECT * EXCLUDE (first_run_id, last_run_id) FROM articles",
        "article_versions": "SELECT * EXCLUDE (replaced_by_run) FROM article_versions",
        "pages": "SELECT * EXCLUDE (page_id, run_id) FROM pages",
        "page_bodies": "SELECT * FROM page_bodies",
        "quarantine": "SELECT * EXCLUDE (quarantine_id, run_id, page_id) FROM quarantine",
        "schema_migrations": "SELECT version, name FROM schema_migrations",
    }
    with connect(path, read_only=True) as con:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}


# --- tests --------------------------------------------------------------------------------

def test_sigkill_at_any_moment_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    rng = random.Random(20250108)

    def nth(word: str, n: int) -> Callable[[str, int], bool]:
        return lambda w, count: w == word and count == n

    # A merge takes ~10-20 ms here; kills at spread delays after "merging" land before, in
    # and after its statements and its COMMIT.
    moments = [
        ("while merging", nth("merging", rng.randint(2, 15)), 0.0),
        ("a moment into a merge", nth("merging", rng.randint(2, 15)), rng.uniform(0, 0.005)),
        ("well into a merge", nth("merging", rng.randint(2, 15)), rng.uniform(0.005, 0.012)),
        ("late in a merge", nth("merging", rng.randint(2, 15)), rng.uniform(0.012, 0.025)),
        ("between two merges", nth("done", rng.randint(2, 15)), 0.0),
        ("during a CHECKPOINT", nth("checkpoint", 1), rng.uniform(0, 0.002)),
        ("while closing (close checkpoints)", nth("closing", 1), 0.0),
        ("while opening the file", nth("opening", rng.randint(2, 3)), rng.uniform(0, 0.01)),
        # Certainly mid-transaction: the child stops inside the merge until it is killed.
        ("inside a merge, its page and stage written", nth("inside", 1), 0.0, "INSERT INTO articles"),
        ("inside a merge, at its last statement", nth("inside", 1), 0.0, "UPDATE ingest_runs"),
    ]
    rng.shuffle(moments)
    # First of all: while the fresh file is being created and migrated.
    moments.insert(0, ("while migrating a fresh file", nth("opening", 1), rng.uniform(0.015, 0.06)))

    done = 0
    log = []
    for attempt, (label, trigger, delay, *pause_sql) in enumerate(moments):
        pause = (done + rng.randint(1, 10), pause_sql[0]) if pause_sql else (-1, "")
        proc = write(path, f"attempt-{attempt}", done, BATCHES, pause=pause)
        last_line = kill_when(proc, trigger, delay)
        done_after = check_consistent(path)
        log.append((label, last_line, done, done_after))
        assert done_after >= done, log
        done = done_after
    assert done < BATCHES, log  # the kills really interrupted the work
    assert len(moments) >= 5

    finish(write(path, "resume", done, BATCHES))
    assert check_consistent(path) == BATCHES

    clean = tmp_path / "clean.duckdb"
    finish(write(clean, "clean", 0, BATCHES, every=BATCHES))
    assert check_consistent(clean) == BATCHES

    got, want = final_state(path), final_state(clean)
    assert len(want["articles"]) == ROWS * BATCHES
    assert len({row[0] for row in got["articles"]}) == len(got["articles"])  # no duplicates
    assert len(want["page_bodies"]) == 150
    for table in want:
        assert got[table] == want[table], table


def test_two_writers_and_a_reader_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with connect(path):
        pass  # exists before the reader starts
    stop, seen, out = tmp_path / "stop", tmp_path / "seen", tmp_path / "reads.json"

    reader = spawn("read", path, stop, seen, out)
    # An ingest and a backfill whose batches overlap on 30..39. The ingest pauses after its
    # first batch until the reader has seen rows, so the reader surely reads mid-way.
    ingest = write(path, "ingest", 0, 40, kind="ingest", every=1, wait_for=seen)
    backfill = write(path, "backfill", 30, 70, kind="backfill", every=1)
    finish(ingest)
    finish(backfill)
    stop.touch()
    finish(reader)

    _, rows = run_query(path, "SELECT count(*), count(DISTINCT article_id) FROM articles")
    assert rows == [(70 * ROWS, 70 * ROWS)]
    _, runs = run_query(path, "SELECT run_id, kind, state, pages_fetched FROM ingest_runs ORDER BY 1")
    assert runs == [("backfill", "backfill", "completed", 40), ("ingest", "ingest", "completed", 40)]
    _, pages = run_query(path, "SELECT count(*), count(DISTINCT content_hash) FROM pages")
    assert pages == [(80, 70)]

    reads = json.loads(out.read_text())
    counts = [r[0] for r in reads]
    assert all(r[0] == r[1] for r in reads)  # never a duplicate, not even mid-way
    assert counts == sorted(counts)  # a reader never sees a commit undone
    assert any(0 < c < 70 * ROWS for c in counts)  # it read while the writers were writing
    assert counts[-1] == 70 * ROWS


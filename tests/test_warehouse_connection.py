"""Opening the warehouse: path resolution, missing files, locking across processes."""

from __future__ import annotations

import datetime as dt
import fcntl
import multiprocessing as mp
import os
import time
from pathlib import Path

import duckdb
import pytest

from warehouse import (
    ArticleRow,
    WarehouseBusy,
    WarehouseError,
    WarehouseMissing,
    connect,
    connection,
    merge_items,
    resolve_path,
    run_query,
)
from warehouse.connection import ROW_GROUP_SIZE, lock_path

NOW = dt.datetime(2025, 1, 8, tzinfo=dt.UTC)
SPAWN = mp.get_context("spawn")


def _rows(ids: range) -> list[ArticleRow]:
    return [
        ArticleRow(f"id{i}", "eco-forum", f"https://e.org/{i}", f"t{i}", None, None, f"h{i}")
        for i in ids
    ]


# --- child-process bodies (top level so spawn can import them) ---------------------------

def _writer(path: str, ids_from: int, barrier) -> None:
    barrier.wait(timeout=30)
    # Several short connections each, so the two processes really interleave.
    for chunk in range(5):
        start = ids_from + chunk * 20
        with connect(path, wait_seconds=30) as con:
            merge_items(con, _rows(range(start, start + 30)), run_id=f"w{ids_from}", now=NOW)


def _hold_writer(path: str, holding, seconds: float) -> None:
    with connect(path) as con:
        holding.set()
        time.sleep(seconds)
        merge_items(con, _rows(range(100, 101)), run_id="slow", now=NOW)


def _hold_raw_duckdb(path: str, holding, seconds: float) -> None:
    con = duckdb.connect(path)  # an outside client: no flock, only DuckDB's own file lock
    holding.set()
    time.sleep(seconds)
    con.close()


def _start(target, *args) -> mp.process.BaseProcess:
    proc = SPAWN.Process(target=target, args=args)
    proc.start()
    return proc


# --- tests --------------------------------------------------------------------------------

def test_resolve_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWS_INGEST_WAREHOUSE", raising=False)
    assert resolve_path(None) == Path("data/warehouse.duckdb")
    monkeypatch.setenv("NEWS_INGEST_WAREHOUSE", "/srv/wh.duckdb")
    assert resolve_path(None) == Path("/srv/wh.duckdb")
    assert resolve_path("x/y.duckdb") == Path("x/y.duckdb")


def test_missing_warehouse_read_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "warehouse.duckdb"
    with pytest.raises(WarehouseMissing) as info, connect(path, read_only=True):
        pass
    message = str(info.value)
    assert message == (
        f"no warehouse at {path}: run `news-ingest run` or `news-ingest demo` first"
    )
    with pytest.raises(WarehouseMissing):
        run_query(path, "SELECT 1")
    assert list(tmp_path.iterdir()) == []


def test_writer_creates_directory_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "warehouse.duckdb"
    with connect(path) as con:
        assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    assert path.is_file() and lock_path(path).is_file()
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_text("not a database" * 100)
    with pytest.raises(WarehouseError) as info, connect(path, read_only=True, wait_seconds=1):
        pass
    assert not isinstance(info.value, WarehouseBusy)
    assert "\n" not in str(info.value)


def test_busy_when_lock_held_too_long(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with connect(path):
        pass
    fd = os.open(lock_path(path), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # stands in for another writer
    try:
        started = time.monotonic()
        for read_only in (False, True):
            with pytest.raises(WarehouseBusy) as info, connect(
                path, read_only=read_only, wait_seconds=0.2
            ):
                pass
            assert str(lock_path(path)) in str(info.value)
            assert "\n" not in str(info.value)
        assert time.monotonic() - started < 3
    finally:
        os.close(fd)


def test_two_writer_processes_both_land(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    barrier = SPAWN.Barrier(2)
    # ids 0..109 and 50..159 overlap on 50..109
    procs = [_start(_writer, str(path), 0, barrier), _start(_writer, str(path), 50, barrier)]
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    _, rows = run_query(path, "SELECT count(*), count(DISTINCT article_id) FROM articles")
    assert rows == [(160, 160)]


def test_reader_waits_for_writer_process(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    holding = SPAWN.Event()
    proc = _start(_hold_writer, str(path), holding, 1.0)
    try:
        assert holding.wait(30)
        started = time.monotonic()
        _, rows = run_query(path, "SELECT article_id FROM articles", wait_seconds=20)
        waited = time.monotonic() - started
    finally:
        proc.join(30)
    assert proc.exitcode == 0
    assert rows == [("id100",)]  # it saw the writer's commit, so it really waited
    assert waited > 0.5


def test_outside_duckdb_client_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with connect(path):
        pass
    holding = SPAWN.Event()
    proc = _start(_hold_raw_duckdb, str(path), holding, 1.5)
    try:
        assert holding.wait(30)
        with pytest.raises(WarehouseBusy, match="another program"), connect(
            path, wait_seconds=0.2
        ):
            pass
        with connect(path, wait_seconds=20) as con:  # retries until the client lets go
            assert merge_items(con, _rows(range(3)), run_id="r", now=NOW).inserted == 3
    finally:
        proc.join(30)
    assert proc.exitcode == 0


def test_writers_keep_row_groups_small(tmp_path: Path) -> None:
    # Each writer's close checkpoints and rewrites the last row group in memory: our row
    # group size, not DuckDB's 122,880 rows, must bound it, across opens and merges.
    path = tmp_path / "w.duckdb"
    batch = ROW_GROUP_SIZE * 3 // 4
    for start in (0, batch):
        with connect(path) as con:
            merge_items(con, _rows(range(start, start + batch)), run_id="r", now=NOW)
    with connect(path, read_only=True) as con:
        groups = con.execute(
            "SELECT row_group_id, max(count) FROM pragma_storage_info('articles')"
            " WHERE column_name = 'article_id' GROUP BY ALL").fetchall()
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2 * batch,)
    assert len(groups) == 2
    assert max(rows for _, rows in groups) <= ROW_GROUP_SIZE


def test_writer_opens_a_path_with_a_quote(tmp_path: Path) -> None:
    path = tmp_path / "it's" / "w.duckdb"
    with connect(path) as con:
        merge_items(con, _rows(range(3)), run_id="r", now=NOW)
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (3,)


def test_writer_spills_beside_the_warehouse(tmp_path: Path) -> None:
    # Writers open an in-memory DuckDB and attach the file: DuckDB's default would spill to
    # ./.tmp of whatever directory the process runs in.
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert Path(spill) == tmp_path / "w.duckdb.tmp"


def test_writer_close_checkpoints_under_a_memory_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    limit = connection._checkpoint_limit
    monkeypatch.setattr(connection, "_checkpoint_limit", lambda held: seen.append(held) or limit(held))
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        merge_items(con, _rows(range(2000)), run_id="r", now=NOW)
    assert len(seen) == 1 and seen[0] > 0  # capped near what the connection held
    assert not path.with_name("w.duckdb.wal").exists()  # and checkpointed


@pytest.fixture
def attached(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths our writers ATTACH, in order."""
    paths: list[Path] = []
    attach = connection._attach
    monkeypatch.setattr(connection, "_attach", lambda c, p: paths.append(p) or attach(c, p))
    return paths


def test_a_checkpoint_the_cap_fails_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attached: list[Path]
) -> None:
    # Far too tight a cap: DuckDB refuses it, or fails the checkpoint and drops the attached
    # database. The commits are in the WAL; attaching the file again replays and
    # checkpoints them.
    monkeypatch.setattr(connection, "_checkpoint_limit", lambda held: 2**20)
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        merge_items(con, _rows(range(20_000)), run_id="r", now=NOW)
    assert attached == [path, path]  # the capped checkpoint did fail
    assert not path.with_name("w.duckdb.wal").exists()
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles"
                           ).fetchone() == (20_000, 20_000)


def test_a_merge_that_grows_the_wal_past_the_threshold_checkpoints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attached: list[Path]
) -> None:
    monkeypatch.setattr(connection, "_CHECKPOINT_WAL_BYTES", 64 * 1024)
    path = tmp_path / "w.duckdb"
    wal = path.with_name("w.duckdb.wal")
    with connect(path) as con:
        merge_items(con, _rows(range(10)), run_id="r", now=NOW)
        assert wal.exists() and attached == [path]  # under the threshold: left to close()
        # A sort too big for 64 MB spills, after which DuckDB refuses to set the spill
        # directory again: attaching again must keep it as it is.
        con.execute("SET memory_limit = '64MB'")
        con.execute("SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS m FROM range(2000000) t(i)"
                    " ORDER BY m)").fetchall()
        con.execute("RESET memory_limit")
        assert path.with_name("w.duckdb.tmp").is_dir()
        merge_items(con, _rows(range(10, 5000)), run_id="r", now=NOW)
        assert not wal.exists() and attached == [path, path]  # checkpointed, attached again
        # The same connection goes on: the file is the default database again.
        again = merge_items(con, _rows(range(4990, 5010)), run_id="r", now=NOW)
        assert (again.inserted, again.unchanged) == (10, 10)
        assert con.execute("SELECT current_database()").fetchone() == ("warehouse",)
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles"
                           ).fetchone() == (5010, 5010)


def test_checkpoint_if_due_leaves_other_connections_alone(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"  # a reader's database is named after the file
    with connect(path) as con:
        merge_items(con, _rows(range(3)), run_id="r", now=NOW)
    for con in (duckdb.connect(), duckdb.connect(str(path), read_only=True)):
        with con:
            connection.checkpoint_if_due(con)  # neither is a writer of ours: nothing to do
            assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal"
                               ).fetchone() == (1,)


def test_a_failed_checkpoint_after_a_merge_does_not_fail_the_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attached: list[Path]
) -> None:
    class NoCheckpoint:  # forwards everything but CHECKPOINT, which fails (a full disk, say)
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, *args: object) -> object:
            if sql == "CHECKPOINT":
                raise duckdb.IOException("IO Error: no space left on device")
            return self.con.execute(sql, *args)

    monkeypatch.setattr(connection, "_CHECKPOINT_WAL_BYTES", 1)
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        stats = merge_items(NoCheckpoint(con), _rows(range(100)), run_id="r", now=NOW)
        assert stats.inserted == 100 and attached == [path, path]  # attached again anyway
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (100,)
    with connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (100,)

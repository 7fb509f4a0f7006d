"""Opening the warehouse file safely from several processes.

DuckDB lets one process hold a file read-write and then refuses every other open, even
read-only ones, at once. So our own processes first queue on an fcntl.flock of a side file
`<path>.lock` (writers exclusive, readers shared), then open DuckDB, retrying on DuckDB's
own lock error for a while in case an outside client (duckdb CLI, a notebook) holds it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusy, WarehouseError, WarehouseMissing, first_line
from warehouse.migrate import apply_migrations

__all__ = [
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseMissing",
    "checkpoint_if_due",
    "connect",
    "lock_path",
    "resolve_path",
]

DEFAULT_PATH = Path("data/warehouse.duckdb")
ENV_VAR = "NEWS_INGEST_WAREHOUSE"
_POLL_SECONDS = 0.05
# Checkpoints after nearly every commit made merges slow down with table size (NOTES.md);
# a large threshold defers them to close(), an explicit CHECKPOINT or, once the WAL has grown
# past it, the merge that grew it (`checkpoint_if_due`). DuckDB's own automatic checkpoint,
# run inside whichever COMMIT crosses its threshold, stays above ours as a backstop for
# writes that bypass merge_pages.
_CHECKPOINT_WAL_BYTES = 2**30
_DUCKDB_CHECKPOINT_THRESHOLD = "2GiB"
# Rows per row group written by our writers (DuckDB's default is 122,880). Each checkpoint
# (each writer's close) leaves the rows appended since the last one in a small row group,
# and merges runs of small groups into full ones (DuckDB's vacuum), reading and rewriting
# them whole: up to ~3 groups at once, so this bounds the merge by rows. Loads run as fast
# (1M-row load within noise; 8,192 cost 12% more CPU). It is not stored in the file, so
# every writer open passes it.
ROW_GROUP_SIZE = 16_384
# Memory a writer's closing checkpoint may take beyond what the connection already holds.
# The row group bound above is in rows, not bytes: merging page bodies (~2.3 KB a row) took
# +46 MB at 8,000 pages, and a 10,000-page backfill peaked at 1.30x a 1,000-page one.
# Capped, DuckDB evicts what the merge has read as it goes: 1.17x (316 / 270 MB).
_CHECKPOINT_HEADROOM = 16 * 2**20


def resolve_path(cli_value: str | None) -> Path:
    """The warehouse file: the --warehouse value, else $NEWS_INGEST_WAREHOUSE, else the default."""
    if cli_value:
        return Path(cli_value).expanduser()
    env_value = os.environ.get(ENV_VAR, "").strip()
    if env_value:
        return Path(env_value).expanduser()
    return DEFAULT_PATH


def lock_path(path: str | Path) -> Path:
    """The side file our processes flock before opening `path`."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, wait_seconds: float = 30.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the duration of the `with` block.

    Writers (default) create the file and its directory if needed and apply pending
    migrations before yielding. Readers never create anything: a missing file raises
    WarehouseMissing. Either waits up to `wait_seconds` for other holders, then raises
    WarehouseBusy; `on_wait(message)` is called once if it has to wait for our own lock.
    The connection's TimeZone is UTC, so TIMESTAMPTZ values come back in UTC.

    Do not nest two connect() calls for the same file in one process: the inner one waits
    for the outer one's lock and fails with WarehouseBusy.
    """
    path = Path(path)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    if read_only:
        if not path.is_file():
            raise WarehouseMissing(
                f"no warehouse at {path}: run `news-ingest run` or `news-ingest demo` first"
            )
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create directory {path.parent}: {exc.strerror}") from exc

    lock_fd = _acquire_lock(lock_path(path), exclusive=not read_only, deadline=deadline,
                            on_wait=on_wait)
    try:
        con = _open_duckdb(path, read_only=read_only, deadline=deadline)
        try:
            con.execute("SET TimeZone = 'UTC'")
            if not read_only:
                con.execute(f"SET checkpoint_threshold = '{_DUCKDB_CHECKPOINT_THRESHOLD}'")
                apply_migrations(con)
            yield con
            if not read_only:
                _checkpoint(con, path)
        finally:
            con.close()
    finally:
        if lock_fd is not None:
            _release_lock(lock_fd)


def _acquire_lock(lock_file: Path, *, exclusive: bool, deadline: float,
                  on_wait: Callable[[str], None] | None = None) -> int | None:
    """flock `lock_file`, polling until `deadline`; the fd to release, or None if unlockable."""
    fd = _open_lock_file(lock_file, create=exclusive)
    if fd is None:
        return None
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    told = False
    while True:
        try:
            fcntl.flock(fd, mode)
            return fd
        except BlockingIOError:
            if on_wait is not None and not told:  # say so once: a queue, not a hang
                on_wait(f"waiting for the warehouse: another writer holds {lock_file}")
                told = True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise WarehouseError(f"cannot lock {lock_file}: {exc.strerror}") from exc
        if time.monotonic() >= deadline:
            os.close(fd)
            raise WarehouseBusy(
                f"warehouse is busy: another news-ingest process holds {lock_file};"
                " try again later"
            )
        time.sleep(_POLL_SECONDS)


def _open_lock_file(lock_file: Path, *, create: bool) -> int | None:
    if create:
        try:
            return os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise WarehouseError(f"cannot open lock file {lock_file}: {exc.strerror}") from exc
    # Readers: a shared flock works on a read-only fd, so read-only directories still work.
    # If the lock file cannot be had at all (a file copied from elsewhere into a read-only
    # place), read without it: DuckDB's own lock still refuses to read mid-write.
    try:
        return os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        return os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return None


def _release_lock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def checkpoint_if_due(con: duckdb.DuckDBPyConnection) -> None:
    """After a commit on a writer from `connect`: once the WAL has passed 1 GiB, checkpoint
    and attach the file again; anything else is left alone.

    Why attach again: DuckDB 2.0 does not cache the decoded state of string segments a
    checkpoint has just written (DICT_FSST) until the file is attached anew, so every later
    read of them decodes again. A long-lived writer's merges then read the replaced rows'
    summaries 8x slower: 3,000 rows from 700k took 33 ms a merge instead of 4 (1M-row load
    bench: 21-24 s -> 19-20 s). DuckDB's own automatic checkpoint runs inside a COMMIT and
    leaves no such chance, hence ours first. Uncapped, unlike close(): such a writer holds
    its uncheckpointed rows anyway, and the cap cost the checkpoint 0.5-0.8 s more.
    """
    found = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = 'warehouse' AND NOT readonly"
    ).fetchone()
    if found is None or not found[0]:
        return  # not one of our writers (an in-memory database in tests)
    path = Path(found[0])
    try:
        wal_bytes = path.with_name(path.name + ".wal").stat().st_size
    except FileNotFoundError:
        return
    if wal_bytes >= _CHECKPOINT_WAL_BYTES:
        # A failed checkpoint must not fail the merge already committed: the WAL holds it,
        # attaching again replays it, and close() checkpoints again.
        with contextlib.suppress(duckdb.Error):
            con.execute("CHECKPOINT")
        _reattach(con, path)


def _checkpoint(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """CHECKPOINT (what close() would run) with memory capped near what is held already.

    Should the cap be too tight, DuckDB refuses it, or fails the checkpoint before it
    touches the file's header and drops the attached database; the WAL still holds every
    commit. Attaching the file again replays it, and the checkpoint runs uncapped.
    """
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    try:
        con.execute(f"SET memory_limit = '{_checkpoint_limit(int(held or 0))}B'")
        con.execute("CHECKPOINT")
        return
    except duckdb.Error:
        pass
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET memory_limit")
    _reattach(con, path)
    con.execute("CHECKPOINT")


def _checkpoint_limit(held: int) -> int:
    return held + _CHECKPOINT_HEADROOM


def _attach_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to `path`: an in-memory database with the file attached."""
    con = duckdb.connect()
    try:
        _attach(con, path)
        # An in-memory instance would spill to ./.tmp of whatever directory we run in. Set
        # once: DuckDB refuses to switch it after it has been used.
        spill = str(path.with_name(path.name + ".tmp")).replace("'", "''")
        con.execute(f"SET temp_directory = '{spill}'")
    except BaseException:
        con.close()
        raise
    return con


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """ATTACH `path` with our row group size and make it the default, so unqualified names
    resolve in it."""
    quoted = str(path).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
    con.execute("USE warehouse")


def _reattach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Detach the file and attach it again on the same connection (our flock is still held);
    its temp tables and settings, the spill directory among them, stay."""
    con.execute("USE memory")
    con.execute("DETACH warehouse")
    _attach(con, path)


def _open_duckdb(path: Path, *, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
    while True:
        try:
            if read_only:
                return duckdb.connect(str(path), read_only=True)
            return _attach_writer(path)
        except duckdb.IOException as exc:
            message = str(exc)
            if "Could not set lock" not in message:
                raise WarehouseError(first_line(exc)) from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"warehouse is busy: another program has {path} open"
                    " (a duckdb client?); close it and try again"
                ) from exc
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from exc
        time.sleep(_POLL_SECONDS)

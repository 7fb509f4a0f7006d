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
    "connect",
    "lock_path",
    "resolve_path",
]

DEFAULT_PATH = Path("data/warehouse.duckdb")
ENV_VAR = "NEWS_INGEST_WAREHOUSE"
_POLL_SECONDS = 0.05
# Checkpoints after nearly every commit made merges slow down with table size (NOTES.md);
# a large threshold defers them to close() or an explicit CHECKPOINT.
_CHECKPOINT_THRESHOLD = "1GB"
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
                con.execute(f"SET checkpoint_threshold = '{_CHECKPOINT_THRESHOLD}'")
                apply_migrations(con)
            yield con
            if not read_only:
                con = _checkpoint(con, path)
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


def _checkpoint(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """CHECKPOINT (what close() would run) with memory capped near what is held already;
    the connection to close afterwards.

    Should the cap be too tight, DuckDB fails the checkpoint before it touches the file's
    header and drops the attached database; the WAL still holds every commit. A fresh
    attach replays it and checkpoints uncapped.
    """
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    try:
        con.execute(f"SET memory_limit = '{_checkpoint_limit(int(held or 0))}B'")
        con.execute("CHECKPOINT")
        return con
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET memory_limit")
        con.close()
    con = _attach_writer(path)
    con.execute("CHECKPOINT")
    return con


def _checkpoint_limit(held: int) -> int:
    return held + _CHECKPOINT_HEADROOM


def _attach_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to `path` with our row group size: the file ATTACHed to an
    in-memory database and made the default, so unqualified names resolve in it."""
    con = duckdb.connect()
    try:
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute("USE warehouse")
        # An in-memory instance would spill to ./.tmp of whatever directory we run in.
        spill = str(path.with_name(path.name + ".tmp")).replace("'", "''")
        con.execute(f"SET temp_directory = '{spill}'")
    except BaseException:
        con.close()
        raise
    return con


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

"""Upgrading warehouses made by older versions in place, and refusing what cannot be upgraded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import warehouse
import warehouse.migrate
from warehouse import (
    ArticleRow,
    PageRecord,
    WarehouseError,
    archived_pages,
    connect,
    get_run,
    merge_items,
    run_query,
)
from warehouse.migrate import Migration, available_migrations, schema_version

T0 = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
MIGRATIONS = Path(warehouse.__file__).parent / "migrations"

# What the first release wrote: migration 001 and its ledger, nothing else.
V1_LEDGER = "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR,"\
    " applied_at TIMESTAMPTZ)"
V1_ROWS = {
    "articles": [
        ("a1", "eco", "https://e.org/1", "One", dt.date(2024, 5, 30), "s1", "h1", T0, T1, T0,
         "run1", "run2"),
        ("a2", "eco", None, "Two", None, None, "h2", T0, T0, T0, "run1", "run1"),
    ],
    "article_versions": [
        ("a1", "eco", "https://e.org/1", "One (old)", dt.date(2024, 5, 30), None, "h0", T0, T1,
         "run2"),
    ],
    "ingest_runs": [
        ("run1", "flow-1", "ingest", "eco", T0, T0, "completed", 2, 0, 3, 2, 0, 0, 1, None),
        ("run2", None, "backfill", "eco", T1, T1, "partial", 1, 1, 1, 0, 1, 0, 0, "page 2: 503"),
    ],
    "quarantine": [
        ("q1", "run1", "eco", "https://e.org/list", "no title", None, "https://e.org/9",
         "2024-05-30", "<li></li>", T0),
    ],
}


def make_v1_warehouse(path: Path) -> None:
    """A warehouse exactly as the first release left it, with a row in every table."""
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(V1_LEDGER)
        con.execute((MIGRATIONS / "001_initial.sql").read_text(encoding="utf-8"))
        con.execute("INSERT INTO schema_migrations VALUES (1, 'initial', ?)", [T0])
        for table, rows in V1_ROWS.items():
            marks = ", ".join(["?"] * len(rows[0]))
            con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    finally:
        con.close()


def test_v1_warehouse_is_upgraded_in_place_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_warehouse(path)

    with connect(path) as con:
        versions = con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert versions == [(1,), (2,), (3,)]
        # Old rows, column for column, with the new columns at their defaults.
        assert con.execute("SELECT * FROM articles ORDER BY article_id").fetchall() == V1_ROWS["articles"]
        assert con.execute("SELECT * FROM article_versions").fetchall() == V1_ROWS["article_versions"]
        runs = con.execute("SELECT * FROM ingest_runs ORDER BY run_id").fetchall()
        assert runs == [row + (0,) for row in V1_ROWS["ingest_runs"]]  # pages_not_modified
        assert get_run(con, "run2").pages_not_modified == 0  # type: ignore[union-attr]
        assert con.execute("SELECT * FROM quarantine").fetchall() == [
            V1_ROWS["quarantine"][0] + (None,)  # page_id
        ]
        assert con.execute("SELECT count(*) FROM pages").fetchone() == (0,)

        # The upgraded file works like a new one: the page archive, the views.
        page = PageRecord(run_id="run3", source="eco", url="https://e.org/list", fetched_at=T1,
                          status=200, body=b"<html/>")
        merge_items(con, [ArticleRow("a3", "eco", "https://e.org/3", "Three", None, None, "h3")],
                    run_id="run3", now=T1, page=page)
        assert [p.body for p in archived_pages(con)] == [b"<html/>"]

    _, fresh = run_query(path, "SELECT source, articles, last_success, last_failure,"
                         " last_failure_error FROM source_freshness")
    assert fresh == [("eco", 3, T0, T1, "page 2: 503")]
    with connect(path) as con:  # nothing left to apply the second time
        assert schema_version(con) == 3
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone() == (3,)


def test_v1_warehouse_for_a_reader_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_warehouse(path)
    # A read never writes, so it sees version 1 until a writer opens the file.
    assert run_query(path, "SELECT max(version) FROM schema_migrations")[1] == [(1,)]


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.duckdb"
    make_v1_warehouse(path)
    broken = Migration(4, "broken", "CREATE TABLE half_made (x INTEGER);"
                                    " ALTER TABLE articles ADD COLUMN extra INTEGER;"
                                    " SELECT * FROM no_such_table;")
    shipped = available_migrations()
    monkeypatch.setattr(warehouse.migrate, "available_migrations", lambda: [*shipped, broken])

    with pytest.raises(WarehouseError, match=r"^migration 004_broken failed: Catalog Error"), \
            connect(path):
        pass
    monkeypatch.undo()
    with connect(path) as con:
        # 2 and 3 committed one by one before 4 failed; 4 left no table, column or ledger row.
        assert schema_version(con) == 3
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "half_made" not in tables
        columns = {r[0] for r in con.execute("DESCRIBE articles").fetchall()}
        assert "extra" not in columns
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)


def test_a_warehouse_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        con.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', now())")
    with pytest.raises(WarehouseError, match=r"schema is version 99, newer than .* \(3\)"), \
            connect(path):
        pass
    # Reading still works: a newer schema only adds.
    assert run_query(path, "SELECT count(*) FROM articles")[1] == [(0,)]


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in available_migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) >= 3

"""Read-only queries, output formats and Parquet export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from warehouse import (
    ArticleRow,
    WarehouseError,
    connect,
    export_parquet,
    format_rows,
    merge_items,
    run_query,
)

NOW = dt.datetime(2025, 1, 8, 2, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("q") / "warehouse.duckdb"
    rows = [
        ArticleRow("a1", "eco-forum", "https://e.org/1", "生态文明贵阳国际论坛2025年年会开幕",
                   dt.date(2025, 1, 8), "摘要, with \"quotes\"\nand a newline", "h1"),
        ArticleRow("a2", "eco-forum", None, "Second", None, None, "h2"),
    ]
    with connect(path) as con:
        merge_items(con, rows, run_id="r1", now=NOW)
    return path


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("INSERT INTO articles (article_id) VALUES ('x')", "INSERT"),
        ("DELETE FROM articles", "DELETE"),
        ("UPDATE articles SET title = 'x'", "UPDATE"),
        ("CREATE TABLE t (a INT)", "CREATE"),
        ("DROP TABLE articles", "DROP"),
        ("ATTACH 'other.duckdb'", "ATTACH"),
        ("COPY articles TO 'x.csv'", "COPY"),
        ("PRAGMA version", "PRAGMA"),
        ("SET threads = 1", "SET"),
    ],
)
def test_refuses_writes(wh: Path, sql: str, kind: str) -> None:
    with pytest.raises(WarehouseError) as info:
        run_query(wh, sql)
    assert str(info.value) == (
        f"query is read-only: only SELECT statements are allowed (got {kind})"
    )


def test_refuses_multiple_statements(wh: Path) -> None:
    with pytest.raises(WarehouseError, match=r"one statement at a time \(got 2\)"):
        run_query(wh, "SELECT 1; DELETE FROM articles")
    with pytest.raises(WarehouseError, match="query is empty"):
        run_query(wh, "  ;  ")


def test_writes_inside_select_fail_on_read_only_connection(wh: Path) -> None:
    # Parses as SELECT; the read-only connection is what stops it.
    with pytest.raises(WarehouseError):
        run_query(wh, "WITH d AS (DELETE FROM articles RETURNING *) SELECT * FROM d")
    assert run_query(wh, "SELECT count(*) FROM articles")[1] == [(2,)]


def test_select_explain_and_params(wh: Path) -> None:
    cols, rows = run_query(
        wh, "SELECT article_id, published_date FROM articles WHERE source = ? ORDER BY 1;",
        ["eco-forum"],
    )
    assert cols == ["article_id", "published_date"]
    assert rows == [("a1", dt.date(2025, 1, 8)), ("a2", None)]
    cols, rows = run_query(wh, "EXPLAIN SELECT * FROM articles")
    assert rows
    assert run_query(wh, "DESCRIBE articles")[1]


def test_duckdb_errors_are_one_line(wh: Path) -> None:
    with pytest.raises(WarehouseError) as info:
        run_query(wh, "SELECT * FROM nope")
    assert str(info.value).startswith("Catalog Error: Table with name nope does not exist")
    assert "\n" not in str(info.value)
    with pytest.raises(WarehouseError) as info:
        run_query(wh, "SELEC 1")
    assert str(info.value).startswith("Parser Error")
    assert "\n" not in str(info.value)


def test_format_table(wh: Path) -> None:
    cols, rows = run_query(wh, "SELECT article_id, title, summary FROM articles ORDER BY 1")
    out = format_rows(cols, rows, "table")
    lines = out.splitlines()
    assert lines[0].split(" | ")[0].strip() == "article_id"
    assert set(lines[1]) <= {"-", "+"}
    assert lines[-1] == "(2 rows)"
    assert "NULL" in lines[3]
    assert "\nand" not in out  # newline inside a value is flattened
    # CJK is two columns wide: the separators line up on every row.
    assert lines[2].index(" | ") == lines[3].index(" | ")

    long = format_rows(["x"], [("a" * 100,), (7,)], "table").splitlines()
    assert long[2] == "a" * 59 + "…"
    assert format_rows(["n"], [(1,)], "table").splitlines()[-1] == "(1 row)"
    assert format_rows(["n"], [], "table").splitlines()[-1] == "(0 rows)"


def test_format_csv(wh: Path) -> None:
    cols, rows = run_query(wh, "SELECT article_id, summary, first_seen_at FROM articles ORDER BY 1")
    out = format_rows(cols, rows, "csv")
    parsed = list(csv.reader(io.StringIO(out)))
    assert parsed[0] == ["article_id", "summary", "first_seen_at"]
    assert parsed[1] == ["a1", "摘要, with \"quotes\"\nand a newline", NOW.isoformat()]
    assert parsed[2] == ["a2", "", NOW.isoformat()]


def test_format_json(wh: Path) -> None:
    cols, rows = run_query(
        wh, "SELECT article_id, title, published_date, first_seen_at, 1.5::DECIMAL(4,2) AS d"
        " FROM articles ORDER BY 1",
    )
    out = format_rows(cols, rows, "json")
    assert "生态文明" in out  # ensure_ascii=False
    data = json.loads(out)
    assert data[0] == {
        "article_id": "a1",
        "title": "生态文明贵阳国际论坛2025年年会开幕",
        "published_date": "2025-01-08",
        "first_seen_at": "2025-01-08T02:30:00+00:00",
        "d": "1.50",
    }
    assert data[1]["published_date"] is None
    assert json.loads(format_rows(["d"], [(Decimal("2"),)], "json")) == [{"d": "2"}]


def test_unknown_format() -> None:
    with pytest.raises(WarehouseError, match="unknown format 'xml'"):
        format_rows(["a"], [], "xml")


def test_export_parquet(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "it's here" / "a.parquet"
    out.parent.mkdir()
    n = export_parquet(wh, "SELECT article_id, title FROM articles -- trailing comment", out)
    assert n == 2
    got = duckdb.sql(f"SELECT * FROM read_parquet('{str(out).replace(chr(39), chr(39) * 2)}')"
                     " ORDER BY 1").fetchall()
    assert [r[0] for r in got] == ["a1", "a2"]
    with pytest.raises(WarehouseError, match=r"only SELECT statements are allowed \(got DELETE\)"):
        export_parquet(wh, "DELETE FROM articles", out)
    with pytest.raises(WarehouseError, match=r"\(got EXPLAIN\)"):
        export_parquet(wh, "EXPLAIN SELECT 1", out)

"""The documented views, SCHEMA.md staying in step with them, and `news-ingest stats`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

import warehouse
from warehouse import (
    ArticleRow,
    WarehouseError,
    WarehouseMissing,
    connect,
    finish_run,
    merge_items,
    run_query,
    start_run,
    stats_report,
)
from warehouse.report import bar, month_chart

T0 = dt.datetime(2025, 3, 1, 6, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
SCHEMA_MD = Path(warehouse.__file__).parent / "SCHEMA.md"


def art(n: int, source: str, day: dt.date | None) -> ArticleRow:
    return ArticleRow(f"{source}-{n}", source, f"https://{source}.org/{n}", f"title {n}", day,
                      None, f"h{n}")


def run(con: duckdb.DuckDBPyConnection, run_id: str, source: str, start: dt.datetime,
        state: str | None, error: str | None = None, kind: str = "ingest") -> None:
    start_run(con, run_id=run_id, flow_run_id=None, kind=kind, source=source, started_at=start)
    if state:
        finish_run(con, run_id, state=state, ended_at=start + H, error=error)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("views") / "w.duckdb"
    with connect(path) as con:
        merge_items(con, [art(1, "eco", dt.date(2025, 2, 27)), art(2, "eco", dt.date(2025, 2, 28)),
                          art(3, "eco", dt.date(2025, 2, 28)), art(4, "eco", None)],
                    run_id="e1", now=T0)
        merge_items(con, [art(1, "gov", dt.date(2025, 2, 28))], run_id="g1", now=T0 + H)
        run(con, "e1", "eco", T0, "completed")
        run(con, "e2", "eco", T0 + 2 * H, "failed", "site down")
        run(con, "e3", "eco", T0 + 4 * H, "partial", "page 3: 503")
        run(con, "e4", "eco", T0 + 6 * H, "completed")
        run(con, "e5", "eco", T0 + 8 * H, None)  # still running (or killed): neither
        # Reparses never contact the site: they say nothing about its freshness.
        run(con, "e6", "eco", T0 + 9 * H, "completed", kind="reparse")
        run(con, "e7", "eco", T0 + 10 * H, "failed", "parser bug", kind="reparse")
        run(con, "g1", "gov", T0, "completed")
        run(con, "n1", "new", T0, "failed", "DNS error")  # never brought an article
    return path


def test_latest_articles_newest_first(wh: Path) -> None:
    _, rows = run_query(wh, "SELECT article_id, published_date FROM latest_articles")
    # Same day: the one first seen later comes first; undated last.
    assert rows == [("gov-1", dt.date(2025, 2, 28)), ("eco-2", dt.date(2025, 2, 28)),
                    ("eco-3", dt.date(2025, 2, 28)), ("eco-1", dt.date(2025, 2, 27)),
                    ("eco-4", None)]


def test_articles_per_source_day(wh: Path) -> None:
    _, rows = run_query(wh, "SELECT * FROM articles_per_source_day")
    assert rows == [("eco", dt.date(2025, 2, 28), 2), ("eco", dt.date(2025, 2, 27), 1),
                    ("eco", None, 1), ("gov", dt.date(2025, 2, 28), 1)]


def test_source_freshness(wh: Path) -> None:
    cols, rows = run_query(wh, "SELECT * FROM source_freshness")
    assert cols == ["source", "articles", "newest_date", "last_seen_at", "last_success",
                    "last_failure", "last_failure_error"]
    assert rows == [
        ("eco", 4, dt.date(2025, 2, 28), T0, T0 + 7 * H, T0 + 5 * H, "page 3: 503"),
        ("gov", 1, dt.date(2025, 2, 28), T0 + H, T0 + H, None, None),
        ("new", 0, None, None, None, T0 + H, "DNS error"),
    ]


def _documented() -> dict[str, set[str]]:
    """{table or view: columns} from the `### \\`name\\`` sections of SCHEMA.md."""
    found: dict[str, set[str]] = {}
    current = None
    for line in SCHEMA_MD.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### `(\w+)`", line)
        if heading:
            current = heading.group(1)
            found[current] = set()
        elif current and (cell := re.match(r"^\| `(\w+)` \|", line)):
            found[current].add(cell.group(1))
    return found


def test_schema_md_documents_every_table_view_and_column(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        relations = con.execute(
            "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()"
            " WHERE database_name = current_database() AND schema_name = 'main'"
            " AND NOT internal GROUP BY table_name"
        ).fetchall()
    actual = {name: set(columns) for name, columns in relations}
    assert {"articles", "pages", "page_bodies", "source_freshness"} <= set(actual)
    assert _documented() == actual


def test_bar_scales_to_forty_columns() -> None:
    assert bar(100, 100) == "█" * 40
    assert bar(50, 100) == "█" * 20
    assert bar(1, 100) == "▍"  # 0.4 cells: 3 eighths
    assert bar(1, 1000) == "▏"  # far below one eighth, still visible
    assert bar(0, 100) == ""
    assert bar(33, 100) == "█" * 13 + "▎"  # 13.2 cells: 106 eighths
    assert bar(3, 8, width=4) == "█▌"


def test_month_chart_marks_gaps() -> None:
    lines = month_chart([(dt.date(2024, 11, 1), 4), (dt.date(2025, 2, 1), 10)])
    assert lines == [
        "2024-11  4 │" + "█" * 16,
        "      ⋮ (2 months without articles)",
        "2025-02 10 │" + "█" * 40,
    ]
    assert month_chart([]) == []


def test_stats_report(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    # 30 months of articles, the oldest 6 of which fall outside the chart; 2024-05 has none.
    months = [dt.date(2022 + (m // 12), m % 12 + 1, 1) for m in range(30)]
    months.remove(dt.date(2024, 5, 1))
    with connect(path) as con:
        n = 0
        for i, month in enumerate(months):
            count = 2 if month == dt.date(2023, 12, 1) else 1
            rows = []
            for _ in range(count):
                rows.append(art(n, "eco", month + dt.timedelta(days=3)))
                n += 1
            merge_items(con, rows, run_id="r", now=T0 + i * H)
        merge_items(con, [art(999, "eco", None)], run_id="r", now=T0)
        run(con, "r", "eco", T0, "failed", "boom\nsecond line of a traceback")
        con.execute("INSERT INTO quarantine (quarantine_id, reason, quarantined_at)"
                    " VALUES ('q', 'no title', now())")

    out = stats_report(path)
    lines = out.splitlines()
    assert lines[0].startswith("31 articles from 1 source, 1 in quarantine, 0 archived pages")
    header = next(line for line in lines if line.startswith("source"))
    assert header.split(" | ")[:3] == ["source", "articles", "newest_date"]
    eco = next(line for line in lines if line.startswith("eco "))
    cells = [c.strip() for c in eco.split("|")]
    assert cells[:3] == ["eco", "31", "2024-06-04"]
    assert cells[-1] == "boom"  # a multi-line error shows its first line

    chart = [line for line in lines if re.match(r"^\d{4}-\d{2} ", line)]
    assert len(chart) == 24
    assert chart[0].startswith("2022-06 ") and chart[-1].startswith("2024-06 ")
    by_month = {line[:7]: line for line in chart}
    assert by_month["2023-12"] == "2023-12 2 │" + "█" * 40  # the peak fills the width
    assert by_month["2022-06"] == "2022-06 1 │" + "█" * 20
    assert "2024-05" not in by_month and "2022-05" not in by_month
    assert "      ⋮ (1 month without articles)" in lines
    assert lines[-1] == "(1 article without a date not shown)"
    assert "UTC" in eco and "+00:00" not in out


def test_stats_report_empty_missing_and_old(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with pytest.raises(WarehouseMissing):
        stats_report(path)
    with connect(path):
        pass
    out = stats_report(path)
    assert out.splitlines()[0].startswith("0 articles from 0 sources")
    assert "(no dated articles yet)" in out

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE articles (article_id VARCHAR)")
    con.close()
    with pytest.raises(WarehouseError, match="schema version 0, stats needs 3: any write"):
        stats_report(old)

"""`news-ingest stats`: per-source counts and freshness, and articles per month as a bar chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from warehouse.connection import connect
from warehouse.errors import WarehouseError, first_line
from warehouse.migrate import schema_version
from warehouse.query import format_rows

BAR_WIDTH = 40  # columns the longest bar takes
MONTHS = 24  # most recent months with articles that the chart shows
_EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")  # partial blocks, 1/8 to 7/8 of a cell
_FULL = "█"
_NEEDS_VERSION = 3  # source_freshness arrives with migration 003

_FRESHNESS = """
SELECT source, articles, newest_date, last_seen_at, last_success, last_failure,
       last_failure_error
FROM source_freshness ORDER BY source
"""
_TOTALS = """
SELECT (SELECT count(*) FROM articles),
       (SELECT count(*) FROM articles WHERE published_date IS NULL),
       (SELECT count(*) FROM quarantine),
       (SELECT count(*) FROM pages),
       (SELECT coalesce(sum(octet_length(body)), 0) FROM page_bodies)
"""
_PER_MONTH = f"""
SELECT date_trunc('month', published_date)::DATE AS month, count(*) AS articles
FROM articles
WHERE published_date IS NOT NULL
GROUP BY month
ORDER BY month DESC
LIMIT {MONTHS}
"""


def stats_report(path: str | Path, *, wait_seconds: float = 10.0) -> str:
    """The text `news-ingest stats` prints for the warehouse at `path` (read-only).

    Raises WarehouseMissing for a missing file, WarehouseBusy if a writer keeps it locked
    past `wait_seconds`, WarehouseError if the file predates the views (a write upgrades it).
    """
    with connect(path, read_only=True, wait_seconds=wait_seconds) as con:
        version = schema_version(con)
        if version < _NEEDS_VERSION:
            raise WarehouseError(
                f"warehouse {path} has schema version {version}, stats needs {_NEEDS_VERSION}:"
                " any write (e.g. `news-ingest run`) upgrades it"
            )
        try:
            cur = con.execute(_FRESHNESS)
            columns = [d[0] for d in cur.description]
            freshness = cur.fetchall()
            totals = con.execute(_TOTALS).fetchone()
            months = con.execute(_PER_MONTH).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(first_line(exc)) from exc
    assert totals is not None  # an aggregate without GROUP BY always returns a row
    articles, undated, quarantined, pages, stored = totals

    lines = [
        f"{articles} articles from {len(freshness)} source{'' if len(freshness) == 1 else 's'},"
        f" {quarantined} in quarantine, {pages} archived pages ({_size(stored)} stored)",
        "",
    ]
    if freshness:
        shown = [tuple(_short(v) for v in row) for row in freshness]
        lines += [format_rows(columns, shown, "table"), ""]
    lines.append("Articles per month (published date, all sources)")
    if months:
        lines += month_chart(list(reversed(months)))
    else:
        lines.append("(no dated articles yet)")
    if undated:
        lines.append(f"({undated} article{'' if undated == 1 else 's'} without a date not shown)")
    return "\n".join(lines)


def month_chart(counts: list[tuple[dt.date, int]], width: int = BAR_WIDTH) -> list[str]:
    """One line per (month, count), oldest first; the largest count fills `width` columns.

    Counts are drawn in eighths of a block; any non-zero count shows at least one eighth.
    Months skipped between two rows (no articles) get a marker line, so gaps stay visible.
    """
    if not counts:
        return []
    peak = max(n for _, n in counts) or 1
    digits = len(str(peak))
    out: list[str] = []
    previous: dt.date | None = None
    for month, n in counts:
        if previous is not None:
            skipped = (month.year - previous.year) * 12 + month.month - previous.month - 1
            if skipped > 0:
                out.append(f"{'⋮':>7} ({skipped} month{'' if skipped == 1 else 's'} without articles)")
        out.append(f"{month:%Y-%m} {n:>{digits}} │{bar(n, peak, width)}")
        previous = month
    return out


def bar(value: int, peak: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` scaled so that `peak` is `width` full blocks."""
    if value <= 0 or peak <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / peak))
    return _FULL * (eighths // 8) + _EIGHTHS[eighths % 8]


def _short(value: Any) -> Any:
    # Minutes are enough to judge freshness; microseconds and +00:00 only widen the table.
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, str):  # an error may carry a traceback: its first line says what
        return value.strip().split("\n", 1)[0]
    return value


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"

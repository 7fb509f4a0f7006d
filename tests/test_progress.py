"""Backfill progress: a bar on a terminal, periodic plain lines otherwise."""

from __future__ import annotations

import io

from flows import progress
from flows.config import load_sources
from flows.crawl import backfill_plan, run_source


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_redrawn_in_place():
    out = Terminal()
    bar = progress.Progress("backfill x pages 1-4", 4, stream=out)
    bar.page(items=10)
    bar.page(failed=True)
    bar.close()
    frames = out.getvalue().split("\r")[1:]
    assert frames[0] == "backfill x pages 1-4 " + "█" * 8 + "·" * 22 + " 1/4 pages, 10 items, 0 errors"
    assert frames[-1].endswith(" 2/4 pages, 10 items, 1 errors\n")


def test_a_log_gets_plain_lines_now_and_then(mirror_server, sources_file, warehouse_path):
    out = io.StringIO()
    items = mirror_server.mirror.items
    since = items[35].date
    progress.start(progress.Progress("backfill mirror", None, stream=out, every_seconds=0))
    try:
        run_source(load_sources(sources_file)["mirror"], backfill_plan(since=since),
                   warehouse=warehouse_path)
    finally:
        progress.stop()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0] == f"backfill mirror: 1 pages, reached {items[0].date}, 10 items, 0 errors"
    assert lines[-1].startswith("backfill mirror: ") and ", 0 errors" in lines[-1]
    assert len(lines) >= 5  # one per page (every_seconds=0), and a last one


def test_nothing_shows_unless_started(mirror_server, sources_file, warehouse_path, capsys):
    run_source(load_sources(sources_file)["mirror"], backfill_plan(pages="1-2"),
               warehouse=warehouse_path)
    assert capsys.readouterr().err == ""

"""The news-ingest command as people use it: subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.config import load_sources
from flows.crawl import Plan, run_source
from flows.mirror import load_seed


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def loaded(mirror_server, sources_file, warehouse_path):
    """A warehouse with pages 1-2 of the mirror in it."""
    run_source(load_sources(sources_file)["mirror"], Plan(kind="backfill", last_page=2),
               warehouse=warehouse_path)
    return warehouse_path


@pytest.mark.parametrize("args", [
    ["run", "--source", "nope"],
    ["backfill", "--source", "nope", "--pages", "1-2"],
    ["backfill", "--source", "mirror", "--since", "2025-01-08", "--until", "2025-01-01"],
    ["backfill", "--source", "mirror", "--pages", "3-x"],
    ["backfill", "--source", "mirror", "--pages", "4-2"],
    ["backfill", "--source", "mirror"],
    ["backfill", "--source", "mirror", "--since", "08/01/2025"],
    ["run", "--sources", "BROKEN"],
    ["run", "--sources", "MISSING"],
    ["query", "delete from articles"],
    ["query", "select * from no_such_table"],
    ["query", "select 1", "--format", "parquet"],
    ["frobnicate"],
])
def test_bad_input_is_one_line_and_leaves_the_warehouse_alone(args, loaded, sources_file, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources.x]\nstart_url = 'https://e.org/'\nparser = 'ecoforum'\nspeed = 3\n")
    args = [str(broken) if a == "BROKEN" else str(tmp_path / "none.toml") if a == "MISSING" else a
            for a in args]
    before = digest(loaded)
    out = cli("--warehouse", str(loaded), "--sources", str(sources_file), *args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr
    assert digest(loaded) == before
    assert "prefect" not in out.stderr.lower()


def test_query_formats(loaded, tmp_path):
    out = cli("--warehouse", str(loaded), "query", "select count(*) as n from articles")
    assert out.returncode == 0 and "20" in out.stdout
    out = cli("--warehouse", str(loaded), "query", "--format", "json",
              "select title, published_date from articles order by published_date desc, title"
              " limit 2")
    data = json.loads(out.stdout)
    assert data[0]["published_date"] == "2025-01-08"
    target = tmp_path / "a.parquet"
    out = cli("--warehouse", str(loaded), "query", "select * from articles", "--format", "parquet",
              "--output", str(target))
    assert out.returncode == 0 and target.read_bytes()[:4] == b"PAR1"


def test_query_without_a_warehouse_says_what_to_do(tmp_path):
    out = cli("--warehouse", str(tmp_path / "none.duckdb"), "query", "select 1")
    assert out.returncode == 2 and "news-ingest demo" in out.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_commands_that_run_no_flow_do_not_import_prefect(loaded, sources_file):
    code = ("import sys; from flows.cli import main; rc = main(sys.argv[1:]);"
            " assert 'prefect' not in sys.modules, 'prefect imported'; sys.exit(rc)")
    for args in (["query", "select 1"], ["sources"], ["stats"]):
        out = subprocess.run([sys.executable, "-c", code, "--warehouse", str(loaded), "--sources",
                              str(sources_file), *args], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_sources_show_health_and_stats_a_chart(loaded, sources_file):
    out = cli("--warehouse", str(loaded), "--sources", str(sources_file), "sources")
    assert out.returncode == 0, out.stderr
    header, _, row = out.stdout.splitlines()[:3]
    assert "last_success" in header and "last_failure" in header and "stale_days" in header
    cells = [c.strip() for c in row.split("|")]
    assert cells[:3] == ["mirror", "yes", "ecoforum"] and cells[4] == "20" and cells[5] == "2025-01-08"
    assert cells[7].endswith("UTC") and cells[8] == "NULL"
    out = cli("--warehouse", str(loaded), "stats")
    assert out.returncode == 0 and "mirror" in out.stdout and "2025-01-08" in out.stdout
    assert "Articles per month" in out.stdout and "█" in out.stdout


def test_sources_check_shows_what_the_parser_finds_live(mirror_server, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(mirror_server.source_toml("mirror") + mirror_server.source_toml("guess")
                    .replace('"ecoforum"', '"auto"'), encoding="utf-8")
    out = cli("--sources", str(path), "sources", "--check", "mirror")
    assert out.returncode == 0, out.stderr
    assert "生态环境部气候司相关负责人就《产品碳足迹核算标准编制工作指引》答记者问" in out.stdout
    assert "2025-01-08" in out.stdout and "list_2.html" in out.stdout
    out = cli("--sources", str(path), "sources", "--check", "guess")
    assert out.returncode == 0, out.stderr
    assert "[sources.guess.selectors]" in out.stdout
    out = cli("--sources", str(path), "sources", "--check", "nope")
    assert out.returncode == 2 and out.stderr.startswith("error: unknown source 'nope'")


@pytest.mark.slow
def test_demo_twice_loads_the_seed_items_once(tmp_path):
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    env = {"PREFECT_HOME": str(tmp_path / "prefect")}
    first = cli("demo", "--warehouse", str(warehouse), env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    _, seed = load_seed()
    for item in seed:
        assert item.title in first.stdout
    out = cli("--warehouse", str(warehouse), "query", "--format", "json",
              "select title, published_date from articles order by published_date desc,"
              " first_seen_at limit 10")
    got = {(r["title"], r["published_date"]) for r in json.loads(out.stdout)}
    assert got == {(i.title, i.date.isoformat()) for i in seed}
    total = cli("--warehouse", str(warehouse), "query", "select count(*) from articles").stdout
    second = cli("demo", "--warehouse", str(warehouse), env=env, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert cli("--warehouse", str(warehouse), "query", "select count(*) from articles").stdout == total


def test_report_exits_1_unless_the_run_completed(loaded, capsys):
    from types import SimpleNamespace

    from flows.cli import _report

    def state(completed: bool):
        return SimpleNamespace(state_details=SimpleNamespace(flow_run_id="none"),
                               is_completed=lambda: completed, message="mirror: partial")

    assert _report(state(True), loaded) == 0
    assert _report(state(False), loaded) == 1
    assert "error: run did not complete: mirror: partial" in capsys.readouterr().err

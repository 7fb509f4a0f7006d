"""Shared pieces of the crawl, idle and memory benchmarks.

- ``FastMirror``: the offline mirror with each page rendered once, so the local server
  (which shares the 2 cores with the crawler being timed) costs as little as possible
  and the same for every crawler.
- ``write_sources``: a sources.toml for a mirror, politeness off.
- ``run_scrapy``: the peer, a Scrapy spider with the same extraction as the ``ecoforum``
  parser, run as its own process (``python bench/_crawl_helpers.py scrapy ...``).
- ``phase_timer``: sums where an in-process ``run_source`` spends its time.
- small table and statistics helpers.

Run only through bench/crawl_bench.py, idle_bench.py and memory_bench.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python bench/NAME.py` from the checkout
    sys.path.insert(0, str(ROOT))

from _peers import median, result, table  # noqa: E402,F401 (re-exported to the crawl benches)

from flows.mirror import Mirror, MirrorServer  # noqa: E402

SOURCE = "bench-mirror"
BIN = Path(sys.executable).parent

# Quiet, offline Prefect for the CLI subprocesses (as the Makefile sets them).
PREFECT_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LOGGERS_PREFECT_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "WARNING",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "WARNING",
}


class FastMirror(Mirror):
    """The mirror, each page rendered once (it never changes during a benchmark)."""

    def __init__(self, older_pages: int = 20, page_size: int = 10) -> None:
        super().__init__(older_pages=older_pages, page_size=page_size)
        self._rendered: dict[int, bytes] = {}

    def render_page(self, page: int) -> bytes:
        body = self._rendered.get(page)
        if body is None:
            body = self._rendered[page] = super().render_page(page)
        return body

    def prerender(self) -> None:
        for n in range(1, self.page_count + 1):
            self.render_page(n)


def mirror_with_pages(pages: int, page_size: int = 20) -> FastMirror:
    """A mirror with exactly ``pages`` listing pages of ``page_size`` items (10 on the last)."""
    mirror = FastMirror(older_pages=max(0, pages - 1), page_size=page_size)
    assert mirror.page_count == pages, (mirror.page_count, pages)
    mirror.prerender()
    return mirror


@contextlib.contextmanager
def serve(mirror: Mirror) -> Iterator[MirrorServer]:
    with MirrorServer(mirror) as server:
        yield server


@contextlib.contextmanager
def serve_in_child(pages: int) -> Iterator[SimpleNamespace]:
    """The mirror served by a child process, for crawls timed inside this process (a server
    in the same process would compete with the crawler for the GIL)."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", str(pages)],
                            stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        yield SimpleNamespace(**urls)
    finally:
        proc.kill()
        proc.wait()


def _serve_main(pages: int) -> None:
    with serve(mirror_with_pages(pages)) as server:
        print(json.dumps({"start_url": server.start_url, "page_url": server.page_url}), flush=True)
        sys.stdin.read()  # until the parent closes it (or kills us)


def write_sources(path: Path, server: MirrorServer, *, concurrency: int = 16, delay: float = 0.0,
                  obey_robots: bool = False, max_pages: int = 100) -> Path:
    path.write_text(
        f'[sources.{SOURCE}]\nstart_url = "{server.start_url}"\npage_url = "{server.page_url}"\n'
        f'parser = "ecoforum"\ndelay_seconds = {delay}\nconcurrency = {concurrency}\n'
        f"obey_robots = {'true' if obey_robots else 'false'}\nmax_pages = {max_pages}\n",
        encoding="utf-8",
    )
    return path


def bench_env(prefect_home: Path) -> dict[str, str]:
    """Environment of a CLI subprocess: Prefect ephemeral (no API URL), its own home."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_ENV)
    env["PREFECT_HOME"] = str(prefect_home)
    return env


def timed(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall time of a subprocess; its output is shown only if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed


def run_ours_cli(server_pages: int, sources: Path, warehouse: Path, env: dict[str, str]) -> float:
    return timed([str(BIN / "news-ingest"), "--warehouse", str(warehouse), "--sources", str(sources),
                  "backfill", "--source", SOURCE, "--pages", f"1-{server_pages}"], env=env, cwd=ROOT)


def run_scrapy(server: MirrorServer, pages: int, out: Path) -> float:
    return timed([sys.executable, str(Path(__file__).resolve()), "scrapy", server.start_url,
                  server.page_url, str(pages), str(out)], cwd=ROOT)


# --- the peer -----------------------------------------------------------------------------

def _scrapy_main(start_url: str, page_url: str, pages: int, out: str) -> None:
    """A Scrapy spider over pages 1..N with the ecoforum parser's extraction, to JSON lines."""
    import datetime as dt
    import re

    import scrapy
    from scrapy.crawler import CrawlerProcess

    space = re.compile(r"\s+")

    def text(parts: list[str]) -> str:
        return space.sub(" ", " ".join(parts)).strip()

    class ListingSpider(scrapy.Spider):
        name = "listing"

        async def start(self):  # Scrapy 2.13+: start() instead of start_requests()
            for n in range(1, pages + 1):
                url = start_url if n == 1 else page_url.format(page=n)
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            for li in response.css("div.news-list li"):
                link = li.css("h3 a")
                title = text(link.css("::text").getall())
                if title.endswith("…") and link.attrib.get("title"):  # the same title rule
                    title = text([link.attrib["title"]])
                href = link.attrib.get("href") or li.css("a.more::attr(href)").get()
                raw_date = text(li.css("span.time::text").getall())
                try:
                    date = dt.date.fromisoformat(raw_date).isoformat() if raw_date else None
                except ValueError:
                    date = None
                summary = text(li.css("p.news-summary ::text").getall()) or None
                yield {"title": title, "url": response.urljoin(href) if href else None,
                       "date": date, "summary": summary}

    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "DOWNLOAD_DELAY": 0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "FEEDS": {out: {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
    })
    process.crawl(ListingSpider)
    process.start()


# --- where the time goes --------------------------------------------------------------------

@dataclass
class Phases:
    """Seconds summed over all threads (fetches overlap; merges are serialized)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds
            self.calls[name] = self.calls.get(name, 0) + 1


@contextlib.contextmanager
def phase_timer() -> Iterator[Phases]:
    """Time fetch, parse, merge, and the warehouse open/close around each merge, by wrapping
    the functions ``flows.crawl`` calls (restored afterwards)."""
    import flows.crawl as crawl
    import flows.turns as turns
    import flows.writer as writer
    from flows.fetch import Fetcher

    phases = Phases()

    def wrap(fn, name):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases.add(name, time.perf_counter() - start)
        return wrapper

    real_connect = turns.connect

    @contextlib.contextmanager
    def timed_connect(*args, **kwargs):
        start = time.perf_counter()
        cm = real_connect(*args, **kwargs)
        con = cm.__enter__()
        phases.add("open (lock, connect, migrations check)", time.perf_counter() - start)
        try:
            yield con
        except BaseException:
            if not cm.__exit__(*sys.exc_info()):
                raise
        else:
            start = time.perf_counter()
            cm.__exit__(None, None, None)
            phases.add("close (commit to disk)", time.perf_counter() - start)

    real_get, real_parse, real_merge = Fetcher.get, crawl.parse_listing, writer.merge_pages
    Fetcher.get = wrap(real_get, "fetch")
    crawl.parse_listing = wrap(real_parse, "parse")
    writer.merge_pages = wrap(real_merge, "merge (SQL, in the open file)")
    turns.connect = timed_connect
    try:
        yield phases
    finally:
        Fetcher.get, crawl.parse_listing, writer.merge_pages = real_get, real_parse, real_merge
        turns.connect = real_connect


# --- reporting ---------------------------------------------------------------------------------

def fmt_runs(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def rss_mb_of_children() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "scrapy":
    _scrapy_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "serve":
    _serve_main(int(sys.argv[2]))

"""Politeness shared by every fetch of a process: per-host delay and concurrency, a global
in-flight cap, and robots.txt read once per host."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

log = logging.getLogger("news_ingest.fetch")

# Most requests in flight over all hosts (NEWS_INGEST_MAX_IN_FLIGHT overrides).
DEFAULT_MAX_IN_FLIGHT = 16
# A robots.txt Crawl-delay above this is taken as this, so one file cannot stall a run.
MAX_CRAWL_DELAY = 60.0


@dataclass
class _Host:
    semaphore: threading.BoundedSemaphore
    next_slot: float = 0.0
    in_flight: int = 0
    peak_in_flight: int = field(default=0)


class HostLimiter:
    """Never two request starts to one host closer than its delay, never more in flight
    than its concurrency, never more than ``max_in_flight`` in all.

    A host's concurrency is fixed by the first source that uses it.
    """

    def __init__(self, max_in_flight: int | None = None) -> None:
        limit = max_in_flight or int(os.environ.get("NEWS_INGEST_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT))
        self._global = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str, concurrency: int) -> _Host:
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = _Host(threading.BoundedSemaphore(max(1, concurrency)))
            return self._hosts[host]

    @contextmanager
    def slot(self, host: str, *, delay: float, concurrency: int) -> Iterator[None]:
        h = self._host(host, concurrency)
        # The host's own limit first: a request waiting for its host holds no global slot.
        with h.semaphore, self._global:
            with self._lock:
                now = time.monotonic()
                start = max(now, h.next_slot)
                h.next_slot = start + delay
            if start > now:
                time.sleep(start - now)
            with self._lock:
                h.in_flight += 1
                h.peak_in_flight = max(h.peak_in_flight, h.in_flight)
            try:
                yield
            finally:
                with self._lock:
                    h.in_flight -= 1

    def peak_in_flight(self, host: str) -> int:
        with self._lock:
            return self._hosts[host].peak_in_flight if host in self._hosts else 0


LIMITER = HostLimiter()


class RobotsCache:
    """robots.txt of each host, fetched once (per run: make one cache per run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsers: dict[str, RobotFileParser] = {}
        self._host_locks: dict[str, threading.Lock] = {}

    def rules(self, url: str, fetch_text: Callable[[str], tuple[int, str]]) -> RobotFileParser:
        """The parsed robots.txt of ``url``'s host; ``fetch_text(robots_url)`` -> (status, text)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        with host_lock:  # one fetch per host, even when several threads ask at once
            with self._lock:
                if origin in self._parsers:
                    return self._parsers[origin]
            parser = RobotFileParser(origin + "/robots.txt")
            try:
                status, text = fetch_text(origin + "/robots.txt")
            except Exception as exc:  # unreachable robots.txt: crawl, as Scrapy does, but say so
                log.warning("robots.txt of %s could not be fetched (%s): not applying it", origin, exc)
                status, text = 404, ""
            if status >= 400 or status < 200:
                parser.allow_all = True  # RFC 9309: no robots.txt means no rules
            else:
                parser.parse(text.splitlines())
            with self._lock:
                self._parsers[origin] = parser
            return parser

    def crawl_delay(self, url: str, user_agent: str) -> float:
        parts = urlsplit(url)
        with self._lock:
            parser = self._parsers.get(f"{parts.scheme}://{parts.netloc}")
        delay = parser.crawl_delay(user_agent) if parser else None
        return min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0

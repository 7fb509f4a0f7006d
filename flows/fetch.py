"""HTTP fetching that is polite to sites and survives their faults.

httpx with connect/read timeouts, tenacity retries (transport errors, timeouts, truncated
bodies, 429/500/502/503/504) with exponential backoff, jitter and Retry-After, redirects
followed by hand so they stay on the source's hosts, a streamed body-size cap,
conditional GET, robots.txt, and the per-host limits of ``flows.politeness``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from flows.politeness import LIMITER, HostLimiter, RobotsCache
from parsers.urls import host_of

if TYPE_CHECKING:
    from flows.config import Source

USER_AGENT = "news-ingest/0.1 (listing crawler; +https://pypi.org/project/news-ingest/)"
RETRY_STATUSES = {429, 500, 502, 503, 504}
BLOCKED_STATUSES = {403, 412}
MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# Markers of the JavaScript cookie challenges some (government) sites answer robots with.
# Plain substrings of the lower-cased body first: one case-insensitive regex with these
# alternations cost 0.6 ms on every 20 KB page, a third of a page's whole parse.
_CHALLENGE_MARKERS = (b"__jsl_clearance", b"acw_sc__v2", b"_waf_", b"yunsuo_session",
                      b"cdn-cgi/challenge-platform")
_JUST_A_MOMENT = re.compile(rb"<title>\s*just a moment")
_COOKIE_THEN_RELOAD = re.compile(rb"document\.cookie\s*=.{0,400}?(?:location|reload)", re.DOTALL)
_CHALLENGE_MAX_BYTES = 65536  # challenge pages are small stubs; a real listing is not one


def looks_like_challenge(body: bytes) -> bool:
    """Whether a 200 body is a JavaScript cookie challenge rather than the page."""
    if len(body) >= _CHALLENGE_MAX_BYTES:
        return False
    text = body.lower()
    return (any(marker in text for marker in _CHALLENGE_MARKERS)
            or (b"just a moment" in text and _JUST_A_MOMENT.search(text) is not None)
            or (b"document.cookie" in text and _COOKIE_THEN_RELOAD.search(text) is not None))


@dataclass(frozen=True)
class FetchedPage:
    url: str  # final URL after redirects
    status: int  # 200, or 304 when the stored validators still hold
    body: bytes  # empty for a 304
    fetched_at: dt.datetime  # UTC
    charset: str | None  # from the Content-Type header
    attempts: int
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A page that could not be fetched, after its retries."""

    def __init__(self, url: str, reason: str, attempts: int, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason} (after {attempts} attempt{'s' * (attempts != 1)})")
        self.url, self.reason, self.attempts, self.status = url, reason, attempts, status


class Blocked(FetchError):
    """The site refuses us (403/412 or a JavaScript challenge page): not an outage, not a parse bug."""


class Disallowed(FetchError):
    """robots.txt disallows the page: skipped, not fetched."""


class _Retryable(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.retry_after = status, retry_after


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | _Retryable)


class Fetcher:
    """GET listing pages for one source, politely and with retries.

    ``allowed_hosts``: redirects may only lead to these (compared without ``www.`` and
    port); None allows any host.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        delay: float = 1.0,
        concurrency: int = 2,
        user_agent: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        obey_robots: bool = False,
        robots: RobotsCache | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        limiter: HostLimiter = LIMITER,
    ) -> None:
        self.max_retries = max_retries
        self.delay = delay
        self.concurrency = concurrency
        self.user_agent = user_agent or os.environ.get("NEWS_INGEST_USER_AGENT") or USER_AGENT
        self.allowed_hosts = {host_of(h) for h in allowed_hosts} if allowed_hosts is not None else None
        self.obey_robots = obey_robots
        self.robots = robots or RobotsCache()
        self.max_bytes = max_bytes
        self.max_retry_after = max_retry_after
        self.limiter = limiter
        self._backoff = wait_exponential_jitter(initial=backoff_initial, max=backoff_max,
                                                jitter=backoff_initial)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # by hand, to keep them on the source's hosts
            headers={"User-Agent": self.user_agent, "Accept": "text/html,*/*;q=0.8"},
        )

    @classmethod
    def for_source(cls, source: Source, **overrides: Any) -> Fetcher:
        """A fetcher with a source's settings; ``overrides`` win (tests, `sources --check`)."""
        settings: dict[str, Any] = {
            "timeout": source.timeout_seconds, "max_retries": source.max_retries,
            "delay": source.delay_seconds, "concurrency": source.concurrency,
            "obey_robots": source.obey_robots, "allowed_hosts": source.hosts,
            "user_agent": source.user_agent,
        }
        return cls(**{**settings, **overrides})

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchedPage:
        """The page (or a 304 when ``etag``/``last_modified`` still hold), else FetchError."""
        if self.obey_robots and not self._robots_allow(url):
            raise Disallowed(url, "disallowed by robots.txt: skipped", 0)
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        attempts = 0

        def attempt() -> FetchedPage:
            nonlocal attempts
            attempts += 1
            return self._attempt(url, conditional, attempts)

        retrying = Retrying(retry=retry_if_exception(_retryable),
                            stop=stop_after_attempt(self.max_retries + 1),
                            wait=self._wait, reraise=False)
        try:
            return retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            if isinstance(last, _Retryable):
                raise FetchError(url, str(last), attempts, last.status) from None
            raise FetchError(url, describe(last), attempts) from None
        except httpx.HTTPError as exc:  # not retryable (an invalid URL, say)
            raise FetchError(url, describe(exc), attempts) from None

    def get_text(self, url: str) -> tuple[int, str]:
        """Status and text of a small resource (robots.txt), politely, without retries."""
        with self.limiter.slot(urlsplit(url).hostname or "", delay=self.delay,
                               concurrency=self.concurrency):
            resp = self._client.get(url, follow_redirects=True)
        return resp.status_code, resp.text[:500_000]

    def _robots_allow(self, url: str) -> bool:
        rules = self.robots.rules(url, self.get_text)
        return rules.can_fetch(self.user_agent, url)

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, or the server's Retry-After if longer (capped)."""
        backoff = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return max(backoff, min(exc.retry_after, self.max_retry_after))
        return backoff

    def _attempt(self, url: str, headers: dict[str, str], attempts: int) -> FetchedPage:
        current = url
        host = urlsplit(url).hostname or ""
        delay = self.delay
        if self.obey_robots:
            delay = max(delay, self.robots.crawl_delay(url, self.user_agent))
        for _ in range(MAX_REDIRECTS + 1):
            with (self.limiter.slot(host, delay=delay, concurrency=self.concurrency),
                  self._client.stream("GET", current, headers=headers) as resp):
                status = resp.status_code
                if status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                    nxt = urljoin(current, resp.headers["location"])
                    if self.allowed_hosts is not None and host_of(nxt) not in self.allowed_hosts:
                        raise FetchError(url, f"redirect to another host refused: {nxt}", attempts,
                                         status)
                    current = nxt
                    host = urlsplit(current).hostname or ""
                    continue
                if status in RETRY_STATUSES:
                    raise _Retryable(status, retry_after(resp.headers.get("retry-after")))
                if status == 304:
                    return self._page(current, resp, b"", attempts)
                if status in BLOCKED_STATUSES:
                    raise Blocked(url, f"blocked by the site (HTTP {status})", attempts, status)
                if status >= 400:
                    raise FetchError(url, f"HTTP {status}", attempts, status)
                body = self._read_capped(url, resp, attempts)
            if looks_like_challenge(body):
                raise Blocked(url, "blocked by the site (a JavaScript challenge page)", attempts, status)
            return self._page(current, resp, body, attempts)
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", attempts)

    def _read_capped(self, url: str, resp: httpx.Response, attempts: int) -> bytes:
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(url, f"body of {int(declared)} bytes exceeds the {self.max_bytes}-byte cap",
                             attempts)
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(url, f"body exceeds the {self.max_bytes}-byte cap: aborted", attempts)
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _page(url: str, resp: httpx.Response, body: bytes, attempts: int) -> FetchedPage:
        return FetchedPage(
            url=url,
            status=resp.status_code,
            body=body,
            fetched_at=dt.datetime.now(dt.UTC),
            charset=_charset(resp.headers.get("content-type")),
            attempts=attempts,
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
        )


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def describe(exc: BaseException | None) -> str:
    """An error as one line: its type and the first line of its message."""
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    return msg.get_param("charset")  # type: ignore[return-value]

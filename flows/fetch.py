"""HTTP fetching: httpx with timeouts, tenacity retries, a per-host delay."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

USER_AGENT = "news-ingest/0.1 (+https://github.com/news-ingest; listing crawler)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class FetchedPage:
    url: str  # final URL after redirects
    status: int
    body: bytes
    fetched_at: dt.datetime  # UTC
    charset: str | None  # from the Content-Type header
    attempts: int


class FetchError(Exception):
    """A page that could not be fetched, after its retries."""

    def __init__(self, url: str, reason: str, attempts: int, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason} (after {attempts} attempt{'s' * (attempts != 1)})")
        self.url, self.reason, self.attempts, self.status = url, reason, attempts, status


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | _RetryableStatus)


class HostThrottle:
    """Least time between two requests to one host, shared by every fetcher in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def wait(self, host: str, delay: float) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + delay
        if slot > now:
            time.sleep(slot - now)


THROTTLE = HostThrottle()


class Fetcher:
    """GET listing pages for one source, politely and with retries."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        delay: float = 1.0,
        user_agent: str = USER_AGENT,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        throttle: HostThrottle = THROTTLE,
    ) -> None:
        self.max_retries = max_retries
        self.delay = delay
        self.throttle = throttle
        self._wait = wait_exponential_jitter(initial=backoff_initial, max=backoff_max,
                                             jitter=backoff_initial)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": user_agent, "Accept": "text/html,*/*;q=0.8"},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str) -> FetchedPage:
        """The page, or FetchError once the retries are spent or the answer is final (404...)."""
        attempts = 0

        def attempt() -> FetchedPage:
            nonlocal attempts
            attempts += 1
            self.throttle.wait(urlsplit(url).hostname or "", self.delay)
            resp = self._client.get(url)
            if resp.status_code in RETRY_STATUSES:
                raise _RetryableStatus(resp.status_code)
            if resp.status_code >= 400:
                raise FetchError(url, f"HTTP {resp.status_code}", attempts, resp.status_code)
            return FetchedPage(
                url=str(resp.url),
                status=resp.status_code,
                body=resp.content,
                fetched_at=dt.datetime.now(dt.UTC),
                charset=_charset(resp.headers.get("content-type")),
                attempts=attempts,
            )

        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            reraise=False,
        )
        try:
            return retrying(attempt)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            status = last.status if isinstance(last, _RetryableStatus) else None
            reason = str(last) if isinstance(last, _RetryableStatus) else _describe(last)
            raise FetchError(url, reason, attempts, status) from None
        except httpx.HTTPError as exc:  # not retryable (e.g. too many redirects, bad URL)
            raise FetchError(url, _describe(exc), attempts) from None


def _describe(exc: BaseException | None) -> str:
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

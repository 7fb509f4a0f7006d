"""Fetching: retries with backoff on 5xx/429 and transport errors, none on other 4xx."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.fetch import Fetcher, FetchError
from flows.politeness import HostLimiter


class FlakyServer(ThreadingHTTPServer):
    """Answers each path from a script: a list of statuses, then 200 (or "drop" the connection)."""

    daemon_threads = True

    def __init__(self, script: dict[str, list]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = {k: list(v) for k, v in script.items()}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            self.server.hits[self.path] += 1
            steps = self.server.script.get(self.path, [])
            step = steps.pop(0) if steps else 200
        if step == "drop":
            self.connection.close()
            return
        if isinstance(step, tuple):  # (status, location): a redirect
            self.send_response(step[0])
            self.send_header("Location", step[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = "<html><meta charset='gbk'>页</html>".encode("gbk") if step == 200 else b"no"
        self.send_response(step)
        self.send_header("Content-Type", "text/html; charset=GBK")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(script):
        srv = FlakyServer(script)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def fetcher(**kw) -> Fetcher:
    return Fetcher(delay=0, backoff_initial=0.01, backoff_max=0.05, timeout=5, **kw)


def test_retries_5xx_429_and_dropped_connections_then_succeeds(serve):
    srv = serve({"/a": [503, 500, 429, "drop", 502]})
    with fetcher(max_retries=5) as f:
        page = f.get(srv.url("/a"))
    assert page.status == 200 and page.attempts == 6 and srv.hits["/a"] == 6
    assert page.charset == "GBK" and "页".encode("gbk") in page.body


def test_gives_up_after_max_retries_with_the_reason(serve):
    srv = serve({"/b": [503] * 10})
    with fetcher(max_retries=2) as f, pytest.raises(FetchError) as err:
        f.get(srv.url("/b"))
    assert srv.hits["/b"] == 3
    assert err.value.status == 503 and err.value.attempts == 3
    assert "HTTP 503 (after 3 attempts)" in str(err.value)


def test_other_4xx_are_not_retried(serve):
    srv = serve({"/c": [404]})
    with fetcher(max_retries=4) as f, pytest.raises(FetchError, match="HTTP 404"):
        f.get(srv.url("/c"))
    assert srv.hits["/c"] == 1


def test_connection_refused_is_a_fetch_error():
    with fetcher(max_retries=1) as f, pytest.raises(FetchError, match="ConnectError"):
        f.get("http://127.0.0.1:9/x")


def test_redirects_are_followed_up_to_five(serve):
    srv = serve({"/r": [(302, "/r2")], "/r2": [(301, "/final")],
                 "/loop": [(302, "/loop")] * 20})
    with fetcher() as f:
        assert f.get(srv.url("/r")).url == srv.url("/final")
        with pytest.raises(FetchError, match="more than 5 redirects"):
            f.get(srv.url("/loop"))
    assert srv.hits["/loop"] == 6


def test_the_fetcher_keeps_the_delay_between_requests_to_a_host(serve):
    srv = serve({})
    with Fetcher(delay=0.3, timeout=5, limiter=HostLimiter()) as f:
        start = time.monotonic()
        for path in ("/1", "/2", "/3"):
            f.get(srv.url(path))
        assert time.monotonic() - start >= 0.58


def test_backoff_waits_grow_between_attempts(serve):
    srv = serve({"/slow": [503, 503, 503]})
    with Fetcher(delay=0, timeout=5, backoff_initial=0.2, backoff_max=5, max_retries=3) as f:
        start = time.monotonic()
        f.get(srv.url("/slow"))
        # 0.2 + 0.4 + 0.8 s of backoff at the least (jitter only adds).
        assert time.monotonic() - start >= 1.38


@pytest.mark.parametrize("body", [
    b"<script>var __jsl_clearance='1';</script>",
    b"<script>document.cookie=('acw_sc__v2=' + x);</script>",
    b"<html><head><TITLE> Just a moment...</TITLE></head></html>",
    b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script>",
    b"<script>Document.Cookie = 'a=b'; window.location.reload();</script>",
    b"<html>yunsuo_session_verify</html>",
])
def test_challenge_pages_are_recognised(body):
    from flows.fetch import looks_like_challenge

    assert looks_like_challenge(body)


def test_listing_pages_are_not_challenges():
    from flows.fetch import looks_like_challenge
    from flows.mirror import Mirror

    page = Mirror().render_page(1)
    assert not looks_like_challenge(page)
    # document.cookie alone (a consent banner) is not a challenge; nor is a big page.
    assert not looks_like_challenge(b"<script>document.cookie = 'seen=1';</script>" + page)
    assert not looks_like_challenge(b"__jsl_clearance" + b" " * 70000)

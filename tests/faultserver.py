"""A listing server on 127.0.0.1 that misbehaves on purpose.

It serves the mirror's markup (flows/mirror.py) over N pages and, per path, a script of
faults: each entry is used by one request, then the page is served normally; a
``permanent`` fault answers every request. It logs every request with its start and
end time and counts requests in flight, so tests can measure politeness.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flows.mirror import Mirror

CHALLENGE = (b"<html><head><script>var x='abc';document.cookie='__jsl_clearance=1'+x;"
             b"location.href=location.pathname+location.search</script></head><body></body></html>")


@dataclass
class Hit:
    path: str
    start: float
    end: float = 0.0
    status: int = 0


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pages: int = 30, service_time: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mirror = Mirror(older_pages=pages - 1)
        self.service_time = service_time  # seconds each answer takes (to make requests overlap)
        self.faults: dict[str, list[tuple]] = {}
        self.permanent: dict[str, tuple] = {}
        self.next_links: dict[int, str] = {}  # page -> href of its 下一页 link instead of the real one
        self.robots = b"User-agent: *\nAllow: /\n"
        self.gbk = False  # serve pages as GBK with no charset anywhere
        self.transform: Callable[[str], str] | None = None  # rewrites every page's HTML (site redesigns)
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    # -- the test's side ---------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def page_path(self, n: int) -> str:
        return "/news/list.html" if n == 1 else f"/news/list_{n}.html"

    def fault(self, page: int, *faults: tuple) -> None:
        self.faults.setdefault(self.page_path(page), []).extend(faults)

    def source_toml(self, name: str = "faulty", **settings: object) -> str:
        lines = [f"[sources.{name}]", f'start_url = "{self.base}/news/list.html"',
                 f'page_url = "{self.base}/news/list_{{page}}.html"', 'parser = "ecoforum"']
        for key, value in settings.items():
            shown = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
            lines.append(f"{key} = {shown}")
        return "\n".join(lines) + "\n"

    def page_hits(self) -> list[Hit]:
        return [h for h in self.hits if h.path.startswith("/news/list")]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        hit = Hit(self.path, time.monotonic())
        with srv.lock:
            srv.hits.append(hit)
            srv.in_flight += 1
            srv.peak_in_flight = max(srv.peak_in_flight, srv.in_flight)
            script = srv.faults.get(self.path)
            fault = script.pop(0) if script else srv.permanent.get(self.path)
        try:
            if srv.service_time:
                time.sleep(srv.service_time)
            hit.status = self._answer(fault)
        finally:
            with srv.lock:
                srv.in_flight -= 1
            hit.end = time.monotonic()

    def _answer(self, fault: tuple | None) -> int:
        srv = self.server
        if self.path == "/robots.txt":
            return self._send(200, srv.robots, "text/plain")
        page = self._page_number()
        if page is None:
            return self._send(404, b"not found", "text/html")
        kind = fault[0] if fault else None
        if kind == "status":  # ("status", code, {headers})
            headers = fault[2] if len(fault) > 2 else {}
            return self._send(fault[1], b"<html>error</html>", "text/html", headers)
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return 0
        if kind == "stall":
            time.sleep(fault[1])
        if kind == "redirect":
            return self._send(302, b"", "text/html", {"Location": fault[1]})
        if kind == "challenge":
            return self._send(200, CHALLENGE, "text/html; charset=utf-8")
        body = self._render(page)
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", None, {"ETag": etag})
        ctype = "text/html" if srv.gbk else "text/html; charset=utf-8"
        if kind == "truncate":  # promise the whole body, send half, hang up
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return 200
        return self._send(200, body, ctype, {"ETag": etag})

    def _page_number(self) -> int | None:
        path = self.path.split("?")[0]
        if path == "/news/list.html":
            return 1
        num = path.removeprefix("/news/list_").removesuffix(".html")
        pages = self.server.mirror.page_count
        if path.startswith("/news/list_") and num.isdigit() and 2 <= int(num) <= pages:
            return int(num)
        return None

    def _render(self, page: int) -> bytes:
        srv = self.server
        html = srv.mirror.render_page(page).decode("utf-8")
        if page in srv.next_links:
            real = f"list_{page + 1}.html"
            html = html.replace(f'class="next" href="{real}"', f'class="next" href="{srv.next_links[page]}"')
        if srv.transform:
            html = srv.transform(html)
        if srv.gbk:
            return html.replace('<meta charset="utf-8">', "").encode("gbk", errors="replace")
        return html.encode("utf-8")

    def _send(self, status: int, body: bytes, ctype: str | None, headers: dict | None = None) -> int:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        return status

    def log_message(self, *args: object) -> None:
        pass

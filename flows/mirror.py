"""Offline mirror of the Eco Forum Global Guiyang news listing.

The real site cannot be reached from here, so the demo and the tests read this
mirror instead: page 1 holds the ten seed items (``mirror_seed.json``, copied from
the text of one real page), older pages continue back in time with generated
items. The markup imitates a Chinese CMS listing: declared charset, relative
detail links, a ``下一页`` link, ``list_N.html`` page URLs, and navigation,
"hot news" sidebar and footer links that are not items.

The state is mutable (``publish``, ``retitle``) so tests can play a site that
moves on between two runs.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

PAGE_SIZE = 10
LISTING_PATH = "/news/list.html"
PAGE_PATH = "/news/list_{page}.html"

_SUBJECTS = ["生态环境部", "贵州省", "贵阳市", "国家发展改革委", "自然资源部", "水利部",
             "生态文明贵阳国际论坛秘书处", "中国科学院", "联合国环境规划署", "国家林草局"]
_ACTIONS = ["发布", "召开", "部署", "启动", "印发", "推进", "举办", "解读", "签署", "通报"]
_TOPICS = ["大气污染防治", "长江保护修复", "生物多样性保护", "碳达峰碳中和", "绿色低碳转型",
           "土壤污染治理", "乌江流域生态保护", "国家公园建设", "塑料污染治理", "湿地保护",
           "清洁取暖", "生态产品价值实现", "“无废城市”建设", "石漠化综合治理"]
_KINDS = ["工作方案", "专题会议", "行动计划", "典型案例", "新闻发布会", "合作备忘录",
          "年度报告", "现场推进会", "实施意见", "国际研讨会"]


@dataclass
class MirrorItem:
    item_id: int
    title: str
    summary: str
    date: dt.date

    @property
    def path(self) -> str:
        """Site path of the detail page (the listing links to it relatively)."""
        d = self.date
        return f"/news/content/{d:%Y-%m}/{d:%d}/content_{self.item_id}.html"


def load_seed() -> tuple[str, list[MirrorItem]]:
    """The site name and the ten items of the real page, newest first."""
    raw = json.loads(resources.files("flows").joinpath("mirror_seed.json").read_text("utf-8"))
    items = [
        MirrorItem(9000 - i, it["title"], it["summary"], dt.date.fromisoformat(it["date"]))
        for i, it in enumerate(raw["items"])
    ]
    return raw["site"], items


def generate_older(after: MirrorItem, count: int, seed: int = 20250108) -> list[MirrorItem]:
    """Deterministic items older than ``after``, newest first; some share a date."""
    rng = random.Random(seed)
    items: list[MirrorItem] = []
    item_id = after.item_id
    # ~1.4 days an item; big mirrors (benchmarks) step slower so the listing spans at most
    # ~20 years and every date stays one a parser accepts.
    scale = min(1.0, 20 * 365 / (1.4 * max(count, 1)))
    back = 0.0
    for _ in range(count):
        back += rng.choice([0, 1, 1, 2, 3]) * scale
        day = after.date - dt.timedelta(days=int(back))
        item_id -= 1
        subject, action = rng.choice(_SUBJECTS), rng.choice(_ACTIONS)
        topic, kind = rng.choice(_TOPICS), rng.choice(_KINDS)
        title = f"{subject}{action}{topic}{kind}"
        summary = (f"{day.month}月{day.day}日,{subject}{action}{topic}{kind}。"
                   f"会议强调,要坚持系统观念,统筹推进{topic}各项工作,"
                   f"确保{rng.randint(2, 9)}项重点任务按期完成。")
        items.append(MirrorItem(item_id, title, summary, day))
    return items


class Mirror:
    """The listing's current state; thread-safe, rendered on every request."""

    def __init__(self, older_pages: int = 20, page_size: int = PAGE_SIZE) -> None:
        self.site, seed = load_seed()
        self.page_size = page_size
        self._items = seed + generate_older(seed[-1], older_pages * page_size)
        self._lock = threading.Lock()

    @property
    def items(self) -> list[MirrorItem]:
        with self._lock:
            return list(self._items)

    @property
    def page_count(self) -> int:
        with self._lock:
            return max(1, -(-len(self._items) // self.page_size))

    def publish(self, title: str, summary: str, date: dt.date) -> MirrorItem:
        """A new item appears at the top of page 1; every older item shifts down."""
        with self._lock:
            item = MirrorItem(max(i.item_id for i in self._items) + 1, title, summary, date)
            self._items.insert(0, item)
            return item

    def retitle(self, item_id: int, title: str) -> None:
        with self._lock:
            for item in self._items:
                if item.item_id == item_id:
                    item.title = title
                    return
        raise KeyError(item_id)

    def page_items(self, page: int) -> list[MirrorItem]:
        with self._lock:
            start = (page - 1) * self.page_size
            return list(self._items[start : start + self.page_size])

    def find(self, item_id: int) -> MirrorItem | None:
        with self._lock:
            return next((i for i in self._items if i.item_id == item_id), None)

    def render_page(self, page: int) -> bytes:
        return render_listing(self.site, self.page_items(page), page, self.page_count,
                              hot=self.page_items(1)[:5]).encode("utf-8")


def page_href(page: int) -> str:
    return "list.html" if page == 1 else f"list_{page}.html"


def render_listing(site: str, items: list[MirrorItem], page: int, pages: int,
                   hot: list[MirrorItem]) -> str:
    """The listing page's HTML, as the CMS template writes it."""
    e = html.escape
    rows = []
    for it in items:
        # Links are relative to /news/, as the CMS writes them.
        href = it.path.removeprefix("/news/")
        rows.append(f"""
      <li class="clearfix">
        <div class="news-txt">
          <h3><a href="{e(href)}" target="_blank" title="{e(it.title)}">{e(it.title)}</a></h3>
          <p class="news-summary">{e(it.summary)}</p>
          <div class="news-bottom">
            <a class="more" href="{e(href)}" target="_blank">详情</a>
            <span class="time">{it.date.isoformat()}</span>
          </div>
        </div>
      </li>""")
    # The sidebar cuts long titles short and keeps the whole one in title=.
    side = "".join(
        f'<li><a href="{e(it.path)}" title="{e(it.title)}">'
        f"{e(it.title[:14] + '…' if len(it.title) > 14 else it.title)}</a></li>"
        for it in hot
    )
    pager = [f'<a href="{page_href(1)}">首页</a>']
    if page > 1:
        pager.append(f'<a href="{page_href(page - 1)}">上一页</a>')
    for n in range(max(1, page - 2), min(pages, page + 2) + 1):
        pager.append(f'<span class="current">{n}</span>' if n == page
                     else f'<a href="{page_href(n)}">{n}</a>')
    if page < pages:
        pager.append(f'<a class="next" href="{page_href(page + 1)}">下一页</a>')
    else:
        pager.append('<span class="disabled">下一页</span>')
    pager.append(f'<a href="{page_href(pages)}">尾页</a>')
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>新闻资讯 - {e(site)}</title>
<link rel="stylesheet" href="/static/css/style.css">
<script type="text/javascript">var _hmt = _hmt || []; document.title = "新闻资讯";</script>
</head>
<body>
<div class="header">
  <div class="logo"><a href="/index.html"><img src="/static/img/logo.png" alt="{e(site)}"></a></div>
  <ul class="nav">
    <li><a href="/index.html">首页</a></li>
    <li><a href="/about/index.html">论坛简介</a></li>
    <li class="on"><a href="/news/list.html">新闻资讯</a></li>
    <li><a href="/meeting/index.html">年会专题</a></li>
    <li><a href="/en/index.html">English</a></li>
  </ul>
</div>
<div class="crumb">当前位置：<a href="/index.html">首页</a> &gt; <a href="list.html">新闻资讯</a></div>
<div class="main clearfix">
  <div class="left">
    <div class="news-list">
      <ul>{"".join(rows)}
      </ul>
    </div>
    <div class="page">{" ".join(pager)}</div>
  </div>
  <div class="right">
    <div class="hot"><h4>热点新闻</h4><ul>{side}</ul></div>
    <div class="links"><h4>友情链接</h4><ul>
      <li><a href="https://www.mee.gov.cn/">生态环境部</a></li>
      <li><a href="https://www.guizhou.gov.cn/">贵州省人民政府</a></li>
      <li><a href="javascript:void(0)">更多</a></li>
    </ul></div>
  </div>
</div>
<div class="footer">
  <p><a href="/about/contact.html">联系我们</a> | <a href="/sitemap.html">网站地图</a>
  | <a href="mailto:office@example.invalid">投稿邮箱</a></p>
  <p>版权所有 {e(site)}秘书处 黔ICP备00000000号</p>
</div>
</body>
</html>
"""


def render_detail(item: MirrorItem) -> bytes:
    e = html.escape
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(item.title)}</title>'
            f"</head><body><h1>{e(item.title)}</h1><p>{item.date.isoformat()}</p>"
            f"<div>{e(item.summary)}</div></body></html>").encode()


class _Handler(BaseHTTPRequestHandler):
    server: _MirrorHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.log.append(self.path)
        status, body, ctype = self.server.route(self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass


class _MirrorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mirror: Mirror) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mirror = mirror
        self.log: list[str] = []

    def route(self, path: str) -> tuple[int, bytes, str]:
        html_type = "text/html; charset=utf-8"
        path = path.split("?", 1)[0]
        if path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", "text/plain"
        if path == LISTING_PATH:
            return 200, self.mirror.render_page(1), html_type
        if path.startswith("/news/list_") and path.endswith(".html"):
            num = path.removeprefix("/news/list_").removesuffix(".html")
            if num.isdigit() and 2 <= int(num) <= self.mirror.page_count:
                return 200, self.mirror.render_page(int(num)), html_type
        if path.startswith("/news/content/") and "content_" in path:
            num = path.rsplit("content_", 1)[1].removesuffix(".html")
            item = self.mirror.find(int(num)) if num.isdigit() else None
            if item is not None and item.path == path:
                return 200, render_detail(item), html_type
        return 404, b"<html><body><h1>404 Not Found</h1></body></html>", html_type


class MirrorServer:
    """Serves a Mirror on 127.0.0.1 (a free port) in a background thread.

    >>> with MirrorServer() as srv:
    ...     srv.start_url   # http://127.0.0.1:PORT/news/list.html
    """

    def __init__(self, mirror: Mirror | None = None) -> None:
        self.mirror = mirror or Mirror()
        self._httpd = _MirrorHTTPServer(self.mirror)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def start_url(self) -> str:
        return self.base_url + LISTING_PATH

    @property
    def page_url(self) -> str:
        """The ``page_url`` template for sources.toml (page N >= 2)."""
        return self.base_url + PAGE_PATH

    @property
    def requests(self) -> list[str]:
        """Paths requested so far, in order."""
        return list(self._httpd.log)

    @property
    def page_requests(self) -> list[str]:
        """Requests of listing pages (robots.txt left out)."""
        return [p for p in self._httpd.log if p != "/robots.txt"]

    def source_toml(self, name: str = "eco-forum-mirror") -> str:
        """A sources.toml table that points at this server."""
        return (f'[sources.{name}]\nstart_url = "{self.start_url}"\n'
                f'page_url = "{self.page_url}"\nparser = "ecoforum"\n'
                f"delay_seconds = 0.0\nmax_pages = 100\n")

    def __enter__(self) -> MirrorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

"""The built-in parser against the mirror's markup, and the parser CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from flows.mirror import Mirror, load_seed
from parsers import parse_listing
from parsers.text import clean_text

URL = "http://news.example.org/news/list.html"
FETCHED = dt.datetime(2025, 1, 9, 2, 0, tzinfo=dt.UTC)


# The ten items of the real page (shared/seed/listing-page.txt), as a reader sees them.
REAL_PAGE = [
    ("生态环境部气候司相关负责人就《产品碳足迹核算标准编制工作指引》答记者问", "2025-01-08"),
    ("六载砥砺凝聚国际共识,引领共建地球生命共同体", "2024-12-31"),
    ("204亿!财政部提前下达2025年大气污染防治资金预算", "2024-12-24"),
    ("生态环境部部长黄润秋会见法国议员代表团", "2024-12-24"),
    ("【IUCN报告系列】恢复生态系统,降低干旱风险", "2024-12-19"),
    ("媒体纵览 | 创新交流合作机制 打造绿色丝绸之路“智”基石(新华社)", "2024-12-19"),
    ("生态环境部气候司相关负责人就《煤层气(煤矿瓦斯)排放标准》答记者问", "2024-12-12"),
    ("生态环境部部长黄润秋会见巴基斯坦旁遮普省首席部长玛里雅姆", "2024-12-12"),
    ("绿色丝路与国际合作暨“一带一路”生态环保大数据服务平台国际研讨会在广州举办", "2024-12-10"),
    ("生态环境部部长黄润秋会见瑙鲁教育、气候变化、土地管理部长阿皮", "2024-12-10"),
]


def test_page_one_is_the_real_page():
    page = parse_listing(Mirror().render_page(1), URL, parser="ecoforum", fetched_at=FETCHED)
    assert [(i.title, i.date.isoformat()) for i in page.items] == REAL_PAGE
    assert page.items[3].summary.startswith("12月19日,生态环境部部长黄润秋在京会见法国参议院")
    assert page.items[9].summary.endswith("双方围绕应对气候变化领域合作等议题进行深入交流。")


def test_page_one_holds_the_ten_seed_items_in_order():
    mirror = Mirror()
    page = parse_listing(mirror.render_page(1), URL, parser="ecoforum", fetched_at=FETCHED)
    _, seed = load_seed()
    assert len(seed) == 10
    assert [i.title for i in page.items] == [s.title for s in seed]
    assert [i.date for i in page.items] == [s.date for s in seed]
    assert [i.summary for i in page.items] == [clean_text(s.summary) for s in seed]
    assert page.items[0].title == "生态环境部气候司相关负责人就《产品碳足迹核算标准编制工作指引》答记者问"
    assert page.items[0].date == dt.date(2025, 1, 8)
    # Relative detail links resolve against the page URL; sidebar/nav/footer links are not items.
    first = seed[0]
    assert page.items[0].url == f"http://news.example.org{first.path}"
    assert all(i.url and i.url.startswith("http://news.example.org/news/content/")
               for i in page.items)
    assert page.next_url == "http://news.example.org/news/list_2.html"
    assert page.encoding == "utf-8"


def test_older_pages_continue_back_in_time_and_the_last_has_no_next():
    mirror = Mirror(older_pages=20)
    assert mirror.page_count == 21
    seen, previous_oldest = set(), dt.date(2025, 1, 8)
    for n in range(1, 22):
        page = parse_listing(mirror.render_page(n), URL.replace("list.html", f"list_{n}.html"),
                             parser="ecoforum", fetched_at=FETCHED)
        assert len(page.items) == 10
        dates = [i.date for i in page.items]
        assert dates == sorted(dates, reverse=True) and dates[0] <= previous_oldest
        previous_oldest = dates[-1]
        seen.update(i.url for i in page.items)
        assert (page.next_url is None) == (n == 21)
    assert len(seen) == 210


def test_mirror_is_deterministic():
    assert Mirror().render_page(7) == Mirror().render_page(7)


def test_base_href_and_truncated_title_attribute():
    html = """<html><head><meta charset="utf-8"><base href="https://cdn.example.org/site/"></head>
    <body><div class="news-list"><ul><li>
      <h3><a href="a/1.html" title="完整的标题很长很长很长">完整的标题…</a></h3>
      <p class="news-summary">  摘要\u3000文字 </p>
      <div class="news-bottom"><a class="more" href="a/1.html">详情</a><span class="time">[01-08]</span></div>
    </li></ul></div><div class="page"><a href="list_2.html">下一页</a></div></body></html>"""
    page = parse_listing(html.encode(), "https://example.org/news/list.html", parser="ecoforum",
                         fetched_at=FETCHED)
    (item,) = page.items
    assert item.title == "完整的标题很长很长很长"
    assert item.url == "https://cdn.example.org/site/a/1.html"
    assert item.summary == "摘要 文字"
    assert item.date == dt.date(2025, 1, 8)  # year from the fetch date
    assert page.next_url == "https://cdn.example.org/site/list_2.html"


def test_parser_cli_prints_items_as_json(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(Mirror().render_page(1))
    out = subprocess.run([sys.executable, "-m", "parsers", str(path), "--url", URL,
                          "--today", "2025-01-09"], capture_output=True, text=True, check=True)
    items = json.loads(out.stdout)
    assert len(items) == 10
    assert set(items[0]) == {"title", "url", "date", "summary"}
    assert items[0]["date"] == "2025-01-08"
    assert items[0]["url"].startswith("http://news.example.org/news/content/2025-01/08/")


def test_parser_cli_bad_input_is_one_line(tmp_path):
    for args in (["missing.html", "--url", URL], [str(tmp_path), "--url", URL]):
        out = subprocess.run([sys.executable, "-m", "parsers", *args], capture_output=True,
                             text=True)
        assert out.returncode != 0
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_title_is_the_heading_and_the_link_the_first_real_one():
    html = """<div class="news-list"><ul>
      <li><h3>没有链接的标题</h3><a class="more" href="a/1.html">详情</a>
          <span class="time">2025-01-08</span></li>
      <li><h3><a href="javascript:void(0)">脚本链接的标题</a></h3><a class="more" href="a/2.html">详情</a>
          <span class="time">2025-01-07</span></li>
    </ul></div>"""
    page = parse_listing(html.encode(), "https://e.org/news/list.html", parser="ecoforum",
                         fetched_at=FETCHED)
    assert [(i.title, i.url) for i in page.items] == [
        ("没有链接的标题", "https://e.org/news/a/1.html"),
        ("脚本链接的标题", "https://e.org/news/a/2.html"),
    ]
    assert page.next_url is None


def test_parser_cli_unknown_timezone_is_one_line(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(Mirror().render_page(1))
    out = subprocess.run([sys.executable, "-m", "parsers", str(path), "--url", URL,
                          "--timezone", "Mars/Base"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("error: unknown time zone")
    assert "Traceback" not in out.stderr


def test_parser_cli_today_resolves_month_day_dates(tmp_path):
    path = tmp_path / "page.html"
    path.write_text('<div class="news-list"><ul><li><h3><a href="a/1.html">标题</a></h3>'
                    '<span class="time">[01-08]</span></li></ul></div>', encoding="utf-8")
    for today, expected in (("2025-01-05", "2024-01-08"), ("2025-01-08", "2025-01-08"),
                            ("2025-01-07T16:30:00+00:00", "2025-01-08")):  # 00:30 in Shanghai
        out = subprocess.run([sys.executable, "-m", "parsers", str(path), "--url", URL,
                              "--today", today], capture_output=True, text=True, check=True)
        assert json.loads(out.stdout)[0]["date"] == expected, today

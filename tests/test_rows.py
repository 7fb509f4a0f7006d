"""Items -> rows: identity, content hash, quarantine reasons."""

from __future__ import annotations

import datetime as dt

from flows.rows import article_id, content_hash, to_rows
from parsers import Item

FETCHED = dt.datetime(2025, 1, 8, 20, 0, tzinfo=dt.UTC)  # 2025-01-09 04:00 in Shanghai
HOSTS = ("news.example.org",)


def test_identity_is_host_relative_and_ignores_tracking_and_fragments():
    a = Item("标题", "http://news.example.org:8080/a/1.html?utm_source=x#top", dt.date(2025, 1, 8))
    b = Item("另一个标题", "https://NEWS.example.org/a/1.html", dt.date(2025, 1, 7))
    c = Item("标题", "https://other.example.org/a/1.html", dt.date(2025, 1, 8))
    assert article_id("s", HOSTS, a) == article_id("s", HOSTS, b)
    assert article_id("s", HOSTS, a) != article_id("s", HOSTS, c)
    assert article_id("s", HOSTS, a) != article_id("t", HOSTS, a)


def test_linkless_items_fall_back_to_title_and_date():
    a = Item(" 标题\u3000一 ", None, dt.date(2025, 1, 8))
    assert article_id("s", HOSTS, a) == article_id("s", HOSTS, Item("标题 一", None, dt.date(2025, 1, 8)))
    assert article_id("s", HOSTS, a) != article_id("s", HOSTS, Item("标题 一", None, dt.date(2025, 1, 7)))
    assert article_id("s", HOSTS, a) != article_id("s", HOSTS, Item("标题 二", None, dt.date(2025, 1, 8)))


def test_content_hash_covers_title_date_summary_not_the_link():
    base = Item("t", "http://a/1", dt.date(2025, 1, 8), "s")
    assert content_hash(base) == content_hash(Item("t", "http://b:81/1", dt.date(2025, 1, 8), "s"))
    for changed in (Item("t2", "http://a/1", dt.date(2025, 1, 8), "s"),
                    Item("t", "http://a/1", dt.date(2025, 1, 9), "s"),
                    Item("t", "http://a/1", dt.date(2025, 1, 8), "s2")):
        assert content_hash(changed) != content_hash(base)


def test_items_that_cannot_be_rows_are_quarantined_with_a_reason():
    items = [
        Item("好的", "http://news.example.org/1.html", dt.date(2025, 1, 9)),  # today, local
        Item("明天的", "http://news.example.org/2.html", dt.date(2025, 1, 10)),  # a day ahead: ok
        Item("", "http://news.example.org/3.html", dt.date(2025, 1, 8)),
        Item("日期坏了", "http://news.example.org/4.html", None, raw_date="2025-02-30"),
        Item("未来的", "http://news.example.org/5.html", dt.date(2025, 1, 12)),
        Item("没有日期", "http://news.example.org/6.html", None),
    ]
    rows, bad = to_rows("s", HOSTS, "http://news.example.org/list.html", items,
                        fetched_at=FETCHED, timezone="Asia/Shanghai")
    assert [r.title for r in rows] == ["好的", "明天的", "没有日期"]
    assert [(q.title, q.reason) for q in bad] == [
        ("", "no title"),
        ("日期坏了", "unparseable date '2025-02-30'"),
        ("未来的", "date 2025-01-12 is in the future"),
    ]
    assert all(q.page_url == "http://news.example.org/list.html" for q in bad)


def test_links_outside_the_allowed_hosts_are_quarantined():
    items = [Item("本站", "http://news.example.org/1.html", dt.date(2025, 1, 8)),
             Item("子站", "http://www.sub.example.org/2.html", dt.date(2025, 1, 8)),
             Item("外站", "http://elsewhere.net/3.html", dt.date(2025, 1, 8))]
    rows, bad = to_rows("s", HOSTS, "http://news.example.org/list.html", items, fetched_at=FETCHED,
                        timezone="Asia/Shanghai", link_hosts=("news.example.org", "*.example.org"))
    assert [r.title for r in rows] == ["本站", "子站"]
    assert [(q.title, q.reason) for q in bad] == [
        ("外站", "link to a host the source does not allow: elsewhere.net")]
    rows, bad = to_rows("s", HOSTS, "http://news.example.org/list.html", items, fetched_at=FETCHED,
                        timezone="Asia/Shanghai")
    assert len(rows) == 3 and not bad  # no list: any host

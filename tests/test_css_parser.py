"""parser = "css": selectors from sources.toml, their validation, and the parser CLI around them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from parsers import PARSERS, ParseError, SelectorError, check_selectors, parse_listing

LAYOUTS = Path(__file__).parent / "layouts" / "tuning"
FETCHED = dt.datetime(2025, 1, 9, 2, 0, tzinfo=dt.UTC)
URL = "https://www.example.gov.cn/news/list.html"


def layout(name: str) -> tuple[bytes, dict]:
    html = LAYOUTS / f"{name}.html"
    return html.read_bytes(), json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))


def css(body: bytes | str, selectors: dict, url: str = URL, **kw):
    if isinstance(body, str):
        body = body.encode()
    kw.setdefault("fetched_at", FETCHED)
    return parse_listing(body, url, parser="css", selectors=selectors, **kw)


def triples(items) -> list[tuple]:
    return [(i.title, i.url, i.date.isoformat() if i.date else None) for i in items]


def expected(exp: dict) -> list[tuple]:
    return [(e["title"], e["url"], e["date"]) for e in exp["items"]]


def test_css_is_registered():
    assert {"css", "auto", "ecoforum"} <= set(PARSERS)


@pytest.mark.parametrize(("name", "selectors"), [
    ("table-bracket-dates", {"item": "table.newslist tr", "title": "td.t a", "date": "td.d",
                             "next": "div.pagelist a.next"}),
    # dt/dd pairs: the <dd> after each <dt> belongs to it.
    ("dl-dt-dd", {"item": "dl.news_list > dt", "title": "a", "date": "dd.news_meta", "next": "a.next"}),
    # GBK bytes, class-less nested tables, 2025.01.08 dates; header and pager rows have no title cell.
    ("gbk-stats-table", {"item": "td > table > tbody > tr", "title": "td:nth-child(2) > a",
                         "date": "td:nth-child(3)", "next": 'a:lexbor-contains("下一页")'}),
])
def test_css_reads_a_layout(name, selectors):
    body, exp = layout(name)
    page = css(body, selectors, exp["url"], fetched_at=dt.datetime.fromisoformat(exp["fetched_at"]))
    assert triples(page.items) == expected(exp)
    assert page.next_url == exp["next_url"]


def test_css_summary_and_date_label():
    body, exp = layout("div-cards-fabu")
    page = css(body, {"item": "div.news-card", "title": "div.tit a", "date": "span.pubtime",
                      "summary": "div.desc"}, exp["url"])
    assert triples(page.items) == expected(exp)
    # The summary starts with a date ("2025年1月8日，..."): it is summary text, not the date.
    assert page.items[0].summary.startswith("2025年1月8日，光明日报刊发文章")
    assert page.items[0].raw_date == "发布时间：2025年01月08日"
    assert page.next_url is None  # no next selector given


def test_css_truncated_title_takes_the_title_attribute():
    body, exp = layout("truncated-monthday")
    page = css(body, {"item": "div.list-box li", "title": "a[title]", "date": "span.fr"}, exp["url"])
    assert triples(page.items) == expected(exp)
    assert page.items[0].title == "某区人民政府办公室关于2025年春节期间烟花爆竹燃放管理的通告"


def test_css_url_apart_from_title_and_link_around_the_item():
    body, exp = layout("link-wraps-card")
    # The item node is the <a>; the url selector matches the item itself.
    page = css(body, {"item": "a.card", "title": "h3", "url": "a", "date": ".card__date",
                      "summary": "p.card__excerpt", "next": "a[rel=next]"}, exp["url"])
    assert triples(page.items) == expected(exp)
    assert page.items[5].summary == "从屋顶光伏到社区堆肥，这些社区的做法各有特色。"
    assert page.next_url == exp["next_url"]


def test_css_date_from_attribute_and_year_from_heading():
    html = """<html><body>
      <div class="y">2023年</div>
      <ul class="news">
        <li><a href="a/1.html">第一条</a><time datetime="2023-05-04T10:00:00+08:00"></time></li>
        <li><a href="a/2.html">第二条</a><span class="d">12-28</span></li>
      </ul></body></html>"""
    page = css(html, {"item": "ul.news > li", "title": "a", "date": "time, span.d"})
    assert [i.date for i in page.items] == [dt.date(2023, 5, 4), dt.date(2023, 12, 28)]
    assert [i.url for i in page.items] == ["https://www.example.gov.cn/news/a/1.html",
                                           "https://www.example.gov.cn/news/a/2.html"]


def test_css_rows_without_title_are_skipped():
    body, exp = layout("month-day-year-rows")
    # Year rows match "tr" but have no title cell: not items. Their year dates the rows below.
    selectors = {"item": "table.notice-table tr", "title": "td.notice-title a", "date": "td.notice-date"}
    page = css(body, selectors, exp["url"])
    assert triples(page.items) == expected(exp)


SIMPLE = """<html><body><h1>新闻</h1><ul class="news">
  <li><a href="a/1.html">关于开展冬季安全检查的通知</a><span class="date">2025-01-08</span></li>
  <li><a href="a/2.html">市政府召开常务会议研究春运工作</a><span class="date">2025-01-07</span></li>
</ul></body></html>"""


@pytest.mark.parametrize(("selectors", "key", "message"), [
    ({"item": "ul.news > li.nope", "title": "a"}, "item",
     "selector item 'ul.news > li.nope' matched nothing"),
    ({"item": "ul.news > li", "title": "h3 a"}, "title", "selector title 'h3 a' matched nothing"),
    ({"item": "ul.news > li", "title": "a", "url": "a.link"}, "url", "selector url 'a.link' matched nothing"),
    ({"item": "ul.news > li", "title": "a", "date": "span.time"}, "date",
     "selector date 'span.time' matched nothing"),
    ({"item": "ul.news > li", "title": "a", "summary": "p"}, "summary",
     "selector summary 'p' matched nothing"),
])
def test_selector_matching_nothing_names_key_and_selector(selectors, key, message):
    with pytest.raises(SelectorError) as err:
        css(SIMPLE, selectors)
    assert str(err.value) == message
    assert isinstance(err.value, ParseError) and err.value.key == key


def test_next_matching_nothing_is_the_last_page_not_an_error():
    page = css(SIMPLE, {"item": "ul.news > li", "title": "a", "next": "a.next"})
    assert len(page.items) == 2 and page.next_url is None


def test_empty_page_is_not_a_selector_error():
    # Nothing to read (a blank 200): zero items, and the pipeline's drift check decides.
    for body in ("", "<html><body>  </body></html>", "<html><head><title>x</title></head></html>"):
        assert css(body, {"item": "li", "title": "a"}).items == []


@pytest.mark.parametrize(("selectors", "key", "reason"), [
    ({"item": "ul >", "title": "a"}, "item", "'ul >' is not a valid CSS selector"),
    ({"item": "li", "title": "a::x"}, "title", "'a::x' is not a valid CSS selector"),
    ({"item": "li", "title": "a", "date": "span["}, "date", "'span[' is not a valid CSS selector"),
    ({"item": "li", "title": "a", "next": ":nosuch"}, "next", "':nosuch' is not a valid CSS selector"),
    ({"item": "li", "title": "a", "summary": ""}, "summary", "must be a non-empty CSS selector string"),
    ({"item": "li", "title": 3}, "title", "must be a non-empty CSS selector string"),
    ({"title": "a"}, "item", "is missing (item and title are required)"),
    ({"item": "li"}, "title", "is missing (item and title are required)"),
    ({"item": "li", "title": "a", "author": "span"}, "author", "is not a selector key"),
])
def test_check_selectors_rejects(selectors, key, reason):
    with pytest.raises(SelectorError) as err:
        check_selectors(selectors)
    assert err.value.key == key
    assert err.value.reason.startswith(reason)
    assert str(err.value).startswith(f"selector {key} ")


def test_check_selectors_accepts_and_parse_raises_the_same():
    good = {"item": " ul.news > li ", "title": "a", "url": "a", "date": "span.date", "summary": "p",
            "next": 'a[rel~="next"], a:lexbor-contains("下一页")'}
    assert check_selectors(good) == {k: v.strip() for k, v in good.items()}
    with pytest.raises(SelectorError, match="not a valid CSS selector"):
        css(SIMPLE, {"item": "ul >", "title": "a"})
    with pytest.raises(SelectorError, match="selectors must be a table"):
        check_selectors(["item", "title"])


def test_css_without_selectors_is_a_parse_error():
    with pytest.raises(ParseError, match="parser 'css' needs selectors"):
        parse_listing(SIMPLE.encode(), URL, parser="css")


def test_other_parsers_ignore_selectors():
    page = parse_listing(SIMPLE.encode(), URL, parser="auto", selectors={"item": "nothing", "title": "x"},
                         fetched_at=FETCHED)
    assert [i.title for i in page.items] == ["关于开展冬季安全检查的通知", "市政府召开常务会议研究春运工作"]


# --- the parser CLI -----------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parsers", *args], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent)


@pytest.mark.parametrize("form", [
    '{"item": "table.newslist tr", "title": "td.t a", "date": "td.d"}',
    '{item = "table.newslist tr", title = "td.t a", date = "td.d"}',
])
def test_cli_css_with_json_or_toml_selectors(form):
    _, exp = layout("table-bracket-dates")
    out = run_cli(str(LAYOUTS / "table-bracket-dates.html"), "--url", exp["url"], "--parser", "css",
                  "--selectors", form, "--today", "2025-01-09")
    assert out.returncode == 0, out.stderr
    assert [(i["title"], i["url"], i["date"]) for i in json.loads(out.stdout)] == expected(exp)


def test_cli_css_selectors_from_a_sources_file(tmp_path):
    _, exp = layout("dl-dt-dd")
    sources = tmp_path / "sources.toml"
    sources.write_text('[sources.env]\nstart_url = "https://e.example.edu.cn/"\nparser = "css"\n'
                       '[sources.env.selectors]\nitem = "dl > dt"\ntitle = "a"\ndate = "dd"\n'
                       '[sources.other]\nparser = "auto"\n', encoding="utf-8")
    out = run_cli(str(LAYOUTS / "dl-dt-dd.html"), "--url", exp["url"], "--parser", "css",
                  "--selectors", str(sources), "--name", "env", "--today", "2025-01-09")
    assert out.returncode == 0, out.stderr
    assert [(i["title"], i["url"], i["date"]) for i in json.loads(out.stdout)] == expected(exp)


@pytest.mark.parametrize(("args", "start"), [
    (["--parser", "css", "--selectors", '{"item": "ul >", "title": "a"}'],
     "error: --selectors: selector item 'ul >' is not a valid CSS selector"),
    (["--parser", "css", "--selectors", "{item = "], "error: --selectors: neither JSON nor a TOML"),
    (["--parser", "css", "--selectors", "no-such-file.toml"], "error: --selectors: cannot read"),
    (["--parser", "css", "--selectors", '{"item": "ul.none > li", "title": "a"}'],
     "error: selector item 'ul.none > li' matched nothing"),
    (["--parser", "css"], "error: parser 'css' needs selectors"),
    (["--parser", "nosuch"], "usage:"),
])
def test_cli_bad_selectors_are_one_line(args, start):
    out = run_cli(str(LAYOUTS / "trs-wcm-ul.html"), "--url", URL, *args)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert start in out.stderr
    if start.startswith("error:"):
        assert out.stderr.startswith(start) and out.stderr.count("\n") == 1


def test_cli_file_needs_url_and_bad_urls_fail_cleanly():
    out = run_cli(str(LAYOUTS / "trs-wcm-ul.html"), "--parser", "auto")
    assert out.returncode == 2 and out.stderr.startswith("error: --url is required")
    out = run_cli("http://127.0.0.1:9/list.html", "--parser", "auto")  # nothing listens on port 9
    assert out.returncode == 2 and out.stderr.startswith("error: cannot fetch http://127.0.0.1:9/list.html")
    assert out.stderr.count("\n") == 1


def test_cli_explain_snippet_is_toml_that_css_reproduces(tmp_path):
    _, exp = layout("portal-noise-heavy")
    page = str(LAYOUTS / "portal-noise-heavy.html")
    out = run_cli(page, "--url", exp["url"], "--parser", "auto", "--explain", "--today", "2025-01-09",
                  "--name", "local-news")
    assert out.returncode == 0, out.stderr
    assert "8 items on https://www.news.example.cn/local/ (parser auto)" in out.stdout
    assert "next page: https://www.news.example.cn/local/index_2.htm" in out.stdout
    snippet = out.stdout[out.stdout.index("[sources.local-news.selectors]"):]
    selectors = tomllib.loads(snippet)["sources"]["local-news"]["selectors"]
    assert {"item", "title", "date", "next"} <= set(selectors)
    sources = tmp_path / "sources.toml"
    sources.write_text(snippet, encoding="utf-8")
    out = run_cli(page, "--url", exp["url"], "--parser", "css", "--selectors", str(sources), "--next",
                  "--today", "2025-01-09")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert [(i["title"], i["url"], i["date"]) for i in got["items"]] == expected(exp)
    assert got["next_url"] == exp["next_url"]


def test_cli_explain_for_a_script_pager_suggests_page_url():
    _, exp = layout("trs-wcm-ul")
    out = run_cli(str(LAYOUTS / "trs-wcm-ul.html"), "--url", exp["url"], "--parser", "auto", "--explain",
                  "--today", "2025-01-09")
    assert out.returncode == 0, out.stderr
    assert "(found by script)" in out.stdout
    assert ("page_url = 'https://www.province.example.gov.cn/ywdt/bmdt/index_{page_index}.shtml'"
            in out.stdout)


def test_cli_fetches_a_url_and_defaults_url_to_it():
    import http.server
    import threading

    body, exp = layout("gbk-stats-table")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path != "/tjxx/index.html":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=gbk")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        out = run_cli(f"{base}/tjxx/index.html", "--parser", "auto", "--next", "--today", "2025-01-09")
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert [i["title"] for i in got["items"]] == [e["title"] for e in exp["items"]]
        assert got["items"][0]["url"] == f"{base}/tjxx/2025/01/08/art_301_5510.html"
        assert got["next_url"] == f"{base}/tjxx/index_2.html"
        out = run_cli(f"{base}/missing.html", "--parser", "auto")
        assert out.returncode == 2 and out.stderr == f"error: cannot fetch {base}/missing.html: HTTP 404\n"
    finally:
        server.shutdown()
        server.server_close()


def test_explain_page_for_css_and_auto():
    from parsers import explain_page

    body, exp = layout("table-bracket-dates")
    fetched = dt.datetime.fromisoformat(exp["fetched_at"])
    text = explain_page(body, exp["url"], parser="css", name="water", fetched_at=fetched,
                        selectors={"item": "table.newslist tr", "title": "td.t a", "date": "td.d",
                                   "next": "a.next"})
    assert text.splitlines()[0] == f"8 items on {exp['url']} (parser css)"
    assert "   1  2025-01-08  集团召开2025年工作会议暨职工代表大会" in text
    assert f"next page: {exp['next_url']} (found by label)" in text
    assert "[sources." not in text  # selectors are inferred for auto only
    text = explain_page(body, exp["url"], parser="auto", name="water", fetched_at=fetched)
    snippet = tomllib.loads(text[text.index("[sources.water.selectors]"):])
    assert check_selectors(snippet["sources"]["water"]["selectors"])["item"].endswith("tr")

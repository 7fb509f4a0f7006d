"""Parse benchmark: our listing parsers vs parsel (Scrapy's selectors) and BeautifulSoup+lxml.

All contenders read the same mirror pages (bytes of ``Mirror.render_page``) and extract the
same things: each item's title, absolute URL, date and summary, and the next page's URL.
Ours is ``parse_listing(body, url, parser=...)`` for "ecoforum", "css" (the selectors
below) and "auto"; it also sniffs the charset and turns the date into a ``date``. The peers
are handed the charset (utf-8) and keep the date as the page's string, as a spider would.
Rounds alternate the contenders; the figures are medians of pages/s.

    .venv-bench/bin/python bench/parse_bench.py [--pages 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from urllib.parse import urljoin

from _peers import alternate, machine, median, ratio, result, say, table, versions

from flows.mirror import Mirror, page_href
from parsers import parse_listing

BASE = "http://127.0.0.1:8000/news/"
SELECTORS = {"item": "div.news-list li", "title": "h3 a", "date": "span.time",
             "summary": "p.news-summary", "next": "a.next"}
FETCHED_AT = dt.datetime(2025, 1, 9, 2, 0, tzinfo=dt.UTC)


def ours(parser: str):
    def parse(body: bytes, url: str):
        page = parse_listing(body, url, parser=parser, fetched_at=FETCHED_AT, selectors=SELECTORS)
        return ([(i.title, i.url, i.date.isoformat() if i.date else None, i.summary)
                 for i in page.items], page.next_url)
    return parse


def squash(text: str | None) -> str:
    """Whitespace collapsed, as our parsers (and any tidy spider) do it."""
    return " ".join(text.split()) if text else ""


def with_parsel(body: bytes, url: str):
    from parsel import Selector

    sel = Selector(text=body.decode("utf-8"))
    items = []
    for li in sel.css("div.news-list li"):
        link = li.css("h3 a")
        href = link.attrib.get("href")
        summary = li.css("p.news-summary::text").get()
        date = li.css("span.time::text").get()
        items.append((squash(link.css("::text").get()), urljoin(url, href) if href else None,
                      date.strip() if date else None, squash(summary) or None))
    nxt = sel.css("a.next::attr(href)").get()
    return items, urljoin(url, nxt) if nxt else None


def with_bs4(body: bytes, url: str):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body.decode("utf-8"), "lxml")
    items = []
    for li in soup.select("div.news-list li"):
        link, date, summary = li.select_one("h3 a"), li.select_one("span.time"), li.select_one(
            "p.news-summary")
        href = link.get("href") if link else None
        items.append((squash(link.get_text()) if link else "", urljoin(url, href) if href else None,
                      date.get_text(strip=True) if date else None,
                      squash(summary.get_text()) or None if summary else None))
    nxt = soup.select_one("a.next")
    return items, urljoin(url, nxt["href"]) if nxt is not None and nxt.get("href") else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    started = time.perf_counter()
    mirror = Mirror(older_pages=args.pages - 1)
    pages = [(mirror.render_page(n), BASE + page_href(n)) for n in range(1, args.pages + 1)]
    say(f"parse bench: {len(pages)} mirror pages, {sum(len(b) for b, _ in pages) / 1e6:.1f} MB, "
        f"{args.rounds} rounds; {versions('parsel', 'beautifulsoup4', 'lxml', 'selectolax')}")

    parsers = {"ours: ecoforum": ours("ecoforum"), "ours: css": ours("css"), "ours: auto": ours("auto"),
               "parsel": with_parsel, "bs4+lxml": with_bs4}

    # Same output from everyone, or the timings mean nothing.
    reference = [parsers["parsel"](b, u) for b, u in pages]
    assert all(len(items) == 10 for items, _ in reference), "parsel found other than 10 items a page"
    for name, fn in parsers.items():
        got = [fn(b, u) for b, u in pages]
        bad = sum(g != r for g, r in zip(got, reference, strict=True))
        if bad:
            raise SystemExit(f"{name}: {bad} pages differ from parsel's extraction")
    say("  all contenders extract the same items and next links from every page")

    def run(fn):
        def go() -> None:
            for body, url in pages:
                fn(body, url)
        return go

    times = alternate({name: run(fn) for name, fn in parsers.items()}, args.rounds, log=say)
    rate = {name: len(pages) / median(t) for name, t in times.items()}

    rows = [[name, f"{rate[name]:,.0f}", "/".join(f"{len(pages) / t:,.0f}" for t in times[name]),
             ratio(rate[name], rate["parsel"]), ratio(rate[name], rate["bs4+lxml"])]
            for name in parsers]
    goals = [
        ["css vs parsel", ratio(rate["ours: css"], rate["parsel"]), ">= 3x",
         "met" if rate["ours: css"] >= 3 * rate["parsel"] else "MISSED"],
        ["auto vs parsel", ratio(rate["ours: auto"], rate["parsel"]), ">= 1x",
         "met" if rate["ours: auto"] >= rate["parsel"] else "MISSED"],
        ["ecoforum vs parsel", ratio(rate["ours: ecoforum"], rate["parsel"]), "(none)", ""],
    ]
    say("")
    say(f"### Parse: {len(pages)} mirror pages x 10 items, median of {args.rounds} alternating rounds")
    say(f"({machine()}; wall {time.perf_counter() - started:.0f} s)")
    say("")
    say(table(["parser", "pages/s (median)", "pages/s per round", "vs parsel", "vs bs4+lxml"], rows))
    say("")
    say(table(["goal", "ratio", "target", ""], goals))
    for name, target in (("css", 3), ("auto", 1), ("ecoforum", None)):
        mine = rate[f"ours: {name}"]
        result("parse", f"{name} parser, {len(pages):,} mirror pages", f"{mine:,.0f} pages/s",
               f"{rate['parsel']:,.0f} pages/s (parsel)", ratio(mine, rate["parsel"]),
               f">= {target}x" if target else "-",
               mine >= target * rate["parsel"] if target else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

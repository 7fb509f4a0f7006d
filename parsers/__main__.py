"""python -m parsers URL-or-FILE [--url URL] [--parser auto|css|NAME] [--selectors S] [--explain]

Prints the page's items as a JSON list of {"title","url","date","summary"}; with
--explain, a readable list of what the parser found and, for auto, the selectors
that reproduce it with parser "css", as a [sources.NAME.selectors] snippet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsers import PARSERS, ParseError, check_selectors, explain_page, parse_listing
from parsers.urls import host_of

MAX_BYTES = 20 * 1024 * 1024  # a listing page; anything bigger is not one


class CliError(Exception):
    """Bad input: printed as one line, exit status 2."""


def _today(value: str) -> dt.date | dt.datetime:
    """An ISO date, or an ISO datetime (naive = UTC)."""
    try:
        if len(value.strip()) == 10:
            return dt.date.fromisoformat(value.strip())
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--today: {value!r} is not a date or datetime (e.g. 2025-01-08 or 2025-01-08T10:00+08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def fetch_moment(today: dt.date | dt.datetime | None, tz: str) -> dt.datetime | None:
    """A bare date means noon of that day in the site's zone, so it stays that local day."""
    if today is None or isinstance(today, dt.datetime):
        return today
    return dt.datetime.combine(today, dt.time(12), ZoneInfo(tz))


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def fetch(url: str, timeout: float = 30.0) -> tuple[bytes, str, str | None]:
    """GET a page: (body, final URL, Content-Type charset label or None)."""
    import httpx  # only the URL form needs it

    try:
        with httpx.Client(follow_redirects=True, timeout=timeout,
                          headers={"User-Agent": "news-ingest parser check"}) as client, \
                client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise CliError(f"cannot fetch {url}: HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise CliError(f"cannot fetch {url}: larger than {MAX_BYTES // 2**20} MB")
            return bytes(body), str(response.url), response.charset_encoding
    except httpx.HTTPError as exc:
        raise CliError(f"cannot fetch {url}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    except (httpx.InvalidURL, ValueError) as exc:
        raise CliError(f"cannot fetch {url}: {exc}") from None


def read_selectors(value: str, name: str | None) -> dict[str, str]:
    """--selectors: a JSON object, a TOML inline table, or a TOML file (a sources file,
    a [selectors] table, or bare keys)."""
    doc: Any
    if value.lstrip().startswith("{"):
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            try:
                doc = tomllib.loads(f"selectors = {value}")["selectors"]
            except tomllib.TOMLDecodeError as exc:
                raise CliError(f"--selectors: neither JSON nor a TOML inline table ({exc})") from None
    else:
        path = Path(value)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CliError(f"--selectors: cannot read {value}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CliError(f"--selectors: {value} is not TOML ({exc})") from None
        doc = _selectors_in(doc, name, value)
    try:
        return check_selectors(doc)
    except ParseError as exc:
        raise CliError(f"--selectors: {exc}") from None


def _selectors_in(doc: Mapping[str, Any], name: str | None, path: str) -> Any:
    sources = doc.get("sources")
    if isinstance(sources, Mapping):
        having = {k: v["selectors"] for k, v in sources.items()
                  if isinstance(v, Mapping) and "selectors" in v}
        if name is not None:
            if name not in having:
                raise CliError(f"--selectors: {path} has no [sources.{name}.selectors]")
            return having[name]
        if not having:
            raise CliError(f"--selectors: {path} has no [sources.NAME.selectors] table")
        if len(having) > 1:
            raise CliError(f"--selectors: {path} has {len(having)} selectors tables; pick one with --name")
        return next(iter(having.values()))
    return doc.get("selectors", doc)


def source_name(url: str) -> str:
    """A sources.toml name for a site: www.example.gov.cn -> example-gov-cn."""
    return re.sub(r"[^a-z0-9]+", "-", host_of(url).lower()).strip("-") or "NAME"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m parsers", description=__doc__.split("\n\n")[1])
    ap.add_argument("page", metavar="URL-or-FILE", help="a saved listing page, or an http(s) URL to fetch")
    ap.add_argument("--url", help="the URL the page was fetched from (default: the URL fetched)")
    ap.add_argument("--parser", default="ecoforum", choices=sorted(PARSERS))
    ap.add_argument("--selectors", metavar="JSON-TOML-or-FILE",
                    help='for --parser css: \'{"item": "ul.news > li", "title": "a"}\', a TOML inline'
                         " table, or a TOML file (sources.toml with --name, or bare keys)")
    ap.add_argument("--name", help="the source's name in sources.toml (for --selectors FILE and --explain)")
    ap.add_argument("--today", type=_today, default=None,
                    help="when the page was fetched: a date (that local day) or a datetime"
                         " (default: now)")
    ap.add_argument("--timezone", default="Asia/Shanghai", help="the site's local time zone")
    ap.add_argument("--next", action="store_true", help='print {"items": [...], "next_url": ...}')
    ap.add_argument("--explain", action="store_true",
                    help="readable output; for auto also the inferred [sources.NAME.selectors]")
    args = ap.parse_args(argv)
    try:
        return _run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ParseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    try:
        ZoneInfo(args.timezone)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise CliError(f"unknown time zone {args.timezone!r} (e.g. Asia/Shanghai)") from None
    if args.url is not None and not is_url(args.url):
        raise CliError(f"--url must be an absolute http(s) URL, got {args.url!r}")
    selectors = read_selectors(args.selectors, args.name) if args.selectors else None
    charset = None
    if is_url(args.page):
        body, fetched_url, charset = fetch(args.page)
        url = args.url or fetched_url
    else:
        if args.url is None:
            raise CliError("--url is required with a FILE (the URL the page was fetched from)")
        try:
            body = Path(args.page).read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read {args.page}: {exc.strerror}") from None
        url = args.url
    fetched_at = fetch_moment(args.today, args.timezone)
    if args.explain:
        print(explain_page(body, url, parser=args.parser, name=args.name or source_name(url),
                           fetched_at=fetched_at, tz=args.timezone, header_charset=charset,
                           selectors=selectors))
        return 0
    page = parse_listing(body, url, parser=args.parser, fetched_at=fetched_at, tz=args.timezone,
                         header_charset=charset, selectors=selectors)
    items = [item.as_json() for item in page.items]
    out = {"items": items, "next_url": page.next_url} if args.next else items
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

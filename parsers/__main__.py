"""python -m parsers FILE --url URL [--parser NAME] [--today DATE-OR-DATETIME]

Prints the page's items as a JSON list of {"title","url","date","summary"}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parsers import PARSERS, ParseError, parse_listing


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m parsers", description=__doc__.split("\n\n")[1])
    ap.add_argument("file", help="a saved listing page (HTML)")
    ap.add_argument("--url", required=True, help="the URL the page was fetched from")
    ap.add_argument("--parser", default="ecoforum", choices=sorted(PARSERS))
    ap.add_argument("--today", type=_today, default=None,
                    help="when the page was fetched: a date (that local day) or a datetime"
                         " (default: now)")
    ap.add_argument("--timezone", default="Asia/Shanghai", help="the site's local time zone")
    ap.add_argument("--next", action="store_true", help='print {"items": [...], "next_url": ...}')
    args = ap.parse_args(argv)
    try:
        with open(args.file, "rb") as fh:
            body = fh.read()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        ZoneInfo(args.timezone)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        print(f"error: unknown time zone {args.timezone!r} (e.g. Asia/Shanghai)", file=sys.stderr)
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(f"error: --url must be an absolute http(s) URL, got {args.url!r}", file=sys.stderr)
        return 2
    try:
        page = parse_listing(body, args.url, parser=args.parser,
                             fetched_at=fetch_moment(args.today, args.timezone),
                             tz=args.timezone)
    except (ParseError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    items = [item.as_json() for item in page.items]
    out = {"items": items, "next_url": page.next_url} if args.next else items
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

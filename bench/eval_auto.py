"""Precision, recall and F1 of parser "auto" over the labelled layouts in tests/layouts/.

    .venv/bin/python bench/eval_auto.py [--set tuning|holdout|all] [--verbose]

An item found matches an expected one when their URLs match and their titles are
equal after whitespace collapse. Date accuracy: matched items whose date is right.
The next-page URL is checked too. tuning/ is what the extractor was tuned on;
holdout/ was written first and kept out of tuning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parsers import parse_listing  # noqa: E402
from parsers.text import clean_text  # noqa: E402

LAYOUTS = Path(__file__).resolve().parent.parent / "tests" / "layouts"


@dataclass
class Score:
    name: str
    expected: int
    found: int
    matched: int
    dates_right: int
    next_right: bool
    seconds: float

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else (1.0 if not self.expected else 0.0)

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def date_accuracy(self) -> float:
        return self.dates_right / self.matched if self.matched else 0.0


def layouts(part: str) -> list[Path]:
    return sorted((LAYOUTS / part).glob("*.html"))


def evaluate(html: Path, *, verbose: bool = False) -> Score:
    expected = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    page = parse_listing(html.read_bytes(), expected["url"], parser="auto",
                         fetched_at=dt.datetime.fromisoformat(expected["fetched_at"]),
                         tz=expected.get("timezone", "Asia/Shanghai"))
    seconds = time.perf_counter() - started
    want = {e["url"]: e for e in expected["items"]}
    matched = dates_right = 0
    for item in page.items:
        e = want.get(item.url)
        if e is not None and clean_text(e["title"]) == clean_text(item.title):
            matched += 1
            dates_right += (item.date.isoformat() if item.date else None) == e["date"]
        elif verbose:
            print(f"    extra/wrong: {item.title!r} {item.url} {item.date}")
    if verbose:
        got = {(i.url, clean_text(i.title)): i for i in page.items}
        for e in expected["items"]:
            item = got.get((e["url"], clean_text(e["title"])))
            if item is None:
                print(f"    missed: {e['title']!r} {e['url']}")
            elif (item.date.isoformat() if item.date else None) != e["date"]:
                print(f"    wrong date: {e['title']!r} got {item.date} want {e['date']}")
        if page.next_url != expected["next_url"]:
            print(f"    next: got {page.next_url} want {expected['next_url']}")
    return Score(html.stem, len(expected["items"]), len(page.items), matched, dates_right,
                 page.next_url == expected["next_url"], seconds)


def aggregate(scores: list[Score], name: str) -> Score:
    return Score(name, sum(s.expected for s in scores), sum(s.found for s in scores),
                 sum(s.matched for s in scores), sum(s.dates_right for s in scores),
                 all(s.next_right for s in scores), sum(s.seconds for s in scores))


def report(part: str, *, verbose: bool = False) -> Score:
    print(f"\n{part}")
    print(f"  {'layout':<28} {'exp':>4} {'found':>5} {'P':>6} {'R':>6} {'F1':>6} {'date':>6} next   ms")
    scores = []
    for html in layouts(part):
        if verbose:
            print(f"  {html.stem}")
        scores.append(evaluate(html, verbose=verbose))
    total = aggregate(scores, f"ALL {part}")
    for s in [*scores, total]:
        print(f"  {s.name:<28} {s.expected:>4} {s.found:>5} {s.precision:>6.3f} {s.recall:>6.3f}"
              f" {s.f1:>6.3f} {s.date_accuracy:>6.3f} {'ok  ' if s.next_right else 'MISS'}"
              f" {s.seconds * 1000:>4.0f}")
    nexts = sum(s.next_right for s in scores)
    print(f"  next-page URL right on {nexts}/{len(scores)} layouts")
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("tuning", "holdout", "blind", "all"), default="all")
    ap.add_argument("--verbose", action="store_true", help="list every missed or wrong item")
    args = ap.parse_args(argv)
    parts = ("tuning", "holdout", "blind") if args.set == "all" else (args.set,)
    for part in parts:
        report(part, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load benchmark: our merge_items vs dlt's `merge` write disposition into DuckDB.

The same stream of rows goes, in batches, into a fresh warehouse each run: 70% new
articles, 30% articles of earlier batches seen again with changed content (new title,
summary and hash), summaries of about 1 KB. Contenders:

- ours: ``merge_items(con, rows)`` with ``ArticleRow`` rows, one transaction a batch, in a
  warehouse from ``warehouse.connect`` (migrations applied), CHECKPOINT at the end counted.
  Keeps first_seen_at, moves replaced content into article_versions.
- dlt fed dicts: ``pipeline.run(list_of_dicts, write_disposition="merge",
  primary_key="article_id")`` per batch, as a scraper would hand items over.
- dlt fed Arrow: the same with a ``pyarrow.Table`` per batch.

dlt replaces whole rows, so the first_seen_at we hand it is each batch's time: it loses
the first sighting. Only the merge calls (and our final CHECKPOINT) are timed, not the
making of the rows. After each run the row counts are checked, and for ours that every
article's first_seen_at is the time of the batch it first came in.

    .venv-bench/bin/python bench/load_bench.py [--rows 1000000] [--batch 10000] [--rounds 1]
        [--dicts-rows 100000]

dlt fed dicts loads ~2k rows/s here: 1,000,000 rows would take it ~9 minutes, more than the
whole `make bench` budget. ``--dicts-rows`` runs it on a shorter stream of the same shape
(its rate is rows/s over that stream). That favours the peer: its table stays smaller, and
merges into a small table are cheaper.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import shutil
import tempfile
import time
from pathlib import Path

from _peers import alternate, machine, median, ratio, result, say, table, versions

from warehouse import ArticleRow, connect, merge_items, start_run

SOURCE = "bench"
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
RESEEN = 0.30
_WORDS = ["生态", "文明", "贵阳", "论坛", "绿色", "低碳", "转型", "保护", "修复", "治理", "climate",
          "river", "forest", "carbon", "water", "policy", "report", "meeting", "2025", "data"]


class Stream:
    """The rows, batch by batch, deterministic: batch 0 all new, then ~30% re-seen."""

    def __init__(self, rows: int, batch: int, seed: int = 7) -> None:
        self.rows, self.batch = rows, batch
        self.batches = -(-rows // batch)
        rng = random.Random(seed)
        self._pool = [" ".join(rng.choice(_WORDS) for _ in range(170))[:1000] for _ in range(64)]
        reseen_total = round(rows * RESEEN)
        rest = rows - min(batch, rows)
        self._plan: list[tuple[int, list[int]]] = []  # per batch: (new count, re-seen ids)
        next_id, version = 0, {}
        self.first_batch: list[int] = []  # by article number: the batch it first came in
        for b in range(self.batches):
            size = min(batch, rows - b * batch)
            reseen = 0 if b == 0 else min(size, round(reseen_total * size / rest))
            ids = rng.sample(range(next_id), min(reseen, next_id)) if reseen else []
            self._plan.append((size - len(ids), ids))
            self.first_batch += [b] * (size - len(ids))
            next_id += size - len(ids)
            for i in ids:
                version[i] = version.get(i, 0) + 1
        self.articles = next_id
        self.reseen_rows = sum(len(ids) for _, ids in self._plan)

    def now(self, b: int) -> dt.datetime:
        return T0 + dt.timedelta(minutes=b)

    def batch_tuples(self, b: int, versions: dict[int, int]) -> list[tuple]:
        """(article_id, source, url, title, published_date, summary, content_hash) rows."""
        new, ids = self._plan[b]
        start = sum(n for n, _ in self._plan[:b]) if b else 0
        out = []
        for n in [*range(start, start + new), *ids]:
            v = versions[n] = versions.get(n, -1) + 1
            title = f"Article {n} version {v}: {self._pool[n % 7]}"[:60]
            summary = f"[{n}.{v}] " + self._pool[(n + v) % len(self._pool)]
            day = dt.date(2020, 1, 1) + dt.timedelta(days=n % 2000)
            url = f"https://news.example.org/content/{n}.html"
            digest = hashlib.sha1(f"{title}\x1f{day}\x1f{summary}".encode()).hexdigest()
            out.append((f"a{n:09d}", SOURCE, url, title, day, summary, digest))
        return out

    def each(self):
        versions: dict[int, int] = {}
        for b in range(self.batches):
            yield b, self.now(b), self.batch_tuples(b, versions)


def run_ours(stream: Stream, workdir: Path) -> float:
    path = workdir / "ours.duckdb"
    seconds = 0.0
    with connect(path) as con:
        for b, now, tuples in stream.each():
            rows = [ArticleRow(*t) for t in tuples]
            start = time.perf_counter()
            run_id = f"run-{b}"
            start_run(con, run_id=run_id, flow_run_id=None, kind="backfill", source=SOURCE,
                      started_at=now)
            merge_items(con, rows, run_id=run_id, now=now)
            seconds += time.perf_counter() - start
        start = time.perf_counter()
        con.execute("CHECKPOINT")
        seconds += time.perf_counter() - start
        check_ours(con, stream)
    return seconds


def check_ours(con, stream: Stream) -> None:
    import pyarrow as pa

    articles, versions_ = con.execute(
        "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_versions)").fetchall()[0]
    expect = pa.table({
        "article_id": [f"a{n:09d}" for n in range(stream.articles)],
        "first_seen": [stream.now(b) for b in stream.first_batch],
    })
    con.register("_expect", expect)
    wrong = con.execute("""SELECT count(*) FROM _expect e LEFT JOIN articles a USING (article_id)
                           WHERE a.first_seen_at IS DISTINCT FROM e.first_seen""").fetchall()[0][0]
    kept = con.execute("SELECT count(*) FROM articles WHERE first_seen_at < updated_at").fetchall()[0][0]
    con.unregister("_expect")
    if (articles, versions_, wrong) != (stream.articles, stream.reseen_rows, 0):
        raise SystemExit(f"ours: {articles} articles (want {stream.articles}), {versions_} versions "
                         f"(want {stream.reseen_rows}), {wrong} wrong first_seen_at")
    if stream.reseen_rows and not kept:
        raise SystemExit("ours: no re-seen article kept an earlier first_seen_at")


def run_dlt(stream: Stream, workdir: Path, *, arrow: bool) -> float:
    import dlt
    import pyarrow as pa

    name = "dlt_arrow" if arrow else "dlt_dicts"
    path = workdir / f"{name}.duckdb"
    pipeline = dlt.pipeline(pipeline_name=name, pipelines_dir=str(workdir / f"{name}_pipelines"),
                            destination=dlt.destinations.duckdb(str(path)), dataset_name="news",
                            progress=None)
    cols = ("article_id", "source", "url", "title", "published_date", "summary", "content_hash")
    seconds = 0.0
    for _b, now, tuples in stream.each():
        if arrow:
            data = pa.table({**{c: [t[i] for t in tuples] for i, c in enumerate(cols)},
                             "first_seen_at": pa.array([now] * len(tuples), pa.timestamp("us", "UTC")),
                             "last_seen_at": pa.array([now] * len(tuples), pa.timestamp("us", "UTC"))})
        else:
            data = [{**dict(zip(cols, t, strict=True)), "first_seen_at": now, "last_seen_at": now}
                    for t in tuples]
        start = time.perf_counter()
        pipeline.run(data, table_name="articles", write_disposition="merge", primary_key="article_id")
        seconds += time.perf_counter() - start
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        count, distinct, kept = con.execute(
            "SELECT count(*), count(DISTINCT article_id),"
            " count(*) FILTER (WHERE first_seen_at < last_seen_at) FROM news.articles").fetchall()[0]
    if (count, distinct) != (stream.articles, stream.articles):
        raise SystemExit(f"{name}: {count} rows, {distinct} ids (want {stream.articles})")
    if kept:
        raise SystemExit(f"{name}: {kept} rows kept an earlier first_seen_at (dlt was expected not to)")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=("ours", "dlt-dicts", "dlt-arrow"), action="append",
                    help="run only these contenders (for profiling)")
    ap.add_argument("--dicts-rows", type=int, default=0,
                    help="rows for dlt fed dicts (default: --rows); see the module doc")
    args = ap.parse_args()

    started = time.perf_counter()
    stream = Stream(args.rows, args.batch)
    say(f"load bench: {args.rows:,} rows in {stream.batches} batches of {args.batch:,} "
        f"({stream.articles:,} articles, {stream.reseen_rows:,} re-seen rows with changes), "
        f"{args.rounds} round(s); {versions('dlt', 'duckdb', 'pyarrow')}")

    base = Path(tempfile.mkdtemp(prefix="load-bench-"))
    runs = {"ours": 0}

    def fresh() -> Path:
        runs["ours"] += 1
        d = base / f"run{runs['ours']}"
        d.mkdir()
        return d

    def contender(fn):
        def go() -> float:
            d = fresh()
            try:
                return fn(d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
        return go

    dicts_rows = args.dicts_rows if 0 < args.dicts_rows < args.rows else args.rows
    dicts_stream = stream if dicts_rows == args.rows else Stream(dicts_rows, args.batch)
    rows_of = {"ours": args.rows, "dlt-arrow": args.rows, "dlt-dicts": dicts_rows}
    contenders = {"ours": contender(lambda d: run_ours(stream, d)),
                  "dlt-arrow": contender(lambda d: run_dlt(stream, d, arrow=True)),
                  "dlt-dicts": contender(lambda d: run_dlt(dicts_stream, d, arrow=False))}
    if args.only:
        contenders = {k: v for k, v in contenders.items() if k in args.only}
    try:
        times = alternate(contenders, args.rounds, log=say)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    say("  row counts right in every run; ours kept first_seen_at of every re-seen article, dlt did not")
    rate = {name: rows_of[name] / median(t) for name, t in times.items()}

    rows = [[name, f"{rows_of[name]:,}", f"{rate[name]:,.0f}",
             "/".join(f"{rows_of[name] / t:,.0f}" for t in times[name]),
             "yes" if name == "ours" else "no"] for name in times]
    goals = []
    if "ours" in rate:
        for peer, target in (("dlt-dicts", 10), ("dlt-arrow", 3)):
            if peer in rate:
                met = rate["ours"] >= target * rate[peer]
                goals.append([f"ours vs {peer}", ratio(rate["ours"], rate[peer]), f">= {target}x",
                              "met" if met else "MISSED"])
                result("load", f"merge {args.rows:,} rows (70% new, 30% changed) vs dlt {peer[4:]}"
                       + (f" (dlt on {rows_of[peer]:,} rows)" if rows_of[peer] != args.rows else ""),
                       f"{rate['ours']:,.0f} rows/s", f"{rate[peer]:,.0f} rows/s",
                       ratio(rate["ours"], rate[peer]), f">= {target}x", met)
    say("")
    say(f"### Load: {args.rows:,} rows (70% new, 30% re-seen with changes, ~1 KB summaries) in batches "
        f"of {args.batch:,}, median of {args.rounds} alternating round(s)")
    say(f"({machine()}; wall {time.perf_counter() - started:.0f} s)")
    say("")
    say(table(["loader", "rows", "rows/s (median)", "rows/s per round", "keeps first_seen_at"], rows))
    if goals:
        say("")
        say(table(["goal", "ratio", "target", ""], goals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

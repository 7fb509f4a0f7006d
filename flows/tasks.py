"""Prefect glue shared by the flows: the merge task, the run report, the final state.

A task is one batch of pages merged into the warehouse (one page at a time on a
scheduled run, up to ``BATCH_PAGES`` on a backfill), never an item: Prefect's per-task
overhead (~10 ms) would otherwise cost as much as fetching and parsing a page.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from flows.config import Source
from flows.crawl import Plan, SourceReport, run_source
from flows.fetch import Fetcher, describe
from flows.politeness import RobotsCache
from flows.writer import Merged, ParsedPage, merge_batch
from warehouse import MergeStats, resolve_path

# Sources crawled at once in one flow run (each still bound by its host's limits).
MAX_PARALLEL_SOURCES = 8


@task(name="pages", task_run_name="{source.name}-{label}", cache_policy=NO_CACHE)
def merge_task(source: Source, plan: Plan, run_id: str, warehouse: Path, batch: list[ParsedPage],
               label: str) -> Merged:
    return merge_batch(source, plan, run_id, warehouse, batch)


def run_sources(sources: list[Source], plan: Plan) -> list[SourceReport]:
    """Run the sources side by side (the per-host limits keep it polite); a failing
    source does not stop the others. Reports come back in the sources' order."""
    warehouse = resolve_path(None).resolve()
    robots = RobotsCache()  # robots.txt once per host per run
    flow_run_id = str(flow_run.id) if flow_run.id else None
    workers = max(1, min(len(sources), MAX_PARALLEL_SOURCES))
    with ThreadPoolExecutor(workers, thread_name_prefix="source") as pool:
        # Each thread runs in a copy of this context, so tasks and logs know their flow run.
        futures = [pool.submit(contextvars.copy_context().run, _run_one, source, plan, warehouse,
                               robots, flow_run_id) for source in sources]
        return [f.result() for f in futures]


def _run_one(source: Source, plan: Plan, warehouse: Path, robots: RobotsCache,
             flow_run_id: str | None) -> SourceReport:
    logger = get_run_logger()
    with Fetcher.for_source(source, robots=robots) as fetcher:
        def merge(src: Source, pl: Plan, run_id: str, wh: Path, batch: list[ParsedPage]) -> Merged:
            first, last = batch[0].page_no, batch[-1].page_no
            pages = f"{first}" if first == last else f"{first}-{last}"
            merged = merge_task(src, pl, run_id, wh, batch, f"p{pages}")
            # One line per batch, from the flow run (task runs log at WARNING only).
            s = sum((stats for _, stats in merged.pages), MergeStats())
            logger.info("%s page%s %s: %d items, %d new, %d updated, %d unchanged%s", src.name,
                        "" if first == last else "s", pages, sum(f.items for f in batch),
                        s.inserted, s.updated, s.unchanged,
                        f", {s.quarantined} quarantined" if s.quarantined else "")
            return merged

        try:
            report = run_source(source, plan, warehouse=warehouse, fetcher=fetcher, merge=merge,
                                flow_run_id=flow_run_id)
        except Exception as exc:  # e.g. the warehouse stayed busy: the other sources still run
            logger.error("%s: %s", source.name, exc)
            report = SourceReport(source=source.name, kind=plan.kind, run_id="",
                                  error=describe(exc))
    logger.info(report.summary())
    return report


def final_state(reports: list[SourceReport], title: str) -> State:
    """Publish the run report; Failed (naming the sources) if any source failed or was partial."""
    create_markdown_artifact(markdown=report_markdown(reports, title), key=_artifact_key(title),
                             description=title)
    bad = [r for r in reports if r.state != "completed"]
    data = [{"source": r.source, "state": r.state, "summary": r.summary()} for r in reports]
    if bad:
        return Failed(message="; ".join(r.summary() for r in bad), data=data)
    return Completed(message="; ".join(r.summary() for r in reports) or "no sources", data=data)


def report_markdown(reports: list[SourceReport], title: str) -> str:
    lines = [f"# {title}", "",
             "| source | state | pages | not modified | failed | new | updated | unchanged | quarantined |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        s = r.stats
        state = r.state if r.state == "completed" else f"**{r.state.upper()}**"
        lines.append(f"| {r.source} | {state} | {r.pages_fetched} | {r.pages_not_modified}"
                     f" | {r.pages_failed} |"
                     f" {s.inserted} | {s.updated} | {s.unchanged} | {s.quarantined} |")
    for r in reports:
        if r.error or r.failures:
            lines += ["", f"**{r.source}**: {r.error or ''}"]
            lines += [f"- {f}" for f in r.failures[:20]]
        if r.newest_items:
            lines += ["", f"Newest items of {r.source}:"]
            lines += [f"- {d} {t}" for d, t in r.newest_items]
    return "\n".join(lines)


def _artifact_key(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:60] or "run"

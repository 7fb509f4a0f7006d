"""Flow `backfill`: walk one source over a page range or a date range, safely rerunnable."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.states import State

from flows.config import load_sources, resolve_sources_path, select_sources
from flows.crawl import backfill_plan
from flows.tasks import final_state, run_sources


@flow(name="backfill", log_prints=False)
def backfill(
    source: str,
    pages: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> State:
    """Backfill ``source`` over ``pages`` ("A-B") or ``since``..``until`` (ISO dates).

    Ignores the incremental early stop; merging is idempotent, so a rerun after
    an interruption completes the range without duplicates.
    """
    plan = backfill_plan(pages, since, until)
    chosen = select_sources(load_sources(resolve_sources_path()), [source])
    return final_state(run_sources(chosen, plan), f"backfill report {source} {plan.describe()}")

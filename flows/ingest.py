"""Flow `ingest`: the scheduled, incremental run over every enabled source."""

from __future__ import annotations

from prefect import flow
from prefect.states import State

from flows.config import load_sources, resolve_sources_path, select_sources
from flows.crawl import Plan
from flows.tasks import final_state, run_sources


@flow(name="ingest", log_prints=False)
def ingest(sources: list[str] | None = None) -> State:
    """Fetch page 1 onwards of each source until a page brings nothing new.

    ``sources``: names from sources.toml; default every enabled source.
    """
    chosen = select_sources(load_sources(resolve_sources_path()), sources)
    return final_state(run_sources(chosen, Plan(kind="ingest")), "ingest report")

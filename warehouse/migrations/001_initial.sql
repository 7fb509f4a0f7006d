-- 001: the first schema. Applied by warehouse/migrate.py inside one transaction together
-- with its schema_migrations row. No sequences (ids come from Python) and no foreign keys
-- (DuckDB foreign keys block updates of referenced rows). No CHECK constraints either:
-- DuckDB cannot drop a constraint later without rebuilding the table, so allowed values
-- (kind, state) are checked in warehouse/runs.py instead.

CREATE TABLE articles (
    article_id     VARCHAR PRIMARY KEY,       -- stable hash of source + canonical URL
    source         VARCHAR NOT NULL,          -- source name from sources.toml
    url            VARCHAR,                   -- absolute item link; NULL when the item has none
    title          VARCHAR NOT NULL,
    published_date DATE,                      -- in the source's local time zone
    summary        VARCHAR,
    content_hash   VARCHAR NOT NULL,          -- changes when the item's content changes
    first_seen_at  TIMESTAMPTZ NOT NULL,      -- UTC
    last_seen_at   TIMESTAMPTZ NOT NULL,      -- UTC, every run that sees the item
    updated_at     TIMESTAMPTZ NOT NULL,      -- UTC, when the current content was stored
    first_run_id   VARCHAR,
    last_run_id    VARCHAR
);

-- One row per replaced version: the content an article had from valid_from until replaced_at.
CREATE TABLE article_versions (
    article_id      VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    url             VARCHAR,
    title           VARCHAR NOT NULL,
    published_date  DATE,
    summary         VARCHAR,
    content_hash    VARCHAR NOT NULL,
    valid_from      TIMESTAMPTZ NOT NULL,
    replaced_at     TIMESTAMPTZ NOT NULL,
    replaced_by_run VARCHAR
);

CREATE TABLE ingest_runs (
    run_id            VARCHAR PRIMARY KEY,
    flow_run_id       VARCHAR,                -- Prefect flow run id, when run under Prefect
    kind              VARCHAR NOT NULL,       -- ingest | backfill
    source            VARCHAR NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    ended_at          TIMESTAMPTZ,
    state             VARCHAR NOT NULL,       -- running | completed | partial | failed
    pages_fetched     INTEGER DEFAULT 0,
    pages_failed      INTEGER DEFAULT 0,
    items_parsed      INTEGER DEFAULT 0,
    items_inserted    INTEGER DEFAULT 0,
    items_updated     INTEGER DEFAULT 0,
    items_unchanged   INTEGER DEFAULT 0,
    items_quarantined INTEGER DEFAULT 0,
    error             VARCHAR
);

CREATE TABLE quarantine (
    quarantine_id  VARCHAR PRIMARY KEY,       -- uuid4 from Python
    run_id         VARCHAR,
    source         VARCHAR,
    page_url       VARCHAR,
    reason         VARCHAR NOT NULL,
    title          VARCHAR,
    url            VARCHAR,
    raw_date       VARCHAR,
    snippet        VARCHAR,
    quarantined_at TIMESTAMPTZ NOT NULL
);

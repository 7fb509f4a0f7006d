-- 002: the raw archive. Every fetched listing page gets a `pages` row in the same transaction
-- as its merge (or on its own for a 304 or a failure); bodies are stored once per content in
-- `page_bodies`, compressed, so re-fetching an unchanged page costs one small row.
-- Like 001: ids from Python, no foreign keys, no CHECK constraints.

CREATE TABLE page_bodies (
    content_hash VARCHAR PRIMARY KEY,         -- sha256 hex of the UNcompressed body
    compression  VARCHAR NOT NULL,            -- how `body` is stored: zlib | gzip | none
    body         BLOB NOT NULL,
    size         INTEGER NOT NULL             -- bytes before compression
);

-- One row per fetch attempt of a listing page that reached the warehouse.
CREATE TABLE pages (
    page_id       VARCHAR PRIMARY KEY,        -- uuid4 from Python
    run_id        VARCHAR,                    -- ingest_runs.run_id
    source        VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,           -- the URL asked for (the key for conditional GET)
    final_url     VARCHAR,                    -- after redirects; the base for relative links
    page_no       INTEGER,                    -- 1-based position in the listing
    fetched_at    TIMESTAMPTZ NOT NULL,       -- UTC; reparse resolves relative dates against it
    status        INTEGER,                    -- HTTP status; NULL when no response came
    encoding      VARCHAR,                    -- charset the body was decoded with
    etag          VARCHAR,
    last_modified VARCHAR,                    -- the Last-Modified header, verbatim
    content_hash  VARCHAR,                    -- page_bodies.content_hash; NULL for 304 or no body
    not_modified  BOOLEAN NOT NULL,           -- the server answered 304 to a conditional GET
    error         VARCHAR,                    -- why the page failed (fetch or parse); NULL if fine
    attempts      INTEGER                     -- HTTP attempts it took, retries included
);

-- Pages answered 304 are neither fetched nor failed; existing runs get 0.
ALTER TABLE ingest_runs ADD COLUMN pages_not_modified INTEGER DEFAULT 0;

-- Which archived page a quarantined item came from (NULL for rows from before 002).
ALTER TABLE quarantine ADD COLUMN page_id VARCHAR;

-- 003: documented views for people and BI tools (see warehouse/SCHEMA.md). Views only read
-- the tables, so later migrations can replace them with CREATE OR REPLACE VIEW.

-- Articles, newest first. Add your own ORDER BY when you filter or join.
CREATE VIEW latest_articles AS
SELECT published_date, source, title, url, summary, first_seen_at, last_seen_at, updated_at,
       article_id
FROM articles
ORDER BY published_date DESC NULLS LAST, first_seen_at DESC, article_id;

-- Articles per source and publication day; articles without a date are the NULL day.
CREATE VIEW articles_per_source_day AS
SELECT source, published_date, count(*) AS articles
FROM articles
GROUP BY source, published_date
ORDER BY source, published_date DESC NULLS LAST;

-- One row per source that has articles or runs: how current it is and how its runs went.
-- Only runs that talk to the site count (ingest, backfill): a reparse says nothing about it.
-- A run still 'running' (or killed before it could record its end) counts as neither.
CREATE VIEW source_freshness AS
WITH known AS (
    SELECT source FROM articles
    UNION
    SELECT source FROM ingest_runs
), counts AS (
    SELECT source, count(*) AS articles, max(published_date) AS newest_date,
           max(last_seen_at) AS last_seen_at
    FROM articles
    GROUP BY source
), success AS (
    SELECT source, max(ended_at) AS last_success
    FROM ingest_runs
    WHERE state = 'completed' AND kind <> 'reparse'
    GROUP BY source
), failure AS (
    SELECT source, ended_at AS last_failure, error AS last_failure_error
    FROM ingest_runs
    WHERE state IN ('failed', 'partial') AND kind <> 'reparse'
    QUALIFY row_number() OVER (PARTITION BY source
                               ORDER BY ended_at DESC NULLS LAST, started_at DESC) = 1
)
SELECT known.source,
       coalesce(counts.articles, 0) AS articles,
       counts.newest_date,
       counts.last_seen_at,
       success.last_success,
       failure.last_failure,
       failure.last_failure_error
FROM known
LEFT JOIN counts USING (source)
LEFT JOIN success USING (source)
LEFT JOIN failure USING (source)
ORDER BY known.source;

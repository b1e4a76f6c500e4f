-- Version 1: finished runs, their summary columns and one baseline per plan.
-- Times are Unix microseconds (UTC) so both dialects order them alike.
-- Documents are json, not jsonb: jsonb rejects the \u0000 escape that an
-- error example captured from a response may contain.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    plan        TEXT NOT NULL DEFAULT '',
    plan_hash   TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    started_us  BIGINT NOT NULL,
    ended_us    BIGINT,
    git_commit  TEXT,
    git_branch  TEXT,
    host        JSON,
    tags        JSON,
    rps         DOUBLE PRECISION,
    p95_ms      DOUBLE PRECISION,
    p99_ms      DOUBLE PRECISION,
    error_rate  DOUBLE PRECISION,
    verdict     TEXT NOT NULL DEFAULT '',
    aborted     BOOLEAN NOT NULL DEFAULT FALSE,
    doc         JSON NOT NULL
);

CREATE INDEX runs_plan_started ON runs (plan, started_us);

CREATE TABLE baselines (
    plan    TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs (id),
    set_us  BIGINT NOT NULL
);

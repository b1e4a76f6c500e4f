-- Version 1: finished runs, their summary columns and one baseline per plan.
-- Times are Unix microseconds (UTC) so both dialects order them alike.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    plan        TEXT NOT NULL DEFAULT '',
    plan_hash   TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    started_us  INTEGER NOT NULL,
    ended_us    INTEGER,
    git_commit  TEXT,
    git_branch  TEXT,
    host        TEXT,
    tags        TEXT,
    rps         REAL,
    p95_ms      REAL,
    p99_ms      REAL,
    error_rate  REAL,
    verdict     TEXT NOT NULL DEFAULT '',
    aborted     BOOLEAN NOT NULL DEFAULT FALSE,
    doc         TEXT NOT NULL
);

CREATE INDEX runs_plan_started ON runs (plan, started_us);

CREATE TABLE baselines (
    plan    TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs (id),
    set_us  INTEGER NOT NULL
);

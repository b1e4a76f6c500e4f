-- A database as stampede schema version 1 left it: the version 1 schema,
-- frozen here (never edit it), and a few runs and a baseline. The
-- migration test loads it and opens it with the current code.
CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,
    applied_us  BIGINT NOT NULL
);
INSERT INTO schema_version (version, applied_us) VALUES (1, 1735689600000000);

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

INSERT INTO runs (id, plan, plan_hash, kind, started_us, ended_us, git_commit, git_branch, host, tags, rps, p95_ms, p99_ms, error_rate, verdict, aborted, doc) VALUES ('20250101-100000-0000aaaa', 'shop', 'h-shop', 'load', 1735725600000000, 1735725660000000, 'abc123', 'main', '{"hostname":"ci-1","os":"linux","arch":"amd64","cores":2,"gomaxprocs":2,"go_version":"go1.24.0"}', '{"env":"ci"}', 1000, 20, 30, 0.001, 'pass', FALSE, '{"version":1,"id":"20250101-100000-0000aaaa","kind":"load","plan":"shop","plan_hash":"h-shop","started_at":"2025-01-01T10:00:00Z","ended_at":"2025-01-01T10:01:00Z","aborted":false,"summary":{"requests":60000,"errors":60,"error_rate":0.001,"rps":1000,"duration_s":60,"iterations":60000,"dropped_iterations":0,"bytes_in":0,"bytes_out":0,"latency_ms":{"min":1,"mean":10,"stddev":1,"p50":10,"p90":20,"p95":20,"p99":30,"p999":30,"max":30},"service_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"start_lag_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"timing_ms":{"dns":0,"connect":0,"tls":0,"send":0,"ttfb":0,"receive":0},"max_vus":10},"steps":[],"scenarios":[],"errors":[],"series":[],"thresholds":[],"generator":{"cpu_percent":0,"cpu_s":0,"max_rss_mb":0,"start_lag_p99_ms":0,"saturated":false,"gomaxprocs":2},"verdict":"pass"}');
INSERT INTO runs (id, plan, plan_hash, kind, started_us, ended_us, git_commit, git_branch, host, tags, rps, p95_ms, p99_ms, error_rate, verdict, aborted, doc) VALUES ('20250102-100000-0000bbbb', 'shop', 'h-shop', 'load', 1735812000000000, 1735812060000000, 'def456', 'main', '{"hostname":"ci-1","os":"linux","arch":"amd64","cores":2,"gomaxprocs":2,"go_version":"go1.24.0"}', '{"env":"ci"}', 950, 22, 33, 0.002, 'pass', FALSE, '{"version":1,"id":"20250102-100000-0000bbbb","kind":"load","plan":"shop","plan_hash":"h-shop","started_at":"2025-01-02T10:00:00Z","ended_at":"2025-01-02T10:01:00Z","aborted":false,"summary":{"requests":57000,"errors":114,"error_rate":0.002,"rps":950,"duration_s":60,"iterations":57000,"dropped_iterations":0,"bytes_in":0,"bytes_out":0,"latency_ms":{"min":1,"mean":11,"stddev":1,"p50":11,"p90":22,"p95":22,"p99":33,"p999":33,"max":33},"service_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"start_lag_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"timing_ms":{"dns":0,"connect":0,"tls":0,"send":0,"ttfb":0,"receive":0},"max_vus":10},"steps":[],"scenarios":[],"errors":[],"series":[],"thresholds":[],"generator":{"cpu_percent":0,"cpu_s":0,"max_rss_mb":0,"start_lag_p99_ms":0,"saturated":false,"gomaxprocs":2},"verdict":"pass"}');
INSERT INTO runs (id, plan, plan_hash, kind, started_us, ended_us, git_commit, git_branch, host, tags, rps, p95_ms, p99_ms, error_rate, verdict, aborted, doc) VALUES ('20250103-100000-0000cccc', 'api', 'h-api', 'load', 1735898400000000, 1735898460000000, NULL, NULL, '{"hostname":"ci-1","os":"linux","arch":"amd64","cores":2,"gomaxprocs":2,"go_version":"go1.24.0"}', '{"env":"ci"}', 500, 9, 12, 0.0, 'fail', FALSE, '{"version":1,"id":"20250103-100000-0000cccc","kind":"load","plan":"api","plan_hash":"h-api","started_at":"2025-01-03T10:00:00Z","ended_at":"2025-01-03T10:01:00Z","aborted":false,"summary":{"requests":30000,"errors":0,"error_rate":0.0,"rps":500,"duration_s":60,"iterations":30000,"dropped_iterations":0,"bytes_in":0,"bytes_out":0,"latency_ms":{"min":1,"mean":5,"stddev":1,"p50":5,"p90":9,"p95":9,"p99":12,"p999":12,"max":12},"service_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"start_lag_ms":{"min":0,"mean":0,"stddev":0,"p50":0,"p90":0,"p95":0,"p99":0,"p999":0,"max":0},"timing_ms":{"dns":0,"connect":0,"tls":0,"send":0,"ttfb":0,"receive":0},"max_vus":10},"steps":[],"scenarios":[],"errors":[],"series":[],"thresholds":[],"generator":{"cpu_percent":0,"cpu_s":0,"max_rss_mb":0,"start_lag_p99_ms":0,"saturated":false,"gomaxprocs":2},"verdict":"fail"}');
INSERT INTO baselines (plan, run_id, set_us) VALUES ('shop', '20250101-100000-0000aaaa', 1735700000000000);

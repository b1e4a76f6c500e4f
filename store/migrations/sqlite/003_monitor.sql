-- Version 3: the state of `stampede monitor` for each plan it watches
-- (the open incident, when it was last alerted, its counters), so that a
-- restarted monitor neither forgets an incident nor alerts it twice.
CREATE TABLE monitor_state (
    plan       TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

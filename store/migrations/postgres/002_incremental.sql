-- Version 2: runs are written while they happen. A run is 'running' from
-- Begin until Finish ('finished') or until Recover closes it ('recovered');
-- its windows wait in run_windows until then. The writer columns identify
-- the process that owns a running run, the heartbeat when it last wrote.
ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT 'finished';
ALTER TABLE runs ADD COLUMN phase TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN p50_ms DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN writer_host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN writer_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN writer_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN heartbeat_us BIGINT NOT NULL DEFAULT 0;

CREATE INDEX runs_state ON runs (state);
CREATE INDEX runs_started ON runs (started_us);

CREATE TABLE run_windows (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    doc     JSON NOT NULL,
    PRIMARY KEY (run_id, seq)
);

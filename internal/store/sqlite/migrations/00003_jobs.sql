-- +goose Up
-- Durable jobs. A job is claimed and ended only by conditional UPDATEs on state and lease
-- (see sqlstore/jobs.go), so several runners can share this table. Times are microseconds
-- since the epoch, 0 for "not set"; JSON columns hold '' for "none".
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id         TEXT REFERENCES key_groups (id) ON DELETE CASCADE,
    schedule_id      TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    params           TEXT NOT NULL,
    state            TEXT NOT NULL,
    progress_done    INTEGER NOT NULL DEFAULT 0,
    progress_total   INTEGER NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    next_run_at      INTEGER NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_until      INTEGER NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    checkpoint       TEXT NOT NULL DEFAULT '',
    result           TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER NOT NULL DEFAULT 0,
    finished_at      INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, next_run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
CREATE INDEX jobs_account ON jobs (account_id, id);
CREATE INDEX jobs_group ON jobs (group_id, id);
CREATE INDEX jobs_schedule ON jobs (schedule_id, state);

-- A group's service log goes with its group; the audit trail is what outlives it.
CREATE TABLE service_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES key_groups (id) ON DELETE CASCADE,
    time       INTEGER NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL,
    job_id     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_log_group ON service_log (group_id, seq);

CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id     TEXT REFERENCES key_groups (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    params       TEXT NOT NULL,
    max_attempts INTEGER NOT NULL DEFAULT 0,
    rule         TEXT NOT NULL,
    start_at     INTEGER NOT NULL,
    next_run_at  INTEGER NOT NULL,
    last_run_at  INTEGER NOT NULL DEFAULT 0,
    last_job_id  TEXT NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);
CREATE INDEX schedules_account ON schedules (account_id, id);

-- +goose Down
DROP TABLE schedules;
DROP TABLE service_log;
DROP TABLE jobs;

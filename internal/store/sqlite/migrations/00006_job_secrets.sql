-- +goose Up
-- A job's one secret (key material on its way into Azure), sealed and bound to the job;
-- deleted when the job ends.
CREATE TABLE job_secrets (
    job_id     TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blob       BLOB NOT NULL
);

-- +goose Down
DROP TABLE job_secrets;

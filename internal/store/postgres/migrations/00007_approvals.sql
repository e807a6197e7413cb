-- +goose Up
-- Requests to perform an operation that a group's quorum policy holds until enough of its
-- approvers agree. The request itself (parameters, votes) is a JSON document; the columns
-- beside it are what listings filter and order by, and the version that makes concurrent
-- votes safe.
CREATE TABLE approvals (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX approvals_account ON approvals (account_id, id);

-- +goose Down
DROP TABLE approvals;

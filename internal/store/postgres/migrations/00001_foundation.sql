-- +goose Up
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE account_members (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_members_user ON account_members (user_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE key_groups (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE group_members (
    group_id       TEXT NOT NULL REFERENCES key_groups (id) ON DELETE CASCADE,
    principal_kind TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (group_id, principal_kind, principal_id)
);
CREATE INDEX group_members_principal ON group_members (principal_kind, principal_id);

CREATE TABLE apps (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    api_key_hash BYTEA NOT NULL,
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE app_certs (
    fingerprint TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE
);
CREATE INDEX app_certs_app ON app_certs (app_id);

-- Audit records outlive what they describe: no foreign keys.
CREATE TABLE audit_heads (
    account_id TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    hash       BYTEA NOT NULL
);

CREATE TABLE audit_records (
    account_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    time       BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  BYTEA NOT NULL,
    hash       BYTEA NOT NULL,
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX audit_records_time ON audit_records (account_id, time);

-- +goose Down
DROP TABLE audit_records;
DROP TABLE audit_heads;
DROP TABLE app_certs;
DROP TABLE apps;
DROP TABLE group_members;
DROP TABLE key_groups;
DROP TABLE sessions;
DROP TABLE account_members;
DROP TABLE users;
DROP TABLE accounts;
DROP TABLE meta;

-- +goose Up
CREATE TABLE cloud_credentials (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    cloud           TEXT NOT NULL,
    endpoints       TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    auth_method     TEXT NOT NULL,
    certificate_pem TEXT NOT NULL DEFAULT '',
    secret          BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE azure_links (
    group_id      TEXT PRIMARY KEY REFERENCES key_groups (id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL REFERENCES cloud_credentials (id),
    vault         TEXT NOT NULL,
    tls           TEXT NOT NULL,
    tls_key       BLOB,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    checked_at    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX azure_links_credential ON azure_links (credential_id);

-- Virtual keys: the Azure side of an object. One object per Azure key version per group,
-- so repeated or concurrent syncs cannot add a version twice.
ALTER TABLE objects ADD COLUMN cloud TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN cloud_name TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN cloud_version TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX objects_cloud ON objects (account_id, group_id, cloud_name, cloud_version) WHERE cloud_version <> '';

CREATE TABLE cloud_escrow (
    id         TEXT PRIMARY KEY, -- group id / key name: the binding of the sealed blob
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL REFERENCES key_groups (id) ON DELETE CASCADE,
    key_name   TEXT NOT NULL,
    blob       BLOB NOT NULL,
    versions   INTEGER NOT NULL,
    taken_at   INTEGER NOT NULL
);
CREATE INDEX cloud_escrow_group ON cloud_escrow (group_id, key_name);

-- +goose Down
DROP TABLE cloud_escrow;
DROP INDEX objects_cloud;
ALTER TABLE objects DROP COLUMN cloud_version;
ALTER TABLE objects DROP COLUMN cloud_name;
ALTER TABLE objects DROP COLUMN cloud;
DROP TABLE azure_links;
DROP TABLE cloud_credentials;

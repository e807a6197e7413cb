-- +goose Up
CREATE TABLE objects (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id          TEXT NOT NULL REFERENCES key_groups (id),
    -- Bytewise order, as in SQLite: listings page identically on both engines and a name
    -- prefix is an index range.
    name              TEXT COLLATE "C" NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL,
    size              BIGINT NOT NULL,
    curve             TEXT NOT NULL DEFAULT '',
    public_only       BOOLEAN NOT NULL DEFAULT FALSE,
    ops               TEXT NOT NULL,
    state             TEXT NOT NULL,
    activation_date   BIGINT NOT NULL DEFAULT 0,
    deactivation_date BIGINT NOT NULL DEFAULT 0,
    compromised_at    BIGINT NOT NULL DEFAULT 0,
    destroyed_at      BIGINT NOT NULL DEFAULT 0,
    origin            TEXT NOT NULL,
    kcv               TEXT NOT NULL DEFAULT '',
    cert              TEXT NOT NULL DEFAULT '',
    material          BYTEA,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE INDEX objects_group_name ON objects (account_id, group_id, name);

CREATE TABLE object_tags (
    object_id TEXT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (object_id, key)
);
CREATE INDEX object_tags_kv ON object_tags (key, value);

CREATE TABLE object_links (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    target_group TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL
);
CREATE INDEX object_links_source ON object_links (source_id);
CREATE INDEX object_links_target ON object_links (target_id);

-- +goose Down
DROP TABLE object_links;
DROP TABLE object_tags;
DROP TABLE objects;

-- +goose Up
-- A group's crypto and metadata policy, as JSON ('{}': none).
ALTER TABLE key_groups ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE key_groups DROP COLUMN policy;

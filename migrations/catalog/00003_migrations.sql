-- +goose Up
-- Fleet migrations: the SHA-256 of each tenant migration file, recorded the first time a
-- migrate run sees its version applied to a tenant. Every later run compares the
-- operator's files with these hashes, so an edit to a migration that already ran
-- somewhere is reported instead of silently ignored (goose never re-runs a version).
CREATE TABLE tenant_migrations (
    version     bigint PRIMARY KEY CHECK (version > 0),
    file        text NOT NULL,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- accepted_at is set when an operator accepted a changed file (--allow-changed).
    accepted_at timestamptz
);

-- +goose Down
DROP TABLE tenant_migrations;

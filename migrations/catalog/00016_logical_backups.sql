-- +goose Up
-- Per-customer logical backups (tenantctl backup run --logical): one pg_dump archive of
-- each active tenant, written whole under a temporary name and renamed before it is
-- recorded here, so a row always names a complete file. removed_at is set once the
-- retention removed the file (the row stays as history).
CREATE TABLE logical_backups (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    slug           text NOT NULL,
    server         text NOT NULL,
    path           text NOT NULL UNIQUE CHECK (path LIKE '/%'),
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    schema_version bigint NOT NULL DEFAULT 0,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    removed_at     timestamptz
);
CREATE INDEX logical_backups_tenant ON logical_backups (tenant_id, taken_at) WHERE removed_at IS NULL;

-- +goose Down
DROP TABLE logical_backups;

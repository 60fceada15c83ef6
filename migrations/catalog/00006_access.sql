-- +goose Up
-- Time-limited access of MSP staff to one tenant database, granted through tenantctl.
CREATE TABLE access_grants (
    tenant_id     text NOT NULL REFERENCES tenants (id),
    login         text NOT NULL,
    role          text NOT NULL,
    level         text NOT NULL CHECK (level IN ('read', 'write')),
    reason        text NOT NULL DEFAULT '',
    expires_at    timestamptz,
    secret_sealed bytea NOT NULL,
    granted_by    text NOT NULL,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, login)
);
CREATE UNIQUE INDEX access_grants_role ON access_grants (role);

-- +goose Down
DROP TABLE access_grants;

-- +goose Up
-- Warm pool: spare tenant databases cloned and hardened ahead of time, with their roles
-- (NOLOGIN, no password). A spare has an id like a tenant's (its database is t_<id>)
-- but no tenant row until `tenant create` claims it.
ALTER TABLE servers ADD COLUMN spares integer NOT NULL DEFAULT 0 CHECK (spares >= 0);

CREATE TABLE spares (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z2-7]{10}$'),
    server         text NOT NULL REFERENCES servers (name),
    -- building: recorded before anything is made on the server, so a killed refill
    -- leaves a row to finish or undo; ready: claimable; dropping: being removed.
    state          text NOT NULL CHECK (state IN ('building', 'ready', 'dropping')),
    template_hash  text NOT NULL,
    schema_version bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    ready_at       timestamptz
);
CREATE INDEX spares_claim ON spares (server, template_hash, created_at) WHERE state = 'ready';

-- Catalog reads at 10,000 tenants: listing by slug walks an index instead of sorting,
-- and per-server counts and state counts do not scan the table.
CREATE INDEX tenants_live_slug ON tenants (slug, created_at) WHERE state <> 'purged';
CREATE INDEX tenants_state ON tenants (state);

-- +goose Down
DROP INDEX tenants_state;
DROP INDEX tenants_live_slug;
DROP TABLE spares;
ALTER TABLE servers DROP COLUMN spares;

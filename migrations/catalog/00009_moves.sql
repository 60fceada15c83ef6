-- +goose Up
-- Data mobility. A tenant being moved to another server is in state 'moving' (its
-- database still serves from the source, writes suspended); a tenant whose database is
-- being restored from a customer's dump is 'importing' until it is hardened and
-- migrated. tenant_moves records every move with its steps, so an interrupted one is
-- finished or rolled back by a rerun or by reconcile, and the source copy kept after a
-- move (NOLOGIN for the tenant) is dropped once its retention ends.
ALTER TABLE tenants DROP CONSTRAINT tenants_state_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_state_check
    CHECK (state IN ('provisioning', 'active', 'suspended', 'moving', 'importing', 'deleting', 'purged', 'failed'));

CREATE TABLE tenant_moves (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants (id),
    method            text NOT NULL CHECK (method IN ('dump', 'logical')),
    -- No foreign keys to servers: a server may be removed while a source copy it held
    -- is still recorded here.
    source_server     text NOT NULL,
    target_server     text NOT NULL,
    -- The tenant's state before the move (active or suspended), restored after it.
    prior_state       text NOT NULL CHECK (prior_state IN ('active', 'suspended')),
    -- moving: the catalog still points at the source; switched: it points at the target
    -- and the source copy is kept until keep_source_until; done: the source copy is
    -- dropped; rolled-back: the target copy is dropped and the source serves again.
    status            text NOT NULL DEFAULT 'moving' CHECK (status IN ('moving', 'switched', 'done', 'rolled-back')),
    step              text NOT NULL DEFAULT 'planned',
    keep_source       interval NOT NULL,
    keep_source_until timestamptz,
    started_at        timestamptz NOT NULL DEFAULT now(),
    suspended_at      timestamptz,
    switched_at       timestamptz,
    resumed_at        timestamptz,
    finished_at       timestamptz,
    bytes             bigint,
    last_error        text
);
-- One move per tenant at a time.
CREATE UNIQUE INDEX tenant_moves_one_active ON tenant_moves (tenant_id) WHERE status = 'moving';
CREATE INDEX tenant_moves_open ON tenant_moves (status) WHERE status IN ('moving', 'switched');

-- +goose Down
DROP TABLE tenant_moves;
UPDATE tenants SET state = 'failed' WHERE state IN ('moving', 'importing');
ALTER TABLE tenants DROP CONSTRAINT tenants_state_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_state_check
    CHECK (state IN ('provisioning', 'active', 'suspended', 'deleting', 'purged', 'failed'));

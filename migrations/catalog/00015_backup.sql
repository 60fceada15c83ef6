-- +goose Up
-- Server backups with pgBackRest, and per-customer point-in-time restore.
--
-- backup_settings: one pgBackRest stanza per registered server. tenantctl runs
-- pgbackrest on the host that holds the server's data directory (pg_path), as the
-- directory's owner; it needs no password of its own: pgbackrest reaches the server on
-- its Unix socket as pg_user, authenticated the way the operator arranged (peer, or the
-- password file named by pg_passfile — a path only, never a secret in the catalog).
CREATE TABLE backup_settings (
    server         text PRIMARY KEY REFERENCES servers (name) ON DELETE CASCADE,
    stanza         text NOT NULL UNIQUE CHECK (stanza ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    config_path    text NOT NULL,
    repo_path      text NOT NULL,
    pg_path        text NOT NULL,
    pg_port        integer NOT NULL CHECK (pg_port BETWEEN 1 AND 65535),
    pg_socket_path text NOT NULL DEFAULT '/var/run/postgresql',
    pg_user        text NOT NULL DEFAULT 'postgres',
    pg_passfile    text NOT NULL DEFAULT '',
    retention_full integer NOT NULL DEFAULT 2 CHECK (retention_full >= 1),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Backups tenantctl ran or read from the repository (pgbackrest info), by label.
CREATE TABLE server_backups (
    server     text NOT NULL,
    label      text NOT NULL,
    type       text NOT NULL CHECK (type IN ('full', 'diff', 'incr')),
    started_at timestamptz NOT NULL,
    stopped_at timestamptz NOT NULL,
    size_bytes bigint,
    PRIMARY KEY (server, label)
);

-- A point-in-time restore of one tenant. In place: the tenant is 'restoring' (its app
-- role NOLOGIN) while its current database is renamed to kept_db and the restored copy
-- takes its name; switched means the restored copy serves and kept_db stays until
-- keep_until. As a new customer (as_tenant_id set): the scratch copy is imported like a
-- dump and the source tenant is never touched.
ALTER TABLE tenants DROP CONSTRAINT tenants_state_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_state_check
    CHECK (state IN ('provisioning', 'active', 'suspended', 'moving', 'importing', 'restoring', 'deleting', 'purged', 'failed'));

CREATE TABLE tenant_restores (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id),
    server        text NOT NULL,
    target_time   timestamptz NOT NULL,
    as_tenant_id  text REFERENCES tenants (id),
    prior_state   text NOT NULL CHECK (prior_state IN ('active', 'suspended')),
    status        text NOT NULL DEFAULT 'restoring' CHECK (status IN ('restoring', 'switched', 'done', 'rolled-back')),
    step          text NOT NULL DEFAULT 'planned',
    scratch_dir   text NOT NULL,
    kept_db       text NOT NULL,
    keep_source   interval NOT NULL,
    keep_until    timestamptz,
    started_at    timestamptz NOT NULL DEFAULT now(),
    suspended_at  timestamptz,
    switched_at   timestamptz,
    resumed_at    timestamptz,
    finished_at   timestamptz,
    tables        integer,
    rows          bigint,
    last_error    text
);
CREATE UNIQUE INDEX tenant_restores_one_active ON tenant_restores (tenant_id) WHERE status = 'restoring';
CREATE INDEX tenant_restores_open ON tenant_restores (status) WHERE status IN ('restoring', 'switched');

-- +goose Down
DROP TABLE tenant_restores;
UPDATE tenants SET state = 'failed' WHERE state = 'restoring';
ALTER TABLE tenants DROP CONSTRAINT tenants_state_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_state_check
    CHECK (state IN ('provisioning', 'active', 'suspended', 'moving', 'importing', 'deleting', 'purged', 'failed'));
DROP TABLE server_backups;
DROP TABLE backup_settings;

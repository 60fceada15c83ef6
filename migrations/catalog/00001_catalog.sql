-- +goose Up
-- The catalog: the source of truth for servers, tenants, credentials, job runs and the
-- append-only event log.

CREATE TABLE meta (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE servers (
    name             text PRIMARY KEY,
    dsn_sealed       bytea NOT NULL,
    host             text NOT NULL,
    port             integer NOT NULL,
    admin_role       text NOT NULL,
    version_num      integer NOT NULL,
    capacity         integer NOT NULL DEFAULT 1000 CHECK (capacity >= 0),
    labels           jsonb NOT NULL DEFAULT '{}'::jsonb,
    draining         boolean NOT NULL DEFAULT false,
    clone_strategy   text NOT NULL DEFAULT 'file_copy' CHECK (clone_strategy IN ('file_copy', 'wal_log')),
    template_db      text,
    template_hash    text,
    template_version bigint,
    template_built_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z2-7]{10}$'),
    slug            text NOT NULL,
    name            text NOT NULL,
    domain          text NOT NULL,
    contact_email   text,
    labels          jsonb NOT NULL DEFAULT '{}'::jsonb,
    state           text NOT NULL CHECK (state IN ('provisioning', 'active', 'suspended', 'deleting', 'purged', 'failed')),
    step            text NOT NULL DEFAULT '',
    server          text REFERENCES servers (name),
    schema_version  bigint NOT NULL DEFAULT 0,
    last_error      text,
    migration_error text,
    migration_failed_version bigint,
    migration_failed_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    purged_at       timestamptz
);

-- Slugs and email domains are unique among every tenant that is not purged: a domain
-- becomes free again only once the purge has destroyed the old tenant's data.
CREATE UNIQUE INDEX tenants_slug_live ON tenants (slug) WHERE state <> 'purged';
CREATE UNIQUE INDEX tenants_domain_live ON tenants (domain) WHERE state <> 'purged';
CREATE INDEX tenants_server ON tenants (server) WHERE state <> 'purged';

-- The email domain is immutable once a tenant exists.
-- +goose StatementBegin
CREATE FUNCTION tenants_domain_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.domain IS DISTINCT FROM OLD.domain THEN
        RAISE EXCEPTION 'the email domain of tenant % is immutable', OLD.slug
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER tenants_domain_immutable BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenants_domain_immutable();

CREATE TABLE credentials (
    tenant_id   text NOT NULL REFERENCES tenants (id),
    role        text NOT NULL,
    secret_sealed bytea NOT NULL,
    rotated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, role)
);

CREATE TABLE warehouse (
    id            integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    dsn_sealed    bytea NOT NULL,
    host          text NOT NULL,
    port          integer NOT NULL,
    database      text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text NOT NULL,
    action    text NOT NULL,
    tenant_id text,
    slug      text,
    details   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_tenant ON events (tenant_id, id);

-- The event log is append-only.
-- +goose StatementBegin
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE job_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         text NOT NULL,
    node        text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    error       text,
    counts      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX job_runs_started ON job_runs (started_at DESC);

-- +goose Down
DROP TABLE job_runs;
DROP TABLE events;
DROP FUNCTION events_append_only();
DROP TABLE warehouse;
DROP TABLE credentials;
DROP TABLE tenants;
DROP FUNCTION tenants_domain_immutable();
DROP TABLE servers;
DROP TABLE meta;

-- +goose Up
-- The MSP-only warehouse: rolled-up tenant tables live in schema public (created by the
-- rollup on first sight); schema tenantctl holds the tenant dimension and watermarks.
CREATE SCHEMA tenantctl;

CREATE TABLE tenantctl.tenants (
    id         text PRIMARY KEY,
    slug       text NOT NULL,
    name       text NOT NULL,
    domain     text NOT NULL,
    server     text,
    state      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per tenant and rolled-up table. xmin_watermark is the tenant database's
-- pg_snapshot_xmin() at the last successful run: every transaction below it had finished
-- and was copied then. It is written in the same transaction as the rows it covers.
CREATE TABLE tenantctl.watermarks (
    tenant_id      text NOT NULL,
    table_name     text NOT NULL,
    xmin_watermark bigint,
    rows_copied    bigint NOT NULL DEFAULT 0,
    rows_deleted   bigint NOT NULL DEFAULT 0,
    last_run       timestamptz,
    last_error     text,
    last_error_at  timestamptz,
    PRIMARY KEY (tenant_id, table_name)
);

-- +goose Down
DROP SCHEMA tenantctl CASCADE;

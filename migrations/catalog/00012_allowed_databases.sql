-- +goose Up
-- Databases an operator declares on a server ('tenantctl server set NAME
-- --allow-database DB'): connectable databases that are neither a tenant's nor
-- tenantctl's. The audit still probes them with tenant credentials; an undeclared one
-- is reported.
CREATE TABLE server_allowed_databases (
    server     text NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
    datname    text NOT NULL CHECK (datname <> '' AND octet_length(datname) <= 63),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server, datname)
);

-- +goose Down
DROP TABLE server_allowed_databases;

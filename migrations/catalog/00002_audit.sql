-- +goose Up
-- Audit run history: every `tenantctl audit` run with its result, the violations it
-- found, what changed since the previous run of the same scope, and the SHA-256 of its
-- JSON report, so a filed report can be matched to its run.
CREATE TABLE audit_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    node          text NOT NULL,
    actor         text NOT NULL,
    scope         text NOT NULL DEFAULT '',      -- a tenant slug, or '' for the whole fleet
    probes        boolean NOT NULL,
    passed        boolean NOT NULL,
    tenants       integer NOT NULL,
    checks        integer NOT NULL,
    violations    jsonb NOT NULL DEFAULT '[]'::jsonb,
    changes       jsonb NOT NULL DEFAULT '{}'::jsonb,
    report_sha256 text NOT NULL CHECK (report_sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_runs_scope ON audit_runs (scope, probes, id DESC);

-- +goose Down
DROP TABLE audit_runs;

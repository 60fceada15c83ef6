-- +goose Up
-- Operators of `tenantctl serve` (the console and the API), their console sessions,
-- failed logins (for rate limiting, shared by every replica) and the API's idempotency
-- keys. Tokens and session ids are stored only as SHA-256 hashes: the catalog never
-- holds anything that would let a reader act as an operator.
CREATE TABLE operators (
    login        text PRIMARY KEY CHECK (login ~ '^[a-z][a-z0-9._-]{0,30}$'),
    role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    token_sha256 bytea NOT NULL CHECK (length(token_sha256) = 32),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX operators_token ON operators (token_sha256);

CREATE TABLE operator_sessions (
    id_sha256  bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
    login      text NOT NULL REFERENCES operators (login) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX operator_sessions_expires ON operator_sessions (expires_at);

CREATE TABLE operator_login_failures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login  text NOT NULL,
    source text NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_login_failures_login ON operator_login_failures (login, at);
CREATE INDEX operator_login_failures_source ON operator_login_failures (source, at);

-- One row per (operator, Idempotency-Key) of a create request: a retried request gets
-- the first one's answer instead of a second tenant or a 409.
CREATE TABLE idempotency_keys (
    login          text NOT NULL,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_sha256 text NOT NULL,
    status         integer,          -- NULL while the first request is still running
    body           bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (login, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE operator_login_failures;
DROP TABLE operator_sessions;
DROP TABLE operators;

-- +goose Up
-- Each template's fingerprint: a hash of its objects, owners and privileges (system
-- schemas included) taken when it was built. Every clone is fingerprinted before it is
-- handed to a tenant or a spare; a clone that differs means the template drifted, and
-- the template is rebuilt instead of cloned again.
CREATE TABLE template_fingerprints (
    server      text NOT NULL REFERENCES servers (name) ON DELETE CASCADE,
    template_db text NOT NULL,
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    built_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (server, template_db)
);

-- +goose Down
DROP TABLE template_fingerprints;

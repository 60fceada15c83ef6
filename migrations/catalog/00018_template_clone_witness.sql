-- +goose Up
-- The clone witness of a template: the version of its pg_database row (oid, xmin,
-- ctid) under which a clone of it was fingerprinted and matched. Nobody can enter a
-- template whose ALLOW_CONNECTIONS is false without changing that row, so a later
-- clone made while the row is still that version is the same template, unaltered, and
-- needs no fingerprint of its own (see docs/performance.md, "The clone's check").
-- Attached to the fingerprint it was verified against; cleared when the template is
-- rebuilt.
ALTER TABLE template_fingerprints ADD COLUMN clone_witness text CHECK (clone_witness ~ '^[0-9]+/[0-9]+/\([0-9]+,[0-9]+\)$');

-- +goose Down
ALTER TABLE template_fingerprints DROP COLUMN clone_witness;

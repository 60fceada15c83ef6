-- +goose Up
-- An in-place restore from an export (tenant restore SLUG --from-export FILE) instead of
-- the server's pgBackRest backups: source_file is the archive's absolute path and
-- source_sha256 its SHA-256 as recorded when it was written (a logical backup's record,
-- or the tenant.export event); the file is checked against it before every use.
-- target_time is then the time the archive was taken.
ALTER TABLE tenant_restores ADD COLUMN source_file text CHECK (source_file LIKE '/%');
ALTER TABLE tenant_restores ADD COLUMN source_sha256 text CHECK (source_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE tenant_restores ADD CONSTRAINT tenant_restores_source_whole CHECK ((source_file IS NULL) = (source_sha256 IS NULL));

-- +goose Down
ALTER TABLE tenant_restores DROP CONSTRAINT tenant_restores_source_whole;
ALTER TABLE tenant_restores DROP COLUMN source_sha256;
ALTER TABLE tenant_restores DROP COLUMN source_file;

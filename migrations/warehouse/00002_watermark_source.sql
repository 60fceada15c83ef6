-- +goose Up
-- What a watermark is valid for. source names the tenant database the watermark's
-- transaction ids belong to (server and database oid): a tenant moved to another server
-- or restored into a new database starts again with a full copy. signature is the set of
-- columns (and their warehouse types) copied under it: a column added to the tenant's
-- table, whose existing rows keep their old xmin, also forces a full copy of that table.
-- last_mode records how the last successful run copied the table (full or incremental).
-- row_count is the number of the tenant's rows in the warehouse table after that run:
-- the next run tells from it whether rows were deleted without counting the warehouse.
ALTER TABLE tenantctl.watermarks
    ADD COLUMN source    text,
    ADD COLUMN signature text,
    ADD COLUMN last_mode text,
    ADD COLUMN row_count bigint;

-- +goose Down
ALTER TABLE tenantctl.watermarks
    DROP COLUMN source,
    DROP COLUMN signature,
    DROP COLUMN last_mode,
    DROP COLUMN row_count;

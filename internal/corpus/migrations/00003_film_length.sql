-- +goose Up
-- A later fleet change, rolled out to every customer (and back, in the tests).
ALTER TABLE film ADD COLUMN length smallint CHECK (length > 0);

-- +goose Down
ALTER TABLE film DROP COLUMN length;

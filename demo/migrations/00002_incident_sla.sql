-- +goose Up
-- The demo's first operator migration: every incident gets an SLA in hours, and the
-- service desk sorts its queue by priority.
ALTER TABLE incidents ADD COLUMN sla_hours integer NOT NULL DEFAULT 24 CHECK (sla_hours > 0);
CREATE INDEX incidents_priority ON incidents (priority, opened_at);

-- +goose Down
DROP INDEX incidents_priority;
ALTER TABLE incidents DROP COLUMN sla_hours;

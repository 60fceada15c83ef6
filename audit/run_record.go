package audit

import (
	"context"
	"fmt"

	"github.com/tenantctl/tenantctl/catalog"
)

// GetRun returns one recorded audit run, or [ErrRunNotFound].
func GetRun(ctx context.Context, st *catalog.Store, id int64) (HistoryRun, error) {
	var h HistoryRun
	err := st.Pool().QueryRow(ctx, `
		SELECT id, started_at, finished_at, node, actor, scope, probes, passed, tenants, checks,
		       jsonb_array_length(violations), coalesce(jsonb_array_length(changes->'new'), 0),
		       coalesce(jsonb_array_length(changes->'resolved'), 0), coalesce((changes->>'previous_run')::bigint, 0), report_sha256
		FROM audit_runs WHERE id = $1`, id).
		Scan(&h.ID, &h.StartedAt, &h.FinishedAt, &h.Node, &h.Actor, &h.Scope, &h.Probes, &h.Passed, &h.Tenants,
			&h.Checks, &h.Violations, &h.New, &h.Resolved, &h.PreviousRun, &h.ReportSHA256)
	if err != nil {
		return h, fmt.Errorf("audit run %d: %w", id, ErrRunNotFound)
	}
	return h, nil
}

// RunChanges returns what changed between a recorded run and the run before it of the
// same scope (nil when there was none).
func RunChanges(ctx context.Context, st *catalog.Store, id int64) (*Changes, error) {
	var c Changes
	var prev *int64
	err := st.Pool().QueryRow(ctx, `SELECT (changes->>'previous_run')::bigint, coalesce(changes->'new', '[]'), coalesce(changes->'resolved', '[]')
		FROM audit_runs WHERE id = $1`, id).Scan(&prev, &c.New, &c.Resolved)
	if err != nil {
		return nil, fmt.Errorf("audit run %d: %w", id, ErrRunNotFound)
	}
	if prev == nil {
		return nil, nil
	}
	c.PreviousRun = *prev
	return &c, nil
}

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

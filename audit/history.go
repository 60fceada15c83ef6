package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
)

// HistoryRun is one recorded audit run.
type HistoryRun struct {
	ID         int64     `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Node       string    `json:"node"`
	Actor      string    `json:"actor"`
	// Scope is the tenant slug the run was narrowed to, or "" for the whole fleet.
	Scope      string `json:"scope"`
	Probes     bool   `json:"probes"`
	Passed     bool   `json:"passed"`
	Tenants    int    `json:"tenants"`
	Checks     int    `json:"checks"`
	Violations int    `json:"violations"`
	// New and Resolved count the violations that appeared and disappeared since the
	// previous run of the same scope.
	New          int    `json:"new"`
	Resolved     int    `json:"resolved"`
	PreviousRun  int64  `json:"previous_run,omitempty"`
	ReportSHA256 string `json:"report_sha256"`
}

// record stores the run in the catalog's audit history, after comparing its
// violations with the previous run of the same scope, probes on or off alike
// (r.Changes), and sealing the JSON report (r.SHA256).
func record(ctx context.Context, st *catalog.Store, r *Report, node string) error {
	var prevID int64
	var prevRaw []byte
	err := st.Pool().QueryRow(ctx, `SELECT id, violations FROM audit_runs WHERE scope = $1 AND probes = $2 ORDER BY id DESC LIMIT 1`,
		r.Scope.Tenant, r.Scope.Probes).
		Scan(&prevID, &prevRaw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	default:
		var prev []Violation
		if err := json.Unmarshal(prevRaw, &prev); err != nil {
			return fmt.Errorf("read previous run %d: %w", prevID, err)
		}
		r.Changes = diff(prevID, prev, r.Violations)
	}
	if _, err := r.seal(); err != nil {
		return err
	}
	changes := map[string]any{}
	if r.Changes != nil {
		changes = map[string]any{"previous_run": r.Changes.PreviousRun, "new": r.Changes.New, "resolved": r.Changes.Resolved}
	}
	return st.Pool().QueryRow(ctx, `
		INSERT INTO audit_runs (started_at, finished_at, node, actor, scope, probes, passed, tenants, checks, violations, changes, report_sha256)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		r.StartedAt, r.FinishedAt, node, st.Actor, r.Scope.Tenant, r.Scope.Probes, r.Passed, r.Tenants, r.Checks,
		r.Violations, changes, r.SHA256).Scan(&r.RunID)
}

// History returns the most recent audit runs, newest first (limit <= 0: 20).
func History(ctx context.Context, st *catalog.Store, limit int) ([]HistoryRun, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := st.Pool().Query(ctx, `
		SELECT id, started_at, finished_at, node, actor, scope, probes, passed, tenants, checks,
		       jsonb_array_length(violations), coalesce(jsonb_array_length(changes->'new'), 0),
		       coalesce(jsonb_array_length(changes->'resolved'), 0), coalesce((changes->>'previous_run')::bigint, 0), report_sha256
		FROM audit_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (HistoryRun, error) {
		var h HistoryRun
		err := row.Scan(&h.ID, &h.StartedAt, &h.FinishedAt, &h.Node, &h.Actor, &h.Scope, &h.Probes, &h.Passed, &h.Tenants,
			&h.Checks, &h.Violations, &h.New, &h.Resolved, &h.PreviousRun, &h.ReportSHA256)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit history: %w", err)
	}
	if out == nil {
		out = []HistoryRun{}
	}
	return out, nil
}

// RunViolations returns the violations a recorded run found.
func RunViolations(ctx context.Context, st *catalog.Store, id int64) ([]Violation, error) {
	var raw []byte
	err := st.Pool().QueryRow(ctx, `SELECT violations FROM audit_runs WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("audit run %d: %w", id, ErrRunNotFound)
	}
	if err != nil {
		return nil, err
	}
	var out []Violation
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}

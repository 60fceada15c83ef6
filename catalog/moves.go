package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tenant states of data mobility (see migration 00009).
const (
	// StateMoving: the tenant's database is being copied to another server; the catalog
	// still points at the source, whose app role is NOLOGIN.
	StateMoving = "moving"
	// StateImporting: the tenant's database is being restored from a customer's dump.
	StateImporting = "importing"
)

// Move statuses.
const (
	MoveMoving     = "moving"
	MoveSwitched   = "switched"
	MoveDone       = "done"
	MoveRolledBack = "rolled-back"
)

// Move methods, as recorded in tenant_moves.method.
const (
	MoveMethodDump    = "dump"
	MoveMethodLogical = "logical"
)

// ErrMoveInProgress is returned by [Store.StartMove] when the tenant already has a move
// under way.
var ErrMoveInProgress = errors.New("the tenant already has a move in progress")

// Move is one row of tenant_moves.
type Move struct {
	ID              int64         `json:"id"`
	TenantID        string        `json:"tenant_id"`
	Slug            string        `json:"slug"`
	Method          string        `json:"method"`
	Source          string        `json:"source_server"`
	Target          string        `json:"target_server"`
	PriorState      string        `json:"prior_state"`
	Status          string        `json:"status"`
	Step            string        `json:"step"`
	KeepSource      time.Duration `json:"keep_source"`
	KeepSourceUntil *time.Time    `json:"keep_source_until,omitempty"`
	StartedAt       time.Time     `json:"started_at"`
	SuspendedAt     *time.Time    `json:"suspended_at,omitempty"`
	SwitchedAt      *time.Time    `json:"switched_at,omitempty"`
	ResumedAt       *time.Time    `json:"resumed_at,omitempty"`
	FinishedAt      *time.Time    `json:"finished_at,omitempty"`
	Bytes           *int64        `json:"bytes,omitempty"`
	LastError       string        `json:"last_error,omitempty"`
}

const moveColumns = `m.id, m.tenant_id, t.slug, m.method, m.source_server, m.target_server, m.prior_state, m.status, m.step,
	m.keep_source, m.keep_source_until, m.started_at, m.suspended_at, m.switched_at, m.resumed_at, m.finished_at, m.bytes,
	coalesce(m.last_error, '')`

func scanMove(row pgx.Row) (Move, error) {
	var m Move
	err := row.Scan(&m.ID, &m.TenantID, &m.Slug, &m.Method, &m.Source, &m.Target, &m.PriorState, &m.Status, &m.Step,
		&m.KeepSource, &m.KeepSourceUntil, &m.StartedAt, &m.SuspendedAt, &m.SwitchedAt, &m.ResumedAt, &m.FinishedAt, &m.Bytes,
		&m.LastError)
	return m, err
}

// StartMove records a new move and puts the tenant in state moving, in one transaction.
// The tenant must be active or suspended on m.Source; a tenant already moving gives
// [ErrMoveInProgress].
func (s *Store) StartMove(ctx context.Context, m Move) (Move, error) {
	var out Move
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		state, server, err := moveRecords.begin(ctx, tx, m.TenantID)
		if err != nil {
			return err
		}
		if server != m.Source {
			return fmt.Errorf("tenant is on server %s, not %s", server, m.Source)
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO tenant_moves (tenant_id, method, source_server, target_server, prior_state, keep_source)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, m.TenantID, m.Method, m.Source, m.Target, state, m.KeepSource).Scan(&id)
		if err := moveRecords.started(ctx, tx, m.TenantID, err); err != nil {
			return err
		}
		if err := s.AppendEvent(ctx, tx, Event{Action: "tenant.move.start", TenantID: m.TenantID, Slug: m.Slug, Details: map[string]any{
			"move": id, "method": m.Method, "from": m.Source, "to": m.Target, "keep_source": m.KeepSource.String(),
		}}); err != nil {
			return err
		}
		out, err = scanMove(tx.QueryRow(ctx, `SELECT `+moveColumns+` FROM tenant_moves m JOIN tenants t ON t.id = m.tenant_id WHERE m.id = $1`, id))
		return err
	})
	return out, err
}

// GetMove returns one move.
func (s *Store) GetMove(ctx context.Context, id int64) (Move, error) {
	return scanMove(s.pool.QueryRow(ctx, `SELECT `+moveColumns+` FROM tenant_moves m JOIN tenants t ON t.id = m.tenant_id WHERE m.id = $1`, id))
}

// MoveFilter narrows [Store.ListMoves]; empty fields match everything.
type MoveFilter struct {
	TenantID string
	Statuses []string
	Source   string
}

// ListMoves returns moves, oldest first.
func (s *Store) ListMoves(ctx context.Context, f MoveFilter) ([]Move, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+moveColumns+` FROM tenant_moves m JOIN tenants t ON t.id = m.tenant_id
		WHERE ($1 = '' OR m.tenant_id = $1) AND (coalesce(cardinality($2::text[]), 0) = 0 OR m.status = ANY($2))
		  AND ($3 = '' OR m.source_server = $3)
		ORDER BY m.id`, f.TenantID, f.Statuses, f.Source)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Move, error) { return scanMove(r) })
}

// MoveUpdate is a change to a move row; nil fields are left alone.
type MoveUpdate struct {
	Step      *string
	Suspended bool // sets suspended_at (once)
	Resumed   bool // sets resumed_at (once)
	Bytes     *int64
	LastError *string
}

// UpdateMove records a move's progress.
func (s *Store) UpdateMove(ctx context.Context, id int64, u MoveUpdate) error {
	_, err := s.pool.Exec(ctx, `UPDATE tenant_moves SET step = coalesce($2, step),
		suspended_at = CASE WHEN $3 THEN coalesce(suspended_at, now()) ELSE suspended_at END,
		resumed_at = CASE WHEN $4 THEN coalesce(resumed_at, now()) ELSE resumed_at END,
		bytes = coalesce($5, bytes),
		last_error = CASE WHEN $6::text IS NULL THEN last_error ELSE NULLIF($6, '') END
		WHERE id = $1`, id, u.Step, u.Suspended, u.Resumed, u.Bytes, u.LastError)
	if err != nil {
		return fmt.Errorf("record move %d: %w", id, err)
	}
	return nil
}

// SwitchMove points the tenant at the move's target server and gives it back its prior
// state, in one transaction with the move's status: from here on the move can only go
// forward.
func (s *Store) SwitchMove(ctx context.Context, m Move, details map[string]any) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET server = $2, state = $3, updated_at = now()
			WHERE id = $1 AND state = 'moving' AND server = $4`, m.TenantID, m.Target, m.PriorState, m.Source)
		if err != nil {
			return fmt.Errorf("switch tenant to %s: %w", m.Target, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("switch tenant to %s: the tenant is no longer moving from %s", m.Target, m.Source)
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_moves SET status = 'switched', step = 'switched', switched_at = now(),
			keep_source_until = now() + keep_source WHERE id = $1 AND status = 'moving'`, m.ID); err != nil {
			return fmt.Errorf("record move %d: %w", m.ID, err)
		}
		d := map[string]any{"move": m.ID, "from": m.Source, "to": m.Target}
		maps.Copy(d, details)
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.move.switched", TenantID: m.TenantID, Slug: m.Slug, Details: d})
	})
}

// RollBackMove gives a tenant whose move did not switch its prior state back (on the
// source server) and marks the move rolled back.
func (s *Store) RollBackMove(ctx context.Context, m Move, reason string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if settled, err := moveRecords.rollBack(ctx, tx, m.ID, m.TenantID, m.PriorState, reason); err != nil || !settled {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.move.rolled-back", TenantID: m.TenantID, Slug: m.Slug,
			Details: map[string]any{"move": m.ID, "from": m.Source, "to": m.Target, "reason": reason}})
	})
}

// FinishMove marks a switched move done once its source copy is dropped.
func (s *Store) FinishMove(ctx context.Context, m Move) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if settled, err := moveRecords.finish(ctx, tx, m.ID, "source-dropped"); err != nil || !settled {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.move.source-dropped", TenantID: m.TenantID, Slug: m.Slug,
			Details: map[string]any{"move": m.ID, "server": m.Source}})
	})
}

// MoveCopies lists, by server, the ids of tenants whose database the catalog expects
// there because of a move although the tenant is not placed there: the target copy of a
// move in progress and the source copy kept after a switch.
func (s *Store) MoveCopies(ctx context.Context) (map[string]map[string]bool, error) {
	return copiesByServer[bool](ctx, s, "move", `SELECT CASE WHEN status = 'moving' THEN target_server ELSE source_server END, tenant_id, true
		FROM tenant_moves WHERE status IN ('moving', 'switched')`)
}

// InsertImportingTenant records a new tenant in state importing (its database is to be
// restored from a dump), like [Store.InsertTenant].
func (s *Store) InsertImportingTenant(ctx context.Context, t Tenant, details map[string]any) error {
	return s.insertTenant(ctx, t, StateImporting, "tenant.import.start", details)
}

// UpdateJobCounts records a running job's progress, so `jobs` shows how far it got.
func (s *Store) UpdateJobCounts(ctx context.Context, id int64, counts map[string]int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_runs SET counts = $2 WHERE id = $1 AND status = 'running'`, id, counts)
	return err
}

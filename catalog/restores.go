package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// StateRestoring means the tenant's database is being restored in place from a backup; its
// app role is NOLOGIN and its database may be absent for a moment (renamed aside).
const StateRestoring = "restoring"

// Restore statuses.
const (
	RestoreRestoring  = "restoring"
	RestoreSwitched   = "switched"
	RestoreDone       = "done"
	RestoreRolledBack = "rolled-back"
)

// ErrRestoreInProgress is returned by [Store.StartRestore] when the tenant already has a
// restore (or a move) under way.
var ErrRestoreInProgress = errors.New("the tenant already has a restore or a move in progress")

// Restore is one row of tenant_restores.
type Restore struct {
	ID          int64         `json:"id"`
	TenantID    string        `json:"tenant_id"`
	Slug        string        `json:"slug"`
	Server      string        `json:"server"`
	TargetTime  time.Time     `json:"target_time"`
	PriorState  string        `json:"prior_state"`
	Status      string        `json:"status"`
	Step        string        `json:"step"`
	ScratchDir  string        `json:"scratch_dir"`
	KeptDB      string        `json:"kept_db"`
	KeepSource  time.Duration `json:"keep_source"`
	KeepUntil   *time.Time    `json:"keep_until,omitempty"`
	StartedAt   time.Time     `json:"started_at"`
	SuspendedAt *time.Time    `json:"suspended_at,omitempty"`
	SwitchedAt  *time.Time    `json:"switched_at,omitempty"`
	ResumedAt   *time.Time    `json:"resumed_at,omitempty"`
	FinishedAt  *time.Time    `json:"finished_at,omitempty"`
	Tables      *int          `json:"tables,omitempty"`
	Rows        *int64        `json:"rows,omitempty"`
	LastError   string        `json:"last_error,omitempty"`
	// SourceFile, for a restore from an export, is the archive's absolute path and
	// SourceSHA256 its recorded SHA-256 (empty for a point-in-time restore).
	SourceFile   string `json:"source_file,omitempty"`
	SourceSHA256 string `json:"source_sha256,omitempty"`
}

const restoreColumns = `r.id, r.tenant_id, t.slug, r.server, r.target_time, r.prior_state, r.status, r.step, r.scratch_dir,
	r.kept_db, r.keep_source, r.keep_until, r.started_at, r.suspended_at, r.switched_at, r.resumed_at, r.finished_at,
	r.tables, r.rows, coalesce(r.last_error, ''), coalesce(r.source_file, ''), coalesce(r.source_sha256, '')`

func scanRestore(row pgx.Row) (Restore, error) {
	var r Restore
	err := row.Scan(&r.ID, &r.TenantID, &r.Slug, &r.Server, &r.TargetTime, &r.PriorState, &r.Status, &r.Step, &r.ScratchDir,
		&r.KeptDB, &r.KeepSource, &r.KeepUntil, &r.StartedAt, &r.SuspendedAt, &r.SwitchedAt, &r.ResumedAt, &r.FinishedAt,
		&r.Tables, &r.Rows, &r.LastError, &r.SourceFile, &r.SourceSHA256)
	return r, err
}

// StartRestore records an in-place restore and puts the tenant in state restoring, in
// one transaction. keptDB names the kept copy from the new row's id.
func (s *Store) StartRestore(ctx context.Context, r Restore, keptDB func(id int64) string) (Restore, error) {
	var out Restore
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		state, server, err := restoreRecords.begin(ctx, tx, r.TenantID)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('tenant_restores', 'id'))`).Scan(&id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tenant_restores (id, tenant_id, server, target_time, prior_state, scratch_dir, kept_db, keep_source,
			source_file, source_sha256)
			OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), NULLIF($10, ''))`,
			id, r.TenantID, server, r.TargetTime, state, r.ScratchDir, keptDB(id), r.KeepSource, r.SourceFile, r.SourceSHA256)
		if err := restoreRecords.started(ctx, tx, r.TenantID, err); err != nil {
			return err
		}
		details := map[string]any{
			"restore": id, "server": server, "target_time": r.TargetTime.UTC().Format(time.RFC3339Nano), "keep_source": r.KeepSource.String(),
		}
		if r.SourceFile != "" {
			details["source_file"], details["source_sha256"] = r.SourceFile, r.SourceSHA256
		}
		if err := s.AppendEvent(ctx, tx, Event{Action: "tenant.restore.start", TenantID: r.TenantID, Slug: r.Slug, Details: details}); err != nil {
			return err
		}
		out, err = scanRestore(tx.QueryRow(ctx, `SELECT `+restoreColumns+` FROM tenant_restores r JOIN tenants t ON t.id = r.tenant_id WHERE r.id = $1`, id))
		return err
	})
	return out, err
}

// GetRestore returns one restore.
func (s *Store) GetRestore(ctx context.Context, id int64) (Restore, error) {
	return scanRestore(s.pool.QueryRow(ctx, `SELECT `+restoreColumns+` FROM tenant_restores r JOIN tenants t ON t.id = r.tenant_id WHERE r.id = $1`, id))
}

// ListRestores returns restores of a tenant ("" for every tenant) with one of the
// statuses (none for every status), oldest first.
func (s *Store) ListRestores(ctx context.Context, tenantID string, statuses ...string) ([]Restore, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+restoreColumns+` FROM tenant_restores r JOIN tenants t ON t.id = r.tenant_id
		WHERE ($1 = '' OR r.tenant_id = $1) AND (coalesce(cardinality($2::text[]), 0) = 0 OR r.status = ANY($2))
		ORDER BY r.id`, tenantID, statuses)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Restore, error) { return scanRestore(r) })
}

// RestoreUpdate is a change to a restore row; nil fields are left alone.
type RestoreUpdate struct {
	Step      *string
	Suspended bool
	Resumed   bool
	Tables    *int
	Rows      *int64
}

// UpdateRestore records a restore's progress.
func (s *Store) UpdateRestore(ctx context.Context, id int64, u RestoreUpdate) error {
	_, err := s.pool.Exec(ctx, `UPDATE tenant_restores SET step = coalesce($2, step),
		suspended_at = CASE WHEN $3 THEN coalesce(suspended_at, now()) ELSE suspended_at END,
		resumed_at = CASE WHEN $4 THEN coalesce(resumed_at, now()) ELSE resumed_at END,
		tables = coalesce($5, tables), rows = coalesce($6, rows)
		WHERE id = $1`, id, u.Step, u.Suspended, u.Resumed, u.Tables, u.Rows)
	if err != nil {
		return fmt.Errorf("record restore %d: %w", id, err)
	}
	return nil
}

// SwitchRestore gives the tenant back its prior state with the restored database in
// place, in one transaction with the restore's status: from here on it only goes
// forward.
func (s *Store) SwitchRestore(ctx context.Context, r Restore) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenants SET state = $2, updated_at = now() WHERE id = $1 AND state = 'restoring'`, r.TenantID, r.PriorState)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("switch restore %d: the tenant is no longer restoring", r.ID)
		}
		if _, err := tx.Exec(ctx, `UPDATE tenant_restores SET status = 'switched', step = 'switched', switched_at = now(),
			keep_until = now() + keep_source WHERE id = $1 AND status = 'restoring'`, r.ID); err != nil {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.restore.switched", TenantID: r.TenantID, Slug: r.Slug, Details: map[string]any{
			"restore": r.ID, "server": r.Server, "target_time": r.TargetTime.UTC().Format(time.RFC3339Nano), "kept_db": r.KeptDB,
		}})
	})
}

// RollBackRestore gives a tenant whose restore did not switch its prior state back and
// marks the restore rolled back.
func (s *Store) RollBackRestore(ctx context.Context, r Restore, reason string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if settled, err := restoreRecords.rollBack(ctx, tx, r.ID, r.TenantID, r.PriorState, reason); err != nil || !settled {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.restore.rolled-back", TenantID: r.TenantID, Slug: r.Slug,
			Details: map[string]any{"restore": r.ID, "reason": reason}})
	})
}

// FinishRestore marks a switched restore done once its kept copy is dropped.
func (s *Store) FinishRestore(ctx context.Context, r Restore) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if settled, err := restoreRecords.finish(ctx, tx, r.ID, "kept-dropped"); err != nil || !settled {
			return err
		}
		return s.AppendEvent(ctx, tx, Event{Action: "tenant.restore.kept-dropped", TenantID: r.TenantID, Slug: r.Slug,
			Details: map[string]any{"restore": r.ID, "server": r.Server, "database": r.KeptDB}})
	})
}

// RestoreCopies lists, by server, the kept copies of restores the catalog expects there
// (database name → tenant id): a restore in progress or one switched and not yet done.
func (s *Store) RestoreCopies(ctx context.Context) (map[string]map[string]string, error) {
	return copiesByServer[string](ctx, s, "restore", `SELECT server, kept_db, tenant_id FROM tenant_restores WHERE status IN ('restoring', 'switched')`)
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLogicalBackupNotFound is returned by [Store.GetLogicalBackupByPath] for a file no
// logical backup recorded.
var ErrLogicalBackupNotFound = errors.New("no logical backup recorded for the file")

// LogicalBackup is one per-customer pg_dump archive written by a logical backup run
// (migration 00016). RemovedAt is set once the retention removed the file.
type LogicalBackup struct {
	ID            int64      `json:"id"`
	TenantID      string     `json:"tenant_id"`
	Slug          string     `json:"slug"`
	Server        string     `json:"server"`
	Path          string     `json:"path"`
	SizeBytes     int64      `json:"size_bytes"`
	SHA256        string     `json:"sha256"`
	SchemaVersion int64      `json:"schema_version"`
	TakenAt       time.Time  `json:"taken_at"`
	RemovedAt     *time.Time `json:"removed_at,omitempty"`
}

const logicalBackupColumns = `id, tenant_id, slug, server, path, size_bytes, sha256, schema_version, taken_at, removed_at`

func scanLogicalBackup(row pgx.Row) (LogicalBackup, error) {
	var b LogicalBackup
	err := row.Scan(&b.ID, &b.TenantID, &b.Slug, &b.Server, &b.Path, &b.SizeBytes, &b.SHA256, &b.SchemaVersion, &b.TakenAt, &b.RemovedAt)
	return b, err
}

// RecordLogicalBackup records a complete archive and returns it as recorded (taken now,
// unless b.TakenAt says when).
func (s *Store) RecordLogicalBackup(ctx context.Context, b LogicalBackup) (LogicalBackup, error) {
	var taken *time.Time // zero: now
	if !b.TakenAt.IsZero() {
		taken = &b.TakenAt
	}
	out, err := scanLogicalBackup(s.pool.QueryRow(ctx, `INSERT INTO logical_backups (tenant_id, slug, server, path, size_bytes, sha256, schema_version, taken_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now())) RETURNING `+logicalBackupColumns,
		b.TenantID, b.Slug, b.Server, b.Path, b.SizeBytes, b.SHA256, b.SchemaVersion, taken))
	if err != nil {
		return out, fmt.Errorf("record logical backup %s: %w", b.Path, err)
	}
	return out, nil
}

// LogicalBackupFilter selects logical backups; the zero value lists the files present.
type LogicalBackupFilter struct {
	TenantID string
	Server   string
	// Removed also lists the files the retention removed.
	Removed bool
	// Before lists only backups taken before it (zero: any time).
	Before time.Time
}

// ListLogicalBackups lists logical backups, oldest first.
func (s *Store) ListLogicalBackups(ctx context.Context, f LogicalBackupFilter) ([]LogicalBackup, error) {
	var before *time.Time
	if !f.Before.IsZero() {
		before = &f.Before
	}
	rows, err := s.pool.Query(ctx, `SELECT `+logicalBackupColumns+` FROM logical_backups
		WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR server = $2) AND ($3 OR removed_at IS NULL)
			AND ($4::timestamptz IS NULL OR taken_at < $4)
		ORDER BY taken_at, id`, f.TenantID, f.Server, f.Removed, before)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LogicalBackup, error) { return scanLogicalBackup(r) })
}

// GetLogicalBackupByPath returns the logical backup recorded for an absolute path, or
// [ErrLogicalBackupNotFound].
func (s *Store) GetLogicalBackupByPath(ctx context.Context, path string) (LogicalBackup, error) {
	b, err := scanLogicalBackup(s.pool.QueryRow(ctx, `SELECT `+logicalBackupColumns+` FROM logical_backups WHERE path = $1`, path))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("%s: %w", path, ErrLogicalBackupNotFound)
	}
	return b, err
}

// MarkLogicalBackupRemoved records that the retention removed a logical backup's file.
func (s *Store) MarkLogicalBackupRemoved(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE logical_backups SET removed_at = now() WHERE id = $1 AND removed_at IS NULL`, id)
	return err
}

// RecordedExport is where a tenant's export archive is recorded: a logical backup of it,
// or the tenant.export event 'tenant export' wrote.
type RecordedExport struct {
	// Kind is "logical-backup" or "export".
	Kind    string
	TakenAt time.Time
}

// FindRecordedExport looks for an archive with the SHA-256 sum among the tenant's
// logical backups (present or removed: the file may have been copied back) and the
// exports recorded in its event log; ok is false when neither recorded it.
func (s *Store) FindRecordedExport(ctx context.Context, tenantID, sum string) (RecordedExport, bool, error) {
	var r RecordedExport
	err := s.pool.QueryRow(ctx, `
		SELECT kind, at FROM (
			SELECT 'logical-backup' AS kind, taken_at AS at FROM logical_backups WHERE tenant_id = $1 AND sha256 = $2
			UNION ALL
			SELECT 'export', at FROM events WHERE tenant_id = $1 AND action = 'tenant.export' AND details->>'sha256' = $2
		) x ORDER BY at DESC LIMIT 1`, tenantID, sum).Scan(&r.Kind, &r.TakenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("look up the export %s: %w", sum, err)
	}
	return r, true, nil
}

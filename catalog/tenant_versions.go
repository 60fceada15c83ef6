package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// where is the filter's WHERE clause and arguments. It names only the filters in use,
// so the planner walks the live-slug index in order instead of sorting the table.
func (f TenantFilter) where() (string, []any) {
	var where []string
	var args []any
	if len(f.States) == 0 {
		where = append(where, "state <> 'purged'")
	} else {
		args = append(args, f.States)
		where = append(where, fmt.Sprintf("state = ANY($%d)", len(args)))
	}
	if f.Server != "" {
		args = append(args, f.Server)
		where = append(where, fmt.Sprintf("server = $%d", len(args)))
	}
	if f.Slug != "" {
		args = append(args, f.Slug)
		where = append(where, fmt.Sprintf("slug = $%d", len(args)))
	}
	return strings.Join(where, " AND "), args
}

// TenantVersion is the part of a tenant row a migration report needs.
type TenantVersion struct {
	ID, Slug, Server, State string
	SchemaVersion           int64
	MigrationError          string
	MigrationFailedVersion  *int64
	MigrationFailedAt       *time.Time
}

// EachTenantVersion calls fn for every tenant matching f, by slug, with only the
// columns of its migration state: `migrate status` at 10,000 tenants reads and decodes
// a third of what [Store.EachTenant] would.
func (s *Store) EachTenantVersion(ctx context.Context, f TenantFilter, fn func(TenantVersion) error) error {
	where, args := f.where()
	rows, err := s.pool.Query(ctx, `SELECT id, slug, coalesce(server, ''), state, schema_version, coalesce(migration_error, ''),
		migration_failed_version, migration_failed_at FROM tenants WHERE `+where+` ORDER BY slug, created_at`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t TenantVersion
		if err := rows.Scan(&t.ID, &t.Slug, &t.Server, &t.State, &t.SchemaVersion, &t.MigrationError,
			&t.MigrationFailedVersion, &t.MigrationFailedAt); err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

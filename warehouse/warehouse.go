// Package warehouse owns the MSP-only warehouse database: its schema (schema tenantctl
// with the tenant dimension and the rollup watermarks), keeping it closed to PUBLIC, the
// tenant dimension rows, and erasing a purged tenant's rows.
//
// It never connects to tenant databases; package rollup moves the rows.
package warehouse

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/migrations"
)

// Init applies the warehouse migrations at dsn and revokes every privilege PUBLIC holds
// on the warehouse database and its public schema. It is idempotent.
func Init(ctx context.Context, dsn string) (database string, retErr error) {
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	if _, err := migrations.Up(ctx, cfg, migrations.Warehouse(), migrations.Options{}); err != nil {
		return "", fmt.Errorf("migrate warehouse: %w", err)
	}
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&database); err != nil {
		return "", err
	}
	db := pgx.Identifier{database}.Sanitize()
	for _, stmt := range []string{
		`REVOKE ALL ON DATABASE ` + db + ` FROM PUBLIC`,
		`REVOKE ALL ON SCHEMA public FROM PUBLIC`,
		`REVOKE ALL ON SCHEMA tenantctl FROM PUBLIC`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("close warehouse to PUBLIC: %w", err)
		}
	}
	return database, nil
}

// DBTX is a connection, pool or transaction on the warehouse.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Tenant is a row of the tenant dimension, tenantctl.tenants.
type Tenant struct {
	ID, Slug, Name, Domain, Server, State string
}

// UpsertTenant writes one row of the tenant dimension.
func UpsertTenant(ctx context.Context, q DBTX, t Tenant) error {
	if _, err := q.Exec(ctx, upsertTenantSQL, t.ID, t.Slug, t.Name, t.Domain, t.Server, t.State); err != nil {
		return fmt.Errorf("update warehouse tenant dimension: %w", err)
	}
	return nil
}

const upsertTenantSQL = `
		INSERT INTO tenantctl.tenants (id, slug, name, domain, server, state) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name, domain = EXCLUDED.domain,
			server = EXCLUDED.server, state = EXCLUDED.state, updated_at = now()`

// PurgeTenant deletes every row of a tenant from the warehouse: its rows in every
// rolled-up table (every table in schema public with a tenant_id column), its
// watermarks and its tenant dimension row, in one transaction. Idempotent.
func PurgeTenant(ctx context.Context, dsn, tenantID string) (rows int64, retErr error) {
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	// Wait for a rollup of this tenant that may still be writing: once the lock is ours,
	// no rollup can put rows back (its tenant database is gone before purge gets here).
	if err := LockTenantXact(ctx, tx, tenantID); err != nil {
		return 0, err
	}
	tables, err := tx.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		return 0, err
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		tag, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{"public", name}.Sanitize()+" WHERE tenant_id = $1", tenantID)
		if err != nil {
			return 0, fmt.Errorf("purge warehouse table %s: %w", name, err)
		}
		rows += tag.RowsAffected()
	}
	for _, stmt := range []string{
		`DELETE FROM tenantctl.watermarks WHERE tenant_id = $1`,
		`DELETE FROM tenantctl.tenants WHERE id = $1`,
	} {
		if _, err := tx.Exec(ctx, stmt, tenantID); err != nil {
			return 0, fmt.Errorf("purge warehouse: %w", err)
		}
	}
	return rows, tx.Commit(ctx)
}

// SyncTenant connects to the warehouse and upserts one tenant dimension row.
func SyncTenant(ctx context.Context, dsn string, t Tenant) error {
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return UpsertTenant(ctx, conn, t)
}

package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/migrations"
)

// Watermark is a row of tenantctl.watermarks: how far one tenant's table has been rolled
// up, and how its last run ended.
type Watermark struct {
	TenantID string
	Table    string
	// Xmin is the tenant database's pg_snapshot_xmin at the last successful run (nil:
	// never copied). Every transaction below it had finished and was copied then.
	Xmin *int64
	// Source names the tenant database the transaction ids belong to.
	Source string
	// Signature is the set of columns copied under this watermark.
	Signature string
	// Mode is how the last successful run copied the table: full or incremental.
	Mode        string
	RowsCopied  int64 // by the last successful run
	RowsDeleted int64 // by the last successful run
	// RowCount is the number of the tenant's rows in the warehouse table after the last
	// successful run (nil: unknown).
	RowCount    *int64
	LastRun     *time.Time
	LastError   string
	LastErrorAt *time.Time
}

const watermarkColumns = `tenant_id, table_name, xmin_watermark, coalesce(source, ''), coalesce(signature, ''),
	coalesce(last_mode, ''), rows_copied, rows_deleted, row_count, last_run, coalesce(last_error, ''), last_error_at`

func scanWatermark(row pgx.Row) (Watermark, error) {
	var w Watermark
	err := row.Scan(&w.TenantID, &w.Table, &w.Xmin, &w.Source, &w.Signature, &w.Mode, &w.RowsCopied, &w.RowsDeleted,
		&w.RowCount, &w.LastRun, &w.LastError, &w.LastErrorAt)
	return w, err
}

// Watermarks returns one tenant's watermarks by table, or every tenant's when tenantID
// is empty (keyed by tenant id, then table).
func Watermarks(ctx context.Context, q Querier, tenantID string) (map[string]map[string]Watermark, error) {
	sql, args := allWatermarksSQL, []any(nil)
	if tenantID != "" {
		sql, args = watermarksSQL, []any{tenantID}
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read watermarks: %w", err)
	}
	return scanWatermarks(rows)
}

// watermarksSQL reads one tenant's watermarks. Its own statement, not one with an
// "every tenant when empty" condition: such a condition cannot use the key in a plan
// made for any parameter, so the server planned it again for every tenant of a run
// (0.2 ms each, measured) and would have scanned every tenant's rows with a generic
// plan; this one is planned once per connection and reads the key.
const watermarksSQL = `SELECT ` + watermarkColumns + ` FROM tenantctl.watermarks
		WHERE tenant_id = $1 ORDER BY table_name`

// allWatermarksSQL reads every tenant's watermarks.
const allWatermarksSQL = `SELECT ` + watermarkColumns + ` FROM tenantctl.watermarks ORDER BY tenant_id, table_name`

// scanWatermarks reads watermarksSQL's rows and closes them.
func scanWatermarks(rows pgx.Rows) (map[string]map[string]Watermark, error) {
	defer rows.Close()
	out := map[string]map[string]Watermark{}
	for rows.Next() {
		w, err := scanWatermark(rows)
		if err != nil {
			return nil, err
		}
		if out[w.TenantID] == nil {
			out[w.TenantID] = map[string]Watermark{}
		}
		out[w.TenantID][w.Table] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read watermarks: %w", err)
	}
	return out, nil
}

// SaveWatermark records a successful run of one tenant's table: the new watermark, its
// source and signature, the run's counts and time, and clears the last error. Call it in
// the transaction that wrote the rows: that is what makes a rollup exactly-once.
func SaveWatermark(ctx context.Context, q Querier, w Watermark) error {
	if _, err := q.Exec(ctx, saveWatermarkSQL, saveWatermarkArgs(w)...); err != nil {
		return fmt.Errorf("save watermark of %s: %w", w.Table, err)
	}
	return nil
}

const saveWatermarkSQL = `
		INSERT INTO tenantctl.watermarks AS m (tenant_id, table_name, xmin_watermark, source, signature, last_mode,
			rows_copied, rows_deleted, row_count, last_run, last_error, last_error_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), NULL, NULL)
		ON CONFLICT (tenant_id, table_name) DO UPDATE SET xmin_watermark = EXCLUDED.xmin_watermark,
			source = EXCLUDED.source, signature = EXCLUDED.signature, last_mode = EXCLUDED.last_mode,
			rows_copied = EXCLUDED.rows_copied, rows_deleted = EXCLUDED.rows_deleted, row_count = EXCLUDED.row_count,
			last_run = EXCLUDED.last_run,
			last_error = NULL, last_error_at = NULL`

// saveWatermarksSQL is saveWatermarkSQL for many rows, its parameters arrays of them.
const saveWatermarksSQL = `
		INSERT INTO tenantctl.watermarks AS m (tenant_id, table_name, xmin_watermark, source, signature, last_mode,
			rows_copied, rows_deleted, row_count, last_run, last_error, last_error_at)
		SELECT w.tenant_id, w.table_name, w.xmin_watermark, w.source, w.signature, w.last_mode,
			w.rows_copied, w.rows_deleted, w.row_count, now(), NULL, NULL
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
			AS w(tenant_id, table_name, xmin_watermark, source, signature, last_mode, rows_copied, rows_deleted, row_count)
		ON CONFLICT (tenant_id, table_name) DO UPDATE SET xmin_watermark = EXCLUDED.xmin_watermark,
			source = EXCLUDED.source, signature = EXCLUDED.signature, last_mode = EXCLUDED.last_mode,
			rows_copied = EXCLUDED.rows_copied, rows_deleted = EXCLUDED.rows_deleted, row_count = EXCLUDED.row_count,
			last_run = EXCLUDED.last_run,
			last_error = NULL, last_error_at = NULL`

func saveWatermarkArgs(w Watermark) []any {
	return []any{w.TenantID, w.Table, w.Xmin, w.Source, w.Signature, w.Mode, w.RowsCopied, w.RowsDeleted, w.RowCount}
}

// RecordFailure records a failed run of a tenant's tables, keeping their watermarks.
func RecordFailure(ctx context.Context, q Querier, tenantID string, tables []string, errText string) error {
	_, err := q.Exec(ctx, `
		INSERT INTO tenantctl.watermarks (tenant_id, table_name, last_error, last_error_at)
		SELECT $1, t, $3, now() FROM unnest($2::text[]) AS t
		ON CONFLICT (tenant_id, table_name) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at`,
		tenantID, tables, errText)
	if err != nil {
		return fmt.Errorf("record rollup failure: %w", err)
	}
	return nil
}

// RowCounts counts the rows of each rolled-up table per tenant: one GROUP BY per table
// (keyed by table, then tenant id). Tables missing from the warehouse are left out.
func RowCounts(ctx context.Context, q Querier, tables []string) (map[string]map[string]int64, error) {
	have, err := DescribeTables(ctx, q, tables)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int64{}
	for _, name := range tables {
		if t, ok := have[name]; !ok || !t.HasTenantID {
			continue
		}
		rows, err := q.Query(ctx, `SELECT tenant_id, count(*) FROM `+pgx.Identifier{"public", name}.Sanitize()+` GROUP BY tenant_id`)
		if err != nil {
			return nil, fmt.Errorf("count rows of warehouse table %s: %w", name, err)
		}
		counts := map[string]int64{}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, err
			}
			counts[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("count rows of warehouse table %s: %w", name, err)
		}
		out[name] = counts
	}
	return out, nil
}

// RolledUpTables lists the tables of schema public that carry a tenant_id column.
func RolledUpTables(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list warehouse tables: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Tenants returns the tenant dimension, keyed by id.
func Tenants(ctx context.Context, q Querier) (map[string]Tenant, error) {
	rows, err := q.Query(ctx, `SELECT id, slug, name, domain, coalesce(server, ''), state FROM tenantctl.tenants`)
	if err != nil {
		return nil, fmt.Errorf("read tenant dimension: %w", err)
	}
	defer rows.Close()
	out := map[string]Tenant{}
	for rows.Next() {
		var t Tenant
		if err := rows.Scan(&t.ID, &t.Slug, &t.Name, &t.Domain, &t.Server, &t.State); err != nil {
			return nil, err
		}
		out[t.ID] = t
	}
	return out, rows.Err()
}

// Current reports whether the warehouse has every migration this tenantctl knows.
func Current(ctx context.Context, q Querier) (bool, error) {
	latest, err := migrations.Latest(migrations.Warehouse())
	if err != nil {
		return false, err
	}
	var current int64
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&current); err != nil {
		return false, fmt.Errorf("read warehouse schema version: %w", err)
	}
	return current >= latest, nil
}

// Migrate applies pending warehouse migrations (without Init's privilege changes), so a
// warehouse registered by an older tenantctl gets the columns this one needs. goose's
// session lock makes concurrent calls safe.
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return err
	}
	if _, err := migrations.Up(ctx, cfg, migrations.Warehouse(), migrations.Options{}); err != nil {
		return fmt.Errorf("migrate warehouse: %w", err)
	}
	return nil
}

// Package corpus is a tenant schema the project wrote to exercise every column type and
// object kind tenantctl must carry — char(n), varchar(n), numeric(p,s) and arrays of
// them, domains over them, enums, composite types, ranges and multiranges (a
// user-defined one too), tsvector, bit(n), interval, json and jsonb, uuid, bytea,
// money, generated and identity columns, a partitioned table, views, materialized
// views, triggers, a custom aggregate and a SECURITY DEFINER function — as tenant
// migrations with a rollup spec, seed data and a set of changes, and per-table row
// counts and checksums to compare a tenant's data after each step. Tests use it; it
// is also a worked example of a real-world schema written as migrations.
package corpus

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql spec.yaml seed.sql changes.sql
var files embed.FS

// Migrations are the corpus's tenant migrations (goose SQL files).
func Migrations() fs.FS {
	f, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err)
	}
	return f
}

// Latest is the corpus's newest migration version.
const Latest = 3

// Spec is the corpus's rollup spec (YAML).
func Spec() []byte { return must("spec.yaml") }

// Seed is the SQL that fills a corpus tenant with data.
func Seed() string { return string(must("seed.sql")) }

// Changes is SQL that inserts, updates and deletes rows, moving some between partitions.
func Changes() string { return string(must("changes.sql")) }

func must(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// RolledUp are the spec tables whose rows reach the warehouse (payment_totals is never
// refreshed, so every run skips it).
var RolledUp = []string{"language", "everything", "payment", "film", "film_list", "language_films"}

// Sum is a relation's row count and an order-independent digest of its rows' text.
type Sum struct {
	Rows   int64
	Digest string
}

// Querier runs a query (a connection or a pool).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Sums returns a Sum for every table, partition and populated materialized view in the
// schema public of the database conn is connected to, and every view (read through
// it), keyed by name. goose's table is left out.
func Sums(ctx context.Context, conn Querier) (map[string]Sum, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm', 'v') AND c.relispopulated
		  AND c.relname <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]Sum{}
	for _, n := range names {
		s, err := sum(ctx, conn, pgx.Identifier{"public", n}.Sanitize(), "*", "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
}

// TableSum is the Sum of one relation of the tenant database conn is connected to.
func TableSum(ctx context.Context, conn Querier, table string) (Sum, error) {
	return sum(ctx, conn, pgx.Identifier{"public", table}.Sanitize(), "*", "")
}

// WarehouseSum is the Sum of a tenant's rows of a warehouse table, over the columns
// the tenant's relation has (columns lists them in its order), so that it equals the
// tenant's [TableSum] when the warehouse holds exactly the tenant's rows.
func WarehouseSum(ctx context.Context, wh Querier, table, tenantID string, columns []string) (Sum, error) {
	list := make([]string, len(columns))
	for i, c := range columns {
		list[i] = pgx.Identifier{c}.Sanitize()
	}
	return sum(ctx, wh, pgx.Identifier{"public", table}.Sanitize(), strings.Join(list, ", "), tenantID)
}

// Columns lists a relation's columns in order.
func Columns(ctx context.Context, conn Querier, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
		pgx.Identifier{"public", table}.Sanitize())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func sum(ctx context.Context, conn Querier, rel, cols, tenantID string) (Sum, error) {
	where, args := "", []any{}
	if tenantID != "" {
		where, args = "WHERE tenant_id = $1", []any{tenantID}
	}
	var s Sum
	err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')
		FROM (SELECT %s FROM %s %s) x`, cols, rel, where), args...).Scan(&s.Rows, &s.Digest)
	return s, err
}

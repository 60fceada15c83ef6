package warehouse

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TenantColumn is the column every rolled-up table carries first: the tenant's id, the
// first column of the table's primary key.
const TenantColumn = "tenant_id"

// Querier is a connection, pool or transaction on the warehouse.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Column is a column of a rolled-up table.
type Column struct {
	Name string
	// Type is the column's canonical type name (see [TypeNameSQL]): format_type without
	// a type modifier ("character varying", "numeric", "integer[]"), except that
	// char(n) is "bpchar" and bit(n) "bit varying". Tenants may disagree on lengths and
	// precisions, and binary COPY only needs the same type.
	Type string
	// Declared is the type as declared, modifier included ("character(20)"), for messages.
	Declared string
}

// Table is a rolled-up table in the warehouse's schema public.
type Table struct {
	Name string
	// OID identifies the table: a table dropped and created again gets another one.
	OID uint32
	// Columns in table order, tenant_id left out.
	Columns []Column
	// Key is the primary key after tenant_id (nil when the table has no primary key).
	Key []string
	// HasTenantID is false for a table of that name that is not a rolled-up table.
	HasTenantID bool
	// TenantFirst is true when the primary key starts with tenant_id.
	TenantFirst bool
}

// Column returns the column named name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// DescribeTables returns those of names that exist in the warehouse's schema public.
// One catalog query, whatever the number of tables.
func DescribeTables(ctx context.Context, q Querier, names []string) (map[string]Table, error) {
	rows, err := q.Query(ctx, describeTables, names)
	if err != nil {
		return nil, fmt.Errorf("describe warehouse tables: %w", err)
	}
	return scanTables(rows)
}

const describeTablesSQL = `
		SELECT c.relname, c.oid, a.attname, %s, format_type(a.atttypid, a.atttypmod),
		       coalesce(array_position(k.conkey, a.attnum), 0) AS key_pos
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
		WHERE c.relname = ANY($1) AND c.relkind IN ('r', 'p')
		ORDER BY c.relname, a.attnum`

// describeTables is describeTablesSQL with the canonical type name of each column.
var describeTables = fmt.Sprintf(describeTablesSQL, TypeNameSQL("a.atttypid"))

// TypeNameSQL returns the SQL expression giving the canonical name of the type whose oid
// is oidExpr: the name a rolled-up column's type has on both sides of a rollup, so that
// the tenant's and the warehouse's types compare equal exactly when binary COPY can
// carry values between them unchanged. It is format_type without a modifier, except
// for the types whose modifier-less name means something narrower: format_type prints
// bpchar (char(n)) as "character", which in DDL means char(1), so it is "bpchar"; bit(n)
// is "bit varying" (the same binary form, no length limit).
func TypeNameSQL(oidExpr string) string {
	return `(CASE ` + oidExpr + ` WHEN 1042 THEN 'bpchar' WHEN 1014 THEN 'bpchar[]'
		WHEN 1560 THEN 'bit varying' WHEN 1561 THEN 'bit varying[]'
		ELSE format_type(` + oidExpr + `, NULL) END)`
}

// scanTables reads describeTablesSQL's rows and closes them.
func scanTables(rows pgx.Rows) (map[string]Table, error) {
	defer rows.Close()
	out := map[string]Table{}
	keys := map[string]map[int]string{}
	for rows.Next() {
		var rel, col, typ, declared string
		var oid uint32
		var keyPos int
		if err := rows.Scan(&rel, &oid, &col, &typ, &declared, &keyPos); err != nil {
			return nil, err
		}
		t := out[rel]
		t.Name, t.OID = rel, oid
		if col == TenantColumn {
			t.HasTenantID = true
		} else {
			t.Columns = append(t.Columns, Column{Name: col, Type: typ, Declared: declared})
		}
		if keyPos > 0 {
			if keys[rel] == nil {
				keys[rel] = map[int]string{}
			}
			keys[rel][keyPos] = col
		}
		out[rel] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe warehouse tables: %w", err)
	}
	for rel, k := range keys {
		t := out[rel]
		for i := 1; i <= len(k); i++ {
			switch {
			case i == 1 && k[i] == TenantColumn:
				t.TenantFirst = true
			default:
				t.Key = append(t.Key, k[i])
			}
		}
		out[rel] = t
	}
	return out, nil
}

// typeRE is what a type name from format_type looks like; anything else is refused
// before it reaches DDL text.
var typeRE = regexp.MustCompile(`^"?[a-z][a-z0-9 _"]*(\[\])*$`)

// EnsureTable makes the warehouse table want.Name hold at least want's columns: it
// creates it (tenant_id text, the columns, PRIMARY KEY (tenant_id, key…); no defaults, no
// foreign keys; nothing granted to PUBLIC) or adds the columns it lacks. Warehouse DDL is
// serialised by a transaction-level advisory lock and the table is described again under
// it, so rollups of many tenants seeing a table or column for the first time at once do
// not race. It returns the table as it is afterwards. It never changes or drops an
// existing column.
func EnsureTable(ctx context.Context, conn *pgx.Conn, want Table) (got Table, retErr error) {
	for _, c := range want.Columns {
		if !typeRE.MatchString(c.Type) {
			return got, fmt.Errorf("column %s: refusing unexpected type name %q", c.Name, c.Type)
		}
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return got, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+ddlLockClass+`, 0)`); err != nil {
		return got, fmt.Errorf("lock warehouse schema: %w", err)
	}
	have, err := DescribeTables(ctx, tx, []string{want.Name})
	if err != nil {
		return got, err
	}
	name := pgx.Identifier{"public", want.Name}.Sanitize()
	cur, exists := have[want.Name]
	if !exists {
		// Collation C: tenant ids are ASCII, and every row inserted compares them in the
		// primary key; strcoll under a database's linguistic collation costs far more.
		// (C wins over the default collation in joins with tenantctl.tenants.id.)
		defs := []string{pgx.Identifier{TenantColumn}.Sanitize() + ` text COLLATE "C" NOT NULL`}
		for _, c := range want.Columns {
			defs = append(defs, pgx.Identifier{c.Name}.Sanitize()+" "+c.Type)
		}
		key := []string{pgx.Identifier{TenantColumn}.Sanitize()}
		for _, k := range want.Key {
			key = append(key, pgx.Identifier{k}.Sanitize())
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(key, ", ")+")")
		for _, stmt := range []string{
			"CREATE TABLE " + name + " (\n  " + strings.Join(defs, ",\n  ") + "\n)",
			// Explicit, in case someone altered the default privileges of this schema.
			"REVOKE ALL ON TABLE " + name + " FROM PUBLIC",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return got, fmt.Errorf("create warehouse table %s: %w", want.Name, err)
			}
		}
	} else {
		var add []string
		for _, c := range want.Columns {
			if _, ok := cur.Column(c.Name); !ok && c.Name != TenantColumn {
				add = append(add, "ADD COLUMN IF NOT EXISTS "+pgx.Identifier{c.Name}.Sanitize()+" "+c.Type)
			}
		}
		if len(add) > 0 {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+name+" "+strings.Join(add, ", ")); err != nil {
				return got, fmt.Errorf("add columns to warehouse table %s: %w", want.Name, err)
			}
		}
	}
	if have, err = DescribeTables(ctx, tx, []string{want.Name}); err != nil {
		return got, err
	}
	if err := tx.Commit(ctx); err != nil {
		return got, fmt.Errorf("warehouse table %s: %w", want.Name, err)
	}
	return have[want.Name], nil
}

// SameKey reports whether the table's primary key is (tenant_id, key…).
func (t Table) SameKey(key []string) bool {
	return t.TenantFirst && slices.Equal(t.Key, key)
}

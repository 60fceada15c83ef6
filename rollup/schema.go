package rollup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/warehouse"
)

// srcColumn is a column of a table in a tenant database.
type srcColumn struct {
	Name string
	// SourceType is the column's type in the tenant database (for messages).
	SourceType string
	// Type is the column's type in the warehouse: the source type without its modifier,
	// a domain's base type, or text for types the warehouse cannot have (enums,
	// composite types, extension types) or that have no binary form.
	Type string
	// AsText is true when the column is read as text (Type is then text).
	AsText bool
}

// srcTable is a spec table as one tenant database has it.
type srcTable struct {
	// Kind is the pg_class relkind: r table, p partitioned table, m materialized view,
	// v view, f foreign table.
	Kind    string
	Columns []srcColumn
	// RLS is true when row-level security is enabled on the table.
	RLS bool
	// Readable is true when the connected role may SELECT from it.
	Readable bool
}

// readableAsIs reports whether the relation gives the connected admin role (which
// inherits the tenant owner's privileges) exactly the rows it gives the owner: a plain
// or partitioned table it may read without row-level security. Views, materialized
// views and foreign tables may depend on who reads them (current_user, user mappings).
func (t srcTable) readableAsIs() bool {
	return (t.Kind == "r" || t.Kind == "p") && !t.RLS && t.Readable
}

func (t srcTable) column(name string) (srcColumn, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return srcColumn{}, false
}

// hasXmin reports whether rows of the relation carry xmin (incremental mode needs it).
func (t srcTable) hasXmin() bool { return t.Kind == "r" || t.Kind == "p" || t.Kind == "m" }

// describeSourceSQL returns, for each spec table found in the tenant database, its
// columns with their warehouse types. Domains resolve to their base type; only built-in
// types (oid below 16384) with a binary send and receive function are kept as they are —
// anything else travels as text. bpchar and bit lose their length when printed without a
// modifier and would then mean char(1) and bit(1), so they map to bpchar and bit varying,
// whose binary forms are the same.
const describeSourceSQL = `
WITH RECURSIVE want AS (
	SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(nsp, rel, ord)
), cols AS (
	SELECT w.ord, c.relkind::text AS kind, a.attnum, a.attname, a.atttypid,
	       c.relrowsecurity AS rls, has_table_privilege(c.oid, 'SELECT') AS readable
	FROM want w
	JOIN pg_namespace n ON n.nspname = w.nsp
	JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
), base AS (
	SELECT DISTINCT atttypid AS typ, atttypid AS cur, 0 AS depth FROM cols
	UNION ALL
	SELECT b.typ, t.typbasetype, b.depth + 1 FROM base b JOIN pg_type t ON t.oid = b.cur WHERE t.typtype = 'd'
), resolved AS (
	SELECT DISTINCT ON (typ) typ, cur FROM base ORDER BY typ, depth DESC
), typed AS (
	SELECT cols.*, bt.oid AS base_oid,
	       bt.oid < 16384 AND bt.typsend::oid <> 0 AND bt.typreceive::oid <> 0 AS builtin
	FROM cols JOIN resolved r ON r.typ = cols.atttypid JOIN pg_type bt ON bt.oid = r.cur
)
SELECT ord, kind, attname, format_type(atttypid, NULL),
       CASE WHEN NOT builtin THEN 'text'
            WHEN base_oid = 1042 THEN 'bpchar'
            WHEN base_oid = 1014 THEN 'bpchar[]'
            WHEN base_oid = 1560 THEN 'bit varying'
            WHEN base_oid = 1561 THEN 'bit varying[]'
            ELSE format_type(base_oid, NULL) END,
       NOT builtin, rls, readable
FROM typed ORDER BY ord, attnum`

// queueDescribeSource queues the description of the spec's tables in a tenant
// database (one query). Once the batch is sent, out holds the tables found, keyed by
// spec index; tables missing from the database are missing from it.
func queueDescribeSource(b *pgx.Batch, spec Spec, out map[int]srcTable) {
	nsps := make([]string, len(spec.Tables))
	rels := make([]string, len(spec.Tables))
	for i, t := range spec.Tables {
		nsps[i], rels[i] = t.Schema(), t.Relname()
	}
	b.Queue(describeSourceSQL, nsps, rels).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("describe tenant tables: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var ord int
			var kind string
			var rls, readable bool
			var c srcColumn
			if err := rows.Scan(&ord, &kind, &c.Name, &c.SourceType, &c.Type, &c.AsText, &rls, &readable); err != nil {
				return err
			}
			t := out[ord-1]
			t.Kind, t.RLS, t.Readable = kind, rls, readable
			t.Columns = append(t.Columns, c)
			out[ord-1] = t
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("describe tenant tables: %w", err)
		}
		return nil
	}
}

// checkSource checks one spec table against a tenant's table.
func checkSource(t Table, src srcTable, found bool) error {
	if !found {
		return schemaErrorf("table %s does not exist in the tenant database (fix the rollup spec or migrate the tenant)", t.Name)
	}
	for _, k := range t.Key {
		if _, ok := src.column(k); !ok {
			return schemaErrorf("key column %q of table %s does not exist in the tenant database", k, t.Name)
		}
	}
	if _, ok := src.column(warehouse.TenantColumn); ok {
		return schemaErrorf("table %s has a column named %s, which the warehouse reserves for the tenant's id", t.Name, warehouse.TenantColumn)
	}
	if t.Mode == ModeIncremental && !src.hasXmin() {
		return schemaErrorf("table %s is a %s: incremental mode reads row versions (xmin), which only tables have; use mode: full",
			t.Name, kindName(src.Kind))
	}
	return nil
}

func kindName(kind string) string {
	switch kind {
	case "v":
		return "view"
	case "f":
		return "foreign table"
	case "m":
		return "materialized view"
	}
	return "table"
}

// wantTable is the warehouse table a tenant's source table needs.
func wantTable(t Table, src srcTable) warehouse.Table {
	w := warehouse.Table{Name: t.Relname(), Key: t.Key, HasTenantID: true, TenantFirst: true}
	for _, c := range src.Columns {
		w.Columns = append(w.Columns, warehouse.Column{Name: c.Name, Type: c.Type})
	}
	return w
}

// needsDDL reports whether the warehouse table is missing or lacks source columns.
func needsDDL(have warehouse.Table, exists bool, src srcTable) bool {
	if !exists {
		return true
	}
	for _, c := range src.Columns {
		if _, ok := have.Column(c.Name); !ok {
			return true
		}
	}
	return false
}

// checkWarehouse checks that the warehouse table can take the tenant's rows, and returns
// the source columns in the warehouse table's order: binary COPY needs the same types in
// the same order on both sides.
func checkWarehouse(t Table, src srcTable, have warehouse.Table) ([]srcColumn, error) {
	name := "public." + t.Relname()
	if !have.HasTenantID {
		return nil, schemaErrorf("warehouse table %s exists but has no %s column, so it is not a rolled-up table: rename it or the spec's table",
			name, warehouse.TenantColumn)
	}
	if !have.SameKey(t.Key) {
		return nil, schemaErrorf("warehouse table %s has primary key (%s) but the spec's key for %s needs (%s): "+
			"drop the warehouse table (the next run copies it again) or fix the spec",
			name, strings.Join(append([]string{warehouse.TenantColumn}, have.Key...), ", "), t.Name,
			strings.Join(append([]string{warehouse.TenantColumn}, t.Key...), ", "))
	}
	var cols []srcColumn
	for _, hc := range have.Columns {
		sc, ok := src.column(hc.Name)
		if !ok {
			continue // a column this tenant does not have (yet): NULL for its rows
		}
		if sc.Type != hc.Type {
			return nil, schemaErrorf("column %s.%s is %s in the tenant database but %s in the warehouse: "+
				"change the warehouse column (ALTER TABLE %s ALTER COLUMN %s TYPE …) or drop the warehouse table, then run again",
				t.Name, sc.Name, sc.SourceType, hc.Type, name, pgx.Identifier{sc.Name}.Sanitize())
		}
		cols = append(cols, sc)
	}
	return cols, nil
}

// signature names a table's copied column set: when it changes (a column added to the
// tenant's table keeps its old rows' xmin, so an incremental copy would miss their new
// values), the table is copied in full again. It starts with the warehouse table's oid:
// a warehouse table dropped and created again (to start a table over) holds none of the
// rows its old watermarks promise.
func signature(t Table, cols []srcColumn, whOID uint32) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", t.Relname(), strings.Join(t.Key, ","))
	for _, c := range cols {
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", c.Name, c.Type, c.AsText)
	}
	return fmt.Sprintf("%d/%s", whOID, hex.EncodeToString(h.Sum(nil))[:16])
}

// sameTable reports whether two signatures were taken on the same warehouse table.
func sameTable(a, b string) bool {
	oa, _, _ := strings.Cut(a, "/")
	ob, _, _ := strings.Cut(b, "/")
	return oa == ob
}

// stageSuffix names a signature's staging tables: the column hash, which fixes their
// columns.
func stageSuffix(sig string) string {
	_, h, _ := strings.Cut(sig, "/")
	return h
}

// selectList is the source-side select list for cols.
func selectList(cols []srcColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = pgx.Identifier{c.Name}.Sanitize()
		if c.AsText {
			parts[i] += "::text"
		}
	}
	return strings.Join(parts, ", ")
}

// columnList is the warehouse-side column list for cols.
func columnList(cols []srcColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	return strings.Join(parts, ", ")
}

// columnDefs defines cols for a staging table.
func columnDefs(cols []srcColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = pgx.Identifier{c.Name}.Sanitize() + " " + c.Type
	}
	return strings.Join(parts, ", ")
}

// keyColumns returns the key's columns, in key order.
func keyColumns(t Table, cols []srcColumn) []srcColumn {
	out := make([]srcColumn, 0, len(t.Key))
	for _, k := range t.Key {
		i := slices.IndexFunc(cols, func(c srcColumn) bool { return c.Name == k })
		out = append(out, cols[i])
	}
	return out
}

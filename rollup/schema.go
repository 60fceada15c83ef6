package rollup

import (
	"context"
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
	// Cast is true when the column is read cast to Type (its type is not Type).
	Cast bool
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
	// Populated is false for a materialized view never refreshed (WITH NO DATA).
	Populated bool
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
// columns with their warehouse types (warehouse.TypeNameSQL names them as the warehouse
// side does). Domains resolve to their base type and arrays of domains to arrays of
// their base type; only built-in types (oid below 16384) with a binary send and receive
// function are kept as they are — anything else (enums, composite types, ranges over
// them, extension types) travels as text. A column whose warehouse type is not its own
// type is cast in the select list: binary COPY of an array names its element type, so
// an array of a domain must become an array of the base type before it travels.
//
// Its common elements are materialized: inlined, they made one join of nine relations
// whose planning cost about 9 ms of the tenant server's CPU on a new connection, more
// than the connection itself. Most tenants need none of it: see describeBootstrapSQL.
var describeSourceSQL = `
WITH RECURSIVE want AS (
	SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(nsp, rel, ord)
), cols AS MATERIALIZED (
	SELECT w.ord, c.relkind::text AS kind, a.attnum, a.attname, a.atttypid, a.atttypmod,
	       c.relrowsecurity AS rls, has_table_privilege(c.oid, 'SELECT') AS readable,
	       c.relispopulated AS populated
	FROM want w
	JOIN pg_namespace n ON n.nspname = w.nsp
	JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
), dbase AS (
	SELECT oid AS dom, typbasetype AS cur, 1 AS depth FROM pg_type WHERE typtype = 'd'
	UNION ALL
	SELECT d.dom, t.typbasetype, d.depth + 1 FROM dbase d JOIN pg_type t ON t.oid = d.cur AND t.typtype = 'd'
), dres AS (
	SELECT DISTINCT ON (dom) dom, cur FROM dbase ORDER BY dom, depth DESC
), typed AS MATERIALIZED (
	SELECT cols.*, b.oid AS b_oid, b.typelem AS b_elem,
	       b.typsubscript = 'array_subscript_handler'::regproc AS b_array
	FROM cols LEFT JOIN dres d1 ON d1.dom = cols.atttypid
	JOIN pg_type b ON b.oid = coalesce(d1.cur, cols.atttypid)
), wtyped AS MATERIALIZED (
	SELECT typed.*, CASE WHEN d2.dom IS NOT NULL THEN coalesce(e.typarray, 0) ELSE b_oid END AS w_oid
	FROM typed
	LEFT JOIN dres d2 ON b_array AND d2.dom = typed.b_elem
	LEFT JOIN pg_type e ON e.oid = d2.cur
), final AS MATERIALIZED (
	SELECT wtyped.*, w_oid <> 0 AND w_oid < 16384 AND wt.typsend::oid <> 0 AND wt.typreceive::oid <> 0 AS builtin
	FROM wtyped LEFT JOIN pg_type wt ON wt.oid = w_oid
)
SELECT ord, kind, attname, format_type(atttypid, atttypmod),
       CASE WHEN builtin THEN ` + warehouse.TypeNameSQL("w_oid") + ` ELSE 'text' END,
       NOT builtin, NOT builtin OR w_oid <> atttypid, rls, readable, populated
FROM final ORDER BY ord, attnum`

// describeBootstrapSQL is describeSourceSQL for columns of PostgreSQL's bootstrap types
// (oid below 10000, FirstGenbkiObjectId): none is a domain nor an array of one, so the
// warehouse type is the column's own and it travels in binary when the type has a send
// and a receive function. Its last column says whether every column was of such a type;
// when one is not, the description is read again with describeSourceSQL. The tables are
// found by their quoted names (to_regclass: no join with pg_namespace). On a new
// connection it costs about a third of describeSourceSQL.
var describeBootstrapSQL = `
SELECT w.ord, c.relkind::text, a.attname, format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typsend <> 0 AND t.typreceive <> 0 THEN ` + warehouse.TypeNameSQL("a.atttypid") + ` ELSE 'text' END,
       NOT (t.typsend <> 0 AND t.typreceive <> 0), NOT (t.typsend <> 0 AND t.typreceive <> 0),
       c.relrowsecurity, has_table_privilege(c.oid, 'SELECT'), c.relispopulated, a.atttypid < 10000
FROM unnest($1::text[]) WITH ORDINALITY AS w(name, ord)
JOIN pg_class c ON c.oid = to_regclass(w.name) AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
ORDER BY w.ord, a.attnum`

// queueDescribeSource queues the description of the spec's tables in a tenant
// database (one query: describeBootstrapSQL). Once the batch is sent, out holds the
// tables found, keyed by spec index (tables missing from the database are missing from
// it), unless *full is true: then a column's type is not a bootstrap type and
// describeSource must read the description again.
func queueDescribeSource(b *pgx.Batch, spec Spec, out map[int]srcTable, full *bool) {
	names := make([]string, len(spec.Tables))
	for i, t := range spec.Tables {
		names[i] = pgx.Identifier{t.Schema(), t.Relname()}.Sanitize()
	}
	b.Queue(describeBootstrapSQL, names).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("describe tenant tables: %w", err)
		}
		return scanSource(rows, out, full)
	}
}

// bootType is what a rollup needs of one of a tenant server's bootstrap types (oid below
// 10000): its warehouse name (warehouse.TypeNameSQL), its own name without modifier (for
// messages) and whether it has a binary send and receive function. They are created by
// initdb, the same in every database of a server, so a run reads them once per server.
type bootType struct {
	name, source string
	binary       bool
}

// bootTypesSQL reads a server's bootstrap types (see bootType).
var bootTypesSQL = `SELECT oid, ` + warehouse.TypeNameSQL("oid") + `, format_type(oid, NULL), typsend <> 0 AND typreceive <> 0
FROM pg_type WHERE oid < 10000`

// queueBootTypes queues the read of a server's bootstrap types into *out.
func queueBootTypes(b *pgx.Batch, out *map[uint32]bootType) {
	b.Queue(bootTypesSQL).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("read the server's types: %w", err)
		}
		defer rows.Close()
		m := map[uint32]bootType{}
		for rows.Next() {
			var oid uint32
			var t bootType
			if err := rows.Scan(&oid, &t.name, &t.source, &t.binary); err != nil {
				return fmt.Errorf("read the server's types: %w", err)
			}
			m[oid] = t
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the server's types: %w", err)
		}
		*out = m
		return nil
	}
}

// quickFlagsSQL reads what a relation's result columns do not say: its kind, row-level
// security and whether it is populated, for the relations named by the regclass literals
// of its IN list (%s). A name that is no relation fails the statement, and the usual
// description is taken instead. The literal list costs the server about half of what an
// array of names joined to pg_class costs (0.8 against 1.1–1.4 ms on a new connection).
const quickFlagsSQL = `SELECT c.oid, c.relkind::text, c.relrowsecurity, c.relispopulated FROM pg_class c WHERE c.oid IN (%s)`

// queueQuickDescribe queues the cheapest description of the spec's tables, for a server
// whose bootstrap types are known: the columns from the result description of a
// SELECT * … LIMIT 0 of each table (names, type oids, the table's oid; no row read, and
// it warms the caches the COPY needs next), then the tables' kinds and flags in one
// small pg_class statement. On a new connection the whole session costs the tenant
// backend about 1.2–1.5 ms less CPU than with describeBootstrapSQL (measured with
// log_statement_stats). Any table the admin or owner cannot read as is — missing,
// unreadable, under a row-level security policy that would filter it, a materialized
// view never populated, a relation that is no table or view, a table without columns —
// fails the batch: the caller rolls back and describes the usual way, which says what is
// wrong. Once the batch is sent, out holds the tables; *full is true when a column's
// type is not a bootstrap type (describeSource must read the description again). A
// column's SourceType carries no type modifier: messages that name it come from
// describeSource (see copyTenant).
func queueQuickDescribe(b *pgx.Batch, spec Spec, types map[uint32]bootType, out map[int]srcTable, full *bool) {
	names := make([]string, len(spec.Tables))
	literals := make([]string, len(spec.Tables))
	for i, t := range spec.Tables {
		names[i] = pgx.Identifier{t.Schema(), t.Relname()}.Sanitize()
		// A string literal (standard_conforming_strings, which pgx requires): quotes doubled.
		literals[i] = "'" + strings.ReplaceAll(names[i], "'", "''") + "'::regclass"
	}
	oids := make([]uint32, len(spec.Tables))
	for i, name := range names {
		b.Queue("SELECT * FROM " + name + " LIMIT 0").Fn = func(br pgx.BatchResults) error {
			rows, err := br.Query()
			if err != nil {
				return fmt.Errorf("describe tenant table %s: %w", name, err)
			}
			defer rows.Close()
			fields := rows.FieldDescriptions()
			if len(fields) == 0 {
				return fmt.Errorf("describe tenant table %s: no columns", name)
			}
			var t srcTable
			oids[i] = fields[0].TableOID
			for _, f := range fields {
				bt, ok := types[f.DataTypeOID]
				if !ok {
					*full = true // not a bootstrap type: a domain, an enum, an extension's type
					bt = bootType{name: "text", source: "text"}
				}
				c := srcColumn{Name: f.Name, SourceType: bt.source, Type: bt.name, AsText: !bt.binary, Cast: !bt.binary}
				if !bt.binary {
					c.Type = "text"
				}
				t.Columns = append(t.Columns, c)
			}
			for rows.Next() {
			}
			out[i] = t
			return rows.Err()
		}
	}
	b.Queue(fmt.Sprintf(quickFlagsSQL, strings.Join(literals, ", "))).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("describe tenant tables: %w", err)
		}
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var oid uint32
			var kind string
			var rls, populated bool
			if err := rows.Scan(&oid, &kind, &rls, &populated); err != nil {
				return fmt.Errorf("describe tenant tables: %w", err)
			}
			for i := range oids {
				if oids[i] != oid {
					continue
				}
				if !slices.Contains([]string{"r", "p", "m", "v", "f"}, kind) {
					return fmt.Errorf("describe tenant tables: %s is a relation of kind %q", names[i], kind)
				}
				t := out[i]
				// Its SELECT above succeeding is what says the table is readable.
				t.Kind, t.RLS, t.Populated, t.Readable = kind, rls, populated, true
				out[i] = t
				seen++
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("describe tenant tables: %w", err)
		}
		if seen != len(oids) {
			return fmt.Errorf("describe tenant tables: %d of %d tables found by their oids", seen, len(oids))
		}
		return nil
	}
}

// describeSource describes the spec's tables with describeSourceSQL (domains resolved,
// types without a binary form read as text) into out, which it empties first.
func describeSource(ctx context.Context, src *pgx.Conn, spec Spec, out map[int]srcTable) error {
	clear(out)
	nsps, rels := specNames(spec)
	rows, err := src.Query(ctx, describeSourceSQL, nsps, rels)
	if err != nil {
		return fmt.Errorf("describe tenant tables: %w", err)
	}
	return scanSource(rows, out, nil)
}

func specNames(spec Spec) (nsps, rels []string) {
	nsps = make([]string, len(spec.Tables))
	rels = make([]string, len(spec.Tables))
	for i, t := range spec.Tables {
		nsps[i], rels[i] = t.Schema(), t.Relname()
	}
	return nsps, rels
}

// scanSource reads a description's rows into out; with full not nil, the rows carry a
// last column saying whether the column's type is a bootstrap type, and *full is set
// when one is not.
func scanSource(rows pgx.Rows, out map[int]srcTable, full *bool) error {
	defer rows.Close()
	for rows.Next() {
		var ord int
		var kind string
		var rls, readable, populated, bootstrap bool
		var c srcColumn
		dest := []any{&ord, &kind, &c.Name, &c.SourceType, &c.Type, &c.AsText, &c.Cast, &rls, &readable, &populated}
		if full != nil {
			dest = append(dest, &bootstrap)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if full != nil && !bootstrap {
			*full = true
		}
		t := out[ord-1]
		t.Kind, t.RLS, t.Readable, t.Populated = kind, rls, readable, populated
		t.Columns = append(t.Columns, c)
		out[ord-1] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("describe tenant tables: %w", err)
	}
	return nil
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
	if t.Refresh && src.Kind != "m" {
		return schemaErrorf("table %s is a %s: refresh: true in the rollup spec applies to materialized views only", t.Name, kindName(src.Kind))
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

// unpopulatedNote is a skipped materialized view's note.
const unpopulatedNote = "materialized view is not populated (created WITH NO DATA and never refreshed): skipped, its warehouse rows kept; " +
	"refresh it in the tenant database, or set refresh: true for it in the rollup spec"

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
			compared := ""
			if sc.SourceType == hc.Declared {
				compared = fmt.Sprintf(" (%s and %s as the rollup compares them)", sc.Type, hc.Type)
			}
			return nil, schemaErrorf("column %s.%s is %s in the tenant database but %s in the warehouse%s: "+
				"change the warehouse column with %s (other tenants' values must convert) or drop the warehouse table, then run again",
				t.Name, sc.Name, sc.SourceType, hc.Declared, compared, AlterSQL(t.Relname(), sc.Name, sc.Type))
		}
		cols = append(cols, sc)
	}
	return cols, nil
}

// AlterSQL is the warehouse statement that gives column col of warehouse table rel the
// canonical type typ (values converted through their text form, which every type has).
func AlterSQL(rel, col, typ string) string {
	id := pgx.Identifier{col}.Sanitize()
	return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::text::%s;",
		pgx.Identifier{"public", rel}.Sanitize(), id, typ, id, typ)
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
		if c.Cast || c.AsText {
			// Type passed warehouse.EnsureTable's check of type names, or is text.
			parts[i] += "::" + c.Type
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

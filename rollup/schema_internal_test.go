package rollup

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// The cheap description (describeBootstrapSQL) must say exactly what the full one says
// for every column of a bootstrap type, and hand over to the full one for any other.
func TestBootstrapDescriptionMatchesTheFullOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "describe")
	env.Control.Exec(t, db,
		`CREATE TABLE plain (id bigint PRIMARY KEY, a text, b varchar(20), c char(5), d bit(3), e varbit(9), f numeric(10,2),
			g int[], h char(2)[], i bit(2)[], j timestamptz(3), k jsonb, l aclitem, m pg_node_tree, n "char", o interval day,
			p tsvector, q int4range, r uuid, s bytea, t money, u name, v oid)`,
		`CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`, `CREATE TYPE mood AS ENUM ('ok', 'sad')`,
		`CREATE TABLE custom (id bigint PRIMARY KEY, a posint, b mood, c posint[], d information_schema.cardinal_number)`,
		`CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM plain WITH NO DATA`,
		`CREATE SCHEMA "Odd"`, `CREATE TABLE "Odd"."Mixed ""Case""" (id int PRIMARY KEY, note text)`, `CREATE TABLE "Odd".plain (id int)`)
	conn := env.Control.Conn(t, db)
	spec := Spec{Tables: []Table{{Name: "plain"}, {Name: "mv"}, {Name: "missing"}, {Name: `Odd.Mixed "Case"`}, {Name: "nosuch.plain"}, {Name: "custom"}}}

	describe := func(tables []Table) (fast, full map[int]srcTable, needFull bool) {
		s := Spec{Tables: tables}
		fast, full = map[int]srcTable{}, map[int]srcTable{}
		b := &pgx.Batch{}
		queueDescribeSource(b, s, fast, &needFull)
		require.NoError(t, conn.SendBatch(ctx, b).Close())
		require.NoError(t, describeSource(ctx, conn, s, full))
		return fast, full, needFull
	}
	fast, full, needFull := describe(spec.Tables[:5])
	require.False(t, needFull)
	require.Equal(t, full, fast)
	require.Len(t, fast, 3)
	require.Len(t, fast[3].Columns, 2, "a table in another schema, its name quoted")
	require.Len(t, fast[0].Columns, 23)
	col, _ := fast[0].column("l")
	require.True(t, col.AsText, "aclitem has no binary form")
	col, _ = fast[0].column("c")
	require.Equal(t, "bpchar", col.Type)

	_, full, needFull = describe(spec.Tables)
	require.True(t, needFull, "a domain, an enum and information_schema's domains are no bootstrap types")
	col, _ = full[5].column("a")
	require.Equal(t, "integer", col.Type)
	require.True(t, col.Cast)
}

var typmod = regexp.MustCompile(`\(\d+(,\d+)?\)`)

// The quick description (kinds from pg_class, columns from a LIMIT 0 select's result
// description, types from the server's bootstrap types) must say what the full one says,
// type modifiers in messages aside, and refuse (fail its batch) whatever it cannot read
// as is, so that the caller describes the usual way.
func TestQuickDescriptionMatchesTheFullOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "quickdesc")
	env.Control.Exec(t, db,
		`CREATE TABLE plain (id bigint PRIMARY KEY, a text, b varchar(20), c char(5), d bit(3), e varbit(9), f numeric(10,2),
			g int[], h char(2)[], i bit(2)[], j timestamptz(3), k jsonb, l aclitem, m pg_node_tree, n "char", o interval day,
			p tsvector, q int4range, r uuid, s bytea, t money, u name, v oid)`,
		`ALTER TABLE plain DROP COLUMN e`,
		`CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`, `CREATE TYPE mood AS ENUM ('ok', 'sad')`,
		`CREATE TABLE custom (id bigint PRIMARY KEY, a posint, b mood, c posint[])`,
		`CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM plain WITH NO DATA`,
		`CREATE MATERIALIZED VIEW mvp AS SELECT id, a FROM plain`, `CREATE VIEW v AS SELECT 1 + 1 AS two, id, b FROM plain`,
		`CREATE TABLE secured (id int PRIMARY KEY)`, `ALTER TABLE secured ENABLE ROW LEVEL SECURITY`,
		`CREATE SCHEMA "Odd"`, `CREATE TABLE "Odd"."Mixed ""Case""" (id int PRIMARY KEY, note text)`,
		`CREATE SEQUENCE seq`)
	conn := env.Control.Conn(t, db)
	conn.Config().DefaultQueryExecMode = pgx.QueryExecModeExec
	var types map[uint32]bootType
	b := &pgx.Batch{}
	queueBootTypes(b, &types)
	require.NoError(t, conn.SendBatch(ctx, b).Close())
	require.NotEmpty(t, types)

	quick := func(tables ...Table) (map[int]srcTable, bool, error) {
		out, needFull := map[int]srcTable{}, false
		b := &pgx.Batch{}
		queueQuickDescribe(b, Spec{Tables: tables}, types, out, &needFull)
		return out, needFull, conn.SendBatch(ctx, b).Close()
	}
	tables := []Table{{Name: "plain"}, {Name: "mvp"}, {Name: "v"}, {Name: "secured"}, {Name: `Odd.Mixed "Case"`}}
	got, needFull, err := quick(tables...)
	require.NoError(t, err)
	require.False(t, needFull)
	full := map[int]srcTable{}
	require.NoError(t, describeSource(ctx, conn, Spec{Tables: tables}, full))
	for i, ft := range full {
		for j := range ft.Columns {
			// A type modifier ("varchar(20)", "interval day") is the only difference allowed.
			q := got[i].Columns[j].SourceType
			base := typmod.ReplaceAllString(ft.Columns[j].SourceType, "")
			require.True(t, strings.HasPrefix(base, strings.TrimSuffix(q, "[]")), "%s against %s", ft.Columns[j].SourceType, q)
			ft.Columns[j].SourceType = q
		}
	}
	require.Equal(t, full, got)
	require.Len(t, got[0].Columns, 22, "a dropped column is not described")
	require.Equal(t, "v", got[2].Kind)
	require.True(t, got[3].RLS)

	_, needFull, err = quick(Table{Name: "custom"})
	require.NoError(t, err)
	require.True(t, needFull, "a domain and an enum are no bootstrap types")

	for _, refused := range []string{"missing", "nosuch.plain", "mv", "seq"} {
		_, _, err := quick(Table{Name: "plain"}, Table{Name: refused})
		require.Error(t, err, refused)
	}
}

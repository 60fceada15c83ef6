package rollup

import (
	"context"
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

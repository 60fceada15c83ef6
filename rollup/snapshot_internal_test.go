package rollup

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// The guessed counts travel as rows of the snapshot statement: openSnapshot returns
// them with the snapshot, in one statement that does not fail.
func TestOpenSnapshotCountsWithTheSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "snap")
	env.Control.Exec(t, db, `CREATE TABLE a (id bigint PRIMARY KEY)`, `CREATE TABLE b (id bigint PRIMARY KEY)`,
		`INSERT INTO a SELECT generate_series(1, 5)`, `INSERT INTO b SELECT generate_series(1, 3)`)
	conn := env.Control.Conn(t, db)
	conn.Config().DefaultQueryExecMode = pgx.QueryExecModeExec
	spec := Spec{Tables: []Table{{Name: "a", Key: []string{"id"}, Mode: ModeIncremental}, {Name: "b", Key: []string{"id"}, Mode: ModeIncremental}}}
	// The snapshot's xmax, not its xmin: tests share the cluster, and another test's open
	// transaction holds xmin below the inserts above, which would then count as changed.
	var xmin int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&xmin))
	env.Control.Exec(t, db, `INSERT INTO b VALUES (4)`)
	guess := []countGuess{{idx: 0, prev: xmin}, {idx: 1, prev: xmin}}
	want := map[int]sourceCount{0: {prev: xmin, rows: 5, changed: 0}, 1: {prev: xmin, rows: 4, changed: 1}}
	op, err := openSnapshot(ctx, conn, spec, guess, nil)
	require.NoError(t, err)
	require.NotEmpty(t, op.snap.Source)
	require.Len(t, op.tables, 2)
	require.Equal(t, want, op.counts)
	require.False(t, op.quick)
	require.NotEmpty(t, op.types, "the server's bootstrap types are read with the first description")
	_, err = conn.Exec(ctx, "ROLLBACK")
	require.NoError(t, err)

	// With the server's types known, the same in the quick way.
	quick, err := openSnapshot(ctx, conn, spec, guess, op.types)
	require.NoError(t, err)
	require.True(t, quick.quick)
	require.Nil(t, quick.types)
	require.Equal(t, op.tables, quick.tables)
	require.Equal(t, want, quick.counts)
	require.Equal(t, op.snap.Source, quick.snap.Source)

	// Source names the database as the watermarks of earlier runs do: the system
	// identifier and the database's oid from pg_database, not a new spelling that would
	// copy every table of every tenant again.
	var source string
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' ||
		(SELECT oid FROM pg_database WHERE datname = current_database())::text`).Scan(&source))
	require.Equal(t, source, op.snap.Source)
}

package tenantdb

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// Stats counts every table's rows (a missing table is left out, a quoted or
// schema-qualified name is counted) and the database's size.
func TestStatsCountsPresentTablesAndSkipsMissingOnes(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	id := "st" + pgtest.RandomSuffix()
	admin, err := srv.Connect(ctx, "postgres")
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+ident(Database(id)))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(Database(id))+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	db, err := srv.Connect(ctx, Database(id))
	require.NoError(t, err)
	for _, stmt := range []string{
		`CREATE TABLE users (id int)`, `INSERT INTO users SELECT generate_series(1, 3)`,
		`CREATE SCHEMA ops`, `CREATE TABLE ops."Odd Name" (id int)`, `INSERT INTO ops."Odd Name" VALUES (1), (2)`,
		`CREATE TABLE empty (id int)`,
	} {
		_, err := db.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	db.Close(ctx)

	st, err := srv.Stats(ctx, id, []string{"users", "ops.Odd Name", "empty"})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"users": 3, "ops.Odd Name": 2, "empty": 0}, st.Rows)
	require.Positive(t, st.SizeBytes)

	st, err = srv.Stats(ctx, id, []string{"missing", "users", "also_missing", "empty"})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"users": 3, "empty": 0}, st.Rows, "missing tables are left out")
	require.Positive(t, st.SizeBytes)
}

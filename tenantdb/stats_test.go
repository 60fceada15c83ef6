package tenantdb

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
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
	// A tenant's roles and database; Stats reads as the owner's login.
	require.NoError(t, srv.EnsureRoles(ctx, id, "app-pw-st", "owner-pw-st", true))
	require.NoError(t, srv.CreateDatabase(ctx, id, ""))
	t.Cleanup(func() {
		ctx := context.Background()
		_ = srv.DropDatabase(ctx, id)
		_ = srv.DropRoles(ctx, id)
	})
	srv.OwnerPasswords = func(_ context.Context, got string) (string, bool, error) {
		return "owner-pw-st", got == id, nil
	}
	cfg, err := srv.OwnerConnConfig(ctx, id)
	require.NoError(t, err)
	require.Equal(t, OwnerRole(id), cfg.User, "the owner's own login")
	db, err := pgx.ConnectConfig(ctx, cfg)
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

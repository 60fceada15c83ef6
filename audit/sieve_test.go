package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestCleanDatabaseIsOneRoundTrip guards the inspection's cost: a clean tenant database
// is judged from the plain catalog reads alone (one round trip after the login), and a
// sabotaged one still gets the checking statement, which names the door.
func TestCleanDatabaseIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	alpha := f.tenants["alpha"]
	srv, err := tenantdb.NewServer("pg-a", f.servers[0].AdminDSN(t), 150000, "file_copy")
	require.NoError(t, err)
	ro := srv.ReadOnly(0)
	c, err := ro.InspectDatabase(ctx, alpha.ID, tenantdb.ExpectedFor(alpha.ID, nil))
	require.NoError(t, err)
	require.Equal(t, 1, c.RoundTrips, "a clean tenant database is one round trip")
	require.Empty(t, c.System)
	require.Empty(t, c.ForeignOwned)
	require.Empty(t, tenantdb.ExpectedFor(alpha.ID, nil).Unexpected(c.Privileges))
	require.NotEmpty(t, c.Privileges, "the app role's grants are read")
	require.Contains(t, c.Extensions, "plpgsql")

	// The superuser opens a door in alpha's database: the path is real (alpha's app
	// role may now call the file reader), and the inspection runs the system statement.
	super := f.servers[0].Conn(t, tenantdb.Database(alpha.ID))
	_, err = super.Exec(ctx, `GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO PUBLIC`)
	require.NoError(t, err)
	var may bool
	require.NoError(t, super.QueryRow(ctx, `SELECT has_function_privilege($1, 'pg_catalog.pg_read_binary_file(text)', 'EXECUTE')`,
		tenantdb.AppRole(alpha.ID)).Scan(&may))
	require.True(t, may)
	c, err = ro.InspectDatabase(ctx, alpha.ID, tenantdb.ExpectedFor(alpha.ID, nil))
	require.NoError(t, err)
	require.Equal(t, 2, c.RoundTrips)
	require.NotEmpty(t, c.System)
	require.Contains(t, c.System[0].What, "pg_read_binary_file")
	_, err = super.Exec(ctx, `REVOKE EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) FROM PUBLIC`)
	require.NoError(t, err)
	c, err = ro.InspectDatabase(ctx, alpha.ID, tenantdb.ExpectedFor(alpha.ID, nil))
	require.NoError(t, err)
	require.Equal(t, 1, c.RoundTrips, "clean again")
}

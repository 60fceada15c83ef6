package rollup_test

import (
	"context"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestRollupOwnerLoginRacingARotation: a rollup whose owner login loses a race with
// rotate-credentials (the server already has the new password, the password the run read
// from the catalog is refused with 28P01) logs in with the password the rotation put in
// force, pending or promoted, and copies the tenant instead of failing it for the run.
func TestRollupOwnerLoginRacingARotation(t *testing.T) {
	b := setup(t, setupOptions{tenants: 2})
	ctx := context.Background()
	racing, other := b.tenants[0], b.tenants[1]
	seed(t, b.tenantConn(racing), 20)
	seed(t, b.tenantConn(other), 10)

	ownerLogin := func(pw string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(b.server(racing).SuperDSN(tenantdb.Database(racing.ID)))
		require.NoError(t, err)
		cfg.User, cfg.Password = tenantdb.OwnerRole(racing.ID), pw
		return pgx.ConnectConfig(ctx, cfg)
	}
	old, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential)
	require.NoError(t, err)

	// A rotation caught after it set the owner's new password on the server and before it
	// promoted it in the catalog (its own steps, stopped there).
	next := secret.NewPassword()
	require.NoError(t, b.store.SetCredential(ctx, racing.ID, catalog.OwnerCredential+"_pending", next))
	srv, err := b.prov.Server(ctx, racing.Server)
	require.NoError(t, err)
	require.NoError(t, srv.SetOwnerPassword(ctx, racing.ID, next))
	// The path is real: the password the catalog holds as the owner's is refused.
	_, err = ownerLogin(old)
	require.Error(t, err)
	require.True(t, dbconn.HasCode(err, pgerrcode.InvalidPassword), "want 28P01, got %v", err)

	res := b.mustRun(rollup.Options{})
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, racing.Slug).Status)
	require.Equal(t, int64(20), b.whCount("users", racing.ID))
	require.Equal(t, int64(10), b.whCount("users", other.ID))
	// Nothing of the rotation was touched: it is still pending, the rerun finishes it.
	pending, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential+"_pending")
	require.NoError(t, err)
	require.Equal(t, next, pending)
	cur, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.Equal(t, old, cur)

	// A rotation that ran from start to end between a run's read of the password and its
	// login (the new password promoted): the login read before it is refused, and the
	// retry logs in with the promoted one.
	require.NoError(t, b.prov.RotateCredentials(ctx, racing.Slug))
	stale := cur
	_, err = ownerLogin(stale)
	require.True(t, dbconn.HasCode(err, pgerrcode.InvalidPassword), "want 28P01, got %v", err)
	conn, err := catalog.LoginAsOwner(ctx, b.store, racing.ID, stale, ownerLogin)
	require.NoError(t, err)
	conn.Close(ctx)

	seed(t, b.tenantConn(racing), 5)
	res = b.mustRun(rollup.Options{})
	require.Equal(t, rollup.StatusOK, tenantResult(t, res, racing.Slug).Status)
	require.Equal(t, int64(25), b.whCount("users", racing.ID))
}

package rollout_test

import (
	"context"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// A migration whose owner login loses a race with rotate-credentials (the server has
// the new password, the catalog still the old one as current) logs in again with the
// rotation's password and migrates the tenant; the rotation is left for its rerun.
func TestMigrationOwnerLoginRacingARotation(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	tenants := b.fleet(t, "race", 1)
	racing := tenants[0]
	old, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential)
	require.NoError(t, err)

	// A rotation caught after it set the owner's new password on the server and before
	// it promoted it in the catalog (its own steps, stopped there).
	next := secret.NewPassword()
	require.NoError(t, b.store.SetCredential(ctx, racing.ID, catalog.OwnerCredential+"_pending", next))
	srv, err := b.p.Server(ctx, racing.Server)
	require.NoError(t, err)
	require.NoError(t, srv.SetOwnerPassword(ctx, racing.ID, next))
	// The path is real: the password the catalog holds as the owner's is refused.
	cfg, err := pgx.ParseConfig(b.server(racing).SuperDSN(racing.Database))
	require.NoError(t, err)
	cfg.User, cfg.Password = tenantdb.OwnerRole(racing.ID), old
	_, err = pgx.ConnectConfig(ctx, cfg)
	require.True(t, dbconn.HasCode(err, pgerrcode.InvalidPassword), "want 28P01, got %v", err)

	// A migration set of its own: its template is not the one the other tests of this
	// package build from addAssets on the same servers (a catalog rebuilds a template
	// it did not record, which those tests would see as a template built again).
	dir := migDir(t, map[string]string{"00002_race.sql": "-- +goose Up\nCREATE TABLE race_marker (id int);\n"})
	res, err := b.run(t, dir, rollout.Options{})
	require.NoError(t, err)
	require.Empty(t, res.Failed)
	for _, tn := range tenants {
		require.Equal(t, int64(2), b.dbVersion(t, tn), tn.Slug)
	}
	// Nothing of the rotation was touched: still pending, the old password current.
	pending, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential+"_pending")
	require.NoError(t, err)
	require.Equal(t, next, pending)
	cur, err := b.store.Credential(ctx, racing.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.Equal(t, old, cur)
}

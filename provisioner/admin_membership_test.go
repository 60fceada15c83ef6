package provisioner_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// A new tenant leaves the admin no standing membership in its roles. A tenant of an
// older tenantctl (the admin a member of its owner and app roles, the owner not logging
// in) is converted by one reconcile run: the owner login first, then the memberships
// revoked. A revoke killed between its statements (one membership left) converges on
// the next run; and with nothing left, reconcile has nothing to do. A database left
// the admin's is handed to its owner.
func TestReconcileRevokesAdminMemberships(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tn := b.create(t, "member-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	pgA := b.env.Servers[0]
	srv, err := b.p.Server(ctx, tn.Server)
	require.NoError(t, err)
	owner, app, admin := tenantdb.OwnerRole(tn.ID), tenantdb.AppRole(tn.ID), srv.AdminRole()
	memberships := func() []string {
		t.Helper()
		snap, err := srv.Snapshot(ctx)
		require.NoError(t, err)
		return tenantdb.AdminMemberships(snap, admin, tn.ID)
	}
	require.Empty(t, memberships(), "a new tenant: no standing membership of the admin")

	// The layout an older tenantctl left: the admin a member of both roles, the owner
	// NOLOGIN without a password in the catalog.
	pgA.Exec(t, "postgres",
		"GRANT "+owner+", "+app+" TO "+admin,
		"ALTER ROLE "+owner+" NOLOGIN CONNECTION LIMIT 0 PASSWORD NULL",
		"REVOKE "+tenantdb.GroupRole(tn.ID)+" FROM "+owner,
		"REVOKE "+tenantdb.LoginsRole+" FROM "+owner)
	_, err = b.store.Pool().Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND role LIKE 'owner%'`, tn.ID)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{owner, app}, memberships())

	plan, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActOwnerLogin}, actionKinds(plan, tn.Slug, "-"),
		"not converted yet: its migrations still need the admin's membership, so no revoke is planned")
	done, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActOwnerLogin, provisioner.ActAdminMembership}, actionKinds(done, tn.Slug, "-"),
		"one run converts the owner, then revokes")
	require.Empty(t, memberships())
	_, err = b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)

	// Killed after the first revoke: one membership left; the rerun revokes it.
	pgA.Exec(t, "postgres", "GRANT "+app+" TO "+admin)
	done, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActAdminMembership}, actionKinds(done, tn.Slug, "-"))
	require.Empty(t, memberships())
	again, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Empty(t, actionKinds(again, tn.Slug, "-"), "converged")

	// A database left the admin's (a hand-over that never happened): reconcile hands it
	// over.
	pgA.Exec(t, "postgres", "ALTER DATABASE "+tn.Database+" OWNER TO "+admin)
	done, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActReharden}, actionKinds(done, tn.Slug, "-"))
	var dbOwner string
	require.NoError(t, pgA.Conn(t, "postgres").QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, tn.Database).Scan(&dbOwner))
	require.Equal(t, owner, dbOwner)
	again, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Empty(t, actionKinds(again, tn.Slug, "-"), "converged")

	// Everything still works without it: migrations as the owner (through reconcile's
	// reharden, which enters the database as the admin), suspend, rotate, delete, purge.
	require.NoError(t, b.p.Suspend(ctx, tn.Slug))
	require.NoError(t, b.p.RotateCredentials(ctx, tn.Slug))
	require.NoError(t, b.p.Delete(ctx, provisioner.DeleteOptions{Slug: tn.Slug, Confirm: tn.Slug, Purge: true}))
	require.Empty(t, memberships())
}

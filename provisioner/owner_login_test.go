package provisioner_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// ownerConnect logs in as the tenant's owner role with password to database db.
func (b *testBundle) ownerConnect(t *testing.T, tn catalog.Tenant, password, db string) (*pgx.Conn, error) {
	t.Helper()
	ctx := context.Background()
	srv, err := b.p.Server(ctx, tn.Server)
	require.NoError(t, err)
	cfg, err := dbconn.ParseConfig(srv.DSNFor(tenantdb.OwnerRole(tn.ID), password, db))
	require.NoError(t, err)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

// New tenants' owners log in with their own sealed password, confined to their database
// like the app role; a fleet made before owner logins converts through reconcile, and a
// conversion killed between its steps (password sealed as pending; server changed,
// catalog still pending) converges on the next run, the pending password kept.
func TestReconcileConvertsOwnerLogins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	onA := func(o *provisioner.CreateOptions) { o.Server = "pg-a" }
	tn := b.create(t, "owner-"+pgtest.RandomSuffix()[:4], onA)
	neighbour := b.create(t, "owner-n-"+pgtest.RandomSuffix()[:4], onA)
	pgA := b.env.Servers[0]
	owner := tenantdb.OwnerRole(tn.ID)

	confined := func(pw string) {
		t.Helper()
		conn, err := b.ownerConnect(t, tn, pw, tn.Database)
		require.NoError(t, err, "the owner logs in to its own database")
		var who string
		require.NoError(t, conn.QueryRow(ctx, "SELECT session_user").Scan(&who))
		require.Equal(t, owner, who)
		for _, db := range []string{neighbour.Database, "postgres", "template1"} {
			_, err := b.ownerConnect(t, tn, pw, db)
			refused(t, err, "the owner's credentials on "+db)
		}
	}
	pw, err := b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err, "a new tenant's owner password is sealed in the catalog")
	confined(pw)

	// The layout of a fleet made before owner logins, as a superuser leaves it: the owner
	// NOLOGIN without a password or confinement, no owner credential in the catalog.
	legacy := func() {
		t.Helper()
		pgA.Exec(t, "postgres",
			"ALTER ROLE "+owner+" NOLOGIN CONNECTION LIMIT 0 PASSWORD NULL",
			"REVOKE "+tenantdb.GroupRole(tn.ID)+" FROM "+owner,
			"REVOKE "+tenantdb.LoginsRole+" FROM "+owner)
		_, err := b.store.Pool().Exec(ctx, `DELETE FROM credentials WHERE tenant_id = $1 AND role LIKE 'owner%'`, tn.ID)
		require.NoError(t, err)
		_, err = b.ownerConnect(t, tn, pw, tn.Database)
		refused(t, err, "the unconverted owner cannot log in")
	}
	converge := func() {
		t.Helper()
		done, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
		require.NoError(t, err)
		require.Equal(t, []string{provisioner.ActOwnerLogin}, actionKinds(done, tn.Slug, "-"))
		again, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
		require.NoError(t, err)
		require.Empty(t, actionKinds(again, tn.Slug, "-"), "converted: nothing left to do")
		ok, err := b.store.HasCredential(ctx, tn.ID, catalog.OwnerCredential+"_pending")
		require.NoError(t, err)
		require.False(t, ok, "no pending password left")
	}

	legacy()
	plan, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActOwnerLogin}, actionKinds(plan, tn.Slug, "-"))
	converge()
	pw, err = b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	confined(pw)

	// Killed after the password was sealed as pending: the server never saw it, and
	// nothing reads a pending password; the rerun gives the server that same one.
	legacy()
	pending := secret.NewPassword()
	require.NoError(t, b.store.SetCredential(ctx, tn.ID, catalog.OwnerCredential+"_pending", pending))
	_, err = b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.ErrorIs(t, err, catalog.ErrNoCredential, "migrations and rollups still see no owner password")
	converge()
	confined(pending)

	// Killed after the server took it, the catalog still pending.
	legacy()
	pending = secret.NewPassword()
	require.NoError(t, b.store.SetCredential(ctx, tn.ID, catalog.OwnerCredential+"_pending", pending))
	srv, err := b.p.Server(ctx, tn.Server)
	require.NoError(t, err)
	require.NoError(t, srv.EnsureOwnerLogin(ctx, tn.ID, pending))
	converge()
	confined(pending)
	got, err := b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.Equal(t, pending, got)

	// The admin holds CONNECT on the database in its own name (its sessions then need no
	// walk over its memberships to be let in); a tenant hardened before it did gets it
	// from reconcile.
	adminConnect := func() bool {
		t.Helper()
		var ok bool
		require.NoError(t, pgA.Conn(t, "postgres").QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a
			WHERE d.datname = $1 AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2) AND a.privilege_type = 'CONNECT')`,
			tn.Database, srv.AdminRole()).Scan(&ok))
		return ok
	}
	require.True(t, adminConnect(), "create grants the admin CONNECT in its own name")
	pgA.Exec(t, "postgres", "REVOKE CONNECT ON DATABASE "+tn.Database+" FROM "+srv.AdminRole())
	require.False(t, adminConnect())
	done, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{provisioner.ActReharden}, actionKinds(done, tn.Slug, "-"))
	require.True(t, adminConnect(), "reconcile gave it back")
	confined(pending)

	// The neighbour was never touched, and its own owner is confined the same way.
	npw, err := b.store.Credential(ctx, neighbour.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	_, err = b.ownerConnect(t, neighbour, npw, neighbour.Database)
	require.NoError(t, err)
	_, err = b.ownerConnect(t, neighbour, npw, tn.Database)
	refused(t, err, "the neighbour's owner on this tenant's database")
}

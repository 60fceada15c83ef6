package tenantdb

import (
	"context"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// The claim of a spare is one round trip on a connection to its database: the domain
// functions written as the owner, the app and owner roles' passwords and LOGIN, in one
// implicit transaction that leaves the admin no membership, or keeps one a spare made
// before the role change held; a failure in the middle changes nothing.
//
// Not parallel: the spare made before the role change gives the admin a standing
// membership until the test's cleanup drops its roles, which the parallel tests that
// assert the admin holds none must not see.
func TestClaimActivationOneTransaction(t *testing.T) {
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	watch := super.Conn(t, "postgres")
	defer watch.Close(ctx)
	memberships := func(id string) int {
		var n int
		require.NoError(t, watch.QueryRow(ctx, `SELECT count(*) FROM pg_auth_members m
			WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
			  AND m.member = (SELECT oid FROM pg_roles WHERE rolname = $2)`, OwnerRole(id), srv.AdminRole()).Scan(&n))
		return n
	}
	spare := func() string {
		id := NewID()
		require.NoError(t, srv.EnsureSpareRoles(ctx, id))
		require.NoError(t, srv.CreateDatabase(ctx, id, ""))
		require.NoError(t, srv.Harden(ctx, id))
		t.Cleanup(func() {
			_ = srv.DropDatabase(context.Background(), id)
			_ = srv.DropRoles(context.Background(), id)
		})
		return id
	}
	login := func(id, role, pw string) error { return loginAs(t, super, Database(id), role, pw) }
	claim := func(id, domain, app, owner string) error {
		pw, err := PrepareClaimPasswords(app, owner)
		require.NoError(t, err)
		act, err := srv.PrepareClaim(id, domain, pw)
		require.NoError(t, err)
		conn, err := srv.ConnectTenant(ctx, id)
		require.NoError(t, err)
		defer conn.Close(ctx)
		return srv.ActivateClaim(ctx, conn, act)
	}

	// A new spare: nobody can log in before the claim (the path is real).
	id := spare()
	require.Zero(t, memberships(id))
	require.Error(t, login(id, AppRole(id), "app-pw-1"))
	require.NoError(t, claim(id, "claimed.example", "app-pw-1", "owner-pw-1"))
	require.NoError(t, login(id, AppRole(id), "app-pw-1"), "the app logs in with its new password")
	require.NoError(t, login(id, OwnerRole(id), "owner-pw-1"), "and the owner with its own")
	var domain string
	tc := super.Conn(t, Database(id))
	require.NoError(t, tc.QueryRow(ctx, "SELECT public.tenantctl_domain()").Scan(&domain))
	tc.Close(ctx)
	require.Equal(t, "claimed.example", domain)
	require.Zero(t, memberships(id), "the transient membership is gone")
	// Again (a rerun after a kill): idempotent.
	require.NoError(t, claim(id, "claimed.example", "app-pw-2", "owner-pw-2"))
	require.NoError(t, login(id, AppRole(id), "app-pw-2"))
	require.Zero(t, memberships(id))

	// A spare made before the role change: the admin's standing membership is used and
	// kept (reconcile revokes it, not a claim).
	old := spare()
	super.Exec(t, "postgres", "GRANT "+ident(OwnerRole(old))+" TO "+ident(srv.AdminRole()))
	require.NoError(t, claim(old, "old.example", "app-pw-3", "owner-pw-3"))
	require.Equal(t, 1, memberships(old), "a standing membership stays")
	require.NoError(t, login(old, AppRole(old), "app-pw-3"))

	// A failure inside the transaction (the domain function cannot be replaced) leaves
	// everything as it was: the app's old password, no membership.
	super.Exec(t, Database(id), "ALTER FUNCTION public.tenantctl_domain() OWNER TO "+ident(srv.AdminRole()))
	err := claim(id, "other.example", "app-pw-4", "owner-pw-4")
	require.Error(t, err)
	require.Error(t, login(id, AppRole(id), "app-pw-4"), "nothing of the failed claim stayed")
	err = login(id, AppRole(id), "app-pw-4")
	require.True(t, dbconn.HasCode(err, pgerrcode.InvalidPassword), "want 28P01, got %v", err)
	require.NoError(t, login(id, AppRole(id), "app-pw-2"))
	require.Zero(t, memberships(id), "nor any membership")
}

package tenantdb

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
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
	spare := func() string { return newTestSpare(t, srv) }
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

// BeginClaim makes the activation inside a transaction left open: nothing of it is
// visible or kept until CommitClaim, and a connection closed before (a claim of
// another spare, a kill) leaves the spare as it was. A concurrent claimer's change on
// the same spare waits for the open one; never committed, it changes nothing.
//
// Not parallel, like TestClaimActivationOneTransaction: the open transaction holds a
// transient membership of the admin in the spare's owner.
func TestClaimBegunThenCommitted(t *testing.T) {
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	spare := func() string { return newTestSpare(t, srv) }
	login := func(id, role, pw string) error { return loginAs(t, super, Database(id), role, pw) }
	begin := func(id, app string) (*pgx.Conn, ClaimActivation) {
		pw, err := PrepareClaimPasswords(app, "owner-"+app)
		require.NoError(t, err)
		act, err := srv.PrepareClaim(id, "begun.example", pw)
		require.NoError(t, err)
		conn, err := srv.ConnectTenant(ctx, id)
		require.NoError(t, err)
		require.NoError(t, srv.BeginClaim(ctx, conn, act))
		return conn, act
	}
	id := spare()
	canLogin := func() bool {
		var b bool
		require.NoError(t, super.Conn(t, "postgres").QueryRow(ctx, `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, AppRole(id)).Scan(&b))
		return b
	}

	// Begun, then the connection closed: rolled back, the spare as it was.
	conn, _ := begin(id, "app-pw-1")
	require.False(t, canLogin(), "nothing of an open claim is visible")
	require.NoError(t, conn.Close(ctx))
	require.False(t, canLogin())
	require.Error(t, login(id, AppRole(id), "app-pw-1"), "a claim never committed left no password")

	// Begun and committed: the app logs in, the domain answers.
	conn, act := begin(id, "app-pw-2")
	require.NoError(t, srv.CommitClaim(ctx, conn, act))
	require.NoError(t, conn.Close(ctx))
	require.NoError(t, login(id, AppRole(id), "app-pw-2"))
	var domain string
	tc := super.Conn(t, Database(id))
	require.NoError(t, tc.QueryRow(ctx, "SELECT public.tenantctl_domain()").Scan(&domain))
	tc.Close(ctx)
	require.Equal(t, "begun.example", domain)

	// Begun on a database whose app logs in already (a spare claimed and activated by
	// someone else since the login): refused before anything is touched.
	pw5, err := PrepareClaimPasswords("app-pw-5", "owner-pw-5")
	require.NoError(t, err)
	act5, err := srv.PrepareClaim(id, "stale.example", pw5)
	require.NoError(t, err)
	stale, err := srv.ConnectTenant(ctx, id)
	require.NoError(t, err)
	err = srv.BeginClaim(ctx, stale, act5)
	require.ErrorContains(t, err, "not a spare")
	require.NoError(t, stale.Close(ctx))
	require.NoError(t, login(id, AppRole(id), "app-pw-2"), "the live tenant's password is untouched")

	// Two claimers on one spare: the second's change waits for the first's open
	// transaction; the loser of the catalog's claim closes its connection, and the
	// first's password stands.
	other := spare()
	first, firstAct := begin(other, "app-pw-3")
	var pw ClaimPasswords
	defer first.Close(ctx)
	pw, err = PrepareClaimPasswords("app-pw-4", "owner-pw-4")
	require.NoError(t, err)
	act4, err := srv.PrepareClaim(other, "second.example", pw)
	require.NoError(t, err)
	second, err := srv.ConnectTenant(ctx, other)
	require.NoError(t, err)
	defer second.Close(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.BeginClaim(ctx, second, act4) }()
	select {
	case err := <-done:
		t.Fatalf("the second claimer did not wait for the open one: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, srv.CommitClaim(ctx, first, firstAct))
	<-done // made or failed: a claimer that lost the catalog's claim never commits it
	require.NoError(t, second.Close(ctx))
	require.NoError(t, login(other, AppRole(other), "app-pw-3"), "the winner's password stands")
	require.Error(t, login(other, AppRole(other), "app-pw-4"))
}

// newTestSpare makes a spare on srv (its roles, its hardened database), dropped when the
// test ends.
func newTestSpare(t *testing.T, srv *Server) string {
	t.Helper()
	ctx := context.Background()
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

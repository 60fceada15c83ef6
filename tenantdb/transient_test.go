package tenantdb

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// A membership granted for one transaction gives the admin the role's rights inside
// it and leaves nothing standing: not after commit, not after the session is killed in
// the middle, and a standing membership that was there before is never revoked. Two
// such transactions on one role wait for each other and both succeed.
func TestTransientMembershipLeavesNothingStanding(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	watch := super.Conn(t, "postgres")
	defer watch.Close(ctx)
	memberships := func(role string) int {
		var n int
		require.NoError(t, watch.QueryRow(ctx, `SELECT count(*) FROM pg_auth_members m
			WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1)
			  AND m.member = (SELECT oid FROM pg_roles WHERE rolname = $2)`, role, srv.AdminRole()).Scan(&n))
		return n
	}
	ownerOf := func(db string) string {
		var o string
		require.NoError(t, watch.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, db).Scan(&o))
		return o
	}

	role := "tenantctl_transient_" + pgtest.RandomSuffix()[:8]
	db := role + "_db"
	conn, release, err := srv.admin(ctx)
	require.NoError(t, err)
	defer release()
	_, err = conn.Exec(ctx, "CREATE ROLE "+ident(role)+" NOLOGIN")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident(db))
	require.NoError(t, err)
	t.Cleanup(func() {
		super.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+ident(db), "DROP ROLE IF EXISTS "+ident(role))
	})
	giveAway := "ALTER DATABASE " + ident(db) + " OWNER TO " + ident(role)

	// The path is real: without a membership the admin cannot hand the database over.
	require.Zero(t, memberships(role), "the admin created the role and holds no membership in it")
	_, err = conn.Exec(ctx, giveAway)
	require.ErrorContains(t, err, "must be", "a membership is needed for this statement")

	// Killed in the middle of the transaction: the grant was made and is in force in
	// the session, invisible to every other one, and gone with the session.
	victim, err := srv.Connect(ctx, "postgres")
	require.NoError(t, err)
	var pid int
	require.NoError(t, victim.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	err = srv.withMembership(ctx, victim, []string{role}, func(tx pgx.Tx) error {
		var inForce bool
		require.NoError(t, tx.QueryRow(ctx, "SELECT pg_has_role($1, 'USAGE')", role).Scan(&inForce))
		require.True(t, inForce, "the admin holds the role inside the transaction")
		require.Zero(t, memberships(role), "no other session sees the uncommitted grant")
		var ended bool
		require.NoError(t, watch.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&ended))
		require.True(t, ended)
		_, err := tx.Exec(ctx, giveAway)
		return err
	})
	require.Error(t, err, "the killed session's statement fails")
	require.Zero(t, memberships(role), "a killed transaction leaves no membership")
	require.Equal(t, srv.AdminRole(), ownerOf(db), "nor anything it did")

	// Committed: the work is done and the membership is gone.
	require.NoError(t, srv.withMembership(ctx, conn, []string{role}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, giveAway)
		return err
	}))
	require.Equal(t, role, ownerOf(db))
	require.Zero(t, memberships(role), "revoked in the transaction that granted it")

	// A failing fn rolls everything back, the grant with it.
	boom := errors.New("boom")
	require.ErrorIs(t, srv.withMembership(ctx, conn, []string{role}, func(pgx.Tx) error { return boom }), boom)
	require.Zero(t, memberships(role))

	// Two at once on the same role: the second waits for the first, both succeed, and
	// nothing is left.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := srv.Connect(ctx, "postgres")
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close(ctx)
			errs[i] = srv.withMembership(ctx, c, []string{role}, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "SELECT pg_sleep(0.2)")
				return err
			})
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Zero(t, memberships(role))

	// A standing membership (a fleet not yet converted) is used, never revoked.
	_, err = conn.Exec(ctx, srv.grantToAdminStmt(role))
	require.NoError(t, err)
	require.Equal(t, 1, memberships(role))
	require.NoError(t, srv.withMembership(ctx, conn, []string{role}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(db)+" OWNER TO "+ident(srv.AdminRole()))
		return err
	}))
	require.Equal(t, 1, memberships(role), "the standing membership stays")
	_, err = conn.Exec(ctx, "REVOKE "+ident(role)+" FROM "+ident(srv.AdminRole()))
	require.NoError(t, err)

	// Taken back in a transaction, the database is the admin's to drop.
	require.NoError(t, srv.withMembership(ctx, conn, []string{role}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, giveAway)
		return err
	}))
	require.NoError(t, srv.withMembership(ctx, conn, []string{role}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(db)+" OWNER TO "+ident(srv.AdminRole()))
		return err
	}))
	_, err = conn.Exec(ctx, "DROP DATABASE "+ident(db))
	require.NoError(t, err)
	require.Zero(t, memberships(role))
}

package tenantdb

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// When a command that ends a role's sessions returns, they are gone, not just signalled:
// otherwise a role dropped right after leaves sessions of no role, which a
// least-privilege admin can no longer terminate, and the next DROP DATABASE … WITH
// (FORCE) beside them fails ("must be a member of the role whose process is being
// terminated"). Repeated, because a signalled session usually ends within a millisecond.
func TestSessionsAreGoneWhenTerminateReturns(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	watch, err := pgx.Connect(ctx, super.SuperDSN("postgres"))
	require.NoError(t, err)
	defer watch.Close(ctx)
	sessionsOf := func(role string) int {
		var n int
		require.NoError(t, watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n))
		return n
	}
	login := func(role, password, db string) []*pgx.Conn {
		u, err := url.Parse(super.SuperDSN(db))
		require.NoError(t, err)
		u.User = url.UserPassword(role, password)
		var conns []*pgx.Conn
		for i := 0; i < 3; i++ {
			c, err := pgx.Connect(ctx, u.String())
			require.NoError(t, err, "log in as %s", role)
			conns = append(conns, c)
		}
		return conns
	}
	for i := 0; i < 5; i++ {
		id := NewID()
		require.NoError(t, srv.EnsureRoles(ctx, id, "app-pw-1", "owner-pw-1", true))
		require.NoError(t, srv.CreateDatabase(ctx, id, ""))
		require.NoError(t, srv.Harden(ctx, id))

		// An MSP access role with sessions in the tenant database, revoked: the role is
		// dropped, and the database can still be dropped with force.
		access := "msp_term_" + pgtest.RandomSuffix()[:6]
		require.NoError(t, srv.GrantAccess(ctx, id, access, "read", "access-pw-1", nil))
		login(access, "access-pw-1", Database(id))
		require.NoError(t, srv.RevokeAccessRole(ctx, id, access))
		require.Zero(t, sessionsOf(access), "no session of the dropped access role is left")

		// The app role suspended: its sessions are gone when SetAppLogin returns.
		login(AppRole(id), "app-pw-1", Database(id))
		require.NoError(t, srv.SetAppLogin(ctx, id, false))
		require.Zero(t, sessionsOf(AppRole(id)), "suspending ends the app's sessions before it returns")

		require.NoError(t, srv.DropDatabase(ctx, id))
		require.NoError(t, srv.DropRoles(ctx, id))
	}
}

// The cause of that failure, shown directly: a session whose role is dropped under it
// can be neither terminated nor forced out of its database by a least-privilege admin until it
// ends; DropDatabase succeeds once it has.
func TestSessionOfADroppedRoleBlocksAForcedDrop(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	id := NewID()
	require.NoError(t, srv.EnsureRoles(ctx, id, "app-pw-2", "owner-pw-2", true))
	require.NoError(t, srv.CreateDatabase(ctx, id, ""))
	require.NoError(t, srv.Harden(ctx, id))
	access := "msp_orphan_" + pgtest.RandomSuffix()[:6]
	require.NoError(t, srv.GrantAccess(ctx, id, access, "read", "access-pw-2", nil))
	u, err := url.Parse(super.SuperDSN(Database(id)))
	require.NoError(t, err)
	u.User = url.UserPassword(access, "access-pw-2")
	orphan, err := pgx.Connect(ctx, u.String())
	require.NoError(t, err)
	super.Exec(t, Database(id), "DROP OWNED BY "+ident(access))
	super.Exec(t, "postgres", "DROP ROLE "+ident(access)) // its session lives on, of no role

	var pid int
	require.NoError(t, orphan.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	conn, release, err := srv.admin(ctx)
	require.NoError(t, err)
	_, termErr := conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	// As DropDatabase does it: the database taken over by the admin first.
	require.NoError(t, srv.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(Database(id))+" OWNER TO "+ident(srv.AdminRole()))
		return err
	}))
	_, dropErr := conn.Exec(ctx, "DROP DATABASE "+ident(Database(id))+" WITH (FORCE)")
	release()
	for _, err := range []error{termErr, dropErr} {
		require.ErrorContains(t, err, "must be a member of the role whose process is being terminated")
	}

	orphan.Close(ctx)
	require.NoError(t, srv.DropDatabase(ctx, id), "once the session ended")
	require.NoError(t, srv.DropRoles(ctx, id))
}

package tenantdb

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// The admin holds no standing membership in any tenant role at any point of a tenant's
// life, and yet does all of it: roles, the database handed to its owner, hardening, the
// domain, an MSP grant and its revoke, ending sessions, renaming a database aside,
// dropping it (also after a drop killed between its take-over and the drop itself).
// Memberships an older tenantctl left are found in the snapshot and revoked, one
// statement at a time, idempotently.
func TestAdminHoldsNoStandingMembership(t *testing.T) {
	t.Parallel()
	srv := testServer(t)
	ctx := context.Background()
	super := pgtest.Get(t).Servers[0]
	watch, err := pgx.Connect(ctx, super.SuperDSN("postgres"))
	require.NoError(t, err)
	defer watch.Close(ctx)
	standing := func() []string {
		t.Helper()
		var roles []string
		require.NoError(t, watch.QueryRow(ctx, `SELECT coalesce(array_agg(g.rolname::text ORDER BY 1), '{}') FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)
			  AND (g.rolname LIKE 't\_%' OR g.rolname LIKE 'msp\_nm%')`, srv.AdminRole()).Scan(&roles))
		return roles
	}
	dbOwner := func(db string) string {
		t.Helper()
		var o string
		require.NoError(t, watch.QueryRow(ctx, `SELECT coalesce((SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1), '')`, db).Scan(&o))
		return o
	}
	login := func(role, password, db string) *pgx.Conn {
		t.Helper()
		u, err := url.Parse(super.SuperDSN(db))
		require.NoError(t, err)
		u.User = url.UserPassword(role, password)
		c, err := pgx.Connect(ctx, u.String())
		require.NoError(t, err, "log in as %s", role)
		return c
	}
	sessionsOf := func(role string) int {
		var n int
		require.NoError(t, watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n))
		return n
	}

	id := NewID()
	require.NoError(t, srv.EnsureRoles(ctx, id, "app-pw-3", "owner-pw-3", true))
	require.NoError(t, srv.CreateDatabase(ctx, id, ""))
	require.Equal(t, OwnerRole(id), dbOwner(Database(id)), "handed to the owner")
	require.NoError(t, srv.Harden(ctx, id))
	require.NoError(t, srv.SetDomain(ctx, id, "example.com"))
	access := "msp_nm_" + pgtest.RandomSuffix()[:6]
	require.NoError(t, srv.GrantAccess(ctx, id, access, "read", "access-pw-3", nil))
	require.Empty(t, standing(), "no standing membership after a whole create and a grant")

	// What was done as the owner belongs to the owner and works for the app.
	owner := login(OwnerRole(id), "owner-pw-3", Database(id))
	_, err = owner.Exec(ctx, "CREATE TABLE notes (id int PRIMARY KEY)")
	require.NoError(t, err, "the owner creates tables in its database")
	owner.Close(ctx)
	require.NoError(t, srv.Harden(ctx, id))
	app := login(AppRole(id), "app-pw-3", Database(id))
	_, err = app.Exec(ctx, "INSERT INTO notes VALUES (1)")
	require.NoError(t, err, "the app has DML on the owner's tables")
	var domain string
	require.NoError(t, app.QueryRow(ctx, "SELECT public.tenantctl_domain()").Scan(&domain))
	require.Equal(t, "example.com", domain)
	acc := login(access, "access-pw-3", Database(id))
	var n int
	require.NoError(t, acc.QueryRow(ctx, "SELECT count(*) FROM notes").Scan(&n), "the access role reads")

	// Ending sessions takes the membership for one transaction per round.
	require.NoError(t, srv.RevokeAccessRole(ctx, id, access))
	require.Zero(t, sessionsOf(access))
	require.NoError(t, srv.SetAppLogin(ctx, id, false))
	require.Zero(t, sessionsOf(AppRole(id)), "the app's sessions are gone")
	_ = app.Close(ctx)
	require.Empty(t, standing())

	// Renamed aside with a session open on it (a kept copy), then dropped.
	require.NoError(t, srv.SetAppLogin(ctx, id, true))
	app = login(AppRole(id), "app-pw-3", Database(id))
	defer app.Close(ctx)
	kept := KeptCopy(id, 1)
	if err := srv.RenameDatabase(ctx, Database(id), kept); err != nil {
		rows, _ := watch.Query(ctx, `SELECT pid, coalesce(usename::text, '-'), backend_type, state, coalesce(query, '') FROM pg_stat_activity WHERE datname = $1`, Database(id))
		for rows.Next() {
			var pid int
			var u, bt, st, q string
			_ = rows.Scan(&pid, &u, &bt, &st, &q)
			t.Logf("session %d %s %s %s %s", pid, u, bt, st, q)
		}
		rows.Close()
		require.NoError(t, err)
	}
	require.Equal(t, OwnerRole(id), dbOwner(kept))
	require.NoError(t, srv.RenameDatabase(ctx, kept, Database(id)))

	// A delete closes the database and takes LOGIN from both roles.
	require.NoError(t, srv.RevokeAccess(ctx, id))
	require.NoError(t, srv.RevokeOwnerLogin(ctx, id))
	var ownerLogin bool
	require.NoError(t, watch.QueryRow(ctx, `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, OwnerRole(id)).Scan(&ownerLogin))
	require.False(t, ownerLogin, "the owner cannot log in once the tenant is deleted")

	// A drop killed after it took the database over: the rerun drops it.
	conn, release, err := srv.admin(ctx)
	require.NoError(t, err)
	require.NoError(t, srv.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(Database(id))+" OWNER TO "+ident(srv.AdminRole()))
		return err
	}))
	release()
	require.NoError(t, srv.DropDatabase(ctx, id))
	require.Empty(t, dbOwner(Database(id)), "dropped")
	require.NoError(t, srv.DropRoles(ctx, id))
	require.Empty(t, standing())

	// A tenant of an older tenantctl: the admin a member of its owner and app roles.
	old := NewID()
	require.NoError(t, srv.EnsureRoles(ctx, old, "app-pw-4", "owner-pw-4", true))
	require.NoError(t, srv.CreateDatabase(ctx, old, ""))
	super.Exec(t, "postgres", "GRANT "+ident(OwnerRole(old))+", "+ident(AppRole(old))+" TO "+ident(srv.AdminRole()),
		"REVOKE CONNECT ON DATABASE "+ident(Database(old))+" FROM "+ident(srv.AdminRole()))
	snap, err := srv.Snapshot(ctx)
	require.NoError(t, err)
	found := AdminMemberships(snap, srv.AdminRole(), old)
	require.ElementsMatch(t, []string{OwnerRole(old), AppRole(old)}, found)
	require.NoError(t, srv.RevokeAdminMemberships(ctx, old, found))
	require.NoError(t, srv.RevokeAdminMemberships(ctx, old, found), "a rerun changes nothing")
	require.Empty(t, standing())
	snap, err = srv.Snapshot(ctx)
	require.NoError(t, err)
	require.Empty(t, AdminMemberships(snap, srv.AdminRole(), old))
	require.NoError(t, srv.Harden(ctx, old), "the admin still enters the database: CONNECT in its own name")
	require.NoError(t, srv.DropDatabase(ctx, old))
	require.NoError(t, srv.DropRoles(ctx, old))
}

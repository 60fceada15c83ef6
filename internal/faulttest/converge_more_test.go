package faulttest

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// catalogConn opens a superuser connection to the fleet's catalog database; close it.
func (f *fleet) catalogConn() *pgx.Conn {
	f.t.Helper()
	conn, err := pgx.Connect(context.Background(), f.control.SuperDSN(f.catalogDB))
	require.NoError(f.t, err)
	return conn
}

// assertPoolAndMoves checks, in the catalog, that no move is left open (moving, or
// switched but not resumed, or keeping a source copy past its time) and no spare is
// anything but ready; with a pool configured, that a refill has nothing left to do. It
// returns the spares' ids by server.
func (f *fleet) assertPoolAndMoves(what string) map[string][]string {
	f.t.Helper()
	ctx := context.Background()
	conn := f.catalogConn()
	defer conn.Close(ctx)
	var open []string
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(format('move %s of %s: %s at %s', m.id, t.slug, m.status, m.step)), '{}')
		FROM tenant_moves m JOIN tenants t ON t.id = m.tenant_id
		WHERE m.status = 'moving' OR (m.status = 'switched' AND (m.resumed_at IS NULL OR m.keep_source_until <= now()))`).Scan(&open))
	require.Empty(f.t, open, "%s: moves left open", what)

	rows, err := conn.Query(ctx, `SELECT server, id, state FROM spares ORDER BY server, id`)
	require.NoError(f.t, err)
	spares := map[string][]string{}
	var notReady []string
	for rows.Next() {
		var server, id, state string
		require.NoError(f.t, rows.Scan(&server, &id, &state))
		spares[server] = append(spares[server], id)
		if state != "ready" {
			notReady = append(notReady, server+"/"+id+" "+state)
		}
	}
	require.NoError(f.t, rows.Err())
	require.Empty(f.t, notReady, "%s: spares left half-built or half-dropped", what)
	var target int
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(sum(spares), 0) FROM servers`).Scan(&target))
	if target > 0 || len(spares) > 0 {
		for _, r := range decode[[]map[string]any](f.t, f.must("server", "refill", "--dry-run", "-o", "json")) {
			for _, k := range []string{"built", "finished", "dropped"} {
				require.Zero(f.t, r[k], "%s: server %v: the pool has %s left to do", what, r["server"], k)
			}
		}
	}
	return spares
}

// assertNoReplication checks that server i (conn: its superuser, database postgres)
// holds no replication slot or subscription, and, on a fleet that moves tenants by
// logical replication, no publication in any tenant database.
func (f *fleet) assertNoReplication(what string, i int, conn *pgx.Conn) {
	f.t.Helper()
	ctx := context.Background()
	var left []string
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(n), '{}') FROM (
		SELECT 'slot ' || slot_name AS n FROM pg_replication_slots UNION ALL SELECT 'subscription ' || subname FROM pg_subscription) x`).Scan(&left))
	require.Empty(f.t, left, "%s: replication left on server %d", what, i)
	if !f.logical {
		return
	}
	var dbs []string
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(datname::text), '{}') FROM pg_database WHERE datname LIKE 't\_%'`).Scan(&dbs))
	for _, db := range dbs {
		c := f.serverConn(i, db)
		var pubs []string
		err := c.QueryRow(ctx, `SELECT coalesce(array_agg(pubname::text), '{}') FROM pg_publication`).Scan(&pubs)
		c.Close(ctx)
		require.NoError(f.t, err)
		require.Empty(f.t, pubs, "%s: publications left in %s", what, db)
	}
}

// unconvertOwner gives tn the layout of a tenant made before owner logins: its owner
// NOLOGIN without a password, outside its group role and tenantctl_logins, and no owner
// password in the catalog.
func (f *fleet) unconvertOwner(tn tenant) {
	f.t.Helper()
	owner, group := "t_"+tn.ID+"_owner", "t_"+tn.ID
	c := f.serverConn(f.serverIndex(tn.Server), "postgres")
	defer c.Close(t0)
	_, err := c.Exec(t0, "ALTER ROLE "+owner+" NOLOGIN CONNECTION LIMIT 0 PASSWORD NULL; REVOKE "+group+" FROM "+owner+"; REVOKE tenantctl_logins FROM "+owner)
	require.NoError(f.t, err)
	cat := f.catalogConn()
	defer cat.Close(t0)
	_, err = cat.Exec(t0, `DELETE FROM credentials WHERE tenant_id = $1 AND role LIKE 'owner%'`, tn.ID)
	require.NoError(f.t, err)
}

// assertOwnerLogin checks tn's owner login: LOGIN and confined on the server, its
// password in the catalog and none left pending. (That the password works, and only
// on the tenant's own database, the audit's probes check after every case.)
func (f *fleet) assertOwnerLogin(tn tenant) {
	f.t.Helper()
	c := f.serverConn(f.serverIndex(tn.Server), "postgres")
	defer c.Close(t0)
	var login bool
	var groups []string
	require.NoError(f.t, c.QueryRow(t0, `SELECT r.rolcanlogin, coalesce(array_agg(g.rolname::text ORDER BY g.rolname) FILTER (WHERE g.rolname IS NOT NULL), '{}')
		FROM pg_roles r LEFT JOIN pg_auth_members m ON m.member = r.oid LEFT JOIN pg_roles g ON g.oid = m.roleid
		WHERE r.rolname = $1 GROUP BY r.rolcanlogin`, "t_"+tn.ID+"_owner").Scan(&login, &groups))
	require.True(f.t, login, "the owner of %s logs in", tn.Slug)
	require.Equal(f.t, []string{"t_" + tn.ID, "tenantctl_logins"}, groups, "the owner of %s is confined", tn.Slug)
	cat := f.catalogConn()
	defer cat.Close(t0)
	var roles []string
	require.NoError(f.t, cat.QueryRow(t0, `SELECT coalesce(array_agg(role ORDER BY role), '{}') FROM credentials WHERE tenant_id = $1 AND role LIKE 'owner%'`, tn.ID).Scan(&roles))
	require.Equal(f.t, []string{"owner"}, roles, "the owner password of %s is stored, none left pending", tn.Slug)
}

// grantAdminMemberships gives tn the admin memberships an older tenantctl left: the
// admin a standing member of its owner and app roles.
func (f *fleet) grantAdminMemberships(tn tenant) {
	f.t.Helper()
	c := f.serverConn(f.serverIndex(tn.Server), "postgres")
	defer c.Close(t0)
	_, err := c.Exec(t0, "GRANT t_"+tn.ID+"_owner, t_"+tn.ID+"_app TO "+pgx.Identifier{pgtest.AdminRole}.Sanitize())
	require.NoError(f.t, err)
}

// assertNoAdminMembership checks that the admin holds no standing membership in tn's
// roles.
func (f *fleet) assertNoAdminMembership(tn tenant) {
	f.t.Helper()
	c := f.serverConn(f.serverIndex(tn.Server), "postgres")
	defer c.Close(t0)
	var roles []string
	require.NoError(f.t, c.QueryRow(t0, `SELECT coalesce(array_agg(g.rolname::text ORDER BY 1), '{}') FROM pg_auth_members m
		JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles a ON a.oid = m.member
		WHERE a.rolname = $1 AND g.rolname LIKE $2`, pgtest.AdminRole, "t\\_"+tn.ID+"%").Scan(&roles))
	require.Empty(f.t, roles, "the admin holds no membership in the roles of %s", tn.Slug)
}

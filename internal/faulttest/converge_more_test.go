package faulttest

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
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

package faulttest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// rollupTables are the tables of the default rollup spec.
var rollupTables = []string{"users", "systems", "incidents"}

// assertConverged checks everything a user relies on after a fault and a rerun or
// reconcile: reconcile ends clean and has nothing left to do; no tenant is in a
// transitional state, no move is left open, no spare is half-built or half-dropped and
// the pools are full; servers hold exactly the live tenants' and the spares' databases
// and roles and the catalog's MSP access roles, only finished templates, and no
// replication slot, subscription or publication; a rollup run leaves the
// warehouse equal to the sources (count and checksum per tenant and table) and holds
// no purged tenant's rows; every active tenant's credentials work and a suspended
// tenant's do not; the isolation audit passes.
//
// full also checks every tenant's credentials and runs the audit (with live probes);
// otherwise credentials are checked for the tenants whose slug starts with focus (all
// when focus is empty) and the caller runs the audit when it sees fit (assertAudit).
func (f *fleet) assertConverged(what string, full bool, focus ...string) {
	f.t.Helper()
	r := f.run("reconcile", "-o", "json")
	require.Equal(f.t, 0, r.code, "%s: reconcile must succeed\n%s", what, r)
	// A reconcile that found nothing at all (nothing fixed, nothing reported) leaves a
	// state a dry run would find nothing in either: only after one that did something is
	// the dry run worth its second pass over every server.
	if done := decode[[]map[string]any](f.t, r.stdout); len(done) > 0 {
		plan := decode[[]map[string]any](f.t, f.must("reconcile", "--dry-run", "-o", "json"))
		require.Empty(f.t, plan, "%s: reconcile must have nothing left to do", what)
	}

	jobs := decode[[]struct {
		ID     int64  `json:"id"`
		Job    string `json:"job"`
		Status string `json:"status"`
	}](f.t, f.must("jobs", "--limit", "100000", "-o", "json"))
	for _, j := range jobs {
		require.NotEqual(f.t, "running", j.Status, "%s: job run %d (%s) left recorded as running", what, j.ID, j.Job)
	}

	ts := f.tenants()
	live := map[string]map[string]bool{} // server -> expected t_* names
	for _, tn := range ts {
		require.Contains(f.t, []string{"active", "suspended", "deleting", "purged"}, tn.State, "%s: tenant %s left %s (step %q, error %q)", what, tn.Slug, tn.State, tn.Step, tn.LastError)
		require.NotEqual(f.t, "purging", tn.Step, "%s: tenant %s half purged", what, tn.Slug)
		if tn.State == "purged" {
			continue
		}
		if live[tn.Server] == nil {
			live[tn.Server] = map[string]bool{}
		}
		// The database, and the roles: owner, app and the group role named like the
		// database that pg_hba.conf's samerole confines logins with.
		db := "t_" + tn.ID
		for _, n := range []string{"database " + db, "role " + db, "role " + db + "_owner", "role " + db + "_app"} {
			live[tn.Server][n] = true
		}
	}
	// Spares of the warm pool: their databases and roles are expected like a tenant's.
	for server, ids := range f.assertPoolAndMoves(what) {
		if live[server] == nil {
			live[server] = map[string]bool{}
		}
		for _, id := range ids {
			for _, n := range []string{"database t_" + id, "role t_" + id, "role t_" + id + "_owner", "role t_" + id + "_app"} {
				live[server][n] = true
			}
		}
	}
	grants := decode[[]struct {
		Tenant string `json:"tenant"`
		Role   string `json:"role"`
	}](f.t, f.must("access", "list", "-o", "json"))
	serverOf := map[string]string{}
	for _, tn := range ts {
		serverOf[tn.Slug] = tn.Server
	}
	access := map[string][]string{}
	for _, g := range grants {
		access[serverOf[g.Tenant]] = append(access[serverOf[g.Tenant]], g.Role)
	}
	ctx := context.Background()
	for i := range f.servers {
		name := fmt.Sprintf("pg-%c", 'a'+i)
		conn := f.serverConn(i, "postgres")
		defer conn.Close(ctx)
		var have []string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM (
			SELECT 'database ' || datname AS n FROM pg_database WHERE datname LIKE 't\_%'
			UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE 't\_%') x`).Scan(&have))
		want := make([]string, 0, len(live[name]))
		for n := range live[name] {
			want = append(want, n)
		}
		sort.Strings(want)
		require.Equal(f.t, want, have, "%s: server %s must hold exactly the live tenants' databases and roles", what, name)

		var msp []string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(rolname::text ORDER BY rolname), '{}') FROM pg_roles WHERE rolname LIKE 'msp\_%'`).Scan(&msp))
		wantMSP := slices.Clone(access[name])
		sort.Strings(wantMSP)
		if wantMSP == nil {
			wantMSP = []string{}
		}
		require.Equal(f.t, wantMSP, msp, "%s: server %s must hold exactly the catalog's access roles", what, name)

		var halfBuilt []string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(datname::text), '{}') FROM pg_database
			WHERE datname LIKE 'tenantctl\_tmpl\_%' AND (datallowconn OR NOT datistemplate)`).Scan(&halfBuilt))
		require.Empty(f.t, halfBuilt, "%s: server %s has half-built templates", what, name)
		f.assertNoReplication(what, i, conn)
	}

	r = f.run("rollup", "run")
	require.Equal(f.t, 0, r.code, "%s: rollup run\n%s", what, r)
	f.assertWarehouseExact(what, ts)

	for _, tn := range ts {
		if tn.State != "active" && tn.State != "suspended" {
			continue
		}
		if !full && len(focus) > 0 && !slices.ContainsFunc(focus, func(p string) bool { return strings.HasPrefix(tn.Slug, p) }) {
			continue
		}
		dsn := strings.TrimSpace(f.must("tenant", "dsn", tn.Slug))
		conn, err := pgx.Connect(ctx, dsn)
		if tn.State == "active" {
			require.NoError(f.t, err, "%s: active tenant %s's credentials must work", what, tn.Slug)
			conn.Close(ctx)
		} else {
			require.Error(f.t, err, "%s: suspended tenant %s must not log in", what, tn.Slug)
		}
	}

	if full {
		f.assertAudit(what)
	}
}

// assertAudit runs the isolation audit with live probes; it must pass.
func (f *fleet) assertAudit(what string) {
	f.t.Helper()
	r := f.run("audit", "-o", "json")
	require.Equal(f.t, 0, r.code, "%s: audit must pass\n%s", what, r)
}

// assertWarehouseExact compares, for every rollable tenant and rolled-up table, the
// source's row count and checksum with the warehouse's, and checks that no purged
// tenant has a row left there.
func (f *fleet) assertWarehouseExact(what string, ts []tenant) {
	f.t.Helper()
	ctx := context.Background()
	wh, err := pgx.Connect(ctx, f.warehouse)
	require.NoError(f.t, err)
	defer wh.Close(ctx)
	for _, tn := range ts {
		var src *pgx.Conn
		if tn.State == "active" || tn.State == "suspended" {
			src = f.serverConn(f.serverIndex(tn.Server), "t_"+tn.ID)
		}
		for _, table := range rollupTables {
			var whN int64
			var whSum string
			require.NoError(f.t, wh.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg((to_jsonb(x) - 'tenant_id')::text, ',' ORDER BY x.id)), '')
				FROM `+pgx.Identifier{table}.Sanitize()+` x WHERE tenant_id = $1`, tn.ID).Scan(&whN, &whSum))
			switch tn.State {
			case "purged":
				require.Zero(f.t, whN, "%s: purged tenant %s still has rows in warehouse table %s", what, tn.Slug, table)
			case "active", "suspended":
				var n int64
				var sum string
				require.NoError(f.t, src.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(to_jsonb(x)::text, ',' ORDER BY x.id)), '')
					FROM `+pgx.Identifier{table}.Sanitize()+` x`).Scan(&n, &sum))
				require.Equal(f.t, n, whN, "%s: tenant %s table %s: rows in the warehouse", what, tn.Slug, table)
				require.Equal(f.t, sum, whSum, "%s: tenant %s table %s: checksum in the warehouse", what, tn.Slug, table)
			}
		}
		if src != nil {
			src.Close(ctx)
		}
	}
}

package faulttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// TestWarehouseOrCatalogGoesDown stops the warehouse in the middle of a rollup, and
// restarts the catalog's server in the middle of commands: each command fails with a
// clear error (no hang), the warehouse holds for each tenant either its previous rows
// or all of them (never a part, never rows recorded as copied that are not there), and
// after the server is back a rerun or reconcile converges.
func TestWarehouseOrCatalogGoesDown(t *testing.T) {
	t.Parallel()
	control := pgtest.Dedicated(t, "catalog-restart", nil)
	wh := pgtest.Dedicated(t, "warehouse-down", nil)
	srv := pgtest.Dedicated(t, "tenants-restart", nil)
	f := newFleetWith(t, control, wh, srv)
	for i := 0; i < 3; i++ {
		f.createTenant(fmt.Sprintf("wh-%d", i))
	}
	f.must("rollup", "run")
	ctx := context.Background()

	for round := 0; round < 3; round++ {
		for i := 0; i < 3; i++ {
			f.fill(fmt.Sprintf("wh-%d", i), 40)
		}
		before := f.warehouseCounts()
		done := make(chan result, 1)
		go func() { done <- f.run("rollup", "run") }()
		time.Sleep(time.Duration(100+150*round) * time.Millisecond)
		wh.Stop(t)
		var r result
		select {
		case r = <-done:
		case <-time.After(faultBound):
			t.Fatal("rollup run hung when the warehouse went down")
		}
		wh.Start(t)
		t.Logf("warehouse stopped mid-rollup (round %d): exit %d", round, r.code)
		if r.code != 0 {
			require.Equal(t, 1, r.code, r.String())
			require.Contains(t, r.stdout+r.stderr, "warehouse", "the failure names the warehouse\n%s", r)
		}
		after := f.warehouseCounts()
		for _, tn := range f.tenants() {
			src := f.serverConn(0, "t_"+tn.ID)
			var n int64
			require.NoError(t, src.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n))
			src.Close(ctx)
			require.Contains(t, []int64{before[tn.ID], n}, after[tn.ID],
				"tenant %s: the warehouse holds its previous rows or all of them, never a part", tn.Slug)
		}
		// What rollup status says was copied is what the warehouse holds.
		status := decode[[]map[string]any](t, f.must("rollup", "status", "-o", "json"))
		for _, st := range status {
			if st["table"] == "users" {
				id := tenantID(f, st["slug"])
				require.EqualValues(t, after[id], st["rows"], "rollup status of %v", st["slug"])
			}
		}
		f.must("rollup", "run")
		f.assertWarehouseExact("after the warehouse came back", f.tenants())
	}

	// The catalog's server restarts in the middle of commands.
	for i, args := range [][]string{
		createArgs("cat-restart-a"), {"migrate", "up"}, {"rollup", "run"}, {"reconcile"}, createArgs("cat-restart-b", "--no-template"),
	} {
		if args[0] == "migrate" {
			f.addMigration()
		}
		done := make(chan result, 1)
		go func() { done <- f.run(args...) }()
		time.Sleep(time.Duration(50+100*i) * time.Millisecond)
		control.Stop(t)
		control.Start(t)
		var r result
		select {
		case r = <-done:
		case <-time.After(faultBound):
			t.Fatalf("tenantctl %v hung when the catalog restarted", args)
		}
		t.Logf("catalog restarted during tenantctl %v: exit %d", args, r.code)
		if r.code != 0 {
			require.Equal(t, 1, r.code, r.String())
			require.NotContains(t, r.stderr, "panic", r.String())
			require.Regexp(t, `(?i)catalog|connect|terminat|shut ?down|closed|EOF|refused`, r.stderr, "a clear error\n%s", r)
		}
		// Whatever it left, a rerun or reconcile finishes.
		if args[0] == "tenant" || args[0] == "migrate" {
			if rr := f.run(args...); rr.code != 0 {
				require.Equal(t, 2, rr.code, rr.String()) // a create that had finished: slug taken
			}
		}
		f.must("migrate", "up")
		f.assertConverged(fmt.Sprintf("after the catalog restarted during %v", args), false)
	}
	f.assertAudit("after the catalog and warehouse faults")
}

// warehouseCounts returns the users rows per tenant id in the warehouse.
func (f *fleet) warehouseCounts() map[string]int64 {
	f.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.warehouse)
	require.NoError(f.t, err)
	defer conn.Close(ctx)
	out := map[string]int64{}
	rows, err := conn.Query(ctx, `SELECT tenant_id, count(*) FROM users GROUP BY 1`)
	require.NoError(f.t, err)
	for rows.Next() {
		var id string
		var n int64
		require.NoError(f.t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(f.t, rows.Err())
	return out
}

func tenantID(f *fleet, slug any) string {
	for _, tn := range f.tenants() {
		if tn.Slug == slug {
			return tn.ID
		}
	}
	f.t.Fatalf("no tenant %v", slug)
	return ""
}

package rollup_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/rollup"
)

// A run given a process's server handles and warehouse pool (as jobs.RollupOptions
// gives them) uses them and leaves them open for the next run; the rows are the same as
// with a run's own.
func TestRunUsesSharedHandlesAndPool(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{tenants: 2})
	for _, ten := range b.tenants {
		seed(t, b.tenantConn(ten), 20)
	}
	ctx := context.Background()
	servers, wh := fleet.NewServers(b.store), fleet.NewWarehouse(b.store)
	t.Cleanup(func() { servers.Close(); wh.Close() })
	o := rollup.Options{Servers: servers, Warehouse: wh, Options: fleet.Options{Concurrency: 4, PerServer: 1}}
	b.mustRun(o)
	pool, err := wh.Pool(ctx)
	require.NoError(t, err)
	require.NoError(t, pool.Ping(ctx), "the run left the shared pool open")
	require.EqualValues(t, 5, pool.Config().MaxConns, "made by the run: room for its workers and a failure record")
	srv, err := servers.Get(ctx, b.tenants[0].Server)
	require.NoError(t, err)

	for _, ten := range b.tenants {
		mutate(t, b.tenantConn(ten), 5)
	}
	b.mustRun(o)
	again, err := wh.Pool(ctx)
	require.NoError(t, err)
	require.Same(t, pool, again)
	srv2, err := servers.Get(ctx, b.tenants[0].Server)
	require.NoError(t, err)
	require.Same(t, srv, srv2)
	b.requireEqual(rollup.DefaultSpec().TableNames(), b.tenants...)
}

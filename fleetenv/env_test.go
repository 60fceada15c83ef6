package fleetenv_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/secret"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

// openCatalog returns an Open over a fresh catalog of its own.
func openCatalog(t *testing.T) func(context.Context) (*catalog.Store, error) {
	t.Helper()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "fleetenv"))
	_, err := catalog.Init(context.Background(), dsn)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	return func(ctx context.Context) (*catalog.Store, error) { return catalog.Open(ctx, dsn, box) }
}

// An environment never started does no I/O and stops safely; a failed start leaves it
// unstarted, so it can be started again.
func TestStartRetriesAndStopIsSafe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fleetenv.New(fleetenv.Options{}).Stop()

	down := errors.New("catalog not up yet")
	calls := 0
	open := openCatalog(t)
	env := fleetenv.New(fleetenv.Options{Open: func(ctx context.Context) (*catalog.Store, error) {
		if calls++; calls == 1 {
			return nil, down
		}
		return open(ctx)
	}})
	require.ErrorIs(t, env.Start(ctx), down)
	require.Nil(t, env.Store)
	require.NoError(t, env.Start(ctx))
	require.ErrorIs(t, env.Start(ctx), fleetenv.ErrStarted)
	require.NotEmpty(t, env.Node, "the host name by default")

	env.Stop()
	env.Stop()
	require.ErrorIs(t, env.Start(ctx), fleetenv.ErrStopped)
	require.Error(t, env.Store.Pool().Ping(ctx), "Stop closed the catalog")
	_, err := env.Warehouse.Pool(ctx)
	require.ErrorIs(t, err, fleet.ErrClosed)
}

// The provisioner shares the environment's server handles and warehouse pool, and with
// no warehouse registered the pool gives the one answer every user reads.
func TestProvisionerSharesTheCaches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := fleetenv.New(fleetenv.Options{Open: openCatalog(t), Node: "node-a"})
	require.NoError(t, env.Start(ctx))
	t.Cleanup(env.Stop)

	require.Same(t, env.Store, env.Provisioner.Store)
	require.Same(t, env.Servers, env.Provisioner.Servers)
	require.Same(t, env.Warehouse, env.Provisioner.Warehouse)
	require.Same(t, env.Store, env.Mover().Store)
	require.Equal(t, "node-a", env.Node)
	_, err := env.Warehouse.Pool(ctx)
	require.ErrorIs(t, err, catalog.ErrNoWarehouse)
	_, err = env.Servers.Get(ctx, "no-such-server")
	require.ErrorIs(t, err, catalog.ErrServerNotFound)
}

// Specs are read at each call: an edited file is picked up without a restart.
func TestSpecsAreReadAtEachCall(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.yaml")
	env := fleetenv.New(fleetenv.Options{ReportSpecPath: path})
	_, err := env.ReportSpec()
	require.Error(t, err, "no file yet")
	def := fleetenv.New(fleetenv.Options{})
	_, err = def.ReportSpec()
	require.NoError(t, err, "the embedded spec")
	_, err = def.RollupSpec()
	require.NoError(t, err, "the embedded spec")
	raw, err := os.ReadFile(filepath.Join("..", "report", "default-spec.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	_, err = env.ReportSpec()
	require.NoError(t, err, "the file written since is read")
}

package jobs_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

func openCatalog(t *testing.T) *catalog.Store {
	t.Helper()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "jobs"))
	ctx := context.Background()
	_, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	return store
}

func TestTableListsEveryJobOnce(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"migrate", "rollup", "audit", "reconcile", "purge", "report", "pool", "backup", "backup-logical"}, jobs.Names)
	bodies := jobs.Bodies(fleetenv.New(fleetenv.Options{}), jobs.Settings{})
	require.Len(t, bodies, len(jobs.Names))
	for _, name := range jobs.Names {
		require.NotNil(t, bodies[name], name)
	}
}

// The fleet jobs' options carry the environment's server handles, so a migration and
// an audit run on the handles the rest of the process shares instead of opening their
// own per run.
func TestFleetOptionsUseTheEnvironmentsHandles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := fleetenv.New(fleetenv.Options{Store: openCatalog(t), Node: "node-a"})
	require.NoError(t, env.Start(ctx))
	t.Cleanup(env.Stop)
	require.NotNil(t, env.Servers)
	require.Same(t, env.Servers, jobs.MigrateOptions(env, fleet.Options{}).Servers)
	ao := jobs.AuditOptions(env, fleet.Options{})
	require.Same(t, env.Servers, ao.Servers)
	require.Same(t, env.Store, ao.Store)
}

func TestReconcileTotals(t *testing.T) {
	t.Parallel()
	got := jobs.CountActions([]provisioner.Action{{Applied: true}, {Error: "boom"}, {}, {Applied: true}})
	require.Equal(t, jobs.ReconcileTotals{Actions: 4, Fixed: 2, Failed: 1, Reported: 1}, got)
	require.Equal(t, map[string]int64{"actions": 4, "fixed": 2, "failed": 1, "reported": 1}, got.Map())
	require.Equal(t, map[string]int64{"actions": 0}, jobs.CountActions(nil).Map(), "outcomes that did not occur are not recorded")
}

// Def.Run records one job run with the job's name, node, status and counts; the
// scheduler's body for the same job returns the same counts without recording.
func TestRunRecordsTheJobAndBodyDoesNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := openCatalog(t)
	env := fleetenv.New(fleetenv.Options{Store: store, Node: "node-a"})
	require.NoError(t, env.Start(ctx))
	t.Cleanup(env.Stop)

	purged, err := jobs.Purge.Run(ctx, env, jobs.PurgeOptions{Provisioner: env.Provisioner, Retention: time.Hour})
	require.NoError(t, err)
	require.Empty(t, purged)
	runs, err := store.ListJobs(ctx, 10)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, "purge", runs[0].Job)
	require.Equal(t, "node-a", runs[0].Node)
	require.Equal(t, catalog.JobSucceeded, runs[0].Status)
	require.Equal(t, map[string]int64{"purged": 0}, runs[0].Counts)

	counts, err := jobs.Bodies(env, jobs.Settings{PurgeRetention: time.Hour})["purge"](ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"purged": 0}, counts)
	runs, err = store.ListJobs(ctx, 10)
	require.NoError(t, err)
	require.Len(t, runs, 1, "the body leaves recording to its runner")
}

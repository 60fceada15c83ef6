package catalog_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/secret"
)

func TestMain(m *testing.M) {
	if os.Getenv("ROTATE_HELPER_DSN") != "" {
		os.Exit(m.Run()) // the helper process of TestRotateKeyKilledConverges uses its parent's clusters
	}
	os.Exit(pgtest.Main(m, 0))
}

type testBundle struct {
	dsn   string
	key   string // base64, as in TENANTCTL_SECRET_KEY
	box   *secret.Box
	store *catalog.Store
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "catalog")
	dsn := env.Control.SuperDSN(db)
	ctx := context.Background()
	_, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	key := pgtest.Key()
	box, err := secret.LoadKey("", key)
	require.NoError(t, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	return &testBundle{dsn: dsn, key: key, box: box, store: store}
}

func TestInitConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	ctx := context.Background()

	_, err := catalog.Open(ctx, dsn, nil)
	require.ErrorIs(t, err, catalog.ErrNotInitialized)
	require.ErrorIs(t, err, validate.ErrInvalid)

	var wg sync.WaitGroup
	errs := make([]error, 4)
	versions := make([]int64, 4)
	for i := range errs {
		wg.Go(func() { versions[i], errs[i] = catalog.Init(ctx, dsn) })
	}
	wg.Wait()
	latest, err := migrations.Latest(migrations.Catalog())
	require.NoError(t, err)
	for i := range errs {
		require.NoError(t, errs[i])
		require.Equal(t, latest, versions[i])
	}
	v, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	require.Equal(t, latest, v, "a second init is a no-op")
}

func TestOpenWithoutCatalog(t *testing.T) {
	t.Parallel()
	_, err := catalog.Open(context.Background(), "", nil)
	require.ErrorIs(t, err, catalog.ErrNoCatalog)
}

func TestKeyCheck(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.store.Box(ctx)
	require.NoError(t, err)

	other, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	_, err = catalog.Open(ctx, b.dsn, other)
	require.ErrorIs(t, err, secret.ErrWrongKey, "a wrong key is refused when the catalog is opened, before any use")
	var wrong *catalog.WrongKeyError
	require.ErrorAs(t, err, &wrong)
	require.Equal(t, other.KeyID(), wrong.Key)
	require.Equal(t, b.box.KeyID(), wrong.Want, "the error names the key id the catalog needs")

	none, err := catalog.Open(ctx, b.dsn, nil)
	require.NoError(t, err)
	defer none.Close()
	_, err = none.ServerDSN(ctx, "x")
	require.ErrorIs(t, err, secret.ErrNoKey)
}

func TestServers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	dsn := "postgres://admin:very-secret-password@10.1.2.3:5432/postgres"
	srv := catalog.Server{Name: "pg-a", Host: "10.1.2.3", Port: 5432, AdminRole: "admin", VersionNum: 150000,
		Capacity: 10, Labels: map[string]string{"zone": "eu1"}}
	require.NoError(t, b.store.AddServer(ctx, srv, dsn))
	err := b.store.AddServer(ctx, srv, dsn)
	require.ErrorIs(t, err, catalog.ErrServerExists)
	require.ErrorIs(t, err, validate.ErrInvalid)

	got, err := b.store.GetServer(ctx, "pg-a")
	require.NoError(t, err)
	require.Equal(t, 10, got.Capacity)
	require.Equal(t, map[string]string{"zone": "eu1"}, got.Labels)
	require.Equal(t, "file_copy", got.CloneStrategy)

	open, err := b.store.ServerDSN(ctx, "pg-a")
	require.NoError(t, err)
	require.Equal(t, dsn, open)

	// The DSN is sealed at rest.
	var raw []byte
	require.NoError(t, b.store.Pool().QueryRow(ctx, `SELECT dsn_sealed FROM servers WHERE name = 'pg-a'`).Scan(&raw))
	require.NotContains(t, string(raw), "very-secret-password")

	require.NoError(t, b.store.SetDraining(ctx, "pg-a", true))
	got, _ = b.store.GetServer(ctx, "pg-a")
	require.True(t, got.Draining)
	require.ErrorIs(t, b.store.SetDraining(ctx, "nope", true), catalog.ErrServerNotFound)

	list, err := b.store.ListServers(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)

	require.NoError(t, b.store.RemoveServer(ctx, "pg-a"))
	_, err = b.store.GetServer(ctx, "pg-a")
	require.ErrorIs(t, err, catalog.ErrServerNotFound)

	events, err := b.store.ListEvents(ctx, "", 10)
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
		require.NotContains(t, compact(e.Details), "very-secret-password")
	}
	require.Equal(t, []string{"server.remove", "server.drain", "server.add"}, actions)
}

func compact(m map[string]any) string {
	s := ""
	for k, v := range m {
		s += k + "=" + toString(v) + " "
	}
	return s
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return ""
	}
}

func TestEventsAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.store.Actor = "alice"
	require.NoError(t, b.store.AppendEvent(ctx, nil, catalog.Event{Action: "test.thing", Slug: "acme", Details: map[string]any{"k": "v"}}))
	events, err := b.store.ListEvents(ctx, "acme", 10)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "alice", events[0].Actor)

	for _, stmt := range []string{`UPDATE events SET actor = 'mallory'`, `DELETE FROM events`, `TRUNCATE events`} {
		_, err := b.store.Pool().Exec(ctx, stmt)
		require.ErrorContains(t, err, "append-only", stmt)
	}
}

func TestJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	id, err := b.store.StartJob(ctx, "rollup", "node-1")
	require.NoError(t, err)
	require.NoError(t, b.store.FinishJob(ctx, id, catalog.JobFailed, "tenant x: boom", map[string]int64{"failed": 1}))
	jobs, err := b.store.ListJobs(ctx, 5)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, "failed", jobs[0].Status)
	require.Equal(t, int64(1), jobs[0].Counts["failed"])
	require.NotNil(t, jobs[0].FinishedAt)
	n, err := b.store.PruneJobs(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	st, err := b.store.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, st.LatestVersion, st.SchemaVersion)
	require.Nil(t, st.Warehouse)
}

// TestRunJobProgress: a run's counts so far are seen while it goes, a sweep for
// abandoned runs leaves the live run alone (it holds its run lock), and the end records
// the final counts.
func TestRunJobProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	counts, err := b.store.RunJobProgress(ctx, "evacuate", "node-1", func(ctx context.Context, progress catalog.JobProgress) (map[string]int64, error) {
		progress(map[string]int64{"done": 1})
		jobs, err := b.store.ListJobs(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, catalog.JobRunning, jobs[0].Status)
		require.Equal(t, int64(1), jobs[0].Counts["done"])
		closed, err := b.store.CloseAbandonedJobs(ctx, false)
		require.NoError(t, err)
		require.Empty(t, closed, "a live run is not abandoned")
		return map[string]int64{"done": 2}, nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(2), counts["done"])
	jobs, err := b.store.ListJobs(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, catalog.JobSucceeded, jobs[0].Status)
	require.Equal(t, int64(2), jobs[0].Counts["done"])
}

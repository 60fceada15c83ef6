package scheduler

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/localpg"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 0)) }

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"*/15 * * * *", "0 3 * * *", "30 1 * * 1-5", "@hourly", "@daily", "@every 1s", "@every 5m",
		"CRON_TZ=Europe/Paris 0 3 * * *", "  @every 90s ",
	} {
		s, err := ParseSchedule(spec)
		require.NoError(t, err, spec)
		require.NotNil(t, s, spec)
	}
	for _, spec := range []string{"off", "OFF", "none", "disabled"} {
		s, err := ParseSchedule(spec)
		require.NoError(t, err, spec)
		require.Nil(t, s, "%s disables the job", spec)
	}
	for _, spec := range []string{
		"", "bogus", "* * * *", "0 0 * * * *", "61 * * * *", "@every 500ms", "@every -5s", "@every x",
		"@sometimes", "0 0 30 2 *", // never fires
		"TZ=", "CRON_TZ=UTC", "TZ=0", "CRON_TZ=Nowhere/Land 0 * * * *", // robfig/cron panics on some of these
	} {
		_, err := ParseSchedule(spec)
		require.ErrorIs(t, err, validate.ErrInvalid, "%q must be rejected", spec)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	store := &catalog.Store{}
	run := func(context.Context) (map[string]int64, error) { return nil, nil }
	good := func() Options {
		return Options{CatalogDSN: "postgres://x@127.0.0.1/c", Store: store, Node: "node-a",
			Jobs: []Job{{Name: "rollup", Schedule: "@hourly", Run: run}, {Name: "audit", Schedule: "off"}}}
	}
	o := good()
	require.NoError(t, o.Validate())
	require.Equal(t, DefaultListen, o.Listen)
	require.Equal(t, DefaultLockKey, o.LockKey)
	require.Equal(t, DefaultShutdownTimeout, o.ShutdownTimeout)

	for name, mod := range map[string]func(*Options){
		"bad schedule":  func(o *Options) { o.Jobs[0].Schedule = "every hour" },
		"duplicate job": func(o *Options) { o.Jobs[1] = Job{Name: "rollup", Schedule: "@daily", Run: run} },
		"no function":   func(o *Options) { o.Jobs[0].Run = nil },
		"bad node":      func(o *Options) { o.Node = "has space" },
		"bad listen":    func(o *Options) { o.Listen = "9187" },
		"negative":      func(o *Options) { o.JobTimeout = -time.Second },
		"no store":      func(o *Options) { o.Store = nil },
		"no dsn":        func(o *Options) { o.CatalogDSN = "" },
	} {
		o := good()
		mod(&o)
		require.ErrorIs(t, o.Validate(), validate.ErrInvalid, name)
		_, err := New(o)
		require.ErrorIs(t, err, validate.ErrInvalid, name)
	}
}

func TestOneLeaderAmongReplicas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(50 * time.Millisecond)
	var ss []*Scheduler
	for i := range 3 {
		ss = append(ss, b.newScheduler(t, nodeName(i), jobs(r, nodeName(i), "alpha", "beta"), nil))
	}
	leader := leaderOf(t, 5*time.Second, ss...)
	require.Eventually(t, func() bool {
		runs, _, _ := r.counts()
		return runs[leader.Node()] >= 6
	}, 15*time.Second, 50*time.Millisecond)
	require.Same(t, leader, leaderOf(t, time.Second, ss...), "leadership is stable while the leader is healthy")

	runs, _, _ := r.counts()
	require.Len(t, runs, 1, "only the leader runs jobs: %v", runs)
	history := b.jobRuns(t)
	require.NotEmpty(t, history)
	jobsSeen := map[string]bool{}
	for _, row := range history {
		require.Equal(t, leader.Node(), row.Node, "job run %d recorded by a standby", row.ID)
		jobsSeen[row.Job] = true
	}
	require.Equal(t, map[string]bool{"alpha": true, "beta": true}, jobsSeen)

	for _, s := range ss {
		want := 0.0
		if s == leader {
			want = 1
		}
		require.Equal(t, want, metricOf(t, s, "tenantctl_scheduler_leader"), s.Node())
	}
}

// TestHandoverWhenLeaderLosesItsConnection cuts the network between the leader and the
// catalog: the leader must stop (cancelling its running job) and a standby take over
// within seconds; when the network returns, the old leader rejoins as a standby.
func TestHandoverWhenLeaderLosesItsConnection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(3 * time.Second)
	target := hostPort(t, b.dsn)
	proxies := map[string]*proxy{}
	var ss []*Scheduler
	for i := range 2 {
		node := nodeName(i)
		p := newProxy(t, target)
		proxies[node] = p
		dsn := p.dsnVia(t, b.dsn)
		ss = append(ss, b.newScheduler(t, node, jobs(r, node, "alpha"), func(o *Options) {
			o.CatalogDSN = dsn
			o.Store = openStore(t, dsn)
		}))
	}
	leader := leaderOf(t, 5*time.Second, ss...)
	standby := ss[0]
	if standby == leader {
		standby = ss[1]
	}
	require.Equal(t, leader.Node(), r.waitStarted(t, 5*time.Second))

	cut := time.Now()
	proxies[leader.Node()].cut()
	require.Eventually(t, func() bool { return !leader.IsLeader() }, 4*time.Second, 10*time.Millisecond,
		"a leader that lost its lock connection must stop at once")
	require.Eventually(t, func() bool {
		_, _, cancelled := r.counts()
		return cancelled == 1
	}, 2*time.Second, 10*time.Millisecond, "the old leader's running job must be cancelled")
	require.ErrorIs(t, r.lastCause(), ErrNoLeader)
	require.Eventually(t, standby.IsLeader, 5*time.Second, 10*time.Millisecond, "the standby must take over")
	t.Logf("handover took %s", time.Since(cut).Round(time.Millisecond))
	r.drainStarted()
	require.Equal(t, standby.Node(), r.waitStarted(t, 5*time.Second), "the new leader runs the jobs")

	code, _ := scrape(t, leader, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, "a replica without its catalog is not ready")

	proxies[leader.Node()].restore(t)
	require.Eventually(t, func() bool {
		code, body := scrape(t, leader, "/readyz")
		return code == http.StatusOK && strings.Contains(body, "standby")
	}, 10*time.Second, 100*time.Millisecond)
	time.Sleep(2 * time.Second) // several lock attempts by the old leader
	require.Same(t, standby, leaderOf(t, time.Second, ss...), "the old leader rejoins as a standby")
	require.Equal(t, 1.0, metricOf(t, standby, "tenantctl_scheduler_leader"))
	require.Equal(t, 0.0, metricOf(t, leader, "tenantctl_scheduler_leader"))
}

// TestHandoverWhenLeaderStops: a leader stopped abruptly (its jobs cancelled at once)
// hands over to a standby.
func TestHandoverWhenLeaderStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(10 * time.Second)
	var ss []*Scheduler
	for i := range 2 {
		ss = append(ss, b.newScheduler(t, nodeName(i), jobs(r, nodeName(i), "alpha"), func(o *Options) {
			o.ShutdownTimeout = time.Millisecond
		}))
	}
	leader := leaderOf(t, 5*time.Second, ss...)
	require.Equal(t, leader.Node(), r.waitStarted(t, 5*time.Second))
	stopped := time.Now()
	leader.Stop()
	leader.Stop() // twice is safe
	require.Less(t, time.Since(stopped), 5*time.Second)
	_, _, cancelled := r.counts()
	require.Equal(t, 1, cancelled)
	other := leaderOf(t, 5*time.Second, ss...)
	require.NotSame(t, leader, other)
	require.Equal(t, other.Node(), r.waitStarted(t, 5*time.Second))

	var statuses []string
	for _, row := range b.jobRuns(t) {
		if row.Node == leader.Node() {
			statuses = append(statuses, row.Status)
		}
	}
	require.Equal(t, []string{catalog.JobCancelled}, statuses, "the interrupted run is recorded as cancelled")
}

func TestNoOverlap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(2500 * time.Millisecond)
	s := b.newScheduler(t, "node-a", jobs(r, "node-a", "slow"), nil)
	require.Eventually(t, func() bool {
		_, completed, _ := r.counts()
		return completed >= 2
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, int32(1), r.maxActive.Load(), "a job must never run twice at once")
	require.GreaterOrEqual(t, metricOf(t, s, `tenantctl_scheduler_overlap_skips_total{job="slow"}`), 2.0,
		"ticks that came while the job ran are skipped and counted")

	history := b.jobRuns(t)
	for i := 1; i < len(history); i++ {
		prev := history[i-1]
		require.NotNil(t, prev.End)
		require.False(t, history[i].Start.Before(*prev.End), "run %d started before run %d ended", history[i].ID, prev.ID)
	}
}

func TestGracefulStopWaitsForRunningJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(2 * time.Second)
	s := b.newScheduler(t, "node-a", jobs(r, "node-a", "alpha"), func(o *Options) { o.ShutdownTimeout = 20 * time.Second })
	leaderOf(t, 5*time.Second, s)
	r.waitStarted(t, 5*time.Second)
	// A standby started now must not run anything until the leader has finished and
	// released the lock.
	standby := b.newScheduler(t, "node-b", jobs(r, "node-b", "alpha"), nil)

	start := time.Now()
	s.Stop()
	took := time.Since(start)
	require.Greater(t, took, time.Second, "Stop must wait for the running job")
	require.Less(t, took, 10*time.Second)
	runs, completed, cancelled := r.counts()
	require.Equal(t, 1, runs["node-a"], "no run starts once stopping")
	require.Equal(t, 1, completed)
	require.Equal(t, 0, cancelled)
	history := b.jobRuns(t)
	require.Len(t, history, 1)
	require.Equal(t, catalog.JobSucceeded, history[0].Status)

	require.Eventually(t, standby.IsLeader, 5*time.Second, 10*time.Millisecond, "the lock is released on stop")
	require.Equal(t, "node-b", r.waitStarted(t, 5*time.Second))
	after := b.jobRuns(t)
	require.True(t, after[1].Start.After(*history[0].End), "the standby's first run starts after the leader's last one ended")
}

func TestStopCancelsJobsAfterShutdownTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(time.Minute)
	s := b.newScheduler(t, "node-a", jobs(r, "node-a", "alpha"), func(o *Options) { o.ShutdownTimeout = 300 * time.Millisecond })
	r.waitStarted(t, 5*time.Second)
	start := time.Now()
	s.Stop()
	require.Less(t, time.Since(start), 5*time.Second)
	_, _, cancelled := r.counts()
	require.Equal(t, 1, cancelled)
	require.ErrorIs(t, r.lastCause(), ErrShutdown)
	history := b.jobRuns(t)
	require.Len(t, history, 1)
	require.Equal(t, catalog.JobCancelled, history[0].Status)
	require.NotNil(t, history[0].End)
}

func TestJobTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(time.Minute)
	b.newScheduler(t, "node-a", jobs(r, "node-a", "alpha"), func(o *Options) { o.JobTimeout = 300 * time.Millisecond })
	require.Eventually(t, func() bool {
		_, _, cancelled := r.counts()
		return cancelled >= 2
	}, 10*time.Second, 50*time.Millisecond, "timed-out runs are cancelled and the schedule goes on")
	require.ErrorIs(t, r.lastCause(), ErrJobTimeout)
	require.Equal(t, catalog.JobCancelled, b.jobRuns(t)[0].Status)
}

func TestFailuresDoNotStopTheScheduler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := newRecorder(10 * time.Millisecond)
	r.fail = errBoom
	ok := newRecorder(10 * time.Millisecond)
	s := b.newScheduler(t, "node-a", []Job{
		{Name: "fails", Schedule: "@every 1s", Run: r.job("node-a")},
		{Name: "panics", Schedule: "@every 1s", Run: func(context.Context) (map[string]int64, error) { panic("kaboom") }},
		{Name: "ok", Schedule: "@every 1s", Run: ok.job("node-a")},
		{Name: "disabled", Schedule: "off"},
	}, nil)
	require.Eventually(t, func() bool {
		_, completed, _ := ok.counts()
		return completed >= 3
	}, 15*time.Second, 50*time.Millisecond)
	require.True(t, s.IsLeader())

	byJob := map[string][]jobRow{}
	for _, row := range b.jobRuns(t) {
		byJob[row.Job] = append(byJob[row.Job], row)
	}
	require.NotContains(t, byJob, "disabled")
	require.GreaterOrEqual(t, len(byJob["fails"]), 2)
	require.GreaterOrEqual(t, len(byJob["panics"]), 2)
	for _, row := range byJob["fails"] {
		if row.Status != catalog.JobRunning {
			require.Equal(t, catalog.JobFailed, row.Status)
			require.Equal(t, "boom", row.Error)
		}
	}
	for _, row := range byJob["panics"] {
		if row.Status != catalog.JobRunning {
			require.Equal(t, catalog.JobFailed, row.Status)
			require.Contains(t, row.Error, "panicked: kaboom")
		}
	}
	require.GreaterOrEqual(t, metricOf(t, s, `tenantctl_scheduler_job_runs_total{job="fails",status="failed"}`), 2.0)
	require.GreaterOrEqual(t, metricOf(t, s, `tenantctl_scheduler_job_runs_total{job="panics",status="failed"}`), 2.0)
	require.GreaterOrEqual(t, metricOf(t, s, `tenantctl_scheduler_job_runs_total{job="ok",status="succeeded"}`), 3.0)
}

func TestEndpointsAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.Pool().Exec(context.Background(), `
		INSERT INTO tenants (id, slug, name, domain, state, schema_version) VALUES
		  ('aaaaaaaaaa', 'acme', 'Acme', 'acme.example', 'active', 5),
		  ('bbbbbbbbbb', 'globex', 'Globex', 'globex.example', 'active', 4),
		  ('cccccccccc', 'initech', 'Initech', 'initech.example', 'suspended', 3),
		  ('dddddddddd', 'hooli', 'Hooli', 'hooli.example', 'deleting', 1)`)
	require.NoError(t, err)

	counts := func(c map[string]int64) catalog.JobFunc {
		return func(context.Context) (map[string]int64, error) { return c, nil }
	}
	mk := func(node string) []Job {
		return []Job{
			{Name: "rollup", Schedule: "@every 1s", Run: counts(map[string]int64{CountRowsCopied: 7, "tenants": 2})},
			{Name: "audit", Schedule: "@every 1s", Run: counts(map[string]int64{CountViolations: 2})},
		}
	}
	latest := func(o *Options) { o.LatestTenantVersion = 5 }
	a := b.newScheduler(t, "node-a", mk("node-a"), latest)
	leaderOf(t, 5*time.Second, a)
	standby := b.newScheduler(t, "node-b", mk("node-b"), latest)

	code, body := scrape(t, a, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)
	code, body = scrape(t, a, "/readyz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready: node-a leader\n", body)
	code, body = scrape(t, standby, "/readyz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready: node-b standby\n", body)

	require.Eventually(t, func() bool {
		return metricOf(t, a, `tenantctl_scheduler_job_runs_total{job="rollup",status="succeeded"}`) >= 2
	}, 10*time.Second, 100*time.Millisecond)
	// A job run from the CLI on an operator's laptop counts like a scheduled one.
	_, err = b.store.RunJob(context.Background(), "migrate", "laptop", func(context.Context) (map[string]int64, error) {
		return map[string]int64{"migrated": 3}, nil
	})
	require.NoError(t, err)
	_, err = b.store.Pool().Exec(context.Background(), `
		INSERT INTO servers (name, dsn_sealed, host, port, admin_role, version_num, capacity, draining) VALUES
		  ('pg-a', '\x00', 'h', 5432, 'admin', 150000, 50, false), ('pg-b', '\x00', 'h', 5432, 'admin', 150000, 10, true);
		UPDATE tenants SET server = 'pg-a' WHERE slug IN ('acme', 'globex');`)
	require.NoError(t, err)

	_, body = scrape(t, a, "/metrics")
	require.Equal(t, 1.0, metric(t, body, "tenantctl_scheduler_leader"))
	require.GreaterOrEqual(t, metric(t, body, "tenantctl_rollup_rows_copied_total"), 14.0)
	require.Equal(t, 0.0, metric(t, body, `tenantctl_scheduler_job_runs_total{job="audit",status="failed"}`))
	require.GreaterOrEqual(t, metric(t, body, `tenantctl_scheduler_job_duration_seconds_count{job="audit",status="succeeded"}`), 1.0)
	require.Equal(t, 1.0, metric(t, body, `tenantctl_scheduler_info{node="node-a"}`))
	require.Regexp(t, `tenantctl_build_info\{goversion="go[^"]+",version="[^"]+"\} 1`, body)

	_, body = scrape(t, standby, "/metrics")
	require.Equal(t, 0.0, metric(t, body, "tenantctl_scheduler_leader"))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_scheduler_job_runs_total{job="rollup",status="succeeded"}`))
	// What the jobs did comes from the catalog's job history: the standby reports the
	// leader's runs and the CLI's.
	_, leaderBody := scrape(t, a, "/metrics")
	for _, name := range []string{"tenantctl_audit_violations", `tenantctl_scheduler_job_last_count{job="rollup",key="tenants"}`,
		`tenantctl_scheduler_job_last_count{job="migrate",key="migrated"}`, `tenantctl_scheduler_job_last_success_timestamp_seconds{job="migrate"}`} {
		require.Equal(t, metric(t, leaderBody, name), metric(t, body, name), name)
	}
	require.Equal(t, 2.0, metric(t, body, "tenantctl_audit_violations"))
	require.Equal(t, 2.0, metric(t, body, `tenantctl_scheduler_job_last_count{job="rollup",key="tenants"}`))
	require.Equal(t, 3.0, metric(t, body, `tenantctl_scheduler_job_last_count{job="migrate",key="migrated"}`))
	require.Greater(t, metric(t, body, `tenantctl_scheduler_job_last_success_timestamp_seconds{job="rollup"}`), 0.0)
	require.Greater(t, metric(t, body, `tenantctl_job_last_finished_timestamp_seconds{job="migrate",status="succeeded"}`), 0.0)
	require.Equal(t, 2.0, metric(t, body, `tenantctl_server_tenants{server="pg-a"}`))
	require.Equal(t, 50.0, metric(t, body, `tenantctl_server_capacity{server="pg-a"}`))
	require.Equal(t, 1.0, metric(t, body, `tenantctl_server_draining{server="pg-b"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_server_tenants{server="pg-b"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_server_spares_target{server="pg-a"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_server_spares{server="pg-a"}`))
	// Fleet gauges come from the catalog, the same on every replica.
	require.Equal(t, 1.0, metric(t, body, "tenantctl_scheduler_catalog_up"))
	require.Equal(t, 2.0, metric(t, body, `tenantctl_tenants{state="active"}`))
	require.Equal(t, 1.0, metric(t, body, `tenantctl_tenants{state="suspended"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_tenants{state="failed"}`))
	require.Equal(t, 1.0, metric(t, body, `tenantctl_tenants_behind_migrations{state="active"}`))
	require.Equal(t, 1.0, metric(t, body, `tenantctl_tenants_behind_migrations{state="suspended"}`))
	require.Equal(t, 5.0, metric(t, body, "tenantctl_tenant_migrations_latest_version"))
}

func TestPrunesOldJobHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.Pool().Exec(context.Background(), `
		INSERT INTO job_runs (job, node, started_at, finished_at, status) VALUES
		  ('old', 'gone', now() - interval '3 days', now() - interval '3 days', 'succeeded'),
		  ('stuck', 'gone', now() - interval '3 days', NULL, 'running'),
		  ('recent', 'gone', now() - interval '1 hour', now() - interval '1 hour', 'failed')`)
	require.NoError(t, err)
	s := b.newScheduler(t, "node-a", nil, func(o *Options) { o.JobRetention = 24 * time.Hour })
	require.Eventually(t, func() bool {
		var names []string
		for _, row := range b.jobRuns(t) {
			names = append(names, row.Job)
		}
		return strings.Join(names, ",") == "stuck,recent"
	}, 5*time.Second, 50*time.Millisecond, "finished runs older than the retention are pruned; running ones are kept")
	require.Equal(t, 1.0, metricOf(t, s, "tenantctl_scheduler_job_history_pruned_total"))
}

// TestRecoversFromCatalogRestart restarts the catalog's PostgreSQL under a running
// scheduler, on a private cluster (never the shared test clusters): the scheduler gives
// up leadership while the catalog is down and takes it back, and runs jobs again, when
// it returns — without a restart of its own.
func TestRecoversFromCatalogRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, err := os.MkdirTemp("", "tenantctl-scheduler-restart-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	cluster, err := localpg.Init(ctx, localpg.Options{Dir: filepath.Join(base, "control"), Fast: true})
	require.NoError(t, err)
	require.NoError(t, cluster.StopWhenProcessExits(os.Getpid(), true))
	t.Cleanup(func() {
		_ = cluster.Remove(context.Background())
		_ = os.RemoveAll(base)
	})
	require.NoError(t, cluster.Start(ctx))

	b := setupDSN(t, cluster.DSN("postgres"))
	r := newRecorder(50 * time.Millisecond)
	s := b.newScheduler(t, "node-a", jobs(r, "node-a", "alpha"), nil)
	leaderOf(t, 5*time.Second, s)
	r.waitStarted(t, 5*time.Second)

	require.NoError(t, cluster.Stop(ctx))
	require.Eventually(t, func() bool { return !s.IsLeader() }, 5*time.Second, 10*time.Millisecond)
	code, _ := scrape(t, s, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	code, _ = scrape(t, s, "/healthz")
	require.Equal(t, http.StatusOK, code, "the process itself is healthy")
	require.Equal(t, 0.0, metricOf(t, s, "tenantctl_scheduler_catalog_up"))
	time.Sleep(2 * time.Second) // let it fail to reconnect a few times

	restarted := time.Now()
	require.NoError(t, cluster.Start(ctx))
	require.Eventually(t, s.IsLeader, 10*time.Second, 10*time.Millisecond, "leadership comes back with the catalog")
	r.drainStarted()
	r.waitStarted(t, 5*time.Second)
	require.Eventually(t, func() bool {
		for _, row := range b.jobRuns(t) {
			if row.Start.After(restarted) && row.Status == catalog.JobSucceeded {
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond, "runs are recorded again after the restart")
	code, _ = scrape(t, s, "/readyz")
	require.Equal(t, http.StatusOK, code)
	for _, row := range b.jobRuns(t) {
		if row.Start.Before(restarted) {
			require.NotEqual(t, catalog.JobRunning, row.Status, "run %d, interrupted by the restart, must not stay running", row.ID)
		}
	}
}

func TestSweepsAbandonedRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.Pool().Exec(context.Background(), `
		INSERT INTO job_runs (job, node, started_at, status) VALUES
		  ('alpha', 'node-a', now() - interval '1 hour', 'running'),
		  ('alpha', 'node-x', now() - interval '1 hour', 'running'),
		  ('other', 'node-a', now() - interval '1 hour', 'running')`)
	require.NoError(t, err)
	r := newRecorder(time.Hour)
	s := b.newScheduler(t, "node-a", []Job{{Name: "alpha", Schedule: "@hourly", Run: r.job("node-a")}}, nil)
	leaderOf(t, 5*time.Second, s)
	history := b.jobRuns(t)
	require.Len(t, history, 3)
	require.Equal(t, catalog.JobFailed, history[0].Status, "this node's run left behind by its previous process is closed")
	require.Contains(t, history[0].Error, "abandoned")
	require.NotNil(t, history[0].End)
	require.Equal(t, catalog.JobRunning, history[1].Status, "another node's run is its own business")
	require.Equal(t, catalog.JobRunning, history[2].Status, "a job this scheduler does not run is left alone")
}

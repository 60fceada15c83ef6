package scheduler

import (
	"context"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

func TestBackupMaxAge(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]time.Duration{
		"0 2 * * *":   36 * time.Hour,  // daily: one missed backup alerts half a day later
		"@every 1h":   2 * time.Hour,   // at least an hour of grace
		"@every 6h":   9 * time.Hour,   // 6h + 3h
		"0 2 * * 1-5": 108 * time.Hour, // the weekend's gap decides: 72h + 36h
		"@weekly":     252 * time.Hour,
		"off":         0,
		"not cron":    0,
	} {
		require.Equal(t, want, BackupMaxAge(spec), spec)
	}
}

// TestBackupMetrics: against real servers, the scrape shows a server whose
// archive_command fails as failing (and no longer once it works), a server backed up
// with the real pgBackRest with its backup's time and healthy archiving, and a server
// that does not answer as not read; pg_stat_archiver is read as the least-privilege
// admin role tenantctl registers servers with.
func TestBackupMetrics(t *testing.T) {
	_, err := backup.Program()
	require.NoError(t, err, "this test needs pgBackRest: apt-get install pgbackrest")
	ctx := context.Background()
	env := pgtest.Get(t)
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	_, err = catalog.Init(ctx, dsn)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	p := provisioner.New(store, hclog.NewNullLogger())
	t.Cleanup(p.Close)

	// "good" archives to a pgBackRest repository and has a full backup.
	base, err := os.MkdirTemp("", "tenantctl-bkm-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	s := backup.Settings{Server: "good", Stanza: "bkm-" + pgtest.RandomSuffix()[:6], RepoPath: filepath.Join(base, "repo")}
	s.ConfigPath = filepath.Join(base, "etc", s.Stanza+".conf")
	good := pgtest.Dedicated(t, "archive-good", map[string]string{
		"archive_mode": "on", "wal_level": "replica", "archive_command": "'" + backup.ArchiveCommand(s) + "'",
		"full_page_writes": "on",
	})
	// "bad" has an archive_command that always fails.
	bad := pgtest.Dedicated(t, "archive-bad", map[string]string{
		"archive_mode": "on", "wal_level": "replica", "archive_command": "'false'",
	})
	for name, srv := range map[string]*pgtest.Server{"good": good, "bad": bad} {
		_, err := p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: srv.AdminDSN(t), Capacity: 10})
		require.NoError(t, err)
	}
	s.PgPath, s.PgPort = good.Cluster.DataDir(), good.Cluster.Port
	s.PgSocketPath, s.PgUser = filepath.Join(good.Cluster.Dir, "sock"), good.Cluster.User
	s.PgPassfile = filepath.Join(base, "pgpass")
	require.NoError(t, os.WriteFile(s.PgPassfile, []byte("*:*:*:"+s.PgUser+":"+good.Cluster.Password+"\n"), 0o600))
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(s.PgPassfile, uid, gid))
	}
	backup.Defaults(&s)
	require.NoError(t, backup.Validate(s))
	require.NoError(t, store.SetBackupSettings(ctx, s))
	require.NoError(t, backup.Install(s))
	require.NoError(t, backup.Check(ctx, s))
	before := time.Now().Add(-time.Second)
	res, err := backup.Run(ctx, backup.RunOptions{Env: backup.Env{Store: store, Server: p.Server}, Server: "good", Type: backup.TypeFull})
	require.NoError(t, err)
	require.Len(t, res, 1)
	after := time.Now().Add(time.Second)

	// WAL to archive on "bad": its archiver fails on the switched segment.
	bad.Exec(t, "postgres", `CREATE TABLE wal_maker AS SELECT g FROM generate_series(1, 1000) g`, `SELECT pg_switch_wal()`)
	waitFor(t, 2*time.Minute, func() bool {
		var n int64
		conn := bad.Conn(t, "postgres")
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, `SELECT failed_count FROM pg_stat_archiver`).Scan(&n))
		return n > 0
	})

	b := &testBundle{dsn: dsn, store: store}
	sch := b.newScheduler(t, "node-a", nil, func(o *Options) {
		o.Servers = p.Server
		o.BackupMaxAge = BackupMaxAge("0 2 * * *")
	})
	code, body := scrape(t, sch, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, (36 * time.Hour).Seconds(), metric(t, body, "tenantctl_backup_max_age_seconds"))
	require.Equal(t, 1.0, metric(t, body, `tenantctl_backup_configured{server="good"}`))
	require.NotContains(t, body, `tenantctl_backup_configured{server="bad"}`)
	last := metric(t, body, `tenantctl_backup_last_success_timestamp_seconds{server="good"}`)
	require.InDelta(t, float64(before.Unix()+after.Unix())/2, last, float64(after.Unix()-before.Unix())/2+1,
		"the backup's end, between %s and %s", before, after)
	require.NotContains(t, body, `tenantctl_backup_last_success_timestamp_seconds{server="bad"}`, "no backup, no time")
	// The age the alert computes is the time since that backup.
	require.Less(t, float64(time.Now().Unix())-last, (36 * time.Hour).Seconds())

	for _, srv := range []string{"good", "bad"} {
		require.Equal(t, 1.0, metric(t, body, `tenantctl_wal_archiver_up{server="`+srv+`"}`), srv)
	}
	require.GreaterOrEqual(t, metric(t, body, `tenantctl_wal_archived_total{server="good"}`), 1.0)
	require.Equal(t, 0.0, metric(t, body, `tenantctl_wal_archive_failed_total{server="good"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_wal_archiving_failing{server="good"}`))
	require.InDelta(t, float64(time.Now().Unix()), metric(t, body, `tenantctl_wal_last_archived_timestamp_seconds{server="good"}`), 600)

	require.GreaterOrEqual(t, metric(t, body, `tenantctl_wal_archive_failed_total{server="bad"}`), 1.0)
	require.Equal(t, 1.0, metric(t, body, `tenantctl_wal_archiving_failing{server="bad"}`))
	require.Equal(t, 0.0, metric(t, body, `tenantctl_wal_archived_total{server="bad"}`))
	require.InDelta(t, float64(time.Now().Unix()), metric(t, body, `tenantctl_wal_last_failed_timestamp_seconds{server="bad"}`), 600)
	require.NotContains(t, body, `tenantctl_wal_last_archived_timestamp_seconds{server="bad"}`, "nothing ever archived")

	// Fixed, "bad" archives the waiting segment and is no longer failing (the archiver
	// retries within a minute of its last failure).
	bad.Exec(t, "postgres", `ALTER SYSTEM SET archive_command = 'true'`, `SELECT pg_reload_conf()`)
	waitFor(t, 3*time.Minute, func() bool {
		return metricOf(t, sch, `tenantctl_wal_archiving_failing{server="bad"}`) == 0
	})
	require.GreaterOrEqual(t, metricOf(t, sch, `tenantctl_wal_archived_total{server="bad"}`), 1.0)

	// A server that does not answer is reported as not read, and its archiving series
	// are left out rather than stale; the other server's are still there.
	bad.Stop(t)
	code, body = scrape(t, sch, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 0.0, metric(t, body, `tenantctl_wal_archiver_up{server="bad"}`))
	require.NotContains(t, body, `tenantctl_wal_archiving_failing{server="bad"}`)
	require.Equal(t, 1.0, metric(t, body, `tenantctl_wal_archiver_up{server="good"}`))
	require.False(t, strings.Contains(body, good.Cluster.Password) || strings.Contains(body, bad.Cluster.Password), "no secret in the metrics")
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not met within %s", within)
		time.Sleep(200 * time.Millisecond)
	}
}

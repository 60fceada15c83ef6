package backup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// backupFleet starts a private cluster archiving its WAL to a pgBackRest repository,
// registers it as server "bk" with its stanza (checked), and takes a full backup.
func backupFleet(t *testing.T) (*e2e.CLI, *pgtest.Server) {
	t.Helper()
	_, err := backup.Program()
	require.NoError(t, err, "these tests need pgBackRest: apt-get install pgbackrest")
	base, err := os.MkdirTemp("", "tenantctl-bk-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	stanza := "bk-" + pgtest.RandomSuffix()[:6]
	conf := filepath.Join(base, "etc", stanza+".conf")
	s := backup.Settings{Server: "bk", Stanza: stanza, ConfigPath: conf}
	// pgbackrest reaches the server on its socket as the superuser (pass).
	srv, pass := pgtest.Archiving(t, "backup-a", backup.ArchiveCommand(s), base)
	c := e2e.NewCLI(t)
	// The least-privilege admin, as in production; pgbackrest alone uses the superuser.
	dsn := srv.AdminDSN(t)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn), srv.Cluster.Password)
	c.MustRun("server", "add", "bk", "--dsn", dsn, "--capacity", "20")
	c.MustRun("backup", "configure", "bk", "--repo", filepath.Join(base, "repo"), "--pg-path", srv.Cluster.DataDir(),
		"--pg-port", strconv.Itoa(srv.Cluster.Port), "--pg-socket-path", filepath.Join(srv.Cluster.Dir, "sock"),
		"--pg-passfile", pass, "--stanza", stanza, "--config-path", conf, "--install")
	require.Contains(t, c.MustRun("backup", "setup", "bk"), "archive_command = 'pgbackrest --config="+conf)
	c.MustRun("backup", "setup", "bk", "--check")
	c.MustRun("backup", "run", "--server", "bk", "--type", "full")
	return c, srv
}

// archiveNow makes the server switch to a new WAL segment and waits until it is
// archived, so everything written so far is in the repository.
func archiveNow(t *testing.T, srv *pgtest.Server) {
	t.Helper()
	ctx := context.Background()
	conn := srv.Conn(t, "postgres")
	defer conn.Close(ctx)
	var seg string
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_walfile_name(pg_switch_wal())`).Scan(&seg))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var last string
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`).Scan(&last))
		if last >= seg {
			return
		}
		require.True(t, time.Now().Before(deadline), "WAL segment %s not archived (last %s)", seg, last)
		time.Sleep(100 * time.Millisecond)
	}
}

// serverNow is the server's clock.
func serverNow(t *testing.T, srv *pgtest.Server) time.Time {
	t.Helper()
	conn := srv.Conn(t, "postgres")
	defer conn.Close(context.Background())
	var now time.Time
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT clock_timestamp()`).Scan(&now))
	return now
}

func sumsVia(t *testing.T, dsn string) map[string]string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	return e2e.TableSums(t, conn, "")
}

// damage changes and deletes rows: the mistake a restore undoes.
func damage(t *testing.T, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	for _, q := range []string{
		`DELETE FROM incidents WHERE id % 2 = 0`,
		`UPDATE systems SET status = 'retired' WHERE id % 3 = 0`,
		`INSERT INTO users (email, full_name, role) VALUES ('late@x.example', 'Late', 'member')`,
	} {
		_, err := conn.Exec(context.Background(), q)
		require.NoError(t, err)
	}
}

// neighbourWriter keeps one session of a neighbour's app open and inserts through it
// until stopped; it counts inserts and failures (a lost session is a failure).
type neighbourWriter struct {
	ok, failed atomic.Int64
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startNeighbour(t *testing.T, dsn string) *neighbourWriter {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	w := &neighbourWriter{stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer conn.Close(context.Background())
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Exec(context.Background(), `INSERT INTO users (email, full_name, role) VALUES ($1, 'n', 'member')`, fmt.Sprintf("n%d@x.example", i)); err != nil {
				w.failed.Add(1)
				return
			}
			w.ok.Add(1)
		}
	}()
	return w
}

func (w *neighbourWriter) finish() { close(w.stop); w.wg.Wait() }

// TestTenantRestorePointInTime: rows written at T1, changed and deleted at T2; a
// restore to T1 gives exactly T1's rows, as a new customer and in place under the old
// DSN, while a neighbour on the same server keeps writing through one session; a time
// outside the window is refused; the audit is clean and the kept copy is no orphan.
func TestTenantRestorePointInTime(t *testing.T) {
	t.Parallel()
	c, srv := backupFleet(t)
	tn := e2e.CreateTenant(t, c, "bk")
	nb := e2e.CreateTenant(t, c, "bk")
	e2e.Fill(t, tn.DSN, 500)
	e2e.Fill(t, nb.DSN, 100)
	// The only backup was taken before the tenant existed: no time can be restored yet,
	// though the server's window reaches it.
	early := serverNow(t, srv)
	archiveNow(t, srv)
	c.Expect(2, []string{"no backup holds the tenant's database yet", "backup run --server bk"}, "tenant", "restore", tn.Slug, "--time", early.UTC().Format(time.RFC3339Nano))
	c.MustRun("backup", "run", "--server", "bk", "--type", "incr")
	// Now one does, from its end: pgBackRest keeps stop times in whole seconds.
	c.Expect(2, []string{"before the first backup that holds the tenant's database", "the tenant can be restored to"}, "tenant", "restore", tn.Slug, "--time", early.UTC().Format(time.RFC3339Nano))
	time.Sleep(1100 * time.Millisecond)
	// A vacuum of the neighbour after the backup marks its pages all-visible in WAL
	// records that carry no page image; the selective restore leaves the neighbour's
	// files zeroed, and replaying those records into zeroed pages must not stop the
	// recovery (autovacuum does this on any busy server).
	srv.Exec(t, "t_"+nb.ID, "VACUUM")
	e2e.Fill(t, tn.DSN, 50) // after the backup: only in the WAL

	want := sumsVia(t, tn.DSN)
	t1 := serverNow(t, srv)
	time.Sleep(1100 * time.Millisecond)
	damage(t, tn.DSN)
	require.NotEqual(t, want, sumsVia(t, tn.DSN))
	archiveNow(t, srv)
	target := t1.Add(500 * time.Millisecond)
	// Nothing is written on the server from here to the checks below: a time just now
	// is after the newest archived WAL.
	time.Sleep(1500 * time.Millisecond)
	late := serverNow(t, srv).Add(-200 * time.Millisecond)

	// The window, and times outside it or before the tenant existed.
	list := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "--server", "bk", "-o", "json"))
	require.Len(t, list, 1)
	require.NotNil(t, list[0]["window"], "backup list gives the restorable window")
	c.Expect(2, []string{"before the tenant existed", "restorable window of server bk"}, "tenant", "restore", tn.Slug, "--time", "2020-01-01T00:00:00Z")
	c.Expect(2, []string{"outside the restorable window", "restorable window of server bk"}, "tenant", "restore", tn.Slug, "--time", late.UTC().Format(time.RFC3339Nano))
	out := c.MustRun("tenant", "restore", tn.Slug, "--time", target.UTC().Format(time.RFC3339Nano), "--dry-run")
	require.Contains(t, out, "would restore tenant "+tn.Slug)

	// As a new customer: T1's rows, the source untouched.
	damaged := sumsVia(t, tn.DSN)
	asSlug := "rs-" + pgtest.RandomSuffix()[:6]
	out = c.MustRun("tenant", "restore", tn.Slug, "--time", target.UTC().Format(time.RFC3339Nano), "--as", asSlug)
	require.Contains(t, out, "as new tenant "+asSlug)
	asDSN := e2e.DSNOf(c, asSlug)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(asDSN))
	require.Equal(t, want, sumsVia(t, asDSN), "the new customer holds exactly T1's rows")
	require.Equal(t, damaged, sumsVia(t, tn.DSN), "the source is untouched by a restore --as")

	// In place, while the neighbour writes through one session.
	nbBefore := sumsVia(t, nb.DSN)
	w := startNeighbour(t, nb.DSN)
	out = c.MustRun("tenant", "restore", tn.Slug, "--time", target.UTC().Format(time.RFC3339Nano), "-o", "json")
	w.finish()
	res := e2e.Decode[map[string]any](t, out)
	require.Equal(t, "switched", res["status"])
	require.Equal(t, want, sumsVia(t, tn.DSN), "the old DSN reaches exactly T1's rows")
	require.Zero(t, w.failed.Load(), "the neighbour never lost its session")
	require.Positive(t, w.ok.Load())
	nbAfter := sumsVia(t, nb.DSN)
	require.Equal(t, nbBefore["incidents"], nbAfter["incidents"], "the neighbour is untouched")
	require.Equal(t, nbBefore["systems"], nbAfter["systems"], "the neighbour is untouched")

	// The kept copy: there, unreachable by the app, neither orphan nor finding.
	kept := res["kept_db"].(string)
	require.Equal(t, "t_"+tn.ID+"_kept", kept[:len("t_"+tn.ID+"_kept")])
	keptDSN := strings.Replace(tn.DSN, "/t_"+tn.ID+"?", "/"+kept+"?", 1)
	_, err := pgx.Connect(context.Background(), keptDSN)
	require.Error(t, err, "the app cannot reach the kept copy")
	var keptExists bool
	conn := srv.Conn(t, "postgres")
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, kept).Scan(&keptExists))
	conn.Close(context.Background())
	require.True(t, keptExists, "the replaced database is kept")
	auditOut, _, code := c.Run("audit", "--no-probes", "-o", "json")
	require.Equal(t, 0, code, "audit after the restore: %s", auditOut)
	plan := c.MustRun("reconcile", "--dry-run", "-o", "json")
	require.NotContains(t, plan, kept, "the kept copy is no orphan")

	// Its retention ended: reconcile drops it.
	c.MustRun("tenant", "restore", tn.Slug, "--time", target.UTC().Format(time.RFC3339Nano), "--keep-source", "0")
	require.Equal(t, want, sumsVia(t, tn.DSN))
	var n int
	conn = srv.Conn(t, "postgres")
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE $1`, "t_"+tn.ID+"_kept%").Scan(&n))
	conn.Close(context.Background())
	require.Equal(t, 1, n, "the second restore's copy was dropped at once; the first's stays for its retention")
}

// TestKilledRestoreConverges kills `tenant restore` (SIGKILL, a real subprocess) after
// each recorded step (a sample of them in `make test`, see killSample), then reruns it
// or reconciles: the tenant always ends with either its current rows (rolled back) or
// T1's (finished), reachable under its DSN.
func TestKilledRestoreConverges(t *testing.T) {
	t.Parallel()
	c, srv := backupFleet(t)
	bin := e2e.BuildBinary(t)
	tn := e2e.CreateTenant(t, c, "bk")
	e2e.Fill(t, tn.DSN, 200)
	c.MustRun("backup", "run", "--server", "bk", "--type", "incr")
	time.Sleep(1100 * time.Millisecond) // pgBackRest keeps the backup's stop time in whole seconds
	want := sumsVia(t, tn.DSN)
	t1 := serverNow(t, srv)
	time.Sleep(1100 * time.Millisecond)
	damage(t, tn.DSN)
	damaged := sumsVia(t, tn.DSN)
	archiveNow(t, srv)
	at := t1.Add(500 * time.Millisecond).UTC().Format(time.RFC3339Nano)

	kill := func(point string) {
		cmd := exec.Command(bin, "tenant", "restore", tn.Slug, "--time", at, "--keep-source", "0")
		cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG=", "TENANTCTL_FAULT="+point,
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "killed at %s: %s", point, out.String())
		require.Equal(t, "signal: killed", exitErr.String(), out.String())
	}
	check := func(label string, rows map[string]string) {
		t.Helper()
		show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
		require.Equal(t, "active", show["state"], label)
		require.Equal(t, rows, sumsVia(t, tn.DSN), label)
		plan := c.MustRun("reconcile", "--dry-run", "-o", "json")
		require.NotContains(t, plan, "roll-back-restore", label)
		require.NotContains(t, plan, "finish-restore", label)
	}
	points := []string{"restore.planned.after-record", "restore.scratch.after-record", "restore.suspended.before-record",
		"restore.renamed.after-record", "restore.copied.before-record", "restore.hardened.after-record",
		"restore.verified.after-record", "restore.switched.after-record", "restore.resumed.before-record"}
	// Points kept by `make test`: some of those rerun (even), rolled back by reconcile
	// (odd, before the switch) and finished by reconcile (odd, after it).
	sample := e2e.KillSample(t, 1,
		e2e.Indexes(len(points), func(i int) bool { return i%2 == 0 }),
		e2e.Indexes(len(points), func(i int) bool { return i%2 == 1 && i < 7 }),
		e2e.Indexes(len(points), func(i int) bool { return i%2 == 1 && i >= 7 }))
	for i, p := range points {
		if !sample[i] {
			continue
		}
		kill(p)
		switched := i >= 7
		if i%2 == 0 {
			c.MustRun("tenant", "restore", tn.Slug, "--time", at, "--keep-source", "0")
			check("killed at "+p+", rerun", want)
		} else {
			c.MustRun("reconcile")
			if switched {
				check("killed at "+p+", reconciled (finished)", want)
			} else {
				check("killed at "+p+", reconciled (rolled back)", damaged)
			}
		}
		// Back to the damaged state for the next round, by writing it again.
		if sums := sumsVia(t, tn.DSN); !mapsEqual(sums, damaged) {
			damage(t, tn.DSN)
			damaged = sumsVia(t, tn.DSN)
		}
	}
	var n int
	conn := srv.Conn(t, "postgres")
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE $1`, "t_"+tn.ID+"_kept%").Scan(&n))
	conn.Close(context.Background())
	require.Zero(t, n, "no kept copy left (--keep-source 0)")
	_, errOut, code := c.Run("audit", "--no-probes")
	require.Equal(t, 0, code, errOut)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

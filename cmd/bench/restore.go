package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tenantctl/tenantctl/backup"
)

// The restore section measures what the backup guide promises, on this machine: the
// RPO (how long a committed transaction waits before the WAL segment holding it is in
// the pgBackRest repository) and the RTO (how long `tenant restore` in place takes for
// one customer of a server holding many). It is large, so it runs only when asked:
//
//	BENCH_RESTORE=1 BENCH_SECTIONS=restore go run ./cmd/bench
//
// Sizes: BENCH_RESTORE_SERVER_MIB (everything the server holds across tenants; default
// 512), BENCH_RESTORE_TENANT_MIB (the customer restored, and each filler tenant;
// default 64), BENCH_ARCHIVE_TIMEOUT (seconds; default 60, what `backup setup`
// recommends), BENCH_RPO_SAMPLES (idle commits timed; default 3).

// restoreWanted: the section runs only with BENCH_RESTORE=1 (and BENCH_SECTIONS
// selecting it, or empty).
func restoreWanted() bool { return os.Getenv("BENCH_RESTORE") == "1" && wanted("restore") }

type restoreSizes struct {
	ServerMiB, TenantMiB, ArchiveTimeout, RPOSamples int
}

func restoreSizesFromEnv() restoreSizes {
	return restoreSizes{
		ServerMiB:      envInt("BENCH_RESTORE_SERVER_MIB", 512),
		TenantMiB:      envInt("BENCH_RESTORE_TENANT_MIB", 64),
		ArchiveTimeout: envInt("BENCH_ARCHIVE_TIMEOUT", 60),
		RPOSamples:     envInt("BENCH_RPO_SAMPLES", 3),
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (h *harness) restore(ctx context.Context, rep *report) error {
	sz := restoreSizesFromEnv()
	if _, err := backup.Program(); err != nil {
		return fmt.Errorf("the restore section needs pgBackRest (apt-get install pgbackrest): %w", err)
	}
	if sz.TenantMiB > sz.ServerMiB {
		return fmt.Errorf("BENCH_RESTORE_TENANT_MIB %d is larger than BENCH_RESTORE_SERVER_MIB %d", sz.TenantMiB, sz.ServerMiB)
	}
	note := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		rep.Notes = append(rep.Notes, "restore: "+s)
		h.logf("%s", s)
	}
	note("sizes: server %d MiB across tenants, customer %d MiB, archive_timeout %ds; load average at start %s",
		sz.ServerMiB, sz.TenantMiB, sz.ArchiveTimeout, loadavg())

	// 1. Tenants: the customer and fillers of the same size up to the server's total.
	fillers := (sz.ServerMiB - sz.TenantMiB + sz.TenantMiB - 1) / sz.TenantMiB
	cust := slug("rst")
	var csv strings.Builder
	fmt.Fprintf(&csv, "%s,Restore %s,%s.example,pg-a\n", cust, cust, cust)
	var fill []string
	for range fillers {
		s := slug("rsf")
		fill = append(fill, s)
		fmt.Fprintf(&csv, "%s,Filler %s,%s.example,pg-a\n", s, s, s)
	}
	file := filepath.Join(h.dir, "restore.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o644); err != nil {
		return err
	}
	if _, err := h.run(ctx, "tenant create --from-file", "tenant", "create", "--from-file", file, "--concurrency", "2"); err != nil {
		return err
	}
	dbs, err := h.tenantDatabases(ctx)
	if err != nil {
		return err
	}
	custDB := dbs[cust]
	if custDB == "" {
		return fmt.Errorf("tenant %s not listed", cust)
	}

	// 2. Data, before archiving is on (loading is setup, not measured): rows of
	// incidents until each database holds its share. The last filler takes the rest.
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	left := sz.ServerMiB - sz.TenantMiB
	targets := map[string]int{custDB: sz.TenantMiB}
	for _, s := range fill {
		targets[dbs[s]] = min(sz.TenantMiB, left)
		left -= sz.TenantMiB
	}
	for db, mib := range targets {
		g.Go(func() error { return h.fillDatabase(gctx, db, int64(mib)<<20) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := superExec(ctx, h.server, "postgres", "CHECKPOINT"); err != nil {
		return err
	}
	total, err := superQuery[int64](ctx, h.server, "postgres", `SELECT sum(pg_database_size(datname))::bigint FROM pg_database`)
	if err != nil {
		return err
	}
	custSize, err := superQuery[int64](ctx, h.server, "postgres", `SELECT pg_database_size($1)`, custDB)
	if err != nil {
		return err
	}
	note("loaded in %s: server %s in %d databases, customer %s %s",
		time.Since(start).Round(time.Second), mib(total), len(targets), cust, mib(custSize))

	// 3. pgBackRest: archiving on (a restart), the stanza checked, a full backup.
	s, err := h.configureBackup(ctx, sz.ArchiveTimeout)
	if err != nil {
		return err
	}
	la := loadavg()
	t, err := h.run(ctx, "backup run", "backup", "run", "--server", "pg-a", "--type", "full")
	if err != nil {
		return err
	}
	rep.add(measurement{Section: "restore", Name: fmt.Sprintf("backup run --type full (server of %s)", mib(total)), Ops: 1,
		TotalMS: ms(t.d), PeakRSSKiB: t.rssKiB, Note: "load average before: " + la})
	repo, _ := dirSize(s.RepoPath)
	note("full backup took %s; the repository holds %s (lz4)", t.d.Round(time.Second), mib(repo))

	// 4. RPO: commit a row, time until its WAL segment is archived. Idle: only the
	// marker's commit, so archive_timeout decides; under load: segments fill and are
	// pushed as fast as archive-push goes (the writer writes in a filler).
	loadDB := custDB
	if len(fill) > 0 {
		loadDB = dbs[fill[0]]
	}
	idle, err := h.archiveLags(ctx, custDB, loadDB, sz.RPOSamples, false)
	if err != nil {
		return fmt.Errorf("archive lag, idle: %w", err)
	}
	m := rep.add(lagMeasurement(fmt.Sprintf("archive lag (RPO), idle server, archive_timeout=%ds", sz.ArchiveTimeout), idle))
	note("archive lag, idle: %s", m.Note)
	busy, err := h.archiveLags(ctx, custDB, loadDB, 10, true)
	if err != nil {
		return fmt.Errorf("archive lag, under load: %w", err)
	}
	m = rep.add(lagMeasurement("archive lag (RPO), server under write load (about a WAL segment a second)", busy))
	note("archive lag, under load: %s", m.Note)

	// 5. RTO: rows written at T1, then deleted and changed; restore in place to T1.
	conn, err := pgx.Connect(ctx, h.server.DSN(custDB))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `INSERT INTO incidents (title, priority) SELECT 'written at T1 ' || g, 2 FROM generate_series(1, 1000) g`); err != nil {
		return err
	}
	var t1 time.Time
	var wantCount, wantSum int64
	if err := conn.QueryRow(ctx, `SELECT clock_timestamp(), count(*), coalesce(sum(id), 0)::bigint FROM incidents`).Scan(&t1, &wantCount, &wantSum); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if _, err := conn.Exec(ctx, `DELETE FROM incidents WHERE id > (SELECT max(id) - 50000 FROM incidents)`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `UPDATE incidents SET status = 'closed' WHERE id <= 10000`); err != nil {
		return err
	}
	if err := h.archiveThrough(ctx, conn, true); err != nil {
		return err
	}
	// The restore ends the customer's sessions, and a superuser's (this one) it cannot.
	conn.Close(ctx)
	la = loadavg()
	t, err = h.run(ctx, "tenant restore", "tenant", "restore", cust, "--time", t1.UTC().Format(time.RFC3339Nano), "-o", "json")
	if err != nil {
		return err
	}
	var res struct {
		Tables   int   `json:"tables"`
		Rows     int64 `json:"rows"`
		Downtime int64 `json:"downtime_ns"`
		Duration int64 `json:"duration_ns"`
	}
	if err := json.Unmarshal(t.out, &res); err != nil {
		return fmt.Errorf("tenant restore -o json: %w: %s", err, tail(string(t.out)))
	}
	var gotCount, gotSum int64
	if err := superQueryRow(ctx, h.server.DSN(custDB), `SELECT count(*), coalesce(sum(id), 0)::bigint FROM incidents`, &gotCount, &gotSum); err != nil {
		return err
	}
	if gotCount != wantCount || gotSum != wantSum {
		return fmt.Errorf("after the restore incidents has %d rows (sum %d), want T1's %d (sum %d)", gotCount, gotSum, wantCount, wantSum)
	}
	rep.add(measurement{Section: "restore", Name: fmt.Sprintf("tenant restore in place (customer of %s on a server of %s)", mib(custSize), mib(total)),
		Ops: 1, TotalMS: ms(t.d), PeakRSSKiB: t.rssKiB,
		Note: fmt.Sprintf("downtime %s; %d tables, %d rows verified; T1's rows back exactly; load average before: %s",
			time.Duration(res.Downtime).Round(100*time.Millisecond), res.Tables, res.Rows, la)})
	note("tenant restore in place: %s in all (the command's own figure %s), the customer's downtime %s; load average after %s",
		t.d.Round(100*time.Millisecond), time.Duration(res.Duration).Round(100*time.Millisecond),
		time.Duration(res.Downtime).Round(100*time.Millisecond), loadavg())
	return nil
}

func superQueryRow(ctx context.Context, dsn, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

func mib(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// tenantDatabases maps every tenant's slug to its database.
func (h *harness) tenantDatabases(ctx context.Context) (map[string]string, error) {
	tenants, err := h.listTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range tenants {
		out[t.Slug] = t.Database
	}
	return out, nil
}

// fillDatabase adds incidents (rows of ~300 bytes of hex, which lz4 halves) to db until
// it holds size bytes.
func (h *harness) fillDatabase(ctx context.Context, db string, size int64) error {
	conn, err := pgx.Connect(ctx, h.server.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	const batch = 100000
	for next := int64(1); ; next += batch {
		var cur int64
		if err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&cur); err != nil {
			return err
		}
		if cur >= size {
			return nil
		}
		if _, err := conn.Exec(ctx, `INSERT INTO incidents (title, status, priority, opened_at)
			SELECT md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || md5((g * 31)::text)
			       || md5((g * 61)::text) || md5((g * 97)::text) || md5((g * 127)::text) || md5((g * 251)::text),
			       (ARRAY['open', 'in_progress', 'resolved', 'closed'])[1 + g % 4], 1 + g % 4,
			       now() - make_interval(mins => (g % 100000)::int)
			FROM generate_series($1::bigint, $2::bigint) g`, next, next+batch-1); err != nil {
			return err
		}
	}
}

// configureBackup turns WAL archiving on for pg-a (a restart), records and installs its
// stanza, and checks it, as an operator does with `backup configure` and `backup setup`.
func (h *harness) configureBackup(ctx context.Context, archiveTimeout int) (backup.Settings, error) {
	base := filepath.Join(h.dir, "pgbackrest")
	s := backup.Settings{Server: "pg-a", Stanza: "bench", ConfigPath: filepath.Join(base, "etc", "bench.conf"),
		RepoPath: filepath.Join(base, "repo"), PgPath: h.server.DataDir(), PgPort: h.server.Port,
		PgSocketPath: filepath.Join(h.server.Dir, "sock"), PgUser: h.server.User, PgPassfile: filepath.Join(base, "pgpass")}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return s, err
	}
	if err := os.WriteFile(s.PgPassfile, []byte("*:*:*:"+h.server.User+":"+h.server.Password+"\n"), 0o600); err != nil {
		return s, err
	}
	if os.Geteuid() == 0 {
		// pgbackrest runs as the data directory's owner, who must read the file.
		u, err := user.Lookup("postgres")
		if err != nil {
			return s, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.PgPassfile, uid, gid); err != nil {
			return s, err
		}
	}
	quote := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	if err := superExec(ctx, h.server, "postgres",
		`ALTER SYSTEM SET archive_mode = 'on'`, `ALTER SYSTEM SET wal_level = 'replica'`,
		`ALTER SYSTEM SET archive_command = `+quote(backup.ArchiveCommand(s)),
		`ALTER SYSTEM SET archive_timeout = `+strconv.Itoa(archiveTimeout)); err != nil {
		return s, err
	}
	if err := h.server.Stop(ctx); err != nil {
		return s, err
	}
	if err := h.server.Start(ctx); err != nil {
		return s, err
	}
	if _, err := h.run(ctx, "backup configure", "backup", "configure", "pg-a", "--repo", s.RepoPath, "--pg-path", s.PgPath,
		"--pg-port", strconv.Itoa(s.PgPort), "--pg-socket-path", s.PgSocketPath, "--pg-user", s.PgUser,
		"--pg-passfile", s.PgPassfile, "--stanza", s.Stanza, "--config-path", s.ConfigPath, "--install"); err != nil {
		return s, err
	}
	if _, err := h.run(ctx, "backup setup --check", "backup", "setup", "pg-a", "--check"); err != nil {
		return s, err
	}
	return s, nil
}

// archiveThrough waits until the WAL segment holding everything committed so far on
// conn's server is archived; with force it switches segments first.
func (h *harness) archiveThrough(ctx context.Context, conn *pgx.Conn, force bool) error {
	q := `SELECT pg_walfile_name(pg_current_wal_lsn())`
	if force {
		q = `SELECT pg_walfile_name(pg_switch_wal())`
	}
	var seg string
	if err := conn.QueryRow(ctx, q).Scan(&seg); err != nil {
		return err
	}
	_, err := waitArchived(ctx, conn, seg, 10*time.Minute)
	return err
}

// waitArchived polls pg_stat_archiver until seg (or a later segment) is archived.
func waitArchived(ctx context.Context, conn *pgx.Conn, seg string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		var last string
		if err := conn.QueryRow(ctx, `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`).Scan(&last); err != nil {
			return time.Time{}, err
		}
		if last >= seg {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("WAL segment %s not archived within %s (last archived %s)", seg, limit, last)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// archiveLags commits n marker rows in db and returns, for each, the time from its
// commit to its WAL segment being archived. Idle: one marker at a time, each committed
// 0-5 s after the previous one's segment was archived, that is just after a segment
// switch: its segment waits for nearly all of archive_timeout, so the figures are close
// to the idle worst case (archive_timeout plus one archive-push). Under load: a writer
// in loadDB fills about a segment a second meanwhile.
func (h *harness) archiveLags(ctx context.Context, db, loadDB string, n int, load bool) ([]time.Duration, error) {
	conn, err := pgx.Connect(ctx, h.server.DSN(db))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	watch, err := pgx.Connect(ctx, h.server.DSN("postgres"))
	if err != nil {
		return nil, err
	}
	defer watch.Close(context.WithoutCancel(ctx))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	if load {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := pgx.Connect(ctx, h.server.DSN(loadDB))
			if err != nil {
				writeErr = err
				return
			}
			defer w.Close(context.WithoutCancel(ctx))
			for {
				// About 4 MiB of WAL per batch, four batches a second: a segment
				// a second, a busy server.
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				if _, err := w.Exec(ctx, `INSERT INTO incidents (title, priority)
					SELECT md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) || md5((g * 11)::text), 3
					FROM generate_series(1, 20000) g`); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
					writeErr = err
					return
				}
			}
		}()
	}
	var lags []time.Duration
	finish := func() error {
		close(stop)
		wg.Wait()
		return writeErr
	}
	for i := range n {
		if i > 0 {
			if load {
				time.Sleep(time.Second)
			} else {
				time.Sleep(time.Duration(rand.IntN(5000)) * time.Millisecond)
			}
		}
		if _, err := conn.Exec(ctx, `INSERT INTO incidents (title, priority) VALUES ('archive lag marker', 4)`); err != nil {
			_ = finish()
			return nil, err
		}
		committed := time.Now()
		var seg string
		if err := conn.QueryRow(ctx, `SELECT pg_walfile_name(pg_current_wal_insert_lsn())`).Scan(&seg); err != nil {
			_ = finish()
			return nil, err
		}
		// Under load the writer keeps filling segments while this waits, as on a busy
		// server.
		at, err := waitArchived(ctx, watch, seg, 10*time.Minute)
		if err != nil {
			_ = finish()
			return nil, err
		}
		lags = append(lags, at.Sub(committed))
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return lags, nil
}

// lagMeasurement summarises archive lags: p50 and the worst as p95.
func lagMeasurement(name string, lags []time.Duration) measurement {
	s := append([]time.Duration(nil), lags...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var parts []string
	for _, d := range lags {
		parts = append(parts, d.Round(100*time.Millisecond).String())
	}
	return measurement{Section: "restore", Name: name, Ops: len(lags), TotalMS: ms(s[len(s)-1]),
		P50MS: ms(percentile(s, 0.5)), P95MS: ms(percentile(s, 0.95)),
		Note: "worst in total; samples " + strings.Join(parts, ", ") + "; load average " + loadavg()}
}

package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/root"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestLogicalBackupAndRestoreFromExport: backup run --logical exports every active
// customer into the backup directory, each file recorded with its size and SHA-256; a
// customer whose rows were then changed and deleted comes back from its file as a new
// customer with exactly the backed-up rows; a tampered file, another tenant's file and
// a restore in place are refused with nothing created; the retention removes older
// files only once newer ones are recorded.
func TestLogicalBackupAndRestoreFromExport(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	dir := filepath.Join(t.TempDir(), "logical")
	a := e2e.CreateTenant(t, c, "pg-a")
	b := e2e.CreateTenant(t, c, "pg-b")
	e2e.Fill(t, a.DSN, 200)
	e2e.Fill(t, b.DSN, 50)

	// Bad input: exit 2, nothing written.
	c.Expect(2, []string{"--dir"}, "backup", "run", "--logical")
	c.Expect(2, []string{"invalid --keep"}, "backup", "run", "--logical", "--dir", dir, "--keep", "0d")
	c.Expect(2, []string{"--type is for pgBackRest"}, "backup", "run", "--logical", "--dir", dir, "--type", "full")
	c.Expect(2, []string{"go with --logical"}, "backup", "run", "--dir", dir)
	require.NoDirExists(t, dir)

	want := sumsVia(t, a.DSN)
	first := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "run", "--logical", "--dir", dir, "-o", "json"))
	require.Len(t, first, 2, "every active customer")
	files := map[string]string{}
	for _, r := range first {
		f := r["file"].(string)
		require.Equal(t, filepath.Join(dir, r["slug"].(string)), filepath.Dir(f))
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		require.Equal(t, int64(r["bytes"].(float64)), fi.Size())
		require.Equal(t, r["sha256"], fileSHA256(t, f))
		files[r["slug"].(string)] = f
		left, err := filepath.Glob(filepath.Join(filepath.Dir(f), ".*partial*"))
		require.NoError(t, err)
		require.Empty(t, left, "no partial file left")
	}
	list := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "--logical", "-o", "json"))
	require.Len(t, list, 2)
	for _, l := range list {
		require.Equal(t, files[l["slug"].(string)], l["path"])
		require.Equal(t, fileSHA256(t, l["path"].(string)), l["sha256"])
		require.NotEmpty(t, l["server"])
		require.NotEmpty(t, l["taken_at"])
	}
	require.Contains(t, c.MustRun("backup", "list", "--logical", "--tenant", a.Slug), files[a.Slug])
	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "backup-logical", jobs[0]["job"], "the run is a job")
	require.Equal(t, "succeeded", jobs[0]["status"])

	// The mistake, then the customer back from its logical backup as a new customer.
	damage(t, a.DSN)
	require.NotEqual(t, want, sumsVia(t, a.DSN))
	c.Expect(2, []string{"does not go with --from-export"}, "tenant", "restore", a.Slug, "--from-export", files[a.Slug], "--as", "x-"+a.Slug, "--time", "2026-01-01T00:00:00Z")
	c.Expect(2, []string{"is a logical backup of tenant " + `"` + a.Slug + `"`}, "tenant", "restore", b.Slug, "--from-export", files[a.Slug], "--as", "wrong-"+b.Slug)
	c.Expect(2, []string{"tenant not found"}, "tenant", "show", "wrong-"+b.Slug)
	out := c.MustRun("tenant", "restore", a.Slug, "--from-export", files[a.Slug], "--as", "back-"+a.Slug)
	require.Contains(t, out, "as new tenant back-"+a.Slug)
	require.Contains(t, out, "SHA-256 matches the logical backup taken")
	back := e2e.DSNOf(c, "back-"+a.Slug)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(back))
	require.Equal(t, want, sumsVia(t, back), "exactly the backed-up rows, every table")
	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "--tenant", a.Slug, "-o", "json"))
	require.Equal(t, "tenant.restore.from-export", events[0]["action"])
	require.Equal(t, true, events[0]["details"].(map[string]any)["verified"])

	// A file changed since it was written is refused, nothing created.
	fb, err := os.OpenFile(files[b.Slug], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fb.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, fb.Close())
	c.Expect(2, []string{"does not match its backup record", "the file changed"}, "tenant", "restore", b.Slug, "--from-export", files[b.Slug], "--as", "back-"+b.Slug)
	c.Expect(2, []string{"tenant not found"}, "tenant", "show", "back-"+b.Slug)

	// Retention: a second run removes the first files only after recording the new ones.
	time.Sleep(1100 * time.Millisecond)
	second := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "run", "--logical", "--dir", dir, "--keep", "1s", "-o", "json"))
	require.Len(t, second, 3, "the restored customer is backed up too")
	removed := 0
	for _, r := range second {
		require.FileExists(t, r["file"].(string))
		if rm, ok := r["removed"].([]any); ok {
			for _, f := range rm {
				require.Equal(t, files[r["slug"].(string)], f)
				require.NoFileExists(t, f.(string))
				removed++
			}
		}
	}
	require.Equal(t, 2, removed, "each older file removed")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "--logical", "-o", "json")), 3)
	all := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "--logical", "--removed", "-o", "json"))
	require.Len(t, all, 5)
	require.NotNil(t, all[0]["removed_at"])
	require.Contains(t, c.MustRun("backup", "run", "--help"), "--logical")

	// The scheduler runs it as a job, into its configured directory. What a killed run
	// left there is settled first: a complete archive no record names is recorded, a
	// partial one removed.
	c.Expect(2, []string{"--backup-logical-schedule needs --backup-logical-dir"}, "scheduler", "--backup-logical-schedule", "@hourly")
	sched := filepath.Join(t.TempDir(), "scheduled")
	planted := filepath.Join(sched, a.Slug, a.Slug+"-20260101T000000.000Z.dump")
	partial := filepath.Join(sched, a.Slug, "."+a.Slug+"-20260101T000001.000Z.dump.partial-42")
	require.NoError(t, os.MkdirAll(filepath.Dir(planted), 0o700))
	c.MustRun("tenant", "export", a.Slug, "--out", planted)
	require.NoError(t, os.WriteFile(partial, []byte("PGDMP"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- root.Run(ctx, []string{"scheduler", "--listen", "-", "--node", "logical",
			"--backup-logical-schedule", "@every 1s", "--backup-logical-dir", sched, "--backup-logical-keep", "1000d",
			"--migrate-schedule", "off", "--rollup-schedule", "off", "--audit-schedule", "off", "--reconcile-schedule", "off",
			"--purge-schedule", "off", "--pool-schedule", "off", "--backup-schedule", "off"},
			strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return c.Env[k] })
	}()
	require.Eventually(t, func() bool {
		for _, j := range e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json")) {
			if j["job"] == "backup-logical" && j["node"] == "logical" && j["status"] == "succeeded" {
				return true
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond)
	cancel()
	require.Equal(t, 0, <-done)
	byPath := map[string]map[string]any{}
	for _, l := range e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "--logical", "-o", "json")) {
		byPath[l["path"].(string)] = l
	}
	for _, slug := range []string{a.Slug, b.Slug, "back-" + a.Slug} {
		files, err := filepath.Glob(filepath.Join(sched, slug, slug+"-*.dump"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "the scheduled job exported %s", slug)
		for _, f := range files {
			require.Contains(t, byPath, f, "%s is recorded", f)
			require.Equal(t, fileSHA256(t, f), byPath[f]["sha256"])
		}
	}
	require.Equal(t, "2026-01-01T00:00:00Z", byPath[planted]["taken_at"], "the unrecorded archive is recorded as taken when its name says")
	require.NoFileExists(t, partial, "the partial archive is removed")
}

// TestTenantRestoreFromExportInPlace: rows at T1 exported (a logical backup and a
// 'tenant export'), then changed and deleted; `tenant restore SLUG --from-export FILE`
// without --as puts exactly T1's rows (count and checksum per table) back under the old
// DSN while a neighbour on the same server keeps writing through one session; another
// tenant's file and a file the catalog never recorded are refused with nothing changed;
// the audit passes afterwards and the kept copy is neither an orphan nor a finding.
func TestTenantRestoreFromExportInPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := e2e.FleetCLI(t)
	dir := filepath.Join(t.TempDir(), "logical")
	a := e2e.CreateTenant(t, c, "pg-a")
	nb := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, a.DSN, 200)
	e2e.Fill(t, nb.DSN, 50)

	want := sumsVia(t, a.DSN)
	exported := filepath.Join(t.TempDir(), a.Slug+".dump")
	c.MustRun("tenant", "export", a.Slug, "--out", exported)
	run := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "run", "--logical", "--server", "pg-a", "--dir", dir, "-o", "json"))
	files := map[string]string{}
	for _, r := range run {
		files[r["slug"].(string)] = r["file"].(string)
	}
	damage(t, a.DSN)
	damaged := sumsVia(t, a.DSN)
	require.NotEqual(t, want, damaged)

	// Refused, nothing changed: another tenant's logical backup, a file no record names,
	// --as with --keep-source.
	c.Expect(2, []string{"is a logical backup of tenant " + `"` + nb.Slug + `"`}, "tenant", "restore", a.Slug, "--from-export", files[nb.Slug])
	stray := filepath.Join(t.TempDir(), "stray.dump")
	data, err := os.ReadFile(exported)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(stray, append(data, 0), 0o600))
	c.Expect(2, []string{"is not a recorded export of tenant", "--as NEW-SLUG"}, "tenant", "restore", a.Slug, "--from-export", stray)
	c.Expect(2, []string{"--keep-source is for an in-place restore"}, "tenant", "restore", a.Slug, "--from-export", exported, "--as", "x-"+a.Slug, "--keep-source", "0")
	require.Equal(t, damaged, sumsVia(t, a.DSN), "a refused restore changes nothing")

	// In place from the logical backup, while the neighbour writes through one session.
	nbBefore := sumsVia(t, nb.DSN)
	w := startNeighbour(t, nb.DSN)
	res := e2e.Decode[map[string]any](t, c.MustRun("tenant", "restore", a.Slug, "--from-export", files[a.Slug], "-o", "json"))
	w.finish()
	require.Equal(t, "switched", res["status"])
	require.Equal(t, files[a.Slug], res["file"])
	require.Equal(t, want, sumsVia(t, a.DSN), "the old DSN reaches exactly T1's rows")
	require.Zero(t, w.failed.Load(), "the neighbour never lost its session")
	require.Positive(t, w.ok.Load())
	nbAfter := sumsVia(t, nb.DSN)
	require.Equal(t, nbBefore["incidents"], nbAfter["incidents"], "the neighbour is untouched")
	require.Equal(t, nbBefore["systems"], nbAfter["systems"], "the neighbour is untouched")
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", a.Slug, "-o", "json"))
	require.Equal(t, "active", show["state"])
	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "--tenant", a.Slug, "-o", "json"))
	var started map[string]any
	for _, e := range events {
		if e["action"] == "tenant.restore.start" {
			started = e["details"].(map[string]any)
			break
		}
	}
	require.NotNil(t, started, "the restore is recorded")
	require.Equal(t, files[a.Slug], started["source_file"])
	require.Equal(t, fileSHA256(t, files[a.Slug]), started["source_sha256"])

	// The kept copy: there, unreachable by the app, neither orphan nor finding.
	kept := res["kept_db"].(string)
	require.True(t, strings.HasPrefix(kept, "t_"+a.ID+"_kept"), kept)
	_, err = pgx.Connect(ctx, strings.Replace(a.DSN, "/t_"+a.ID+"?", "/"+kept+"?", 1))
	require.Error(t, err, "the app cannot reach the kept copy")
	srv := e2e.Pair(t)[0] // pg-a
	countKept := func() int {
		conn := srv.Conn(t, "postgres")
		defer conn.Close(ctx)
		var n int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE $1`, "t_"+a.ID+"_kept%").Scan(&n))
		return n
	}
	require.Equal(t, 1, countKept(), "the replaced database is kept")
	for _, slug := range []string{a.Slug, nb.Slug} {
		out, errOut, code := c.Run("audit", "--tenant", slug, "-o", "json")
		require.Equal(t, 0, code, "audit of %s after the restore: %s %s", slug, out, errOut)
	}
	require.NotContains(t, c.MustRun("reconcile", "--dry-run", "-o", "json"), kept, "the kept copy is no orphan")

	// Again, from the 'tenant export' file, its kept copy dropped at once.
	damage(t, a.DSN)
	out := c.MustRun("tenant", "restore", a.Slug, "--from-export", exported, "--keep-source", "0")
	require.Contains(t, out, "restored in place from "+exported)
	require.Equal(t, want, sumsVia(t, a.DSN))
	require.Equal(t, 1, countKept(), "the second restore's copy was dropped at once; the first's stays for its retention")
}

package faulttest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// restorePoints are the points of an in-place restore, in the order it reaches them:
// with --keep-source 0 the replaced database is dropped by the same run.
var restorePoints = []string{"restore.planned.after-record",
	"restore.scratch.before-record", "restore.scratch.after-record",
	"restore.suspended.before-record", "restore.suspended.after-record",
	"restore.renamed.before-record", "restore.renamed.after-record",
	"restore.copied.before-record", "restore.copied.after-record",
	"restore.hardened.before-record", "restore.hardened.after-record",
	"restore.verified.after-record", "restore.switched.after-record",
	"restore.resumed.before-record", "restore.resumed.after-record",
	"restore.kept.after-drop"}

// restoreCases are the kill cases of the point-in-time restore of one tenant, on a
// fleet whose server archives its WAL with pgBackRest.
func restoreCases() []killCase {
	return []killCase{
		{
			// In place, to a time after which the tenant's rows did not change: a rerun
			// finishes the restore; reconcile rolls back one that had not switched and
			// finishes one that had. Either way the tenant holds exactly its rows at T.
			name: "tenant restore", group: "restore", shared: true, fleet: "backup",
			points: restorePoints,
			setup:  func(f *fleet, slug string) []string { return f.restoreArgs(slug) },
			rerun:  rerunSame,
			check:  func(f *fleet, slug string) { f.assertRestoreSettled(slug) },
		},
		{
			// Rolling back a restore killed with the restored copy made under the
			// tenant's name and the current database under its kept one.
			name: "tenant restore --rollback", group: "restore", shared: true, fleet: "backup",
			points: []string{"restore.rollback.after-drop", "restore.rollback.after-rename"},
			setup: func(f *fleet, slug string) []string {
				f.killAt("restore.copied.after-record", f.restoreArgs(slug)...)
				return []string{"tenant", "restore", slug, "--rollback"}
			},
			rerun: rerunSame,
			check: func(f *fleet, slug string) { f.assertRestoreSettled(slug) },
		},
	}
}

// newBackupFleet is a fleet on one private cluster archiving its WAL to a pgBackRest
// repository (the real pgbackrest), registered with the least-privilege admin like any
// server, its stanza configured and checked, and a full backup taken.
func newBackupFleet(t testing.TB) *fleet {
	t.Helper()
	_, err := backup.Program()
	require.NoError(t, err, "the restore kill cases need pgBackRest: apt-get install pgbackrest")
	base, err := os.MkdirTemp("", "tenantctl-faults-bk-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	stanza := "fault-" + pgtest.RandomSuffix()[:6]
	conf := filepath.Join(base, "etc", stanza+".conf")
	// pgbackrest reaches the server on its socket as the superuser (pass).
	srv, pass := pgtest.Archiving(t, "backup-kill-a", backup.ArchiveCommand(backup.Settings{Server: "pg-a", Stanza: stanza, ConfigPath: conf}), base)
	f := newFleetAs(t, false, pgtest.Get(t).Control, pgtest.Get(t).Control, srv)
	f.secrets = append(f.secrets, srv.Cluster.Password)
	f.restoreAt = map[string]string{}
	f.must("backup", "configure", "pg-a", "--repo", filepath.Join(base, "repo"), "--pg-path", srv.Cluster.DataDir(),
		"--pg-port", strconv.Itoa(srv.Cluster.Port), "--pg-socket-path", filepath.Join(srv.Cluster.Dir, "sock"),
		"--pg-passfile", pass, "--stanza", stanza, "--config-path", conf, "--install")
	f.must("backup", "setup", "pg-a", "--check")
	f.must("backup", "run", "--server", "pg-a", "--type", "full")
	return f
}

// restoreArgs makes the case's tenant on first use (its rows written, a backup taken
// that holds its database, then the target time T read from the server's clock and the
// WAL up to a commit after T archived), remembers every tenant's rows, and returns an
// in-place restore of the tenant to T that drops the replaced database at once. The
// tenant's rows do not change after T: restored or rolled back, they are the same.
func (f *fleet) restoreArgs(slug string) []string {
	f.t.Helper()
	at, ok := f.restoreAt[slug]
	if !ok {
		f.createTenant(slug, "--server", "pg-a")
		f.fill(slug, 5)
		// A selective restore needs the database in the backup it starts from.
		f.must("backup", "run", "--server", "pg-a", "--type", "incr")
		// pgBackRest picks the backup to start from by its stop time, kept in whole
		// seconds: T a second later is surely after this one's.
		time.Sleep(1500 * time.Millisecond)
		ctx := context.Background()
		conn := f.serverConn(0, "postgres")
		var now time.Time
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now))
		at = now.UTC().Format(time.RFC3339Nano)
		f.restoreAt[slug] = at
		// Recovery to T ends at the first commit after it: one must be in the archive.
		time.Sleep(200 * time.Millisecond)
		var xid int64
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT txid_current()`).Scan(&xid))
		var seg string
		require.NoError(f.t, conn.QueryRow(ctx, `SELECT pg_walfile_name(pg_switch_wal())`).Scan(&seg))
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var last string
			require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`).Scan(&last))
			if last >= seg {
				break
			}
			require.True(f.t, time.Now().Before(deadline), "WAL segment %s not archived (last %s)", seg, last)
			time.Sleep(100 * time.Millisecond)
		}
		conn.Close(ctx)
	}
	f.rememberData()
	return []string{"tenant", "restore", slug, "--time", at, "--keep-source", "0"}
}

// assertRestoreSettled checks what only a restore leaves: every tenant holds exactly
// its rows at T (unchanged since) and the restored one takes writes, no restore is left
// open in the catalog, and the tenant's scratch instance is gone.
func (f *fleet) assertRestoreSettled(slug string) {
	f.t.Helper()
	f.assertDataIntact()
	ctx := context.Background()
	conn := f.catalogConn()
	defer conn.Close(ctx)
	var open []string
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(format('restore %s of %s: %s at %s', r.id, t.slug, r.status, r.step)), '{}')
		FROM tenant_restores r JOIN tenants t ON t.id = r.tenant_id
		WHERE r.status = 'restoring' OR (r.status = 'switched' AND (r.resumed_at IS NULL OR r.keep_until <= now()))`).Scan(&open))
	require.Empty(f.t, open, "restores left open")
	var dirs []string
	require.NoError(f.t, conn.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT r.scratch_dir), '{}') FROM tenant_restores r
		JOIN tenants t ON t.id = r.tenant_id WHERE t.slug = $1`, slug).Scan(&dirs))
	require.NotEmpty(f.t, dirs, "tenant %s was restored", slug)
	for _, d := range dirs {
		_, err := os.Stat(d)
		require.ErrorIs(f.t, err, os.ErrNotExist, "tenant %s's scratch instance %s is removed", slug, d)
	}
}

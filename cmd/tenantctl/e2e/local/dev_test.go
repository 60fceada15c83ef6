package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/devenv"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
)

// TestDevUpDown runs the local environment end to end: dev up writes a config that
// makes later commands work with no flags, a second dev up is harmless, dev down stops
// it and --purge removes it.
func TestDevUpDown(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "tenantctl-dev-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { os.RemoveAll(base) })
	cfg := filepath.Join(base, "config.yaml")
	dir := filepath.Join(base, "dev")
	c := &e2e.CLI{T: t, Env: map[string]string{"TENANTCTL_CONFIG": cfg}}
	t.Cleanup(func() { c.Run("dev", "down", "--purge") })

	_, err = backup.Program()
	require.NoError(t, err, "dev up configures pgBackRest when it is installed: apt-get install pgbackrest")
	out := c.MustRun("dev", "up", "--servers", "2", "--dir", dir, "--no-backup")
	require.Contains(t, out, "pg-b")
	require.Contains(t, out, "backups: none (dev up ran with --no-backup")
	require.Equal(t, "[]", strings.TrimSpace(c.MustRun("backup", "list", "-o", "json")), "no stanza without pgBackRest")
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat(cfg)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	list := e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Len(t, list, 2)
	require.Equal(t, "tenantctl_admin", list[0]["admin_role"], "servers are registered with the least-privilege role")
	// The admin's password is a generated key: its verifier has one PBKDF2 iteration
	// (every login of tenantctl's to a tenant database pays the client's share of them).
	srv, err := localpg.Open(filepath.Join(devenv.DataDir(dir), "pg-a"))
	require.NoError(t, err)
	conn, err := pgx.Connect(context.Background(), srv.DSN("postgres"))
	require.NoError(t, err)
	var method string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT split_part(rolpassword, ':', 1) FROM pg_authid WHERE rolname = 'tenantctl_admin'`).Scan(&method))
	conn.Close(context.Background())
	require.Equal(t, fmt.Sprintf("SCRAM-SHA-256$%d", secret.KeyIterations), method)

	// Harmless, picks the dir from the config; and with pgBackRest installed it turns
	// WAL archiving on in the servers the first run made without it (a restart).
	out = c.MustRun("dev", "up")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json")), 2)
	require.Contains(t, out, "backups: pg-a, pg-b archive WAL to a local pgBackRest repository in ")
	require.DirExists(t, filepath.Join(devenv.DataDir(dir), devenv.BackupDir, "repo-pg-a"))
	c.MustRun("backup", "setup", "pg-b", "--check")
	require.Contains(t, c.MustRun("backup", "run", "--server", "pg-a"), "server pg-a: incr backup ")
	bl := e2e.Decode[[]map[string]any](t, c.MustRun("backup", "list", "-o", "json"))
	require.Len(t, bl, 2)
	require.Equal(t, "pg-a", bl[0]["server"])
	require.NotNil(t, bl[0]["window"], "pg-a has a restorable window after its first backup")
	require.Equal(t, false, bl[0]["archiver"].(map[string]any)["failing"], "pg-a archives its WAL")

	st := e2e.Decode[[]map[string]any](t, c.MustRun("dev", "status", "-o", "json"))
	require.Len(t, st, 3)
	for _, s := range st {
		require.Equal(t, true, s["running"], s["name"])
	}
	c.MustRun("dev", "down")
	st = e2e.Decode[[]map[string]any](t, c.MustRun("dev", "status", "-o", "json"))
	for _, s := range st {
		require.Equal(t, false, s["running"], s["name"])
	}
	c.MustRun("dev", "up")
	c.MustRun("dev", "down", "--purge")
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err))
	_, err = os.Stat(cfg)
	require.True(t, os.IsNotExist(err), "purge removes the config that pointed at the environment")
}

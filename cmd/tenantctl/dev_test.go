package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
	c := &cli{t: t, env: map[string]string{"TENANTCTL_CONFIG": cfg}}
	t.Cleanup(func() { c.run("dev", "down", "--purge") })

	out := c.mustRun("dev", "up", "--servers", "2", "--dir", dir)
	require.Contains(t, out, "pg-b")
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat(cfg)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	list := decode[[]map[string]any](t, c.mustRun("server", "list", "-o", "json"))
	require.Len(t, list, 2)
	require.Equal(t, "tenantctl_admin", list[0]["admin_role"], "servers are registered with the least-privilege role")

	c.mustRun("dev", "up") // harmless, picks the dir from the config
	require.Len(t, decode[[]map[string]any](t, c.mustRun("server", "list", "-o", "json")), 2)

	st := decode[[]map[string]any](t, c.mustRun("dev", "status", "-o", "json"))
	require.Len(t, st, 3)
	for _, s := range st {
		require.Equal(t, true, s["running"], s["name"])
	}
	c.mustRun("dev", "down")
	st = decode[[]map[string]any](t, c.mustRun("dev", "status", "-o", "json"))
	for _, s := range st {
		require.Equal(t, false, s["running"], s["name"])
	}
	c.mustRun("dev", "up")
	c.mustRun("dev", "down", "--purge")
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err))
	_, err = os.Stat(cfg)
	require.True(t, os.IsNotExist(err), "purge removes the config that pointed at the environment")
}

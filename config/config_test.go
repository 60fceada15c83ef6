package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	require.Equal(t, "flag", Resolve(true, "flag", "env", "file", "def"))
	require.Equal(t, "", Resolve(true, "", "env", "file", "def"), "an explicit empty flag wins")
	require.Equal(t, "env", Resolve(false, "", "env", "file", "def"))
	require.Equal(t, "file", Resolve(false, "", "", "file", "def"))
	require.Equal(t, "def", Resolve(false, "", "", "", "def"))
}

func TestLoadWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.yaml")
	f, err := Load(path, false)
	require.NoError(t, err, "a missing default config is fine")
	require.Equal(t, File{}, f)
	_, err = Load(path, true)
	require.ErrorIs(t, err, validate.ErrInvalid, "a missing named config is an error")

	require.NoError(t, Write(path, File{Catalog: "postgres://x", SecretKeyFile: "key", Scheduler: map[string]string{"rollup_schedule": "@hourly"}}))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	f, err = Load(path, true)
	require.NoError(t, err)
	require.Equal(t, "postgres://x", f.Catalog)
	require.Equal(t, filepath.Join(dir, "sub", "key"), f.SecretKeyFile, "relative paths are relative to the file")
	require.Equal(t, "@hourly", f.Scheduler["rollup_schedule"])

	require.NoError(t, os.WriteFile(path, []byte("catalgo: typo\n"), 0o600))
	_, err = Load(path, true)
	require.ErrorIs(t, err, validate.ErrInvalid, "unknown keys are rejected")
}

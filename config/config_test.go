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

	require.NoError(t, Write(path, File{Settings: Settings{Catalog: "postgres://x", SecretKeyFile: "key", Scheduler: map[string]string{"rollup_schedule": "@hourly"}}}))
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

func TestDiscover(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	project := filepath.Join(root, "proj")
	deep := filepath.Join(project, "a", "b")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	home := filepath.Join(root, "home")
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }

	f := Discover(deep, getenv)
	require.Equal(t, Found{Project: filepath.Join(deep, DefaultPath)}, f, "nothing found: dev up writes ./.tenantctl/config.yaml")

	user := filepath.Join(home, ".config", "tenantctl", "config.yaml")
	require.NoError(t, Write(user, File{Settings: Settings{Catalog: "postgres://user"}}))
	f = Discover(deep, getenv)
	require.Equal(t, user, f.Path)
	require.Equal(t, "user", f.Source)
	require.Equal(t, filepath.Join(deep, DefaultPath), f.Project, "the user's file is never where a dev environment is written")

	env["XDG_CONFIG_HOME"] = filepath.Join(root, "xdg")
	require.Empty(t, Discover(deep, getenv).Path, "XDG_CONFIG_HOME replaces ~/.config")
	xdg := filepath.Join(root, "xdg", "tenantctl", "config.yaml")
	require.NoError(t, Write(xdg, File{}))
	require.Equal(t, xdg, Discover(deep, getenv).Path)

	proj := filepath.Join(project, DefaultPath)
	require.NoError(t, Write(proj, File{Settings: Settings{Catalog: "postgres://proj"}}))
	f = Discover(deep, getenv)
	require.Equal(t, Found{Path: proj, Project: proj, Source: "project"}, f, "a parent's project file beats the user's")
	here := filepath.Join(deep, DefaultPath)
	require.NoError(t, Write(here, File{}))
	require.Equal(t, here, Discover(deep, getenv).Path, "the nearest project file wins")
}

func TestContexts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
log_level: warn
secret_key_file: default.key
current_context: staging
contexts:
  staging:
    catalog: postgres://staging/catalog
  prod:
    catalog: postgres://prod/catalog
    secret_key_file: /etc/tenantctl/prod.key
    scheduler:
      audit_schedule: "@hourly"
`), 0o600))
	f, err := Load(path, true)
	require.NoError(t, err)
	require.Equal(t, []string{"prod", "staging"}, f.ContextNames())

	s, err := f.Select("")
	require.NoError(t, err)
	require.Equal(t, "postgres://staging/catalog", s.Catalog, "current_context is used by default")
	require.Equal(t, filepath.Join(dir, "default.key"), s.SecretKeyFile, "top-level settings apply to every context")
	require.Equal(t, "warn", s.LogLevel)

	s, err = f.Select("prod")
	require.NoError(t, err)
	require.Equal(t, "postgres://prod/catalog", s.Catalog)
	require.Equal(t, "/etc/tenantctl/prod.key", s.SecretKeyFile, "a context's setting overrides the top level")
	require.Equal(t, "@hourly", s.Scheduler["audit_schedule"])

	_, err = f.Select("nope")
	require.ErrorIs(t, err, ErrUnknownContext)
	require.ErrorIs(t, err, validate.ErrInvalid)
	require.ErrorContains(t, err, "use one of: prod, staging")

	f.CurrentContext = "prod"
	require.NoError(t, Write(path, f))
	again, err := Load(path, true)
	require.NoError(t, err)
	require.Equal(t, "prod", again.CurrentContext)
	require.Len(t, again.Contexts, 2)
}

func TestSetCurrentContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte("# my fleets\ncontexts:\n  dev:\n    catalog: postgres://dev\n  prod:\n    catalog: postgres://prod # the real one\n"), 0o640))
	require.NoError(t, SetCurrentContext(path, "prod"))
	f, err := Load(path, true)
	require.NoError(t, err)
	require.Equal(t, "prod", f.CurrentContext)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), "# the real one", "comments are kept")
	require.NoError(t, SetCurrentContext(path, "dev"))
	f, _ = Load(path, true)
	require.Equal(t, "dev", f.CurrentContext)
	require.ErrorIs(t, SetCurrentContext(path, "staging"), ErrUnknownContext)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

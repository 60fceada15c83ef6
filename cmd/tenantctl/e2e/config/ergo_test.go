package config_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/secret"
)

func writeKey(t *testing.T, dir, name, key string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(key+"\n"), 0o600))
	return p
}

// TestKeyPrecedenceAndCheck: the key follows flag > environment > config file like every
// setting, and a key that is not the catalog's is refused with exit 2 by every command,
// even one that decrypts nothing.
func TestKeyPrecedenceAndCheck(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	good := c.Env["TENANTCTL_SECRET_KEY"]
	dir := t.TempDir()
	wrongFile := writeKey(t, dir, "wrong.key", secret.GenerateKey())
	goodFile := writeKey(t, dir, "good.key", good)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("secret_key_file: wrong.key\n"), 0o600))
	c.Env["TENANTCTL_CONFIG"] = cfg

	// The environment's inline key beats the config file's key file.
	c.MustRun("server", "list")
	c.MustRun("tenant", "list")

	// Without the environment, the file's (wrong) key is refused, by every command.
	delete(c.Env, "TENANTCTL_SECRET_KEY")
	for _, args := range [][]string{{"catalog", "status"}, {"server", "list"}, {"tenant", "list"}, {"jobs"}, {"events"}} {
		c.Expect(2, []string{"is not this catalog's key"}, args...)
	}
	// The flag beats the file; TENANTCTL_SECRET_KEY_FILE beats it too.
	c.MustRun("server", "list", "--secret-key-file", goodFile)
	c.Env["TENANTCTL_SECRET_KEY_FILE"] = goodFile
	c.MustRun("catalog", "status")
	c.Expect(2, []string{"is not this catalog's key"}, "catalog", "status", "--secret-key-file", wrongFile)

	// A key that is not a key at all is refused before anything runs.
	delete(c.Env, "TENANTCTL_SECRET_KEY_FILE")
	c.Env["TENANTCTL_SECRET_KEY"] = "notakey"
	for _, args := range [][]string{{"catalog", "status"}, {"server", "list"}, {"jobs"}} {
		c.Expect(2, []string{"secret key"}, args...)
	}
	c.Env["TENANTCTL_SECRET_KEY_FILE"] = goodFile
	c.Env["TENANTCTL_SECRET_KEY"] = good
	c.Expect(2, []string{"keep one"}, "server", "list")
}

func TestConfigContexts(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	dsn, key := c.Env["TENANTCTL_CATALOG_DSN"], c.Env["TENANTCTL_SECRET_KEY"]
	dir := t.TempDir()
	writeKey(t, dir, "fleet.key", key)
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`# two fleets
secret_key_file: fleet.key
contexts:
  real:
    catalog: `+dsn+`
  nowhere:
    catalog: postgres://u:pw-nowhere-12345@127.0.0.1:1/catalog?connect_timeout=2
`), 0o600))
	c.Env = map[string]string{"TENANTCTL_CONFIG": cfg}
	c.Secrets = append(c.Secrets, "pw-nowhere-12345")

	c.Expect(1, []string{"no current context"}, "config", "current-context")
	out := c.MustRun("config", "get-contexts")
	require.Contains(t, out, "CURRENT")
	require.Contains(t, out, "nowhere")
	require.NotContains(t, out, "*")

	// --context picks one for a command; with no context there is no catalog.
	c.Expect(2, []string{"no catalog configured"}, "server", "list")
	require.Contains(t, c.MustRun("server", "list", "--context", "real"), "pg-a")
	c.Expect(2, []string{`unknown context "prod"`, "use one of: nowhere, real"}, "server", "list", "--context", "prod")

	c.MustRun("config", "use-context", "real")
	require.Equal(t, "real\n", c.MustRun("config", "current-context"))
	require.Contains(t, c.MustRun("server", "list"), "pg-a", "the current context is used by default")
	require.Contains(t, c.MustRun("config", "get-contexts"), "*  ")
	c.Env["TENANTCTL_CONTEXT"] = "nowhere"
	c.Expect(1, []string{"127.0.0.1:1"}, "server", "list")
	require.Equal(t, "nowhere\n", c.MustRun("config", "current-context"), "TENANTCTL_CONTEXT overrides the file")
	delete(c.Env, "TENANTCTL_CONTEXT")
	c.Expect(2, []string{`unknown context "gone"`}, "config", "use-context", "gone")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.Contains(t, string(b), "# two fleets", "use-context keeps the file as written")
	require.Contains(t, string(b), "current_context: real")
}

// TestRotateKeyKilled kills `tenantctl secret rotate-key` mid-way and right after it
// committed; a rerun converges and every credential still works under the new key.
func TestRotateKeyKilled(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	slug := "rot-" + pgtest.RandomSuffix()[:4]
	c.MustRun("tenant", "create", slug, "--name", "Rotated", "--domain", slug+".example")
	c.MustRun("access", "grant", "alice", "--tenant", slug, "--reason", "rotation test")
	old := c.Env["TENANTCTL_SECRET_KEY"]
	dir := t.TempDir()
	oldFile := writeKey(t, dir, "old.key", old)
	bin := e2e.BuildBinary(t)

	connect := func(dsn string) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		conn.Close(context.Background())
	}
	key := old
	for i, crashAt := range []string{"secret.rotate.after-reseal:3", "secret.rotate.after-commit"} {
		next := secret.GenerateKey()
		nextFile := writeKey(t, dir, "next"+string(rune('0'+i))+".key", next)
		cmd := exec.Command(bin, "secret", "rotate-key", "--new-key-file", nextFile)
		cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG="+os.DevNull, "TENANTCTL_FAULT="+crashAt,
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+key)
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "the process must die: %v\n%s", err, out)
		require.Equal(t, "signal: killed", exitErr.String())

		if crashAt == "secret.rotate.after-commit" {
			// Committed: the old key is refused, and a rerun with it says it is done.
			c.Expect(2, []string{"is not this catalog's key"}, "tenant", "list")
			out := c.MustRun("secret", "rotate-key", "--new-key-file", nextFile)
			require.Contains(t, out, "already uses the new key")
		} else {
			// Killed mid-way: nothing changed; the old key still opens everything.
			connect(strings.TrimSpace(c.MustRun("tenant", "dsn", slug)))
			out := c.MustRun("secret", "rotate-key", "--new-key-file", nextFile)
			require.Contains(t, out, "re-sealed")
			require.Contains(t, out, "credentials.secret_sealed 2", "the app and owner passwords")
		}
		c.Expect(2, []string{"is not this catalog's key"}, "tenant", "dsn", slug)
		c.Env["TENANTCTL_SECRET_KEY"] = next
		key = next
		connect(strings.TrimSpace(c.MustRun("tenant", "dsn", slug)))
		connect(strings.TrimSpace(c.MustRun("access", "dsn", "alice", "--tenant", slug)))
		ids := c.MustRun("secret", "key-id")
		require.Equal(t, 2, strings.Count(ids, keyIDOf(t, next)), ids)
	}
	// The fleet still works end to end under the last key: servers' DSNs open.
	slug2 := "rot2-" + pgtest.RandomSuffix()[:4]
	c.MustRun("tenant", "create", slug2, "--name", "After", "--domain", slug2+".example")
	c.Expect(2, []string{"is not this catalog's key"}, "server", "list", "--secret-key-file", oldFile)
	require.Contains(t, c.MustRun("events", "--limit", "50"), "secret.rotate_key")
}

func keyIDOf(t *testing.T, key string) string {
	t.Helper()
	b, err := secret.LoadKey("", key)
	require.NoError(t, err)
	return b.KeyID()
}

// TestResetLostKey: the documented recovery from a lost key ends with a working fleet.
func TestResetLostKey(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	dir := t.TempDir()
	dsnA := c.AddServer("pg-a", 0)
	whDSN := env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(whDSN))
	c.MustRun("warehouse", "init", "--dsn", whDSN)
	slug := "lost-" + pgtest.RandomSuffix()[:4]
	c.MustRun("tenant", "create", slug, "--name", "Lost", "--domain", slug+".example")
	t.Cleanup(func() { c.Run("tenant", "delete", slug, "--confirm", slug, "--purge") })

	newKey := secret.GenerateKey()
	newFile := writeKey(t, dir, "new.key", newKey)
	aFile := filepath.Join(dir, "pg-a.dsn")
	require.NoError(t, os.WriteFile(aFile, []byte(dsnA+"\n"), 0o600))
	whFile := filepath.Join(dir, "warehouse.dsn")
	require.NoError(t, os.WriteFile(whFile, []byte(whDSN+"\n"), 0o600))

	c.Expect(2, []string{"--old-key-lost"}, "secret", "reset-key", "--new-key-file", newFile)
	c.Expect(2, []string{"missing the warehouse"}, "secret", "reset-key", "--new-key-file", newFile, "--old-key-lost",
		"--server-dsn-file", "pg-a="+aFile)
	delete(c.Env, "TENANTCTL_SECRET_KEY") // lost
	out := c.MustRun("secret", "reset-key", "--new-key-file", newFile, "--old-key-lost",
		"--server-dsn-file", "pg-a="+aFile, "--warehouse-dsn-file", whFile)
	require.Contains(t, out, "tenantctl tenant rotate-credentials "+slug)
	c.Env["TENANTCTL_SECRET_KEY_FILE"] = newFile
	c.Expect(1, []string{"no credential stored"}, "tenant", "dsn", slug)
	c.MustRun("tenant", "rotate-credentials", slug)
	dsn := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err, "the reissued password works")
	conn.Close(context.Background())
	c.MustRun("rollup", "run")
	c.Expect(2, []string{"already opens the catalog"}, "secret", "reset-key", "--new-key-file", newFile, "--old-key-lost",
		"--server-dsn-file", "pg-a="+aFile, "--warehouse-dsn-file", whFile)
}

func TestUsageErrorsAndOutputs(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"completion", "tcsh"}, []string{`unknown command "tcsh"`, "bash, fish, powershell or zsh"}},
		{[]string{"tenant", "bogus"}, []string{`unknown command "bogus" for "tenantctl tenant"`}},
		{[]string{"server", "lst"}, []string{`unknown command "lst" for "tenantctl server"`, "list"}},
		{[]string{"bogus"}, []string{`unknown command "bogus"`}},
		{[]string{"server", "list", "-o", "markdown"}, []string{`invalid --output "markdown"`, "text, json or yaml"}},
		{[]string{"server", "list", "-o", "csv"}, []string{"text, json or yaml"}},
	} {
		out, _, _ := c.Run(tc.args...)
		c.Expect(2, tc.want, tc.args...)
		require.Empty(t, out, "%v prints no help on stdout", tc.args)
	}
	help := c.MustRun("tenant")
	require.Contains(t, help, "Available Commands", "a group with no argument still shows its help")

	y := c.MustRun("server", "list", "-o", "yaml")
	var servers []map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(y), &servers), y)
	require.Len(t, servers, 1)
	require.Equal(t, "pg-a", servers[0]["name"])
	js := e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	for k := range js[0] {
		require.Contains(t, servers[0], k, "yaml has the json fields")
	}
	text := c.MustRun("server", "list")
	require.Contains(t, text, "NAME")
	noHeaders := c.MustRun("server", "list", "--no-headers")
	require.NotContains(t, noHeaders, "NAME")
	require.Contains(t, noHeaders, "pg-a")
	require.Equal(t, strings.Count(text, "\n")-1, strings.Count(noHeaders, "\n"))
}

func TestCompletionAndNames(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	sfx := pgtest.RandomSuffix()[:4]
	acme, bravo := "acme-"+sfx, "bravo-"+sfx
	c.MustRun("tenant", "create", acme, "--name", "Acme", "--domain", acme+".example")
	c.MustRun("tenant", "create", bravo, "--name", "Bravo", "--domain", bravo+".example")
	c.MustRun("tenant", "suspend", bravo)
	c.MustRun("access", "grant", "alice", "--tenant", acme, "--reason", "completion test")

	require.Equal(t, []string{acme, bravo}, c.Complete("tenant", "show", ""))
	require.Equal(t, []string{acme}, c.Complete("tenant", "show", "ac"))
	require.Equal(t, []string{bravo}, c.Complete("tenant", "resume", ""), "resume offers suspended tenants")
	require.Equal(t, []string{acme}, c.Complete("tenant", "suspend", ""), "suspend offers active tenants")
	require.Empty(t, c.Complete("tenant", "show", acme, ""), "one slug only")
	require.Equal(t, []string{acme, bravo}, c.Complete("events", "--tenant", ""))
	require.Equal(t, []string{"pg-a", "pg-b"}, c.Complete("server", "drain", ""))
	require.Equal(t, []string{"pg-a", "pg-b"}, c.Complete("tenant", "list", "--server", ""))
	require.Equal(t, []string{"alice"}, c.Complete("access", "revoke", ""))
	c.MustRun("operator", "add", "olivia", "--role", "viewer")
	c.MustRun("operator", "add", "oscar", "--role", "admin")
	c.MustRun("operator", "revoke", "oscar")
	require.Equal(t, []string{"olivia"}, c.Complete("operator", "revoke", ""), "active operators' logins")
	require.Contains(t, c.Complete("tenant", "list", "--state", ""), "deleting")
	require.Equal(t, []string{"text", "json", "yaml", "markdown"}, c.Complete("audit", "-o", ""))
	require.Equal(t, []string{"text", "json", "yaml"}, c.Complete("tenant", "list", "-o", ""))

	// Names that name nothing are bad input, not empty tables.
	c.Expect(2, []string{`invalid --state "bogus"`, "provisioning, active, suspended, deleting, failed or purged"}, "tenant", "list", "--state", "bogus")
	c.Expect(2, []string{`tenant "nope-` + sfx + `"`, "tenant not found"}, "events", "--tenant", "nope-"+sfx)
	c.Expect(2, []string{"tenant not found"}, "migrate", "status", "--tenant", "nope-"+sfx)
	c.Expect(2, []string{"tenant not found"}, "rollup", "status", "--tenant", "nope-"+sfx)
	c.Expect(2, []string{"tenant not found"}, "access", "list", "--tenant", "nope-"+sfx)
	c.Expect(2, []string{`server "pg-z"`, "server not found"}, "tenant", "list", "--server", "pg-z")
	c.Expect(2, []string{"invalid slug"}, "events", "--tenant", "Not A Slug")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "--state", "suspended", "-o", "json")), 1)

	// A purged tenant's history stays reachable.
	c.MustRun("access", "revoke", "alice", "--tenant", acme)
	c.MustRun("tenant", "delete", bravo, "--confirm", bravo, "--purge")
	require.Contains(t, c.MustRun("events", "--tenant", bravo), "tenant.purge")
}

func TestDryRuns(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	sfx := pgtest.RandomSuffix()[:4]
	keep, gone := "keep-"+sfx, "gone-"+sfx
	c.MustRun("tenant", "create", keep, "--name", "Keep", "--domain", keep+".example")
	c.MustRun("tenant", "create", gone, "--name", "Gone", "--domain", gone+".example")
	dropped := func(db string) bool {
		t.Helper()
		for _, srv := range e2e.Pair(t) {
			var n int
			require.NoError(t, srv.Conn(t, "postgres").QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, db).Scan(&n))
			if n > 0 {
				return false
			}
		}
		return true
	}
	goneDB := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", gone, "-o", "json"))["database"].(string)
	keepDB := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", keep, "-o", "json"))["database"].(string)
	snapshot := func() string {
		return c.MustRun("tenant", "list", "--state", "deleting", "-o", "json") + c.MustRun("tenant", "list", "-o", "json")
	}

	s0 := snapshot()
	out := c.MustRun("tenant", "delete", keep, "--confirm", keep, "--dry-run")
	require.Contains(t, out, "would be deleted")
	require.Contains(t, out, "nothing was changed")
	out = c.MustRun("tenant", "delete", keep, "--confirm", keep, "--purge", "--dry-run")
	require.Contains(t, out, "drop database t_")
	require.Equal(t, s0, snapshot(), "dry runs change nothing")
	c.Expect(2, []string{"--confirm"}, "tenant", "delete", keep, "--dry-run")

	down := e2e.Decode[map[string]any](t, c.MustRun("migrate", "down", "--tenant", keep, "--dry-run", "-o", "json"))
	require.Equal(t, float64(1), down["from"])
	require.Equal(t, float64(0), down["to"])
	require.Len(t, down["roll_back"], 1)
	require.Equal(t, float64(1), e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", keep, "-o", "json"))["schema_version"])

	c.MustRun("tenant", "delete", gone, "--confirm", gone)
	c.Expect(2, []string{"is active", "delete it first"}, "tenant", "purge", keep, "--confirm", keep, "--dry-run")
	out = c.MustRun("tenant", "purge", gone, "--confirm", gone, "--dry-run")
	require.Contains(t, out, "tenant "+gone)
	plans := e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "purge", "--expired", "--retention", "0s", "--dry-run", "-o", "json"))
	require.Len(t, plans, 1)
	require.Equal(t, gone, plans[0]["slug"])
	require.Contains(t, c.MustRun("tenant", "purge", "--expired", "--dry-run"), "no tenant would be purged", "not yet past the default retention")
	require.False(t, dropped(goneDB), "no database dropped by a dry run")
	require.False(t, dropped(keepDB))

	// Not on a terminal, --expired needs --yes.
	c.Expect(2, []string{"pass --yes", gone}, "tenant", "purge", "--expired", "--retention", "0s")
	require.False(t, dropped(goneDB))
	c.MustRun("tenant", "purge", "--expired", "--retention", "0s", "--yes")
	require.True(t, dropped(goneDB))
	require.False(t, dropped(keepDB))
}

package tenant_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// databases counts t_* databases on both servers.
func databases(t *testing.T) int {
	t.Helper()
	n := 0
	for _, s := range e2e.Pair(t) {
		var k int
		require.NoError(t, s.Conn(t, "postgres").QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE 't\_%'`).Scan(&k))
		n += k
	}
	return n
}

func TestTenantCommands(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	c.Env["TENANTCTL_ACTOR"] = "alice@msp"
	slug := "acme-" + pgtest.RandomSuffix()[:4]
	created := e2e.Decode[map[string]any](t, c.MustRun("tenant", "create", slug, "--name", "Acme Corp", "--domain", strings.ToUpper(slug)+".Example",
		"--contact-email", "it@"+slug+".example", "--label", "zone=zpg-b", "-o", "json"))
	for _, f := range []string{"slug", "id", "name", "domain", "database", "server", "state", "schema_version"} {
		require.Contains(t, created, f)
	}
	require.Equal(t, slug+".example", created["domain"], "domains are normalised to lowercase")
	require.Equal(t, "pg-b", created["server"])
	require.Equal(t, "active", created["state"])
	require.Equal(t, "t_"+created["id"].(string), created["database"])

	dsn := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn))
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err, "tenant dsn works")
	_, err = conn.Exec(context.Background(), `INSERT INTO users (email, full_name) VALUES ($1, 'IT')`, "it@"+slug+".example")
	require.NoError(t, err)
	conn.Close(context.Background())

	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", slug, "-o", "json"))
	stats := show["stats"].(map[string]any)
	require.Equal(t, map[string]any{"users": float64(1), "systems": float64(0), "incidents": float64(0)}, stats["rows"])
	require.Greater(t, stats["size_bytes"].(float64), float64(1<<20))
	text := c.MustRun("tenant", "show", slug)
	require.Contains(t, text, "rows in users")

	list := e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json"))
	require.Len(t, list, 1)
	require.NotContains(t, list[0], "stats")
	var ylist []map[string]any
	y := c.MustRun("tenant", "list", "-o", "yaml")
	require.NoError(t, yaml.Unmarshal([]byte(y), &ylist), "tenant list -o yaml is YAML:\n%s", y)
	require.True(t, strings.HasPrefix(y, "- "), "a YAML sequence, not JSON (which YAML would parse too):\n%s", y)
	require.Len(t, ylist, 1)
	require.Equal(t, slug, ylist[0]["slug"])
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "--state", "suspended", "-o", "json")), 0)

	c.MustRun("tenant", "suspend", slug)
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "--state", "suspended", "-o", "json")), 1)
	c.MustRun("tenant", "resume", slug)
	c.MustRun("tenant", "rotate-credentials", slug)
	newDSN := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(newDSN))
	require.NotEqual(t, dsn, newDSN)

	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "--tenant", slug, "-o", "json"))
	require.Equal(t, "tenant.rotate-credentials", events[0]["action"])
	require.Equal(t, "alice@msp", events[0]["actor"])

	c.Expect(2, []string{"pass --confirm " + slug}, "tenant", "delete", slug)
	c.Expect(2, []string{"pass --confirm " + slug}, "tenant", "delete", slug, "--confirm", "other")
	c.MustRun("tenant", "delete", slug, "--confirm", slug)
	c.Expect(2, []string{"is deleting"}, "tenant", "suspend", slug)
	c.Expect(2, []string{"use either"}, "tenant", "purge")
	out := c.MustRun("tenant", "purge", "--expired", "--retention", "0s", "--yes")
	require.Contains(t, out, "tenant "+slug+" purged")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json")), 0)
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "--state", "purged", "-o", "json")), 1)
}

// TestTenantCreateBadInput is not parallel: it counts databases on the shared servers.
func TestTenantCreateBadInput(t *testing.T) {
	c := e2e.FleetCLI(t)
	slug := "taken-" + pgtest.RandomSuffix()[:4]
	c.MustRun("tenant", "create", slug, "--name", "Taken", "--domain", slug+".example")
	before := databases(t)
	listBefore := c.MustRun("tenant", "list", "-o", "json")
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"invalid slug", []string{"tenant", "create", "No_Caps", "--name", "x", "--domain", "x.example"}},
		{"invalid slug", []string{"tenant", "create", "ab", "--name", "x", "--domain", "x.example"}},
		{"display name", []string{"tenant", "create", "okay-slug", "--name", strings.Repeat("n", 201), "--domain", "x.example"}},
		{"display name", []string{"tenant", "create", "okay-slug", "--domain", "x.example"}},
		{"terminal escape sequences", []string{"tenant", "create", "okay-slug", "--name", "Acme \x1b[2J\x1b[31mOK", "--domain", "x.example"}},
		{"bidirectional text controls", []string{"tenant", "create", "okay-slug", "--name", "Acme \u202egnp.exe", "--domain", "x.example"}},
		{"invalid domain", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "has space.example"}},
		{"invalid domain", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "quo'te.example"}},
		{"invalid domain", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "a..example"}},
		{"invalid domain", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", strings.Repeat("l", 64) + ".example"}},
		{"not under the tenant's domain", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "x.example", "--contact-email", "a@evil.example"}},
		{"already taken", []string{"tenant", "create", slug, "--name", "Other", "--domain", "other.example"}},
		{"email domain " + slug + ".example is already used", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", strings.ToUpper(slug) + ".example"}},
		{"server not found", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "x.example", "--server", "nope"}},
		{"invalid label", []string{"tenant", "create", "okay-slug", "--name", "x", "--domain", "x.example", "--label", "bad"}},
		{"tenant not found", []string{"tenant", "show", "missing"}},
		{"tenant not found", []string{"tenant", "dsn", "missing"}},
	} {
		c.Expect(2, []string{tc.want}, tc.args...)
	}
	require.Equal(t, before, databases(t), "bad input created no database")
	require.Equal(t, listBefore, c.MustRun("tenant", "list", "-o", "json"), "bad input changed no tenant")
}

// TestKilledCreateConverges kills `tenantctl tenant create` with SIGKILL right after
// each provisioning step, then finishes the tenant by rerunning the command or with
// reconcile.
func TestKilledCreateConverges(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	bin := e2e.BuildBinary(t)
	for i, step := range []string{"credentials", "roles", "database", "hardened"} {
		slug := "killed-" + pgtest.RandomSuffix()[:4]
		cmd := exec.Command(bin, "tenant", "create", slug, "--name", "Killed", "--domain", slug+".example")
		cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG="+os.DevNull, "TENANTCTL_FAULT=provision."+step+".after-record",
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "the process must die: %v\n%s", err, out)
		if exitErr.String() != "signal: killed" {
			events, _, _ := c.Run("events", "--tenant", slug)
			t.Fatalf("killed after step %s: %s; output:\n%s\nevents:\n%s", step, exitErr, out, events)
		}

		show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", slug, "-o", "json"))
		require.Equal(t, "provisioning", show["state"])
		if i%2 == 0 {
			c.MustRun("tenant", "create", slug, "--name", "Killed", "--domain", slug+".example")
		} else {
			c.MustRun("reconcile")
		}
		show = e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", slug, "-o", "json"))
		require.Equal(t, "active", show["state"], "converged after a kill at %s", step)
		dsn := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		conn.Close(context.Background())
	}
	plan := e2e.Decode[[]map[string]any](t, c.MustRun("reconcile", "--dry-run", "-o", "json"))
	for _, a := range plan {
		require.NotEqual(t, "finish-provisioning", a["kind"], "nothing left half-made")
	}
}

// TestConcurrentCLICreates starts four `tenant create` processes of one slug and spec at
// once. One creates the tenant; each other either waited behind it and says another run
// created the tenant (exit 0), or came after it had finished and is told the slug is
// taken (exit 2). None claims to resume: nothing was interrupted.
func TestConcurrentCLICreates(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	bin := e2e.BuildBinary(t)
	slug := "dup-" + pgtest.RandomSuffix()[:4]
	type result struct {
		stdout, stderr string
		code           int
	}
	results := make([]result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			cmd := exec.Command(bin, "tenant", "create", slug, "--name", "Dup", "--domain", slug+".example")
			cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG="+os.DevNull, "TENANTCTL_LOG_LEVEL=info",
				"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			r := &results[i]
			r.stdout, r.stderr = out.String(), errOut.String()
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				r.code = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	created, byAnother := 0, 0
	for _, r := range results {
		require.NotContains(t, r.stderr, "resuming", "nothing was interrupted: %+v", r)
		switch {
		case r.code == 0 && strings.Contains(r.stdout, "tenant "+slug+" created on"):
			created++
		case r.code == 0 && strings.Contains(r.stdout, "was created by another run meanwhile"):
			byAnother++
		case r.code == 2 && strings.Contains(r.stderr, "already taken"):
		default:
			t.Fatalf("unexpected result: %+v", r)
		}
	}
	require.Equal(t, 1, created, "exactly one run creates the tenant: %+v", results)
	t.Logf("%d of 3 waited behind the creator", byAnother)
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json")), 1)
}

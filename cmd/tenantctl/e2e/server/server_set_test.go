package server_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// rotatingServer starts a private cluster whose admin role (named like the shared
// servers' one) the test may change the password of, and returns the cluster and the
// admin DSN with password pw.
func rotatingServer(t *testing.T, pw string) (*pgtest.Server, string) {
	t.Helper()
	s := pgtest.Dedicated(t, "rotate", nil)
	s.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", pgtest.AdminRole, pw))
	u, err := url.Parse(s.SuperDSN("postgres"))
	require.NoError(t, err)
	u.User = url.UserPassword(pgtest.AdminRole, pw)
	return s, u.String()
}

func writeDSN(t *testing.T, dsn string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "dsn")
	require.NoError(t, os.WriteFile(f, []byte(dsn+"\n"), 0o600))
	return f
}

// TestServerSet changes a server's admin DSN (a rotated password, another host name),
// refusing another server, and its capacity and labels; and the warehouse's DSN.
func TestServerSet(t *testing.T) {
	t.Parallel()
	env := pgtest.Get(t)
	c := e2e.NewCLI(t)
	role := pgtest.AdminRole
	p1, p2 := "first-"+pgtest.RandomSuffix(), "second-"+pgtest.RandomSuffix()
	c.Secrets = append(c.Secrets, p1, p2)
	rot, dsn1 := rotatingServer(t, p1)
	otherServer := e2e.Pair(t)[1].AdminDSN(t) // the same role on another server
	c.MustRun("server", "add", "pg-a", "--dsn-file", writeDSN(t, dsn1), "--capacity", "5", "--label", "zone=a")
	tn := e2e.CreateTenant(t, c, "pg-a")

	// Refused, nothing changed: another server (its system identifier differs), another
	// role, both or neither source, an empty DSN.
	c.Expect(2, []string{"reaches another server", "system identifier"}, "server", "set", "pg-a", "--dsn-file", writeDSN(t, otherServer))
	c.Expect(2, []string{"logs in as \"postgres\"", "admin role is \"" + role + "\""}, "server", "set", "pg-a", "--dsn-file", writeDSN(t, rot.SuperDSN("postgres")))
	c.Expect(2, []string{"not both"}, "server", "set", "pg-a", "--dsn-file", writeDSN(t, dsn1), "--dsn-stdin")
	_, errOut, code := c.RunStdin("  \n", "server", "set", "pg-a", "--dsn-stdin")
	require.Equal(t, 2, code, errOut)
	c.Expect(2, []string{"server not found"}, "server", "set", "pg-z", "--capacity", "3")
	c.Expect(2, []string{"nothing to set"}, "server", "set", "pg-a")

	// The password rotated: the old DSN no longer logs in, the new one reaches a server
	// holding the tenant's database.
	rot.Exec(t, "postgres", fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", role, p2))
	dsn2 := strings.Replace(dsn1, p1, p2, 1)
	out := c.MustRun("server", "set", "pg-a", "--dsn-file", writeDSN(t, dsn2))
	require.Contains(t, out, "admin DSN changed")
	c.MustRun("tenant", "suspend", tn.Slug)
	c.MustRun("tenant", "resume", tn.Slug)

	// Another host name for the same server (the old DSN still connects: the system
	// identifiers are compared), from stdin.
	dsn3 := strings.Replace(dsn2, "127.0.0.1", "localhost", 1)
	require.NotEqual(t, dsn2, dsn3)
	_, errOut, code = c.RunStdin(dsn3, "server", "set", "pg-a", "--dsn-stdin")
	require.Equal(t, 0, code, errOut)
	srvs := e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Equal(t, "localhost", srvs[0]["host"])
	c.MustRun("tenant", "suspend", tn.Slug)
	c.MustRun("tenant", "resume", tn.Slug)
	events := c.MustRun("events", "-o", "json")
	require.NotContains(t, events, p2)

	// Capacity and labels.
	c.Expect(2, []string{"--capacity 0"}, "server", "set", "pg-a", "--capacity", "0")
	c.MustRun("server", "set", "pg-a", "--capacity", "2000", "--label", "zone=b", "--label", "ssd=yes")
	srvs = e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Equal(t, float64(2000), srvs[0]["capacity"])
	require.Equal(t, map[string]any{"zone": "b", "ssd": "yes"}, srvs[0]["labels"])
	c.MustRun("server", "set", "pg-a", "--label", "ssd-")
	c.Expect(2, []string{"no label \"ssd\""}, "server", "set", "pg-a", "--label", "ssd-")
	srvs = e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Equal(t, map[string]any{"zone": "b"}, srvs[0]["labels"])

	// The warehouse: another host name for it is accepted, another database refused.
	whDB := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(whDB))
	c.MustRun("warehouse", "set", "--dsn-file", writeDSN(t, strings.Replace(env.Control.SuperDSN(whDB), "127.0.0.1", "localhost", 1)))
	require.Contains(t, c.MustRun("warehouse", "dsn"), "localhost")
	other := env.Control.NewDatabase(t, "notwarehouse")
	c.Expect(2, []string{"no tenantctl warehouse schema"}, "warehouse", "set", "--dsn-file", writeDSN(t, env.Control.SuperDSN(other)))
	c.MustRun("tenant", "delete", tn.Slug, "--confirm", tn.Slug, "--purge")
}

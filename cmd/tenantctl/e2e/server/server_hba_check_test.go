package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestServerHBACheck compares a server's effective rules with the printed lines, on a
// cluster of its own (its pg_hba.conf is edited): the same, different, unreadable.
func TestServerHBACheck(t *testing.T) {
	t.Parallel()
	srv := pgtest.Dedicated(t, "hba-check", nil)
	c := e2e.NewCLI(t)
	dsn := srv.AdminDSN(t)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn))
	c.MustRun("server", "add", "hc", "--dsn", dsn)

	out := c.MustRun("server", "hba", "hc", "--check")
	require.Contains(t, out, "hold the lines of 'tenantctl server hba hc' first")
	js := e2e.Decode[map[string]any](t, c.MustRun("server", "hba", "hc", "--check", "-o", "json"))
	require.Equal(t, true, js["same"])

	// A trust line after the lines: the superuser logs in without a password.
	lines := tenantdb.HBALines(pgtest.AdminRole, "")
	srv.SetHBA(t, lines+"host all all all trust\n")
	stdout, stderr, code := c.Run("server", "hba", "hc", "--check")
	require.Equal(t, e2e.ExitViolations, code, "stdout: %s\nstderr: %s", stdout, stderr)
	require.Contains(t, stdout, "differ")
	require.Contains(t, stdout, "host all all all trust")
	require.Contains(t, stdout, "without any password")

	// Older lines: the replication pseudo-database and the shared roles' databases open.
	var legacy []string
	for _, l := range strings.Split(lines, "\n") {
		if !strings.Contains(l, "replication,") {
			legacy = append(legacy, l)
		}
	}
	srv.SetHBA(t, strings.Join(legacy, "\n"))
	stdout, _, code = c.Run("server", "hba", "hc", "--check")
	require.Equal(t, e2e.ExitViolations, code)
	require.Contains(t, stdout, "missing: local replication,tenantctl_logins,tenantctl_template_owner,"+pgtest.AdminRole+" +tenantctl_logins reject")
	require.Contains(t, stdout, "older tenantctl")
	srv.SetHBA(t, lines)
	c.MustRun("server", "hba", "hc", "--check")

	// The admin may not read them: exit 1, naming the grant.
	srv.Exec(t, "postgres", "REVOKE SELECT ON pg_hba_file_rules FROM "+pgtest.AdminRole)
	c.Expect(1, []string{"cannot read the server's effective pg_hba.conf rules", "GRANT SELECT ON pg_catalog.pg_hba_file_rules TO"}, "server", "hba", "hc", "--check")
	srv.Exec(t, "postgres", tenantdb.HBAGrantSQL(pgtest.AdminRole))
	c.MustRun("server", "hba", "hc", "--check")
}

// TestServerSetAllowDatabase declares and withdraws databases; bad input changes
// nothing.
func TestServerSetAllowDatabase(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	require.Contains(t, c.MustRun("server", "set", "pg-a", "--allow-database", "reporting", "--allow-database", "pgbouncer"), "declared reporting, pgbouncer")
	c.MustRun("server", "set", "pg-a", "--allow-database", "reporting") // idempotent
	require.Contains(t, c.MustRun("server", "set", "pg-a", "--disallow-database", "pgbouncer"), "no longer declared: pgbouncer")
	c.Expect(2, []string{"invalid database name"}, "server", "set", "pg-a", "--allow-database", "ok", "--allow-database", strings.Repeat("x", 64))
	c.Expect(2, []string{"server not found"}, "server", "set", "nope", "--allow-database", "reporting")
	c.Expect(2, []string{"nothing to set"}, "server", "set", "pg-a")
	events := c.MustRun("events", "-o", "json")
	require.Contains(t, events, "allow_databases")
	require.NotContains(t, events, `"ok"`, "a refused command records nothing")
}

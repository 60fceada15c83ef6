package tenant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestAccessGrantRevoke(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	ctx := context.Background()
	slug := "acc-" + pgtest.RandomSuffix()[:4]
	other := "acc2-" + pgtest.RandomSuffix()[:4]
	c.MustRun("tenant", "create", slug, "--name", "Access Co", "--domain", slug+".example", "--server", "pg-a")
	c.MustRun("tenant", "create", other, "--name", "Other Co", "--domain", other+".example", "--server", "pg-a")
	app := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(app))
	conn, err := pgx.Connect(ctx, app)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ($1, 'x')`, "x@"+slug+".example")
	require.NoError(t, err)
	conn.Close(ctx)

	c.Expect(2, []string{"invalid login"}, "access", "grant", "Bad Login", "--tenant", slug)
	c.Expect(2, []string{"invalid --level"}, "access", "grant", "alice", "--tenant", slug, "--level", "admin")
	c.Expect(2, []string{"invalid --expires"}, "access", "grant", "alice", "--tenant", slug, "--expires", "yesterday")
	c.Expect(2, []string{"in the past"}, "access", "grant", "alice", "--tenant", slug, "--expires", "2001-01-01T00:00:00Z")
	c.Expect(2, []string{"--reason must not contain", "escape"}, "access", "grant", "alice", "--tenant", slug, "--reason", "INC-1\x1b]8;;http://evil\x07")
	c.Expect(2, []string{"--reason must not contain", "bidirectional"}, "access", "grant", "alice", "--tenant", slug, "--reason", "INC-\u20661")

	g := e2e.Decode[map[string]any](t, c.MustRun("access", "grant", "alice", "--tenant", slug, "--expires", "2h", "--reason", "INC-1", "-o", "json"))
	require.Equal(t, "read", g["level"])
	require.NotContains(t, g["role"], slug, "access roles never name the customer")
	dsn := strings.TrimSpace(c.MustRun("access", "dsn", "alice", "--tenant", slug))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn))
	ro, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	var n int
	require.NoError(t, ro.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n))
	require.Equal(t, 1, n)
	_, err = ro.Exec(ctx, `DELETE FROM users`)
	require.Equal(t, "42501", dbconn.SQLState(err), "read access cannot write")
	ro.Close(ctx)

	// The access reaches only its tenant.
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	otherDB := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", other, "-o", "json"))["database"].(string)
	cfg.Database = otherDB
	_, err = pgx.ConnectConfig(ctx, cfg)
	// The test servers run with the lines of `server hba`: pg_hba.conf refuses before
	// the missing CONNECT privilege would.
	require.Equal(t, "28000", dbconn.SQLState(err), "%v", err)
	require.Contains(t, err.Error(), "pg_hba.conf")

	// Reconcile treats granted access as expected, not as drift.
	for _, a := range e2e.Decode[[]map[string]any](t, c.MustRun("reconcile", "--dry-run", "-o", "json")) {
		require.NotEqual(t, slug, a["tenant"], "reconcile flags granted access: %v", a)
	}
	grants := e2e.Decode[[]map[string]any](t, c.MustRun("access", "list", "--tenant", slug, "-o", "json"))
	require.Len(t, grants, 1)
	// A login whose role name would be alice's is refused, not a raw SQL error.
	c.MustRun("access", "grant", "al.ice", "--tenant", slug)
	c.Expect(2, []string{"would share the role", "al.ice"}, "access", "grant", "al-ice", "--tenant", slug)
	c.MustRun("access", "revoke", "al.ice", "--tenant", slug)

	c.MustRun("access", "grant", "alice", "--tenant", slug, "--level", "write")
	rw, err := pgx.Connect(ctx, strings.TrimSpace(c.MustRun("access", "dsn", "alice", "--tenant", slug)))
	require.NoError(t, err)
	_, err = rw.Exec(ctx, `UPDATE users SET full_name = 'y'`)
	require.NoError(t, err, "write access can write")
	rw.Close(ctx)

	c.MustRun("access", "revoke", "alice", "--tenant", slug)
	_, err = pgx.Connect(ctx, dsn)
	require.Error(t, err, "revoked access cannot log in")
	c.Expect(2, []string{"no access grant"}, "access", "revoke", "alice", "--tenant", slug)
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("access", "list", "-o", "json")), 0)

	// Expired access cannot log in, and reconcile drops it.
	c.MustRun("access", "grant", "carol", "--tenant", slug, "--expires", "1s")
	carol := strings.TrimSpace(c.MustRun("access", "dsn", "carol", "--tenant", slug))
	c.Secrets = append(c.Secrets, e2e.PasswordOf(carol))
	time.Sleep(1500 * time.Millisecond)
	_, err = pgx.Connect(ctx, carol)
	require.Error(t, err, "VALID UNTIL is enforced by the server")
	fixed := false
	for _, a := range e2e.Decode[[]map[string]any](t, c.MustRun("reconcile", "-o", "json")) {
		if a["kind"] == "expired-access" && a["tenant"] == slug {
			fixed = a["applied"] == true
		}
	}
	require.True(t, fixed, "reconcile drops expired access")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("access", "list", "-o", "json")), 0)

	// Deleting a tenant revokes its grants.
	c.MustRun("access", "grant", "bob", "--tenant", slug)
	c.MustRun("tenant", "delete", slug, "--confirm", slug, "--purge")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("access", "list", "-o", "json")), 0)
	var roles int
	require.NoError(t, e2e.Pair(t)[0].Conn(t, "postgres").QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'msp\_bob\_%'`).Scan(&roles))
	require.Zero(t, roles)
}

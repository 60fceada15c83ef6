package tenant_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// TestPoolCommandsAndKills drives the warm pool from the CLI and kills real tenantctl
// processes with SIGKILL while they refill it or claim from it: at chosen steps and at
// random instants. Reconcile (or a rerun) converges every time.
func TestPoolCommandsAndKills(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	t.Cleanup(func() {
		c.Run("server", "set", "pg-a", "--spares", "0")
		c.Run("server", "refill")
	})
	bin := e2e.BuildBinary(t)
	c.Expect(2, []string{"--spares"}, "server", "set", "pg-a")
	c.Expect(2, []string{"invalid --spares"}, "server", "set", "pg-a", "--spares", "-1")
	c.Expect(2, []string{"not found"}, "server", "set", "nope", "--spares", "1")
	c.MustRun("server", "set", "pg-a", "--spares", "2")
	require.Equal(t, e2e.ServerRow{Name: "pg-a", Spares: 2}, c.ServerRow("pg-a"))
	require.Contains(t, c.MustRun("server", "list"), "0/2", "server list shows ready/target spares")

	// Killed right after a spare's database was cloned.
	out, err := c.Subprocess(bin, []string{"TENANTCTL_FAULT=pool.spare.after-database"}, "server", "refill").CombinedOutput()
	require.Error(t, err, "%s", out)
	require.Contains(t, err.Error(), "killed")
	require.Equal(t, 0, c.ServerRow("pg-a").SparesReady)
	c.MustRun("reconcile")
	require.Equal(t, 2, c.ServerRow("pg-a").SparesReady, "reconcile finishes the pool")

	// Killed at random instants while refilling a bigger pool.
	for i := range 4 {
		c.MustRun("server", "set", "pg-a", "--spares", []string{"4", "1", "5", "3"}[i])
		cmd := c.Subprocess(bin, nil, "server", "refill")
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	c.MustRun("reconcile")
	require.Equal(t, e2e.ServerRow{Name: "pg-a", Spares: 3, SparesReady: 3}, c.ServerRow("pg-a"))
	plan := e2e.Decode[[]map[string]any](t, c.MustRun("server", "refill", "--dry-run", "-o", "json"))
	for _, r := range plan {
		require.Zero(t, r["built"], "converged: nothing left to build")
		require.Zero(t, r["dropped"], "converged: nothing left to drop")
		require.Zero(t, r["finished"], "converged: nothing half-built")
	}

	// Killed right after the claim committed: the rerun finishes the tenant.
	slug := "claimed-" + pgtest.RandomSuffix()[:4]
	args := []string{"tenant", "create", slug, "--name", "Claimed", "--domain", slug + ".example", "--server", "pg-a"}
	_, err = c.Subprocess(bin, []string{"TENANTCTL_FAULT=pool.claim.after-claim"}, args...).CombinedOutput()
	require.Error(t, err)
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", slug, "-o", "json"))
	require.Equal(t, "provisioning", show["state"])
	c.MustRun(args...)
	require.Equal(t, 2, c.ServerRow("pg-a").SparesReady, "the claim took a spare and did not refill")

	// Killed at random instants while claiming: rerun converges.
	for i := range 3 {
		slug := "rnd-" + pgtest.RandomSuffix()[:4]
		args := []string{"tenant", "create", slug, "--name", "Random", "--domain", slug + ".example", "--server", "pg-a"}
		cmd := c.Subprocess(bin, nil, args...)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rand.IntN(40)+10*i) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		c.MustRun(args...)
		dsn := strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
		c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn))
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err, "the tenant made after a kill at a random instant works")
		conn.Close(context.Background())
	}
	tenants := e2e.Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json"))
	require.Len(t, tenants, 4, "tenant list shows tenants, never spares")
	c.MustRun("reconcile")
	require.Equal(t, e2e.ServerRow{Name: "pg-a", Spares: 3, SparesReady: 3, Tenants: 4}, c.ServerRow("pg-a"))
}

package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
)

type serverRow struct {
	Name        string `json:"name"`
	Spares      int    `json:"spares"`
	SparesReady int    `json:"spares_ready"`
	Tenants     int    `json:"tenants"`
}

func (c *cli) serverRow(name string) serverRow {
	c.t.Helper()
	for _, s := range decode[[]serverRow](c.t, c.mustRun("server", "list", "-o", "json")) {
		if s.Name == name {
			return s
		}
	}
	c.t.Fatalf("server %s not listed", name)
	return serverRow{}
}

// subprocess starts the built binary against the CLI's catalog.
func (c *cli) subprocess(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append(env, "TENANTCTL_CONFIG=", "TENANTCTL_LOG_LEVEL=error",
		"TENANTCTL_CATALOG_DSN="+c.env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.env["TENANTCTL_SECRET_KEY"])...)
	return cmd
}

// TestPoolCommandsAndKills drives the warm pool from the CLI and kills real tenantctl
// processes with SIGKILL while they refill it or claim from it: at chosen steps and at
// random instants. Reconcile (or a rerun) converges every time.
func TestPoolCommandsAndKills(t *testing.T) {
	t.Parallel()
	c := fleetCLI(t)
	t.Cleanup(func() {
		c.run("server", "set", "pg-a", "--spares", "0")
		c.run("server", "refill")
	})
	bin := buildBinary(t)
	c.expect(2, []string{"--spares"}, "server", "set", "pg-a")
	c.expect(2, []string{"invalid --spares"}, "server", "set", "pg-a", "--spares", "-1")
	c.expect(2, []string{"not found"}, "server", "set", "nope", "--spares", "1")
	c.mustRun("server", "set", "pg-a", "--spares", "2")
	require.Equal(t, serverRow{Name: "pg-a", Spares: 2}, c.serverRow("pg-a"))
	require.Contains(t, c.mustRun("server", "list"), "0/2", "server list shows ready/target spares")

	// Killed right after a spare's database was cloned.
	out, err := c.subprocess(bin, []string{"TENANTCTL_FAULT=pool.spare.after-database"}, "server", "refill").CombinedOutput()
	require.Error(t, err, "%s", out)
	require.Contains(t, err.Error(), "killed")
	require.Equal(t, 0, c.serverRow("pg-a").SparesReady)
	c.mustRun("reconcile")
	require.Equal(t, 2, c.serverRow("pg-a").SparesReady, "reconcile finishes the pool")

	// Killed at random instants while refilling a bigger pool.
	for i := range 4 {
		c.mustRun("server", "set", "pg-a", "--spares", []string{"4", "1", "5", "3"}[i])
		cmd := c.subprocess(bin, nil, "server", "refill")
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	c.mustRun("reconcile")
	require.Equal(t, serverRow{Name: "pg-a", Spares: 3, SparesReady: 3}, c.serverRow("pg-a"))
	plan := decode[[]map[string]any](t, c.mustRun("server", "refill", "--dry-run", "-o", "json"))
	for _, r := range plan {
		require.Zero(t, r["built"], "converged: nothing left to build")
		require.Zero(t, r["dropped"], "converged: nothing left to drop")
		require.Zero(t, r["finished"], "converged: nothing half-built")
	}

	// Killed right after the claim committed: the rerun finishes the tenant.
	slug := "claimed-" + pgtest.RandomSuffix()[:4]
	args := []string{"tenant", "create", slug, "--name", "Claimed", "--domain", slug + ".example", "--server", "pg-a"}
	_, err = c.subprocess(bin, []string{"TENANTCTL_FAULT=pool.claim.after-claim"}, args...).CombinedOutput()
	require.Error(t, err)
	show := decode[map[string]any](t, c.mustRun("tenant", "show", slug, "-o", "json"))
	require.Equal(t, "provisioning", show["state"])
	c.mustRun(args...)
	require.Equal(t, 2, c.serverRow("pg-a").SparesReady, "the claim took a spare and did not refill")

	// Killed at random instants while claiming: rerun converges.
	for i := range 3 {
		slug := "rnd-" + pgtest.RandomSuffix()[:4]
		args := []string{"tenant", "create", slug, "--name", "Random", "--domain", slug + ".example", "--server", "pg-a"}
		cmd := c.subprocess(bin, nil, args...)
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rand.IntN(40)+10*i) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		c.mustRun(args...)
		dsn := strings.TrimSpace(c.mustRun("tenant", "dsn", slug))
		c.secrets = append(c.secrets, passwordOf(dsn))
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err, "the tenant made after a kill at a random instant works")
		conn.Close(context.Background())
	}
	tenants := decode[[]map[string]any](t, c.mustRun("tenant", "list", "-o", "json"))
	require.Len(t, tenants, 4, "tenant list shows tenants, never spares")
	c.mustRun("reconcile")
	require.Equal(t, serverRow{Name: "pg-a", Spares: 3, SparesReady: 3, Tenants: 4}, c.serverRow("pg-a"))
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo runs the README's first command end to end on its own clusters: a fresh
// machine with no catalog configured gets a working, migrated, audited fleet, and a
// second run changes nothing.
func TestDemo(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "tenantctl-demo-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	t.Cleanup(func() { os.RemoveAll(base) })
	cfg := filepath.Join(base, ".tenantctl", "config.yaml")
	c := &cli{t: t, env: map[string]string{"TENANTCTL_CONFIG": cfg}}
	t.Cleanup(func() { c.run("dev", "down", "--purge") })

	out := c.mustRun("demo")
	require.Contains(t, out, "created: [acme globex initech]")
	require.Contains(t, out, "3 tenant(s) migrated")
	require.Contains(t, out, "Isolation audit PASSED")
	require.Contains(t, out, "26 row(s) copied", "the demo rolls every seeded row up")
	require.Contains(t, out, "cross-tenant summary, from the warehouse")
	require.Contains(t, out, "'tenantctl serve' and open http://127.0.0.1:8080", "the demo ends by saying how to open the console")
	require.Regexp(t, `initech\s+Initech LLC\s+4\s+3\s+2\s+1`, out, "the summary counts each customer's own rows")

	tenants := decode[[]map[string]any](t, c.mustRun("tenant", "list", "-o", "json"))
	require.Len(t, tenants, 3)
	servers := map[any]int{}
	for _, tn := range tenants {
		require.Equal(t, float64(2), tn["schema_version"], "the demo rolled out its migration")
		servers[tn["server"]]++
	}
	require.Len(t, servers, 2, "the demo spreads tenants over both servers")
	show := decode[map[string]any](t, c.mustRun("tenant", "show", "initech", "-o", "json"))
	rows := show["stats"].(map[string]any)["rows"].(map[string]any)
	require.Equal(t, float64(4), rows["users"], "seeded through the tenant's own credentials")

	again := c.mustRun("demo")
	require.Contains(t, again, "created: []  seeded: []")
	require.Contains(t, again, "0 tenant(s) migrated, 3 already current")
}

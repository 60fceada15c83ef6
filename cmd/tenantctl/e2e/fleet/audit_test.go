package fleet_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// TestAuditCommand does not call t.Parallel: it runs while no parallel test is
// creating tenants on the shared servers. Its verdicts are still scoped to its own
// tenants (--tenant), since a fleet-wide audit reports every t_* database on a server
// that its catalog does not know, and other tests' fleets share these servers.
func TestAuditCommand(t *testing.T) {
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	c.AddServer("pg-a", 0)
	wh := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(wh))
	sfx := pgtest.RandomSuffix()
	acme, bravo := "acme-"+sfx, "bravo-"+sfx
	var dbAcme string
	for _, slug := range []string{acme, bravo} {
		tn := e2e.Decode[map[string]any](t, c.MustRun("tenant", "create", slug, "--name", strings.ToUpper(slug[:1])+slug[1:5]+" Industries",
			"--domain", slug+".example", "--server", "pg-a", "-o", "json"))
		if slug == acme {
			dbAcme = tn["database"].(string)
		}
		t.Cleanup(func() { c.Run("tenant", "delete", slug, "--confirm", slug, "--purge") })
	}

	// A clean tenant passes, in every format.
	rep := e2e.Decode[map[string]any](t, c.MustRun("audit", "--tenant", acme, "-o", "json"))
	for _, field := range []string{"passed", "tenants", "checks", "violations"} {
		require.Contains(t, rep, field)
	}
	require.Equal(t, true, rep["passed"])
	require.Equal(t, float64(1), rep["tenants"])
	require.Greater(t, rep["checks"].(float64), float64(10))
	require.Equal(t, []any{}, rep["violations"])
	require.Contains(t, c.MustRun("audit", "--tenant", acme), "Isolation audit PASSED")

	// PUBLIC gets CONNECT on acme's database: exit 3 (violations), named with the tenant, no "Error:".
	e2e.Pair(t)[0].Exec(t, "postgres", "GRANT CONNECT ON DATABASE "+dbAcme+" TO PUBLIC")
	stdout, stderr, code := c.Run("audit", "--tenant", acme, "-o", "json")
	require.Equal(t, 3, code, stderr)
	require.NotContains(t, stderr, "Error:")
	rep = e2e.Decode[map[string]any](t, stdout)
	require.Equal(t, false, rep["passed"])
	violations := rep["violations"].([]any)
	require.Len(t, violations, 1, stdout)
	v := violations[0].(map[string]any)
	require.Equal(t, "db.public_acl", v["check"])
	require.Equal(t, "critical", v["severity"])
	require.Equal(t, acme, v["tenant"])
	require.Contains(t, v["detail"], "PUBLIC holds CONNECT on database "+dbAcme)

	text, _, code := c.Run("audit", "--tenant", acme)
	require.Equal(t, 3, code)
	require.Contains(t, text, "Isolation audit FAILED: 1 violations (1 critical)")
	require.Contains(t, text, "db.public_acl")
	require.Contains(t, text, "No change since run #")

	// Markdown to a file, for the auditor; the verdict goes to stderr.
	dir := t.TempDir()
	md := filepath.Join(dir, "audit.md")
	stdout, stderr, code = c.Run("audit", "--tenant", acme, "-o", "markdown", "--out", md)
	require.Equal(t, 3, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "FAILED: 1 violations")
	report, err := os.ReadFile(md)
	require.NoError(t, err)
	for _, want := range []string{"# Tenant isolation audit", "| Result | **FAILED**", "## Checks run", "## Results per tenant",
		"`" + acme + "`", "## Violations", "`db.public_acl`", "Evidence: PUBLIC holds CONNECT on database " + dbAcme, "## Servers", "SHA-256 of the JSON report"} {
		require.Contains(t, string(report), want)
	}

	// JSON to a file: its SHA-256 is the one the history records.
	js := filepath.Join(dir, "audit.json")
	_, _, code = c.Run("audit", "--tenant", acme, "-o", "json", "--out", js, "--no-probes")
	require.Equal(t, 3, code)
	b, err := os.ReadFile(js)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	history := e2e.Decode[[]map[string]any](t, c.MustRun("audit", "history", "-o", "json"))
	require.Len(t, history, 6)
	require.Equal(t, hex.EncodeToString(sum[:]), history[0]["report_sha256"])
	require.Equal(t, acme, history[0]["scope"])
	require.Equal(t, false, history[0]["passed"])
	require.Equal(t, false, history[0]["probes"])
	require.Equal(t, float64(1), history[0]["violations"])

	// Repaired: passes again and says what changed.
	e2e.Pair(t)[0].Exec(t, "postgres", "REVOKE ALL ON DATABASE "+dbAcme+" FROM PUBLIC")
	text = c.MustRun("audit", "--tenant", acme)
	require.Contains(t, text, "Isolation audit PASSED")
	require.Contains(t, text, "0 new, 1 resolved")
	require.Contains(t, text, "- critical db.public_acl "+acme)
	list := c.MustRun("audit", "history")
	require.Contains(t, list, "REPORT SHA-256")
	require.Contains(t, list, "+0 -1")

	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "audit", jobs[0]["job"])
	require.Equal(t, "succeeded", jobs[0]["status"])
	require.Equal(t, "audit", jobs[1]["job"])
	require.Equal(t, "failed", jobs[1]["status"])

	// The whole fleet of this catalog: both tenants probed; none of ours fails.
	stdout, _, code = c.Run("audit", "-o", "json")
	require.Contains(t, []int{0, 3}, code)
	rep = e2e.Decode[map[string]any](t, stdout)
	require.Equal(t, float64(2), rep["tenants"])
	for _, v := range rep["violations"].([]any) {
		require.NotContains(t, []string{acme, bravo}, v.(map[string]any)["tenant"], stdout)
	}

	// Bad usage changes nothing and exits 2.
	c.Expect(2, []string{"invalid slug"}, "audit", "--tenant", "Not A Slug")
	c.Expect(2, []string{"tenant not found"}, "audit", "--tenant", "nobody-"+sfx)
	c.Expect(2, []string{"takes no arguments"}, "audit", "extra")
	c.Expect(2, []string{`invalid --output "csv"`, "use text, json, yaml or markdown"}, "audit", "-o", "csv")
	c.Expect(2, []string{"--probe-neighbours"}, "audit", "--probe-neighbours", "0")
	require.Len(t, e2e.Decode[[]map[string]any](t, c.MustRun("audit", "history", "-o", "json")), 8)
}

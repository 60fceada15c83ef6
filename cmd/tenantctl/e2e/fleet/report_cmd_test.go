package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/root"
	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestReportCommand(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	c.AddServer("pg-a", 0)
	wh := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(wh))
	for _, slug := range []string{"acme", "globex"} {
		ten := e2e.Decode[map[string]any](t, c.MustRun("tenant", "create", slug, "--name", strings.ToUpper(slug), "--domain", slug+".example", "-o", "json"))
		e2e.Pair(t)[0].Exec(t, "t_"+ten["id"].(string),
			`INSERT INTO users (email, full_name) SELECT 'u' || g || '@`+slug+`.example', 'User ' || g FROM generate_series(1, 3) g`,
			`INSERT INTO incidents (title, priority, opened_at) VALUES ('`+slug+` printer on fire', 1, now() - interval '2 days')`)
	}
	c.MustRun("rollup", "run")

	md := c.MustRun("report", "--tenant", "acme")
	require.Contains(t, md, "# Service desk report: ACME")
	require.Contains(t, md, "| 3 | 0 | 0 | 0 | 1 |", "users, admins, systems, systems in service, open incidents")
	require.Contains(t, md, "acme printer on fire")
	require.NotContains(t, md, "globex printer on fire")

	dir := t.TempDir()
	out := c.MustRun("report", "--tenant", "acme", "--format", "csv", "--out", filepath.Join(dir, "acme.csv"))
	require.Contains(t, out, "written to")
	raw, err := os.ReadFile(filepath.Join(dir, "acme.csv"))
	require.NoError(t, err)
	require.Contains(t, string(raw), "sla_breaches,")

	all := filepath.Join(dir, "share")
	require.Contains(t, c.MustRun("report", "--all", "--out-dir", all, "--format", "html"), "2 report(s) written")
	ran := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "report", ran[0]["job"], "report --all is a recorded job run")
	require.Equal(t, map[string]any{"reports": float64(2)}, ran[0]["counts"])
	for _, slug := range []string{"acme", "globex"} {
		raw, err := os.ReadFile(filepath.Join(all, slug+"-report.html"))
		require.NoError(t, err)
		require.Contains(t, string(raw), slug+" printer on fire")
	}

	// Bad input: exit 2, nothing written.
	spec := filepath.Join(dir, "leaky.yaml")
	require.NoError(t, os.WriteFile(spec, []byte("queries:\n  - name: everyone\n    sql: SELECT title FROM incidents\n"), 0o644))
	c.Expect(2, []string{"does not bind the tenant id"}, "report", "--tenant", "acme", "--report-spec", spec)
	c.Expect(2, []string{"invalid report format"}, "report", "--tenant", "acme", "--format", "pdf")
	c.Expect(2, []string{"--all needs --out-dir"}, "report", "--all")
	c.Expect(2, []string{"give --tenant SLUG"}, "report")
	c.Expect(2, []string{"tenant not found"}, "report", "--tenant", "nobody")
	c.Expect(2, []string{"--report-schedule needs --report-dir"}, "scheduler", "--report-schedule", "@hourly")

	// The scheduler's report job delivers the same files to a directory.
	share := filepath.Join(dir, "weekly")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- root.Run(ctx, []string{"scheduler", "--listen", "-", "--node", "reports",
			"--report-schedule", "@every 1s", "--report-dir", share, "--report-format", "md",
			"--migrate-schedule", "off", "--rollup-schedule", "off", "--audit-schedule", "off",
			"--reconcile-schedule", "off", "--purge-schedule", "off"},
			strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return c.Env[k] })
	}()
	require.Eventually(t, func() bool {
		for _, j := range e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json")) {
			if j["job"] == "report" && j["node"] == "reports" && j["status"] == "succeeded" {
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond)
	cancel()
	require.Equal(t, 0, <-done)
	raw, err = os.ReadFile(filepath.Join(share, "globex-report.md"))
	require.NoError(t, err)
	require.Contains(t, string(raw), "globex printer on fire")
	c.Expect(2, []string{"invalid report format"}, "scheduler", "--report-schedule", "@hourly", "--report-dir", dir, "--report-format", "pdf")
}

func TestServeCommand(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	token := e2e.Decode[map[string]string](t, c.MustRun("operator", "add", "ops", "--role", "admin", "-o", "json"))["token"]
	c.Secrets = append(c.Secrets, token)
	c.Expect(2, []string{"both --tls-cert and --tls-key"}, "serve", "--tls-cert", "x.pem")
	c.Expect(2, []string{"invalid --wait"}, "serve", "--wait", "soon")

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- root.Run(ctx, []string{"serve", "--listen", addr}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return c.Env[k] })
	}()
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, 20*time.Second, 50*time.Millisecond)
	req, _ := http.NewRequest("GET", base+"/api/v1/servers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"name": "pg-a"`)
	resp, err = http.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "/login?next=%2F", resp.Request.URL.RequestURI(), "the console sends a stranger to the login form")
	probe := c.MustRun("serve", "probe", "--listen", addr)
	require.Contains(t, probe, "200 OK")
	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
	require.Contains(t, stderr.String(), fmt.Sprintf("url=http://%s/", addr))
	require.NotContains(t, stderr.String(), token)
}

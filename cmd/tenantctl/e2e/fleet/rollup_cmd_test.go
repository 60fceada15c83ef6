package fleet_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

func TestRollupRunStatusAndJobs(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	c.AddServer("pg-a", 0)
	c.AddServer("pg-b", 1)
	c.Expect(1, []string{"no warehouse registered", "warehouse init"}, "rollup", "run")
	wh := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(wh))

	ids := map[string]string{}
	for i, slug := range []string{"acme", "globex"} {
		out := c.MustRun("tenant", "create", slug, "--name", slug, "--domain", slug+".example", "--server", []string{"pg-a", "pg-b"}[i], "-o", "json")
		ten := e2e.Decode[map[string]any](t, out)
		ids[slug] = ten["id"].(string)
		e2e.Pair(t)[i].Exec(t, "t_"+ids[slug],
			`INSERT INTO users (email, full_name) SELECT 'u' || g || '@`+slug+`.example', 'User ' || g FROM generate_series(1, 10) g`,
			`INSERT INTO incidents (title) SELECT 'incident ' || g FROM generate_series(1, 25) g`)
	}

	out := c.MustRun("rollup", "run")
	require.Contains(t, out, "rollup: 2 tenants, 2 ok, 0 failed, 0 skipped; 70 rows copied, 0 deleted")
	require.Contains(t, out, "acme")

	e2e.Pair(t)[0].Exec(t, "t_"+ids["acme"], `DELETE FROM incidents WHERE id <= 5`, `UPDATE users SET role = 'admin' WHERE id = 1`)
	res := e2e.Decode[map[string]any](t, c.MustRun("rollup", "run", "--tenant", "acme", "-o", "json"))
	counts := res["counts"].(map[string]any)
	require.Equal(t, float64(1), counts["tenants_ok"])
	require.Equal(t, float64(1), counts["rows_copied"])
	require.Equal(t, float64(5), counts["rows_deleted"])

	st := e2e.Decode[[]map[string]any](t, c.MustRun("rollup", "status", "-o", "json"))
	require.Len(t, st, 6)
	rows := map[string]float64{}
	for _, s := range st {
		for _, field := range []string{"slug", "table", "rows", "last_run", "last_error"} {
			require.Contains(t, s, field)
		}
		require.NotNil(t, s["last_run"])
		require.Equal(t, "", s["last_error"])
		rows[s["slug"].(string)+"."+s["table"].(string)] = s["rows"].(float64)
	}
	require.Equal(t, map[string]float64{"acme.users": 10, "acme.systems": 0, "acme.incidents": 20,
		"globex.users": 10, "globex.systems": 0, "globex.incidents": 25}, rows)
	text := c.MustRun("rollup", "status", "--tenant", "globex")
	require.Contains(t, text, "LAST RUN")
	require.NotContains(t, text, "acme")

	// The warehouse answers cross-tenant questions with the tenant dimension.
	conn := env.Control.Conn(t, wh)
	var incidents int64
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT count(*) FROM incidents i JOIN tenantctl.tenants t ON t.id = i.tenant_id WHERE t.slug = 'globex'`).Scan(&incidents))
	require.Equal(t, int64(25), incidents)

	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "rollup", jobs[0]["job"])
	require.Equal(t, "succeeded", jobs[0]["status"])
	require.Equal(t, float64(5), jobs[0]["counts"].(map[string]any)["rows_deleted"])
}

func TestRollupSpecErrorsAndFailures(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	c.AddServer("pg-a", 0)
	wh := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(wh))
	c.MustRun("tenant", "create", "initech", "--name", "Initech", "--domain", "initech.example")

	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	c.Expect(2, []string{"invalid rollup spec"}, "rollup", "run", "--rollup-spec", write("bad.yaml", "tables: [\n"))
	c.Expect(2, []string{"invalid SQL identifier"}, "rollup", "run", "--rollup-spec", write("ident.yaml", "tables:\n  - name: \"users; drop\"\n    key: [id]\n"))
	c.Expect(2, []string{"read rollup spec"}, "rollup", "run", "--rollup-spec", filepath.Join(dir, "missing.yaml"))
	c.Expect(2, []string{"tenant not found"}, "rollup", "run", "--tenant", "nobody")
	c.Expect(2, []string{"--concurrency"}, "rollup", "run", "--concurrency", "0")
	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Empty(t, jobs, "bad input records no job run")

	// A table the tenant does not have: the tenant fails with a clear error, exit 1.
	missing := write("missing-table.yaml", "tables:\n  - name: users\n    key: [id]\n  - name: invoices\n    key: [id]\n")
	out, errOut, code := c.Run("rollup", "run", "--rollup-spec", missing)
	require.Equal(t, 1, code, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, "table invoices does not exist in the tenant database")
	require.Contains(t, out, "1 failed")
	st := e2e.Decode[[]map[string]any](t, c.MustRun("rollup", "status", "-o", "json"))
	require.NotEmpty(t, st)
	for _, s := range st {
		require.Contains(t, s["last_error"], "invoices")
	}
	jobs = e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "failed", jobs[0]["status"])
	require.Contains(t, jobs[0]["error"], "invoices")

	// The default spec works, and clears the error.
	c.MustRun("rollup", "run")
	for _, s := range e2e.Decode[[]map[string]any](t, c.MustRun("rollup", "status", "-o", "json")) {
		if s["table"] != "invoices" {
			require.Equal(t, "", s["last_error"])
		}
	}
	// The warehouse lets no tenant role in: PUBLIC has nothing on the tables rollup made.
	conn, err := dbconn.Connect(context.Background(), env.Control.SuperDSN(wh))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var grants int64
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
		WHERE n.nspname = 'public' AND a.grantee = 0`).Scan(&grants))
	require.Zero(t, grants)
}

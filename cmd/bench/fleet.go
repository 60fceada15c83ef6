package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/tenantdb"
)

const benchMigration = `-- +goose Up
ALTER TABLE incidents ADD COLUMN bench_note text;
-- +goose Down
ALTER TABLE incidents DROP COLUMN bench_note;
`

// benchTenant is a tenant as `tenant list -o json` prints it, as far as the bench needs.
type benchTenant struct{ Slug, Database string }

// listTenants lists the fleet's tenants through the CLI.
func (h *harness) listTenants(ctx context.Context) ([]benchTenant, error) {
	list, err := h.run(ctx, "tenant list", "tenant", "list", "-o", "json")
	if err != nil {
		return nil, err
	}
	var tenants []benchTenant
	if err := json.Unmarshal(list.out, &tenants); err != nil {
		return nil, err
	}
	return tenants, nil
}

// fleetTenants returns the fleet's tenant databases, creating tenants up to n with a
// batch file (not timed).
func (h *harness) fleetTenants(ctx context.Context, n int) ([]string, error) {
	tenants, err := h.listTenants(ctx)
	if err != nil {
		return nil, err
	}
	if missing := n - len(tenants); missing > 0 {
		var b strings.Builder
		for range missing {
			s := slug("f")
			fmt.Fprintf(&b, "%s,Fleet %s,%s.example,pg-a\n", s, s, s)
		}
		file := filepath.Join(h.dir, "fleet.csv")
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		h.logf("creating %d tenants for the fleet sections", missing)
		if _, err := h.run(ctx, "tenant create --from-file", "tenant", "create", "--from-file", file, "--concurrency", "4"); err != nil {
			return nil, err
		}
		return h.fleetTenants(ctx, n)
	}
	dbs := make([]string, len(tenants))
	for i, t := range tenants {
		dbs[i] = t.Database
	}
	return dbs, nil
}

func (h *harness) dsnFor(db string) string {
	u, _ := url.Parse(h.adminDSN)
	u.Path = "/" + db
	return u.String()
}

// migration: one small migration over the fleet, tenantctl against the goose CLI in an
// xargs -P4 loop over as many clones of the same template; then both again with nothing
// to do.
func (h *harness) migration(ctx context.Context, r *report) error {
	dbs, err := h.fleetTenants(ctx, r.Sizes.Tenants)
	if err != nil {
		return err
	}
	k := len(dbs)
	dir, err := h.benchMigrations()
	if err != nil {
		return err
	}
	// The raw side: k clones of the same template, migrated by goose as the admin role.
	admin, err := pgx.Connect(ctx, h.adminDSN)
	if err != nil {
		return err
	}
	var raw []string
	for i := range k {
		name := fmt.Sprintf("bench_mig_%d", i)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+h.template+" STRATEGY FILE_COPY"); err != nil {
			admin.Close(ctx)
			return err
		}
		raw = append(raw, h.dsnFor(name))
	}
	admin.Close(ctx)
	list := filepath.Join(h.dir, "raw-dsns.txt")
	if err := os.WriteFile(list, []byte(strings.Join(raw, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	goose := fmt.Sprintf("xargs -P4 -I{} %s -dir %s postgres {} up < %s > /dev/null", h.goose, dir, list)

	runGoose := func() (timed, error) { return h.shell(ctx, "goose (raw)", goose) }
	runMigrate := func() (timed, error) {
		return h.run(ctx, "migrate up", "migrate", "up", "--concurrency", "4", "--per-server", "4")
	}
	// Each side twice, in turn: once with the migration to apply, once with nothing left.
	var got [4]measurement
	for i, step := range []struct {
		name string
		fn   func() (timed, error)
	}{
		{"goose CLI, xargs -P4 (raw)", runGoose},
		{"migrate up --concurrency 4 --per-server 4", runMigrate},
		{"goose CLI, xargs -P4, nothing to do (raw)", runGoose},
		{"migrate up, nothing to do", runMigrate},
	} {
		s := h.sampleConns(ctx)
		t, err := step.fn()
		peak := s.Stop()
		m := measurement{Section: "fleet migration", Name: step.name, Ops: k, Conc: 4, TotalMS: ms(t.d), PerOpMS: ms(t.d) / float64(k), PeakConns: peak}
		h.logf("%s: %.0f ms (%.1f ms per tenant)", step.name, m.TotalMS, m.PerOpMS)
		got[i] = r.add(m)
		if err != nil {
			return err
		}
	}
	gooseUp, ours, gooseNoop, noop := got[0], got[1], got[2], got[3]
	r.compare("migrate up, one migration over the fleet", ours, gooseUp, total, 1.0, "≤ 1.0× goose -P4")
	r.compare("migrate up with nothing pending", noop, gooseNoop, total, 1.0, "(no target; for scale)")
	r.absolute("migrate up no-op, per tenant", noop, noop.PerOpMS, 5, "< 5 ms per tenant")
	return nil
}

// audit: the isolation audit with and without login probes, against one psql
// connection per database running the audit's own inspection statements, 4 at once
// (and, for scale, one catalog query per database).
func (h *harness) audit(ctx context.Context, r *report) error {
	dbs, err := h.fleetTenants(ctx, r.Sizes.Tenants)
	if err != nil {
		return err
	}
	k := len(dbs)
	// The sections before this one leave their raw baselines' databases and roles on
	// the tenant server (bench_<id> from provisioning's psql script, bench_mig_<n> from
	// the goose loop): no fleet holds them, and the audit would rightly report each
	// (server.databases) and inspect each (server.bridges), timing another fleet than
	// the one measured. They are dropped first, so the audit is timed on a fleet that
	// is tenants and tenantctl's own databases only, as a fresh fleet is.
	if n, err := h.dropBaselines(ctx); err != nil {
		return err
	} else if n > 0 {
		h.logf("dropped %d databases of the raw baselines before the audit", n)
	}
	var lines []string
	for _, db := range dbs {
		lines = append(lines, h.dsnFor(db))
	}
	list := filepath.Join(h.dir, "audit-dsns.txt")
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	// The baseline an operator would script: one psql per database, four at once,
	// running the statements the audit sends to each tenant database (the same SQL,
	// tenantdb.InspectionScript), and nothing else — not the audit's reads once per
	// server, its catalog reads or its checks of what was read. The single catalog
	// query it used to run is still measured, for scale.
	script := filepath.Join(h.dir, "audit-inspection.sql")
	if err := os.WriteFile(script, []byte(tenantdb.InspectionScript()), 0o600); err != nil {
		return err
	}
	raw := fmt.Sprintf("xargs -P4 -I{} %s -X -q -At -v ON_ERROR_STOP=1 -f %s {} < %s > /dev/null", PSQL, script, list)
	query := `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_extension e ON false WHERE n.nspname NOT LIKE 'pg_%'`
	rawOne := fmt.Sprintf("xargs -P4 -I{} %s -X -q -At -c \"%s\" {} < %s > /dev/null", PSQL, query, list)
	run := func(name string, fn func() (timed, error)) (measurement, error) {
		s := h.sampleConns(ctx)
		t, err := fn()
		peak := s.Stop()
		m := measurement{Section: "audit", Name: name, Ops: k, Conc: 4, TotalMS: ms(t.d), PerOpMS: ms(t.d) / float64(k), PeakConns: peak, PeakRSSKiB: t.rssKiB}
		h.logf("%s: %.0f ms", name, m.TotalMS)
		return r.add(m), err
	}
	rawOneM, err := run("psql per database, one catalog query, xargs -P4 (raw)", func() (timed, error) { return h.shell(ctx, "psql (raw audit)", rawOne) })
	if err != nil {
		return err
	}
	rawM, err := run("psql per database, the audit's inspection statements, xargs -P4 (raw)", func() (timed, error) { return h.shell(ctx, "psql (raw audit)", raw) })
	if err != nil {
		return err
	}
	auditRun := func(args ...string) func() (timed, error) {
		return func() (timed, error) {
			out := filepath.Join(h.dir, "audit.json")
			t, err := h.run(ctx, "audit", append([]string{"audit", "-o", "json", "--out", out}, args...)...)
			if err != nil && strings.Contains(err.Error(), "exit status") && !strings.Contains(err.Error(), "exit status 2") {
				// violations (exit 1 or 3) still time the audit; they are reported below,
				// with the checks that fired, so a run can tell a finding from a defect
				r.Notes = append(r.Notes, "audit reported violations: "+firstLine(err.Error())+": "+auditFindings(out))
				return t, nil
			}
			return t, err
		}
	}
	noProbes, err := run("audit --no-probes", auditRun("--no-probes", "--concurrency", "4", "--per-server", "4"))
	if err != nil {
		return err
	}
	withProbes, err := run("audit (with login probes)", auditRun("--concurrency", "4", "--per-server", "4"))
	if err != nil {
		return err
	}
	r.compare("audit without probes", noProbes, rawM, total, 1.2, "≤ 1.2× psql per database")
	r.compare("audit without probes vs one catalog query per database (for scale)", noProbes, rawOneM, total, 1e9, "(the raw loop reads far less than the audit)")
	r.compare("audit with probes (for scale)", withProbes, rawM, total, 1e9, "(probes log in as each tenant: no raw equivalent)")
	if k >= 1000 {
		r.absolute("audit without probes, 1,000 tenants", noProbes, noProbes.TotalMS, 30000, "< 30 s")
	}
	return nil
}

// dropBaselines drops, as the superuser, the databases and roles the raw baselines of
// earlier sections made on the tenant server (named bench_…; tenantctl names its own
// t_… and tenantctl_…), and returns how many databases it dropped.
func (h *harness) dropBaselines(ctx context.Context) (int, error) {
	conn, err := pgx.Connect(ctx, h.server.DSN("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dbs, roles []string
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(datname::text ORDER BY 1), '{}') FROM pg_database WHERE datname LIKE 'bench\_%'`).Scan(&dbs); err != nil {
		return 0, err
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(rolname::text ORDER BY 1), '{}') FROM pg_roles WHERE rolname LIKE 'bench\_%'`).Scan(&roles); err != nil {
		return 0, err
	}
	for _, db := range dbs {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			return 0, err
		}
	}
	for _, role := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
			return 0, err
		}
	}
	return len(dbs), nil
}

// auditFindings summarises an audit's JSON report: each check that fired, how many
// times, and the first finding's detail.
func auditFindings(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no report: " + err.Error()
	}
	var rep struct {
		Violations []struct {
			Check  string `json:"check"`
			Tenant string `json:"tenant"`
			Detail string `json:"detail"`
		} `json:"violations"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return "unreadable report: " + err.Error()
	}
	var order []string
	count := map[string]int{}
	first := map[string]string{}
	for _, v := range rep.Violations {
		if count[v.Check] == 0 {
			order = append(order, v.Check)
			first[v.Check] = v.Tenant + ": " + v.Detail
		}
		count[v.Check]++
	}
	var parts []string
	for _, c := range order {
		parts = append(parts, fmt.Sprintf("%s ×%d (e.g. %s)", c, count[c], first[c]))
	}
	return strings.Join(parts, "; ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// catalogReads: the read commands with the catalog holding BENCH_CATALOG_ROWS tenants,
// against the real psql listing the same table.
func (h *harness) catalogReads(ctx context.Context, r *report) error {
	n := r.Sizes.CatalogRows
	if _, err := h.fleetTenants(ctx, 1); err != nil { // a real tenant to show (BENCH_SECTIONS may skip the others)
		return err
	}
	have, err := superQuery[int64](ctx, h.control, "catalog", `SELECT count(*) FROM tenants`)
	if err != nil {
		return err
	}
	if missing := int64(n) - have; missing > 0 {
		h.logf("adding %d catalog rows", missing)
		// On a registered but draining server, so placement and fleet jobs leave them be.
		if err := superExec(ctx, h.control, "catalog",
			// The sealed DSN is pg-a's: the catalog refuses one not sealed with its key.
			`INSERT INTO servers (name, dsn_sealed, host, port, admin_role, version_num, capacity, draining)
			 SELECT 'bench-paper', dsn_sealed, '192.0.2.1', 5432, 'nobody', 150000, 1000000, true FROM servers WHERE name = 'pg-a'
			 ON CONFLICT DO NOTHING`,
			fmt.Sprintf(`INSERT INTO tenants (id, slug, name, domain, state, step, server, schema_version)
			 SELECT substr(translate(md5('bench' || g), '0189', 'wxyz'), 1, 10), 'paper-' || g, 'Paper ' || g, 'paper' || g || '.example',
			        'active', 'warehouse', 'bench-paper', 2
			 FROM generate_series(1, %d) g`, missing), "ANALYZE tenants"); err != nil {
			return err
		}
	}
	if err := h.setSpares(ctx, 2); err != nil {
		return err
	}
	list, err := h.run(ctx, "tenant list", "tenant", "list", "--server", "pg-a", "-o", "json")
	if err != nil {
		return err
	}
	var mine []struct{ Slug string }
	if err := json.Unmarshal(list.out, &mine); err != nil || len(mine) == 0 {
		return fmt.Errorf("no real tenant to show: %w", err)
	}
	const reps = 5
	cmds := []struct {
		name string
		args func() []string
	}{
		{"tenant list -o json", func() []string { return []string{"tenant", "list", "-o", "json"} }},
		{"tenant list", func() []string { return []string{"tenant", "list"} }},
		{"tenant show (catalog + live stats)", func() []string { return []string{"tenant", "show", mine[0].Slug, "-o", "json"} }},
		{"migrate status -o json", func() []string { return []string{"migrate", "status", "-o", "json"} }},
		{"catalog status", func() []string { return []string{"catalog", "status", "-o", "json"} }},
		{"server list", func() []string { return []string{"server", "list", "-o", "json"} }},
		{"tenant create, pool hit (placement included)", func() []string {
			s := slug("cat")
			return []string{"tenant", "create", s, "--name", "Catalog " + s, "--domain", s + ".example"}
		}},
	}
	u, _ := url.Parse(h.control.DSN("catalog"))
	pw, _ := u.User.Password()
	rawEnv := append(os.Environ(), "PGPASSWORD="+pw)
	rawArgs := []string{"-X", "-q", "-At", "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), "-d", "catalog",
		"-c", "SELECT * FROM tenants WHERE state <> 'purged' ORDER BY slug"}
	durs, _, err := ops(ctx, reps, 1, func(int) (time.Duration, error) {
		t, err := h.exec(ctx, "psql (raw list)", rawEnv, "", PSQL, rawArgs...)
		return t.d, err
	})
	if err != nil {
		return err
	}
	rawM := r.add(measurement{Section: "catalog reads", Name: fmt.Sprintf("psql, every tenant row (raw; %d rows)", n), Ops: reps,
		P50MS: ms(percentile(durs, 0.5)), P95MS: ms(percentile(durs, 0.95)), TotalMS: ms(sum(durs))})
	for _, c := range cmds {
		if c.name == "tenant create, pool hit (placement included)" {
			if err := h.setSpares(ctx, reps+1); err != nil {
				return err
			}
		}
		durs, _, err := ops(ctx, reps, 1, func(int) (time.Duration, error) {
			t, err := h.run(ctx, strings.Fields(c.name)[0]+" "+strings.Fields(c.name)[1], c.args()...)
			return t.d, err
		})
		if err != nil {
			return err
		}
		m := r.add(measurement{Section: "catalog reads", Name: c.name, Ops: reps, P50MS: ms(percentile(durs, 0.5)),
			P95MS: ms(percentile(durs, 0.95)), TotalMS: ms(sum(durs)), Note: strconv.Itoa(n) + " catalog rows"})
		h.logf("%s: p50 %.0f ms", c.name, m.P50MS)
		r.absolute(c.name+" at "+strconv.Itoa(n)+" tenants, p50", m, m.P50MS, 100, "< 100 ms")
		r.compare(c.name+" vs psql listing every row", m, rawM, p50, 1e9, "(for scale)")
	}
	return nil
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

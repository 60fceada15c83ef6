package fleet_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/corpus"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// corpusFleet is a CLI on two logical-capable servers, the corpus's migrations (up to
// version 2 at first) and rollup spec, and a warehouse.
type corpusFleet struct {
	t       *testing.T
	c       *e2e.CLI
	servers map[string]*pgtest.Server
	migDir  string
	wh      *pgx.Conn
}

func newCorpusFleet(t *testing.T) *corpusFleet {
	t.Helper()
	c, servers := e2e.LogicalFleet(t)
	f := &corpusFleet{t: t, c: c, servers: servers, migDir: t.TempDir()}
	for _, name := range []string{"00001_types.sql", "00002_objects.sql"} {
		f.addMigration(name)
	}
	spec := filepath.Join(t.TempDir(), "rollup.yaml")
	require.NoError(t, os.WriteFile(spec, corpus.Spec(), 0o600))
	c.Env["TENANTCTL_TENANT_MIGRATIONS"] = f.migDir
	c.Env["TENANTCTL_ROLLUP_SPEC"] = spec
	env := pgtest.Get(t)
	whDSN := env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
	c.MustRun("warehouse", "init", "--dsn", whDSN)
	f.wh = f.connect(whDSN)
	return f
}

func (f *corpusFleet) addMigration(name string) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "internal", "corpus", "migrations", name))
	require.NoError(f.t, err)
	require.NoError(f.t, os.WriteFile(filepath.Join(f.migDir, name), b, 0o600))
}

func (f *corpusFleet) connect(dsn string) *pgx.Conn {
	f.t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(f.t, err)
	_, err = conn.Exec(context.Background(), "SET TimeZone = 'UTC'")
	require.NoError(f.t, err)
	return conn
}

type corpusTenant struct {
	slug, id string
}

// where returns the tenant's server as the catalog has it.
func (f *corpusFleet) where(slug string) (corpusTenant, *pgtest.Server) {
	f.t.Helper()
	show := e2e.Decode[map[string]any](f.t, f.c.MustRun("tenant", "show", slug, "-o", "json"))
	return corpusTenant{slug: slug, id: show["id"].(string)}, f.servers[show["server"].(string)]
}

// sums reads every relation's row count and checksum in the tenant's database.
func (f *corpusFleet) sums(slug string) map[string]corpus.Sum {
	f.t.Helper()
	tn, srv := f.where(slug)
	conn := f.connect(srv.SuperDSN("t_" + tn.id))
	defer conn.Close(context.Background())
	s, err := corpus.Sums(context.Background(), conn)
	require.NoError(f.t, err)
	return s
}

// requireRolledUp checks that the warehouse holds exactly the tenant's rows of the
// corpus's rolled-up tables.
func (f *corpusFleet) requireRolledUp(slug string) {
	f.t.Helper()
	ctx := context.Background()
	tn, srv := f.where(slug)
	conn := f.connect(srv.SuperDSN("t_" + tn.id))
	defer conn.Close(ctx)
	for _, table := range corpus.RolledUp {
		cols, err := corpus.Columns(ctx, conn, table)
		require.NoError(f.t, err)
		want, err := corpus.TableSum(ctx, conn, table)
		require.NoError(f.t, err)
		got, err := corpus.WarehouseSum(ctx, f.wh, table, tn.id, cols)
		require.NoError(f.t, err)
		require.Equal(f.t, want, got, "tenant %s table %s: the warehouse differs from the tenant", slug, table)
	}
}

// requireAuditClean runs the audit, which must find nothing: the corpus's SECURITY
// DEFINER function is its own owner's (a note), and PUBLIC executes none of its functions.
func (f *corpusFleet) requireAuditClean(step string) {
	f.t.Helper()
	out, errOut, code := f.c.Run("audit", "--no-probes", "-o", "json")
	require.Equal(f.t, 0, code, "audit after %s:\n%s\n%s", step, out, errOut)
	rep := e2e.Decode[map[string]any](f.t, out)
	vs, _ := rep["violations"].([]any)
	require.Empty(f.t, vs, "audit after %s", step)
}

func (f *corpusFleet) exec(slug string, sql string) {
	f.t.Helper()
	tn, srv := f.where(slug)
	conn := f.connect(srv.SuperDSN("t_" + tn.id))
	defer conn.Close(context.Background())
	_, err := conn.Exec(context.Background(), sql)
	require.NoError(f.t, err)
}

// TestCorpusThroughEveryStep takes the corpus schema — every column type and object
// kind tenantctl must carry — through create, migrate up and down, rollup (first copy,
// changes, deletes, rows moved between partitions), a dump move, a logical move,
// export and import, import of a legacy dump with a baseline (too high refused, right,
// wrong and fixed), suspend/resume and purge, comparing every table's row count and
// checksum after each step, with the audit clean throughout.
func TestCorpusThroughEveryStep(t *testing.T) {
	t.Parallel()
	f := newCorpusFleet(t)
	c := f.c
	ctx := context.Background()
	slug := "corpus-" + pgtest.RandomSuffix()[:6]

	// Create at version 2, fill, audit.
	c.MustRun("tenant", "create", slug, "--name", "Corpus", "--domain", slug+".example", "--server", "lg-a")
	f.exec(slug, corpus.Seed())
	v2 := f.sums(slug)
	require.Contains(t, v2, "payment_eu")
	require.NotContains(t, v2, "payment_totals", "never refreshed")
	f.requireAuditClean("create")

	// A legacy copy of it: no goose table, as a customer's own database would be.
	tn, srv := f.where(slug)
	legacyDump := filepath.Join(t.TempDir(), "legacy.dump")
	pgDump, err := exec.LookPath("pg_dump")
	require.NoError(t, err)
	out, err := exec.Command(pgDump, "--format=custom", "--no-owner", "--no-acl", "--exclude-table=public.goose_db_version",
		"--file="+legacyDump, srv.SuperDSN("t_"+tn.id)).CombinedOutput()
	require.NoError(t, err, string(out))

	// Migrate up to 3, down to 2 (the same data, checksum for checksum), up again.
	f.addMigration("00003_film_length.sql")
	c.MustRun("migrate", "up")
	v3 := f.sums(slug)
	require.Equal(t, v2["film"].Rows, v3["film"].Rows)
	c.MustRun("migrate", "down", "--tenant", slug)
	require.Equal(t, v2, f.sums(slug), "after migrate down")
	c.MustRun("migrate", "up")
	require.Equal(t, v3, f.sums(slug), "after migrate up again")
	f.requireAuditClean("migrate")

	// Rollup: first copy, then changes, deletes and rows moved between partitions.
	out2, errOut, code := c.Run("rollup", "run")
	require.Equal(t, 0, code, "%s\n%s", out2, errOut)
	require.Contains(t, errOut, "note: table payment_totals ("+slug+"): materialized view is not populated")
	f.requireRolledUp(slug)
	f.exec(slug, corpus.Changes())
	c.MustRun("rollup", "run")
	f.requireRolledUp(slug)
	changed := f.sums(slug)

	// A dump move, then a logical move back.
	c.MustRun("tenant", "move", slug, "--to", "lg-b", "--keep-source", "0")
	require.Equal(t, changed, f.sums(slug), "after the dump move")
	c.MustRun("tenant", "move", slug, "--to", "lg-a", "--method", "logical", "--keep-source", "0")
	require.Equal(t, changed, f.sums(slug), "after the logical move")
	f.requireAuditClean("moves")

	// Export, and import the export as another customer.
	exported := filepath.Join(t.TempDir(), "corpus.dump")
	c.MustRun("tenant", "export", slug, "--out", exported)
	copySlug := slug + "-copy"
	c.MustRun("tenant", "create", copySlug, "--name", "Corpus copy", "--domain", copySlug+".example", "--from-dump", exported)
	require.Equal(t, changed, f.sums(copySlug), "the import of the export")

	// The legacy dump: refused without a baseline (naming it), refused with one too high
	// (naming what is missing), imported with the right one.
	legacy := slug + "-legacy"
	create := []string{"tenant", "create", legacy, "--name", "Legacy", "--domain", legacy + ".example", "--server", "lg-b", "--from-dump", legacyDump}
	c.Expect(2, []string{"no goose_db_version table", "--baseline N"}, create...)
	c.Expect(1, []string{"up to version 3", "column public.film.length smallint", "undone"}, append(create, "--baseline", "3")...)
	c.MustRun(append(create, "--baseline", "2")...)
	require.Equal(t, v3, f.sums(legacy), "the legacy import, baselined at 2 and migrated to 3")
	f.requireAuditClean("imports")

	// Baselined wrong and fixed without a purge: back to 1 records nothing new and removes
	// 2 and 3, so migrate up fails on objects that exist (naming file, line and
	// statement); baselining at 3 again fixes it.
	dry := e2e.Decode[map[string]any](t, c.MustRun("migrate", "baseline", legacy, "--version", "1", "--dry-run", "-o", "json"))
	require.Equal(t, []any{float64(2), float64(3)}, dry["unrecord"])
	c.MustRun("migrate", "baseline", legacy, "--version", "1")
	out3, errOut2, code2 := c.Run("migrate", "up", "--tenant", legacy)
	require.Equal(t, 1, code2, "%s\n%s", out3, errOut2)
	require.Contains(t, errOut2, `migration 00002_objects.sql failed at line 5 (statement "CREATE TABLE film (")`)
	res := e2e.Decode[map[string]any](t, c.MustRun("migrate", "baseline", legacy, "--version", "3", "-o", "json"))
	require.Equal(t, []any{float64(2), float64(3)}, res["record"])
	st := e2e.Decode[[]migrateStatusRow](t, c.MustRun("migrate", "status", "--tenant", legacy, "--verify", "-o", "json"))
	require.Len(t, st, 1)
	require.Equal(t, int64(3), st[0].Version)
	require.Zero(t, st[0].Pending)
	require.Equal(t, v3, f.sums(legacy))

	// Suspend and resume keep every row.
	c.MustRun("tenant", "suspend", slug)
	c.MustRun("tenant", "resume", slug)
	require.Equal(t, changed, f.sums(slug), "after suspend/resume")

	// Every tenant rolled up, the audit clean, then the copies purged with their rows.
	c.MustRun("rollup", "run")
	for _, s := range []string{slug, copySlug, legacy} {
		f.requireRolledUp(s)
	}
	f.requireAuditClean("rollups")
	copyTn, _ := f.where(copySlug)
	for _, s := range []string{copySlug, legacy} {
		c.MustRun("tenant", "delete", s, "--confirm", s, "--purge")
	}
	var left int64
	require.NoError(t, f.wh.QueryRow(ctx, `SELECT count(*) FROM everything WHERE tenant_id = $1`, copyTn.id).Scan(&left))
	require.Zero(t, left)
	require.Equal(t, changed, f.sums(slug))
	f.requireAuditClean("purge")
}

package move_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// serverIndex maps the CLI's server names to the test environment's servers.
var serverIndex = map[string]int{"pg-a": 0, "pg-b": 1}

// sumsOn reads the tenant's table sums on a server, as the superuser.
func sumsOn(t *testing.T, server, id string) map[string]string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e2e.Pair(t)[serverIndex[server]].SuperDSN("t_"+id))
	require.NoError(t, err)
	// Closed at once: an open session would hold the database when a move drops it.
	defer conn.Close(context.Background())
	return e2e.TableSums(t, conn, "")
}

// appLogin reports whether the tenant's app role can log in on a server, and whether
// its database exists there.
func appLogin(t *testing.T, server, id string) (login, dbExists bool) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e2e.Pair(t)[serverIndex[server]].SuperDSN("postgres"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT coalesce((SELECT rolcanlogin FROM pg_roles WHERE rolname = $1), false),
		EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)`, "t_"+id+"_app", "t_"+id).Scan(&login, &dbExists))
	return login, dbExists
}

func TestTenantMove(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	ctx := context.Background()
	tn := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, tn.DSN, 500)
	c.MustRun("rollup", "run")
	before := sumsOn(t, "pg-a", tn.ID)

	// Bad input changes nothing.
	c.Expect(2, []string{"already on that server"}, "tenant", "move", tn.Slug, "--to", "pg-a")
	c.Expect(2, []string{"server not found"}, "tenant", "move", tn.Slug, "--to", "pg-z")
	c.Expect(2, []string{"invalid --keep-source"}, "tenant", "move", tn.Slug, "--to", "pg-b", "--keep-source", "soon")
	c.Expect(2, []string{"invalid method"}, "tenant", "move", tn.Slug, "--to", "pg-b", "--method", "rsync")
	c.Expect(2, []string{"requires PostgreSQL 16+ with pg_create_subscription or a superuser admin"}, "tenant", "move", tn.Slug, "--to", "pg-b", "--method", "logical")
	c.Expect(2, []string{"tenant not found"}, "tenant", "move", "nobody-here", "--to", "pg-b")
	c.MustRun("access", "grant", "jane", "--tenant", tn.Slug, "--reason", "ticket 42")
	c.Expect(2, []string{"MSP access grants", "access revoke"}, "tenant", "move", tn.Slug, "--to", "pg-b")
	c.MustRun("access", "revoke", "jane", "--tenant", tn.Slug)
	c.Expect(2, []string{"has no move in progress"}, "tenant", "move", tn.Slug, "--rollback")
	plan := e2e.Decode[map[string]any](t, c.MustRun("tenant", "move", tn.Slug, "--to", "pg-b", "--dry-run", "-o", "json"))
	require.Equal(t, "planned", plan["status"])
	require.Greater(t, plan["size_bytes"].(float64), float64(1<<20))
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
	require.Equal(t, "pg-a", show["server"], "a dry run moves nothing")

	// An open session of the app is ended by the move.
	appConn, err := pgx.Connect(ctx, tn.DSN)
	require.NoError(t, err)
	defer appConn.Close(ctx)

	res := e2e.Decode[map[string]any](t, c.MustRun("tenant", "move", tn.Slug, "--to", "pg-b", "--keep-source", "2s", "-o", "json"))
	require.Equal(t, "switched", res["status"])
	require.Greater(t, res["downtime_ns"].(float64), float64(0))
	require.GreaterOrEqual(t, res["tables"].(float64), float64(4), "users, systems, incidents, goose_db_version (and their sequences) verified")
	_, err = appConn.Exec(ctx, "SELECT 1")
	require.Error(t, err, "the app's session on the source was ended")

	show = e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
	require.Equal(t, "pg-b", show["server"])
	require.Equal(t, "active", show["state"])
	require.Equal(t, before, sumsOn(t, "pg-b", tn.ID), "rows and checksums identical after the move")

	// The app's DSN: same user, password and database; only host and port changed.
	newDSN := e2e.DSNOf(c, tn.Slug)
	oldU, _ := url.Parse(tn.DSN)
	newU, _ := url.Parse(newDSN)
	require.Equal(t, oldU.User.String(), newU.User.String())
	require.Equal(t, oldU.Path, newU.Path)
	require.NotEqual(t, oldU.Host, newU.Host)
	conn, err := pgx.Connect(ctx, newDSN)
	require.NoError(t, err, "the app's DSN works after the move")
	_, err = conn.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ('after@`+tn.Slug+`.example', 'After')`)
	require.NoError(t, err, "the app can write on the target")
	_, err = conn.Exec(ctx, `DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY id LIMIT 10)`)
	require.NoError(t, err)
	conn.Close(ctx)
	_, err = pgx.Connect(ctx, tn.DSN)
	require.Error(t, err, "the app cannot log in to the source copy")
	login, exists := appLogin(t, "pg-a", tn.ID)
	require.False(t, login)
	require.True(t, exists, "the source copy is kept for --keep-source")

	// The warehouse resynchronises: the rollup after the move equals the sources.
	c.MustRun("rollup", "run")
	env := pgtest.Get(t)
	var whDB string
	cat := env.Control.Conn(t, strings.TrimPrefix(mustPath(t, c.Env["TENANTCTL_CATALOG_DSN"]), "/"))
	require.NoError(t, cat.QueryRow(ctx, `SELECT database FROM warehouse`).Scan(&whDB))
	require.Equal(t, sumsOn(t, "pg-b", tn.ID), e2e.TableSums(t, env.Control.Conn(t, whDB), tn.ID), "warehouse equals the source after a move")

	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "--tenant", tn.Slug, "-o", "json"))
	var actions []string
	for _, e := range events {
		actions = append(actions, e["action"].(string))
	}
	require.Contains(t, actions, "tenant.move.start")
	require.Contains(t, actions, "tenant.move.switched")
	require.Contains(t, actions, "tenant.move.resumed")

	// The audit knows the kept copy; reconcile reports it as no orphan.
	auditClean(t, c, tn.ID)
	for _, a := range e2e.Decode[[]map[string]any](t, c.MustRun("reconcile", "--dry-run", "-o", "json")) {
		if strings.Contains(a["detail"].(string), tn.ID) {
			require.NotContains(t, []string{"orphan-database", "orphan-role"}, a["kind"], "the kept copy is no orphan")
		}
	}

	// Reconcile drops the source copy once its retention ends.
	time.Sleep(2 * time.Second)
	c.MustRun("reconcile")
	login, exists = appLogin(t, "pg-a", tn.ID)
	require.False(t, exists, "reconcile dropped the expired source copy")
	require.False(t, login)
	auditClean(t, c, tn.ID)
	c.MustRun("audit", "--tenant", tn.Slug)

	// A suspended tenant moves and stays suspended; resuming it works on the target.
	sus := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, sus.DSN, 20)
	c.MustRun("tenant", "suspend", sus.Slug)
	c.MustRun("tenant", "move", sus.Slug, "--to", "pg-b", "--keep-source", "0")
	show = e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", sus.Slug, "-o", "json"))
	require.Equal(t, "suspended", show["state"])
	require.Equal(t, "pg-b", show["server"])
	login, exists = appLogin(t, "pg-b", sus.ID)
	require.True(t, exists)
	require.False(t, login, "a suspended tenant stays unable to log in after its move")
	c.MustRun("tenant", "resume", sus.Slug)
	conn, err = pgx.Connect(ctx, e2e.DSNOf(c, sus.Slug))
	require.NoError(t, err, "resumed on the target")
	conn.Close(ctx)
}

// auditClean runs the fleet-wide audit and checks that no violation concerns these
// tenants. (The test servers are shared by tests running in parallel, each with its
// own catalog: another test's databases are orphans to this catalog.)
func auditClean(t *testing.T, c *e2e.CLI, ids ...string) {
	t.Helper()
	out, _, _ := c.Run("audit", "--no-probes", "-o", "json")
	rep := e2e.Decode[map[string]any](t, out)
	for _, v := range rep["violations"].([]any) {
		d := v.(map[string]any)["detail"].(string)
		for _, id := range ids {
			require.NotContains(t, d, id, "audit violation about a moved tenant")
		}
	}
}

func mustPath(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Path
}

// TestKilledMoveConverges kills `tenantctl tenant move` (SIGKILL, a real subprocess)
// right after each step and at random instants (a sample of them in `make test`, see
// killSample), then reruns the move or reconcile: the tenant ends on exactly one
// server, writable there only, with every row.
func TestKilledMoveConverges(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	bin := e2e.BuildBinary(t)
	tn := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, tn.DSN, 3000)
	want := sumsOn(t, "pg-a", tn.ID)
	where := "pg-a"
	other := map[string]string{"pg-a": "pg-b", "pg-b": "pg-a"}

	kill := func(env []string, delay time.Duration, to string) {
		cmd := exec.Command(bin, "tenant", "move", tn.Slug, "--to", to, "--keep-source", "0")
		cmd.Env = append(os.Environ(), append(env, "TENANTCTL_CONFIG=",
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		if delay > 0 {
			time.Sleep(delay)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			require.Equal(t, "signal: killed", exitErr.String(), out.String())
		}
	}
	check := func(label string) {
		t.Helper()
		show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
		require.Equal(t, "active", show["state"], label)
		where = show["server"].(string)
		login, exists := appLogin(t, where, tn.ID)
		require.True(t, login && exists, "%s: the app can log in where the catalog says", label)
		login, _ = appLogin(t, other[where], tn.ID)
		require.False(t, login, "%s: never writable in two places", label)
		require.Equal(t, want, sumsOn(t, where, tn.ID), "%s: every row is there", label)
		conn, err := pgx.Connect(context.Background(), e2e.DSNOf(c, tn.Slug))
		require.NoError(t, err, label)
		conn.Close(context.Background())
		plan := e2e.Decode[[]map[string]any](t, c.MustRun("reconcile", "--dry-run", "-o", "json"))
		for _, a := range plan {
			require.NotContains(t, []string{"roll-back-move", "finish-move"}, a["kind"], "%s: nothing left half-moved", label)
		}
	}
	// `make test` kills after some steps before the switch and some after it, and at
	// some random instants (see killSample); each settled by a rerun or by reconcile,
	// in turn.
	steps := []string{"planned", "suspended", "target-roles", "copying", "copied", "hardened", "verified", "switched", "resumed"}
	sample := e2e.KillSample(t, 2,
		e2e.Indexes(len(steps), func(i int) bool { return i < 7 }),
		e2e.Indexes(len(steps), func(i int) bool { return i >= 7 }))
	randomKills := 8
	if os.Getenv("FAULTTEST_LONG") != "1" {
		randomKills = 3
	}
	i := 0
	for si, step := range steps {
		if !sample[si] {
			continue
		}
		to := other[where]
		kill([]string{"TENANTCTL_FAULT=move." + step + ".after-record"}, 0, to)
		if i%2 == 0 {
			c.MustRun("tenant", "move", tn.Slug, "--to", to, "--keep-source", "0")
		} else {
			c.MustRun("reconcile")
		}
		i++
		check("killed after " + step)
	}
	// An interrupted move rolled back by the operator.
	to := other[where]
	kill([]string{"TENANTCTL_FAULT=move.hardened.after-record"}, 0, to)
	show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
	require.Equal(t, "moving", show["state"])
	c.Expect(2, []string{"interrupted move to " + to, "--rollback"}, "tenant", "move", tn.Slug, "--to", where)
	c.MustRun("tenant", "move", tn.Slug, "--rollback")
	check("rolled back by the operator")
	require.Equal(t, other[to], where, "the rollback leaves the tenant on its source")
	_, exists := appLogin(t, to, tn.ID)
	require.False(t, exists, "the rollback dropped the target copy")

	for range randomKills {
		to := other[where]
		delay := time.Duration(50+rand.IntN(1500)) * time.Millisecond
		kill(nil, delay, to)
		if i%2 == 0 {
			_, errOut, code := c.Run("tenant", "move", tn.Slug, "--to", to, "--keep-source", "0")
			// A kill after the move finished leaves nothing to resume: the tenant is on
			// the target already.
			require.True(t, code == 0 || strings.Contains(errOut, "already on that server"), errOut)
		} else {
			c.MustRun("reconcile")
		}
		i++
		check(fmt.Sprintf("killed after %s", delay))
	}
}

// TestServerEvacuate empties a server of 20 tenants, resuming after the first run is
// killed, and then removes it.
func TestServerEvacuate(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	bin := e2e.BuildBinary(t)
	var tenants []e2e.TenantRef
	want := map[string]map[string]string{}
	for range 20 {
		tn := e2e.CreateTenant(t, c, "pg-a")
		e2e.Fill(t, tn.DSN, 50)
		tenants = append(tenants, tn)
		want[tn.Slug] = sumsOn(t, "pg-a", tn.ID)
	}
	plan := e2e.Decode[map[string]any](t, c.MustRun("server", "evacuate", "pg-a", "--dry-run", "-o", "json"))
	require.Len(t, plan["tenants"], 20)
	for _, p := range plan["tenants"].([]any) {
		require.Equal(t, "pg-b", p.(map[string]any)["to"])
		require.Equal(t, "planned", p.(map[string]any)["status"])
	}
	servers := e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Equal(t, false, servers[0]["draining"], "a dry run changes nothing")

	// The first run is killed part-way; the second finishes the job.
	cmd := exec.Command(bin, "server", "evacuate", "pg-a", "--keep-source", "0", "--concurrency", "3")
	cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG=", "TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])
	require.NoError(t, cmd.Start())
	time.Sleep(3 * time.Second)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	start := time.Now()
	res := e2e.Decode[map[string]any](t, c.MustRun("server", "evacuate", "pg-a", "--keep-source", "0", "--concurrency", "3", "-o", "json"))
	t.Logf("evacuation of the rest took %s", time.Since(start))
	require.Equal(t, true, res["empty"])
	require.Equal(t, float64(0), res["failed"])
	for _, tn := range tenants {
		show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", tn.Slug, "-o", "json"))
		require.Equal(t, "pg-b", show["server"], tn.Slug)
		require.Equal(t, "active", show["state"], tn.Slug)
		require.Equal(t, want[tn.Slug], sumsOn(t, "pg-b", tn.ID), tn.Slug)
		_, exists := appLogin(t, "pg-a", tn.ID)
		require.False(t, exists, "source copy dropped (--keep-source 0)")
	}
	jobs := e2e.Decode[[]map[string]any](t, c.MustRun("jobs", "-o", "json"))
	require.Equal(t, "evacuate", jobs[0]["job"])
	require.Equal(t, "succeeded", jobs[0]["status"])
	c.MustRun("server", "remove", "pg-a")
	var ids []string
	for _, tn := range tenants {
		ids = append(ids, tn.ID)
	}
	auditClean(t, c, ids...)
}

// TestExportImportRoundTrip exports a customer and imports the archive as a new tenant
// on the other server; bad archives are refused with nothing created.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	ctx := context.Background()
	dir := t.TempDir()
	tn := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, tn.DSN, 300)
	want := sumsOn(t, "pg-a", tn.ID)

	out := dir + "/customer.dump"
	res := e2e.Decode[map[string]any](t, c.MustRun("tenant", "export", tn.Slug, "--out", out, "-o", "json"))
	fi, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, int64(res["bytes"].(float64)), fi.Size())
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the archive is readable by its owner only")
	c.Expect(2, []string{"already exists"}, "tenant", "export", tn.Slug, "--out", out)
	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "--tenant", tn.Slug, "-o", "json"))
	require.Equal(t, "tenant.export", events[0]["action"])
	require.Equal(t, res["sha256"], events[0]["details"].(map[string]any)["sha256"])
	// No MSP role in the archive: neither owners nor grants.
	list, err := exec.Command("/usr/lib/postgresql/15/bin/pg_restore", "--file=-", out).Output()
	require.NoError(t, err)
	script := string(list)
	require.False(t, strings.Contains(script, pgtest.AdminRole), "the archive names no MSP role")
	require.False(t, strings.Contains(script, "GRANT ") || strings.Contains(script, "REVOKE "), "the archive holds no grants")
	for _, line := range strings.Split(script, "\n") {
		if strings.Contains(line, "OWNER TO") {
			require.True(t, strings.HasSuffix(line, "OWNER TO t_"+tn.ID+"_owner;"), "owners are the tenant's own role only: %s", line)
		}
	}

	// Import it as a new customer on the other server.
	slug := "imp-" + pgtest.RandomSuffix()[:6]
	created := e2e.Decode[map[string]any](t, c.MustRun("tenant", "create", slug, "--name", "Imported", "--domain", slug+".example",
		"--server", "pg-b", "--from-dump", out, "-o", "json"))
	require.Equal(t, "active", created["state"])
	require.Equal(t, float64(1), created["schema_version"])
	id := created["id"].(string)
	require.Equal(t, want, sumsOn(t, "pg-b", id), "export then import round-trips the customer's rows")
	dsn := e2e.DSNOf(c, slug)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(dsn))
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ('new@`+slug+`.example', 'New')`)
	require.NoError(t, err, "the imported tenant's app can write")
	conn.Close(ctx)
	var owners []string
	super := e2e.Pair(t)[1].Conn(t, "t_"+id)
	require.NoError(t, super.QueryRow(ctx, `SELECT array_agg(DISTINCT pg_get_userbyid(relowner)) FROM pg_class
		WHERE relnamespace = 'public'::regnamespace`).Scan(&owners))
	require.Equal(t, []string{"t_" + id + "_owner"}, owners, "every restored object belongs to the tenant's owner")
	super.Close(ctx)

	// Refused, with nothing created: not a dump, forbidden content, no goose table.
	before := c.MustRun("tenant", "list", "--state", "purged", "-o", "json")
	text := dir + "/plain.sql"
	require.NoError(t, os.WriteFile(text, []byte("-- a plain script\nCREATE ROLE evil SUPERUSER;\n"), 0o600))
	c.Expect(2, []string{"not a pg_dump custom-format archive", "plain SQL"}, "tenant", "create", "bad-one", "--name", "Bad", "--domain", "bad-one.example", "--from-dump", text)
	evil := e2e.Pair(t)[0].NewDatabase(t, "evil")
	e2e.Pair(t)[0].Exec(t, evil, "CREATE EXTENSION dblink", "CREATE TABLE goose_db_version (id serial, version_id bigint, is_applied boolean, tstamp timestamp)")
	evilDump := dir + "/evil.dump"
	dumpCmd := exec.Command("/usr/lib/postgresql/15/bin/pg_dump", "--format=custom", "--file="+evilDump, e2e.Pair(t)[0].SuperDSN(evil))
	outb, err := dumpCmd.CombinedOutput()
	require.NoError(t, err, string(outb))
	c.Expect(2, []string{"carries objects a tenant database may not hold", "extension dblink"}, "tenant", "create", "bad-two", "--name", "Bad", "--domain", "bad-two.example", "--from-dump", evilDump)
	bare := e2e.Pair(t)[0].NewDatabase(t, "bare")
	e2e.Pair(t)[0].Exec(t, bare, "CREATE TABLE things (id int PRIMARY KEY)")
	bareDump := dir + "/bare.dump"
	outb, err = exec.Command("/usr/lib/postgresql/15/bin/pg_dump", "--format=custom", "--file="+bareDump, e2e.Pair(t)[0].SuperDSN(bare)).CombinedOutput()
	require.NoError(t, err, string(outb))
	c.Expect(2, []string{"no goose_db_version table", "--baseline N"}, "tenant", "create", "bad-three", "--name", "Bad", "--domain", "bad-three.example", "--from-dump", bareDump)
	// Nothing recorded, so nothing made: every database and role is made after the
	// tenant is recorded.
	require.Equal(t, before, c.MustRun("tenant", "list", "--state", "purged", "-o", "json"))
	for _, bad := range []string{"bad-one", "bad-two", "bad-three"} {
		c.Expect(2, []string{"tenant not found"}, "tenant", "show", bad)
		// events accepts any slug the catalog or the event log knows; refused means no
		// tenant row and no event names it.
		c.Expect(2, []string{"tenant not found"}, "events", "--tenant", bad)
	}

	// A purged tenant has nothing to export.
	c.MustRun("tenant", "delete", tn.Slug, "--confirm", tn.Slug, "--purge")
	c.Expect(2, []string{"was purged"}, "tenant", "export", tn.Slug, "--out", dir+"/gone.dump")
	c.MustRun("audit", "--tenant", slug)
}

// TestKilledImportConverges kills an import after each step: rerunning it finishes the
// import, and reconcile undoes it (nothing left on the server).
func TestKilledImportConverges(t *testing.T) {
	t.Parallel()
	c := e2e.FleetCLI(t)
	bin := e2e.BuildBinary(t)
	tn := e2e.CreateTenant(t, c, "pg-a")
	e2e.Fill(t, tn.DSN, 100)
	want := sumsOn(t, "pg-a", tn.ID)
	dump := t.TempDir() + "/customer.dump"
	c.MustRun("tenant", "export", tn.Slug, "--out", dump)
	for i, step := range []string{"import-roles", "import-restored", "import-hardened", "import-migrated"} {
		slug := fmt.Sprintf("imp%d-%s", i, pgtest.RandomSuffix()[:4])
		args := []string{"tenant", "create", slug, "--name", "Imported", "--domain", slug + ".example", "--server", "pg-b", "--from-dump", dump}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "TENANTCTL_CONFIG=", "TENANTCTL_FAULT=import."+step+".after-record",
			"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])
		out, err := cmd.CombinedOutput()
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "the process must die: %v\n%s", err, out)
		show := e2e.Decode[map[string]any](t, c.MustRun("tenant", "show", slug, "-o", "json"))
		require.Equal(t, "importing", show["state"])
		id := show["id"].(string)
		if i%2 == 0 {
			created := e2e.Decode[map[string]any](t, c.MustRun(append(args, "-o", "json")...))
			require.Equal(t, "active", created["state"], "rerun finished the import killed after %s", step)
			require.Equal(t, want, sumsOn(t, "pg-b", id))
		} else {
			c.MustRun("reconcile")
			c.Expect(2, []string{"tenant not found"}, "tenant", "show", slug)
			login, exists := appLogin(t, "pg-b", id)
			require.False(t, login || exists, "reconcile undid the import killed after %s", step)
		}
	}
}

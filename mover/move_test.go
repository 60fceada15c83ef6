package mover_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// moveFleet is a catalog of its own with servers pg-a and pg-b (shared clusters, so each
// test's tenants are its own databases), and one tenant on pg-a with some rows.
type moveFleet struct {
	m          *mover.Mover
	p          *provisioner.Provisioner
	store      *catalog.Store
	catDSN     string
	key        string
	tenant     catalog.Tenant
	sums       []mover.TableSum
	env        *pgtest.Env
	serverByID map[string]int
}

func newMoveFleet(t *testing.T, slug string) *moveFleet {
	t.Helper()
	ctx := context.Background()
	env := pgtest.Get(t)
	f := &moveFleet{env: env, key: pgtest.Key(), serverByID: map[string]int{"pg-a": 0, "pg-b": 1}}
	f.catDSN = env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	_, err := catalog.Init(ctx, f.catDSN)
	require.NoError(t, err)
	f.m, f.p = openMover(t, f.catDSN, f.key)
	f.store = f.p.Store
	for i, name := range []string{"pg-a", "pg-b"} {
		_, err := f.p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(t), Capacity: 100})
		require.NoError(t, err)
	}
	f.tenant, err = f.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "Move " + slug, Domain: slug + ".example", Server: "pg-a"})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = f.p.Delete(context.Background(), provisioner.DeleteOptions{Slug: slug, Confirm: slug, Purge: true})
	})
	// Rows in every kind of table, written as the application writes them.
	f.appExec(t, `INSERT INTO users (email, full_name) VALUES ('a@`+slug+`.example', 'A'), ('b@`+slug+`.example', 'B')`)
	f.appExec(t, `INSERT INTO incidents (title, priority, reporter_id) SELECT 'incident ' || g, 1 + g % 4, (SELECT min(id) FROM users) FROM generate_series(1, 300) g`)
	f.sums = f.checksums(t, "pg-a")
	return f
}

func openMover(t *testing.T, catDSN, key string) (*mover.Mover, *provisioner.Provisioner) {
	t.Helper()
	box, err := secret.LoadKey("", key)
	require.NoError(t, err)
	store, err := catalog.Open(context.Background(), catDSN, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	p := provisioner.New(store, nil)
	t.Cleanup(p.Close)
	return mover.New(p, nil), p
}

// appExec runs a statement through the tenant's own credentials.
func (f *moveFleet) appExec(t *testing.T, sql string) {
	t.Helper()
	ctx := context.Background()
	dsn, err := f.p.AppDSN(ctx, f.tenant.Slug)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err)
}

// appLogin says whether the application's credentials reach its database now.
func (f *moveFleet) appLogin(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	dsn, err := f.p.AppDSN(ctx, f.tenant.Slug)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	return conn.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&n)
}

func (f *moveFleet) checksums(t *testing.T, server string) []mover.TableSum {
	t.Helper()
	srv, err := f.m.Server(context.Background(), server)
	require.NoError(t, err)
	sums, err := mover.Checksums(context.Background(), srv, f.tenant.ID)
	require.NoError(t, err)
	return sums
}

// hasDatabase says whether the tenant's database exists on a server.
func (f *moveFleet) hasDatabase(t *testing.T, server string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, f.env.Servers[f.serverByID[server]].Conn(t, "postgres").QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tenantdb.Database(f.tenant.ID)).Scan(&ok))
	return ok
}

func (f *moveFleet) get(t *testing.T) catalog.Tenant {
	t.Helper()
	tn, err := f.store.GetTenant(context.Background(), f.tenant.Slug)
	require.NoError(t, err)
	return tn
}

// on checks the tenant ended where it should: on server, active, its rows those it had,
// reachable by the application, and its database on that server only.
func (f *moveFleet) on(t *testing.T, server, other, label string) {
	t.Helper()
	tn := f.get(t)
	require.Equal(t, server, tn.Server, label)
	require.Equal(t, catalog.StateActive, tn.State, label)
	require.Equal(t, f.sums, f.checksums(t, server), "%s: the rows are the ones the tenant had", label)
	require.NoError(t, f.appLogin(t), label)
	require.False(t, f.hasDatabase(t, other), "%s: no copy left on %s", label, other)
	open, err := f.store.ListMoves(context.Background(), catalog.MoveFilter{TenantID: tn.ID, Statuses: []string{catalog.MoveMoving, catalog.MoveSwitched}})
	require.NoError(t, err)
	require.Empty(t, open, "%s: no move left open", label)
}

func keep(d time.Duration) *time.Duration { return &d }

// TestMoveRefusesBadInput: every refusal is invalid input and changes nothing.
func TestMoveRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newMoveFleet(t, "mv-refuse")
	ctx := context.Background()
	for _, o := range []mover.MoveOptions{
		{Slug: "Bad Slug", To: "pg-b"},
		{Slug: "mv-refuse"},
		{Slug: "mv-refuse", To: "Bad Server"},
		{Slug: "mv-refuse", To: "pg-b", Method: "rsync"},
		{Slug: "mv-refuse", To: "pg-b", KeepSource: keep(-time.Second)},
	} {
		_, err := f.m.Move(ctx, o)
		require.ErrorIs(t, err, validate.ErrInvalid, "%+v", o)
	}
	_, err := f.m.Move(ctx, mover.MoveOptions{Slug: "mv-refuse", To: "pg-a"})
	require.ErrorIs(t, err, mover.ErrSameServer)
	_, err = f.m.Move(ctx, mover.MoveOptions{Slug: "mv-refuse", To: "pg-z"})
	require.ErrorIs(t, err, catalog.ErrServerNotFound)

	// Access grants hold roles on the current server: revoke them first.
	_, err = f.p.GrantAccess(ctx, provisioner.GrantOptions{Login: "tech1", Slug: "mv-refuse", Level: "read"})
	require.NoError(t, err)
	_, err = f.m.Move(ctx, mover.MoveOptions{Slug: "mv-refuse", To: "pg-b"})
	var held *mover.GrantsHeldError
	require.ErrorAs(t, err, &held)
	require.Equal(t, 1, held.Grants)
	require.ErrorIs(t, err, validate.ErrInvalid)
	require.NoError(t, f.p.RevokeAccess(ctx, "tech1", "mv-refuse"))

	// A dry run plans and changes nothing.
	res, err := f.m.Move(ctx, mover.MoveOptions{Slug: "mv-refuse", To: "pg-b", DryRun: true})
	require.NoError(t, err)
	require.Equal(t, "planned", res.Status)
	require.Equal(t, "pg-a", res.From)
	require.Positive(t, res.SizeBytes)

	moves, err := f.store.ListMoves(ctx, catalog.MoveFilter{TenantID: f.tenant.ID})
	require.NoError(t, err)
	require.Empty(t, moves, "nothing was recorded")
	f.on(t, "pg-a", "pg-b", "after the refusals")
}

// TestMoveThereAndBack moves a tenant to pg-b keeping the source copy, then back with
// none kept: each step's outcome is checked on the servers and in the catalog.
func TestMoveThereAndBack(t *testing.T) {
	t.Parallel()
	f := newMoveFleet(t, "mv-there")
	ctx := context.Background()
	res, err := f.m.Move(ctx, mover.MoveOptions{Slug: "mv-there", To: "pg-b"})
	require.NoError(t, err)
	require.Equal(t, catalog.MoveSwitched, res.Status, "the source is kept: the move stays switched until it is dropped")
	require.True(t, res.Resumed)
	require.NotNil(t, res.KeepSourceUntil)
	require.WithinDuration(t, time.Now().Add(mover.DefaultKeepSource), *res.KeepSourceUntil, time.Minute)
	require.Positive(t, res.Bytes)
	require.Positive(t, res.Downtime)
	var rows int64
	for _, s := range f.sums {
		rows += s.Rows
	}
	require.GreaterOrEqual(t, rows, int64(302), "users and incidents")
	require.Equal(t, rows, res.Rows, "every row copied, verified by count and checksum")
	require.Equal(t, len(f.sums), res.Tables)
	tn := f.get(t)
	require.Equal(t, "pg-b", tn.Server)
	require.Equal(t, f.sums, f.checksums(t, "pg-b"))
	require.NoError(t, f.appLogin(t))
	require.True(t, f.hasDatabase(t, "pg-a"), "the source copy is kept")

	// The kept copy is not the application's: its role there may not log in.
	srcAdmin := f.env.Servers[0].Conn(t, "postgres")
	var canLogin bool
	require.NoError(t, srcAdmin.QueryRow(ctx, `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, tenantdb.AppRole(tn.ID)).Scan(&canLogin))
	require.False(t, canLogin, "the source's app role is NOLOGIN after the switch: never writable in two places")

	// Moving back drops the copy kept on pg-a first (it would take the new copy's name).
	res, err = f.m.Move(ctx, mover.MoveOptions{Slug: "mv-there", To: "pg-a", KeepSource: keep(0)})
	require.NoError(t, err)
	require.Equal(t, catalog.MoveDone, res.Status)
	f.on(t, "pg-a", "pg-b", "moved back with no copy kept")
	events, err := f.store.ListEvents(ctx, "mv-there", 20)
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	require.Contains(t, strings.Join(actions, " "), "tenant.move")
}

// TestMoveHelperProcess is the move a killed-move test runs in a child process (it does
// nothing in a normal run): TENANTCTL_FAULT names where the child dies.
func TestMoveHelperProcess(t *testing.T) {
	catDSN := os.Getenv("MOVER_TEST_CATALOG")
	if catDSN == "" {
		return
	}
	m, _ := openMover(t, catDSN, os.Getenv("MOVER_TEST_KEY"))
	slug := os.Getenv("MOVER_TEST_SLUG")
	var err error
	if file := os.Getenv("MOVER_TEST_IMPORT"); file != "" {
		_, err = m.Import(context.Background(), importOptions(slug, file))
	} else {
		_, err = m.Move(context.Background(), mover.MoveOptions{Slug: slug, To: "pg-b", KeepSource: keep(0)})
	}
	t.Fatalf("the child was to be killed at %s, but it returned: %v", os.Getenv(fault.Env), err)
}

func importOptions(slug, file string) mover.ImportOptions {
	return mover.ImportOptions{CreateOptions: provisioner.CreateOptions{Slug: slug, Name: "Imported " + slug, Domain: slug + ".example", Server: "pg-b"}, File: file}
}

// killMove runs a move to pg-b in a child process that SIGKILLs itself at point.
func (f *moveFleet) killMove(t *testing.T, point string) {
	t.Helper()
	f.kill(t, point, "MOVER_TEST_SLUG="+f.tenant.Slug)
}

// kill runs TestMoveHelperProcess in a child process that SIGKILLs itself at point.
func (f *moveFleet) kill(t *testing.T, point string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMoveHelperProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), "MOVER_TEST_CATALOG="+f.catDSN, "MOVER_TEST_KEY="+f.key, fault.Env+"="+point), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the child should have been killed at %s: %v\n%s", point, err, out)
	require.Equal(t, "signal: killed", exit.String(), string(out))
}

// TestKilledMoveSettles kills a move at points of its state machine and settles it the
// two ways the package offers: a rerun of the move finishes it, reconcile rolls back a
// move that did not switch and finishes one that did. Every kill point of every step is
// the fault suite's (internal/faulttest); these are the step logic's cases.
func TestKilledMoveSettles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		point, step string
		rerun       bool
		// server is where the tenant ends.
		server string
	}{
		{"move.copied.after-record", mover.StepCopied, false, "pg-a"},     // reconcile rolls back
		{"move.hardened.after-record", mover.StepHardened, true, "pg-b"},  // a rerun finishes
		{"move.switched.after-record", mover.StepSwitched, false, "pg-b"}, // reconcile finishes: past the switch only forward
		{"move.suspended.before-record", mover.StepPlanned, true, "pg-b"}, // the step's work done, not recorded: redone
	} {
		t.Run(c.point, func(t *testing.T) {
			t.Parallel()
			f := newMoveFleet(t, "mv-"+strings.ReplaceAll(strings.SplitN(c.point, ".", 3)[1], "-", "")+map[bool]string{true: "-r", false: "-c"}[c.rerun])
			ctx := context.Background()
			f.killMove(t, c.point)

			// Killed: the move is open at the step, the tenant moving and its
			// application shut out.
			open, err := f.store.ListMoves(ctx, catalog.MoveFilter{TenantID: f.tenant.ID, Statuses: []string{catalog.MoveMoving, catalog.MoveSwitched}})
			require.NoError(t, err)
			require.Len(t, open, 1)
			require.Equal(t, c.step, open[0].Step)
			require.Error(t, f.appLogin(t), "the application cannot write during the move")

			// Before the switch, another target is refused while the move is open.
			if c.step != mover.StepSwitched {
				_, err = f.m.Move(ctx, mover.MoveOptions{Slug: f.tenant.Slug, To: "pg-a"})
				var interrupted *mover.InterruptedMoveError
				require.ErrorAs(t, err, &interrupted)
				require.Equal(t, c.step, interrupted.Step)
				require.ErrorIs(t, err, validate.ErrInvalid)
			}

			if c.rerun {
				res, err := f.m.Move(ctx, mover.MoveOptions{Slug: f.tenant.Slug, To: "pg-b", KeepSource: keep(0)})
				require.NoError(t, err)
				require.Equal(t, catalog.MoveDone, res.Status)
			} else {
				plan, err := f.m.Reconcile(ctx, true)
				require.NoError(t, err)
				require.Len(t, plan, 1)
				want := mover.ActRollBackMove
				if c.step == mover.StepSwitched {
					want = mover.ActFinishMove
				}
				require.Equal(t, want, plan[0].Kind)
				require.False(t, plan[0].Applied, "a dry run applies nothing")
				acts, err := f.m.Reconcile(ctx, false)
				require.NoError(t, err)
				require.Len(t, acts, 1)
				require.True(t, acts[0].Applied, acts[0].Error)
				again, err := f.m.Reconcile(ctx, false)
				require.NoError(t, err)
				require.Empty(t, again, "settled: a second reconcile has nothing to do")
			}
			other := map[string]string{"pg-a": "pg-b", "pg-b": "pg-a"}[c.server]
			f.on(t, c.server, other, "killed at "+c.point)
		})
	}
}

// TestExportImportAndAKilledImport exports a tenant and imports the archive as a new
// tenant on the other server: the rows are the same and the new tenant's application
// reaches them. An import killed after its database was made is undone by reconcile
// (nothing kept), and the import run again succeeds. Bad input changes nothing.
func TestExportImportAndAKilledImport(t *testing.T) {
	t.Parallel()
	f := newMoveFleet(t, "mv-export")
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "mv-export.dump")
	_, err := f.m.Export(ctx, mover.ExportOptions{Slug: "mv-export", Out: file})
	require.NoError(t, err)
	_, err = f.m.Export(ctx, mover.ExportOptions{Slug: "mv-export", Out: file})
	require.ErrorIs(t, err, validate.ErrInvalid, "the archive is never overwritten")
	info, err := mover.InspectDump(ctx, file)
	require.NoError(t, err)
	require.Positive(t, info.Version)

	// Not a dump: refused, nothing recorded.
	junk := filepath.Join(t.TempDir(), "junk.dump")
	require.NoError(t, os.WriteFile(junk, []byte("not an archive"), 0o600))
	_, err = f.m.Import(ctx, importOptions("mv-junk", junk))
	require.ErrorIs(t, err, mover.ErrNotDump)
	require.ErrorIs(t, err, validate.ErrInvalid)
	_, err = f.store.GetTenant(ctx, "mv-junk")
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)

	// Killed with its database made and nothing restored: reconcile undoes it.
	f.kill(t, "import.after-create-database", "MOVER_TEST_SLUG=mv-imported", "MOVER_TEST_IMPORT="+file)
	half, err := f.store.GetTenant(ctx, "mv-imported")
	require.NoError(t, err)
	require.Equal(t, catalog.StateImporting, half.State)
	acts, err := f.m.Reconcile(ctx, false)
	require.NoError(t, err)
	require.Len(t, acts, 1)
	require.Equal(t, mover.ActRollBackImport, acts[0].Kind)
	require.True(t, acts[0].Applied, acts[0].Error)
	var exists bool
	require.NoError(t, f.env.Servers[1].Conn(t, "postgres").QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tenantdb.Database(half.ID)).Scan(&exists))
	require.False(t, exists, "the undone import left no database")

	// Run again: the tenant is made, with the exported rows.
	tn, err := f.m.Import(ctx, importOptions("mv-imported", file))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = f.p.Delete(context.Background(), provisioner.DeleteOptions{Slug: "mv-imported", Confirm: "mv-imported", Purge: true})
	})
	require.Equal(t, catalog.StateActive, tn.State)
	require.Equal(t, "pg-b", tn.Server)
	require.Equal(t, info.Version, tn.SchemaVersion)
	srv, err := f.m.Server(ctx, "pg-b")
	require.NoError(t, err)
	sums, err := mover.Checksums(ctx, srv, tn.ID)
	require.NoError(t, err)
	require.Equal(t, f.sums, sums, "the imported tenant holds exactly the exported rows")
	dsn, err := f.p.AppDSN(ctx, "mv-imported")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "the imported tenant's application logs in")
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM incidents`).Scan(&n))
	conn.Close(ctx)
	require.Equal(t, 300, n)
}

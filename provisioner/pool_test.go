package provisioner_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// ownMigrations returns a copy of the embedded tenant schema with a unique comment, so
// the test's templates and spares are its own on the shared servers; extra adds a
// second migration (a newer schema).
func ownMigrations(t *testing.T, extra bool) fs.FS {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../migrations/tenant/00001_service_desk.sql")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/00001_service_desk.sql", append(src, []byte("\n-- "+pgtest.RandomSuffix()+"\n")...), 0o644))
	if extra {
		require.NoError(t, os.WriteFile(dir+"/00002_tags.sql", []byte(`-- +goose Up
ALTER TABLE incidents ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
-- +goose Down
ALTER TABLE incidents DROP COLUMN tags;
`), 0o644))
	}
	return os.DirFS(dir)
}

// poolBundle is a setup whose servers keep warm pools; its spares and templates are
// dropped when the test ends.
func poolSetup(t *testing.T) *testBundle {
	t.Helper()
	b := setup(t)
	b.p.TenantMigrations = ownMigrations(t, false)
	t.Cleanup(func() {
		ctx := context.Background()
		for _, name := range []string{"pg-a", "pg-b"} {
			_ = b.store.SetSpares(ctx, name, 0)
			_ = b.p.EmptyPool(ctx, name)
			if srv, err := b.p.Server(ctx, name); err == nil {
				if tmpls, err := srv.ListTemplates(ctx); err == nil {
					for _, tm := range tmpls {
						if rec, err := b.store.GetServer(ctx, name); err == nil && rec.TemplateDB == tm {
							_ = srv.DropTemplate(ctx, tm)
						}
					}
				}
			}
		}
	})
	return b
}

func readySpares(t *testing.T, b *testBundle, server string) []catalog.Spare {
	t.Helper()
	spares, err := b.store.ListSpares(context.Background(), server)
	require.NoError(t, err)
	var ready []catalog.Spare
	for _, sp := range spares {
		if sp.State == catalog.SpareReady {
			ready = append(ready, sp)
		}
	}
	return ready
}

// requireConverged checks that the server holds exactly the catalog's tenants and
// spares in the tenant namespace of this test's pool, every spare inert.
func requireConverged(t *testing.T, b *testBundle, server string, wantReady int) {
	t.Helper()
	ctx := context.Background()
	spares, err := b.store.ListSpares(ctx, server)
	require.NoError(t, err)
	require.Len(t, spares, wantReady, "only ready spares are left")
	srv, err := b.p.Server(ctx, server)
	require.NoError(t, err)
	for _, sp := range spares {
		require.Equal(t, catalog.SpareReady, sp.State)
		st, err := srv.InspectSpare(ctx, sp.ID)
		require.NoError(t, err)
		require.True(t, st.Database && st.Owner && st.App, "spare %s is whole", sp.ID)
		require.False(t, st.AppLogin, "a spare's app role cannot log in")
		if st.AppPassword != nil {
			require.False(t, *st.AppPassword, "a spare's app role has no password")
		}
	}
}

func TestWarmPoolClaimRefillAndReplace(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	ctx := context.Background()
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 3))

	dry, err := b.p.RefillPool(ctx, "pg-a", true)
	require.NoError(t, err)
	require.Equal(t, []provisioner.PoolResult{{Server: "pg-a", Target: 3, Built: 3}}, dry)
	require.Empty(t, readySpares(t, b, "pg-a"), "a dry run builds nothing")

	res, err := b.p.RefillPool(ctx, "", false)
	require.NoError(t, err)
	require.Equal(t, []provisioner.PoolResult{{Server: "pg-a", Target: 3, Ready: 3, Built: 3}, {Server: "pg-b"}}, res)
	requireConverged(t, b, "pg-a", 3)
	srv, err := b.store.GetServer(ctx, "pg-a")
	require.NoError(t, err)
	require.Equal(t, 3, srv.Spares)
	require.Equal(t, 3, srv.SparesReady)
	require.Equal(t, 0, srv.Tenants, "spares are not tenants")

	spareIDs := map[string]bool{}
	for _, sp := range readySpares(t, b, "pg-a") {
		spareIDs[sp.ID] = true
	}
	tn := b.create(t, "pool-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	require.True(t, spareIDs[tn.ID], "the tenant is made from a spare")
	require.Equal(t, int64(1), tn.SchemaVersion)
	require.Equal(t, provisioner.StepWarehouse, tn.Step)
	var confined bool
	require.NoError(t, b.env.Servers[0].Conn(t, "postgres").QueryRow(ctx, `SELECT pg_has_role($1, $2, 'MEMBER') AND pg_has_role($1, $3, 'MEMBER')`,
		tenantdb.AppRole(tn.ID), tenantdb.GroupRole(tn.ID), tenantdb.LoginsRole).Scan(&confined))
	require.True(t, confined, "a tenant made from a spare is confined by pg_hba.conf like any other")
	conn, err := b.appConnect(t, tn, tn.Database)
	require.NoError(t, err, "the claimed tenant's app logs in")
	_, err = conn.Exec(ctx, `INSERT INTO systems (name, kind) VALUES ('db1', 'server')`)
	require.NoError(t, err, "and writes")
	conn.Close(ctx)
	require.Len(t, readySpares(t, b, "pg-a"), 2, "the claim does not refill")
	list, err := b.store.ListTenants(ctx, catalog.TenantFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1, "spares are not listed as tenants")

	// Reconcile refills and never calls a spare an orphan.
	actions, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	refilled := false
	for _, a := range actions {
		if a.Kind == provisioner.ActOrphanDatabase || a.Kind == provisioner.ActOrphanRole {
			for id := range spareIDs {
				require.NotContains(t, a.Detail, id, "a spare is not an orphan")
			}
		}
		if a.Kind == provisioner.ActRefillPool && a.Server == "pg-a" {
			refilled = true
			require.True(t, a.Applied)
		}
	}
	require.True(t, refilled, "reconcile refills the pool: %+v", actions)
	requireConverged(t, b, "pg-a", 3)

	// A new migration set supersedes the template: the spares are replaced and a
	// create never gets an old-schema spare.
	old := readySpares(t, b, "pg-a")
	b.p.TenantMigrations = ownMigrations(t, true)
	newer := b.create(t, "newer-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	require.Equal(t, int64(2), newer.SchemaVersion, "no stale spare is claimed")
	for _, sp := range old {
		require.NotEqual(t, sp.ID, newer.ID)
	}
	res, err = b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	require.Equal(t, 3, res[0].Dropped)
	require.Equal(t, 3, res[0].Built)
	requireConverged(t, b, "pg-a", 3)
	for _, sp := range readySpares(t, b, "pg-a") {
		require.Equal(t, int64(2), sp.SchemaVersion)
	}
	from := b.create(t, "fromnew-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	require.Equal(t, int64(2), from.SchemaVersion)

	// Spares count against capacity; a lower setting drops the extra ones.
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 1))
	res, err = b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	require.Equal(t, 1, res[0].Ready)
	requireConverged(t, b, "pg-a", 1)
}

func TestConcurrentCreatorsRaceForSpares(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	ctx := context.Background()
	require.NoError(t, b.store.SetSpares(ctx, "pg-b", 4))
	_, err := b.p.RefillPool(ctx, "pg-b", false)
	require.NoError(t, err)
	spareIDs := map[string]bool{}
	for _, sp := range readySpares(t, b, "pg-b") {
		spareIDs[sp.ID] = true
	}
	require.Len(t, spareIDs, 4)

	const creators = 8
	tenants := make([]catalog.Tenant, creators)
	errs := make([]error, creators)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range creators {
		wg.Go(func() {
			<-start
			slug := fmt.Sprintf("race-%d-%s", i, pgtest.RandomSuffix()[:4])
			tenants[i], errs[i] = b.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "Race", Domain: slug + ".example", Server: "pg-b"})
		})
	}
	close(start)
	wg.Wait()
	fromPool := map[string]bool{}
	for i := range creators {
		require.NoError(t, errs[i])
		require.Equal(t, catalog.StateActive, tenants[i].State)
		if spareIDs[tenants[i].ID] {
			require.False(t, fromPool[tenants[i].ID], "a spare is claimed once")
			fromPool[tenants[i].ID] = true
		}
		conn, err := b.appConnect(t, tenants[i], tenants[i].Database)
		require.NoError(t, err)
		conn.Close(ctx)
	}
	require.Len(t, fromPool, 4, "every spare was claimed, by one creator each; the rest took the slow path")
	require.Empty(t, readySpares(t, b, "pg-b"))
}

func TestKilledRefillAndClaimConverge(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	ctx := context.Background()
	for i, step := range []string{provisioner.SpareStepRecorded, provisioner.SpareStepRoles, provisioner.SpareStepDatabase, provisioner.SpareStepHardened} {
		require.NoError(t, b.store.SetSpares(ctx, "pg-a", i+1)) // one more to build each time
		b.p.Hooks.AfterStep = func(s string) error {
			if s == step {
				return provisioner.InjectedFault(s)
			}
			return nil
		}
		_, err := b.p.RefillPool(ctx, "pg-a", false)
		require.Error(t, err, "the refill dies after %s", step)
		b.p.Hooks.AfterStep = nil
		_, err = b.p.RefillPool(ctx, "pg-a", false)
		require.NoError(t, err)
		requireConverged(t, b, "pg-a", i+1)
	}
	// Killed while dropping spares (the target went down).
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 0))
	for _, step := range []string{provisioner.SpareStepRetired, provisioner.SpareStepDropped} {
		b.p.Hooks.AfterStep = func(s string) error {
			if s == step {
				return provisioner.InjectedFault(s)
			}
			return nil
		}
		_, err := b.p.RefillPool(ctx, "pg-a", false)
		require.Error(t, err)
		b.p.Hooks.AfterStep = nil
	}
	_, err := b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	requireConverged(t, b, "pg-a", 0)
	spares, err := b.store.ListSpares(ctx, "")
	require.NoError(t, err)
	require.Empty(t, spares)

	// Killed right after the claim committed: rerun and reconcile both finish it.
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 2))
	_, err = b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	for _, finish := range []string{"rerun", "reconcile"} {
		slug := "claimkill-" + finish[:3] + pgtest.RandomSuffix()[:3]
		b.p.Hooks.AfterStep = func(s string) error {
			if s == provisioner.StepClaimed {
				return provisioner.InjectedFault(s)
			}
			return nil
		}
		o := provisioner.CreateOptions{Slug: slug, Name: "Claim kill", Domain: slug + ".example", Server: "pg-a"}
		_, err := b.p.Create(ctx, o)
		require.Error(t, err)
		b.p.Hooks.AfterStep = nil
		got, err := b.store.GetTenant(ctx, slug)
		require.NoError(t, err)
		require.Equal(t, catalog.StateProvisioning, got.State)
		require.Equal(t, provisioner.StepClaimed, got.Step)
		if finish == "rerun" {
			_, err = b.p.Create(ctx, o)
		} else {
			_, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
		}
		require.NoError(t, err)
		got, err = b.store.GetTenant(ctx, slug)
		require.NoError(t, err)
		require.Equal(t, catalog.StateActive, got.State, "%s after a kill at the claim", finish)
		conn, err := b.appConnect(t, got, got.Database)
		require.NoError(t, err)
		conn.Close(ctx)
	}
}

// TestCreateWhileTemplatesChange: a template dropped between the moment a creator found
// it ready and its clone (a migration run replacing it) does not make the create fail;
// nor do templates dropped and rebuilt under creators at random.
func TestCreateWhileTemplatesChange(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	ctx := context.Background()
	srv, err := b.p.Server(ctx, "pg-b")
	require.NoError(t, err)
	tmpl, err := srv.EnsureTemplate(ctx, b.p.TenantMigrations)
	require.NoError(t, err)
	dropped := 0
	b.p.Hooks.BeforeClone = func(name string) {
		if dropped == 0 {
			dropped++
			require.NoError(t, srv.DropTemplate(ctx, name))
		}
	}
	slug := "tmplgone-" + pgtest.RandomSuffix()[:4]
	tn, err := b.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "T", Domain: slug + ".example", Server: "pg-b"})
	require.NoError(t, err, "the clone is retried after the template is ensured again")
	require.Equal(t, 1, dropped)
	require.Equal(t, int64(1), tn.SchemaVersion)
	b.p.Hooks.BeforeClone = nil

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			_ = srv.DropTemplate(ctx, tmpl.Name)
		}
	})
	for i := range 4 {
		slug := fmt.Sprintf("tmplchg-%d-%s", i, pgtest.RandomSuffix()[:4])
		_, err := b.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "T", Domain: slug + ".example", Server: "pg-b"})
		require.NoError(t, err, "create %d while the template is dropped under it", i)
	}
	close(stop)
	wg.Wait()
}

// TestKeepWarmKeepsTheLockConnection: a long-running serve (KeepWarm) keeps a create's
// lock connection for the next create instead of logging in again, and releases every
// lock it held first: a later create of the same slug is refused at once as taken, not
// told that another run created it, and no advisory lock is left on the catalog.
func TestKeepWarmKeepsTheLockConnection(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	b.p.KeepWarm = true
	ctx := context.Background()
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 3))
	_, err := b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	b.p.WarmClaims(ctx)

	db := b.store.Pool().Config().ConnConfig.Database
	super := b.env.Control.Conn(t, db)
	sessions := func() int64 {
		var n int64
		require.NoError(t, super.QueryRow(ctx, `SELECT sessions FROM pg_stat_database WHERE datname = $1`, db).Scan(&n))
		return n
	}
	advisory := func() int {
		var n int
		require.NoError(t, super.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE l.locktype = 'advisory' AND d.datname = $1`, db).Scan(&n))
		return n
	}
	// The first create may still meet the logins WarmClaims started.
	first := b.create(t, "keep-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	require.Zero(t, advisory(), "no lock is left held after a create")
	before := sessions()
	const creates = 4
	made := []catalog.Tenant{first}
	for i := 0; i < creates; i++ {
		made = append(made, b.create(t, fmt.Sprintf("keep%d-%s", i, pgtest.RandomSuffix()[:4]), func(o *provisioner.CreateOptions) { o.Server = "pg-a" }))
		require.Zero(t, advisory(), "no lock is left held after a create")
	}
	// The pool may add a connection when background work overlaps a create; a login
	// per create would be at least one session each.
	require.Less(t, sessions()-before, int64(creates), "creates reuse the kept lock connection")

	// The claims' passwords were computed between requests: each tenant's app logs in
	// with the password the catalog sealed for it, and no two tenants share one.
	seen := map[string]bool{}
	for _, tn := range made {
		pw, err := b.store.Credential(ctx, tn.ID, "app")
		require.NoError(t, err)
		require.False(t, seen[pw], "a password is handed to one claim only")
		seen[pw] = true
		conn, err := b.appConnect(t, tn, tn.Database)
		require.NoError(t, err, "tenant %s's app logs in", tn.Slug)
		conn.Close(ctx)
	}

	_, outcome, err := b.p.CreateWithOutcome(ctx, provisioner.CreateOptions{Slug: first.Slug, Name: first.Name, Domain: first.Domain, Server: "pg-a"})
	require.ErrorIs(t, err, catalog.ErrTenantExists)
	require.Contains(t, err.Error(), "already taken", "the kept connection holds no create lock: nobody is waited for")
	require.NotContains(t, err.Error(), "another run")
	require.Equal(t, provisioner.Created, outcome)
}

// TestClaimOfThePreferredSpare covers the claim's one-statement form (the spare the
// claimer logged in to ahead) and its fall back to the general claim.
func TestClaimOfThePreferredSpare(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	ctx := context.Background()
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 3))
	_, err := b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	spares := readySpares(t, b, "pg-a")
	require.Len(t, spares, 3)
	hash := spares[0].TemplateHash
	claim := func(slug, prefer string) (catalog.Tenant, error) {
		return b.store.ClaimSpare(ctx, catalog.SpareClaim{
			Tenant: catalog.Tenant{Slug: slug, Name: "Claim " + slug, Domain: slug + ".example", Server: "pg-a",
				Labels: map[string]string{"tier": "gold"}},
			Step: provisioner.StepClaimed, TemplateHash: hash, Password: "app-" + slug, OwnerPassword: "owner-" + slug, Prefer: prefer,
		})
	}

	// The preferred spare, though not the oldest: taken, its passwords sealed under its
	// id, its labels and event recorded.
	newest := spares[len(spares)-1]
	slug := "pref-" + pgtest.RandomSuffix()[:4]
	tn, err := claim(slug, newest.ID)
	require.NoError(t, err)
	require.Equal(t, newest.ID, tn.ID)
	require.Equal(t, newest.SchemaVersion, tn.SchemaVersion)
	got, err := b.store.GetTenant(ctx, slug)
	require.NoError(t, err)
	require.Equal(t, catalog.StateProvisioning, got.State)
	require.Equal(t, provisioner.StepClaimed, got.Step)
	require.Equal(t, map[string]string{"tier": "gold"}, got.Labels)
	pw, err := b.store.Credential(ctx, tn.ID, "app")
	require.NoError(t, err)
	require.Equal(t, "app-"+slug, pw)
	pw, err = b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.Equal(t, "owner-"+slug, pw)
	var events int
	require.NoError(t, b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE tenant_id = $1 AND action = 'tenant.create'`, tn.ID).Scan(&events))
	require.Equal(t, 1, events)

	// A slug already taken: refused, the preferred spare left in the pool.
	left := readySpares(t, b, "pg-a")
	require.Len(t, left, 2)
	_, err = claim(slug, left[0].ID)
	require.ErrorIs(t, err, catalog.ErrTenantExists)
	require.Len(t, readySpares(t, b, "pg-a"), 2, "a refused claim takes no spare")

	// The preferred spare gone (claimed by another): the oldest ready one is taken.
	other, err := claim("pref2-"+pgtest.RandomSuffix()[:4], newest.ID)
	require.NoError(t, err)
	require.Equal(t, left[0].ID, other.ID)
	pw, err = b.store.Credential(ctx, other.ID, "app")
	require.NoError(t, err)
	require.Equal(t, "app-"+other.Slug, pw, "sealed under the id of the spare taken")

	// A preferred spare of another migration set is not taken.
	_, err = b.store.ClaimSpare(ctx, catalog.SpareClaim{
		Tenant: catalog.Tenant{Slug: "pref3-" + pgtest.RandomSuffix()[:4], Name: "x", Domain: "pref3.example", Server: "pg-a"},
		Step:   provisioner.StepClaimed, TemplateHash: "another", Password: "p", Prefer: left[1].ID,
	})
	require.ErrorIs(t, err, catalog.ErrNoSpare)
	require.Len(t, readySpares(t, b, "pg-a"), 1)
}

// TestEarlyClaimCommitsOnlyAfterTheCatalogClaim: with KeepWarm, a create naming its
// server makes the claim's server change on the login kept to the next spare as the
// request comes, inside a transaction left open. Nothing of it is visible before the
// catalog's claim committed (the app role is still NOLOGIN without a password when the
// claim is recorded, the session idle in its transaction); a create refused as taken
// leaves the spare it began on inert; a claim stopped right after the catalog's claim
// leaves the server unchanged and reconcile finishes it.
func TestEarlyClaimCommitsOnlyAfterTheCatalogClaim(t *testing.T) {
	t.Parallel()
	b := poolSetup(t)
	b.p.KeepWarm = true
	ctx := context.Background()
	require.NoError(t, b.store.SetSpares(ctx, "pg-a", 6))
	_, err := b.p.RefillPool(ctx, "pg-a", false)
	require.NoError(t, err)
	b.p.WarmClaims(ctx)
	onA := func(o *provisioner.CreateOptions) { o.Server = "pg-a" }
	first := b.create(t, "early-"+pgtest.RandomSuffix()[:4], onA)
	super := b.env.Servers[0].Conn(t, "postgres")
	// The next claims' logins (two) are made in the background after each claim.
	waitKept := func() {
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, super.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1)`,
				spareDatabases(t, b)).Scan(&n))
			return n == 2
		}, 30*time.Second, 20*time.Millisecond, "the next two claims' logins are kept")
	}

	// Refused as taken: the change begun on the kept login is rolled back.
	waitKept()
	_, err = b.p.Create(ctx, provisioner.CreateOptions{Slug: first.Slug, Name: "Other", Domain: "other.example", Server: "pg-a"})
	require.ErrorIs(t, err, catalog.ErrTenantExists)
	requireConverged(t, b, "pg-a", 5)

	// Seen from the claim's recorded step: the catalog claimed, the server unchanged,
	// the change waiting uncommitted on the claimed database.
	waitKept()
	slug := "early-" + pgtest.RandomSuffix()[:4]
	checked := false
	b.p.Hooks.AfterStep = func(s string) error {
		if s != provisioner.StepClaimed {
			return nil
		}
		tn, err := b.store.GetTenant(ctx, slug)
		require.NoError(t, err)
		var login, password bool
		require.NoError(t, super.QueryRow(ctx, `SELECT rolcanlogin, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = $1`,
			tenantdb.AppRole(tn.ID)).Scan(&login, &password))
		require.False(t, login, "nothing of the claim is committed on the server before the catalog's claim")
		require.False(t, password)
		require.Eventually(t, func() bool {
			var waiting int
			require.NoError(t, super.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'`,
				tn.Database).Scan(&waiting))
			return waiting == 1
		}, 10*time.Second, 10*time.Millisecond, "the claim's change was made ahead, uncommitted")
		checked = true
		return provisioner.InjectedFault(s)
	}
	_, err = b.p.Create(ctx, provisioner.CreateOptions{Slug: slug, Name: "Early", Domain: slug + ".example", Server: "pg-a"})
	require.Error(t, err)
	b.p.Hooks.AfterStep = nil
	require.True(t, checked)
	tn, err := b.store.GetTenant(ctx, slug)
	require.NoError(t, err)
	require.Equal(t, provisioner.StepClaimed, tn.Step)
	var login bool
	require.NoError(t, super.QueryRow(ctx, `SELECT rolcanlogin FROM pg_authid WHERE rolname = $1`, tenantdb.AppRole(tn.ID)).Scan(&login))
	require.False(t, login, "a create stopped after the catalog's claim left the server unchanged")
	_, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)

	// And a claim made ahead commits: the tenant is active, its app logs in, its
	// domain functions answer.
	waitKept()
	made := b.create(t, "early-"+pgtest.RandomSuffix()[:4], onA)
	for _, x := range []catalog.Tenant{first, made} {
		x, err := b.store.GetTenant(ctx, x.Slug)
		require.NoError(t, err)
		require.Equal(t, catalog.StateActive, x.State)
		conn, err := b.appConnect(t, x, x.Database)
		require.NoError(t, err, "tenant %s's app logs in", x.Slug)
		var dom string
		require.NoError(t, conn.QueryRow(ctx, `SELECT public.tenantctl_domain()`).Scan(&dom))
		require.Equal(t, x.Domain, dom)
		conn.Close(ctx)
	}
	requireConverged(t, b, "pg-a", len(spareDatabases(t, b)))
}

func spareDatabases(t *testing.T, b *testBundle) []string {
	t.Helper()
	spares, err := b.store.ListSpares(context.Background(), "pg-a")
	require.NoError(t, err)
	var ids []string
	for _, sp := range spares {
		ids = append(ids, tenantdb.Database(sp.ID))
	}
	return ids
}

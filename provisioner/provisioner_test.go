package provisioner_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 2)) }

type testBundle struct {
	env   *pgtest.Env
	store *catalog.Store
	p     *provisioner.Provisioner
	whDB  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	env := pgtest.Get(t)
	ctx := context.Background()
	dsn := env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	_, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	p := provisioner.New(store, hclog.NewNullLogger())
	t.Cleanup(p.Close)
	for i, name := range []string{"pg-a", "pg-b"} {
		_, err := p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(t), Capacity: 100,
			Labels: []string{"zone=" + name}})
		require.NoError(t, err)
	}
	wh := env.Control.NewDatabase(t, "warehouse")
	_, err = p.InitWarehouse(ctx, env.Control.SuperDSN(wh))
	require.NoError(t, err)
	b := &testBundle{env: env, store: store, p: p, whDB: wh}
	t.Cleanup(func() { b.purgeAll(t) })
	return b
}

// purgeAll removes every tenant this test made from the shared servers.
func (b *testBundle) purgeAll(t *testing.T) {
	ctx := context.Background()
	tenants, err := b.store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return
	}
	for _, tn := range tenants {
		_ = b.p.Delete(ctx, provisioner.DeleteOptions{Slug: tn.Slug, Confirm: tn.Slug, Purge: true})
	}
}

func (b *testBundle) create(t *testing.T, slug string, opts ...func(*provisioner.CreateOptions)) catalog.Tenant {
	t.Helper()
	o := provisioner.CreateOptions{Slug: slug, Name: "Customer " + slug, Domain: slug + ".example"}
	for _, f := range opts {
		f(&o)
	}
	tn, err := b.p.Create(context.Background(), o)
	require.NoError(t, err)
	require.Equal(t, catalog.StateActive, tn.State)
	return tn
}

func (b *testBundle) server(t *testing.T, tn catalog.Tenant) *pgtest.Server {
	t.Helper()
	if tn.Server == "pg-a" {
		return b.env.Servers[0]
	}
	return b.env.Servers[1]
}

// appConn connects with the tenant's own application credentials to database db.
func (b *testBundle) appConnect(t *testing.T, tn catalog.Tenant, db string) (*pgx.Conn, error) {
	t.Helper()
	ctx := context.Background()
	dsn, err := b.p.AppDSN(ctx, tn.Slug)
	require.NoError(t, err)
	cfg, err := dbconn.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.Database = db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { conn.Close(context.Background()) })
	}
	return conn, err
}

func refused(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	code := dbconn.SQLState(err)
	require.Contains(t, []string{"42501", "28P01", "28000"}, code, "%s: want a privilege or authentication error, got %v", what, err)
}

func TestCreatePlacementAndOpaqueNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var tenants []catalog.Tenant
	for _, slug := range []string{"acme-" + pgtest.RandomSuffix()[:4], "globex-" + pgtest.RandomSuffix()[:4], "initech-" + pgtest.RandomSuffix()[:4], "umbrella-" + pgtest.RandomSuffix()[:4]} {
		tenants = append(tenants, b.create(t, slug, func(o *provisioner.CreateOptions) { o.Name = "Big " + slug + " Holdings" }))
	}
	perServer := map[string]int{}
	for _, tn := range tenants {
		perServer[tn.Server]++
		require.Equal(t, "t_"+tn.ID, tn.Database)
		require.True(t, tenantdb.ValidID(tn.ID))
		require.Equal(t, int64(1), tn.SchemaVersion)
	}
	require.Equal(t, map[string]int{"pg-a": 2, "pg-b": 2}, perServer, "placement spreads tenants by free capacity")

	for _, tn := range tenants {
		conn := b.server(t, tn).Conn(t, "postgres")
		var names string
		require.NoError(t, conn.QueryRow(ctx, `
			SELECT string_agg(n, ' ') FROM (
				SELECT datname AS n FROM pg_database
				UNION ALL SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database
				UNION ALL SELECT rolname FROM pg_roles
				UNION ALL SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles) x`).Scan(&names))
		for _, leak := range []string{tn.Slug, tn.Domain, tn.Name} {
			require.NotContains(t, strings.ToLower(names), strings.ToLower(leak), "server catalogs reveal a customer")
		}
		var owner string
		var publicPrivs int
		require.NoError(t, conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba),
			(SELECT count(*) FROM aclexplode(datacl) a WHERE a.grantee = 0) FROM pg_database WHERE datname = $1`, tn.Database).Scan(&owner, &publicPrivs))
		require.Equal(t, tenantdb.OwnerRole(tn.ID), owner)
		require.Zero(t, publicPrivs, "PUBLIC holds nothing on a tenant database")

		rows, err := conn.Query(ctx, `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit
			FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY rolname`, tenantdb.AppRole(tn.ID), tenantdb.OwnerRole(tn.ID))
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			var name string
			var login, super, createdb, createrole, repl, bypass bool
			var limit int
			require.NoError(t, rows.Scan(&name, &login, &super, &createdb, &createrole, &repl, &bypass, &limit))
			require.False(t, super || createdb || createrole || repl || bypass, "%s has a dangerous attribute", name)
			require.True(t, login, "%s logs in (the app; the owner with tenantctl's own password)", name)
			require.GreaterOrEqual(t, limit, 0, "%s needs a connection limit", name)
			n++
		}
		require.Equal(t, 2, n)

		// Every object in the tenant database belongs to the owner role.
		tconn := b.server(t, tn).Conn(t, tn.Database)
		var foreign int
		require.NoError(t, tconn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> $1`, tenantdb.OwnerRole(tn.ID)).Scan(&foreign))
		require.Zero(t, foreign, "objects not owned by the tenant owner")
	}
	// The template refuses connections once built.
	tmpl := b.env.Servers[0].Conn(t, "postgres")
	var allow bool
	require.NoError(t, tmpl.QueryRow(ctx, `SELECT bool_or(datallowconn) FROM pg_database WHERE datname LIKE 'tenantctl_tmpl_%'`).Scan(&allow))
	require.False(t, allow)
	servers, err := b.store.ListServers(ctx)
	require.NoError(t, err)
	require.NotNil(t, servers[0].TemplateVersion)
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a1 := b.create(t, "iso-a-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	a2 := b.create(t, "iso-b-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	c := b.create(t, "iso-c-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-b" })

	own, err := b.appConnect(t, a1, a1.Database)
	require.NoError(t, err, "a tenant reaches its own database")
	_, err = own.Exec(ctx, `INSERT INTO users (email, full_name) VALUES ('ops@`+a1.Domain+`', 'Ops')`)
	require.NoError(t, err, "the app role has DML")
	_, err = own.Exec(ctx, `CREATE TABLE sneaky (i int)`)
	refused(t, err, "the app role has no DDL")
	_, err = own.Exec(ctx, `SELECT * FROM goose_db_version`)
	refused(t, err, "the app role cannot touch goose's version table")

	_, err = b.appConnect(t, a1, a2.Database)
	refused(t, err, "neighbour on the same server")
	_, err = b.appConnect(t, a1, c.Database)
	require.Error(t, err, "tenant on the other server") // different server: the role does not exist there
	_, err = b.appConnect(t, c, a1.Database)
	require.Error(t, err)

	// The warehouse (on the control cluster) refuses tenant credentials.
	pw, err := b.store.Credential(ctx, a1.ID, "app")
	require.NoError(t, err)
	_, err = pgx.ConnectConfig(ctx, as(t, b.env.Control.SuperDSN(b.whDB), tenantdb.AppRole(a1.ID), pw))
	refused(t, err, "warehouse")

	// PUBLIC cannot connect: any other login role on the server is refused.
	role := "stranger_" + pgtest.RandomSuffix()
	b.env.Servers[0].Exec(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD 'stranger-password-1'")
	t.Cleanup(func() { b.env.Servers[0].Exec(t, "postgres", "DROP ROLE IF EXISTS "+role) })
	_, err = pgx.ConnectConfig(ctx, as(t, b.env.Servers[0].SuperDSN(a1.Database), role, "stranger-password-1"))
	refused(t, err, "PUBLIC")
}

// as returns dsn's connection config with another user and password.
func as(t *testing.T, dsn, user, password string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.User, cfg.Password = user, password
	return cfg
}

func passwordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

func TestSuspendResumeRotate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tn := b.create(t, "susp-"+pgtest.RandomSuffix()[:4])
	session, err := b.appConnect(t, tn, tn.Database)
	require.NoError(t, err)

	require.NoError(t, b.p.Suspend(ctx, tn.Slug))
	_, err = session.Exec(ctx, "SELECT 1")
	require.Error(t, err, "open sessions are terminated on suspend")
	_, err = b.appConnect(t, tn, tn.Database)
	refused(t, err, "a suspended tenant cannot log in")
	got, _ := b.store.GetTenant(ctx, tn.Slug)
	require.Equal(t, catalog.StateSuspended, got.State)

	require.NoError(t, b.p.Resume(ctx, tn.Slug))
	_, err = b.appConnect(t, tn, tn.Database)
	require.NoError(t, err)

	oldDSN, err := b.p.AppDSN(ctx, tn.Slug)
	require.NoError(t, err)
	oldOwner, err := b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.NoError(t, b.p.RotateCredentials(ctx, tn.Slug))
	newDSN, err := b.p.AppDSN(ctx, tn.Slug)
	require.NoError(t, err)
	require.NotEqual(t, oldDSN, newDSN)
	_, err = pgx.Connect(ctx, oldDSN)
	refused(t, err, "the old password stops working")
	conn, err := pgx.Connect(ctx, newDSN)
	require.NoError(t, err)
	conn.Close(ctx)
	// The owner's login password is rotated with the app's.
	newOwner, err := b.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
	require.NoError(t, err)
	require.NotEqual(t, oldOwner, newOwner)
	_, err = b.ownerConnect(t, tn, oldOwner, tn.Database)
	refused(t, err, "the owner's old password stops working")
	_, err = b.ownerConnect(t, tn, newOwner, tn.Database)
	require.NoError(t, err, "the owner logs in with its new password")

	// No plaintext password ever reached the server's log (log_statement=ddl is on).
	log := b.server(t, tn).ServerLog(t)
	require.Contains(t, log, "SCRAM-SHA-256$", "the log shows the verifier was sent")
	for _, dsn := range []string{oldDSN, newDSN} {
		require.NotContains(t, log, passwordOf(dsn))
	}
	for _, pw := range []string{oldOwner, newOwner} {
		require.NotContains(t, log, pw)
	}
	events, err := b.store.ListEvents(ctx, tn.Slug, 20)
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{"tenant.rotate-credentials", "tenant.resume", "tenant.suspend", "tenant.active", "tenant.create"}, actions)
}

func TestDeleteAndPurgeLeaveNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	slug := "gone-" + pgtest.RandomSuffix()[:4]
	tn := b.create(t, slug, func(o *provisioner.CreateOptions) { o.ContactEmail = "it@" + slug + ".example" })
	wh := b.env.Control.Conn(t, b.whDB)
	var dim int
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*) FROM tenantctl.tenants WHERE id = $1`, tn.ID).Scan(&dim))
	require.Equal(t, 1, dim, "the provisioner keeps the warehouse tenant dimension current")

	err := b.p.Delete(ctx, provisioner.DeleteOptions{Slug: slug, Confirm: "wrong"})
	require.ErrorIs(t, err, validate.ErrInvalid)
	require.NoError(t, b.p.Delete(ctx, provisioner.DeleteOptions{Slug: slug, Confirm: slug}))
	got, err := b.store.GetTenant(ctx, slug)
	require.NoError(t, err)
	require.Equal(t, catalog.StateDeleting, got.State)
	require.NotNil(t, got.DeletedAt)
	pw, err := b.store.Credential(ctx, tn.ID, "app")
	require.NoError(t, err)
	srv, err := b.p.Server(ctx, tn.Server)
	require.NoError(t, err)
	_, err = pgx.Connect(ctx, srv.DSNFor(tenantdb.AppRole(tn.ID), pw, tn.Database))
	refused(t, err, "a deleted tenant's access is revoked")

	// The domain stays taken until the purge.
	_, err = b.p.Create(ctx, provisioner.CreateOptions{Slug: "other-" + pgtest.RandomSuffix()[:4], Name: "X", Domain: tn.Domain})
	require.ErrorIs(t, err, catalog.ErrTenantExists)
	require.ErrorContains(t, err, "email domain")

	purged, err := b.p.PurgeExpired(ctx, provisioner.DefaultRetention)
	require.NoError(t, err)
	require.Empty(t, purged, "not expired yet")
	require.ErrorIs(t, b.p.Purge(ctx, slug, "nope"), validate.ErrInvalid)
	require.NoError(t, b.p.Purge(ctx, slug, slug))

	conn := b.server(t, tn).Conn(t, "postgres")
	var left int
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname LIKE $2)`,
		tn.Database, "t_"+tn.ID+"%").Scan(&left))
	require.Zero(t, left, "database and roles are dropped")
	ok, err := b.store.HasCredential(ctx, tn.ID, "app")
	require.NoError(t, err)
	require.False(t, ok, "credentials are erased")
	require.NoError(t, wh.QueryRow(ctx, `SELECT count(*) FROM tenantctl.tenants WHERE id = $1`, tn.ID).Scan(&dim))
	require.Zero(t, dim, "warehouse rows are erased")
	events, err := b.store.ListEvents(ctx, slug, 1)
	require.NoError(t, err)
	require.Equal(t, "tenant.purge", events[0].Action)
	require.Equal(t, true, events[0].Details["tombstone"])
	purgedRow, err := b.store.GetTenantByID(ctx, tn.ID)
	require.NoError(t, err)
	require.Empty(t, purgedRow.ContactEmail)

	// Slug and domain are free again.
	again := b.create(t, slug)
	require.NotEqual(t, tn.ID, again.ID)
}

// TestConcurrentCreatesOfOneSlug runs five creates of one slug at once: the first to
// take the slug holds its first step until the other four are seen waiting on the
// server for its lock. The three with the same spec are told another run created the
// tenant (no error, nothing changed), the one with another name is refused as bad
// input; none "resumes". Then a run that dies while another waits is resumed, and only
// then.
func TestConcurrentCreatesOfOneSlug(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	slug := "race-" + pgtest.RandomSuffix()[:4]
	waiters := func(slug string) int {
		key := pglock.Key("create:" + slug)
		var n int
		require.NoError(t, b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND classid::bigint = (($1::bigint >> 32) & 4294967295) AND objid::bigint = ($1::bigint & 4294967295)`, key).Scan(&n))
		return n
	}
	waitFor := func(slug string, n int) error {
		deadline := time.Now().Add(60 * time.Second)
		for waiters(slug) < n {
			if time.Now().After(deadline) {
				return fmt.Errorf("only %d of %d creates waiting", waiters(slug), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
	var once sync.Once
	b.p.Hooks.AfterStep = func(string) error {
		var err error
		once.Do(func() { err = waitFor(slug, 4) })
		return err
	}
	type result struct {
		t       catalog.Tenant
		outcome provisioner.CreateOutcome
		err     error
	}
	results := make([]result, 5)
	var wg sync.WaitGroup
	run := func(i int) {
		o := provisioner.CreateOptions{Slug: slug, Name: "Race", Domain: slug + ".example"}
		if i == 4 {
			o.Name = "Another race"
		}
		wg.Go(func() {
			r := &results[i]
			r.t, r.outcome, r.err = b.p.CreateWithOutcome(ctx, o)
		})
	}
	// The first takes the slug (its row appears, its first step waits); then the rest.
	run(0)
	require.Eventually(t, func() bool { _, err := b.store.GetTenant(ctx, slug); return err == nil }, 60*time.Second, 10*time.Millisecond)
	for i := 1; i < len(results); i++ {
		run(i)
	}
	wg.Wait()
	b.p.Hooks.AfterStep = nil
	outcomes := map[provisioner.CreateOutcome]int{}
	refused := 0
	for i, r := range results {
		if r.err != nil {
			require.Equal(t, 4, i, "only the create with another name fails: %v", r.err)
			require.ErrorIs(t, r.err, validate.ErrInvalid)
			require.ErrorIs(t, r.err, catalog.ErrTenantExists)
			require.Contains(t, r.err.Error(), "another run created tenant")
			refused++
			continue
		}
		require.Equal(t, catalog.StateActive, r.t.State)
		outcomes[r.outcome]++
	}
	require.Equal(t, 1, refused, "only the create with another name is refused")
	require.Equal(t, map[provisioner.CreateOutcome]int{provisioner.Created: 1, provisioner.CreatedByAnother: 3}, outcomes,
		"one run creates, three are told another run did; none resumes")
	tenants, err := b.store.ListTenants(ctx, catalog.TenantFilter{})
	require.NoError(t, err)
	require.Len(t, tenants, 1, "exactly one tenant exists")
	require.Equal(t, catalog.StateActive, tenants[0].State)

	// A run that dies while another waits behind it: the waiter resumes its work.
	slug2 := "died-" + pgtest.RandomSuffix()[:4]
	o2 := provisioner.CreateOptions{Slug: slug2, Name: "Died", Domain: slug2 + ".example", SlowPath: true}
	var first sync.Once
	b.p.Hooks.AfterStep = func(step string) error {
		var err error
		first.Do(func() {
			if err = waitFor(slug2, 1); err == nil {
				err = provisioner.InjectedFault(step) // the creator dies: its session and locks end
			}
		})
		return err
	}
	var died, resumed result
	wg.Go(func() { died.t, died.outcome, died.err = b.p.CreateWithOutcome(ctx, o2) })
	wg.Go(func() {
		// Start second, behind the first's lock.
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := b.store.GetTenant(ctx, slug2); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		resumed.t, resumed.outcome, resumed.err = b.p.CreateWithOutcome(ctx, o2)
	})
	wg.Wait()
	b.p.Hooks.AfterStep = nil
	require.Error(t, died.err, "the first run dies")
	require.NoError(t, resumed.err)
	require.Equal(t, provisioner.Resumed, resumed.outcome, "the waiter resumes the dead run's work")
	require.Equal(t, catalog.StateActive, resumed.t.State)

	// Created and resumed outright: a rerun of a finished create is refused, as before.
	_, err = b.p.Create(ctx, o2)
	require.ErrorIs(t, err, catalog.ErrTenantExists)
}

// TestCrashAtEveryStepConverges stops provisioning after each step as a crash would,
// then finishes it once by rerunning create and once by reconcile.
func TestCrashAtEveryStepConverges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for i, step := range []string{provisioner.StepCredentials, provisioner.StepRoles, provisioner.StepDatabase, provisioner.StepHardened} {
		for _, finish := range []string{"rerun", "reconcile"} {
			slug := fmt.Sprintf("crash-%d-%s", i, finish[:3])
			b.p.Hooks.AfterStep = func(s string) error {
				if s == step {
					return provisioner.InjectedFault(s)
				}
				return nil
			}
			o := provisioner.CreateOptions{Slug: slug, Name: "Crash " + slug, Domain: slug + ".example"}
			_, err := b.p.Create(ctx, o)
			require.Error(t, err)
			got, err := b.store.GetTenant(ctx, slug)
			require.NoError(t, err)
			require.Equal(t, catalog.StateProvisioning, got.State, "a crash leaves the tenant provisioning")
			require.Equal(t, step, got.Step)
			b.p.Hooks.AfterStep = nil
			if finish == "rerun" {
				_, err = b.p.Create(ctx, o)
			} else {
				_, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
				if err != nil {
					// other tests' tenants on the shared servers may show up as orphans: only
					// failures matter, and those would be errors
					require.NoError(t, err)
				}
			}
			require.NoError(t, err)
			got, err = b.store.GetTenant(ctx, slug)
			require.NoError(t, err)
			require.Equal(t, catalog.StateActive, got.State, "%s after a crash at %s", finish, step)
			conn, err := b.appConnect(t, got, got.Database)
			require.NoError(t, err)
			_, err = conn.Exec(ctx, `INSERT INTO systems (name, kind) VALUES ('db1', 'server')`)
			require.NoError(t, err)
		}
	}
}

func TestReconcileDriftAndPurgeCrash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tn := b.create(t, "drift-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Server = "pg-a" })
	srv := b.env.Servers[0]
	orphan := "t_" + tenantdb.NewID()
	srv.Exec(t, "postgres",
		"GRANT CONNECT, TEMPORARY ON DATABASE "+tn.Database+" TO PUBLIC",
		"ALTER ROLE "+tenantdb.AppRole(tn.ID)+" CREATEDB NOLOGIN",
		"CREATE DATABASE "+orphan)
	t.Cleanup(func() { srv.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+orphan) })

	plan, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{DryRun: true})
	require.NoError(t, err)
	kinds := actionKinds(plan, tn.Slug, orphan)
	require.ElementsMatch(t, []string{provisioner.ActReharden, provisioner.ActFixLogin, provisioner.ActOrphanDatabase}, kinds)
	for _, a := range plan {
		require.False(t, a.Applied, "dry-run changes nothing")
	}
	var publicPrivs int
	conn := srv.Conn(t, "postgres")
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database, aclexplode(datacl) a WHERE datname = $1 AND a.grantee = 0`, tn.Database).Scan(&publicPrivs))
	require.Equal(t, 2, publicPrivs, "dry-run left the drift alone")

	done, err := b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{provisioner.ActReharden, provisioner.ActFixLogin, provisioner.ActOrphanDatabase}, actionKinds(done, tn.Slug, orphan))
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database, aclexplode(datacl) a WHERE datname = $1 AND a.grantee = 0`, tn.Database).Scan(&publicPrivs))
	require.Zero(t, publicPrivs)
	var createdb, login bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = $1`, tenantdb.AppRole(tn.ID)).Scan(&createdb, &login))
	require.False(t, createdb)
	require.True(t, login)
	var orphanLeft bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, orphan).Scan(&orphanLeft))
	require.True(t, orphanLeft, "orphans are reported, never dropped")

	// A purge interrupted after it started is finished by reconcile.
	b.p.Hooks.AfterStep = func(s string) error {
		if s == provisioner.StepPurging {
			return provisioner.InjectedFault(s)
		}
		return nil
	}
	require.Error(t, b.p.Delete(ctx, provisioner.DeleteOptions{Slug: tn.Slug, Confirm: tn.Slug, Purge: true}))
	b.p.Hooks.AfterStep = nil
	_, err = b.p.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	got, err := b.store.GetTenantByID(ctx, tn.ID)
	require.NoError(t, err)
	require.Equal(t, catalog.StatePurged, got.State)
}

func actionKinds(actions []provisioner.Action, slug, orphan string) []string {
	var out []string
	for _, a := range actions {
		if a.Tenant == slug || strings.Contains(a.Detail, orphan+" ") {
			out = append(out, a.Kind)
		}
	}
	return out
}

func TestPlacementAndBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	tn := b.create(t, "lbl-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.Labels = []string{"zone=pg-b"} })
	require.Equal(t, "pg-b", tn.Server, "labels steer placement")

	for _, c := range []struct {
		o    provisioner.CreateOptions
		want string
	}{
		{provisioner.CreateOptions{Slug: "Bad", Name: "x", Domain: "x.example"}, "invalid slug"},
		{provisioner.CreateOptions{Slug: "okay", Name: "", Domain: "x.example"}, "display name"},
		{provisioner.CreateOptions{Slug: "okay", Name: "x", Domain: "x..example"}, "invalid domain"},
		{provisioner.CreateOptions{Slug: "okay", Name: "x", Domain: "x.example", ContactEmail: "a@y.example"}, "not under"},
		{provisioner.CreateOptions{Slug: "okay", Name: "x", Domain: "x.example", Server: "nope"}, "server not found"},
		{provisioner.CreateOptions{Slug: "okay", Name: "x", Domain: "x.example", Labels: []string{"zone=mars"}}, "no server can take"},
		{provisioner.CreateOptions{Slug: tn.Slug, Name: "x", Domain: "x.example"}, "already taken"},
	} {
		_, err := b.p.Create(ctx, c.o)
		require.ErrorIs(t, err, validate.ErrInvalid, c.want)
		require.ErrorContains(t, err, c.want)
	}
	require.NoError(t, b.store.SetDraining(ctx, "pg-a", true))
	require.NoError(t, b.store.SetDraining(ctx, "pg-b", true))
	_, err := b.p.Create(ctx, provisioner.CreateOptions{Slug: "nowhere", Name: "x", Domain: "nowhere.example"})
	require.ErrorIs(t, err, provisioner.ErrNoServerFits)
	_, err = b.p.Create(ctx, provisioner.CreateOptions{Slug: "nowhere", Name: "x", Domain: "nowhere.example", Server: "pg-a"})
	require.ErrorContains(t, err, "draining")
	tenants, err := b.store.ListTenants(ctx, catalog.TenantFilter{})
	require.NoError(t, err)
	require.Len(t, tenants, 1, "bad input created nothing")
	require.ErrorIs(t, b.store.RemoveServer(ctx, "pg-b"), catalog.ErrServerInUse)
}

func TestSlowPathAndHalfBuiltTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	slow := b.create(t, "slow-"+pgtest.RandomSuffix()[:4], func(o *provisioner.CreateOptions) { o.SlowPath = true; o.Server = "pg-b" })
	require.Equal(t, int64(1), slow.SchemaVersion)

	// A migration set of its own, so this test's template is not shared.
	dir := t.TempDir()
	src, err := os.ReadFile("../migrations/tenant/00001_service_desk.sql")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/00001_service_desk.sql", append(src, []byte("\n-- "+pgtest.RandomSuffix()+"\n")...), 0o644))
	fsys := os.DirFS(dir)
	srv, err := b.p.Server(ctx, "pg-b")
	require.NoError(t, err)
	tmpl, err := srv.EnsureTemplate(ctx, fsys)
	require.NoError(t, err)
	require.True(t, tmpl.Built)
	// Simulate a build that died half-way: the template still allows connections.
	b.env.Servers[1].Exec(t, "postgres", "ALTER DATABASE "+tmpl.Name+" ALLOW_CONNECTIONS true")
	again, err := srv.EnsureTemplate(ctx, fsys)
	require.NoError(t, err)
	require.True(t, again.Built, "a half-built template is dropped and rebuilt")
	third, err := srv.EnsureTemplate(ctx, fsys)
	require.NoError(t, err)
	require.False(t, third.Built, "a ready template is reused")
	t.Cleanup(func() { _ = srv.DropTemplate(context.Background(), tmpl.Name) })
}

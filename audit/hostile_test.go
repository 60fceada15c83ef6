package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// These tests play a careless DBA or a hostile insider with the servers' superuser:
// each makes one kind of sabotage on real PostgreSQL, runs the audit and checks that it
// names the tenant exposed, and that reconcile repairs what it says it repairs.

func noProbes(o *audit.Options) { o.NoProbes = true }

// login opens database db on the tenant's server with the given credentials.
func (f *fleet) login(t *testing.T, slug, user, password, db string) (*pgx.Conn, error) {
	t.Helper()
	srv, err := f.prov.Server(context.Background(), f.tenants[slug].Server)
	require.NoError(t, err)
	cfg := srv.ConnConfig(db)
	cfg.User, cfg.Password = user, password
	return pgx.ConnectConfig(context.Background(), cfg)
}

func (f *fleet) appPassword(t *testing.T, slug string) string {
	t.Helper()
	pw, err := f.store.Credential(context.Background(), f.tenants[slug].ID, "app")
	require.NoError(t, err)
	return pw
}

// TestBridgeInSharedDatabase builds, in the server's postgres database, a foreign table
// over alpha's data readable through a PUBLIC user mapping — the attack by which beta's
// credentials read alpha's rows — and checks the audit names it, and that the
// pg_hba.conf lines keep beta out of postgres in the first place.
func TestBridgeInSharedDatabase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha := f.tenants["alpha"]
	srvA := f.servers[0]
	srvA.Exec(t, alpha.Database, "INSERT INTO users (email, full_name) VALUES ('ceo@alphawidgets.example', 'Alpha CEO')")
	srvA.Exec(t, "postgres",
		"CREATE EXTENSION postgres_fdw",
		fmt.Sprintf("CREATE SERVER audit_test_bridge FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '%d', dbname '%s')", srvA.Cluster.Port, alpha.Database),
		fmt.Sprintf("CREATE USER MAPPING FOR PUBLIC SERVER audit_test_bridge OPTIONS (user '%s', password '%s')", tenantdb.AppRole(alpha.ID), f.appPassword(t, "alpha")),
		"CREATE FOREIGN TABLE public.audit_test_stolen (email text) SERVER audit_test_bridge OPTIONS (table_name 'users')",
		"GRANT SELECT ON public.audit_test_stolen TO PUBLIC")
	t.Cleanup(func() { srvA.Exec(t, "postgres", "DROP EXTENSION IF EXISTS postgres_fdw CASCADE") })

	r := f.audit()
	v := requireViolation(t, r, audit.CheckServerBridges, "alpha", "foreign server audit_test_bridge", "database postgres", "the database of tenant alpha")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckServerBridges, "alpha", "user mapping for PUBLIC")
	requireViolation(t, r, audit.CheckServerBridges, "", "extension postgres_fdw", "database postgres")
	requireOnly(t, r, audit.CheckServerBridges)

	// Under the pg_hba.conf lines beta cannot even reach postgres.
	_, err := f.login(t, "beta", tenantdb.AppRole(f.tenants["beta"].ID), f.appPassword(t, "beta"), "postgres")
	require.Error(t, err)
	require.Contains(t, err.Error(), "pg_hba.conf")

	// Without them, it reads alpha's rows — and the probes say so too.
	restore := f.unconfine(t)
	conn, err := f.login(t, "beta", tenantdb.AppRole(f.tenants["beta"].ID), f.appPassword(t, "beta"), "postgres")
	require.NoError(t, err)
	var stolen string
	require.NoError(t, conn.QueryRow(ctx, "SELECT email FROM public.audit_test_stolen").Scan(&stolen))
	require.Equal(t, "ceo@alphawidgets.example", stolen)
	conn.Close(ctx)
	r = f.audit()
	requireViolation(t, r, audit.CheckProbeSharedDatabases, "alpha", "database postgres")
	requireViolation(t, r, audit.CheckServerBridges, "alpha", "foreign server audit_test_bridge")
	restore()

	// A bridge in template1, or in any database tenantctl did not create, is found by
	// what it is, not by its name.
	srvA.Exec(t, "postgres", "DROP EXTENSION postgres_fdw CASCADE", "CREATE DATABASE audit_test_reports")
	t.Cleanup(func() { srvA.Exec(t, "postgres", "DROP DATABASE IF EXISTS audit_test_reports WITH (FORCE)") })
	srvA.Exec(t, "template1", "CREATE EXTENSION dblink")
	t.Cleanup(func() { srvA.Exec(t, "template1", "DROP EXTENSION IF EXISTS dblink") })
	srvA.Exec(t, "audit_test_reports", "CREATE EXTENSION postgres_fdw",
		fmt.Sprintf("CREATE SERVER audit_test_reporting FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname '%s')", alpha.Database))
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckServerBridges, "", "extension dblink", "database template1")
	requireViolation(t, r, audit.CheckServerBridges, "alpha", "foreign server audit_test_reporting", "database audit_test_reports")
	requireViolation(t, r, audit.CheckServerDatabases, "", "database audit_test_reports", "--allow-database audit_test_reports")
	requireOnly(t, r, audit.CheckServerBridges, audit.CheckServerDatabases)
	srvA.Exec(t, "template1", "DROP EXTENSION dblink")
	srvA.Exec(t, "postgres", "DROP DATABASE audit_test_reports WITH (FORCE)")
	requireClean(t, f.audit())
}

// TestCopyOfTenantDatabase copies alpha's database under an innocuous name: the audit
// finds it by what it holds (objects owned by alpha's roles), and a purge of alpha
// names it instead of failing with a bare PostgreSQL error.
func TestCopyOfTenantDatabase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha := f.tenants["alpha"]
	srvA := f.servers[0]
	srvA.Exec(t, "postgres", "CREATE DATABASE audit_test_innocuous TEMPLATE "+alpha.Database)
	t.Cleanup(func() { srvA.Exec(t, "postgres", "DROP DATABASE IF EXISTS audit_test_innocuous WITH (FORCE)") })

	r := f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckServerTenantObjects, "alpha", tenantdb.OwnerRole(alpha.ID), "owns", "database audit_test_innocuous", "copy")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckServerTenantObjects, "alpha", tenantdb.AppRole(alpha.ID), "holds privileges", "audit_test_innocuous")
	requireViolation(t, r, audit.CheckServerDatabases, "", "database audit_test_innocuous")
	requireOnly(t, r, audit.CheckServerTenantObjects, audit.CheckServerDatabases)

	// A neighbour's role granted something in alpha's database is found the same way.
	srvA.Exec(t, alpha.Database, "GRANT SELECT ON public.users TO "+tenantdb.AppRole(f.tenants["beta"].ID))
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckServerTenantObjects, "alpha", "role "+tenantdb.AppRole(f.tenants["beta"].ID)+" of tenant beta", "database "+alpha.Database)
	requireViolation(t, r, audit.CheckDBPrivileges, "alpha", tenantdb.AppRole(f.tenants["beta"].ID), "SELECT on table public.users", "a role of tenant beta")
	srvA.Exec(t, alpha.Database, "REVOKE ALL ON public.users FROM "+tenantdb.AppRole(f.tenants["beta"].ID))

	err := f.prov.Delete(ctx, provisioner.DeleteOptions{Slug: "alpha", Confirm: "alpha", Purge: true})
	var inUse *tenantdb.RoleInUseError
	require.True(t, errors.As(err, &inUse), "purge error: %v", err)
	require.Equal(t, []string{"audit_test_innocuous"}, inUse.Databases)
	require.Contains(t, err.Error(), "database audit_test_innocuous")

	srvA.Exec(t, "postgres", "DROP DATABASE audit_test_innocuous WITH (FORCE)")
	require.NoError(t, f.prov.Purge(ctx, "alpha", "alpha"))
	got, err := f.store.GetTenantByID(ctx, alpha.ID)
	require.NoError(t, err)
	require.Equal(t, catalog.StatePurged, got.State)
	requireClean(t, f.audit())
}

// TestAccessAndAdminRoles gives MSP access roles and the admin role more than they
// should have.
func TestAccessAndAdminRoles(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta := f.tenants["alpha"], f.tenants["beta"]
	g, err := f.prov.GrantAccess(ctx, provisioner.GrantOptions{Login: "alice", Slug: "alpha", Level: "read", Expires: "8h"})
	require.NoError(t, err)
	requireClean(t, f.audit())
	exec := func(stmts ...string) { f.servers[0].Exec(t, "postgres", stmts...) }

	exec("ALTER ROLE " + g.Role + " CREATEROLE")
	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAccess, "alpha", g.Role, "CREATEROLE")
	requireOnly(t, r, audit.CheckRoleAccess)
	exec("ALTER ROLE " + g.Role + " NOCREATEROLE")

	// Inside another customer's owner role: it reaches beta.
	exec("GRANT " + tenantdb.OwnerRole(beta.ID) + " TO " + g.Role)
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAccess, "alpha", g.Role, tenantdb.OwnerRole(beta.ID), "tenant beta")
	requireViolation(t, r, audit.CheckDBConnectRoles, "beta", g.Role)
	exec("REVOKE " + tenantdb.OwnerRole(beta.ID) + " FROM " + g.Role)

	// Inside its own tenant's owner role: a read grant that can run DDL.
	exec("GRANT " + tenantdb.OwnerRole(alpha.ID) + " TO " + g.Role)
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAccess, "alpha", g.Role, "tenant's role "+tenantdb.OwnerRole(alpha.ID), "DDL", "read grant")
	exec("REVOKE " + tenantdb.OwnerRole(alpha.ID) + " FROM " + g.Role)

	exec("GRANT pg_read_server_files TO " + g.Role)
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAccess, "alpha", g.Role, "pg_read_server_files")
	exec("REVOKE pg_read_server_files FROM " + g.Role)

	// An expiry at the server later than the catalog's.
	exec("ALTER ROLE " + g.Role + " VALID UNTIL 'infinity'")
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAccess, "alpha", g.Role, "never expires at the server")
	requireOnly(t, r, audit.CheckRoleAccess)
	exec("ALTER ROLE " + g.Role + " VALID UNTIL '" + g.ExpiresAt.UTC().Format("2006-01-02 15:04:05") + "+00'")
	requireClean(t, f.audit(noProbes))

	// The admin role reading everything reaches every tenant of its server.
	exec("GRANT pg_read_all_data TO " + pgtestAdmin(t, f))
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleAdmin, "alpha", "pg_read_all_data")
	requireViolation(t, r, audit.CheckRoleAdmin, "beta", "pg_read_all_data")
	requireOnly(t, r, audit.CheckRoleAdmin)
	exec("REVOKE pg_read_all_data FROM " + pgtestAdmin(t, f))
	requireClean(t, f.audit())
}

func pgtestAdmin(t *testing.T, f *fleet) string {
	t.Helper()
	s, err := f.store.GetServer(context.Background(), "pg-a")
	require.NoError(t, err)
	return s.AdminRole
}

// TestPrivilegesInsideTenantDatabases widens privileges inside tenant databases in
// every way tenantctl does not, checks the audit names each, lets reconcile repair
// what it can and checks that what it only reports is still reported.
func TestPrivilegesInsideTenantDatabases(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta, gamma := f.tenants["alpha"], f.tenants["beta"], f.tenants["gamma"]
	alphaApp, betaApp := tenantdb.AppRole(alpha.ID), tenantdb.AppRole(beta.ID)
	require.NoError(t, f.prov.Suspend(ctx, "beta"))
	a := f.servers[0]
	a.Exec(t, alpha.Database,
		"GRANT SELECT ON public.incidents TO PUBLIC",
		"GRANT SELECT ON public.users TO "+betaApp,
		"GRANT CREATE ON SCHEMA public TO "+alphaApp,
		"GRANT TRUNCATE ON public.systems TO "+alphaApp,
		"ALTER DEFAULT PRIVILEGES FOR ROLE "+tenantdb.OwnerRole(alpha.ID)+" IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC",
		"SET ROLE "+tenantdb.OwnerRole(alpha.ID)+"; CREATE FUNCTION public.audit_test_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'; RESET ROLE",
		"CREATE FUNCTION public.audit_test_root_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
		"CREATE PUBLICATION audit_test_pub FOR ALL TABLES",
		"CREATE RULE audit_test_rule AS ON INSERT TO public.systems DO ALSO NOTIFY audit_test",
		"CREATE FUNCTION public.audit_test_evt() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END'",
		"CREATE EVENT TRIGGER audit_test_evt ON ddl_command_start EXECUTE FUNCTION public.audit_test_evt()",
		"CREATE SUBSCRIPTION audit_test_sub CONNECTION 'host=127.0.0.1 dbname=postgres' PUBLICATION p WITH (connect = false)")
	t.Cleanup(func() {
		a.Exec(t, alpha.Database, "DO $$ BEGIN IF EXISTS (SELECT FROM pg_subscription WHERE subname = 'audit_test_sub') THEN "+
			"ALTER SUBSCRIPTION audit_test_sub SET (slot_name = NONE); END IF; END $$", "DROP SUBSCRIPTION IF EXISTS audit_test_sub",
			"DROP EVENT TRIGGER IF EXISTS audit_test_evt")
	})
	a.Exec(t, "postgres",
		"GRANT CREATE, TEMPORARY ON DATABASE "+alpha.Database+" TO "+alphaApp,
		"ALTER DATABASE "+alpha.Database+" SET search_path = 'audit_test, public'",
		"ALTER ROLE "+alphaApp+" SET statement_timeout = 0",
		// A suspended customer's database closed to inspection.
		"ALTER DATABASE "+beta.Database+" ALLOW_CONNECTIONS false")
	f.servers[1].Exec(t, "postgres", "ALTER DATABASE "+gamma.Database+" IS_TEMPLATE true")
	t.Cleanup(func() {
		f.servers[1].Exec(t, "postgres", "ALTER DATABASE "+gamma.Database+" IS_TEMPLATE false")
		a.Exec(t, "postgres", "ALTER DATABASE "+beta.Database+" ALLOW_CONNECTIONS true")
	})

	r := f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckDBPrivileges, "alpha", "PUBLIC holds SELECT on table public.incidents")
	require.Equal(t, audit.Critical, v.Severity)
	v = requireViolation(t, r, audit.CheckDBPrivileges, "alpha", betaApp, "SELECT on table public.users", "tenant beta")
	require.Equal(t, audit.Critical, v.Severity)
	requireViolation(t, r, audit.CheckDBPrivileges, "alpha", alphaApp+" holds CREATE on schema public")
	requireViolation(t, r, audit.CheckDBPrivileges, "alpha", alphaApp+" holds TRUNCATE on table public.systems")
	requireViolation(t, r, audit.CheckDBPrivileges, "alpha", "default privileges", "give PUBLIC SELECT on new tables")
	requireViolation(t, r, audit.CheckDBPrivileges, "alpha", "role "+alphaApp+" holds CREATE, TEMPORARY on database "+alpha.Database)
	// SECURITY DEFINER owned by the tenant's own owner: a note; by anyone else: critical.
	v = requireViolation(t, r, audit.CheckDBObjects, "alpha", "SECURITY DEFINER function public.audit_test_root_definer()", "not the tenant's owner")
	require.Equal(t, audit.Critical, v.Severity)
	for _, v := range r.Violations {
		require.NotContains(t, v.Detail, "audit_test_definer()", "the owner's own SECURITY DEFINER function is no violation")
	}
	require.Contains(t, strings.Join(r.Notes, "\n"), "alpha: SECURITY DEFINER function public.audit_test_definer()")
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "publication audit_test_pub")
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "rule audit_test_rule")
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "event trigger audit_test_evt")
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "subscription audit_test_sub")
	requireViolation(t, r, audit.CheckDBSettings, "alpha", "database "+alpha.Database, "search_path")
	requireViolation(t, r, audit.CheckDBSettings, "alpha", "role "+alphaApp, "statement_timeout")
	requireViolation(t, r, audit.CheckDBInspectable, "beta", "accepts no connections")
	requireViolation(t, r, audit.CheckDBInspectable, "gamma", "IS_TEMPLATE")
	requireViolation(t, r, audit.CheckServerTenantObjects, "alpha", betaApp)

	actions, err := f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err, "%+v", actions)
	r = f.audit(noProbes)
	// Objects are reported, never dropped, by reconcile; the superuser's own functions
	// keep PUBLIC's EXECUTE (the admin cannot act for their owner): reported, not repaired.
	requireOnly(t, r, audit.CheckDBObjects, audit.CheckDBObjectOwner, audit.CheckDBPrivileges)
	for _, v := range r.Violations {
		if v.Check == audit.CheckDBPrivileges {
			require.Regexp(t, `PUBLIC holds EXECUTE on function public\.audit_test_(evt|root_definer)\(\)`, v.Detail)
		}
	}
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "publication audit_test_pub")
	requireViolation(t, r, audit.CheckDBObjects, "alpha", "event trigger audit_test_evt")

	a.Exec(t, alpha.Database, "DROP PUBLICATION audit_test_pub", "DROP RULE audit_test_rule ON public.systems", "DROP FUNCTION public.audit_test_definer()", "DROP FUNCTION public.audit_test_root_definer()",
		"DROP EVENT TRIGGER audit_test_evt", "DROP FUNCTION public.audit_test_evt()",
		"ALTER SUBSCRIPTION audit_test_sub SET (slot_name = NONE)", "DROP SUBSCRIPTION audit_test_sub")
	require.NoError(t, f.prov.Resume(ctx, "beta"))
	requireClean(t, f.audit())
}

// TestTemplatesAreAudited grants a role a privilege inside a server's template: it
// would be copied into every tenant created afterwards.
func TestTemplatesAreAudited(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	cs, err := f.store.GetServer(ctx, "pg-a")
	require.NoError(t, err)
	require.NotEmpty(t, cs.TemplateDB)
	a := f.servers[0]
	t.Cleanup(func() {
		for _, db := range query(t, a.Conn(t, "postgres"), `SELECT datname FROM pg_database WHERE datname LIKE 't\_%'`) {
			a.Exec(t, db, "DROP OWNED BY audit_test_snoop")
		}
		// A template left tainted is dropped: the next create rebuilds it.
		if len(query(t, a.Conn(t, "postgres"), `SELECT datname FROM pg_database WHERE datname = $1`, cs.TemplateDB)) > 0 {
			a.Exec(t, "postgres", "ALTER DATABASE "+cs.TemplateDB+" IS_TEMPLATE false", "DROP DATABASE "+cs.TemplateDB)
		}
		a.Exec(t, "postgres", "DROP OWNED BY audit_test_snoop", "DROP ROLE audit_test_snoop")
	})
	a.Exec(t, "postgres", "CREATE ROLE audit_test_snoop", "ALTER DATABASE "+cs.TemplateDB+" ALLOW_CONNECTIONS true")
	a.Exec(t, cs.TemplateDB, "GRANT SELECT ON public.users TO audit_test_snoop")
	a.Exec(t, "postgres", "ALTER DATABASE "+cs.TemplateDB+" ALLOW_CONNECTIONS false")

	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckTemplatePrivileges, "", "audit_test_snoop", cs.TemplateDB, "every tenant created from it")
	requireOnly(t, r, audit.CheckTemplatePrivileges)

	// The next tenant is not cloned from it: the clone does not match the template's
	// fingerprint taken at its build, so the template is rebuilt first.
	_, err = f.prov.Create(ctx, provisioner.CreateOptions{Slug: "delta", Name: "Delta Air", Domain: "delta.example", Server: "pg-a"})
	require.NoError(t, err)
	requireClean(t, f.audit(noProbes))

	// Tainted again, reconcile drops it (the next create rebuilds it clean).
	a.Exec(t, "postgres", "ALTER DATABASE "+cs.TemplateDB+" ALLOW_CONNECTIONS true")
	a.Exec(t, cs.TemplateDB, "GRANT SELECT ON public.users TO audit_test_snoop")
	a.Exec(t, "postgres", "ALTER DATABASE "+cs.TemplateDB+" ALLOW_CONNECTIONS false")
	requireViolation(t, f.audit(noProbes), audit.CheckTemplatePrivileges, "", "audit_test_snoop", cs.TemplateDB)
	actions, err := f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	var rebuilt bool
	for _, act := range actions {
		rebuilt = rebuilt || (act.Kind == provisioner.ActRebuildTemplate && act.Applied)
	}
	require.True(t, rebuilt, "%+v", actions)
	requireClean(t, f.audit())
	_, err = f.prov.Create(ctx, provisioner.CreateOptions{Slug: "echo", Name: "Echo Labs", Domain: "echo.example", Server: "pg-a"})
	require.NoError(t, err)
	requireClean(t, f.audit())
}

// TestWarehouseObjects grants on the warehouse's schemas and tables.
func TestWarehouseObjects(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alpha := f.tenants["alpha"]
	role := tenantdb.AppRole(alpha.ID)
	f.env.Control.Exec(t, "postgres", "CREATE ROLE "+role)
	t.Cleanup(func() { f.env.Control.Exec(t, "postgres", "DROP ROLE IF EXISTS "+role) })
	t.Cleanup(func() {
		f.env.Control.Exec(t, f.warehouse, "REVOKE ALL ON SCHEMA tenantctl FROM PUBLIC", "REVOKE ALL ON tenantctl.tenants FROM PUBLIC",
			"REVOKE ALL ON tenantctl.watermarks FROM "+role)
	})
	f.env.Control.Exec(t, f.warehouse,
		"GRANT USAGE ON SCHEMA tenantctl TO PUBLIC",
		"GRANT SELECT ON tenantctl.tenants TO PUBLIC",
		"GRANT SELECT ON tenantctl.watermarks TO "+role)
	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckWarehouseObjects, "", "PUBLIC holds USAGE on schema tenantctl")
	requireViolation(t, r, audit.CheckWarehouseObjects, "", "PUBLIC holds SELECT on table tenantctl.tenants")
	requireViolation(t, r, audit.CheckWarehouseObjects, "alpha", role, "SELECT on table tenantctl.watermarks")
	requireOnly(t, r, audit.CheckWarehouseObjects)
	f.env.Control.Exec(t, f.warehouse, "REVOKE ALL ON SCHEMA tenantctl FROM PUBLIC", "REVOKE ALL ON tenantctl.tenants FROM PUBLIC",
		"REVOKE ALL ON tenantctl.watermarks FROM "+role)
	requireClean(t, f.audit(noProbes))
}

// TestConfinementUnderHBA checks, with the lines of `tenantctl server hba` installed
// (the test servers run with them), that every tenant's and MSP access login's
// credentials are refused by every database on its server but its own, that the admin
// role is unaffected, and that the audit reports a login outside its groups.
func TestConfinementUnderHBA(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	g, err := f.prov.GrantAccess(ctx, provisioner.GrantOptions{Login: "alice", Slug: "beta", Level: "write", Expires: "1h"})
	require.NoError(t, err)
	accessPW, err := f.store.AccessPassword(ctx, f.tenants["beta"].ID, "alice")
	require.NoError(t, err)
	r := f.audit()
	requireClean(t, r)
	evaluated := map[string]int{}
	for _, s := range r.Summary {
		evaluated[s.Check] = s.Evaluated
	}
	require.Positive(t, evaluated[audit.CheckProbeSharedDatabases])
	require.Positive(t, evaluated[audit.CheckRoleConfinement])
	require.Positive(t, evaluated[audit.CheckServerBridges])
	require.Positive(t, evaluated[audit.CheckServerTenantObjects])

	type login struct{ slug, user, password string }
	logins := []login{{"beta", g.Role, accessPW}}
	for slug, tn := range f.tenants {
		ownerPW, err := f.store.Credential(ctx, tn.ID, catalog.OwnerCredential)
		require.NoError(t, err)
		logins = append(logins, login{slug, tenantdb.AppRole(tn.ID), f.appPassword(t, slug)},
			login{slug, tenantdb.OwnerRole(tn.ID), ownerPW})
	}
	for _, l := range logins {
		srv := f.server(l.slug)
		own := f.tenants[l.slug].Database
		for _, db := range query(t, srv.Conn(t, "postgres"), `SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1`) {
			conn, err := f.login(t, l.slug, l.user, l.password, db)
			if db == own {
				require.NoError(t, err, "%s must open its own database", l.user)
				conn.Close(ctx)
				continue
			}
			require.Error(t, err, "%s must not open %s", l.user, db)
			require.Contains(t, err.Error(), "pg_hba.conf", "%s on %s", l.user, db)
		}
	}
	admin, err := f.prov.Server(ctx, "pg-a")
	require.NoError(t, err)
	conn, err := admin.Connect(ctx, "template1")
	require.NoError(t, err, "the admin role is not confined")
	conn.Close(ctx)

	// A login taken out of its groups is reported and put back by reconcile.
	beta := f.tenants["beta"]
	f.servers[0].Exec(t, "postgres", "REVOKE "+tenantdb.LoginsRole+" FROM "+tenantdb.AppRole(beta.ID),
		"DROP ROLE "+tenantdb.GroupRole(f.tenants["alpha"].ID))
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckRoleConfinement, "beta", tenantdb.AppRole(beta.ID), tenantdb.LoginsRole)
	requireViolation(t, r, audit.CheckRoleConfinement, "alpha", "group role", "missing")
	requireOnly(t, r, audit.CheckRoleConfinement)
	_, err = f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	requireClean(t, f.audit())
}

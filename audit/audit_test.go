package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// An audit sees every database and role on a server, so the fleets of two tests on the
// same servers would be each other's orphans: each test holds a pair of tenant servers
// of its own (lease) while it runs, and wipes their tenant namespace when it ends. The
// tests wait on servers far more than they compute, so they run in parallel, a pair
// each. TestAuditChangesNothing, which compares the control cluster before and after,
// runs alone (not parallel: before the parallel tests start).

// pairs is the number of tenant-server pairs the tests share out.
const pairs = 6

func TestMain(m *testing.M) {
	pgtest.Waiting(pairs)
	os.Exit(pgtest.Main(m, 2*pairs))
}

var (
	slotsOnce sync.Once
	slots     chan [2]*pgtest.Server
)

// lease holds a pair of tenant servers for the test, released when it ends. With
// TENANTCTL_TEST_DSN every "server" is one server: there is one pair, so the tests
// take turns.
func lease(t *testing.T, env *pgtest.Env) [2]*pgtest.Server {
	t.Helper()
	slotsOnce.Do(func() {
		n := pairs
		if env.External {
			n = 1
		}
		slots = make(chan [2]*pgtest.Server, n)
		for i := range n {
			slots <- [2]*pgtest.Server{env.Servers[2*i], env.Servers[2*i+1]}
		}
	})
	pair := <-slots
	t.Cleanup(func() { slots <- pair })
	return pair
}

type fleet struct {
	t   *testing.T
	env *pgtest.Env
	// servers are pg-a and pg-b, the test's own pair.
	servers   [2]*pgtest.Server
	store     *catalog.Store
	prov      *provisioner.Provisioner
	tenants   map[string]catalog.Tenant
	warehouse string
}

// setup builds a catalog with servers pg-a and pg-b, a warehouse on the control
// cluster, and tenants alpha and beta on pg-a and gamma on pg-b.
func setup(t *testing.T) *fleet {
	t.Helper()
	ctx := context.Background()
	env := pgtest.Get(t)
	pair := lease(t, env)
	var ids []string // of the fleet's tenants, for the wipe of the control cluster
	t.Cleanup(func() { wipeServers(t, pair[:], env.Control, ids) })
	db := env.Control.NewDatabase(t, "catalog")
	dsn := env.Control.SuperDSN(db)
	_, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	f := &fleet{t: t, env: env, servers: pair, store: store, prov: provisioner.New(store, nil), tenants: map[string]catalog.Tenant{}}
	names := []string{"pg-a", "pg-b"}
	for i, name := range names {
		_, err := f.prov.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: pair[i].AdminDSN(t), Capacity: 100})
		require.NoError(t, err)
		for db, fp := range builtTemplates(pair[i]) {
			require.NoError(t, f.store.SetTemplateFingerprint(ctx, name, db, fp))
		}
	}
	f.warehouse = env.Control.NewDatabase(t, "warehouse")
	_, err = f.prov.InitWarehouse(ctx, env.Control.SuperDSN(f.warehouse))
	require.NoError(t, err)
	for _, c := range []struct{ slug, name, domain, server string }{
		{"alpha", "Alpha Widgets Ltd", "alphawidgets.example", "pg-a"},
		{"beta", "Beta Logistics", "betalogistics.example", "pg-a"},
		{"gamma", "Gamma Foods", "gammafoods.example", "pg-b"},
	} {
		tn, err := f.prov.Create(ctx, provisioner.CreateOptions{Slug: c.slug, Name: c.name, Domain: c.domain, Server: c.server})
		require.NoError(t, err)
		f.tenants[c.slug] = tn
	}
	for i, name := range names {
		cs, err := f.store.GetServer(ctx, name)
		require.NoError(t, err)
		fp, err := f.store.TemplateFingerprint(ctx, name, cs.TemplateDB)
		require.NoError(t, err)
		keepTemplate(pair[i], cs.TemplateDB, fp)
	}
	t.Cleanup(func() {
		for _, tn := range f.tenants {
			ids = append(ids, tn.ID)
		}
	})
	return f
}

// The tenant template of a pair's server outlives the test that built it (the wipe
// leaves it), but a new catalog has no fingerprint recorded for it, and a template it
// cannot verify is rebuilt: two builds per test. So the fingerprint a build recorded
// is kept by server and recorded in the next test's catalog, as a catalog that built the
// template itself would hold it, with no clone witness: the test's first clone there is
// fingerprinted, so a template changed since (a test that taints one) fails that check
// and is rebuilt before any tenant is cloned from it; one dropped is built again.
var (
	templatesMu sync.Mutex
	templates   = map[*pgtest.Server]map[string]string{} // server -> template database -> fingerprint
)

func builtTemplates(s *pgtest.Server) map[string]string {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	return maps.Clone(templates[s])
}

func keepTemplate(s *pgtest.Server, db, fingerprint string) {
	templatesMu.Lock()
	defer templatesMu.Unlock()
	if db == "" || fingerprint == "" {
		delete(templates, s)
		return
	}
	templates[s] = map[string]string{db: fingerprint}
}

// wipe drops every tenant-named database and role on every server of the environment
// (the benchmarks, which run alone).
func wipe(t testing.TB, env *pgtest.Env) {
	wipeServers(t, append([]*pgtest.Server{env.Control}, env.Servers...), nil, nil)
}

// wipeServers drops every tenant-named database and role on servers, and on control
// (shared by tests running at once) those of the tenants ids.
func wipeServers(t testing.TB, servers []*pgtest.Server, control *pgtest.Server, ids []string) {
	ctx := context.Background()
	if control != nil && len(ids) > 0 {
		conn := control.Conn(t, "postgres")
		for _, id := range ids {
			for _, db := range query(t, conn, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, tenantdb.Database(id)) {
				_, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
				require.NoError(t, err)
			}
			for _, role := range query(t, conn, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, tenantdb.Database(id)) {
				_, err := conn.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{role}.Sanitize()+"; DROP ROLE "+pgx.Identifier{role}.Sanitize())
				require.NoError(t, err, role)
			}
		}
	}
	for _, s := range servers {
		conn := s.Conn(t, "postgres")
		dbs := query(t, conn, `SELECT datname FROM pg_database WHERE datname LIKE 't\_%'`)
		for _, db := range dbs {
			_, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
			require.NoError(t, err)
		}
		for _, role := range query(t, conn, `SELECT rolname FROM pg_roles WHERE rolname LIKE 't\_%' OR rolname LIKE 'audit\_test\_%' OR rolname LIKE 'msp\_%'`) {
			_, err := conn.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{role}.Sanitize()+"; DROP ROLE "+pgx.Identifier{role}.Sanitize())
			require.NoError(t, err, role)
		}
	}
}

// unconfine removes the pg_hba.conf lines that confine tenant logins from both tenant
// servers, so that probes can show what privileges alone let through; the returned
// function (also run at cleanup) puts them back.
func (f *fleet) unconfine(t *testing.T) func() {
	t.Helper()
	for _, s := range f.servers {
		s.SetHBA(t, "")
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			for _, s := range f.servers {
				s.SetHBA(t, tenantdb.HBALines(pgtest.AdminRole, ""))
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

func query(t testing.TB, conn *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

func (f *fleet) server(slug string) *pgtest.Server {
	if f.tenants[slug].Server == "pg-a" {
		return f.servers[0]
	}
	return f.servers[1]
}

// exec runs statements as superuser in database db of the tenant's server.
func (f *fleet) exec(slug, db string, stmts ...string) {
	f.t.Helper()
	f.server(slug).Exec(f.t, db, stmts...)
}

func (f *fleet) audit(mod ...func(*audit.Options)) audit.Report {
	f.t.Helper()
	o := audit.Options{Store: f.store, Seed: 1, ConnectTimeout: 0}
	for _, m := range mod {
		m(&o)
	}
	r, err := audit.Run(context.Background(), o)
	require.NoError(f.t, err)
	return r
}

func dump(r audit.Report) string {
	var b strings.Builder
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s %s [%s] %s\n", v.Severity, v.Check, v.Tenant, v.Detail)
	}
	return b.String()
}

// requireClean asserts a passing report.
func requireClean(t *testing.T, r audit.Report) {
	t.Helper()
	require.True(t, r.Passed, "expected a clean audit, got:\n%s", dump(r))
	require.Empty(t, r.Violations)
	require.NoError(t, r.Err())
}

// requireViolation asserts the report holds a violation of check for tenant whose
// detail contains every one of want.
func requireViolation(t *testing.T, r audit.Report, check, tenant string, want ...string) audit.Violation {
	t.Helper()
	require.False(t, r.Passed)
	require.ErrorIs(t, r.Err(), audit.ErrViolations)
	for _, v := range r.Violations {
		if v.Check != check || v.Tenant != tenant {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(v.Detail, w)
		}
		if ok {
			return v
		}
	}
	t.Fatalf("no %s violation for tenant %q mentioning %q in:\n%s", check, tenant, want, dump(r))
	return audit.Violation{}
}

// requireOnly asserts every violation is of one of the given checks.
func requireOnly(t *testing.T, r audit.Report, checks ...string) {
	t.Helper()
	for _, v := range r.Violations {
		require.Contains(t, checks, v.Check, "unexpected violation:\n%s", dump(r))
	}
}

func TestCleanFleetPasses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.audit()
	requireClean(t, r)
	require.Equal(t, 3, r.Tenants)
	require.Greater(t, r.Checks, 3*15)
	require.True(t, r.Scope.Probes)
	require.True(t, r.Scope.Warehouse)
	// alpha and beta try each other, and every tenant tries the others' server, its
	// own database and the warehouse.
	require.Equal(t, 3, r.Probes.Tenants)
	// Each tenant probes with two logins, its app role and its owner role.
	require.Zero(t, r.Probes.Connected-6, "only the six own-database logins may succeed (app and owner of three tenants)")
	require.Equal(t, r.Probes.Attempts-6, r.Probes.Refused)
	require.Len(t, r.Results, 3)
	for _, res := range r.Results {
		require.True(t, res.Passed)
		require.Positive(t, res.Probes)
	}
	for _, s := range r.Servers {
		require.True(t, s.Reachable)
		require.Equal(t, 4, s.Queries, "server-wide checks take a constant number of queries")
	}
	checks := map[string]int{}
	for _, s := range r.Summary {
		checks[s.Check] = s.Evaluated
	}
	for _, c := range []string{audit.CheckDBExists, audit.CheckDBOwner, audit.CheckDBPublicACL, audit.CheckDBConnectRoles,
		audit.CheckDBExtensions, audit.CheckDBObjectOwner, audit.CheckRoleAttributes, audit.CheckRoleMembership, audit.CheckNamesOpaque,
		audit.CheckWarehouseACL, audit.CheckWarehouseTenantAccess, audit.CheckOrphanDatabase, audit.CheckOrphanRole,
		audit.CheckMissingRole, audit.CheckProbeOwn, audit.CheckProbeCross, audit.CheckProbeWarehouse, audit.CheckServerReachable} {
		require.Positive(t, checks[c], "check %s was not evaluated", c)
	}
	require.Equal(t, 6, checks[audit.CheckProbeOwn], "two logins per tenant: app and owner")
	require.Equal(t, 6, checks[audit.CheckRoleAttributes])

	// The same report renders in every format; the recorded hash is the JSON's.
	b, err := r.JSON()
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	require.Equal(t, hex.EncodeToString(sum[:]), r.SHA256)
	require.Positive(t, r.RunID)

	noProbes := f.audit(func(o *audit.Options) { o.NoProbes = true })
	requireClean(t, noProbes)
	require.False(t, noProbes.Probes.Enabled)
	require.Zero(t, noProbes.Probes.Attempts)
	require.Less(t, noProbes.Checks, r.Checks)
}

// TestSabotageDetected breaks isolation one way at a time and checks that the audit
// names the violation and the tenant, then repairs it and checks the fleet passes again.
func TestSabotageDetected(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta, gamma := f.tenants["alpha"], f.tenants["beta"], f.tenants["gamma"]
	requireClean(t, f.audit())

	t.Run("connect granted to PUBLIC", func(t *testing.T) {
		f.exec("alpha", "postgres", "GRANT CONNECT ON DATABASE "+alpha.Database+" TO PUBLIC")
		r := f.audit()
		v := requireViolation(t, r, audit.CheckDBPublicACL, "alpha", "PUBLIC holds CONNECT", alpha.Database)
		require.Equal(t, audit.Critical, v.Severity)
		// The server's pg_hba.conf still keeps beta out of alpha's database.
		requireOnly(t, r, audit.CheckDBPublicACL)

		// Without the lines, beta's credentials open alpha's database: the live probe proves it.
		restore := f.unconfine(t)
		r = f.audit()
		requireViolation(t, r, audit.CheckProbeCross, "alpha", "tenant beta", "logged in to database "+alpha.Database)
		requireViolation(t, r, audit.CheckProbeSharedDatabases, "alpha", "logged in to database postgres on server pg-a", "tenantctl server hba pg-a")
		// The effective rules say so too, for every tenant of both servers.
		requireViolation(t, r, audit.CheckServerHBA, "gamma", "are not in the server's pg_hba.conf")
		requireOnly(t, r, audit.CheckDBPublicACL, audit.CheckProbeCross, audit.CheckProbeSharedDatabases, audit.CheckServerHBA)
		restore()
		f.exec("alpha", "postgres", "REVOKE ALL ON DATABASE "+alpha.Database+" FROM PUBLIC")
		requireClean(t, f.audit())
	})

	t.Run("tenant role member of another tenant's role", func(t *testing.T) {
		f.exec("alpha", "postgres", "GRANT "+tenantdb.OwnerRole(beta.ID)+" TO "+tenantdb.AppRole(alpha.ID))
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		v := requireViolation(t, r, audit.CheckRoleMembership, "alpha", tenantdb.AppRole(alpha.ID), tenantdb.OwnerRole(beta.ID), "tenant beta")
		require.Equal(t, audit.Critical, v.Severity)
		requireViolation(t, r, audit.CheckDBConnectRoles, "beta", tenantdb.AppRole(alpha.ID), "tenant alpha", "member of "+tenantdb.OwnerRole(beta.ID))
		requireOnly(t, r, audit.CheckRoleMembership, audit.CheckDBConnectRoles)
		f.exec("alpha", "postgres", "REVOKE "+tenantdb.OwnerRole(beta.ID)+" FROM "+tenantdb.AppRole(alpha.ID))
		requireClean(t, f.audit(func(o *audit.Options) { o.NoProbes = true }))
	})

	t.Run("tenant role can connect to the warehouse", func(t *testing.T) {
		// The warehouse lives on another cluster than the tenant servers: a role named
		// like alpha's app role, with alpha's password, is what would let alpha in.
		pw, err := f.store.Credential(ctx, alpha.ID, "app")
		require.NoError(t, err)
		verifier, err := secret.ScramVerifier(pw)
		require.NoError(t, err)
		role := tenantdb.AppRole(alpha.ID)
		f.env.Control.Exec(t, "postgres",
			"CREATE ROLE "+role+" LOGIN PASSWORD '"+verifier+"'",
			"GRANT CONNECT ON DATABASE "+f.warehouse+" TO "+role)
		r := f.audit()
		requireViolation(t, r, audit.CheckWarehouseTenantAccess, "alpha", role, f.warehouse)
		requireViolation(t, r, audit.CheckProbeWarehouse, "alpha", "logged in to the warehouse")
		requireOnly(t, r, audit.CheckWarehouseTenantAccess, audit.CheckProbeWarehouse)
		f.env.Control.Exec(t, "postgres", "REVOKE CONNECT ON DATABASE "+f.warehouse+" FROM "+role, "DROP ROLE "+role)
		requireClean(t, f.audit())
	})

	t.Run("orphan tenant database", func(t *testing.T) {
		f.exec("gamma", "postgres", "CREATE DATABASE t_zzzzzzzzzz")
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		v := requireViolation(t, r, audit.CheckOrphanDatabase, "", "t_zzzzzzzzzz", "pg-b", "no catalog tenant")
		require.Equal(t, "pg-b", v.Server)
		requireOnly(t, r, audit.CheckOrphanDatabase)
		f.exec("gamma", "postgres", "DROP DATABASE t_zzzzzzzzzz")
		requireClean(t, f.audit(func(o *audit.Options) { o.NoProbes = true }))
	})

	t.Run("tenant role made CREATEDB", func(t *testing.T) {
		f.exec("gamma", "postgres", "ALTER ROLE "+tenantdb.AppRole(gamma.ID)+" CREATEDB")
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckRoleAttributes, "gamma", tenantdb.AppRole(gamma.ID), "CREATEDB")
		requireOnly(t, r, audit.CheckRoleAttributes)
		f.exec("gamma", "postgres", "ALTER ROLE "+tenantdb.AppRole(gamma.ID)+" NOCREATEDB")
	})

	t.Run("pg_read_all_data granted to a tenant role", func(t *testing.T) {
		f.exec("beta", "postgres", "GRANT pg_read_all_data TO "+tenantdb.AppRole(beta.ID))
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		v := requireViolation(t, r, audit.CheckRoleMembership, "beta", "pg_read_all_data")
		require.Equal(t, audit.Critical, v.Severity)
		requireOnly(t, r, audit.CheckRoleMembership)
		f.exec("beta", "postgres", "REVOKE pg_read_all_data FROM "+tenantdb.AppRole(beta.ID))

		// Through another role counts too.
		f.exec("beta", "postgres", "CREATE ROLE audit_test_monitoring", "GRANT pg_monitor TO audit_test_monitoring",
			"GRANT audit_test_monitoring TO "+tenantdb.OwnerRole(beta.ID))
		r = f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckRoleMembership, "beta", "pg_monitor", "through audit_test_monitoring")
		requireViolation(t, r, audit.CheckRoleMembership, "beta", "pg_read_all_stats")
		f.exec("beta", "postgres", "DROP ROLE audit_test_monitoring")
	})

}

// TestSabotageDetectedInDatabases is the second half of TestSabotageDetected's cases,
// on a fleet (and a pair of servers) of its own so that the halves run at once.
func TestSabotageDetectedInDatabases(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta, gamma := f.tenants["alpha"], f.tenants["beta"], f.tenants["gamma"]
	requireClean(t, f.audit())

	t.Run("dblink installed in a tenant database", func(t *testing.T) {
		f.exec("gamma", gamma.Database, "CREATE EXTENSION dblink")
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckDBExtensions, "gamma", "extension dblink", gamma.Database)
		requireOnly(t, r, audit.CheckDBExtensions)
		f.exec("gamma", gamma.Database, "DROP EXTENSION dblink")

		f.exec("gamma", gamma.Database, "CREATE EXTENSION postgres_fdw",
			"CREATE SERVER audit_test_elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres')",
			"CREATE USER MAPPING FOR "+tenantdb.OwnerRole(gamma.ID)+" SERVER audit_test_elsewhere")
		r = f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckDBExtensions, "gamma", "extension postgres_fdw")
		requireViolation(t, r, audit.CheckDBExtensions, "gamma", "foreign server audit_test_elsewhere")
		requireViolation(t, r, audit.CheckDBExtensions, "gamma", "user mapping audit_test_elsewhere:"+tenantdb.OwnerRole(gamma.ID))
		f.exec("gamma", gamma.Database, "DROP EXTENSION postgres_fdw CASCADE")
	})

	t.Run("object not owned by the tenant owner", func(t *testing.T) {
		f.exec("gamma", gamma.Database, "CREATE TABLE public.audit_test_stray (id int)")
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckDBObjectOwner, "gamma", "table public.audit_test_stray owned by postgres")
		requireOnly(t, r, audit.CheckDBObjectOwner)
		f.exec("gamma", gamma.Database, "DROP TABLE public.audit_test_stray")
	})

	t.Run("database comment holds a customer's name", func(t *testing.T) {
		f.exec("beta", "postgres", "COMMENT ON DATABASE "+beta.Database+" IS 'main database of Beta Logistics (ops@betalogistics.example)'")
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		v := requireViolation(t, r, audit.CheckNamesOpaque, "beta", "comment on database", beta.Database, "display name", "email domain")
		require.Equal(t, "pg-a", v.Server)
		requireOnly(t, r, audit.CheckNamesOpaque)
		f.exec("beta", "postgres", "COMMENT ON DATABASE "+beta.Database+" IS NULL")

		// A role named after a customer, on another server than the customer's.
		f.exec("gamma", "postgres", "CREATE ROLE audit_test_alphawidgets_reader")
		r = f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckNamesOpaque, "alpha", `role name "audit_test_alphawidgets_reader"`, "pg-b")
		f.exec("gamma", "postgres", "DROP ROLE audit_test_alphawidgets_reader")
	})

	requireClean(t, f.audit())

	t.Run("missing tenant database", func(t *testing.T) {
		f.exec("gamma", "postgres", "DROP DATABASE "+gamma.Database+" WITH (FORCE)")
		r := f.audit()
		v := requireViolation(t, r, audit.CheckDBExists, "gamma", gamma.Database, "does not exist on server pg-b")
		require.Equal(t, audit.Critical, v.Severity)
		requireViolation(t, r, audit.CheckProbeOwn, "gamma", "no database")
		requireOnly(t, r, audit.CheckDBExists, audit.CheckProbeOwn)

		// Repair by hand what reconcile would: the database again, from the template.
		srv, err := f.prov.Server(ctx, "pg-b")
		require.NoError(t, err)
		cs, err := f.store.GetServer(ctx, "pg-b")
		require.NoError(t, err)
		require.NoError(t, srv.CreateDatabase(ctx, gamma.ID, cs.TemplateDB))
		require.NoError(t, srv.Harden(ctx, gamma.ID))
		require.NoError(t, srv.SetDomain(ctx, gamma.ID, gamma.Domain))
		requireClean(t, f.audit())
	})

	t.Run("tenant database on the wrong server", func(t *testing.T) {
		srvA, err := f.prov.Server(ctx, "pg-a")
		require.NoError(t, err)
		// gamma's roles and database, recreated on pg-a, as a botched move would leave them.
		require.NoError(t, srvA.EnsureRoles(ctx, gamma.ID, secret.NewPassword(), secret.NewPassword(), false))
		require.NoError(t, srvA.CreateDatabase(ctx, gamma.ID, ""))
		r := f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckOrphanDatabase, "gamma", gamma.Database, "server pg-a", "places on pg-b")
		requireViolation(t, r, audit.CheckOrphanRole, "gamma", tenantdb.AppRole(gamma.ID), "server pg-a")
		requireOnly(t, r, audit.CheckOrphanDatabase, audit.CheckOrphanRole)
		require.NoError(t, srvA.DropDatabase(ctx, gamma.ID))
		require.NoError(t, srvA.DropRoles(ctx, gamma.ID))

		// Now gone from pg-b too: the catalog's server lacks it, and the audit says where it is.
		f.exec("gamma", "postgres", "ALTER DATABASE "+gamma.Database+" RENAME TO t_yyyyyyyyyy")
		f.servers[0].Exec(t, "postgres", "CREATE DATABASE "+gamma.Database)
		r = f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckDBExists, "gamma", "not on server pg-b", "but on pg-a")
		f.servers[0].Exec(t, "postgres", "DROP DATABASE "+gamma.Database)
		f.exec("gamma", "postgres", "ALTER DATABASE t_yyyyyyyyyy RENAME TO "+gamma.Database)
	})

	t.Run("missing role and suspended tenant that can log in", func(t *testing.T) {
		require.NoError(t, f.prov.Suspend(ctx, "beta"))
		r := f.audit()
		requireClean(t, r)
		require.Equal(t, 1, r.Probes.Skipped, "a suspended tenant cannot log in and is not probed")
		f.exec("beta", "postgres", "ALTER ROLE "+tenantdb.AppRole(beta.ID)+" LOGIN")
		r = f.audit(func(o *audit.Options) { o.NoProbes = true })
		requireViolation(t, r, audit.CheckRoleAttributes, "beta", "LOGIN although the tenant is suspended")
		f.exec("beta", "postgres", "ALTER ROLE "+tenantdb.AppRole(beta.ID)+" NOLOGIN")
		require.NoError(t, f.prov.Resume(ctx, "beta"))

		f.exec("alpha", alpha.Database, "DROP OWNED BY "+tenantdb.AppRole(alpha.ID))
		f.exec("alpha", "postgres", "DROP OWNED BY "+tenantdb.AppRole(alpha.ID), "DROP ROLE "+tenantdb.AppRole(alpha.ID))
		r = f.audit()
		requireViolation(t, r, audit.CheckMissingRole, "alpha", tenantdb.AppRole(alpha.ID))
		requireViolation(t, r, audit.CheckProbeOwn, "alpha", "could not log in to its own database")
	})
}

// snapshotServers captures what an audit must not change: databases, roles,
// memberships, comments and ACLs on every server, and the objects and ACLs inside every
// tenant database.
func snapshotServers(t *testing.T, f *fleet) string {
	t.Helper()
	var b strings.Builder
	for _, s := range append([]*pgtest.Server{f.env.Control}, f.servers[:]...) {
		conn := s.Conn(t, "postgres")
		for _, q := range []string{
			`SELECT datname || ' ' || datdba::regrole || ' ' || coalesce(datacl::text, '') || ' ' || datallowconn || ' ' || datconnlimit || ' ' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database ORDER BY 1`,
			`SELECT rolname || ' ' || rolsuper || rolcreatedb || rolcreaterole || rolcanlogin || rolreplication || rolbypassrls || ' ' || rolconnlimit || ' ' || coalesce(rolpassword, '') || ' ' || coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_authid ORDER BY 1`,
			`SELECT roleid::regrole || ' ' || member::regrole || ' ' || admin_option FROM pg_auth_members ORDER BY 1`,
		} {
			fmt.Fprintln(&b, strings.Join(query(t, conn, q), "\n"))
		}
		for _, db := range query(t, conn, `SELECT datname FROM pg_database WHERE datname LIKE 't\_%' AND datallowconn ORDER BY 1`) {
			c := s.Conn(t, db)
			fmt.Fprintln(&b, db, strings.Join(query(t, c, `
				SELECT c.oid::regclass || ' ' || c.relowner::regrole || ' ' || coalesce(c.relacl::text, '') FROM pg_class c
				JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
				UNION ALL SELECT nspname || ' ' || nspowner::regrole || ' ' || coalesce(nspacl::text, '') FROM pg_namespace
				UNION ALL SELECT extname FROM pg_extension
				UNION ALL SELECT defaclrole::regrole || ' ' || defaclacl::text FROM pg_default_acl ORDER BY 1`), "\n"))
		}
	}
	return b.String()
}

func TestAuditChangesNothing(t *testing.T) {
	f := setup(t)
	// With drift in place, so an audit that "fixed" things would show.
	f.exec("alpha", "postgres", "GRANT CONNECT ON DATABASE "+f.tenants["alpha"].Database+" TO PUBLIC",
		"ALTER ROLE "+tenantdb.AppRole(f.tenants["beta"].ID)+" CREATEDB",
		"CREATE DATABASE t_xxxxxxxxxx")
	before := snapshotServers(t, f)
	r := f.audit()
	require.False(t, r.Passed)
	require.Positive(t, r.Probes.Attempts)
	require.Equal(t, before, snapshotServers(t, f), "the audit changed a server")
}

func TestServerDownIsReportedAndTheRestAudited(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// A server that cannot be reached, holding one tenant.
	require.NoError(t, f.store.AddServer(ctx, catalog.Server{Name: "pg-down", Host: "127.0.0.1", Port: 1, AdminRole: "x", VersionNum: 150000, Capacity: 10},
		"postgres://x:down-password-123@127.0.0.1:1/postgres?connect_timeout=2"))
	lost := catalog.Tenant{ID: tenantdb.NewID(), Slug: "lost", Name: "Lost Co", Domain: "lost.example", Server: "pg-down"}
	require.NoError(t, f.store.InsertTenant(ctx, lost))
	active := catalog.StateActive
	require.NoError(t, f.store.UpdateTenant(ctx, lost.ID, catalog.TenantUpdate{State: &active}))

	r := f.audit(func(o *audit.Options) { o.ConnectTimeout = 2e9 })
	v := requireViolation(t, r, audit.CheckServerReachable, "lost", "pg-down")
	require.Equal(t, audit.Critical, v.Severity)
	requireOnly(t, r, audit.CheckServerReachable)
	require.Equal(t, 4, r.Tenants)
	for _, res := range r.Results {
		require.Equal(t, res.Tenant != "lost", res.Passed, res.Tenant)
		if res.Tenant != "lost" {
			require.Positive(t, res.Probes)
		}
	}
	var down audit.ServerResult
	for _, s := range r.Servers {
		if s.Name == "pg-down" {
			down = s
		}
	}
	require.False(t, down.Reachable)
	require.NotContains(t, down.Error, "down-password-123")
}

func TestOneTenantScopeAndHistory(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// Fleet-wide drift the one-tenant audit does not look at.
	f.exec("gamma", "postgres", "CREATE DATABASE t_wwwwwwwwww")
	r := f.audit(func(o *audit.Options) { o.Tenant = "alpha" })
	requireClean(t, r)
	require.Equal(t, 1, r.Tenants)
	require.Len(t, r.Results, 1)
	require.Nil(t, r.Changes, "the first run of its scope has nothing to compare with")
	first := r.RunID

	f.exec("alpha", "postgres", "GRANT TEMPORARY ON DATABASE "+f.tenants["alpha"].Database+" TO PUBLIC")
	r = f.audit(func(o *audit.Options) { o.Tenant = "alpha" })
	v := requireViolation(t, r, audit.CheckDBPublicACL, "alpha", "TEMPORARY")
	require.Equal(t, audit.High, v.Severity)
	require.NotNil(t, r.Changes)
	require.Equal(t, first, r.Changes.PreviousRun)
	require.Equal(t, []audit.Violation{v}, r.Changes.New)
	require.Empty(t, r.Changes.Resolved)

	f.exec("alpha", "postgres", "REVOKE ALL ON DATABASE "+f.tenants["alpha"].Database+" FROM PUBLIC")
	r = f.audit(func(o *audit.Options) { o.Tenant = "alpha" })
	requireClean(t, r)
	require.Equal(t, []audit.Violation{v}, r.Changes.Resolved)

	one := audit.Options{Store: f.store}
	one.Tenant = "nobody"
	_, err := audit.Run(ctx, one)
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)

	// A run without probes compares only with runs without probes.
	noProbes := f.audit(func(o *audit.Options) { o.Tenant = "alpha"; o.NoProbes = true })
	require.Nil(t, noProbes.Changes)

	// The fleet audit compares with fleet runs only, and does see the orphan.
	fleetRun := f.audit(func(o *audit.Options) { o.NoProbes = true })
	requireViolation(t, fleetRun, audit.CheckOrphanDatabase, "", "t_wwwwwwwwww")
	require.Nil(t, fleetRun.Changes)

	runs, err := audit.History(ctx, f.store, 10)
	require.NoError(t, err)
	require.Len(t, runs, 5)
	require.Equal(t, fleetRun.RunID, runs[0].ID)
	require.Equal(t, "", runs[0].Scope)
	require.False(t, runs[0].Probes)
	require.Equal(t, fleetRun.SHA256, runs[0].ReportSHA256)
	require.Equal(t, "alpha", runs[2].Scope)
	require.True(t, runs[2].Passed)
	require.Equal(t, 1, runs[2].Resolved)
	require.Equal(t, 1, runs[3].New)
	require.False(t, runs[3].Passed)
	require.Equal(t, 1, runs[3].Violations)
	got, err := audit.RunViolations(ctx, f.store, runs[3].ID)
	require.NoError(t, err)
	require.Equal(t, []audit.Violation{v}, got)
	require.True(t, slices.IsSortedFunc(fleetRun.Violations, func(a, b audit.Violation) int {
		return strings.Compare(a.Check+a.Tenant+a.Detail, b.Check+b.Tenant+b.Detail)
	}))
}

// TestAuditPassesAfterReconcile breaks isolation in the ways reconcile repairs, checks
// that the audit names each, runs the real reconcile and checks the fleet passes again;
// then breaks it in a way reconcile only reports, which the audit keeps flagging.
func TestAuditPassesAfterReconcile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	alpha, beta, gamma := f.tenants["alpha"], f.tenants["beta"], f.tenants["gamma"]

	// MSP access granted through tenantctl is expected, not a violation.
	grant, err := f.prov.GrantAccess(ctx, provisioner.GrantOptions{Login: "alice", Slug: "alpha", Reason: "ticket 42", Expires: "8h"})
	require.NoError(t, err)
	_, err = f.prov.GrantAccess(ctx, provisioner.GrantOptions{Login: "bob", Slug: "beta", Expires: "8h"})
	require.NoError(t, err)
	requireClean(t, f.audit())

	mallory := tenantdb.AccessRole("mallory", gamma.ID)
	f.exec("alpha", "postgres",
		"GRANT CONNECT ON DATABASE "+alpha.Database+" TO PUBLIC",
		"GRANT CONNECT ON DATABASE "+beta.Database+" TO "+tenantdb.AppRole(alpha.ID))
	f.exec("gamma", "postgres",
		"ALTER ROLE "+tenantdb.AppRole(gamma.ID)+" CREATEDB",
		"CREATE ROLE "+mallory+" LOGIN",
		"GRANT CONNECT ON DATABASE "+gamma.Database+" TO "+mallory)
	_, err = f.store.Pool().Exec(ctx, `UPDATE access_grants SET expires_at = now() - interval '1 hour' WHERE login = 'bob'`)
	require.NoError(t, err)

	restore := f.unconfine(t)
	r := f.audit()
	restore()
	requireViolation(t, r, audit.CheckDBPublicACL, "alpha", "CONNECT")
	requireViolation(t, r, audit.CheckProbeCross, "alpha", "tenant beta")
	requireViolation(t, r, audit.CheckDBConnectRoles, "beta", tenantdb.AppRole(alpha.ID), "tenant alpha", "holds CONNECT")
	requireViolation(t, r, audit.CheckProbeCross, "beta", "tenant alpha")
	requireViolation(t, r, audit.CheckRoleAttributes, "gamma", "CREATEDB")
	requireViolation(t, r, audit.CheckDBConnectRoles, "gamma", mallory)
	v := requireViolation(t, r, audit.CheckDBConnectRoles, "beta", "MSP access of bob expired")
	require.Equal(t, audit.Medium, v.Severity)
	require.NotContains(t, dump(r), grant.Role, "alice's unexpired grant is expected")

	_, err = f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	requireClean(t, f.audit())

	// Reconcile never removes memberships it did not grant; the audit keeps reporting.
	f.exec("alpha", "postgres", "GRANT pg_read_all_data TO "+tenantdb.OwnerRole(alpha.ID))
	_, err = f.prov.Reconcile(ctx, provisioner.ReconcileOptions{})
	require.NoError(t, err)
	r = f.audit(func(o *audit.Options) { o.NoProbes = true })
	requireViolation(t, r, audit.CheckRoleMembership, "alpha", "pg_read_all_data")
	requireOnly(t, r, audit.CheckRoleMembership)
}

package rollup_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(pgtest.Main(m, 2))
}

// testBundle is one test's own catalog, warehouse and tenants on the two shared test
// servers (registered as pg-a and pg-b).
type testBundle struct {
	t          testing.TB
	env        *pgtest.Env
	catalogDSN string
	key        string
	store      *catalog.Store
	prov       *provisioner.Provisioner
	whDSN      string
	wh         *pgx.Conn
	tenants    []catalog.Tenant
}

type setupOptions struct {
	tenants int
	// warehouseOnServer puts the warehouse on tenant server pg-a instead of the control
	// cluster, where tenant roles exist.
	warehouseOnServer bool
	// migrations replace the embedded tenant schema.
	migrations fs.FS
}

func setup(t testing.TB, o setupOptions) *testBundle {
	t.Helper()
	env := pgtest.Get(t)
	ctx := context.Background()
	b := &testBundle{t: t, env: env, key: pgtest.Key()}
	b.catalogDSN = env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	_, err := catalog.Init(ctx, b.catalogDSN)
	require.NoError(t, err)
	box, err := secret.LoadKey("", b.key)
	require.NoError(t, err)
	b.store, err = catalog.Open(ctx, b.catalogDSN, box)
	require.NoError(t, err)
	t.Cleanup(b.store.Close)
	b.prov = provisioner.New(b.store, hclog.NewNullLogger())
	b.prov.TenantMigrations = o.migrations
	for i, name := range []string{"pg-a", "pg-b"} {
		_, err := b.prov.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(t), Capacity: 100})
		require.NoError(t, err)
	}
	whServer := env.Control
	if o.warehouseOnServer {
		whServer = env.Servers[0]
	}
	b.whDSN = whServer.SuperDSN(whServer.NewDatabase(t, "warehouse"))
	_, err = b.prov.InitWarehouse(ctx, b.whDSN)
	require.NoError(t, err)
	b.wh = b.conn(b.whDSN)
	for i := 0; i < o.tenants; i++ {
		b.addTenant([]string{"pg-a", "pg-b"}[i%2])
	}
	return b
}

func (b *testBundle) conn(dsn string) *pgx.Conn {
	b.t.Helper()
	conn, err := dbconn.Connect(context.Background(), dsn)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(context.Background(), "SET TimeZone = 'UTC'")
	require.NoError(b.t, err)
	return conn
}

func (b *testBundle) addTenant(server string) catalog.Tenant {
	b.t.Helper()
	n := len(b.tenants)
	slug := fmt.Sprintf("cust-%d-%s", n, pgtest.RandomSuffix())
	ten, err := b.prov.Create(context.Background(), provisioner.CreateOptions{
		Slug: slug, Name: "Customer " + slug, Domain: slug + ".example", Server: server,
	})
	require.NoError(b.t, err)
	b.tenants = append(b.tenants, ten)
	return ten
}

// server returns the test server holding a tenant.
func (b *testBundle) server(ten catalog.Tenant) *pgtest.Server {
	if ten.Server == "pg-b" {
		return b.env.Servers[1]
	}
	return b.env.Servers[0]
}

// tenantConn opens a superuser connection to a tenant's database.
func (b *testBundle) tenantConn(ten catalog.Tenant) *pgx.Conn {
	b.t.Helper()
	return b.conn(b.server(ten).SuperDSN(tenantdb.Database(ten.ID)))
}

// asOwner runs statements in a tenant database as its owner role (objects created there
// belong to the tenant, as migrations' objects do).
func (b *testBundle) asOwner(ten catalog.Tenant, stmts ...string) {
	b.t.Helper()
	all := append([]string{"SET ROLE " + tenantdb.OwnerRole(ten.ID)}, stmts...)
	b.server(ten).Exec(b.t, tenantdb.Database(ten.ID), all...)
}

func exec(t testing.TB, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := conn.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}

// seed adds n users, systems and incidents to a tenant.
func seed(t testing.TB, conn *pgx.Conn, n int) {
	t.Helper()
	tag := pgtest.RandomSuffix()
	exec(t, conn,
		fmt.Sprintf(`INSERT INTO users (email, full_name, role)
			SELECT 'u' || g || '-%s@x.example', 'User ' || g, (ARRAY['admin','member','viewer'])[1 + g %% 3]
			FROM generate_series(1, %d) g`, tag, n),
		fmt.Sprintf(`INSERT INTO systems (name, kind, serial, owner_id)
			SELECT 'sys ' || g, 'server', md5(g::text), (SELECT min(id) FROM users) FROM generate_series(1, %d) g`, n),
		fmt.Sprintf(`INSERT INTO incidents (title, priority, reporter_id, system_id, resolved_at)
			SELECT 'incident ' || g, 1 + g %% 4, (SELECT max(id) FROM users), (SELECT max(id) FROM systems),
			       CASE WHEN g %% 3 = 0 THEN now() END
			FROM generate_series(1, %d) g`, n))
}

// mutate inserts, updates and deletes rows of a tenant.
func mutate(t testing.TB, conn *pgx.Conn, n int) {
	t.Helper()
	seed(t, conn, n)
	exec(t, conn,
		fmt.Sprintf(`UPDATE incidents SET status = 'resolved', resolved_at = now(), title = title || ' (fixed)'
			WHERE id IN (SELECT id FROM incidents WHERE status = 'open' ORDER BY random() LIMIT %d)`, n),
		fmt.Sprintf(`DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY random() LIMIT %d)`, n/2+1),
		`UPDATE users SET full_name = full_name || '!' WHERE id = (SELECT min(id) FROM users)`)
}

var defaultTables = []string{"users", "systems", "incidents"}

// checksum is a table's row count and an order-independent digest of every column.
type checksum struct {
	Rows   int64
	Digest string
}

// requireEqual checks that the warehouse holds exactly each tenant's rows of tables.
func (b *testBundle) requireEqual(tables []string, tenants ...catalog.Tenant) {
	b.t.Helper()
	if len(tenants) == 0 {
		tenants = b.tenants
	}
	for _, ten := range tenants {
		src := b.tenantConn(ten)
		for _, table := range tables {
			want, got := b.checksums(src, ten.ID, table)
			require.Equal(b.t, want, got, "tenant %s table %s: warehouse differs from the tenant", ten.Slug, table)
		}
		src.Close(context.Background())
	}
}

func (b *testBundle) checksums(src *pgx.Conn, tenantID, table string) (want, got checksum) {
	b.t.Helper()
	ctx := context.Background()
	rows, err := src.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
	require.NoError(b.t, err)
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(b.t, err)
	list := make([]string, len(cols))
	for i, c := range cols {
		list[i] = pgx.Identifier{c}.Sanitize()
	}
	q := `SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM (SELECT %s FROM %s %s) x`
	require.NoError(b.t, src.QueryRow(ctx, fmt.Sprintf(q, strings.Join(list, ", "), pgx.Identifier{table}.Sanitize(), "")).
		Scan(&want.Rows, &want.Digest))
	require.NoError(b.t, b.wh.QueryRow(ctx, fmt.Sprintf(q, strings.Join(list, ", "), pgx.Identifier{"public", table}.Sanitize(), "WHERE tenant_id = $1"), tenantID).
		Scan(&got.Rows, &got.Digest))
	return want, got
}

// run rolls up every tenant with the default spec.
func (b *testBundle) run(o rollup.Options) (rollup.Result, error) {
	b.t.Helper()
	o.Store = b.store
	if len(o.Spec.Tables) == 0 {
		o.Spec = rollup.DefaultSpec()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return rollup.Run(ctx, o)
}

func (b *testBundle) mustRun(o rollup.Options) rollup.Result {
	b.t.Helper()
	res, err := b.run(o)
	require.NoError(b.t, err)
	for _, tr := range res.Tenants {
		require.Equal(b.t, rollup.StatusOK, tr.Status, "tenant %s: %s", tr.Slug, tr.Error)
	}
	return res
}

func tenantResult(t *testing.T, res rollup.Result, slug string) rollup.TenantResult {
	t.Helper()
	for _, tr := range res.Tenants {
		if tr.Slug == slug {
			return tr
		}
	}
	t.Fatalf("no result for tenant %s", slug)
	return rollup.TenantResult{}
}

func tableResult(t *testing.T, tr rollup.TenantResult, table string) rollup.TableResult {
	t.Helper()
	for _, r := range tr.Tables {
		if r.Table == table {
			return r
		}
	}
	t.Fatalf("no result for table %s of tenant %s", table, tr.Slug)
	return rollup.TableResult{}
}

func (b *testBundle) whCount(table, tenantID string) int64 {
	b.t.Helper()
	var n int64
	require.NoError(b.t, b.wh.QueryRow(context.Background(),
		"SELECT count(*) FROM "+pgx.Identifier{"public", table}.Sanitize()+" WHERE tenant_id = $1", tenantID).Scan(&n))
	return n
}

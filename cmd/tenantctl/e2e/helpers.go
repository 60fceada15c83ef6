package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/testbin"
)

// BuildBinary returns the tenantctl binary, built once per test binary (or the one
// TENANTCTL_TEST_BINARY names: see package testbin).
func BuildBinary(t *testing.T) string {
	t.Helper()
	return testbin.Tenantctl(t)
}

// Subprocess starts the built binary against the CLI's catalog.
func (c *CLI) Subprocess(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append(env, "TENANTCTL_CONFIG=", "TENANTCTL_LOG_LEVEL=error",
		"TENANTCTL_CATALOG_DSN="+c.Env["TENANTCTL_CATALOG_DSN"], "TENANTCTL_SECRET_KEY="+c.Env["TENANTCTL_SECRET_KEY"])...)
	return cmd
}

// ServerRow is a row of `server list -o json`.
type ServerRow struct {
	Name        string `json:"name"`
	Spares      int    `json:"spares"`
	SparesReady int    `json:"spares_ready"`
	Tenants     int    `json:"tenants"`
}

// ServerRow returns the server's row of `server list`.
func (c *CLI) ServerRow(name string) ServerRow {
	c.T.Helper()
	for _, s := range Decode[[]ServerRow](c.T, c.MustRun("server", "list", "-o", "json")) {
		if s.Name == name {
			return s
		}
	}
	c.T.Fatalf("server %s not listed", name)
	return ServerRow{}
}

// serviceDeskColumns are the columns of the embedded tenant schema's tables, which the
// warehouse holds too.
var serviceDeskColumns = map[string]string{
	"users":     "id, email, full_name, role, created_at",
	"systems":   "id, name, kind, serial, owner_id, status, created_at",
	"incidents": "id, title, status, priority, reporter_id, system_id, opened_at, resolved_at",
}

// TableSums returns count and checksum of each service desk table, read through conn
// (filtered to one tenant when tenantID is set, for the warehouse).
func TableSums(t *testing.T, conn *pgx.Conn, tenantID string) map[string]string {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "SET timezone = 'UTC'")
	require.NoError(t, err)
	out := map[string]string{}
	for table, cols := range serviceDeskColumns {
		where := ""
		if tenantID != "" {
			where = " WHERE tenant_id = '" + tenantID + "'"
		}
		var n int64
		var sum string
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(hashtextextended(ROW(`+cols+`)::text, 0)::numeric), 0)::text FROM `+table+where).Scan(&n, &sum))
		out[table] = fmt.Sprintf("%d rows, checksum %s", n, sum)
	}
	return out
}

// Fill inserts n users, n systems and 3n incidents through the app's DSN.
func Fill(t *testing.T, dsn string, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO users (email, full_name, role) SELECT 'u' || g || '-' || md5(random()::text) || '@x.example', 'User ' || g, 'member' FROM generate_series(1, $1::int) g`,
		`INSERT INTO systems (name, kind, serial, status) SELECT 'sys ' || g, 'server', md5(g::text), 'in_service' FROM generate_series(1, $1::int) g`,
		`INSERT INTO incidents (title, priority, reporter_id, resolved_at)
			SELECT 'incident ' || g || repeat('x', g % 200), 1 + g % 4, (SELECT min(id) FROM users), CASE WHEN g % 3 = 0 THEN now() END
			FROM generate_series(1, 3 * $1::int) g`,
	} {
		_, err = conn.Exec(ctx, q, n)
		require.NoError(t, err)
	}
}

// TenantRef is a tenant made by CreateTenant.
type TenantRef struct {
	Slug, ID, DSN string
}

// CreateTenant creates a tenant on server and returns it, its app DSN a secret of the CLI.
func CreateTenant(t *testing.T, c *CLI, server string) TenantRef {
	t.Helper()
	slug := "mv-" + pgtest.RandomSuffix()[:6]
	created := Decode[map[string]any](t, c.MustRun("tenant", "create", slug, "--name", "Move "+slug, "--domain", slug+".example", "--server", server, "-o", "json"))
	dsn := DSNOf(c, slug)
	c.Secrets = append(c.Secrets, PasswordOf(dsn))
	return TenantRef{Slug: slug, ID: created["id"].(string), DSN: dsn}
}

// DSNOf prints the tenant's app DSN: the one command whose output holds its password.
func DSNOf(c *CLI, slug string) string {
	c.T.Helper()
	saved := c.Secrets
	c.Secrets = nil
	defer func() { c.Secrets = saved }()
	return strings.TrimSpace(c.MustRun("tenant", "dsn", slug))
}

// The kill families (a command SIGKILLed after each step, then rerun or reconciled)
// kill at every point under FAULTTEST_LONG=1 (`make test-long`), as the fault suite
// does; `make test` kills at a sample: some points of every kind the family has, chosen
// at random, the seed logged and FAULTTEST_SEED replaying it.

// KillSample picks the points of a family to kill at: every index under FAULTTEST_LONG=1,
// else n of each group (a group is the points one way of settling covers: rerun,
// rolled back by reconcile, finished by reconcile), in order.
func KillSample(t *testing.T, n int, groups ...[]int) map[int]bool {
	t.Helper()
	keep := map[int]bool{}
	long := os.Getenv("FAULTTEST_LONG") == "1"
	seed := rand.Uint64()
	if s := os.Getenv("FAULTTEST_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "FAULTTEST_SEED")
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var picked []int
	for _, g := range groups {
		perm := rng.Perm(len(g))
		if !long && len(perm) > n {
			perm = perm[:n]
		}
		for _, i := range perm {
			keep[g[i]] = true
			picked = append(picked, g[i])
		}
	}
	sort.Ints(picked)
	if long {
		t.Logf("kill points: all (FAULTTEST_LONG=1)")
	} else {
		t.Logf("kill points sampled: %v, FAULTTEST_SEED=%d (FAULTTEST_LONG=1 kills at every point)", picked, seed)
	}
	return keep
}

// Indexes returns the indexes from 0 to n-1 for which in is true.
func Indexes(n int, in func(i int) bool) []int {
	var out []int
	for i := range n {
		if in(i) {
			out = append(out, i)
		}
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// LogicalFleet registers two private clusters with wal_level = logical, through their
// superuser (the superuser path of method logical's capability check).
func LogicalFleet(t *testing.T) (*CLI, map[string]*pgtest.Server) {
	t.Helper()
	settings := map[string]string{"wal_level": "logical", "max_replication_slots": "16", "max_wal_senders": "16", "log_statement": "'ddl'"}
	servers := map[string]*pgtest.Server{
		"lg-a": pgtest.Dedicated(t, "logical-a", settings),
		"lg-b": pgtest.Dedicated(t, "logical-b", settings),
	}
	c := NewCLI(t)
	for _, name := range []string{"lg-a", "lg-b"} {
		// The fleet's admin is the superuser here (method logical needs it on PostgreSQL
		// 15): the confinement lines must name it as the admin, as an operator's would.
		servers[name].SetHBA(t, pghba.Lines("postgres", ""))
		dsn := servers[name].SuperDSN("postgres")
		c.Secrets = append(c.Secrets, PasswordOf(dsn))
		c.MustRun("server", "add", name, "--dsn", dsn, "--capacity", "10")
	}
	return c, servers
}

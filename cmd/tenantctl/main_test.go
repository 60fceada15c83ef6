package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// The end-to-end tests wait on servers and subprocesses far more than they compute, so
// several run at once (see pgtest.Waiting), each on a pair of tenant servers of its own
// (pair): tests sharing servers would fight over the servers' template databases
// (each catalog rebuilds a template it did not record) and see each other's databases.
const pairs = 5

func TestMain(m *testing.M) {
	pgtest.Waiting(pairs)
	os.Exit(pgtest.Main(m, 2*pairs))
}

var (
	pairsMu sync.Mutex
	slots   chan [2]*pgtest.Server
	held    = map[string][2]*pgtest.Server{}
)

// pair returns the test's tenant servers pg-a and pg-b, leased on the first call of the
// (top-level) test and given back when it ends. With TENANTCTL_TEST_DSN there is one
// server: one pair, so the tests take turns.
func pair(t *testing.T) [2]*pgtest.Server {
	t.Helper()
	env := pgtest.Get(t)
	root, _, _ := strings.Cut(t.Name(), "/")
	pairsMu.Lock()
	if p, ok := held[root]; ok {
		pairsMu.Unlock()
		return p
	}
	if slots == nil {
		n := pairs
		if env.External {
			n = 1
		}
		slots = make(chan [2]*pgtest.Server, n)
		for i := range n {
			slots <- [2]*pgtest.Server{env.Servers[2*i], env.Servers[2*i+1]}
		}
	}
	pairsMu.Unlock()
	if root != t.Name() {
		t.Fatalf("pair: call it from the top-level test %s first", root)
	}
	p := <-slots
	pairsMu.Lock()
	held[root] = p
	pairsMu.Unlock()
	t.Cleanup(func() {
		pairsMu.Lock()
		delete(held, root)
		pairsMu.Unlock()
		slots <- p
	})
	return p
}

// cli runs tenantctl in-process against its own catalog database.
type cli struct {
	t   *testing.T
	env map[string]string
	// secrets must never appear in any output
	secrets []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "catalog")
	c := &cli{t: t, env: map[string]string{
		"TENANTCTL_CATALOG_DSN": env.Control.SuperDSN(db),
		"TENANTCTL_SECRET_KEY":  pgtest.Key(),
		"TENANTCTL_CONFIG":      os.DevNull, // hermetic: no config file from the working directory, its parents or $HOME
	}}
	c.mustRun("catalog", "init")
	return c
}

func (c *cli) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return c.runStdin("", args...)
}

func (c *cli) runStdin(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return c.env[k] })
	for _, s := range c.secrets {
		require.NotContains(c.t, out.String(), s, "secret leaked on stdout of %v", args)
		require.NotContains(c.t, errOut.String(), s, "secret leaked on stderr of %v", args)
	}
	return out.String(), errOut.String(), code
}

func (c *cli) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	require.Equal(c.t, 0, code, "tenantctl %v failed:\nstdout: %s\nstderr: %s", args, out, errOut)
	return out
}

// expect runs a command that must exit with code and mention each of want on stderr.
func (c *cli) expect(code int, want []string, args ...string) {
	c.t.Helper()
	out, errOut, got := c.run(args...)
	require.Equal(c.t, code, got, "tenantctl %v:\nstdout: %s\nstderr: %s", args, out, errOut)
	for _, w := range want {
		require.Contains(c.t, errOut, w, "tenantctl %v", args)
	}
}

func (c *cli) addServer(name string, i int) string {
	c.t.Helper()
	dsn := pair(c.t)[i].AdminDSN(c.t)
	c.secrets = append(c.secrets, passwordOf(dsn))
	c.mustRun("server", "add", name, "--dsn", dsn, "--capacity", "50", "--label", "zone=z"+name)
	return dsn
}

func passwordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

func TestServerAddListDrainRemove(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.addServer("pg-a", 0)
	c.addServer("pg-b", 1)

	list := decode[[]map[string]any](t, c.mustRun("server", "list", "-o", "json"))
	require.Len(t, list, 2)
	for _, s := range list {
		for _, field := range []string{"name", "capacity", "tenants", "draining", "labels"} {
			require.Contains(t, s, field)
		}
	}
	require.Equal(t, "pg-a", list[0]["name"])
	require.Equal(t, float64(50), list[0]["capacity"])
	require.Equal(t, map[string]any{"zone": "zpg-a"}, list[0]["labels"])

	c.mustRun("server", "drain", "pg-a")
	list = decode[[]map[string]any](t, c.mustRun("server", "list", "-o", "json"))
	require.Equal(t, true, list[0]["draining"])
	c.mustRun("server", "undrain", "pg-a")
	c.mustRun("server", "remove", "pg-b")
	// The DSN can come from stdin, keeping the password off the command line.
	_, errOut, code := c.runStdin(pair(t)[1].AdminDSN(t)+"\n", "server", "add", "pg-b", "--dsn", "-")
	require.Equal(t, 0, code, errOut)
	c.mustRun("server", "remove", "pg-b")
	list = decode[[]map[string]any](t, c.mustRun("server", "list", "-o", "json"))
	require.Len(t, list, 1)
	c.expect(2, []string{"server not found"}, "server", "remove", "pg-b")
	c.expect(2, []string{"server not found"}, "server", "drain", "nope")

	text := c.mustRun("server", "list")
	require.Contains(t, text, "pg-a")
	require.Contains(t, text, "zone=zpg-a")

	events := decode[[]map[string]any](t, c.mustRun("events", "-o", "json"))
	require.Equal(t, "server.remove", events[0]["action"])
}

func TestServerAddBadInput(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	good := pair(t)[0].AdminDSN(t)
	c.secrets = append(c.secrets, passwordOf(good))
	c.addServer("pg-a", 0)

	before := c.mustRun("server", "list", "-o", "json")

	c.expect(2, []string{"already registered"}, "server", "add", "pg-a", "--dsn", good)
	c.expect(2, []string{"invalid label"}, "server", "add", "pg-x", "--dsn", good, "--label", "no-equals")
	c.expect(2, []string{"invalid server name"}, "server", "add", "Bad Name", "--dsn", good)
	c.expect(2, []string{"invalid connection string"}, "server", "add", "pg-x", "--dsn", "postgres://u:pw@host:notaport/db")
	c.expect(2, []string{"--dsn is required"}, "server", "add", "pg-x")
	c.expect(2, []string{"invalid capacity"}, "server", "add", "pg-x", "--dsn", good, "--capacity", "0")
	c.expect(1, []string{"connect to 127.0.0.1:1/postgres"}, "server", "add", "pg-x", "--dsn", "postgres://u:pw-unreachable-1@127.0.0.1:1/postgres?connect_timeout=2")

	// A role without CREATEDB/CREATEROLE is refused with what to do.
	role := "weak_" + pgtest.RandomSuffix()
	pair(t)[1].Exec(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD 'weak-password-123'")
	t.Cleanup(func() { pair(t)[1].Exec(t, "postgres", "DROP ROLE "+role) })
	weak := strings.Replace(pair(t)[1].SuperDSN("postgres"), "postgres:"+passwordOf(pair(t)[1].SuperDSN("postgres")), role+":weak-password-123", 1)
	c.secrets = append(c.secrets, "weak-password-123")
	c.expect(2, []string{"lacks CREATEDB or CREATEROLE", "ALTER ROLE"}, "server", "add", "pg-x", "--dsn", weak)

	// The same server under another name.
	c.expect(2, []string{"already registered as \"pg-a\""}, "server", "add", "pg-z", "--dsn", good)

	require.Equal(t, before, c.mustRun("server", "list", "-o", "json"), "bad input changes nothing")

	// A superuser DSN works, with a warning.
	super := pair(t)[1].SuperDSN("postgres")
	c.secrets = append(c.secrets, passwordOf(super))
	_, errOut, code := c.run("server", "add", "pg-super", "--dsn", super)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "least privilege is not in force")
}

func TestServerHBA(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.addServer("pg-a", 0)
	out := c.mustRun("server", "hba", "pg-a")
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"host all " + pgtest.AdminRole + " all scram-sha-256", "host samerole +tenantctl_logins all scram-sha-256",
		"host all +tenantctl_logins all reject", "FIRST"} {
		require.Contains(t, words, want)
	}
	// The admin's lines come before the ones that reject: the first matching line wins.
	require.Less(t, strings.Index(words, pgtest.AdminRole), strings.Index(words, "reject"))
	require.Equal(t, out, tenantdb.HBALines(pgtest.AdminRole, ""), "the lines the test servers run with")
	require.Contains(t, strings.Join(strings.Fields(c.mustRun("server", "hba", "pg-a", "--admin-method", "cert")), " "), pgtest.AdminRole+" all cert")
	c.expect(2, []string{"invalid --admin-method"}, "server", "hba", "pg-a", "--admin-method", "trust\nhost all all all trust")
	c.expect(2, []string{"server not found"}, "server", "hba", "nope")
}

func TestMissingCatalogAndKey(t *testing.T) {
	t.Parallel()
	c := &cli{t: t, env: map[string]string{}}
	c.expect(2, []string{"no catalog configured", "tenantctl dev up"}, "server", "list")

	c = &cli{t: t, env: map[string]string{"TENANTCTL_CATALOG_DSN": pgtest.Get(t).Control.SuperDSN(pgtest.Get(t).Control.NewDatabase(t, "catalog"))}}
	c.mustRun("catalog", "init")
	dsn := pair(t)[0].AdminDSN(t)
	c.expect(2, []string{"no secret key", "TENANTCTL_SECRET_KEY"}, "server", "add", "pg-a", "--dsn", dsn)

	key := pgtest.Key()
	c.env["TENANTCTL_SECRET_KEY"] = key
	c.mustRun("server", "add", "pg-a", "--dsn", dsn)
	c.env["TENANTCTL_SECRET_KEY"] = pgtest.Key()
	c.expect(2, []string{"is not this catalog's key"}, "server", "add", "pg-b", "--dsn", dsn)
	c.env["TENANTCTL_SECRET_KEY"] = "bm90IGEga2V5"
	c.expect(2, []string{"32 bytes"}, "server", "list")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := &cli{t: t, env: map[string]string{}}
	c.expect(2, []string{"unknown command"}, "frobnicate")
	c.expect(2, []string{"unknown flag"}, "server", "list", "--bogus")
	c.expect(2, []string{"expects a server NAME"}, "server", "drain")
	c.expect(2, []string{"invalid --output", "use text, json or yaml"}, "version", "-o", "csv")
	c.expect(2, []string{"invalid --log-format"}, "version", "--log-format", "xml")
	out := c.mustRun("version")
	require.Contains(t, out, "tenantctl")
	out = c.mustRun("--help")
	require.Contains(t, out, "Exit status")
}

func TestWarehouseInit(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "warehouse")
	c.mustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(db))
	c.mustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(db)) // idempotent

	conn := env.Control.Conn(t, db)
	var publicConnect, publicSchema bool
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database() AND a.grantee = 0),
		       EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'public' AND a.grantee = 0)`).
		Scan(&publicConnect, &publicSchema))
	require.False(t, publicConnect, "PUBLIC must hold nothing on the warehouse database")
	require.False(t, publicSchema, "PUBLIC must hold nothing on the warehouse's public schema")
	var tables int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'tenantctl' AND tablename IN ('tenants', 'watermarks')`).Scan(&tables))
	require.Equal(t, 2, tables)

	st := decode[map[string]any](t, c.mustRun("catalog", "status", "-o", "json"))
	require.NotNil(t, st["warehouse"])
	c.expect(2, []string{"--dsn is required"}, "warehouse", "init")
}

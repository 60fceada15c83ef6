package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/tenantdb"
)

func TestServerAddListDrainRemove(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	c.AddServer("pg-b", 1)

	list := e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Len(t, list, 2)
	for _, s := range list {
		for _, field := range []string{"name", "capacity", "tenants", "draining", "labels"} {
			require.Contains(t, s, field)
		}
	}
	require.Equal(t, "pg-a", list[0]["name"])
	require.Equal(t, float64(50), list[0]["capacity"])
	require.Equal(t, map[string]any{"zone": "zpg-a"}, list[0]["labels"])

	c.MustRun("server", "drain", "pg-a")
	list = e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Equal(t, true, list[0]["draining"])
	c.MustRun("server", "undrain", "pg-a")
	c.MustRun("server", "remove", "pg-b")
	// The DSN can come from stdin, keeping the password off the command line.
	_, errOut, code := c.RunStdin(e2e.Pair(t)[1].AdminDSN(t)+"\n", "server", "add", "pg-b", "--dsn", "-")
	require.Equal(t, 0, code, errOut)
	c.MustRun("server", "remove", "pg-b")
	list = e2e.Decode[[]map[string]any](t, c.MustRun("server", "list", "-o", "json"))
	require.Len(t, list, 1)
	c.Expect(2, []string{"server not found"}, "server", "remove", "pg-b")
	c.Expect(2, []string{"server not found"}, "server", "drain", "nope")

	text := c.MustRun("server", "list")
	require.Contains(t, text, "pg-a")
	require.Contains(t, text, "zone=zpg-a")

	events := e2e.Decode[[]map[string]any](t, c.MustRun("events", "-o", "json"))
	require.Equal(t, "server.remove", events[0]["action"])
}

func TestServerAddBadInput(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	good := e2e.Pair(t)[0].AdminDSN(t)
	c.Secrets = append(c.Secrets, e2e.PasswordOf(good))
	c.AddServer("pg-a", 0)

	before := c.MustRun("server", "list", "-o", "json")

	c.Expect(2, []string{"already registered"}, "server", "add", "pg-a", "--dsn", good)
	c.Expect(2, []string{"invalid label"}, "server", "add", "pg-x", "--dsn", good, "--label", "no-equals")
	c.Expect(2, []string{"invalid server name"}, "server", "add", "Bad Name", "--dsn", good)
	c.Expect(2, []string{"invalid connection string"}, "server", "add", "pg-x", "--dsn", "postgres://u:pw@host:notaport/db")
	c.Expect(2, []string{"--dsn is required"}, "server", "add", "pg-x")
	c.Expect(2, []string{"invalid capacity"}, "server", "add", "pg-x", "--dsn", good, "--capacity", "0")
	c.Expect(1, []string{"connect to 127.0.0.1:1/postgres"}, "server", "add", "pg-x", "--dsn", "postgres://u:pw-unreachable-1@127.0.0.1:1/postgres?connect_timeout=2")

	// A role without CREATEDB/CREATEROLE is refused with what to do.
	role := "weak_" + pgtest.RandomSuffix()
	e2e.Pair(t)[1].Exec(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD 'weak-password-123'")
	t.Cleanup(func() { e2e.Pair(t)[1].Exec(t, "postgres", "DROP ROLE "+role) })
	weak := strings.Replace(e2e.Pair(t)[1].SuperDSN("postgres"), "postgres:"+e2e.PasswordOf(e2e.Pair(t)[1].SuperDSN("postgres")), role+":weak-password-123", 1)
	c.Secrets = append(c.Secrets, "weak-password-123")
	c.Expect(2, []string{"lacks CREATEDB or CREATEROLE", "ALTER ROLE"}, "server", "add", "pg-x", "--dsn", weak)

	// The same server under another name.
	c.Expect(2, []string{"already registered as \"pg-a\""}, "server", "add", "pg-z", "--dsn", good)

	require.Equal(t, before, c.MustRun("server", "list", "-o", "json"), "bad input changes nothing")

	// A superuser DSN works, with a warning.
	super := e2e.Pair(t)[1].SuperDSN("postgres")
	c.Secrets = append(c.Secrets, e2e.PasswordOf(super))
	_, errOut, code := c.Run("server", "add", "pg-super", "--dsn", super)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "least privilege is not in force")
}

func TestServerHBA(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	c.AddServer("pg-a", 0)
	out := c.MustRun("server", "hba", "pg-a")
	words := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"host all " + pgtest.AdminRole + " all scram-sha-256", "host samerole +tenantctl_logins all scram-sha-256",
		"host all +tenantctl_logins all reject", "FIRST"} {
		require.Contains(t, words, want)
	}
	// The admin's lines come before the ones that reject: the first matching line wins.
	require.Less(t, strings.Index(words, pgtest.AdminRole), strings.Index(words, "reject"))
	require.Equal(t, out, tenantdb.HBALines(pgtest.AdminRole, ""), "the lines the test servers run with")
	require.Contains(t, strings.Join(strings.Fields(c.MustRun("server", "hba", "pg-a", "--admin-method", "cert")), " "), pgtest.AdminRole+" all cert")
	c.Expect(2, []string{"invalid --admin-method"}, "server", "hba", "pg-a", "--admin-method", "trust\nhost all all all trust")
	c.Expect(2, []string{"server not found"}, "server", "hba", "nope")
}

func TestMissingCatalogAndKey(t *testing.T) {
	t.Parallel()
	c := &e2e.CLI{T: t, Env: map[string]string{}}
	c.Expect(2, []string{"no catalog configured", "tenantctl dev up"}, "server", "list")

	c = &e2e.CLI{T: t, Env: map[string]string{"TENANTCTL_CATALOG_DSN": pgtest.Get(t).Control.SuperDSN(pgtest.Get(t).Control.NewDatabase(t, "catalog"))}}
	c.MustRun("catalog", "init")
	dsn := e2e.Pair(t)[0].AdminDSN(t)
	c.Expect(2, []string{"no secret key", "TENANTCTL_SECRET_KEY"}, "server", "add", "pg-a", "--dsn", dsn)

	key := pgtest.Key()
	c.Env["TENANTCTL_SECRET_KEY"] = key
	c.MustRun("server", "add", "pg-a", "--dsn", dsn)
	c.Env["TENANTCTL_SECRET_KEY"] = pgtest.Key()
	c.Expect(2, []string{"is not this catalog's key"}, "server", "add", "pg-b", "--dsn", dsn)
	c.Env["TENANTCTL_SECRET_KEY"] = "bm90IGEga2V5"
	c.Expect(2, []string{"32 bytes"}, "server", "list")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := &e2e.CLI{T: t, Env: map[string]string{}}
	c.Expect(2, []string{"unknown command"}, "frobnicate")
	c.Expect(2, []string{"unknown flag"}, "server", "list", "--bogus")
	c.Expect(2, []string{"expects a server NAME"}, "server", "drain")
	c.Expect(2, []string{"invalid --output", "use text, json or yaml"}, "version", "-o", "csv")
	c.Expect(2, []string{"invalid --log-format"}, "version", "--log-format", "xml")
	out := c.MustRun("version")
	require.Contains(t, out, "tenantctl")
	out = c.MustRun("--help")
	require.Contains(t, out, "Exit status")
}

func TestWarehouseInit(t *testing.T) {
	t.Parallel()
	c := e2e.NewCLI(t)
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "warehouse")
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(db))
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(db)) // idempotent

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

	st := e2e.Decode[map[string]any](t, c.MustRun("catalog", "status", "-o", "json"))
	require.NotNil(t, st["warehouse"])
	c.Expect(2, []string{"--dsn is required"}, "warehouse", "init")
}

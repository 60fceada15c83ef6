// Package e2e is what the end-to-end tests of tenantctl share: they drive the whole
// command tree in-process (cli/root.Run) against real PostgreSQL, each test on a pair
// of tenant servers of its own.
//
// The tests live by area in the packages under cmd/tenantctl/e2e (backup, move, tenant,
// server, config, fleet, local): each is its own test binary with its own clusters, so
// `go test ./...` runs the areas at once and one area runs alone with
// `go test ./cmd/tenantctl/e2e/move`. Each area's TestMain calls Main with the number
// of its tests that hold a pair at once.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/cli/root"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

// ExitViolations is the audit's "violations found" status.
const ExitViolations = cmdutil.ExitViolations

var (
	pairsMu sync.Mutex
	pairs   = -1
	slots   chan [2]*pgtest.Server
	held    = map[string][2]*pgtest.Server{}
)

// Main runs an area's tests: parallel of them at once (the end-to-end tests wait on
// servers and subprocesses far more than they compute, see pgtest.Waiting), with n pairs
// of tenant servers. A test that asks for a pair (Pair) holds one of its own while it
// runs: tests sharing servers would fight over the servers' template databases (each
// catalog rebuilds a template it did not record) and see each other's databases; tests
// that bring their own servers (pgtest.Dedicated, pgtest.Archiving) hold none. Call it
// from TestMain: os.Exit(e2e.Main(m, parallel, n)).
func Main(m *testing.M, parallel, n int) int {
	pairs = n
	pgtest.Waiting(parallel)
	return pgtest.Main(m, 2*n)
}

// Pair returns the test's tenant servers pg-a and pg-b, leased on the first call of the
// (top-level) test and given back when it ends. With TENANTCTL_TEST_DSN there is one
// server: one pair, so the tests take turns.
func Pair(t *testing.T) [2]*pgtest.Server {
	t.Helper()
	env := pgtest.Get(t)
	top, _, _ := strings.Cut(t.Name(), "/")
	pairsMu.Lock()
	if p, ok := held[top]; ok {
		pairsMu.Unlock()
		return p
	}
	if slots == nil {
		n := pairs
		if env.External {
			n = 1
		}
		if n < 1 {
			pairsMu.Unlock()
			t.Fatalf("e2e: no server pairs: give their number to e2e.Main in TestMain")
		}
		slots = make(chan [2]*pgtest.Server, n)
		for i := range n {
			slots <- [2]*pgtest.Server{env.Servers[2*i], env.Servers[2*i+1]}
		}
	}
	pairsMu.Unlock()
	if top != t.Name() {
		t.Fatalf("pair: call it from the top-level test %s first", top)
	}
	p := <-slots
	pairsMu.Lock()
	held[top] = p
	pairsMu.Unlock()
	t.Cleanup(func() {
		pairsMu.Lock()
		delete(held, top)
		pairsMu.Unlock()
		slots <- p
	})
	return p
}

// CLI runs tenantctl in-process against its own catalog database.
type CLI struct {
	T   *testing.T
	Env map[string]string
	// Secrets must never appear in any output.
	Secrets []string
}

// NewCLI is a CLI on a new, initialized catalog.
func NewCLI(t *testing.T) *CLI {
	t.Helper()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "catalog")
	c := &CLI{T: t, Env: map[string]string{
		"TENANTCTL_CATALOG_DSN": env.Control.SuperDSN(db),
		"TENANTCTL_SECRET_KEY":  pgtest.Key(),
		"TENANTCTL_CONFIG":      os.DevNull, // hermetic: no config file from the working directory, its parents or $HOME
	}}
	c.MustRun("catalog", "init")
	return c
}

// FleetCLI is a CLI with two registered servers and a warehouse.
func FleetCLI(t *testing.T) *CLI {
	t.Helper()
	c := NewCLI(t)
	c.AddServer("pg-a", 0)
	c.AddServer("pg-b", 1)
	env := pgtest.Get(t)
	c.MustRun("warehouse", "init", "--dsn", env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse")))
	t.Cleanup(func() {
		tenants := Decode[[]map[string]any](t, c.MustRun("tenant", "list", "-o", "json"))
		for _, tn := range tenants {
			slug := tn["slug"].(string)
			c.Run("tenant", "delete", slug, "--confirm", slug, "--purge")
		}
	})
	return c
}

// Run runs tenantctl with args.
func (c *CLI) Run(args ...string) (stdout, stderr string, code int) {
	c.T.Helper()
	return c.RunStdin("", args...)
}

// RunStdin runs tenantctl with args and stdin.
func (c *CLI) RunStdin(stdin string, args ...string) (stdout, stderr string, code int) {
	c.T.Helper()
	var out, errOut bytes.Buffer
	code = root.Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return c.Env[k] })
	for _, s := range c.Secrets {
		require.NotContains(c.T, out.String(), s, "secret leaked on stdout of %v", args)
		require.NotContains(c.T, errOut.String(), s, "secret leaked on stderr of %v", args)
	}
	return out.String(), errOut.String(), code
}

// MustRun runs a command that must succeed and returns its stdout.
func (c *CLI) MustRun(args ...string) string {
	c.T.Helper()
	out, errOut, code := c.Run(args...)
	require.Equal(c.T, 0, code, "tenantctl %v failed:\nstdout: %s\nstderr: %s", args, out, errOut)
	return out
}

// Expect runs a command that must exit with code and mention each of want on stderr.
func (c *CLI) Expect(code int, want []string, args ...string) {
	c.T.Helper()
	out, errOut, got := c.Run(args...)
	require.Equal(c.T, code, got, "tenantctl %v:\nstdout: %s\nstderr: %s", args, out, errOut)
	for _, w := range want {
		require.Contains(c.T, errOut, w, "tenantctl %v", args)
	}
}

// AddServer registers server i of the test's pair under name and returns its DSN.
func (c *CLI) AddServer(name string, i int) string {
	c.T.Helper()
	dsn := Pair(c.T)[i].AdminDSN(c.T)
	c.Secrets = append(c.Secrets, PasswordOf(dsn))
	c.MustRun("server", "add", name, "--dsn", dsn, "--capacity", "50", "--label", "zone=z"+name)
	return dsn
}

// Complete runs shell completion the way the shells do (the hidden __complete command)
// and returns the candidates.
func (c *CLI) Complete(args ...string) []string {
	c.T.Helper()
	out := c.MustRun(append([]string{"__complete"}, args...)...)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			got = append(got, strings.SplitN(line, "\t", 2)[0])
		}
	}
	return got
}

// PasswordOf returns the password of a postgres:// DSN.
func PasswordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

// Decode decodes JSON output.
func Decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

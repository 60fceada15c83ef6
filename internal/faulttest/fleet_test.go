package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/fault"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/testbin"
	"github.com/tenantctl/tenantctl/migrations"
)

// Twelve tenant servers: tests that run at once use disjoint pairs, since each checks
// that its servers hold nothing its catalog does not know (the plain fleets of
// TestEveryKillPoint 0-1, 8-9 and 10-11, the random driver 2-3, the hostile inputs 4-5,
// the concurrent commands 6-7).
//
// These tests spend most of their time waiting (for subprocesses, servers, timeouts of
// a stopped or frozen server), not computing: unless -parallel is given, all of them
// and all of TestEveryKillPoint's fleets run at once rather than GOMAXPROCS (two on a
// small machine, which left a test that waits out timeouts holding one of the two slots
// for minutes). With fewer slots the fleets, the longest work, queued behind the other
// tests and were the package's tail.
func TestMain(m *testing.M) {
	pgtest.Waiting(13)
	os.Exit(pgtest.Main(m, 12))
}

// binary is cmd/tenantctl, built once per test binary (or the one TENANTCTL_TEST_BINARY
// names: see package testbin).
func binary(t testing.TB) string {
	t.Helper()
	return testbin.Tenantctl(t)
}

// fleet is one catalog with two tenant servers and a warehouse, driven only through
// the tenantctl binary.
type fleet struct {
	t                      testing.TB
	bin                    string
	env                    []string
	migrations             string // the tenant migrations directory (tests add files to it)
	warehouse              string // superuser DSN of the warehouse database
	catalogDB, warehouseDB string
	control, whServer      *pgtest.Server
	servers                []*pgtest.Server
	secrets                []string
	nextMig                int
	mu                     sync.Mutex

	// logical: the fleet moves tenants by logical replication; the convergence check
	// also looks for publications left in tenant databases.
	logical bool
	// data holds, by tenant id, the checksums of its rows when a command that copies
	// them (move, evacuate) was last started: see assertDataIntact.
	data map[string]map[string]string
	// dump is an export of a tenant for the import cases, with its checksums.
	dump     string
	dumpData map[string]string
	// exported is the archive of the export case's last run.
	exported string
	// restoreAt is, by slug, the time the restore cases restore the tenant to.
	restoreAt map[string]string
	// restoreFrom is, by slug, the export the in-place restore-from-export case uses.
	restoreFrom map[string]string
}

func newFleet(t testing.TB, servers ...*pgtest.Server) *fleet {
	t.Helper()
	return newFleetOn(t, pgtest.Get(t).Control, servers...)
}

// newFleetOn makes a fleet whose catalog and warehouse live on control.
func newFleetOn(t testing.TB, control *pgtest.Server, servers ...*pgtest.Server) *fleet {
	t.Helper()
	return newFleetWith(t, control, control, servers...)
}

// newFleetWith makes a fleet whose catalog lives on control and warehouse on wh.
func newFleetWith(t testing.TB, control, wh *pgtest.Server, servers ...*pgtest.Server) *fleet {
	t.Helper()
	return newFleetAs(t, false, control, wh, servers...)
}

// newFleetAs makes a fleet whose catalog lives on control and warehouse on wh; logical
// marks a fleet that moves tenants by logical replication.
func newFleetAs(t testing.TB, logical bool, control, wh *pgtest.Server, servers ...*pgtest.Server) *fleet {
	t.Helper()
	f := &fleet{t: t, bin: binary(t), servers: servers, control: control, whServer: wh, nextMig: 100, logical: logical,
		data: map[string]map[string]string{}}
	f.migrations = t.TempDir()
	// The embedded tenant schema, in a directory the tests can add migrations to.
	src := migrations.Tenant()
	entries, err := fs.ReadDir(src, ".")
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			b, err := fs.ReadFile(src, e.Name())
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(f.migrations, e.Name()), b, 0o644))
		}
	}
	catalogDB := control.NewDatabase(t, "catalog")
	f.catalogDB, f.warehouseDB = catalogDB, wh.NewDatabase(t, "warehouse")
	f.warehouse = wh.SuperDSN(f.warehouseDB)
	f.env = append(os.Environ(),
		"TENANTCTL_CONFIG=",
		"TENANTCTL_CATALOG_DSN="+control.SuperDSN(catalogDB),
		"TENANTCTL_SECRET_KEY="+pgtest.Key(),
		"TENANTCTL_TENANT_MIGRATIONS="+f.migrations,
		"TENANTCTL_ACTOR=faulttest",
	)
	f.must("catalog", "init")
	for i, s := range servers {
		dsn := s.AdminDSN(t)
		f.secrets = append(f.secrets, passwordOf(dsn))
		f.mustStdin(dsn+"\n", "server", "add", fmt.Sprintf("pg-%c", 'a'+i), "--dsn", "-", "--capacity", "500")
	}
	f.mustStdin(f.warehouse+"\n", "warehouse", "init", "--dsn", "-")
	return f
}

func passwordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

// slowCommand is logged, to see where a fault test spends its time.
const slowCommand = 2 * time.Second

// result of one run of the binary.
type result struct {
	stdout, stderr string
	code           int
	killed         bool
}

func (r result) String() string {
	return fmt.Sprintf("exit %d killed=%v\nstdout: %s\nstderr: %s", r.code, r.killed, r.stdout, r.stderr)
}

// cmd prepares a run of the binary with extra environment.
func (f *fleet) cmd(ctx context.Context, stdin string, extraEnv []string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, f.bin, args...)
	c.Env = append(slices.Clone(f.env), extraEnv...)
	c.Stdin = strings.NewReader(stdin)
	return c
}

func (f *fleet) runEnv(stdin string, extraEnv []string, args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := f.cmd(ctx, stdin, extraEnv, args...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	start := time.Now()
	err := c.Run()
	if d := time.Since(start); d > slowCommand {
		f.t.Logf("slow: tenantctl %v took %s", args, d.Round(time.Millisecond))
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
		r.killed = exitErr.String() == "signal: killed"
	default:
		f.t.Fatalf("tenantctl %v: %v", args, err)
	}
	f.checkNoSecret(args, r)
	return r
}

func (f *fleet) checkNoSecret(args []string, r result) {
	f.t.Helper()
	if len(args) > 1 && (args[1] == "dsn") {
		return // the one command that prints a secret, on purpose
	}
	f.mu.Lock()
	secrets := slices.Clone(f.secrets)
	f.mu.Unlock()
	if leak := pgtest.Contains(r.stdout+r.stderr, secrets...); leak != "" {
		f.t.Fatalf("tenantctl %v leaked a secret:\n%s", args, r)
	}
}

func (f *fleet) run(args ...string) result { f.t.Helper(); return f.runEnv("", nil, args...) }

func (f *fleet) must(args ...string) string {
	f.t.Helper()
	r := f.run(args...)
	require.Equal(f.t, 0, r.code, "tenantctl %v\n%s", args, r)
	return r.stdout
}

func (f *fleet) mustStdin(stdin string, args ...string) string {
	f.t.Helper()
	r := f.runEnv(stdin, nil, args...)
	require.Equal(f.t, 0, r.code, "tenantctl %v\n%s", args, r)
	return r.stdout
}

// killAt runs the command with TENANTCTL_FAULT=point and requires it to die there.
func (f *fleet) killAt(point string, args ...string) {
	f.t.Helper()
	r := f.runEnv("", []string{fault.Env + "=" + point}, args...)
	require.True(f.t, r.killed, "tenantctl %v must die at kill point %s, but did not reach it:\n%s", args, point, r)
	f.waitServerSessionsGone()
}

// waitServerSessionsGone waits until the servers have ended every session of a killed
// tenantctl. A server finishes the statement it is running when its client dies (a
// CREATE DATABASE completes, then the backend notices the closed socket), so the
// effects of a kill can land a moment after the process is gone; tests that run one
// command at a time wait for that before judging what the kill left.
func (f *fleet) waitServerSessionsGone() {
	f.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for i, s := range append([]*pgtest.Server{f.control}, f.servers...) {
		conn, err := pgx.Connect(ctx, s.SuperDSN("postgres"))
		require.NoError(f.t, err)
		dbs := []string{} // every database of a tenant server
		if i == 0 {
			dbs = []string{f.catalogDB, f.warehouseDB} // only this fleet's on the shared control
		}

		for {
			var n int
			require.NoError(f.t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tenantctl'
				AND pid <> pg_backend_pid() AND (cardinality($1::text[]) = 0 OR datname = ANY($1))`, dbs).Scan(&n))
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				conn.Close(ctx)
				f.t.Fatalf("the killed process's sessions on %s did not end within 30s", s.Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		conn.Close(ctx)
	}
}

func decode[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(s), &v), s)
	return v
}

type tenant struct {
	Slug          string `json:"slug"`
	ID            string `json:"id"`
	Server        string `json:"server"`
	State         string `json:"state"`
	Step          string `json:"step"`
	LastError     string `json:"last_error"`
	SchemaVersion int64  `json:"schema_version"`
}

func (f *fleet) tenants() []tenant {
	f.t.Helper()
	return decode[[]tenant](f.t, f.must("tenant", "list", "-o", "json"))
}

// createTenant makes an active tenant with a few rows written through its own
// credentials.
func (f *fleet) createTenant(slug string, extra ...string) tenant {
	f.t.Helper()
	f.must(append([]string{"tenant", "create", slug, "--name", "Tenant " + slug, "--domain", slug + ".example"}, extra...)...)
	f.fill(slug, 3)
	return f.tenant(slug)
}

func (f *fleet) tenant(slug string) tenant {
	f.t.Helper()
	return decode[tenant](f.t, f.must("tenant", "show", slug, "-o", "json"))
}

// fill writes n users, systems and incidents through the tenant's app credentials.
func (f *fleet) fill(slug string, n int) {
	f.t.Helper()
	dsn := strings.TrimSpace(f.must("tenant", "dsn", slug))
	f.mu.Lock()
	f.secrets = append(f.secrets, passwordOf(dsn))
	f.mu.Unlock()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(f.t, err, "tenant %s's credentials work", slug)
	defer conn.Close(ctx)
	for i := 0; i < n; i++ {
		_, err := conn.Exec(ctx, `WITH u AS (INSERT INTO users (email, full_name) VALUES ($1, 'User') RETURNING id),
			s AS (INSERT INTO systems (name, kind, owner_id) SELECT 'sys', 'server', id FROM u RETURNING id, owner_id)
			INSERT INTO incidents (title, reporter_id, system_id) SELECT 'down', owner_id, id FROM s`,
			fmt.Sprintf("u%d-%s@%s.example", i, pgtest.RandomSuffix(), slug))
		require.NoError(f.t, err)
	}
}

// addMigration adds a new tenant migration (a new set hash: templates get rebuilt).
func (f *fleet) addMigration() {
	f.t.Helper()
	f.nextMig++
	name := fmt.Sprintf("%05d_fault_%d.sql", f.nextMig, f.nextMig)
	body := fmt.Sprintf("-- +goose Up\nCREATE TABLE fault_%d (id bigint PRIMARY KEY, note text);\n\n-- +goose Down\nDROP TABLE fault_%d;\n", f.nextMig, f.nextMig)
	require.NoError(f.t, os.WriteFile(filepath.Join(f.migrations, name), []byte(body), 0o644))
}

// serverConn opens a superuser connection to database db on server i; close it.
func (f *fleet) serverConn(i int, db string) *pgx.Conn {
	f.t.Helper()
	conn, err := pgx.Connect(context.Background(), f.servers[i].SuperDSN(db))
	require.NoError(f.t, err)
	return conn
}

func (f *fleet) serverIndex(name string) int { return int(name[len(name)-1] - 'a') }

// lockedBuffer is a bytes.Buffer safe for a process's output goroutines and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// purge deletes and purges every live tenant whose slug starts with prefix.
func (f *fleet) purge(prefix string) {
	f.t.Helper()
	for _, tn := range f.tenants() {
		if strings.HasPrefix(tn.Slug, prefix) && tn.State != "purged" {
			args := []string{"tenant", "delete", tn.Slug, "--confirm", tn.Slug, "--purge"}
			if r := f.run(args...); r.code != 0 {
				f.t.Fatalf("tenantctl %v\n%s\nsessions on its server: %s", args, r, f.sessions(f.serverIndex(tn.Server)))
			}
		}
	}
}

// sessions describes the sessions on server i, for failure messages.
func (f *fleet) sessions(i int) string {
	ctx := context.Background()
	conn := f.serverConn(i, "postgres")
	defer conn.Close(ctx)
	var out string
	_ = conn.QueryRow(ctx, `SELECT coalesce(string_agg(format('%s@%s app=%s state=%s backend=%s query=%s', usename, datname,
		application_name, state, backend_type, left(query, 80)), E'\n'), '') FROM pg_stat_activity WHERE pid <> pg_backend_pid()`).Scan(&out)
	return out
}

// Package pgtest gives test binaries real PostgreSQL: private clusters started once per
// test binary through package localpg (a control cluster plus tenant servers), or the
// server named by TENANTCTL_TEST_DSN. A test that cannot get PostgreSQL fails loudly; it
// never skips.
//
// Clusters are stopped and removed when the test binary exits, however it exits: a
// watchdog process watches the binary's pid. Their data directories are copies of one
// cached initdb result per machine (localpg's Options.Template), not an initdb each.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
)

// AdminRole is the least-privilege admin role created on every test server.
const AdminRole = "tenantctl_test_admin"

// Env is the PostgreSQL a test binary runs against.
type Env struct {
	// Control holds catalogs and warehouses.
	Control *Server
	// Servers hold tenant databases; with TENANTCTL_TEST_DSN they are one server under
	// several names.
	Servers []*Server
	// External is true when TENANTCTL_TEST_DSN is used.
	External bool
	// base is the directory the clusters were made in.
	base string
}

// Server is one PostgreSQL server of the test environment.
type Server struct {
	Name string
	// superuser DSN template
	super *url.URL
	// Cluster is nil for an external server.
	Cluster *localpg.Cluster

	adminOnce sync.Once
	adminDSN  string
	adminErr  error
}

var (
	// servers is the number of tenant servers Main was asked for; -1 until Main runs.
	servers  = -1
	envOnce  sync.Once
	env      *Env
	setupErr error
)

// Main runs the tests with an environment of n tenant servers, started by the first
// test that asks for it ([Get]), and tears it down at the end. A run whose tests need
// no PostgreSQL (flag parsing, rendering, planning: `go test -run`) starts no cluster.
// Call it from TestMain: os.Exit(pgtest.Main(m, 2)).
func Main(m *testing.M, n int) int {
	servers = n
	code := m.Run()
	if env != nil && !env.External {
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if os.Getenv("PGTEST_CPU") != "" {
			reportServerCPU(append([]*Server{env.Control}, env.Servers...))
		}
		removed := true
		for _, s := range append([]*Server{env.Control}, env.Servers...) {
			if s.Cluster != nil && s.Cluster.Remove(stopCtx) != nil {
				removed = false
			}
		}
		if removed && env.base != "" {
			// The directory the clusters were made in (on a tmpfs, memory): emptied above,
			// unless a start was cut short and left a partial cluster in it.
			_ = os.RemoveAll(env.base)
		}
	}
	return code
}

// Waiting lets n parallel tests of the binary run at once, rather than GOMAXPROCS (two
// on a small machine), unless -parallel is given. Call it from TestMain before Main, in
// packages whose tests spend their time waiting (on servers, subprocesses, timeouts)
// rather than computing: there GOMAXPROCS leaves the cores idle while two tests wait.
func Waiting(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < n {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}

// starting admits a few cluster starts of this binary at once (making the data directory
// and the first start are the costly part of a test cluster): a package whose tests all start at once
// (see Waiting) would otherwise run a storm of them on a small machine, and each
// start's timeout, counted from when it is admitted, would be spent queuing for the CPU.
var starting = make(chan struct{}, 3)

// startTimeout bounds one cluster's making and start once admitted.
const startTimeout = 2 * time.Minute

// admit waits for a turn to start a cluster and returns the context for the start (its
// timeout counted from now) and the function ending the turn.
func admit() (context.Context, func()) {
	starting <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	return ctx, func() { cancel(); <-starting }
}

func start(n int) (*Env, error) {
	e := &Env{}
	if dsn := os.Getenv("TENANTCTL_TEST_DSN"); dsn != "" {
		u, err := url.Parse(dsn)
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("TENANTCTL_TEST_DSN must be a postgres:// URL")
		}
		e.External = true
		e.Control = &Server{Name: "control", super: u}
		for i := 0; i < n; i++ {
			e.Servers = append(e.Servers, &Server{Name: fmt.Sprintf("pg-%c", 'a'+i), super: u})
		}
		return e, nil
	}
	base, err := os.MkdirTemp(baseDir(), "tenantctl-test-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, err
	}
	e.base = base
	names := []string{"control"}
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("pg-%c", 'a'+i))
	}
	servers := make([]*Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			opts := localpg.Options{Dir: filepath.Join(base, name), Fast: true, Template: true, Settings: map[string]string{"log_statement": "'ddl'"}}
			if name != "control" {
				// Tenant servers run confined, as the README tells operators to run theirs.
				opts.HBA = pghba.Lines(AdminRole, "")
				// Logical slots and subscriptions on tenant databases are among what the
				// audit must find: tests make them, so the servers can.
				opts.Settings["wal_level"] = "logical"
			}
			ctx, done := admit()
			defer done()
			c, err := initAndStart(ctx, opts, func(attempt int) string {
				return filepath.Join(base, fmt.Sprintf("%s-%d", name, attempt))
			})
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
				return
			}
			u, _ := url.Parse(c.DSN("postgres"))
			servers[i] = &Server{Name: name, super: u, Cluster: c}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	e.Control = servers[0]
	e.Servers = servers[1:]
	return e, nil
}

// Get returns the environment, starting it on first use, and fails the test when there
// is none.
func Get(t testing.TB) *Env {
	t.Helper()
	envOnce.Do(func() {
		if servers < 0 {
			setupErr = fmt.Errorf("pgtest.Main was not called")
			return
		}
		env, setupErr = start(servers)
		if setupErr != nil {
			env = nil
			fmt.Fprintf(os.Stderr, "pgtest: cannot get PostgreSQL for the tests: %v\n"+
				"pgtest: install the PostgreSQL server package or set TENANTCTL_TEST_DSN to a superuser DSN\n", setupErr)
		}
	})
	if env == nil {
		t.Fatalf("pgtest: no PostgreSQL environment: call pgtest.Main from TestMain (setup error: %v)", setupErr)
	}
	return env
}

// SuperDSN returns a superuser DSN for database db on the server.
func (s *Server) SuperDSN(db string) string {
	u := *s.super
	u.Path = "/" + db
	return u.String()
}

// AdminDSN returns the DSN of a least-privilege admin role (LOGIN CREATEDB CREATEROLE,
// not superuser) on the server, creating the role once.
func (s *Server) AdminDSN(t testing.TB) string {
	t.Helper()
	s.adminOnce.Do(func() {
		ctx := context.Background()
		conn, err := dbconn.Connect(ctx, s.SuperDSN("postgres"))
		if err != nil {
			s.adminErr = err
			return
		}
		defer conn.Close(ctx)
		password := secret.NewPassword()
		// A generated key: one PBKDF2 iteration (secret.KeyVerifier) spares each login
		// as the admin role 4,096 on the client. Application roles keep 4,096.
		verifier, err := secret.KeyVerifier(password)
		if err != nil {
			s.adminErr = err
			return
		}
		var exists bool
		_ = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, AdminRole).Scan(&exists)
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		_, s.adminErr = conn.Exec(ctx, fmt.Sprintf("%s ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", verb, AdminRole, verifier))
		if s.adminErr == nil {
			// The audit reads the server's effective pg_hba.conf rules: without this
			// grant its verdict is incomplete, as the operations guide says.
			_, s.adminErr = conn.Exec(ctx, pghba.GrantSQL(AdminRole))
		}
		u := *s.super
		u.User = url.UserPassword(AdminRole, password)
		u.Path = "/postgres"
		s.adminDSN = u.String()
	})
	if s.adminErr != nil {
		t.Fatalf("pgtest: create admin role on %s: %v", s.Name, s.adminErr)
	}
	return s.adminDSN
}

// Exec runs statements as superuser on database db of the server.
func (s *Server) Exec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := dbconn.Connect(ctx, s.SuperDSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect to %s/%s: %v", s.Name, db, err)
	}
	defer conn.Close(ctx)
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("pgtest: %s on %s/%s: %v", stmt, s.Name, db, err)
		}
	}
}

// Conn opens a superuser connection to database db, closed at the end of the test.
func (s *Server) Conn(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	conn, err := dbconn.Connect(context.Background(), s.SuperDSN(db))
	if err != nil {
		t.Fatalf("pgtest: connect to %s/%s: %v", s.Name, db, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// NewDatabase creates a fresh, uniquely named database on the server and returns its
// name. It is dropped when the test passes and kept (with a log line saying how to reach
// it) when the test fails.
func (s *Server) NewDatabase(t testing.TB, prefix string) string {
	t.Helper()
	name := prefix + "_" + RandomSuffix()
	s.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: kept database %s on %s for inspection: %s", name, s.Name, secret.RedactDSN(s.SuperDSN(name)))
			return
		}
		ctx := context.Background()
		if conn, err := dbconn.Connect(ctx, s.SuperDSN("postgres")); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	return name
}

// RandomSuffix returns 8 random lowercase hex characters.
func RandomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Key returns a fresh base64 secret key.
func Key() string { return secret.GenerateKey() }

// ServerLog returns what the server logged so far (empty for external servers).
func (s *Server) ServerLog(t testing.TB) string {
	t.Helper()
	if s.Cluster == nil {
		return ""
	}
	b, err := os.ReadFile(s.Cluster.LogFile())
	if err != nil {
		t.Fatalf("pgtest: read server log: %v", err)
	}
	return string(b)
}

// Contains reports whether any of needles occurs in s.
func Contains(s string, needles ...string) string {
	for _, n := range needles {
		if n != "" && strings.Contains(s, n) {
			return n
		}
	}
	return ""
}

// SetHBA replaces the lines placed first in the server's pg_hba.conf ("" removes them)
// and reloads the configuration. Tests that change them must restore them
// (pghba.Lines(AdminRole, "")): the clusters are shared by the test binary.
func (s *Server) SetHBA(t testing.TB, lines string) {
	t.Helper()
	if s.Cluster == nil {
		t.Fatalf("pgtest: %s is an external server: its pg_hba.conf cannot be changed", s.Name)
	}
	if err := s.Cluster.WriteHBA(lines); err != nil {
		t.Fatalf("pgtest: write pg_hba.conf of %s: %v", s.Name, err)
	}
	s.Reload(t)
}

// Reload makes the server reread its configuration files and waits until it has: the
// postmaster rereads them on the signal pg_reload_conf sends, and a session started
// after that reports the new load time (new sessions are forked from the postmaster).
func (s *Server) Reload(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	loadTime := func() time.Time {
		conn, err := dbconn.Connect(ctx, s.SuperDSN("postgres"))
		if err != nil {
			t.Fatalf("pgtest: connect to %s: %v", s.Name, err)
		}
		defer conn.Close(ctx)
		var at time.Time
		if err := conn.QueryRow(ctx, `SELECT pg_conf_load_time()`).Scan(&at); err != nil {
			t.Fatalf("pgtest: configuration load time of %s: %v", s.Name, err)
		}
		return at
	}
	before := loadTime()
	s.Exec(t, "postgres", "SELECT pg_reload_conf()")
	deadline := time.Now().Add(30 * time.Second)
	for !loadTime().After(before) {
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: %s did not reload its configuration within 30s", s.Name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reportServerCPU prints, for PGTEST_CPU=1, the CPU the test binary's servers used (user
// and system, of the postmaster and the backends that have exited): with the binary's own
// (time -v) it is what a package costs the machine.
func reportServerCPU(servers []*Server) {
	var total float64
	for _, s := range servers {
		if s.Cluster == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Cluster.DataDir(), "postmaster.pid"))
		if err != nil {
			continue
		}
		pid, _, _ := strings.Cut(string(b), "\n")
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(pid) + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		fields := strings.Fields(rest)
		if len(fields) < 15 {
			continue
		}
		for _, f := range fields[11:15] { // utime, stime, cutime, cstime
			n, _ := strconv.ParseFloat(f, 64)
			total += n / 100 // clock ticks (USER_HZ)
		}
	}
	fmt.Fprintf(os.Stderr, "pgtest: servers' CPU %.1fs (%d servers)\n", total, len(servers))
}

// tail is the end of s, at most n bytes.
// initAndStart makes a cluster with opts in dir(attempt) and starts it, stopped when
// this process exits. Several test binaries start clusters at once: a free port picked
// by Init can be taken by another binary's server (or a client socket) before this one
// binds it. A cluster that fails to start is removed and made again, in a new directory
// on a new port, three times at most; the error carries the end of its server log.
func initAndStart(ctx context.Context, opts localpg.Options, dir func(attempt int) string) (*localpg.Cluster, error) {
	var c *localpg.Cluster
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		opts.Dir = dir(attempt)
		if c, err = localpg.Init(ctx, opts); err == nil {
			err = c.StopWhenProcessExits(os.Getpid(), true)
		}
		if err == nil {
			if err = c.Start(ctx); err == nil {
				return c, nil
			}
			if log, rerr := os.ReadFile(c.LogFile()); rerr == nil {
				err = fmt.Errorf("%w\n%s", err, tail(string(log), 600))
			}
		}
		if c != nil {
			_ = c.Remove(ctx)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

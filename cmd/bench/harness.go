package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
)

// PSQL is the real psql binary (not the Perl wrapper in /usr/bin).
const PSQL = "/usr/lib/postgresql/15/bin/psql"

// harness holds the clusters and binaries of one run.
type harness struct {
	dir       string // work directory (removed at the end)
	tenantctl string
	goose     string
	env       []string // environment of every tenantctl process
	server    *localpg.Cluster
	control   *localpg.Cluster
	adminDSN  string // the registered least-privilege admin role on pg-a
	template  string // the template database tenantctl clones on pg-a

	mu  sync.Mutex
	rss map[string]int64 // peak RSS (KiB) per command
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func newHarness(ctx context.Context, sz sizes) (*harness, error) {
	dir, err := os.MkdirTemp("", "tenantctl-bench-")
	if err != nil {
		return nil, err
	}
	// The clusters run as the postgres OS user, who must reach their directories.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), nil, 0o600); err != nil {
		return nil, err
	}
	h := &harness{dir: dir, rss: map[string]int64{}}
	ok := false
	defer func() {
		if !ok {
			h.close()
		}
	}()
	h.tenantctl = filepath.Join(dir, "tenantctl")
	h.logf("building tenantctl")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", h.tenantctl, "github.com/tenantctl/tenantctl/cmd/tenantctl").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build tenantctl: %w\n%s", err, out)
	}
	h.logf("building the goose CLI from the module cache")
	if h.goose, err = buildGoose(ctx, dir); err != nil {
		return nil, err
	}
	h.env = append(os.Environ(), "TENANTCTL_CONFIG="+filepath.Join(dir, "config.yaml"), "TENANTCTL_LOG_LEVEL=warn")
	h.logf("starting clusters")
	if _, err := h.run(ctx, "dev up", "dev", "up", "--servers", "1", "--dir", filepath.Join(dir, "env")); err != nil {
		return nil, err
	}
	if h.control, err = localpg.Open(filepath.Join(dir, "env", "control")); err != nil {
		return nil, err
	}
	if h.server, err = localpg.Open(filepath.Join(dir, "env", "pg-a")); err != nil {
		return nil, err
	}
	store, _, err := h.openCatalog(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if h.adminDSN, err = store.ServerDSN(ctx, "pg-a"); err != nil {
		return nil, err
	}
	srv, err := store.GetServer(ctx, "pg-a")
	if err != nil {
		return nil, err
	}
	h.template = srv.TemplateDB
	// Room for BENCH_TENANTS tenants, the creates and the catalog section's pool.
	if err := superExec(ctx, h.control, "catalog", `UPDATE servers SET capacity = 100000 WHERE name = 'pg-a'`); err != nil {
		return nil, err
	}
	ok = true
	return h, nil
}

// buildGoose builds goose's own CLI (postgres driver only) in a throwaway module, so
// nothing is added to this repository.
// moduleRoot is the directory of tenantctl's go.mod (the working directory when go
// cannot say), so the program runs the same from `make bench` and from its test.
func moduleRoot(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod)
	}
	return "."
}

func buildGoose(ctx context.Context, dir string) (string, error) {
	mod := filepath.Join(dir, "goosebuild")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	version := "v3.29.0"
	root := moduleRoot(ctx)
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/pressly/goose/v3" {
				version = f[1]
			}
		}
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module goosebuild\n\ngo 1.26\n\nrequire github.com/pressly/goose/v3 "+version+"\n"), 0o644); err != nil {
		return "", err
	}
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		_ = os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644)
	}
	bin := filepath.Join(dir, "goose")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "no_mysql no_sqlite3 no_clickhouse no_mssql no_vertica no_ydb no_libsql",
		"-o", bin, "github.com/pressly/goose/v3/cmd/goose")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build goose CLI: %w\n%s", err, out)
	}
	return bin, nil
}

func (h *harness) close() {
	if h.tenantctl != "" {
		if _, err := os.Stat(filepath.Join(h.dir, "env")); err == nil {
			cmd := exec.Command(h.tenantctl, "dev", "down", "--dir", filepath.Join(h.dir, "env"))
			cmd.Env = h.env
			cmd.Dir = h.dir
			if out, err := cmd.CombinedOutput(); err != nil {
				h.logf("dev down: %v %s", err, out)
			}
		}
	}
	_ = os.RemoveAll(h.dir)
}

// timed is one process run.
type timed struct {
	d      time.Duration
	rssKiB int64
	out    []byte
}

// run runs tenantctl with args; name keys its peak RSS.
func (h *harness) run(ctx context.Context, name string, args ...string) (timed, error) {
	return h.exec(ctx, name, h.env, "", h.tenantctl, args...)
}

// exec runs a process (stdin from the string when given), timing it and recording its
// peak RSS under name.
func (h *harness) exec(ctx context.Context, name string, env []string, stdin, bin string, args ...string) (timed, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = h.dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	t := timed{d: time.Since(start), out: out.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && cmd.ProcessState != nil {
		t.rssKiB = ru.Maxrss
		h.mu.Lock()
		if ru.Maxrss > h.rss[name] {
			h.rss[name] = ru.Maxrss
		}
		h.mu.Unlock()
	}
	if err != nil {
		// The bench's throwaway clusters' passwords are in DSNs on command lines.
		return t, fmt.Errorf("%s %s: %w\nstderr: %s", filepath.Base(bin), secret.Scrub(strings.Join(args, " ")), err, secret.Scrub(tail(errOut.String())))
	}
	return t, nil
}

// shell runs a shell pipeline (the baselines an operator would script).
func (h *harness) shell(ctx context.Context, name, script string, env ...string) (timed, error) {
	// bash with pipefail: a failing side of a pipe fails the baseline.
	return h.exec(ctx, name, append(os.Environ(), env...), "", "/bin/bash", "-o", "pipefail", "-c", script)
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// superExec runs SQL as the superuser in db of cluster c (setup, never timed).
func superExec(ctx context.Context, c *localpg.Cluster, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, c.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.80s: %w", s, err)
		}
	}
	return nil
}

func superQuery[T any](ctx context.Context, c *localpg.Cluster, db, sql string, args ...any) (T, error) {
	var v T
	conn, err := pgx.Connect(ctx, c.DSN(db))
	if err != nil {
		return v, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, sql, args...).Scan(&v)
	return v, err
}

// connSampler records the peak number of client sessions on a server while it runs.
type connSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int
}

func (h *harness) sampleConns(ctx context.Context) *connSampler {
	s := &connSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		conn, err := pgx.Connect(ctx, h.server.DSN("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&n); err == nil && n > s.peak {
				s.peak = n
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak.
func (s *connSampler) Stop() int {
	close(s.stop)
	<-s.done
	return s.peak
}

// ops runs n operations, conc at a time, and returns each one's duration and the wall
// time of the whole.
func ops(ctx context.Context, n, conc int, fn func(i int) (time.Duration, error)) ([]time.Duration, time.Duration, error) {
	durs := make([]time.Duration, n)
	errs := make([]error, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			durs[i], errs[i] = fn(i)
		})
	}
	wg.Wait()
	return durs, time.Since(start), errors.Join(errs...)
}

func percentile(durs []time.Duration, p float64) time.Duration {
	if len(durs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), durs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := int(p*float64(len(s)-1) + 0.5)
	return s[idx]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// machineInfo describes where the run happened.
type machineInfo struct {
	CPUs    int    `json:"cpus"`
	LoadAvg string `json:"loadavg"`
	GOOS    string `json:"goos"`
}

func machine() machineInfo {
	la, _ := os.ReadFile("/proc/loadavg")
	return machineInfo{CPUs: runtime.NumCPU(), LoadAvg: strings.TrimSpace(string(la)), GOOS: runtime.GOOS + "/" + runtime.GOARCH}
}

// openCatalog opens the dev environment's catalog with its key, as tenantctl does, and
// returns the key too.
func (h *harness) openCatalog(ctx context.Context) (*catalog.Store, *secret.Box, error) {
	box, err := secret.LoadKey(filepath.Join(h.dir, "env", "secret.key"), "")
	if err != nil {
		return nil, nil, err
	}
	store, err := catalog.Open(ctx, h.control.DSN("catalog"), box)
	return store, box, err
}

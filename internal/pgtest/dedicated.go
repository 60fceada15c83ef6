package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenantctl/tenantctl/internal/pghba"
	"github.com/tenantctl/tenantctl/localpg"
)

// Dedicated starts a private cluster for one test: one the test may stop, restart or
// freeze (SIGSTOP) without disturbing any other test. It is removed when the test ends
// (and, like every pgtest cluster, when the test binary exits however it exits).
func Dedicated(t testing.TB, name string, settings map[string]string) *Server {
	t.Helper()
	if os.Getenv("TENANTCTL_TEST_DSN") != "" {
		t.Fatalf("pgtest: %s needs a private cluster; it cannot run against TENANTCTL_TEST_DSN", t.Name())
	}
	dir, err := os.MkdirTemp(baseDir(), "tenantctl-dedicated-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, done := admit()
	defer done()
	opts := localpg.Options{Fast: true, Template: true, Settings: settings}
	if !strings.HasPrefix(name, "control") {
		// Tenant servers run confined, like the shared ones (see start).
		opts.HBA = pghba.Lines(AdminRole, "")
	}
	c, err := initAndStart(ctx, opts, func(attempt int) string {
		if attempt == 1 {
			return filepath.Join(dir, name)
		}
		return filepath.Join(dir, fmt.Sprintf("%s-%d", name, attempt))
	})
	if err != nil {
		t.Fatalf("pgtest: start dedicated cluster %s: %v", name, err)
	}
	s := &Server{Name: name, Cluster: c}
	s.super, _ = url.Parse(c.DSN("postgres"))
	t.Cleanup(func() {
		s.Thaw(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Remove(ctx)
		_ = os.RemoveAll(dir)
	})
	return s
}

// Freeze stops every process of the cluster (the postmaster and each backend) with
// SIGSTOP: the kernel still accepts TCP connections on its port and acknowledges what is
// sent on open ones, but nothing ever answers, like a hung host.
func (s *Server) Freeze(t testing.TB) { t.Helper(); s.signalAll(t, syscall.SIGSTOP) }

// Thaw resumes a frozen cluster (SIGCONT); thawing a running one does nothing.
func (s *Server) Thaw(t testing.TB) { t.Helper(); s.signalAll(t, syscall.SIGCONT) }

// signalAll signals the postmaster and every one of its children.
func (s *Server) signalAll(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if s.Cluster == nil {
		t.Fatalf("pgtest: %s is not a private cluster", s.Name)
	}
	st := s.Cluster.Status(context.Background())
	if !st.Running {
		return
	}
	pgid, err := syscall.Getpgid(st.PID)
	if err != nil {
		t.Fatalf("pgtest: process group of %s: %v", s.Name, err)
	}
	// pg_ctl starts the postmaster in its own process group (setsid), shared by its
	// children; signal the whole group so backends freeze too.
	if pgid == syscall.Getpgrp() || pgid <= 1 {
		t.Fatalf("pgtest: %s shares the test's process group; refusing to signal it", s.Name)
	}
	if err := syscall.Kill(-pgid, sig); err != nil {
		t.Fatalf("pgtest: signal %s: %v", s.Name, err)
	}
	// Every backend and auxiliary process calls setsid() at start (InitPostmasterChild),
	// so the postmaster's group holds only the postmaster: signal its children one by
	// one. A stopped postmaster forks no new ones while they are listed.
	for _, pid := range childrenOf(st.PID) {
		_ = syscall.Kill(pid, sig) // one that just exited is fine
	}
}

// childrenOf lists the processes whose parent is pid (Linux /proc).
func childrenOf(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(b)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out = append(out, child)
		}
	}
	return out
}

// Stop stops a private cluster (fast shutdown).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.Cluster.Stop(context.Background()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Start starts a stopped private cluster again.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.Cluster.Start(context.Background()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Archiving starts a [Dedicated] cluster that archives its WAL with archiveCommand
// (pgBackRest's, for backup tests) and writes, in dir, the password file pgBackRest
// reaches it with: the superuser's, on the server's socket, owned by the server's OS
// user when the test runs as root. It returns the server and the password file's path.
func Archiving(t testing.TB, name, archiveCommand, dir string) (*Server, string) {
	t.Helper()
	srv := Dedicated(t, name, map[string]string{
		"archive_mode": "on", "wal_level": "replica", "archive_command": "'" + archiveCommand + "'",
		// pgBackRest refuses backups of a cluster without full-page writes.
		"full_page_writes": "on",
	})
	pass := filepath.Join(dir, "pgpass")
	if err := os.WriteFile(pass, []byte("*:*:*:postgres:"+srv.Cluster.Password+"\n"), 0o600); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(pass, uid, gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	return srv, pass
}

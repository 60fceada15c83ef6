package mover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// FindClient returns the path of a PostgreSQL client program (pg_dump, pg_restore),
// looking where the server binaries are looked for ([localpg.BinDirCandidates]):
// $TENANTCTL_PG_BINDIR, PATH, `pg_config --bindir`, then /usr/lib/postgresql/*/bin,
// newest major version first.
func FindClient(name string) (string, error) {
	for _, dir := range binDirCandidates(name) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 && !isWrapper(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, ErrNoClient)
}

// binDirCandidates is [localpg.BinDirCandidates], a variable so that a test can take
// the machine's own PostgreSQL out of sight.
var binDirCandidates = localpg.BinDirCandidates

// isWrapper reports whether p is Debian's pg_wrapper script (a Perl program that
// picks a cluster), not the real program.
func isWrapper(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return true
	}
	defer f.Close()
	head := make([]byte, 2)
	_, _ = io.ReadFull(f, head)
	return string(head) == "#!"
}

// clientCmd prepares a client program that reaches database db on srv as its admin
// role; the password travels in the child's environment only.
func clientCmd(ctx context.Context, prog string, srv *tenantdb.Server, db string, args ...string) *exec.Cmd {
	return clientCmdEnv(ctx, prog, srv.ClientEnv(db), args...)
}

// ownerClientCmd prepares a client program that works in tenant id's database on srv as
// the tenant's owner role: logged in as the owner when srv knows its password (the
// admin holds no standing membership in tenant roles, and a membership of one
// transaction cannot span a pg_dump or pg_restore session; see docs/performance.md,
// "Role design"), else as the admin taking the owner's role (--role): a tenant not yet
// converted to owner logins, whose admin membership reconcile has not revoked, or a
// restore's private scratch copy ([tenantdb.Server.EnsureOwnerSession]).
func ownerClientCmd(ctx context.Context, prog string, srv *tenantdb.Server, id string, args ...string) (*exec.Cmd, error) {
	db := tenantdb.Database(id)
	pw, ok, err := srv.OwnerPassword(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok {
		return clientCmdEnv(ctx, prog, srv.ClientEnvAs(db, tenantdb.OwnerRole(id), pw), args...), nil
	}
	if err := srv.EnsureOwnerSession(ctx, id); err != nil {
		return nil, err
	}
	return clientCmd(ctx, prog, srv, db, append([]string{"--role=" + tenantdb.OwnerRole(id)}, args...)...), nil
}

// clientCmdEnv prepares a client program with the libpq environment clientEnv.
func clientCmdEnv(ctx context.Context, prog string, clientEnv []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, prog, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, clientEnv...)
	// A killed tenantctl must not leave a pg_dump or pg_restore running on its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	return cmd
}

// stderrTail keeps the last few KiB a program wrote on stderr, for error messages.
type stderrTail struct{ bytes.Buffer }

func (s *stderrTail) Write(p []byte) (int, error) {
	n, err := s.Buffer.Write(p)
	if s.Len() > 8<<10 {
		b := s.Bytes()
		rest := append([]byte(nil), b[len(b)-4<<10:]...)
		s.Reset()
		s.Buffer.Write(rest)
	}
	return n, err
}

func (s *stderrTail) String() string { return secret.Scrub(strings.TrimSpace(s.Buffer.String())) }

// countingWriter counts the bytes that pass through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pipeDumpRestore runs pg_dump on the source database piped into pg_restore on the
// target database (no temporary file) and returns the archive's size. Both run as the
// tenant's owner role (see ownerClientCmd). dumpArgs are added to pg_dump's
// (--schema-only for method logical).
func pipeDumpRestore(ctx context.Context, src, dst *tenantdb.Server, id string, dumpArgs ...string) (int64, error) {
	dumpBin, err := FindClient("pg_dump")
	if err != nil {
		return 0, err
	}
	restoreBin, err := FindClient("pg_restore")
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	db := tenantdb.Database(id)
	dump, err := ownerClientCmd(ctx, dumpBin, src, id, append([]string{"--format=custom", "--compress=0", "--no-owner"}, dumpArgs...)...)
	if err != nil {
		return 0, err
	}
	restore, err := ownerClientCmd(ctx, restoreBin, dst, id, "--no-owner", "--exit-on-error", "--dbname="+db)
	if err != nil {
		return 0, err
	}
	var dumpErr, restoreErr stderrTail
	dump.Stderr, restore.Stderr = &dumpErr, &restoreErr
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	// pg_dump writes into a pipe this process reads and counts, then passes on to
	// pg_restore's stdin: the archive's size is the move's measure of data.
	rin, err := restore.StdinPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return 0, err
	}
	dump.Stdout = pw
	if err := restore.Start(); err != nil {
		pr.Close()
		pw.Close()
		return 0, fmt.Errorf("start pg_restore: %w", err)
	}
	if err := dump.Start(); err != nil {
		pr.Close()
		pw.Close()
		cancel()
		_ = restore.Wait()
		return 0, fmt.Errorf("start pg_dump: %w", err)
	}
	pw.Close()
	cw := &countingWriter{w: rin}
	_, copyErr := io.CopyBuffer(cw, pr, make([]byte, 256<<10))
	pr.Close()
	rin.Close()
	if copyErr != nil {
		cancel()
	}
	derr := dump.Wait()
	if derr != nil {
		cancel() // pg_restore must not commit a partial archive as if it were whole
	}
	rerr := restore.Wait()
	switch {
	case derr != nil:
		return cw.n, fmt.Errorf("pg_dump of %s on %s: %w: %s", db, src.Name, derr, dumpErr.String())
	case rerr != nil:
		return cw.n, fmt.Errorf("pg_restore of %s on %s: %w: %s", db, dst.Name, rerr, restoreErr.String())
	case copyErr != nil:
		return cw.n, fmt.Errorf("pipe pg_dump into pg_restore: %w", copyErr)
	}
	return cw.n, ctx.Err()
}

// runClient runs a client program to completion and returns its stdout (unless the
// caller set cmd.Stdout).
func runClient(cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	var errOut stderrTail
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return out.Bytes(), fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, errOut.String())
		}
		return out.Bytes(), fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
	}
	return out.Bytes(), nil
}

package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// RestoreHost is a host the scratch instances of restores run on instead of this one,
// driven over SSH with the system's ssh client: pgBackRest's selective restore runs
// there (reaching the repository as that host's pgBackRest is configured, with the
// stanza's configuration file at the same path), then the temporary postgres, which
// listens on a Unix socket only and is reached from here through an SSH forward. The
// SSH user should be the one pgBackRest runs as there (the server's OS user).
type RestoreHost struct {
	// Dest is the ssh destination: [user@]host, a Host of the ssh configuration, or
	// ssh://[user@]host[:port].
	Dest string
	// SSHConfig is an ssh_config file for the client (ssh -F: identity, known hosts);
	// empty for the client's defaults.
	SSHConfig string
	// BinDir holds PostgreSQL's server programs on the restore host; empty for the
	// directory they are in on this host.
	BinDir string
}

// Validate checks the host's settings without contacting it.
func (h RestoreHost) Validate() error {
	if _, err := h.url(""); err != nil {
		return err
	}
	if h.SSHConfig != "" && !filepath.IsAbs(h.SSHConfig) {
		return validate.Errorf("restore host ssh configuration %q must be an absolute path", h.SSHConfig)
	}
	if h.BinDir != "" && !filepath.IsAbs(h.BinDir) {
		return validate.Errorf("restore host bin directory %q must be an absolute path", h.BinDir)
	}
	return nil
}

func (h RestoreHost) url(dir string) (*url.URL, error) {
	d := h.Dest
	if !strings.HasPrefix(d, "ssh://") {
		d = "ssh://" + d
	}
	u, err := url.Parse(d)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || strings.HasPrefix(u.Host, "-") {
		return nil, validate.Errorf("invalid restore host %q: give [user@]host or ssh://[user@]host[:port]", h.Dest)
	}
	if _, ok := u.User.Password(); ok {
		return nil, validate.Errorf("invalid restore host %q: no password in it (use an SSH key)", h.Dest)
	}
	u.Path = dir
	q := url.Values{}
	if h.SSHConfig != "" {
		q.Set("F", h.SSHConfig)
	}
	if h.BinDir != "" {
		q.Set("bin", h.BinDir)
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// Location names scratch directory dir on the restore host, as recorded with a restore
// (ssh://[user@]host[:port]/dir?F=…&bin=…): whatever is configured later, a rerun or
// reconcile finds the instance where it was made.
func (h RestoreHost) Location(dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", validate.Errorf("scratch directory %q is not absolute", dir)
	}
	u, err := h.url(filepath.Clean(dir))
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// IsRemote reports whether a scratch location is on a restore host.
func IsRemote(location string) bool { return strings.HasPrefix(location, "ssh://") }

// remote is a scratch directory on a restore host.
type remote struct {
	dest, sshConfig, binDir, dir string
}

func parseRemote(location string) (remote, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "ssh" || !filepath.IsAbs(u.Path) {
		return remote{}, fmt.Errorf("invalid scratch location %q", location)
	}
	r := remote{dir: u.Path, sshConfig: u.Query().Get("F"), binDir: u.Query().Get("bin")}
	u.Path, u.RawQuery = "", ""
	r.dest = u.String()
	if r.binDir == "" {
		if r.binDir, err = localpg.FindBinDir(); err != nil {
			return remote{}, err
		}
	}
	return r, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// command prepares ssh running script with sh on the restore host, with args as $1…;
// sshOpts go before the destination.
func (r remote) command(ctx context.Context, sshOpts []string, script string, args ...string) *exec.Cmd {
	full := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=15"}
	if r.sshConfig != "" {
		full = append([]string{"-F", r.sshConfig}, full...)
	}
	full = append(full, sshOpts...)
	line := "LC_ALL=C sh -c " + shellQuote(script) + " sh"
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	full = append(full, "--", r.dest, line)
	cmd := exec.CommandContext(ctx, "ssh", full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	return cmd
}

// run runs script on the restore host and returns its standard output.
func (r remote) run(ctx context.Context, script string, args ...string) ([]byte, error) {
	out, msg, err := runOutput(r.command(ctx, nil, script, args...))
	if err != nil {
		return out, fmt.Errorf("on restore host %s: %w: %s", r.dest, err, msg)
	}
	return out, nil
}

// pgbackrest runs one pgbackrest command for the stanza on the restore host.
func (r remote) pgbackrest(ctx context.Context, s Settings, args ...string) ([]byte, error) {
	full := append([]string{"--config=" + s.ConfigPath, "--stanza=" + s.Stanza}, args...)
	out, err := r.run(ctx, `exec pgbackrest "$@"`, full...)
	if err != nil {
		return out, &CommandError{Args: args, Err: err, Output: ""}
	}
	return out, nil
}

// Scripts run on the restore host. Every one takes the scratch directory as $1 and
// the bin directory as $2.
const (
	// remoteWaitWatchdogs waits (up to 30 s) for the watchdogs of earlier runs' forwards
	// to have stopped the instance: each stops it once its connection is gone.
	remoteWaitWatchdogs = `i=0; while ls "$1"/watchdog-* >/dev/null 2>&1 && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; rm -f "$1"/watchdog-*
`
	remoteRemove = `[ -d "$1" ] || exit 0
` + remoteWaitWatchdogs + `if [ -f "$1/data/postmaster.pid" ]; then "$2/pg_ctl" -D "$1/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true; fi
rm -rf "$1"`
	remoteMake = `umask 077; mkdir -p "$1/data" "$1/sock" && chmod 700 "$1" "$1/data" "$1/sock"`
	// remoteAdopt makes the restored data directory a private instance: its own
	// pg_hba.conf ($3), settings appended to postgresql.auto.conf ($4), a marker.
	remoteAdopt = `set -e; d="$1/data"
[ -f "$d/postgresql.conf" ] || : > "$d/postgresql.conf"
printf '%s' "$3" > "$d/pg_hba.conf"
: > "$d/pg_ident.conf"
printf '%s' "$4" >> "$d/postgresql.auto.conf"
: > "$1/adopted"`
	remoteStart = `[ -f "$1/adopted" ] || { echo "no restored instance in $1" >&2; exit 3; }
` + remoteWaitWatchdogs + `if "$2/pg_ctl" -D "$1/data" status >/dev/null 2>&1; then exit 0; fi
exec "$2/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start >/dev/null`
	remoteRunning = `exec "$2/pg_ctl" -D "$1/data" status >/dev/null 2>&1`
	remoteLog     = `cat "$1/server.log" 2>/dev/null || true`
	// remoteWatchdog runs for as long as the forward's session: once its standard input
	// closes (this process closed it, or died, or the connection dropped) it stops the
	// instance.
	remoteWatchdog = `m="$1/watchdog-$$"; : > "$m"; echo ready; cat >/dev/null
"$2/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null 2>&1; rm -f "$m"`
)

// remoteSocketPort is the port the scratch instance's socket is named by.
const remoteSocketPort = 5432

// socket is the scratch instance's Unix socket on the restore host.
func (r remote) socket() string {
	return filepath.Join(r.dir, "sock", ".s.PGSQL."+strconv.Itoa(remoteSocketPort))
}

// restoreScratchRemote is [RestoreScratch] on a restore host.
func restoreScratchRemote(ctx context.Context, s Settings, live *tenantdb.Server, db string, target time.Time, location string) (*Scratch, error) {
	r, err := parseRemote(location)
	if err != nil {
		return nil, err
	}
	if n := len(r.socket()); n > 100 {
		return nil, validate.Errorf("scratch directory %s is too long for the instance's Unix socket (%d characters): use a shorter --scratch-dir", r.dir, n)
	}
	if _, err := r.run(ctx, remoteRemove, r.dir, r.binDir); err != nil {
		return nil, err
	}
	if _, err := r.run(ctx, remoteMake, r.dir); err != nil {
		return nil, err
	}
	args := []string{"restore", "--db-include=" + db, "--type=time",
		"--target=" + target.UTC().Format(TargetFormat), "--target-action=promote", "--archive-mode=off",
		"--pg1-path=" + filepath.Join(r.dir, "data")}
	in, err := r.pgbackrest(ctx, s, "--output=json", "info")
	if err != nil {
		return nil, err
	}
	info, err := parseInfo(in)
	if err != nil {
		return nil, err
	}
	if set := pickSet(info.Backups, target); set != "" {
		args = append(args, "--set="+set)
	}
	if _, err := r.pgbackrest(ctx, s, args...); err != nil {
		return nil, err
	}
	// Only the live server's admin role, on the instance's private socket (reached from
	// here through the SSH forward), whatever the restored roles could do.
	hba := "local all " + pgx.Identifier{live.AdminRole()}.Sanitize() + " scram-sha-256\n"
	var conf strings.Builder
	conf.WriteString("\n# tenantctl: scratch instance of a restore\n")
	for _, kv := range [][2]string{
		{"listen_addresses", "''"}, {"port", strconv.Itoa(remoteSocketPort)},
		{"unix_socket_directories", "'" + filepath.Join(r.dir, "sock") + "'"},
		{"hba_file", "'" + filepath.Join(r.dir, "data", "pg_hba.conf") + "'"},
		{"ident_file", "'" + filepath.Join(r.dir, "data", "pg_ident.conf") + "'"},
		{"logging_collector", "off"}, {"archive_mode", "off"}, {"archive_command", "''"},
		// As on this host: see RestoreScratch.
		{"ignore_invalid_pages", "on"},
	} {
		fmt.Fprintf(&conf, "%s = %s\n", kv[0], kv[1])
	}
	if _, err := r.run(ctx, remoteAdopt, r.dir, r.binDir, hba, conf.String()); err != nil {
		return nil, err
	}
	return openRemote(ctx, r, live, db)
}

// openRemote starts the restore host's scratch instance (or finds it running), forwards
// a free port of 127.0.0.1 here to its socket, waits until it is promoted and checks
// its recovery's log.
func openRemote(ctx context.Context, r remote, live *tenantdb.Server, db string) (*Scratch, error) {
	if _, err := r.run(ctx, remoteStart, r.dir, r.binDir); err != nil {
		return nil, fmt.Errorf("start the restored instance: %w%s", err, r.logTail(ctx))
	}
	sc := &Scratch{remote: &r}
	if err := sc.forward(ctx); err != nil {
		return nil, err
	}
	srv, err := tenantdb.NewServer("scratch", scratchDSN(live, sc.port), 0, "")
	if err != nil {
		sc.Close()
		return nil, err
	}
	srv.Private = true // a throwaway copy only the admin reaches, as on this host
	sc.Server = srv
	if err := waitPromoted(ctx, sc, db); err != nil {
		sc.Close()
		return nil, fmt.Errorf("%w%s", err, r.logTail(ctx))
	}
	if err := checkInvalidPages(ctx, sc, db); err != nil {
		sc.Close()
		return nil, err
	}
	return sc, nil
}

// forward starts the SSH session that forwards a free local port to the instance's
// socket and keeps the restore host's watchdog alive: when this process closes it (or
// dies), the instance stops.
func (sc *Scratch) forward(ctx context.Context) error {
	r := sc.remote
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// Not bound to ctx: the session lives as long as the scratch instance is used.
	cmd := r.command(context.WithoutCancel(ctx), []string{"-o", "ExitOnForwardFailure=yes",
		"-L", "127.0.0.1:" + strconv.Itoa(port) + ":" + r.socket()}, remoteWatchdog, r.dir, r.binDir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ssh to restore host %s: %w", r.dest, err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err = <-ready:
	case <-time.After(60 * time.Second):
		err = errors.New("timed out")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("forward to the scratch instance on restore host %s: %w: %s", r.dest, err, secret.Scrub(strings.TrimSpace(errOut.String())))
	}
	sc.port, sc.fwd, sc.fwdIn = port, cmd, stdin
	return nil
}

func (r remote) logTail(ctx context.Context) string {
	b, err := r.run(context.WithoutCancel(ctx), remoteLog, r.dir)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nserver log (end):\n" + string(b)
}

// openScratchRemote is [OpenScratch] on a restore host.
func openScratchRemote(ctx context.Context, location string, live *tenantdb.Server, db string) (*Scratch, error) {
	r, err := parseRemote(location)
	if err != nil {
		return nil, err
	}
	return openRemote(ctx, r, live, db)
}

// removeScratchRemote is [RemoveScratch] on a restore host.
func removeScratchRemote(ctx context.Context, location string) error {
	r, err := parseRemote(location)
	if err != nil {
		return err
	}
	_, err = r.run(ctx, remoteRemove, r.dir, r.binDir)
	return err
}

// CheckRestoreHost runs a harmless command on the restore host: it answers over SSH
// and pgbackrest is there.
func CheckRestoreHost(ctx context.Context, h RestoreHost) error {
	loc, err := h.Location("/")
	if err != nil {
		return err
	}
	r, err := parseRemote(loc)
	if err != nil {
		return err
	}
	_, err = r.run(ctx, `command -v pgbackrest >/dev/null || { echo "pgbackrest is not installed" >&2; exit 3; }; [ -x "$1/pg_ctl" ] || { echo "no PostgreSQL server programs in $1" >&2; exit 3; }`, r.binDir)
	return err
}

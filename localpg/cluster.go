package localpg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const stateFile = "cluster.json"

// Options configure a new cluster.
type Options struct {
	// Dir is the cluster's own directory; it is created when missing. It holds the data
	// directory, the socket, the server log and the cluster's state file.
	Dir string
	// Port to listen on (127.0.0.1 only); 0 picks a free one.
	Port int
	// Fast turns durability off (fsync, synchronous_commit, full_page_writes): for tests
	// and throwaway development clusters only.
	Fast bool
	// Settings are extra postgresql.conf settings.
	Settings map[string]string
	// HBA are pg_hba.conf lines placed before initdb's (see [Cluster.WriteHBA]).
	HBA string
	// Template makes the data directory a copy of a cached initdb result rather than
	// running initdb: the first cluster of a machine (per OS user, PostgreSQL binaries
	// and initdb arguments) makes it under os.TempDir() (see [TemplateDirPrefix]); each
	// copy gets its own system identifier and superuser password (its verifier with one
	// PBKDF2 iteration, see secret.KeyVerifier: the password is a random key). For test
	// clusters, which are made by the hundred.
	Template bool
}

// Cluster is one private PostgreSQL cluster made by this package.
type Cluster struct {
	Dir      string `json:"-"`
	BinDir   string `json:"bin_dir"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`

	runAs *syscall.Credential
}

// Status is what [Cluster.Status] reports.
type Status struct {
	Dir     string `json:"dir"`
	Port    int    `json:"port"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
}

// Init creates a cluster in opts.Dir, or opens the one already there. A directory left
// half-initialised by an interrupted Init is wiped and initialised again: the state file
// is written only as the very last step.
func Init(ctx context.Context, opts Options) (*Cluster, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if c, err := Open(dir); err == nil {
		return c, nil
	} else if !errors.Is(err, ErrNotInitialized) {
		return nil, err
	}
	binDir, runAs, err := serverTools()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	if runAs != nil {
		if err := checkReachable(dir, int(runAs.Uid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if err := os.RemoveAll(data); err != nil { // leftovers of an interrupted init
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o700); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: binDir, Port: opts.Port, User: "postgres", Password: randomPassword(), runAs: runAs}
	if c.Port == 0 {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	defer os.Remove(pwfile)
	if err := c.chownTree(dir); err != nil {
		return nil, err
	}
	if opts.Template {
		if err := c.initFromTemplate(ctx, data); err != nil {
			return nil, err
		}
	} else if _, err := c.run(ctx, "initdb", append([]string{"-D", data, "--pwfile", pwfile}, c.initdbArgs()...)...); err != nil {
		return nil, fmt.Errorf("initdb: %w", err)
	}
	if err := c.writeConf(data, opts); err != nil {
		return nil, err
	}
	if opts.HBA != "" {
		if err := c.WriteHBA(opts.HBA); err != nil {
			return nil, err
		}
	}
	if err := c.saveState(); err != nil {
		return nil, err
	}
	return c, nil
}

// Open returns the cluster previously created in dir by [Init].
func Open(dir string) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotInitialized)
	} else if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, stateFile), err)
	}
	if c.runAs, err = serverCredential(); err != nil {
		return nil, err
	}
	return c, nil
}

// DataDir is the PostgreSQL data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// LogFile is the server's log.
func (c *Cluster) LogFile() string { return filepath.Join(c.Dir, "server.log") }

// DSN returns a superuser connection string for database db.
func (c *Cluster) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(c.User, c.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Start starts the server and waits until it accepts connections. Starting a running
// cluster does nothing.
func (c *Cluster) Start(ctx context.Context) error {
	if st := c.Status(ctx); st.Running {
		return nil
	}
	if err := c.chownTree(c.Dir); err != nil {
		return err
	}
	if _, err := c.run(ctx, "pg_ctl", "-D", c.DataDir(), "-l", c.LogFile(), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("start PostgreSQL in %s: %w (server log: %s)", c.Dir, err, c.LogFile())
	}
	return nil
}

// Stop stops the server (fast shutdown) and waits for it to exit. Stopping a stopped
// cluster, or one another process is stopping, does nothing more.
func (c *Cluster) Stop(ctx context.Context) error {
	if st := c.Status(ctx); !st.Running {
		return nil
	}
	if _, err := c.run(ctx, "pg_ctl", "-D", c.DataDir(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		// Another stop may have won the race since the check above (the watchdog of a
		// killed run sends its SIGINT at any instant): pg_ctl then finds no PID file.
		// The server being down is what was asked for.
		if !c.Status(ctx).Running {
			return nil
		}
		return fmt.Errorf("stop PostgreSQL in %s: %w", c.Dir, err)
	}
	return nil
}

// Status reports whether the server runs.
func (c *Cluster) Status(ctx context.Context) Status {
	st := Status{Dir: c.Dir, Port: c.Port}
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return st
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if pid > 0 && syscall.Kill(pid, 0) == nil {
		st.Running, st.PID = true, pid
	}
	return st
}

// Remove stops the server and deletes the cluster directory.
func (c *Cluster) Remove(ctx context.Context) error {
	stopErr := c.Stop(ctx)
	if err := os.RemoveAll(c.Dir); err != nil {
		return errors.Join(stopErr, err)
	}
	return stopErr
}

// StopWhenProcessExits starts a detached watchdog that stops the server, and removes the
// cluster directory when remove is set, as soon as process pid has exited, however it
// exited (a panic, a timeout, kill -9). Test binaries use it so nothing is left running.
//
// The watchdog is announced by a marker file in the cluster directory (watchdog-<pid>)
// that it removes once it has acted: a later process that opens the same cluster calls
// [Cluster.WaitForWatchdogs] first, so a dead process's watchdog cannot stop the server
// that process starts again.
func (c *Cluster) StopWhenProcessExits(pid int, remove bool) error {
	// tail --pid (GNU coreutils) waits without a process per check: a test run keeps
	// dozens of watchdogs for minutes, and a sleep spawned every half second by each
	// (about a millisecond of CPU a time) added up to tens of CPU seconds a run. Where
	// tail has no --pid it fails at once, and the loop waits instead.
	script := `if ! tail --pid="$1" -s 0.5 -f /dev/null 2>/dev/null; then
  while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
fi
pidfile="$2/data/postmaster.pid"
if [ -f "$pidfile" ]; then kill -INT "$(head -n1 "$pidfile")" 2>/dev/null; fi
i=0; while [ -f "$pidfile" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done
rm -f "$2/watchdog-$1"
if [ "$3" = 1 ]; then rm -rf "$2"; fi`
	rm := "0"
	if remove {
		rm = "1"
	}
	marker := filepath.Join(c.Dir, "watchdog-"+strconv.Itoa(pid))
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return fmt.Errorf("start cluster watchdog: %w", err)
	}
	cmd := exec.Command("sh", "-c", script, "watchdog", strconv.Itoa(pid), c.Dir, rm)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = os.Remove(marker)
		return fmt.Errorf("start cluster watchdog: %w", err)
	}
	return cmd.Process.Release()
}

// WaitForWatchdogs waits until the watchdogs other processes left on the cluster
// ([Cluster.StopWhenProcessExits]) have acted: each stops the server once its process
// has exited, and would otherwise stop a server started again meanwhile. A watchdog of
// a live process is waited for too (its process still owns the server). A marker whose
// watchdog is gone (never started, or killed itself) is removed after timeout.
func (c *Cluster) WaitForWatchdogs(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	self := "watchdog-" + strconv.Itoa(os.Getpid())
	for {
		markers, err := filepath.Glob(filepath.Join(c.Dir, "watchdog-*"))
		if err != nil {
			return err
		}
		var pending []string
		for _, m := range markers {
			if filepath.Base(m) != self {
				pending = append(pending, m)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, m := range pending {
				owner, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "watchdog-"))
				if owner > 0 && syscall.Kill(owner, 0) == nil {
					return fmt.Errorf("cluster %s is still watched for running process %d", c.Dir, owner)
				}
				_ = os.Remove(m)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) writeConf(data string, opts Options) error {
	settings := map[string]string{
		"listen_addresses":        "'127.0.0.1'",
		"port":                    strconv.Itoa(c.Port),
		"unix_socket_directories": "'" + filepath.Join(c.Dir, "sock") + "'",
		"max_connections":         "300",
		"password_encryption":     "'scram-sha-256'",
		"log_line_prefix":         "'%m [%p] %q%u@%d '",
	}
	if len(filepath.Join(c.Dir, "sock", ".s.PGSQL.00000")) > 100 {
		// Unix socket paths are limited to ~107 bytes; TCP on loopback is all we use.
		settings["unix_socket_directories"] = "''"
	}
	if opts.Fast {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	var buf bytes.Buffer
	buf.WriteString("\n# tenantctl localpg\n")
	for k, v := range settings {
		fmt.Fprintf(&buf, "%s = %s\n", k, v)
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *Cluster) saveState() error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.Dir, stateFile))
}

// run executes one of the server binaries, as the postgres OS user when we are root.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return c.runInput(ctx, "", name, args...)
}

// runInput is run with input on the program's standard input.
func (c *Cluster) runInput(ctx context.Context, input, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Dir = c.Dir
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGPASSWORD=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = c.runAs
		cmd.Env = append(cmd.Env, "HOME="+c.Dir, "USER=postgres")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func (c *Cluster) chownTree(dir string) error {
	if c.runAs == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.runAs.Uid), int(c.runAs.Gid))
	})
}

// serverTools returns what running a server needs: the directory of its binaries and
// the credential its processes run as (see serverCredential).
func serverTools() (binDir string, runAs *syscall.Credential, err error) {
	if binDir, err = FindBinDir(); err != nil {
		return "", nil, err
	}
	if runAs, err = serverCredential(); err != nil {
		return "", nil, err
	}
	return binDir, runAs, nil
}

// serverCredential returns the credential to run the server with: nil when we are not
// root, the postgres OS user when we are (PostgreSQL refuses to run as root).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs an unprivileged OS user named postgres to own the " +
			"cluster (PostgreSQL refuses to run as root): create it (useradd --system postgres) or run as a normal user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// checkReachable makes sure the postgres OS user can reach dir through its parents.
func checkReachable(dir string, uid int) error {
	if blocker := blockingParent(dir, uid); blocker != "" {
		return &UnreachableError{Dir: dir, Blocker: blocker}
	}
	return nil
}

// blockingParent returns the first parent of dir that a user uid cannot search, or "".
// It looks at the "other" permission bits only: the server's user is not root and
// (we assume) in none of the owner's groups.
func blockingParent(dir string, uid int) string {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return ""
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && int(st.Uid) != uid && fi.Mode().Perm()&0o001 == 0 {
			return p
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Adopt takes over a data directory made by something else (a restored backup) in
// dir/data, for a private instance on a free port of 127.0.0.1: it appends the settings
// that make the instance this package's (port, listen address, socket directory, plus
// settings) to postgresql.auto.conf, writes pg_hba.conf from hba (replacing the copied
// one), and records the cluster so [Open], [Cluster.Start] and [Cluster.Remove] work.
// user and password are the superuser's as far as the data directory knows them ("" if
// unknown: connect with another role).
func Adopt(ctx context.Context, dir string, hba string, settings map[string]string) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	binDir, runAs, err := serverTools()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: binDir, User: "postgres", runAs: runAs}
	if c.Port, err = freePort(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o700); err != nil {
		return nil, err
	}
	all := map[string]string{
		"listen_addresses":        "'127.0.0.1'",
		"port":                    strconv.Itoa(c.Port),
		"unix_socket_directories": "'" + filepath.Join(dir, "sock") + "'",
		"hba_file":                "'" + filepath.Join(c.DataDir(), "pg_hba.conf") + "'",
		"ident_file":              "'" + filepath.Join(c.DataDir(), "pg_ident.conf") + "'",
		"logging_collector":       "off",
	}
	if len(filepath.Join(dir, "sock", ".s.PGSQL.00000")) > 100 {
		all["unix_socket_directories"] = "''"
	}
	for k, v := range settings {
		all[k] = v
	}
	conf := filepath.Join(c.DataDir(), "postgresql.conf")
	if _, err := os.Stat(conf); errors.Is(err, os.ErrNotExist) {
		// A server whose configuration lives outside its data directory (Debian's
		// /etc/postgresql): the restored directory has none.
		if err := os.WriteFile(conf, nil, 0o600); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	buf.WriteString("\n# tenantctl localpg: adopted instance\n")
	for k, v := range all {
		fmt.Fprintf(&buf, "%s = %s\n", k, v)
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir(), "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.DataDir(), "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.DataDir(), "pg_ident.conf"), nil, 0o600); err != nil {
		return nil, err
	}
	if err := c.chownTree(dir); err != nil {
		return nil, err
	}
	if err := c.saveState(); err != nil {
		return nil, err
	}
	_ = ctx
	return c, nil
}

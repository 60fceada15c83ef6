package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Scratch is a private instance holding one database restored from a server's backups,
// on this host or on a restore host ([RestoreHost]).
type Scratch struct {
	// Cluster is the instance on this host (nil on a restore host).
	Cluster *localpg.Cluster
	// Server reaches the scratch instance as the live server's admin role (the restored
	// shared catalogs hold its password).
	Server *tenantdb.Server

	// On a restore host: where, the local port forwarded to its socket, and the SSH
	// session that forwards it (closing its input stops the instance).
	remote *remote
	port   int
	fwd    *exec.Cmd
	fwdIn  io.WriteCloser
}

// Close closes the connections to the instance (and, on a restore host, the SSH
// session, whose end stops the instance there). The instance on this host keeps running
// until this process exits or [RemoveScratch].
func (sc *Scratch) Close() {
	if sc.Server != nil {
		sc.Server.Close()
	}
	if sc.fwd != nil {
		sc.fwdIn.Close()
		done := make(chan struct{})
		go func() { _ = sc.fwd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = sc.fwd.Process.Kill()
			<-done
		}
		sc.fwd = nil
	}
}

// readLog returns the instance's server log.
func (sc *Scratch) readLog(ctx context.Context) ([]byte, error) {
	if sc.remote != nil {
		return sc.remote.run(ctx, remoteLog, sc.remote.dir)
	}
	return os.ReadFile(sc.Cluster.LogFile())
}

// running reports whether the instance runs.
func (sc *Scratch) running(ctx context.Context) bool {
	if sc.remote != nil {
		_, err := sc.remote.run(ctx, remoteRunning, sc.remote.dir, sc.remote.binDir)
		return err == nil
	}
	return sc.Cluster.Status(ctx).Running
}

// TargetFormat is how a restore target time is given to pgbackrest.
const TargetFormat = "2006-01-02 15:04:05.999999-07"

// RestoreScratch restores database db of the server described by s, as it was at
// target, into dir (which it empties first), starts it as a private instance on a free
// port of 127.0.0.1 reachable only by live's admin role, and waits until recovery has
// ended and the instance is promoted. pgbackrest restores the shared catalogs and db's
// files only (--db-include); the other databases come back zero-filled and are never
// opened. The instance stops when this process exits; [RemoveScratch] removes it. dir
// may be a location on a restore host ([RestoreHost.Location]): everything then happens
// there, over SSH.
func RestoreScratch(ctx context.Context, s Settings, live *tenantdb.Server, db string, target time.Time, dir string) (*Scratch, error) {
	if IsRemote(dir) {
		return restoreScratchRemote(ctx, s, live, db, target, dir)
	}
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("scratch directory %q is not absolute", dir)
	}
	if err := RemoveScratch(ctx, dir); err != nil {
		return nil, err
	}
	// The parent must be searchable by the server's OS user, who owns dir itself.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Dir(dir)); err == nil && fi.Mode().Perm()&0o001 == 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == os.Geteuid() {
			if err := os.Chmod(filepath.Dir(dir), fi.Mode().Perm()|0o711); err != nil {
				return nil, err
			}
		}
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	for _, p := range []string{dir, data} {
		if err := Chown(s, p); err != nil {
			return nil, err
		}
	}
	args := []string{"restore", "--db-include=" + db, "--type=time",
		"--target=" + target.UTC().Format(TargetFormat), "--target-action=promote", "--archive-mode=off",
		"--pg1-path=" + data}
	if set, err := backupSetFor(ctx, s, target); err != nil {
		return nil, err
	} else if set != "" {
		args = append(args, "--set="+set)
	}
	if _, err := pgbackrest(ctx, s, args...); err != nil {
		return nil, err
	}
	// The copied pg_hba.conf is replaced: only the live server's admin role, over
	// loopback, may reach the scratch instance, whatever the restored roles could do.
	hba := "host all " + pgx.Identifier{live.AdminRole()}.Sanitize() + " 127.0.0.1/32 scram-sha-256\n"
	// The other databases' files come back zeroed. WAL records that carry no page
	// image (a vacuum marking pages all-visible, on any busy server) then reference
	// zeroed pages, which PostgreSQL treats as a fatal inconsistency once recovery is
	// consistent ("WAL contains references to invalid pages") unless told to ignore
	// them. Ignoring them is safe for the databases that are never opened; the log is
	// checked afterwards for any reported in a database that was restored
	// (checkInvalidPages).
	c, err := localpg.Adopt(ctx, dir, hba, map[string]string{
		"archive_mode": "off", "archive_command": "''", "ignore_invalid_pages": "on",
	})
	if err != nil {
		return nil, err
	}
	return serveScratch(ctx, c, live, db, true)
}

// serveScratch starts the scratch instance c, to be stopped when this process ends, and
// returns it once it serves db, promoted and with no invalid page in db. When it was
// just restored, a failure to start or to finish recovery carries the end of its log.
func serveScratch(ctx context.Context, c *localpg.Cluster, live *tenantdb.Server, db string, restored bool) (*Scratch, error) {
	withLog := func(err error) error {
		if restored {
			return fmt.Errorf("%w%s", err, logTail(c.LogFile()))
		}
		return err
	}
	if err := c.StopWhenProcessExits(os.Getpid(), false); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		if restored {
			err = fmt.Errorf("start the restored instance: %w", err)
		}
		return nil, withLog(err)
	}
	srv, err := tenantdb.NewServer("scratch", scratchDSN(live, c.Port), 0, "")
	if err != nil {
		return nil, err
	}
	srv.Private = true // a throwaway copy only the admin reaches
	sc := &Scratch{Cluster: c, Server: srv}
	if err := waitPromoted(ctx, sc, db); err != nil {
		srv.Close()
		return nil, withLog(err)
	}
	if err := checkInvalidPages(ctx, sc, db); err != nil {
		srv.Close()
		return nil, err
	}
	return sc, nil
}

// invalidPageLines are the log's reports of invalid pages ("page 4 of relation
// base/16397/760179 is uninitialized", "… does not exist").
func invalidPageLines(log string) []string {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " of relation ") && (strings.Contains(l, "uninitialized") || strings.Contains(l, "does not exist")) {
			lines = append(lines, l)
		}
	}
	return lines
}

// invalidPagesIn keeps the lines naming a relation of a database in oids or of the
// shared catalogs.
func invalidPagesIn(lines, oids []string) []string {
	var bad []string
	for _, l := range lines {
		restored := strings.Contains(l, " global/")
		for _, oid := range oids {
			restored = restored || strings.Contains(l, " base/"+oid+"/")
		}
		if restored {
			bad = append(bad, strings.TrimSpace(l))
		}
	}
	return bad
}

// InvalidPagesError is returned when the recovery of a scratch instance reported
// invalid pages in a database that was restored (the one asked for, the built-in ones,
// or the shared catalogs): its copy cannot be trusted.
type InvalidPagesError struct {
	Database string
	Lines    []string
}

func (e *InvalidPagesError) Error() string {
	return fmt.Sprintf("the recovery of database %s reported invalid pages, so its restored copy cannot be trusted: %s",
		e.Database, strings.Join(e.Lines, "; "))
}

// checkInvalidPages reads the scratch instance's log for the invalid pages its recovery
// reported and fails when one lies in a restored database (db, postgres, template0,
// template1) or in the shared catalogs: only the zeroed, never opened databases may have
// them.
func checkInvalidPages(ctx context.Context, sc *Scratch, db string) error {
	b, err := sc.readLog(ctx)
	if err != nil {
		return err
	}
	lines := invalidPageLines(string(b))
	if len(lines) == 0 {
		return nil
	}
	conn, err := sc.Server.Connect(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT oid::text FROM pg_database WHERE datname = ANY($1)`,
		[]string{db, "postgres", "template0", "template1"})
	if err != nil {
		return err
	}
	oids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if bad := invalidPagesIn(lines, oids); len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return &InvalidPagesError{Database: db, Lines: bad}
	}
	return nil
}

// backupSetFor names the newest backup that certainly ended before target. pgBackRest
// records a backup's end in whole seconds; left to choose, it can take the backup
// before one that ended in target's second, which may not hold a database created
// since ("database to include … does not exist"). A backup counts only when a whole
// second separates its recorded end from target; "" when none does (pgBackRest then
// chooses, and the window check has already refused a time before every backup).
func backupSetFor(ctx context.Context, s Settings, target time.Time) (string, error) {
	in, err := ReadInfo(ctx, s)
	if err != nil {
		return "", err
	}
	return pickSet(in.Backups, target), nil
}

func pickSet(backups []Backup, target time.Time) string {
	var best *Backup
	for i, b := range backups {
		if !b.Stop.Add(time.Second).After(target) && (best == nil || b.Stop.After(best.Stop)) {
			best = &backups[i]
		}
	}
	if best == nil {
		return ""
	}
	return best.Label
}

// scratchDSN is live's admin DSN pointed at the scratch instance's port on 127.0.0.1.
func scratchDSN(live *tenantdb.Server, port int) string {
	cfg := live.ConnConfig("postgres")
	u, err := url.Parse(live.DSNFor(cfg.User, cfg.Password, "postgres"))
	if err != nil {
		return ""
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q := u.Query()
	q.Set("sslmode", "disable") // loopback to a private instance without certificates
	u.RawQuery = q.Encode()
	return u.String()
}

// waitPromoted waits until the instance accepts connections to db and has left
// recovery (--target-action=promote).
func waitPromoted(ctx context.Context, sc *Scratch, db string) error {
	deadline := time.Now().Add(30 * time.Minute)
	var last error
	var checked time.Time
	for time.Now().Before(deadline) {
		// On a restore host the check is a round trip over SSH: every few seconds.
		if sc.remote == nil || time.Since(checked) > 3*time.Second {
			if !sc.running(ctx) {
				return errors.New("the restored instance stopped during recovery (was the target time reached by the archived WAL?)")
			}
			checked = time.Now()
		}
		conn, err := sc.Server.Connect(ctx, db)
		if err == nil {
			var inRecovery bool
			err = conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&inRecovery)
			conn.Close(context.WithoutCancel(ctx))
			if err == nil && !inRecovery {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if last == nil {
		return errors.New("the restored instance did not finish recovery in time: it is still in recovery")
	}
	return fmt.Errorf("the restored instance did not finish recovery: %w", last)
}

// RemoveScratch stops and deletes a scratch instance (what [RestoreScratch] made in
// dir); a missing one is fine.
func RemoveScratch(ctx context.Context, dir string) error {
	if IsRemote(dir) {
		return removeScratchRemote(ctx, dir)
	}
	if c, err := localpg.Open(dir); err == nil {
		if err := c.Remove(ctx); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// logTail is the end of a server log, for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return " (server log " + path + ": …" + strings.TrimSpace(string(b)) + ")"
}

// OpenScratch starts again the scratch instance a previous run left in dir (stopped
// when that run's process ended) and waits until it serves db.
func OpenScratch(ctx context.Context, dir string, live *tenantdb.Server, db string) (*Scratch, error) {
	if IsRemote(dir) {
		return openScratchRemote(ctx, dir, live, db)
	}
	c, err := localpg.Open(dir)
	if err != nil {
		return nil, err
	}
	// The run that made it was killed: its watchdog stops the instance (within half a
	// second of the kill) and must have done so before it is started again here.
	if err := c.WaitForWatchdogs(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	return serveScratch(ctx, c, live, db, false)
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/localpg"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Scratch is a private instance holding one database restored from a server's backups.
type Scratch struct {
	Cluster *localpg.Cluster
	// Server reaches the scratch instance as the live server's admin role (the restored
	// shared catalogs hold its password).
	Server *tenantdb.Server
}

// TargetFormat is how a restore target time is given to pgbackrest.
const TargetFormat = "2006-01-02 15:04:05.999999-07"

// RestoreScratch restores database db of the server described by s, as it was at
// target, into dir (which it empties first), starts it as a private instance on a free
// port of 127.0.0.1 reachable only by live's admin role, and waits until recovery has
// ended and the instance is promoted. pgbackrest restores the shared catalogs and db's
// files only (--db-include); the other databases come back zero-filled and are never
// opened. The instance stops when this process exits; [RemoveScratch] removes it.
func RestoreScratch(ctx context.Context, s Settings, live *tenantdb.Server, db string, target time.Time, dir string) (*Scratch, error) {
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
	if _, err := pgbackrest(ctx, s, "restore", "--db-include="+db, "--type=time",
		"--target="+target.UTC().Format(TargetFormat), "--target-action=promote", "--archive-mode=off",
		"--pg1-path="+data); err != nil {
		return nil, err
	}
	// The copied pg_hba.conf is replaced: only the live server's admin role, over
	// loopback, may reach the scratch instance, whatever the restored roles could do.
	hba := "host all " + pgx.Identifier{live.AdminRole()}.Sanitize() + " 127.0.0.1/32 scram-sha-256\n"
	c, err := localpg.Adopt(ctx, dir, hba, map[string]string{
		"archive_mode": "off", "archive_command": "''",
	})
	if err != nil {
		return nil, err
	}
	if err := c.StopWhenProcessExits(os.Getpid(), false); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("start the restored instance: %w%s", err, logTail(c.LogFile()))
	}
	srv, err := tenantdb.NewServer("scratch", scratchDSN(live, c.Port), 0, "")
	if err != nil {
		return nil, err
	}
	sc := &Scratch{Cluster: c, Server: srv}
	if err := waitPromoted(ctx, sc, db); err != nil {
		srv.Close()
		return nil, fmt.Errorf("%w%s", err, logTail(c.LogFile()))
	}
	return sc, nil
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
	for time.Now().Before(deadline) {
		if !sc.Cluster.Status(ctx).Running {
			return errors.New("the restored instance stopped during recovery (was the target time reached by the archived WAL?)")
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
	c, err := localpg.Open(dir)
	if err != nil {
		return nil, err
	}
	// The run that made it was killed: its watchdog stops the instance (within half a
	// second of the kill) and must have done so before it is started again here.
	if err := c.WaitForWatchdogs(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if err := c.StopWhenProcessExits(os.Getpid(), false); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	srv, err := tenantdb.NewServer("scratch", scratchDSN(live, c.Port), 0, "")
	if err != nil {
		return nil, err
	}
	sc := &Scratch{Cluster: c, Server: srv}
	if err := waitPromoted(ctx, sc, db); err != nil {
		srv.Close()
		return nil, err
	}
	return sc, nil
}

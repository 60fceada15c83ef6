package tenantdb

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgerrcode"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// KeptCopy names the tenant's previous database kept on its server after an in-place
// restore (restore id n): t_<id>_kept<n>. The audit and reconcile accept it while the
// catalog records it; no login can reach it (the app role has no CONNECT there, and the
// confinement lines admit a login only to a database named like one of its roles).
func KeptCopy(id string, n int64) string { return Prefix + id + "_kept" + strconv.FormatInt(n, 10) }

var keptRE = regexp.MustCompile(`^t_([a-z2-7]{10})_kept([0-9]+)$`)

// ParseKeptCopy returns the tenant id and restore id of a kept copy's name.
func ParseKeptCopy(name string) (id string, n int64, ok bool) {
	m := keptRE.FindStringSubmatch(name)
	if m == nil {
		return "", 0, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	return m[1], n, err == nil
}

// RenameDatabase renames database from to to, ending the sessions on it first (a
// database with sessions cannot be renamed). A rename already done (from missing, to
// present) is not an error.
func (s *Server) RenameDatabase(ctx context.Context, from, to string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	var fromExists, toExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1),
		EXISTS (SELECT 1 FROM pg_database WHERE datname = $2)`, from, to).Scan(&fromExists, &toExists); err != nil {
		return err
	}
	if !fromExists && toExists {
		return nil
	}
	for attempt := 1; ; attempt++ {
		if _, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, from); err != nil {
			return fmt.Errorf("end sessions on %s: %w", from, err)
		}
		_, err = conn.Exec(ctx, "ALTER DATABASE "+ident(from)+" RENAME TO "+ident(to))
		if err == nil || !dbconn.HasCode(err, pgerrcode.ObjectInUse) || attempt == 20 {
			break
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("rename database %s to %s: %w", from, to, err)
	}
	return nil
}

// DropNamedDatabase drops a database by name (a kept copy), ending its sessions.
func (s *Server) DropNamedDatabase(ctx context.Context, name string) error {
	return s.dropDatabase(ctx, name)
}

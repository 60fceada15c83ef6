package tenantdb

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

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
	var owner string
	if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, from).Scan(&owner); err != nil {
		return fmt.Errorf("rename database %s: %w", from, err)
	}
	for attempt := 1; ; attempt++ {
		// Client sessions only: an autovacuum worker has no role, and signalling it takes
		// a superuser ("must be a superuser to terminate superuser process"); the rename
		// itself cancels autovacuum workers in the database, and the loop retries.
		if err := s.terminateDatabase(ctx, conn, from); err != nil {
			return err
		}
		// Renaming is the owner's right: the admin is a member of the owner for the
		// statement's transaction only.
		err = s.withMembership(ctx, conn, []string{owner}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(from)+" RENAME TO "+ident(to))
			return err
		})
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

package tenantdb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// terminateWait bounds how long terminate waits for the sessions it signalled to end.
const terminateWait = 10 * time.Second

// resignalAfter is how long terminate waits for signalled sessions to go before it
// signals what is left again.
const resignalAfter = 500 * time.Millisecond

// terminate ends every session of roles and waits until they are gone.
//
// A least-privilege admin may only signal sessions of roles it is a member of, and it
// holds no standing membership in tenant roles (docs/performance.md, "Role design"):
// each signalling round takes the membership of the roles it finds sessions of for one
// transaction ([Server.withMembership]). (pg_signal_backend would do it with one
// standing membership, but lets the admin signal every non-superuser session of the
// server, and on PostgreSQL 16+ only a superuser can grant it.) A round that finds no
// session grants nothing.
//
// pg_terminate_backend only sends a signal: the session ends a moment later. A role
// dropped in that moment leaves a session that belongs to no role any more; so every
// caller that drops a role afterwards gets only a role without sessions. A session that
// ends between the scan and the signal (its pid reused by another backend), or a role
// dropped between them, fails the round: the scan simply runs again.
func (s *Server) terminate(ctx context.Context, conn *pgx.Conn, roles ...string) error {
	return s.terminateWhere(ctx, conn, "usename = ANY($1)", roles, fmt.Sprint(roles))
}

// terminateDatabase ends the sessions of roles on database db (any role but superusers,
// whom only a superuser may signal; autovacuum workers have no role) and waits until
// they are gone. (Not filtered on backend_type: pg_stat_activity shows it only for
// sessions of roles the admin is a member of.)
func (s *Server) terminateDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	return s.terminateWhere(ctx, conn, "datname = $1", db, "on "+db)
}

// terminateWhere ends the sessions of pg_stat_activity matching cond (with arg as $1)
// other than its own, of roles that are not superusers; what names them in errors.
func (s *Server) terminateWhere(ctx context.Context, conn *pgx.Conn, cond string, arg any, what string) error {
	scan := `SELECT coalesce(array_agg(DISTINCT a.usename::text), '{}') FROM pg_stat_activity a
		JOIN pg_roles r ON r.rolname = a.usename
		WHERE ` + cond + ` AND a.pid <> pg_backend_pid() AND NOT r.rolsuper`
	signal := `SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a
		WHERE ` + cond + ` AND a.pid <> pg_backend_pid() AND a.usename = ANY($2)`
	deadline := time.Now().Add(terminateWait)
	var signalled time.Time
	for {
		var found []string
		if err := conn.QueryRow(ctx, scan, arg).Scan(&found); err != nil {
			return fmt.Errorf("terminate sessions %s: %w", what, err)
		}
		if len(found) == 0 {
			return nil
		}
		var err error
		if time.Since(signalled) >= resignalAfter {
			err = s.withMembership(ctx, conn, found, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, signal, arg, found)
				return err
			})
			signalled = time.Now()
			if err != nil && !dbconn.HasCode(err, pgerrcode.InsufficientPrivilege, pgerrcode.UndefinedObject) {
				return fmt.Errorf("terminate sessions %s: %w", what, err)
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("session(s) of %v still open after %s", found, terminateWait)
			}
			return fmt.Errorf("terminate sessions %s: %w", what, err)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

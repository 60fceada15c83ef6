package tenantdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pghba"
)

// LoginsRole is the group role every tenant and MSP access login is a member of: the
// "+tenantctl_logins" of the pg_hba.conf lines [HBALines] prints. NOLOGIN, and it is
// granted nothing.
const LoginsRole = pghba.LoginsRole

// GroupRole is the tenant's group role, named exactly like its database so that
// pg_hba.conf's "samerole" keyword lets the group's members open that database and no
// other. NOLOGIN, granted nothing: membership in it gives no privilege.
func GroupRole(id string) string { return Database(id) }

// ensureLoginsRole creates [LoginsRole] when missing. Two provisioners may race to
// create it: the loser's duplicate is fine.
func ensureLoginsRole(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, LoginsRole).Scan(&exists); err != nil || exists {
		return err
	}
	_, err := conn.Exec(ctx, "CREATE ROLE "+ident(LoginsRole)+" NOLOGIN NOINHERIT "+safeAttrs)
	if dbconn.HasCode(err, pgerrcode.DuplicateObject, pgerrcode.UniqueViolation) { // a concurrent create
		return nil
	}
	if err != nil {
		return fmt.Errorf("create role %s: %w", LoginsRole, err)
	}
	return nil
}

// confineStmts returns the statements that make login a member of the tenant's group
// role (created when missing) and of [LoginsRole]; ensureLoginsRole must have run.
func confineStmts(id string, groupExists bool, logins ...string) []string {
	group := GroupRole(id)
	stmts := []string{roleStmt(group, "NOLOGIN NOINHERIT CONNECTION LIMIT 0", groupExists)}
	for _, l := range logins {
		stmts = append(stmts, "GRANT "+ident(group)+" TO "+ident(l), "GRANT "+ident(LoginsRole)+" TO "+ident(l))
	}
	return stmts
}

// prepareConfinement creates [LoginsRole] when missing (confineStmts grants it) and
// returns which of roles already exist, for roleStmt and confineStmts to create or
// alter them.
//
// One query looks up both [LoginsRole] and roles; the role is created only when missing.
func prepareConfinement(ctx context.Context, conn *pgx.Conn, id string, roles ...string) ([]string, error) {
	var found []string
	// QueryExecModeExec: one round trip, where a process that has prepared nothing yet
	// (every CLI command) would spend two on preparing it first.
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(rolname::text), '{}') FROM pg_roles WHERE rolname = ANY($1)`,
		pgx.QueryExecModeExec, append([]string{LoginsRole}, roles...)).Scan(&found); err != nil {
		return nil, fmt.Errorf("look up roles of %s: %w", Database(id), err)
	}
	if !slices.Contains(found, LoginsRole) {
		if err := ensureLoginsRole(ctx, conn); err != nil {
			return nil, err
		}
	}
	existing := make([]string, 0, len(found))
	for _, r := range found {
		if r != LoginsRole || slices.Contains(roles, LoginsRole) {
			existing = append(existing, r)
		}
	}
	return existing, nil
}

// confineLogins makes logins members of the tenant's group role (created when missing)
// and of [LoginsRole], then runs extra: one round trip, one implicit transaction. what
// names the work in the error.
func (s *Server) confineLogins(ctx context.Context, id, what string, logins []string, extra ...string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	existing, err := prepareConfinement(ctx, conn, id, GroupRole(id))
	if err != nil {
		return err
	}
	return execBatch(ctx, conn, what, append(confineStmts(id, len(existing) > 0, logins...), extra...))
}

// execBatch runs stmts on conn in one round trip (one implicit transaction, or inside
// the caller's); what names the work in the error.
func execBatch(ctx context.Context, conn *pgx.Conn, what string, stmts []string) error {
	if _, err := conn.PgConn().Exec(ctx, strings.Join(stmts, ";\n")).ReadAll(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// execAdmin runs stmts on an admin connection in one round trip (one implicit
// transaction); what names the work in the error.
func (s *Server) execAdmin(ctx context.Context, what string, stmts ...string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	return execBatch(ctx, conn, what, stmts)
}

// EnsureConfinement gives an existing tenant its group role and makes its app role (and
// the given other logins: MSP access roles, the owner) members of it and of [LoginsRole]: what provisioning does
// for new tenants, done by reconcile for tenants created before. Idempotent.
func (s *Server) EnsureConfinement(ctx context.Context, id string, accessRoles ...string) error {
	return s.confineLogins(ctx, id, "confine the logins of "+Database(id), append([]string{AppRole(id)}, accessRoles...))
}

// HBAMethods are the authentication methods [HBALines] accepts for the admin role.
var HBAMethods = pghba.Methods

// HBALines returns the pg_hba.conf lines that confine every tenant and MSP access login
// to its own database (see [pghba.Lines]).
func HBALines(adminRole, method string) string { return pghba.Lines(adminRole, method) }

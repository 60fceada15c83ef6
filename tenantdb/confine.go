package tenantdb

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// LoginsRole is the group role every tenant and MSP access login is a member of: the
// "+tenantctl_logins" of the pg_hba.conf lines [HBALines] prints. NOLOGIN, and it is
// granted nothing.
const LoginsRole = "tenantctl_logins"

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
	if st := sqlState(err); st == "42710" || st == "23505" { // duplicate_object, unique_violation: a concurrent create
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

// EnsureConfinement gives an existing tenant its group role and makes its app role (and
// the given MSP access roles) members of it and of [LoginsRole]: what provisioning does
// for new tenants, done by reconcile for tenants created before. Idempotent.
func (s *Server) EnsureConfinement(ctx context.Context, id string, accessRoles ...string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := ensureLoginsRole(ctx, conn); err != nil {
		return err
	}
	var groupExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, GroupRole(id)).Scan(&groupExists); err != nil {
		return err
	}
	stmts := confineStmts(id, groupExists, append([]string{AppRole(id)}, accessRoles...)...)
	if _, err := conn.PgConn().Exec(ctx, strings.Join(stmts, ";\n")).ReadAll(); err != nil {
		return fmt.Errorf("confine the logins of %s: %w", Database(id), err)
	}
	return nil
}

// HBAMethods are the authentication methods [HBALines] accepts for the admin role.
var HBAMethods = []string{"scram-sha-256", "md5", "password", "cert", "gss", "sspi", "ldap", "radius", "pam"}

var plainRole = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// hbaRole writes a role name as pg_hba.conf reads it (double-quoted unless plain).
func hbaRole(role string) string {
	if plainRole.MatchString(role) {
		return role
	}
	return `"` + strings.ReplaceAll(role, `"`, `""`) + `"`
}

// HBALines returns the pg_hba.conf lines that confine every tenant and MSP access login
// to its own database, for a superuser to place first in the server's file. They are
// static — they name no tenant — so tenants created later are covered without editing
// the file again:
//
//   - the admin role comes first, because it is a member of every tenant's roles and
//     so of LoginsRole too (the first matching line wins);
//   - "samerole" matches when the login is a member of a role named like the requested
//     database: the tenant's group role, named like its database;
//   - every other database is rejected for members of LoginsRole.
//
// Superusers are not members of LoginsRole (PostgreSQL does not count a superuser as a
// member of a group in pg_hba.conf unless it is one explicitly), so they are unaffected.
func HBALines(adminRole, method string) string {
	if method == "" {
		method = "scram-sha-256"
	}
	admin, logins := hbaRole(adminRole), "+"+hbaRole(LoginsRole)
	rows := [][]string{
		{"local", "all", admin, "", method},
		{"host", "all", admin, "all", method},
		{"local", "samerole", logins, "", "scram-sha-256"},
		{"host", "samerole", logins, "all", "scram-sha-256"},
		{"local", "all", logins, "", "reject"},
		{"host", "all", logins, "all", "reject"},
	}
	var b strings.Builder
	b.WriteString("# tenantctl: confine tenant and MSP access logins to their own database.\n")
	b.WriteString("# Place these lines FIRST in pg_hba.conf, then reload (SELECT pg_reload_conf()).\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-6s %-9s %-22s %-4s %s\n", r[0], r[1], r[2], r[3], r[4])
	}
	b.WriteString("# end of tenantctl lines\n")
	return b.String()
}

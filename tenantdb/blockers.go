package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RoleInUseError is returned by [Server.DropRoles] when a tenant role still owns
// objects, or holds privileges, in other databases of the server — a copy of the
// tenant's database made under another name, or a bridge to it — so PostgreSQL refuses
// to drop it.
type RoleInUseError struct {
	Role string
	// Databases are the databases where the role owns or is granted something.
	Databases []string
	Err       error
}

func (e *RoleInUseError) Error() string {
	return fmt.Sprintf("role %s cannot be dropped: it owns objects or holds privileges in database %s on this server "+
		"(a copy of the tenant's database, or a bridge to it); drop those databases, or run REASSIGN OWNED BY and DROP OWNED BY %s in each, then purge again",
		e.Role, strings.Join(e.Databases, ", "), e.Role)
}

func (e *RoleInUseError) Unwrap() error { return e.Err }

// roleInUse reads from pg_shdepend where role still has dependents and wraps err.
func roleInUse(ctx context.Context, conn *pgx.Conn, role string, err error) error {
	rows, qerr := conn.Query(ctx, `
		SELECT DISTINCT d.datname::text FROM pg_shdepend s
		JOIN pg_database d ON d.oid = s.dbid
		JOIN pg_roles r ON r.oid = s.refobjid AND s.refclassid = 'pg_authid'::regclass
		WHERE r.rolname = $1 ORDER BY 1`, role)
	if qerr != nil {
		return fmt.Errorf("drop role %s: %w", role, err)
	}
	dbs, qerr := pgx.CollectRows(rows, pgx.RowTo[string])
	if qerr != nil || len(dbs) == 0 {
		return fmt.Errorf("drop role %s: %w", role, err)
	}
	return &RoleInUseError{Role: role, Databases: dbs, Err: err}
}

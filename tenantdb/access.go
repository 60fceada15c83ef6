package tenantdb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccessPrefix starts the names of MSP access roles. They never start with t_ (the
// tenant namespace) and never name a customer: msp_<login>_<tenant id>.
const AccessPrefix = "msp_"

// AccessRole names the role through which an MSP login reaches one tenant.
func AccessRole(login, id string) string {
	return AccessPrefix + strings.NewReplacer(".", "_", "-", "_").Replace(login) + "_" + id
}

// IsAccessRole reports whether role is an MSP access role for tenant id.
func IsAccessRole(role, id string) bool {
	return strings.HasPrefix(role, AccessPrefix) && strings.HasSuffix(role, "_"+id)
}

// GrantAccess creates (or resets) an MSP access role for tenant id: LOGIN with the given
// password (sent as a verifier), VALID UNTIL expires when set, a small connection limit,
// CONNECT on the tenant database, USAGE on schema public, and SELECT (read) or DML
// (write) on every table and sequence, now and for tables the owner creates later.
//
// The role is created NOLOGIN and given LOGIN only as the very last statement, so a
// role that cannot log in is an unfinished grant (see [AccessRoleReady]); running
// GrantAccess again finishes it.
func (s *Server) GrantAccess(ctx context.Context, id, role, level, password string, expires *time.Time) error {
	pw, err := verifierLiteral(password)
	if err != nil {
		return err
	}
	until := "'infinity'"
	if expires != nil {
		if until, err = literal(expires.UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	existing, err := prepareConfinement(ctx, conn, id, role, GroupRole(id))
	if err != nil {
		return err
	}
	stmts := append([]string{roleStmt(role, "NOLOGIN NOINHERIT CONNECTION LIMIT 5", slices.Contains(existing, role))},
		confineStmts(id, slices.Contains(existing, GroupRole(id)), role)...)
	if err := execBatch(ctx, conn, "create access role", stmts); err != nil {
		return err
	}
	fpAccessRole.Hit()
	tables := "SELECT"
	seqs := "SELECT"
	if level == "write" {
		tables, seqs = "SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT, UPDATE"
	}
	owner, r := ident(OwnerRole(id)), ident(role)
	tconn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer tconn.Close(context.WithoutCancel(ctx))
	// As the owner, in one transaction that makes the admin a member of it: the
	// database's CONNECT and the tables' privileges are the owner's to grant.
	in := []string{
		"GRANT CONNECT ON DATABASE " + ident(Database(id)) + " TO " + r,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + r,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + r,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public REVOKE ALL ON TABLES FROM " + r,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public REVOKE ALL ON SEQUENCES FROM " + r,
		"GRANT USAGE ON SCHEMA public TO " + r,
		"GRANT " + tables + " ON ALL TABLES IN SCHEMA public TO " + r,
		"GRANT " + seqs + " ON ALL SEQUENCES IN SCHEMA public TO " + r,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT " + tables + " ON TABLES TO " + r,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT " + seqs + " ON SEQUENCES TO " + r,
	}
	if err := s.asOwner(ctx, tconn, id, nil, func(tx pgx.Tx) error {
		_, err := tx.Conn().PgConn().Exec(ctx, strings.Join(in, ";\n")).ReadAll()
		return err
	}); err != nil {
		return fmt.Errorf("grant access in %s: %w", Database(id), err)
	}
	// The ready mark: last.
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(role)+" LOGIN PASSWORD "+pw+" VALID UNTIL "+until); err != nil {
		return fmt.Errorf("enable access role: %w", err)
	}
	return nil
}

// AccessRoleReady reports whether an access role is finished (GrantAccess made it
// LOGIN as its last step) and whether it exists at all.
func AccessRoleReady(snap Snapshot, role string) (ready, exists bool) {
	r, ok := snap.Roles[role]
	return ok && r.CanLogin, ok
}

// RevokeAccessRole ends an access role's sessions, removes its privileges in the tenant
// database and drops it. A missing role or database is fine.
func (s *Server) RevokeAccessRole(ctx context.Context, id, role string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil || !exists {
		return err
	}
	// No new session from here on: one opened after the terminate would outlive the
	// role (see terminate).
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(role)+" NOLOGIN"); err != nil {
		return fmt.Errorf("disable role %s: %w", role, err)
	}
	if err := s.terminate(ctx, conn, role); err != nil {
		return err
	}
	if ok, err := s.DatabaseExists(ctx, Database(id)); err != nil {
		return err
	} else if ok {
		tconn, err := s.connectTenant(ctx, id)
		if err != nil {
			return err
		}
		// DROP OWNED removes the role's privileges (and default privileges) here; it
		// owns nothing. It needs the role's rights, and the owner's to take away what
		// the owner granted, the CONNECT on the database included: both for one
		// transaction.
		err = s.withMembership(ctx, tconn, []string{OwnerRole(id), role}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "DROP OWNED BY "+ident(role)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "REVOKE ALL ON DATABASE "+ident(Database(id))+" FROM "+ident(role))
			return err
		})
		tconn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("remove privileges of %s: %w", role, err)
		}
		fpAccessDropOwned.Hit()
	}
	if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(role)); err != nil {
		return fmt.Errorf("drop role %s: %w", role, err)
	}
	return nil
}

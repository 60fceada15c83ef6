package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/secret"
)

// AppConnectionLimit caps the application role's sessions.
const AppConnectionLimit = 50

// safeAttrs are the attributes every tenant role carries. The owner role keeps INHERIT:
// in PostgreSQL 15+ schema public belongs to pg_database_owner, whose privileges the
// database owner only gets by inheritance.
const safeAttrs = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

// OwnerConnectionLimit caps the owner role's sessions: tenantctl's own (migrations,
// hardening, rollups, moves), one or two per tenant at a time.
const OwnerConnectionLimit = 10

// EnsureRoles creates the tenant's owner role and app role (LOGIN, with the given
// password sent as a SCRAM verifier), or brings existing ones back to those attributes
// and passwords. With an owner password the owner logs in too (LOGIN, its own password,
// [OwnerConnectionLimit]): tenantctl's work inside the tenant database connects as the
// owner instead of the admin with SET ROLE (see docs/performance.md, "Role design").
// Without one the owner is NOLOGIN (a tenant not yet converted). Both logins are made
// members of the tenant's group role and of [LoginsRole], which the pg_hba.conf lines of
// [HBALines] confine logins with. The admin role is made a member of neither: what it
// does with their rights (handing a database over, ending sessions, hardening) takes
// the membership for one transaction (see [Server.withMembership]). Idempotent.
func (s *Server) EnsureRoles(ctx context.Context, id, appPassword, ownerPassword string, login bool) error {
	loginAttr := "LOGIN"
	if !login {
		loginAttr = "NOLOGIN"
	}
	pw, err := verifierLiteral(appPassword)
	if err != nil {
		return err
	}
	ownerAttrs := ownerNoLogin
	if ownerPassword != "" {
		if ownerAttrs, err = ownerLoginAttrs(ownerPassword); err != nil {
			return err
		}
	}
	appAttrs := fmt.Sprintf("%s NOINHERIT CONNECTION LIMIT %d", loginAttr, AppConnectionLimit)
	setPassword := "ALTER ROLE " + ident(AppRole(id)) + " PASSWORD " + pw
	// A killed run's session may still be creating the same roles: wait for it.
	return retryUnique(ctx, func() error {
		return s.ensureRoles(ctx, id, "create roles of "+Database(id), ownerAttrs, appAttrs, setPassword)
	})
}

// ownerNoLogin are the attributes of an owner role that does not log in: a spare's, or
// a tenant's not yet converted to owner logins.
const ownerNoLogin = "NOLOGIN INHERIT CONNECTION LIMIT 0 PASSWORD NULL"

// ownerLoginAttrs are the attributes of an owner role that logs in with password.
func ownerLoginAttrs(password string) (string, error) {
	if password == "" {
		return "", errors.New("the owner role's login needs a password")
	}
	lit, err := keyVerifierLiteral(password)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("LOGIN INHERIT CONNECTION LIMIT %d PASSWORD %s", OwnerConnectionLimit, lit), nil
}

// verifierLiteral is password as a quoted SCRAM-SHA-256 verifier computed here, so the
// plaintext never reaches the server or its logs.
func verifierLiteral(password string) (string, error) {
	verifier, err := secret.ScramVerifier(password)
	if err != nil {
		return "", err
	}
	return literal(verifier)
}

// keyVerifierLiteral is [verifierLiteral] with [secret.KeyVerifier]: for the owner
// role's generated password, which only tenantctl and libpq's pg_dump and pg_restore
// log in with. Each verifier set this way spares the server 4,096 PBKDF2 iterations
// (it checks every new verifier against the empty password) and each owner login
// spares tenantctl as many.
func keyVerifierLiteral(password string) (string, error) {
	verifier, err := secret.KeyVerifier(password)
	if err != nil {
		return "", err
	}
	return literal(verifier)
}

// EnsureOwnerLogin gives an existing tenant's owner role its LOGIN and password and the
// memberships that confine it (the tenant's group role, created when missing, and
// [LoginsRole]): the conversion of a tenant made before owner logins, done by
// reconcile. One round trip, one implicit transaction: all of it or nothing. Idempotent.
func (s *Server) EnsureOwnerLogin(ctx context.Context, id, ownerPassword string) error {
	attrs, err := ownerLoginAttrs(ownerPassword)
	if err != nil {
		return err
	}
	return s.confineLogins(ctx, id, "owner login of "+Database(id), []string{OwnerRole(id)}, "ALTER ROLE "+ident(OwnerRole(id))+" "+attrs)
}

// ensureRoles makes (or brings back) the tenant's owner role with ownerAttrs, its app
// role with appAttrs and both logins' confinement memberships (never a standing
// membership of the admin in them), plus the extra statements after the roles: one round trip, one implicit
// transaction. Tenants and spares differ only in the attributes and extra. what names
// the work in the error.
func (s *Server) ensureRoles(ctx context.Context, id, what, ownerAttrs, appAttrs string, extra ...string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	owner, app := OwnerRole(id), AppRole(id)
	existing, err := prepareConfinement(ctx, conn, id, owner, app, GroupRole(id))
	if err != nil {
		return err
	}
	stmts := []string{
		roleStmt(owner, ownerAttrs, slices.Contains(existing, owner)),
		roleStmt(app, appAttrs, slices.Contains(existing, app)),
	}
	stmts = append(stmts, extra...)
	// The group role named like the database, for pg_hba.conf's samerole.
	stmts = append(stmts, confineStmts(id, slices.Contains(existing, GroupRole(id)), app, owner)...)
	return execBatch(ctx, conn, what, stmts)
}

// roleStmt creates a role with attrs plus [safeAttrs], or (exists) alters it to attrs
// plus NOCREATEDB NOCREATEROLE; see ensureRole.
func roleStmt(role, attrs string, exists bool) string {
	if exists {
		return "ALTER ROLE " + ident(role) + " " + attrs + " NOCREATEDB NOCREATEROLE"
	}
	return "CREATE ROLE " + ident(role) + " " + attrs + " " + safeAttrs
}

// ensureRole creates a role with attrs plus [safeAttrs], or alters an existing one to
// attrs plus NOCREATEDB NOCREATEROLE. (A role with CREATEROLE may not even name the
// SUPERUSER, REPLICATION or BYPASSRLS attributes in ALTER ROLE; drift there needs a
// superuser and is reported by the audit.)
func (s *Server) ensureRole(ctx context.Context, conn *pgx.Conn, role, attrs string) error {
	_, err := conn.Exec(ctx, "CREATE ROLE "+ident(role)+" "+attrs+" "+safeAttrs)
	if dbconn.HasCode(err, pgerrcode.DuplicateObject) { // a rerun
		_, err = conn.Exec(ctx, "ALTER ROLE "+ident(role)+" "+attrs+" NOCREATEDB NOCREATEROLE")
	}
	if err != nil {
		return fmt.Errorf("create role %s: %w", role, err)
	}
	return nil
}

// grantToAdminStmt makes the admin role a member of role, with INHERIT and SET on 16+.
func (s *Server) grantToAdminStmt(role string) string {
	stmt := "GRANT " + ident(role) + " TO " + ident(s.AdminRole())
	if s.VersionNum >= 160000 {
		stmt += " WITH INHERIT TRUE, SET TRUE"
	}
	return stmt
}

func (s *Server) grantToAdmin(ctx context.Context, conn *pgx.Conn, role string) error {
	if _, err := conn.Exec(ctx, s.grantToAdminStmt(role)); err != nil {
		return fmt.Errorf("grant %s to the admin role: %w", role, err)
	}
	return nil
}

// setPassword sets a role's password as a SCRAM-SHA-256 verifier computed here by
// verifier, so the plaintext never reaches the server or its logs.
func (s *Server) setPassword(ctx context.Context, role, password string, verifier func(string) (string, error)) error {
	lit, err := verifier(password)
	if err != nil {
		return err
	}
	return s.execAdmin(ctx, "set password of "+role, "ALTER ROLE "+ident(role)+" PASSWORD "+lit)
}

// SetAppPassword replaces the app role's password; sessions already open stay open.
func (s *Server) SetAppPassword(ctx context.Context, id, password string) error {
	return s.setPassword(ctx, AppRole(id), password, verifierLiteral)
}

// SetOwnerPassword replaces the owner role's login password (a rotation); sessions
// already open stay open.
func (s *Server) SetOwnerPassword(ctx context.Context, id, password string) error {
	return s.setPassword(ctx, OwnerRole(id), password, keyVerifierLiteral)
}

// SetAppLogin allows or forbids the app role to log in; forbidding also terminates its
// open sessions.
func (s *Server) SetAppLogin(ctx context.Context, id string, login bool) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	attr := "LOGIN"
	if !login {
		attr = "NOLOGIN"
	}
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(AppRole(id))+" "+attr); err != nil {
		return fmt.Errorf("alter role %s %s: %w", AppRole(id), attr, err)
	}
	fpLoginAltered.Hit()
	if !login {
		return s.terminate(ctx, conn, AppRole(id))
	}
	return nil
}

// DropRoles drops the tenant's roles if they exist. Their database must be gone first.
func (s *Server) DropRoles(ctx context.Context, id string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	for _, role := range []string{AppRole(id), OwnerRole(id), GroupRole(id)} {
		if err := s.terminate(ctx, conn, role); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident(role)); err != nil {
			if dbconn.HasCode(err, pgerrcode.DependentObjectsStillExist) { // in another database
				return roleInUse(ctx, conn, role, err)
			}
			return fmt.Errorf("drop role %s: %w", role, err)
		}
		fpRoleDropped.Hit()
	}
	return nil
}

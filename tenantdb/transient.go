package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// withMembership runs fn inside one transaction on conn during which the admin role is
// a member of roles, and only then: GRANT, fn, REVOKE, COMMIT. It is the primitive of
// the role design in which the admin holds no standing membership in tenant roles (see
// docs/performance.md, "Role design"): the rare server-level statements that need a
// tenant role's rights — handing a database to its owner or taking it back before a
// drop, ending a role's sessions — take the membership for the length of one
// transaction.
//
// Nothing is left standing whatever happens: the membership exists only in the
// uncommitted transaction, so a killed process, a dropped connection or a failed fn
// rolls it back with everything else; other sessions never see it (it is invisible
// until commit, and revoked before it). A role the admin already holds a standing
// membership in (a fleet not yet converted) is left alone: no GRANT, and above all no
// REVOKE of a membership that was there before.
//
// Concurrent transactions granting the same role to the admin wait for each other on
// the membership's catalog row, for as long as the earlier one takes; keep fn short.
//
// PostgreSQL 16 and later: the admin created the role, so it holds ADMIN OPTION on it
// with INHERIT FALSE, SET FALSE (the grantor being the bootstrap superuser; leave
// createrole_self_grant empty). That row is not a membership for privilege checks, and
// it stays: the GRANT here adds a second row, granted by the admin itself, WITH INHERIT
// TRUE, SET TRUE, and the REVOKE removes that one only (a role revokes the grants it
// made). The standing check below therefore counts only rows that inherit.
func (s *Server) withMembership(ctx context.Context, conn *pgx.Conn, roles []string, fn func(tx pgx.Tx) error) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A direct read of pg_auth_members: pg_has_role would compute the admin's every
	// membership, the walk this design avoids.
	standingQuery := `SELECT coalesce(array_agg(r.rolname::text), '{}') FROM pg_auth_members m
		JOIN pg_roles r ON r.oid = m.roleid
		WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND r.rolname = ANY($1)`
	if s.VersionNum >= 160000 {
		standingQuery += ` AND m.inherit_option`
	}
	var standing []string
	if err := tx.QueryRow(ctx, standingQuery, roles).Scan(&standing); err != nil {
		return fmt.Errorf("read the admin's memberships: %w", err)
	}
	var granted, grants []string
	for _, role := range roles {
		if role == s.AdminRole() || slices.Contains(standing, role) || slices.Contains(granted, role) {
			continue
		}
		granted = append(granted, role)
		grants = append(grants, s.grantToAdminStmt(role))
	}
	// One round trip for the grants, one for the revokes (simple protocol: inside the
	// open transaction).
	if len(grants) > 0 {
		if _, err := tx.Conn().PgConn().Exec(ctx, strings.Join(grants, ";\n")).ReadAll(); err != nil {
			return fmt.Errorf("grant %s to the admin role for one transaction: %w", strings.Join(granted, ", "), err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	// RESET ROLE first: fn may have taken a tenant role (SET LOCAL ROLE), which could not
	// revoke anything from the admin.
	revokes := []string{"RESET ROLE"}
	for _, role := range granted {
		revokes = append(revokes, "REVOKE "+ident(role)+" FROM "+ident(s.AdminRole()))
	}
	if _, err := tx.Conn().PgConn().Exec(ctx, strings.Join(revokes, ";\n")).ReadAll(); err != nil {
		return fmt.Errorf("revoke %s from the admin role: %w", strings.Join(granted, ", "), err)
	}
	return tx.Commit(ctx)
}

// asOwner runs fn in one transaction on conn as the tenant's owner role: the admin is
// a member of the owner (and of extra roles) for that transaction only
// ([Server.withMembership]) and takes the owner's role with SET LOCAL ROLE, so what fn
// creates or grants is the owner's, exactly as a session logged in as the owner would
// do it. Used for the short owner work tenantctl does inside a tenant database
// (hardening, adopting a clone's objects, the domain functions, access grants):
// measured as cheap as a superuser's session whatever the number of tenants on the
// server, on the connection the caller already has (a spare's owner, which cannot log
// in, included).
func (s *Server) asOwner(ctx context.Context, conn *pgx.Conn, id string, extra []string, fn func(tx pgx.Tx) error) error {
	return s.withMembership(ctx, conn, append([]string{OwnerRole(id)}, extra...), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ident(OwnerRole(id))); err != nil {
			return fmt.Errorf("take the owner role of %s: %w", Database(id), err)
		}
		return fn(tx)
	})
}

// AsOwner runs fn as tenant id's owner role in one transaction on conn, an admin
// connection to the tenant database (see asOwner): for the mover's short owner work
// (publications, sequences, materialized views). Nothing is left standing.
func (s *Server) AsOwner(ctx context.Context, conn *pgx.Conn, id string, fn func(tx pgx.Tx) error) error {
	return s.asOwner(ctx, conn, id, nil, fn)
}

// AdminMemberships returns, of the roles the admin is a member of in snap, those of
// tenant id — its owner and app roles and its MSP access roles: standing memberships
// the role design does without (docs/performance.md, "Role design"), left by tenants
// made before it; reconcile revokes them ([Server.RevokeAdminMemberships]) and the
// audit reports them. (On PostgreSQL 16+ the ADMIN OPTION the admin receives on the
// roles it creates is not counted: the snapshot lists only memberships that inherit
// or allow SET ROLE.)
func AdminMemberships(snap Snapshot, admin, id string) []string {
	var out []string
	for _, g := range snap.Roles[admin].MemberOf {
		if g == OwnerRole(id) || g == AppRole(id) || IsAccessRole(g, id) {
			out = append(out, g)
		}
	}
	return out
}

// RevokeAdminMemberships revokes the admin's standing memberships in roles, tenant id's
// roles (see [AdminMemberships]), one statement at a time: a kill between them leaves
// some revoked and some not, and the rerun revokes what is left. First, while the
// admin can still act as the owner, the admin gets CONNECT on the tenant database in
// its own name (hardening gives it to every tenant made since), so that it can still
// enter the database afterwards. Idempotent; a role gone meanwhile is skipped.
func (s *Server) RevokeAdminMemberships(ctx context.Context, id string, roles []string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	var owned bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND pg_get_userbyid(datdba) = $2)`,
		Database(id), OwnerRole(id)).Scan(&owned); err != nil {
		return err
	}
	if owned {
		if err := s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "GRANT CONNECT ON DATABASE "+ident(Database(id))+" TO "+ident(s.AdminRole()))
			return err
		}); err != nil {
			return fmt.Errorf("grant the admin CONNECT on %s: %w", Database(id), err)
		}
	}
	for _, role := range roles {
		if _, err := conn.Exec(ctx, "REVOKE "+ident(role)+" FROM "+ident(s.AdminRole())); err != nil && !dbconn.HasCode(err, pgerrcode.UndefinedObject) {
			return fmt.Errorf("revoke the admin's membership in %s: %w", role, err)
		}
		fpMembershipRevoke.Hit()
	}
	return nil
}

// connectTenant opens an admin connection to tenant id's database. The admin enters it
// through the CONNECT it holds in its own name (granted when the database is handed to
// its owner, and by hardening), not through a membership in the owner; when that right
// was taken away (drift, or a database hardened before it was given), it is given back
// in one transaction as the owner, and the connection tried again.
func (s *Server) connectTenant(ctx context.Context, id string) (*pgx.Conn, error) {
	conn, err := s.Connect(ctx, Database(id))
	if err == nil || !dbconn.HasCode(err, pgerrcode.InsufficientPrivilege) {
		return conn, err
	}
	aconn, release, aerr := s.admin(ctx)
	if aerr != nil {
		return nil, errors.Join(err, aerr)
	}
	aerr = s.withMembership(ctx, aconn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "GRANT CONNECT ON DATABASE "+ident(Database(id))+" TO "+ident(s.AdminRole()))
		return err
	})
	release()
	if aerr != nil {
		return nil, errors.Join(err, fmt.Errorf("give the admin CONNECT on %s: %w", Database(id), aerr))
	}
	return s.Connect(ctx, Database(id))
}

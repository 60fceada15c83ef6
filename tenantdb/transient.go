package tenantdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
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
	var granted []string
	for _, role := range roles {
		if slices.Contains(standing, role) || slices.Contains(granted, role) {
			continue
		}
		if _, err := tx.Exec(ctx, s.grantToAdminStmt(role)); err != nil {
			return fmt.Errorf("grant %s to the admin role for one transaction: %w", role, err)
		}
		granted = append(granted, role)
	}
	if err := fn(tx); err != nil {
		return err
	}
	for _, role := range granted {
		if _, err := tx.Exec(ctx, "REVOKE "+ident(role)+" FROM "+ident(s.AdminRole())); err != nil {
			return fmt.Errorf("revoke %s from the admin role: %w", role, err)
		}
	}
	return tx.Commit(ctx)
}

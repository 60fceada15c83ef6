package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// AdoptAndHarden does what [Server.AdoptObjects] then [Server.Harden] do, on one
// connection to the tenant database and in one transaction instead of two: a fresh
// clone's objects are handed to the tenant's owner, then its access rules are applied,
// and the customer's domain written ([Server.SetDomain]) when domain is not empty. `tenant create` without a spare calls it right after the clone,
// so one login to the new database is left on its critical path.
func (s *Server) AdoptAndHarden(ctx context.Context, id, domain string) error {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.adoptAndHarden(ctx, conn, id, domain)
}

// AdoptAndHardenOn is [Server.AdoptAndHarden] on conn, an admin connection to the
// tenant database already open (the one that checked the fresh clone), for a clone made
// by [Server.CloneDatabase]: the same transaction first hands the database to its
// owner, as [Server.CreateDatabase] does in a transaction of its own (PUBLIC's rights
// revoked, the owner set, the admin's CONNECT granted). The kill points after that
// hand-over and after the adoption are reached inside the transaction: killed there,
// nothing is left, and the rerun does it all.
//
// The transaction is two round trips on the fresh connection (a new session in a new
// database, whose every catalog read is a cache miss, pays for each round trip more
// than an established one): the first opens it, takes the transient membership in the
// owner ([Server.withMembership], decided on the server as a claim does), hands the
// database over, adopts the clone's objects, takes the owner's role and reads the
// schemas and goose's tables the hardening names; the second hardens, writes the
// domain, revokes the membership and commits.
func (s *Server) AdoptAndHardenOn(ctx context.Context, conn *pgx.Conn, id, domain string) error {
	owner := OwnerRole(id)
	ownerLit, err := literal(owner)
	if err != nil {
		return err
	}
	var dom []string
	if domain != "" {
		if dom, err = domainStatements(id, domain); err != nil {
			return err
		}
	}
	tmplOwnerLit, err := literal(TemplateOwnerRole)
	if err != nil {
		return err
	}
	first := []string{
		"BEGIN",
		s.transientGrantStmt(owner, ownerLit),
	}
	first = append(first, s.handOverStmts(id)...)
	first = append(first,
		// REASSIGN OWNED names the template owner, which exists wherever a template was
		// built (adoptObjects makes the same check).
		`DO $tenantctl_adopt$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = `+tmplOwnerLit+`) THEN REASSIGN OWNED BY `+
			ident(TemplateOwnerRole)+` TO `+ident(owner)+`; END IF; END$tenantctl_adopt$`,
		"SET LOCAL ROLE "+ident(owner),
		// What harden reads, in one statement: 's' the schemas whose routines PUBLIC
		// loses, 'g' goose's relations the app role loses.
		`SELECT 's', n.nspname::text FROM pg_namespace n
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_(toast_)?temp_'
		  AND (n.nspname = 'public' OR n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = `+ownerLit+`))
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
		UNION ALL SELECT 'g', c.relname::text FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relname IN ('goose_db_version', 'goose_db_version_id_seq')
		ORDER BY 1, 2`,
	)
	results, err := conn.PgConn().Exec(ctx, strings.Join(first, ";\n")).ReadAll()
	if err != nil {
		s.rollback(ctx, conn)
		return fmt.Errorf("hand database %s to its owner and adopt its objects: %w", Database(id), err)
	}
	fpDatabaseRevoked.Hit()
	fpDatabaseAdopted.Hit()
	var schemas, goose []string
	if len(results) > 0 {
		for _, row := range results[len(results)-1].Rows {
			if len(row) != 2 {
				continue
			}
			if string(row[0]) == "s" {
				schemas = append(schemas, string(row[1]))
			} else {
				goose = append(goose, string(row[1]))
			}
		}
	}
	second := hardenStmts(id, s.AdminRole(), schemas, goose)
	second = append(second, dom...)
	second = append(second, "RESET ROLE", s.transientRevokeStmt(owner), "COMMIT")
	if err := execBatch(ctx, conn, "harden "+Database(id), second); err != nil {
		s.rollback(ctx, conn)
		return err
	}
	return nil
}

// transientGrantStmt is the transient membership of [Server.withMembership] in role
// (quoted as the literal lit too), decided on the server: a standing membership (a
// fleet not yet converted) is used and never revoked; otherwise the grant is made for
// this transaction and [Server.transientRevokeStmt] revokes it in it.
func (s *Server) transientGrantStmt(role, lit string) string {
	standing := `SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND r.rolname = ` + lit
	if s.VersionNum >= 160000 {
		standing += ` AND m.inherit_option`
	}
	return `DO $tenantctl_grant$BEGIN IF NOT EXISTS (` + standing + `) THEN ` + s.grantToAdminStmt(role) +
		`; PERFORM set_config('tenantctl.transient_grant', 'on', true); END IF; END$tenantctl_grant$`
}

// transientRevokeStmt revokes the membership [Server.transientGrantStmt] granted, if it
// did (after RESET ROLE).
func (s *Server) transientRevokeStmt(role string) string {
	return `DO $tenantctl_grant$BEGIN IF current_setting('tenantctl.transient_grant', true) = 'on' THEN REVOKE ` + ident(role) + ` FROM ` + ident(s.AdminRole()) +
		`; PERFORM set_config('tenantctl.transient_grant', 'off', true); END IF; END$tenantctl_grant$`
}

// rollback ends a transaction a failed statement left open on conn (best effort: the
// caller closes the connection, which ends it anyway).
func (s *Server) rollback(ctx context.Context, conn *pgx.Conn) {
	if conn.PgConn().TxStatus() != 'I' {
		_, _ = conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
	}
}

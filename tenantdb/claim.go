package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ClaimActivation is the one server change the claim of a spare makes, prepared ahead
// (its SCRAM verifiers computed while the catalog claims the spare): the customer's
// domain functions written as the owner, the app role's password and LOGIN, the owner
// role's password and LOGIN.
type ClaimActivation struct {
	id  string
	sql string
	// guard fails the statement when the app role can log in already: a spare claimed
	// and activated by someone else meanwhile (see BeginClaim).
	guard string
}

// ClaimPasswords are a claim's app and owner passwords as the SCRAM verifiers sent to
// the server (computing them costs CPU: a claim computes them while the catalog claims).
type ClaimPasswords struct{ appLit, ownerAttrs string }

// PrepareClaimPasswords computes the verifiers of a claim's app and owner passwords.
func PrepareClaimPasswords(password, ownerPassword string) (ClaimPasswords, error) {
	appLit, err := verifierLiteral(password)
	if err != nil {
		return ClaimPasswords{}, err
	}
	ownerAttrs, err := ownerLoginAttrs(ownerPassword)
	if err != nil {
		return ClaimPasswords{}, err
	}
	return ClaimPasswords{appLit: appLit, ownerAttrs: ownerAttrs}, nil
}

// PrepareClaim prepares the activation of spare id claimed for a tenant of domain, with
// the app and owner roles' passwords.
func (s *Server) PrepareClaim(id, domain string, pw ClaimPasswords) (ClaimActivation, error) {
	dom, err := domainStatements(id, domain)
	if err != nil {
		return ClaimActivation{}, err
	}
	appLit, ownerAttrs := pw.appLit, pw.ownerAttrs
	if appLit == "" || ownerAttrs == "" {
		return ClaimActivation{}, fmt.Errorf("activate the claimed %s: no passwords prepared", Database(id))
	}
	owner := OwnerRole(id)
	ownerLit, err := literal(owner)
	if err != nil {
		return ClaimActivation{}, err
	}
	// The transient membership of [Server.withMembership], decided on the server: a
	// standing membership (a spare made before the role change) is used and never
	// revoked; otherwise the grant is made for this transaction and revoked in it.
	standing := `SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND r.rolname = ` + ownerLit
	if s.VersionNum >= 160000 {
		standing += ` AND m.inherit_option`
	}
	stmts := []string{
		`DO $tenantctl_claim$BEGIN IF NOT EXISTS (` + standing + `) THEN ` + s.grantToAdminStmt(owner) +
			`; PERFORM set_config('tenantctl.transient_grant', 'on', true); END IF; END$tenantctl_claim$`,
		"SET LOCAL ROLE " + ident(owner),
	}
	stmts = append(stmts, dom...)
	stmts = append(stmts,
		"RESET ROLE",
		`DO $tenantctl_claim$BEGIN IF current_setting('tenantctl.transient_grant', true) = 'on' THEN REVOKE `+ident(owner)+` FROM `+ident(s.AdminRole())+
			`; END IF; END$tenantctl_claim$`,
		"ALTER ROLE "+ident(AppRole(id))+" LOGIN PASSWORD "+appLit,
		"ALTER ROLE "+ident(owner)+" "+ownerAttrs)
	appLitName, err := literal(AppRole(id))
	if err != nil {
		return ClaimActivation{}, err
	}
	guard := `DO $tenantctl_claim$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = ` + appLitName +
		` AND rolcanlogin) THEN RAISE EXCEPTION 'not a spare: its app role can log in'; END IF; END$tenantctl_claim$`
	return ClaimActivation{id: id, sql: strings.Join(stmts, ";\n"), guard: guard}, nil
}

// ActivateClaim makes the prepared activation on conn, an admin connection to the
// claimed database ([Server.ConnectTenant]): one round trip, one implicit transaction
// (all of it or nothing), nothing left standing. Idempotent, so a rerun after a kill
// makes it again.
func (s *Server) ActivateClaim(ctx context.Context, conn *pgx.Conn, a ClaimActivation) error {
	if _, err := conn.PgConn().Exec(ctx, a.sql).ReadAll(); err != nil {
		return fmt.Errorf("activate the claimed %s: %w", Database(a.id), err)
	}
	return nil
}

// BeginClaim makes the prepared activation on conn inside a transaction it leaves open:
// the claim's server change made while the catalog claims the spare, visible to nobody
// and kept by the server only once [Server.CommitClaim] commits it. The caller commits
// only after the catalog's claim of that very spare committed; otherwise it closes conn,
// and the server rolls everything back (so does a kill of tenantctl: the session ends).
// One round trip. It changes nothing on a database whose app role can log in already
// (a spare another claimer took and activated since the login was made): begun ahead
// of the catalog's claim, it must not touch a live tenant's roles or functions even
// uncommitted.
func (s *Server) BeginClaim(ctx context.Context, conn *pgx.Conn, a ClaimActivation) error {
	if _, err := conn.PgConn().Exec(ctx, "BEGIN;\n"+a.guard+";\n"+a.sql).ReadAll(); err != nil {
		return fmt.Errorf("activate the claimed %s: %w", Database(a.id), err)
	}
	return nil
}

// CommitClaim commits the activation [Server.BeginClaim] left open on conn. One round
// trip; an error if the server did not commit it.
func (s *Server) CommitClaim(ctx context.Context, conn *pgx.Conn, a ClaimActivation) error {
	res, err := conn.PgConn().Exec(ctx, "COMMIT").ReadAll()
	if err == nil && (len(res) != 1 || res[0].CommandTag.String() != "COMMIT") {
		err = errors.New("the server rolled the transaction back")
	}
	if err != nil {
		return fmt.Errorf("activate the claimed %s: %w", Database(a.id), err)
	}
	return nil
}

// ConnectTenant opens an admin connection to tenant (or spare) id's database.
func (s *Server) ConnectTenant(ctx context.Context, id string) (*pgx.Conn, error) {
	return s.connectTenant(ctx, id)
}

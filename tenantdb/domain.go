package tenantdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// The customer's email domain is carried inside its own database, by two functions
// tenantctl writes into schema public, owned by the tenant's owner role and executable
// by its app role:
//
//	tenantctl_domain() → 'acme.example'
//	tenantctl_email_in_domain(email text) → true for one address under the domain
//
// The application reads the first and its schema checks addresses with the second (a
// trigger, as the demo schema's users table does). Both are IMMUTABLE: the domain of a
// customer never changes.
//
// Not a database setting (ALTER DATABASE … SET tenantctl.domain): pg_db_role_setting
// and database comments are readable by every role on the server, so a neighbour's
// application would read every customer's domain there (the audit's names.opaque
// forbids it), and PostgreSQL before 16 lets no role but a superuser bind a custom
// setting to a database. The functions live inside the database and are readable from
// it only.
const (
	DomainFunction        = "tenantctl_domain()"
	EmailInDomainFunction = "tenantctl_email_in_domain(email text)"
)

// domainSources are the bodies (pg_proc.prosrc) of the two functions for a domain.
func domainSources(domain string) map[string]string {
	return map[string]string{
		DomainFunction:        "SELECT '" + domain + "'::text",
		EmailInDomainFunction: "SELECT email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND lower(split_part(email, '@', 2)) = '" + domain + "'",
	}
}

// checkDomain refuses a domain that is not in its normal form: it becomes a literal in
// DDL.
func checkDomain(domain string) error {
	d, err := validate.Domain(domain)
	if err != nil || d != domain || strings.ContainsAny(domain, `'\`) {
		return validate.Errorf("invalid domain %q for the tenant database", domain)
	}
	return nil
}

// SetDomain writes the customer's domain into the tenant database (the two functions
// above). It is idempotent: a rerun replaces them with the same.
func (s *Server) SetDomain(ctx context.Context, id, domain string) error {
	if err := checkDomain(domain); err != nil {
		return err
	}
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.asOwner(ctx, conn, id, nil, func(tx pgx.Tx) error { return setDomain(ctx, tx.Conn(), id, domain) })
}

// setDomain writes the functions on a connection to the tenant database inside a
// transaction whose current role is the owner (see [Server.asOwner]).
func setDomain(ctx context.Context, conn *pgx.Conn, id, domain string) error {
	stmts, err := domainStatements(id, domain)
	if err != nil {
		return err
	}
	if _, err := conn.PgConn().Exec(ctx, strings.Join(stmts, ";\n")).ReadAll(); err != nil {
		return fmt.Errorf("write the domain into %s: %w", Database(id), err)
	}
	return nil
}

// domainStatements are the statements that write the domain functions, to run as the
// tenant's owner.
func domainStatements(id, domain string) ([]string, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	src := domainSources(domain)
	app := ident(AppRole(id))
	var stmts []string
	for _, f := range []struct{ sig, ret string }{{DomainFunction, "text"}, {EmailInDomainFunction, "boolean"}} {
		name, args, _ := strings.Cut(strings.TrimSuffix(f.sig, ")"), "(")
		fn := "public." + name + "(" + args + ")"
		stmts = append(stmts,
			"CREATE OR REPLACE FUNCTION "+fn+" RETURNS "+f.ret+" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $tenantctl$"+src[f.sig]+"$tenantctl$",
			"REVOKE ALL ON FUNCTION "+fn+" FROM PUBLIC",
			"GRANT EXECUTE ON FUNCTION "+fn+" TO "+app)
	}
	stmts = append(stmts,
		"COMMENT ON FUNCTION public.tenantctl_domain() IS 'the customer''s email domain, written by tenantctl (read only)'",
		"COMMENT ON FUNCTION public.tenantctl_email_in_domain(text) IS 'true when email is one address under the customer''s domain, written by tenantctl'")
	return stmts, nil
}

const domainFunctionsQuery = `
SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || ')', p.prosrc,
       p.prosecdef OR p.prokind <> 'f' OR p.provolatile <> 'i' OR p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'sql')
FROM pg_proc p
WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'public')
  AND p.proname IN ('tenantctl_domain', 'tenantctl_email_in_domain')`

// readDomainFunctions reads the bodies of the functions of schema public named like the
// domain functions, by signature.
func readDomainFunctions(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.Query(ctx, domainFunctionsQuery, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	return scanDomainFunctions(rows)
}

func scanDomainFunctions(rows pgx.Rows) (map[string]string, error) {
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var sig, src string
		var odd bool
		if err := rows.Scan(&sig, &src, &odd); err != nil {
			return nil, err
		}
		if odd {
			src = "(not an IMMUTABLE SQL function) " + src
		}
		found[sig] = src
	}
	return found, rows.Err()
}

// DomainProblems says how the domain functions found in a tenant database (as read
// with the privileges) differ from what tenantctl writes for domain; none when equal.
func DomainProblems(found map[string]string, domain string) []string {
	want := domainSources(domain)
	var out []string
	for _, sig := range []string{DomainFunction, EmailInDomainFunction} {
		got, ok := found[sig]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("the database does not carry the customer's domain: function %s is missing", sig))
		case got != want[sig]:
			out = append(out, fmt.Sprintf("function %s is not the one tenantctl writes for domain %s", sig, domain))
		}
	}
	return out
}

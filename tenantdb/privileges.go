package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// querier runs a query: a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Privilege is one entry of an access list inside a tenant database: a privilege held
// on a schema, table, sequence or function by a role other than the object's owner, or
// one entry of the default privileges (Kind "default:table", "default:sequence", …).
type Privilege struct {
	Kind string
	// Object is the object's name, schema-qualified and quoted by PostgreSQL
	// (quote_ident; functions with their argument types): never subject to the
	// session's search_path; "" for default privileges.
	Object string
	// Schema and Name of a table or sequence, unquoted (to recognise goose's table).
	Schema, Name string
	Grantee      string // "PUBLIC" for PUBLIC
	Privilege    string // SELECT, INSERT, …, EXECUTE, USAGE, CREATE
	// SecurityDefiner is set on functions that run with their owner's rights.
	SecurityDefiner bool
	// DefaultFor and DefaultIn say whose default privileges, in which schema ("": all).
	DefaultFor, DefaultIn string
}

func (p Privilege) String() string {
	if strings.HasPrefix(p.Kind, "default:") {
		in := ""
		if p.DefaultIn != "" {
			in = " in schema " + p.DefaultIn
		}
		return fmt.Sprintf("default privileges of %s%s give %s %s on new %ss", p.DefaultFor, in, p.Grantee, p.Privilege, strings.TrimPrefix(p.Kind, "default:"))
	}
	return fmt.Sprintf("%s holds %s on %s %s", p.Grantee, p.Privilege, p.Kind, p.Object)
}

// rangeConstructor is a condition on pg_proc p: p is a constructor CREATE TYPE … AS
// RANGE made for its range or multirange type — one of the constructor symbols, bound
// to that type by an internal dependency. Such a function builds values of the type and
// nothing else, whoever declared or owns it.
const rangeConstructor = `(p.prosrc IN ('range_constructor2', 'range_constructor3', 'multirange_constructor0', 'multirange_constructor1', 'multirange_constructor2')
               AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type rt ON rt.oid = d.refobjid
                           WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass
                             AND d.deptype = 'i' AND rt.typtype IN ('r', 'm')))`

// privilegesQuery lists every explicit access-list entry of a non-system schema,
// table, view, sequence or function (functions with no access list hold PUBLIC's
// default EXECUTE) whose grantee is not the object's owner, objects of extensions
// excepted, and every default-privileges entry whose grantee is not its role. Tables and
// functions are read from OID 16384 up (made after initdb; see inspectQuery); initdb's
// own, wherever they are, are held to initdb's access lists by systemQuery.
const privilegesQuery = `
WITH sys AS (
    SELECT array_agg(oid) AS oids FROM pg_namespace
    WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname ~ '^pg_(toast_)?temp_'
), objs AS (
    SELECT 'schema' AS kind, quote_ident(n.nspname) AS obj, n.nspname::text AS sch, n.nspname::text AS name,
           n.nspowner AS owner, n.nspacl AS acl, 'pg_namespace'::regclass AS cls, n.oid, false AS secdef
    FROM pg_namespace n, sys WHERE n.oid <> ALL (sys.oids)
  UNION ALL
    SELECT CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END, quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname::text, c.relname::text,
           c.relowner, c.relacl, 'pg_class'::regclass, c.oid, false
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, sys
    WHERE c.oid >= 16384 AND c.relnamespace <> ALL (sys.oids) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           n.nspname::text, p.proname::text,
           p.proowner, coalesce(p.proacl, acldefault('f', p.proowner)), 'pg_proc'::regclass, p.oid, p.prosecdef
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, sys
    WHERE p.oid >= 16384 AND p.pronamespace <> ALL (sys.oids) AND p.prokind IN ('f', 'p', 'w')
      -- A range type's constructors belong to the bootstrap superuser whoever creates
      -- the type (PostgreSQL 15), so the owner cannot revoke PUBLIC's default EXECUTE;
      -- they only build values of the type, which is itself held to its owner.
      AND NOT ` + rangeConstructor + `
)
SELECT o.kind, o.obj, o.sch, o.name, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END,
       x.privilege_type, o.secdef, '', ''
FROM objs o CROSS JOIN LATERAL aclexplode(o.acl) x
WHERE o.acl IS NOT NULL AND x.grantee <> o.owner
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype = 'e')
UNION ALL
SELECT 'default:' || CASE a.defaclobjtype WHEN 'r' THEN 'table' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'function'
                                          WHEN 'T' THEN 'type' WHEN 'n' THEN 'schema' ELSE 'object' END,
       '', '', '', CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee) END, x.privilege_type, false,
       pg_get_userbyid(a.defaclrole), coalesce(n.nspname::text, '')
FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace
CROSS JOIN LATERAL aclexplode(a.defaclacl) x
WHERE x.grantee <> a.defaclrole
ORDER BY 1, 2, 5, 6, 8, 9`

// objectsQuery lists what can carry a tenant's rows or rights elsewhere and that
// tenantctl never creates: publications, event triggers, rules other than views', and
// SECURITY DEFINER functions (not those of extensions; from OID 16384 up: initdb's are
// systemQuery's). Rules are read from OID 16384 up too: initdb's are its views' own.
const objectsQuery = `
WITH sys AS (
    SELECT array_agg(oid) AS oids FROM pg_namespace
    WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname ~ '^pg_(toast_)?temp_'
)
SELECT coalesce(array_agg(what ORDER BY what), '{}') FROM (
    SELECT 'publication ' || quote_ident(pubname) AS what FROM pg_publication
  UNION ALL
    SELECT 'event trigger ' || quote_ident(evtname) FROM pg_event_trigger
  UNION ALL
    SELECT 'rule ' || quote_ident(r.rulename) || ' on ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace, sys
    WHERE r.oid >= 16384 AND r.rulename <> '_RETURN' AND c.relnamespace <> ALL (sys.oids)
  UNION ALL
    SELECT 'SECURITY DEFINER function ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname)
           || '(' || pg_get_function_identity_arguments(p.oid) || ') (runs as ' || pg_get_userbyid(p.proowner) || ')'
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, sys
    WHERE p.oid >= 16384 AND p.prosecdef AND p.pronamespace <> ALL (sys.oids)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
) o`

func readPrivileges(ctx context.Context, q querier) ([]Privilege, error) {
	rows, err := q.Query(ctx, privilegesQuery)
	if err != nil {
		return nil, err
	}
	return scanPrivileges(rows)
}

func scanPrivileges(rows pgx.Rows) ([]Privilege, error) {
	defer rows.Close()
	var out []Privilege
	for rows.Next() {
		var p Privilege
		if err := rows.Scan(&p.Kind, &p.Object, &p.Schema, &p.Name, &p.Grantee, &p.Privilege, &p.SecurityDefiner, &p.DefaultFor, &p.DefaultIn); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Expected is what tenantctl grants inside one tenant database: the application role's
// DML (never DDL, nothing on goose's version table) and the MSP access roles' read or
// write grants, by role.
type Expected struct {
	Owner, App string
	// Access maps each MSP access role recorded for the tenant to its level (read, write).
	Access map[string]string
}

// ExpectedFor returns the expectations for tenant id with the given access roles.
func ExpectedFor(id string, access map[string]string) Expected {
	return Expected{Owner: OwnerRole(id), App: AppRole(id), Access: access}
}

var (
	dml       = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	seqDML    = []string{"USAGE", "SELECT", "UPDATE"}
	readTable = []string{"SELECT"}
)

func isGoose(p Privilege) bool {
	return p.Schema == "public" && (p.Name == "goose_db_version" || p.Name == "goose_db_version_id_seq")
}

// Allows reports whether tenantctl grants p.
func (e Expected) Allows(p Privilege) bool {
	if p.Grantee == e.Owner {
		return true
	}
	level, isAccess := e.Access[p.Grantee]
	kind := p.Kind
	if strings.HasPrefix(kind, "default:") {
		// Only the owner's default privileges in schema public are tenantctl's, and its
		// database-wide entry for functions (EXECUTE for the app role, none for PUBLIC).
		if p.DefaultFor != e.Owner || (p.DefaultIn != "public" && kind != "default:function") {
			return false
		}
		kind = strings.TrimPrefix(kind, "default:")
		if kind == "function" {
			return p.DefaultIn == "" && p.Grantee == e.App && p.Privilege == "EXECUTE"
		}
	}
	switch kind {
	case "schema":
		return (p.Grantee == e.App || isAccess) && p.Privilege == "USAGE"
	case "table", "sequence":
		// The app role and write access have DML (a sequence's), read access SELECT.
		write := dml
		if kind == "sequence" {
			write = seqDML
		}
		switch {
		case p.Grantee == e.App:
			return !isGoose(p) && slices.Contains(write, p.Privilege)
		case isAccess && level == "write":
			return slices.Contains(write, p.Privilege)
		case isAccess:
			return slices.Contains(readTable, p.Privilege)
		}
	case "function", "procedure":
		// One rule for functions, as for tables: the app role may run them, PUBLIC and
		// every other role nothing. A SECURITY DEFINER function the tenant's owner owns
		// runs with no more than the customer's own rights (a note, not a violation);
		// one owned by anyone else is reported as an object of its own.
		return p.Grantee == e.App && p.Privilege == "EXECUTE"
	}
	return false
}

// Unexpected returns the privileges of list that tenantctl does not grant.
func (e Expected) Unexpected(list []Privilege) []Privilege {
	var out []Privilege
	for _, p := range list {
		if !e.Allows(p) {
			out = append(out, p)
		}
	}
	return out
}

var privilegeNames = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "TRUNCATE": true, "REFERENCES": true,
	"TRIGGER": true, "EXECUTE": true, "USAGE": true, "CREATE": true, "CONNECT": true, "TEMPORARY": true, "MAINTAIN": true,
}

// revokeStmt is the statement that takes p away.
func revokeStmt(p Privilege) (string, error) {
	if !privilegeNames[p.Privilege] {
		return "", fmt.Errorf("unknown privilege %q", p.Privilege)
	}
	grantee := "PUBLIC"
	if p.Grantee != "PUBLIC" {
		grantee = ident(p.Grantee)
	}
	switch p.Kind {
	case "schema", "table", "sequence", "function", "procedure":
		// Object names come quoted by PostgreSQL itself (regclass, regprocedure,
		// quote_ident), so they are used as they are.
		return fmt.Sprintf("REVOKE %s ON %s %s FROM %s CASCADE", p.Privilege, strings.ToUpper(p.Kind), p.Object, grantee), nil
	case "default:table", "default:sequence", "default:function", "default:type", "default:schema":
		what := strings.ToUpper(strings.TrimPrefix(p.Kind, "default:")) + "S"
		in := ""
		if p.DefaultIn != "" {
			in = " IN SCHEMA " + ident(p.DefaultIn)
		}
		return fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s%s REVOKE %s ON %s FROM %s", ident(p.DefaultFor), in, p.Privilege, what, grantee), nil
	}
	return "", fmt.Errorf("cannot revoke a privilege on a %s", p.Kind)
}

// DatabaseFixes says what [Server.RepairPrivileges] must change at the database level.
type DatabaseFixes struct {
	// Revoke maps roles to the database privileges (CREATE, TEMPORARY) to take away.
	Revoke map[string][]string
	// Reconnectable: set ALLOW_CONNECTIONS true and IS_TEMPLATE false.
	Reconnectable bool
	// ResetDatabase resets the database's own settings; ResetRoles the settings of
	// these roles (everywhere and in this database).
	ResetDatabase bool
	ResetRoles    []string
	// Domain, when set, is written into the database again ([Server.SetDomain]).
	Domain string
}

// RepairPrivileges takes away, inside the tenant database, every privilege tenantctl
// does not grant (exp says what it grants), and applies the database-level fixes.
// Each statement runs on its own so that one that fails (a grant made by a role the
// admin cannot act for) does not keep the others from being applied; the error joins
// the failures. Objects, publications and rules are never dropped here.
func (s *Server) RepairPrivileges(ctx context.Context, id string, exp Expected, fixes DatabaseFixes) error {
	db := ident(Database(id))
	var errs []error
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	var stmts []string
	if fixes.Reconnectable {
		stmts = append(stmts, "ALTER DATABASE "+db+" IS_TEMPLATE false", "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true")
	}
	for role, privs := range fixes.Revoke {
		for _, p := range privs {
			if p != "CREATE" && p != "TEMPORARY" {
				continue
			}
			g := "PUBLIC"
			if role != "PUBLIC" {
				g = ident(role)
			}
			stmts = append(stmts, "REVOKE "+p+" ON DATABASE "+db+" FROM "+g+" CASCADE")
		}
	}
	if fixes.ResetDatabase {
		stmts = append(stmts, "ALTER DATABASE "+db+" RESET ALL")
	}
	for _, r := range fixes.ResetRoles {
		stmts = append(stmts, "ALTER ROLE "+ident(r)+" RESET ALL", "ALTER ROLE "+ident(r)+" IN DATABASE "+db+" RESET ALL")
	}
	// The database's settings and access list are the owner's to change: one
	// transaction in which the admin is a member of the owner, a savepoint per
	// statement.
	if len(stmts) > 0 {
		if err := s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
			for _, st := range stmts {
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if err = inSavepoint(ctx, tx, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, st); return err }); !dbconn.ConcurrentlyUpdated(err) {
						break
					}
					if err := sleepCtx(ctx, time.Duration(attempt+1)*20*time.Millisecond); err != nil {
						return err
					}
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", st, err))
				}
			}
			return nil
		}); err != nil {
			errs = append(errs, err)
		}
	}
	release()
	if len(errs) > 0 && fixes.Reconnectable {
		return errors.Join(errs...) // the database cannot be entered
	}
	tconn, err := s.connectTenant(ctx, id)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer tconn.Close(context.WithoutCancel(ctx))
	privs, err := readPrivileges(ctx, tconn)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("read privileges in %s: %w", Database(id), err))...)
	}
	unexpected := exp.Unexpected(privs)
	if len(unexpected) == 0 && fixes.Domain == "" {
		return errors.Join(errs...)
	}
	// The owner granted what is taken away (or the admin may act for it): one
	// transaction in which the admin is a member of the owner, a savepoint per
	// statement so that one failing does not keep the others from being applied.
	if err := s.withMembership(ctx, tconn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		for _, p := range unexpected {
			st, err := revokeStmt(p)
			if err == nil {
				err = inSavepoint(ctx, tx, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, st); return err })
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("take away %s in %s: %w", p, Database(id), err))
			}
		}
		if fixes.Domain != "" {
			if err := inSavepoint(ctx, tx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ident(OwnerRole(id))); err != nil {
					return err
				}
				if err := setDomain(ctx, tx.Conn(), id, fixes.Domain); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "RESET ROLE")
				return err
			}); err != nil {
				errs = append(errs, err)
			}
		}
		return nil
	}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Privileges reads the access-list entries inside the tenant database (what
// [Server.InspectDatabase] returns in Contents.Privileges), on a connection of its own.
func (s *Server) Privileges(ctx context.Context, id string) ([]Privilege, error) {
	out, _, err := s.PrivilegesAndDomain(ctx, id)
	return out, err
}

// PrivilegesAndDomain reads, on one connection, the access-list entries inside the
// tenant database and the domain functions it carries (see [DomainProblems]).
func (s *Server) PrivilegesAndDomain(ctx context.Context, id string) ([]Privilege, map[string]string, error) {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	out, err := readPrivileges(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("read privileges in %s: %w", Database(id), err)
	}
	found, err := readDomainFunctions(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("read the domain functions in %s: %w", Database(id), err)
	}
	return out, found, nil
}

// inSavepoint runs fn inside a savepoint of tx: a failure rolls back fn's work only and
// leaves tx usable.
func inSavepoint(ctx context.Context, tx pgx.Tx, fn func(tx pgx.Tx) error) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	return sp.Commit(ctx)
}

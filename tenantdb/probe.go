package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/jackc/pgerrcode"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/secret"
)

// ReadOnly returns a handle on the same server whose sessions cannot write
// (default_transaction_read_only) and give up connecting after connectTimeout: what
// the audit inspects servers with, so an audit cannot change what it inspects.
func (s *Server) ReadOnly(connectTimeout time.Duration) *Server {
	c := s.cfg.Copy()
	readOnly(c, connectTimeout)
	return &Server{Name: s.Name, VersionNum: s.VersionNum, CloneStrategy: s.CloneStrategy, dsn: s.dsn, cfg: c, pool: &adminPool{}}
}

func readOnly(c *pgx.ConnConfig, connectTimeout time.Duration) {
	c.RuntimeParams["default_transaction_read_only"] = "on"
	c.RuntimeParams["application_name"] = "tenantctl-audit"
	if connectTimeout > 0 {
		c.ConnectTimeout = connectTimeout
	}
}

// Contents is what one tenant database holds that matters for isolation.
type Contents struct {
	// Extensions installed in the database (plpgsql included).
	Extensions []string
	// ForeignDataWrappers, ForeignServers and UserMappings ("server:user") reach
	// outside the database.
	ForeignDataWrappers []string
	ForeignServers      []string
	UserMappings        []string
	// ForeignOwned lists (at most [MaxForeignOwned]) objects in the database's own
	// schemas that the tenant's owner role does not own, as "kind name owned by role";
	// ForeignOwnedCount counts all of them.
	ForeignOwned      []string
	ForeignOwnedCount int
	// Privileges are the access-list entries of the database's objects held by roles
	// other than their owners, and its default privileges (see [Expected]).
	Privileges []Privilege
	// Objects are publications, event triggers, rules and SECURITY DEFINER functions.
	Objects []string
	// DomainFunctions are the bodies of the customer's domain functions the database
	// carries, by signature (see [DomainProblems]).
	DomainFunctions map[string]string
	// System is what the system schemas hold that initdb did not leave there, and the
	// functions declared in a native language outside any extension.
	System []SystemFinding
	// Bridges are the database's extensions, foreign servers with their options, user
	// mappings and dblink-style views: what reaches other databases, to name them.
	Bridges Bridges
	// LargeObjects are large objects shared beyond their owner (at most
	// MaxLargeObjects+1).
	LargeObjects []LargeObject
	// RoundTrips is how many round trips the inspection took after the login: 1 for a
	// clean database, 2 when a checking statement had to run.
	RoundTrips int
}

// MaxForeignOwned bounds the objects [Server.InspectDatabase] lists by name.
const MaxForeignOwned = 20

// inspectQuery reads, in one round trip, everything [Contents] holds. Objects that
// belong to an extension are the extension's business and skipped; schema public may
// belong to pg_database_owner (PostgreSQL 15+) or, as left by initdb, the bootstrap
// superuser. Relations, functions and types are read from OID 16384
// (FirstNormalObjectId) up: every object made after initdb has such an OID (the server
// assigns no lower one outside a binary upgrade), so the scans are index ranges over the
// customer's own objects instead of every row of pg_proc, pg_class and pg_type; an
// initdb object moved out of the system schemas is systemQuery's finding.
const inspectQuery = `
WITH me AS (
    SELECT coalesce(to_regrole(quote_ident($1))::oid, 0) AS owner,
           coalesce(to_regrole('pg_database_owner')::oid, 0) AS dbowner,
           (SELECT array_agg(oid) FROM pg_namespace
            WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname ~ '^pg_(toast_)?temp_') AS sys
), objs AS (
    SELECT 'schema' AS kind, n.nspname::text AS name, n.nspowner AS owner, 'pg_namespace'::regclass AS cls, n.oid
    FROM pg_namespace n, me
    WHERE n.nspowner <> me.owner AND n.oid <> ALL (me.sys)
      AND NOT (n.nspname = 'public' AND n.nspowner IN (10, me.dbowner))
  UNION ALL
    SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'relation' END,
           c.relnamespace::regnamespace || '.' || c.relname, c.relowner, 'pg_class'::regclass, c.oid
    FROM pg_class c, me
    WHERE c.oid >= 16384 AND c.relowner <> me.owner AND c.relnamespace <> ALL (me.sys) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
    SELECT 'function', p.pronamespace::regnamespace || '.' || p.proname, p.proowner, 'pg_proc'::regclass, p.oid
    FROM pg_proc p, me
    WHERE p.oid >= 16384 AND p.proowner <> me.owner AND p.pronamespace <> ALL (me.sys)
      -- The constructor functions of a range type (and of its multirange) are part of
      -- the type: PostgreSQL 15 makes them the bootstrap superuser's whoever creates it.
      AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_type rt ON rt.oid = d.refobjid
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass
                        AND d.deptype = 'i' AND rt.typtype IN ('r', 'm') AND rt.typowner = me.owner)
  UNION ALL
    SELECT 'type', t.typnamespace::regnamespace || '.' || t.typname, t.typowner, 'pg_type'::regclass, t.oid
    FROM pg_type t, me
    WHERE t.oid >= 16384 AND t.typowner <> me.owner AND t.typnamespace <> ALL (me.sys)
      AND (t.typrelid = 0 OR t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
), foreign_owned AS (
    SELECT o.kind || ' ' || o.name || ' owned by ' || pg_get_userbyid(o.owner) AS what
    FROM objs o
    WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype = 'e')
)
SELECT
    coalesce((SELECT array_agg(what) FROM (SELECT what FROM foreign_owned ORDER BY what LIMIT $2) f), '{}'),
    (SELECT count(*) FROM foreign_owned)::int`

// InspectDatabase reads what the tenant database holds that could reach outside it
// (extensions, foreign data wrappers, foreign servers, user mappings, publications,
// event triggers, rules, SECURITY DEFINER functions), which of its objects the tenant's
// owner role does not own, who holds which privilege on them, and what its system
// schemas hold that initdb did not leave there. It changes nothing.
//
// A clean database costs one round trip after the login: the sieve's plain catalog
// reads and the two statements whose rows are read anyway, sent together (unnamed
// statements, nothing prepared). Only when the sieve cannot rule out a finding of
// inspectQuery, objectsQuery, systemQuery or bridgesQuery, or finds an access-list entry e does not
// allow, does that statement (privilegesQuery for the entries) run, in a second round
// trip, and report as it always did (see sieve.go). Privileges are then the
// statement's, names quoted; otherwise the sieve's, every one allowed by e, with
// Object empty.
func (s *Server) InspectDatabase(ctx context.Context, id string, e Expected) (Contents, error) {
	var c Contents
	db := Database(id)
	conn, err := s.connectOnce(ctx, db)
	if err != nil {
		return c, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b := &pgx.Batch{}
	queueSieve(b, OwnerRole(id))
	b.Queue(largeObjectsQuery)
	b.Queue(domainFunctionsQuery)
	br := conn.SendBatch(ctx, b)
	sv, err := scanSieve(br, db)
	if err != nil {
		br.Close()
		return c, err
	}
	if c.LargeObjects, err = readNext(br, "inspect large objects in "+db, scanLargeObjects); err != nil {
		br.Close()
		return c, err
	}
	if c.DomainFunctions, err = readNext(br, "inspect the domain functions in "+db, scanDomainFunctions); err != nil {
		br.Close()
		return c, err
	}
	if err := br.Close(); err != nil {
		return c, fmt.Errorf("inspect %s: %w", db, err)
	}
	c.RoundTrips = 1
	owned, system, bridges, objects := sv.mayForeignOwned(), sv.maySystem(), sv.mayBridge(), sv.mayObjects()
	c.Bridges = sv.bridges()
	var allowed bool
	c.Privileges, allowed = sv.privileges(e)
	c.Objects = []string{}
	if owned || system || bridges || objects || !allowed {
		b := &pgx.Batch{}
		if objects {
			b.Queue(objectsQuery)
		}
		if !allowed {
			b.Queue(privilegesQuery)
		}
		if owned {
			b.Queue(inspectQuery, OwnerRole(id), MaxForeignOwned)
		}
		if system {
			b.Queue(systemQuery)
		}
		if bridges {
			b.Queue(bridgesQuery)
		}
		c.RoundTrips++
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		if objects {
			if err := br.QueryRow().Scan(&c.Objects); err != nil {
				return c, fmt.Errorf("inspect objects in %s: %w", db, err)
			}
		}
		if !allowed {
			if c.Privileges, err = readNext(br, "inspect privileges in "+db, scanPrivileges); err != nil {
				return c, err
			}
		}
		if owned {
			if err := br.QueryRow().Scan(&c.ForeignOwned, &c.ForeignOwnedCount); err != nil {
				return c, fmt.Errorf("inspect %s: %w", db, err)
			}
		}
		if system {
			if c.System, err = readNext(br, "inspect system schemas in "+db, scanSystem); err != nil {
				return c, err
			}
		}
		if bridges {
			if c.Bridges, err = scanBridges(br.QueryRow()); err != nil {
				return c, fmt.Errorf("inspect bridges in %s: %w", db, err)
			}
		}
		if err := br.Close(); err != nil {
			return c, fmt.Errorf("inspect %s: %w", db, err)
		}
	}
	if c.ForeignOwned == nil {
		c.ForeignOwned = []string{}
	}
	// The bridges' reads give the extensions, foreign data wrappers, foreign servers and
	// user mappings.
	c.Extensions, c.ForeignDataWrappers, c.UserMappings = c.Bridges.Extensions, c.Bridges.ForeignDataWrappers, c.Bridges.UserMappings
	for _, fs := range c.Bridges.ForeignServers {
		c.ForeignServers = append(c.ForeignServers, fs.Name)
	}
	return c, nil
}

// InspectionScript is what [Server.InspectDatabase] sends to a clean tenant database
// (one whose sieve rules every finding of the joined statements out), as a SQL script
// an operator could run by hand with psql connected to that database (the tenant's owner
// role named from the database's own name): the benchmark's raw baseline for the audit
// runs it once per database.
func InspectionScript() string {
	var stmts []string
	for i, q := range sieveQueries {
		if i == 0 {
			q = strings.ReplaceAll(q, "$1", "current_database() || '_owner'")
		}
		stmts = append(stmts, q)
	}
	stmts = append(stmts, largeObjectsQuery, domainFunctionsQuery)
	for i, st := range stmts {
		stmts[i] = strings.TrimSpace(st) + ";\n"
	}
	return strings.Join(stmts, "")
}

// connectOnce opens a connection for a few statements sent once: each runs as an
// unnamed statement in the extended protocol (parameter types inferred by the server),
// so a statement, or a batch of them, costs one round trip instead of a prepare and
// an execute, and no statement cache is kept.
func (s *Server) connectOnce(ctx context.Context, db string) (*pgx.Conn, error) {
	c := s.ConnConfig(db)
	c.DefaultQueryExecMode = pgx.QueryExecModeExec
	c.StatementCacheCapacity, c.DescriptionCacheCapacity = 0, 0
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return nil, dbconn.ConnectError(c.Host, c.Port, db, err)
	}
	return conn, nil
}

// ProbeOutcome is how a login attempt ended.
type ProbeOutcome int

const (
	// ProbeConnected means the login succeeded and a query ran.
	ProbeConnected ProbeOutcome = iota
	// ProbeRefused means the server refused: no CONNECT privilege (42501), bad
	// password or unknown role (28P01), login not allowed or no pg_hba entry (28000),
	// no such database (3D000), or the database accepts no connections (55000).
	ProbeRefused
	// ProbeInconclusive means the attempt proved nothing: the server could not be
	// reached, timed out, or had no connection slot left.
	ProbeInconclusive
)

func (o ProbeOutcome) String() string {
	switch o {
	case ProbeConnected:
		return "connected"
	case ProbeRefused:
		return "refused"
	default:
		return "inconclusive"
	}
}

// ProbeResult is the outcome of one login attempt.
type ProbeResult struct {
	Outcome ProbeOutcome
	// SQLState is the server's error code when it answered with one.
	SQLState string
	// Message describes the refusal or failure, scrubbed of secrets ("" on success).
	Message string
	// TimedOut is set when the server did not answer within the timeout (it may be
	// stopped behind a listening socket, or frozen).
	TimedOut bool
}

// refusals are the SQLSTATEs by which a server refuses a login.
var refusals = map[string]bool{
	pgerrcode.InsufficientPrivilege:             true, // permission denied for database
	pgerrcode.InvalidPassword:                   true, // also an unknown role
	pgerrcode.InvalidAuthorizationSpecification: true, // NOLOGIN, pg_hba reject
	pgerrcode.InvalidCatalogName:                true, // no such database
	pgerrcode.ObjectNotInPrerequisiteState:      true, // database not accepting connections
}

// Probe tries to log in to database db as user with password, with the server,
// port and TLS settings of base, gives up after timeout, and runs one read-only query
// when it gets in. It never changes anything.
func Probe(ctx context.Context, base *pgx.ConnConfig, user, password, db string, timeout time.Duration) ProbeResult {
	secret.Register(password)
	c := base.Copy()
	c.User, c.Password, c.Database = user, password, db
	readOnly(c, timeout)
	c.RuntimeParams["application_name"] = "tenantctl-audit-probe"
	c.OnNotice, c.OnNotification = nil, nil
	conn, err := pgx.ConnectConfig(ctx, c)
	if err != nil {
		return classify(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var who string
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&who); err != nil {
		// Logged in, but could not even run a query: still a login.
		return ProbeResult{Outcome: ProbeConnected, SQLState: dbconn.SQLState(err), Message: secret.Scrub(err.Error())}
	}
	return ProbeResult{Outcome: ProbeConnected}
}

// Probe tries to log in to database db on this server as user with password.
func (s *Server) Probe(ctx context.Context, user, password, db string, timeout time.Duration) ProbeResult {
	return Probe(ctx, s.cfg, user, password, db, timeout)
}

func classify(err error) ProbeResult {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		out := ProbeResult{Outcome: ProbeInconclusive, SQLState: pgErr.Code, Message: secret.Scrub(pgErr.Message)}
		if refusals[pgErr.Code] {
			out.Outcome = ProbeRefused
		}
		return out
	}
	return ProbeResult{Outcome: ProbeInconclusive, Message: secret.Scrub(err.Error()), TimedOut: pgconn.Timeout(err)}
}

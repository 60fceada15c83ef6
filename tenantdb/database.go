package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/migrations"
)

// DatabaseExists reports whether a database exists on the server.
func (s *Server) DatabaseExists(ctx context.Context, name string) (bool, error) {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	var ok bool
	// QueryExecModeExec: one round trip, where a process that has prepared nothing yet
	// (every CLI command) would spend two on preparing it first.
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, pgx.QueryExecModeExec, name).Scan(&ok)
	return ok, err
}

// CreateDatabase creates the tenant database owned by its owner role: a clone of
// template when given (the fast path), else an empty database from template0. A
// database that already exists is left as it is (CREATE DATABASE is atomic, so it is
// whole).
//
// The admin holds no standing membership in the owner role, which CREATE DATABASE …
// OWNER would need; and CREATE DATABASE cannot run inside a transaction block. So the
// database is created owned by the admin, then handed over in one transaction during
// which the admin is a member of the owner ([Server.withMembership]): PUBLIC's default
// CONNECT and TEMP revoked, ownership given to the owner, and CONNECT granted to the
// admin in its own name (it can no longer connect through the owner). A kill between
// the two leaves a database owned by the admin, no login can use (PUBLIC still has
// CONNECT, but the pg_hba.conf lines admit a tenant login only to its own database,
// whose roles cannot reach this one before the create finishes): the rerun, or
// reconcile finishing the create, comes back here and hands it over. Also safe on a
// database handed over already.
func (s *Server) CreateDatabase(ctx context.Context, id, template string) error {
	return s.createDatabase(ctx, id, template, true)
}

// CloneDatabase is [Server.CreateDatabase] for a fresh clone that the caller hands over
// itself: the database is created owned by the admin, and left so.
// [Server.AdoptAndHardenOn], on the connection that checks the clone, hands it to its
// owner in the transaction that adopts and hardens it: one transaction and one durable
// commit fewer on a create's critical path. A kill in between leaves what a kill after
// CreateDatabase's first statement leaves, and the rerun hands it over the same way.
func (s *Server) CloneDatabase(ctx context.Context, id, template string) error {
	return s.createDatabase(ctx, id, template, false)
}

func (s *Server) createDatabase(ctx context.Context, id, template string, handOver bool) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	src := "template0"
	if template != "" {
		src = template
	}
	stmt := "CREATE DATABASE " + ident(Database(id)) + " TEMPLATE " + ident(src)
	if s.VersionNum >= 150000 {
		strategy := "FILE_COPY"
		if s.CloneStrategy == "wal_log" {
			strategy = "WAL_LOG"
		}
		stmt += " STRATEGY " + strategy
	}
	// A killed run's session may still be cloning the same database: wait for it.
	if err := retryUnique(ctx, func() error {
		_, err := conn.Exec(ctx, stmt)
		return err
	}); err != nil && !dbconn.HasCode(err, pgerrcode.DuplicateDatabase) {
		return fmt.Errorf("create database %s: %w", Database(id), err)
	}
	fpDatabaseCreated.Hit()
	if !handOver {
		return nil
	}
	if err := s.handOver(ctx, conn, id); err != nil {
		return err
	}
	fpDatabaseRevoked.Hit()
	return nil
}

// HandOver gives the tenant database to its owner role (see [Server.CreateDatabase]):
// what reconcile does with a live tenant's database left the admin's.
func (s *Server) HandOver(ctx context.Context, id string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	return s.handOver(ctx, conn, id)
}

// handOver gives the tenant database to its owner role in one transaction (see
// [Server.CreateDatabase]): PUBLIC's rights revoked, owner set, the admin's own CONNECT
// granted. Idempotent.
func (s *Server) handOver(ctx context.Context, conn *pgx.Conn, id string) error {
	err := s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		_, err := tx.Conn().PgConn().Exec(ctx, strings.Join(s.handOverStmts(id), ";\n")).ReadAll()
		return err
	})
	if err != nil {
		return fmt.Errorf("hand database %s to its owner: %w", Database(id), err)
	}
	return nil
}

// handOverStmts are the statements of [Server.handOver], for a transaction in which the
// admin is a member of the owner.
func (s *Server) handOverStmts(id string) []string {
	db := ident(Database(id))
	return []string{
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		"ALTER DATABASE " + db + " OWNER TO " + ident(OwnerRole(id)),
		// After the owner change: granted by the admin as owner, the entry would be
		// rewritten to the new owner's own.
		"GRANT CONNECT ON DATABASE " + db + " TO " + ident(s.AdminRole()),
	}
}

// AdoptObjects hands every object in the tenant database still owned by the template
// owner (a clone of the template) to the tenant's owner role. It must run before
// anything reads the database as the owner: goose's version table comes from the
// template, and the owner cannot read it until it owns it. Idempotent, and a no-op for
// a database created from template0. REASSIGN OWNED needs the rights of both roles: the
// admin is a standing member of the template owner (one role per server) and a member
// of the tenant's owner for the transaction only.
func (s *Server) AdoptObjects(ctx context.Context, id string) error {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		return adoptObjects(ctx, tx.Conn(), id)
	}); err != nil {
		return err
	}
	fpDatabaseAdopted.Hit()
	return nil
}

func adoptObjects(ctx context.Context, conn *pgx.Conn, id string) error {
	var tmplOwner bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, pgx.QueryExecModeExec, TemplateOwnerRole).Scan(&tmplOwner); err != nil {
		return fmt.Errorf("adopt objects in %s: %w", Database(id), err)
	}
	if !tmplOwner {
		return nil
	}
	if _, err := conn.Exec(ctx, "REASSIGN OWNED BY "+ident(TemplateOwnerRole)+" TO "+ident(OwnerRole(id))); err != nil {
		return fmt.Errorf("adopt objects in %s: %w", Database(id), err)
	}
	return nil
}

// MigrateOptions tune [Server.Migrate].
type MigrateOptions struct {
	// LockTimeout and StatementTimeout bound every migration statement, e.g. "5s".
	LockTimeout, StatementTimeout string
	// LockWaitSeconds bounds the wait for goose's session advisory lock.
	LockWaitSeconds uint64
	// OwnerPassword, when set, makes the migration session log in as the tenant's owner
	// role with it (an owner login: the session costs what any login costs, however many
	// tenants share the server). Without it the admin logs in and takes the owner role
	// (SET ROLE), which on PostgreSQL 15 walks every membership the admin holds.
	OwnerPassword string
}

// Migrate applies every pending migration in fsys to the tenant database as its owner
// role (an owner login with o.OwnerPassword, else SET ROLE), so every object belongs to
// the owner, and returns the new version.
func (s *Server) Migrate(ctx context.Context, id string, fsys fs.FS, o MigrateOptions) (int64, error) {
	p, err := s.MigrationProvider(ctx, id, fsys, o)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if _, err := p.Up(ctx); err != nil {
		v, _ := p.GetDBVersion(context.WithoutCancel(ctx))
		return v, migrations.Describe(err)
	}
	return p.GetDBVersion(ctx)
}

// MigrationProvider returns a goose provider on the tenant database that runs as the
// owner role; close it when done.
func (s *Server) MigrationProvider(ctx context.Context, id string, fsys fs.FS, o MigrateOptions) (*migrations.Provider, error) {
	return s.provider(ctx, Database(id), OwnerRole(id), fsys, o)
}

func (s *Server) provider(ctx context.Context, db, role string, fsys fs.FS, o MigrateOptions) (*migrations.Provider, error) {
	// The role and the timeouts travel in the startup packet: no SET round trips per
	// tenant, and a value the server refuses fails the connection (never a silent
	// default).
	cfg, err := s.migrationConfig(db, role, o)
	if err != nil {
		return nil, err
	}
	return migrations.NewProvider(ctx, cfg, fsys, migrations.Options{LockTimeoutSeconds: o.LockWaitSeconds, TableName: migrations.TenantTable})
}

// migrationConfig is the connection config of a migration session: the role logging in
// with o.OwnerPassword, or the admin with role as a startup parameter; timeouts as
// startup parameters. A value tenantctl would not quote is refused here, before any
// connection; one the server does not accept fails the connection. Neither falls back
// to a default ('0' would turn the timeout off).
func (s *Server) migrationConfig(db, role string, o MigrateOptions) (*pgx.ConnConfig, error) {
	cfg := s.ConnConfig(db)
	if o.OwnerPassword != "" {
		cfg.User, cfg.Password = role, o.OwnerPassword
	} else {
		cfg.RuntimeParams["role"] = role
	}
	// goose runs each of its statements once per connection: preparing and caching them
	// would double its round trips (a prepare, then the execution).
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	for _, set := range []struct{ name, value string }{
		{"lock_timeout", o.LockTimeout}, {"statement_timeout", o.StatementTimeout},
	} {
		if set.value == "" {
			continue
		}
		if _, err := literal(set.value); err != nil {
			return nil, fmt.Errorf("%s: %w", set.name, err)
		}
		cfg.RuntimeParams[set.name] = set.value
	}
	return cfg, nil
}

// Harden applies the tenant's access rules; it is idempotent and is re-run by reconcile
// to undo drift:
//   - PUBLIC holds nothing on the database; only the app role and the admin role get
//     CONNECT (the owner has it as owner);
//   - objects left owned by the template owner are handed to the tenant's owner;
//   - schema public: nothing for PUBLIC, USAGE for the app role;
//   - the app role gets DML on every table and sequence, now and (through default
//     privileges) for objects the owner creates later; never DDL; nothing on goose's
//     version table;
//   - functions: the app role may EXECUTE every function of schema public, now and
//     (through default privileges) those the owner creates later; PUBLIC none, in any
//     schema.
func (s *Server) Harden(ctx context.Context, id string) error {
	conn, err := s.connectTenant(ctx, id)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.adoptAndHarden(ctx, conn, id, "")
}

// adoptAndHarden adopts a clone's objects, applies the access rules of [Server.Harden]
// and, when domain is not empty, writes the customer's domain, on conn (a connection
// to the tenant database): one transaction in which the admin is a member of the owner
// ([Server.withMembership]; REASSIGN OWNED needs it) and the rules are applied as the
// owner (SET LOCAL ROLE), all of it or nothing. The adopt kill point is reached inside
// the transaction: killed there, nothing is left, and the rerun does it all.
func (s *Server) adoptAndHarden(ctx context.Context, conn *pgx.Conn, id, domain string) error {
	return s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
		return s.adoptAndHardenTx(ctx, tx, id, domain)
	})
}

// adoptAndHardenTx is the work of adoptAndHarden in tx, where the admin is a member of
// the owner.
func (s *Server) adoptAndHardenTx(ctx context.Context, tx pgx.Tx, id, domain string) error {
	if err := adoptObjects(ctx, tx.Conn(), id); err != nil {
		return err
	}
	fpDatabaseAdopted.Hit()
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ident(OwnerRole(id))); err != nil {
		return err
	}
	if err := harden(ctx, tx.Conn(), id, s.AdminRole()); err != nil || domain == "" {
		return err
	}
	return setDomain(ctx, tx.Conn(), id, domain)
}

// harden applies the access rules of [Server.Harden] on a connection to the tenant
// database whose objects the owner already owns, in a transaction whose current role is
// the owner (see adoptAndHarden). admin, the server's admin role, gets
// CONNECT on the database in its own name: it holds no membership in the owner role to
// connect through (and a right found in the database's own access list spares every
// admin session the walk over all its memberships that PostgreSQL 15 would make to
// find one through a role; see docs/performance.md, "Role design").
func harden(ctx context.Context, conn *pgx.Conn, id, admin string) error {
	// One rule for functions, as for tables: the app role may run the customer's
	// functions, PUBLIC none — including those that came with a clone or an import
	// (made before the default privileges applied), in every schema of the database.
	var schemas []string
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(n.nspname::text ORDER BY 1), '{}') FROM pg_namespace n
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname !~ '^pg_(toast_)?temp_'
		  AND (n.nspname = 'public' OR n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1))
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')`,
		pgx.QueryExecModeSimpleProtocol, OwnerRole(id)).Scan(&schemas); err != nil {
		return fmt.Errorf("harden %s: %w", Database(id), err)
	}
	// goose's version table is the owner's business, not the application's.
	var goose []string
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(c.relname::text), '{}') FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relname IN ('goose_db_version', 'goose_db_version_id_seq')`,
		pgx.QueryExecModeSimpleProtocol).Scan(&goose); err != nil {
		return fmt.Errorf("harden %s: %w", Database(id), err)
	}
	// One round trip, inside the caller's transaction.
	return execBatch(ctx, conn, "harden "+Database(id), hardenStmts(id, admin, schemas, goose))
}

// hardenStmts are the statements of harden, given the schemas whose routines PUBLIC
// loses and goose's relations in schema public (read by the caller).
func hardenStmts(id, admin string, schemas, goose []string) []string {
	db, owner, app := ident(Database(id)), ident(OwnerRole(id)), ident(AppRole(id))
	stmts := []string{
		"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC",
		"GRANT CONNECT ON DATABASE " + db + " TO " + app + ", " + ident(admin),
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + app,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + app,
		"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + app,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + app,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO " + app,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " GRANT EXECUTE ON FUNCTIONS TO " + app,
		"GRANT EXECUTE ON ALL ROUTINES IN SCHEMA public TO " + app,
	}
	for _, sch := range schemas {
		stmts = append(stmts, "REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA "+ident(sch)+" FROM PUBLIC")
	}
	for _, rel := range goose {
		kind := "TABLE"
		if strings.HasSuffix(rel, "_seq") {
			kind = "SEQUENCE"
		}
		stmts = append(stmts, "REVOKE ALL ON "+kind+" "+ident("public", rel)+" FROM "+app)
	}
	return stmts
}

// RevokeAccess takes CONNECT away from the app role, forbids it to log in and ends its
// sessions: the first phase of deleting a tenant, what a move leaves on its kept source
// and how an in-place restore stops writes. (The owner's login is taken separately,
// [Server.RevokeOwnerLogin]: an in-place restore still works as the owner.)
func (s *Server) RevokeAccess(ctx context.Context, id string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	var dbExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, Database(id)).Scan(&dbExists); err != nil {
		return err
	}
	if dbExists {
		// The database's access list is the owner's to change: one transaction in which
		// the admin is a member of the owner (a kill inside it undoes both statements).
		if err := s.withMembership(ctx, conn, []string{OwnerRole(id)}, func(tx pgx.Tx) error {
			for _, stmt := range []string{
				"REVOKE ALL ON DATABASE " + ident(Database(id)) + " FROM PUBLIC",
				"REVOKE CONNECT ON DATABASE " + ident(Database(id)) + " FROM " + ident(AppRole(id)),
			} {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return err
				}
				fpRevokeAccess.Hit()
			}
			return nil
		}); err != nil && !dbconn.HasCode(err, pgerrcode.InvalidCatalogName, pgerrcode.UndefinedObject) {
			return fmt.Errorf("revoke access to %s: %w", Database(id), err)
		}
	}
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(AppRole(id))+" NOLOGIN"); err != nil && !dbconn.HasCode(err, pgerrcode.UndefinedObject) {
		return fmt.Errorf("revoke access to %s: %w", Database(id), err)
	}
	fpRevokeAccess.Hit()
	return s.terminate(ctx, conn, AppRole(id))
}

// RevokeOwnerLogin forbids the owner role to log in and ends its sessions: a deleted
// tenant's (before anything is dropped, so a run killed later leaves no owner that can
// log in; `tenant cancel-delete` gives it back) and a move's kept source. A missing
// role is fine.
func (s *Server) RevokeOwnerLogin(ctx context.Context, id string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(OwnerRole(id))+" NOLOGIN"); err != nil && !dbconn.HasCode(err, pgerrcode.UndefinedObject) {
		return fmt.Errorf("take the owner's login of %s: %w", Database(id), err)
	}
	fpOwnerNoLogin.Hit()
	return s.terminate(ctx, conn, OwnerRole(id))
}

// DropDatabase drops the tenant database, ending any session on it. A missing database
// is not an error.
func (s *Server) DropDatabase(ctx context.Context, id string) error {
	return s.dropDatabase(ctx, Database(id))
}

// dropDatabase drops database name as its owner. The admin holds no standing
// membership in tenant roles, and DROP DATABASE cannot run inside a transaction block:
// so the admin first takes the database over in one transaction in which it is a member
// of its owner ([Server.withMembership]), then drops it as its owner, after ending the
// sessions on it (each signal round a membership of one transaction, see
// [Server.terminate]). Killed in between, the database is left owned by the admin,
// which reaches it no login can; the rerun (of the purge, or reconcile finishing it)
// comes back here, finds it the admin's already and drops it.
func (s *Server) dropDatabase(ctx context.Context, name string) error {
	conn, release, err := s.admin(ctx)
	if err != nil {
		return err
	}
	defer release()
	var owner string
	err = conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if owner != s.AdminRole() {
		if err := s.withMembership(ctx, conn, []string{owner}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "ALTER DATABASE "+ident(name)+" OWNER TO "+ident(s.AdminRole()))
			return err
		}); err != nil && !dbconn.HasCode(err, pgerrcode.InvalidCatalogName) {
			return fmt.Errorf("take database %s over to drop it: %w", name, err)
		}
		fpDropTakenOver.Hit()
	}
	if err := s.terminateDatabase(ctx, conn, name); err != nil {
		return err
	}
	plain := "DROP DATABASE IF EXISTS " + ident(name)
	if s.VersionNum < 130000 {
		if _, err := conn.Exec(ctx, plain); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	// WITH (FORCE) ends the sessions on the database, but only those of roles the admin
	// may signal: an autovacuum worker busy in it makes the whole statement fail with
	// 42501 for a least-privilege admin. A plain DROP DATABASE asks autovacuum workers to
	// leave and waits for them, but fails (55006) while any other session remains. So:
	// force first; refused, then plain; still in use, then again after a pause.
	for attempt := 1; ; attempt++ {
		if _, err = conn.Exec(ctx, plain+" WITH (FORCE)"); err == nil {
			return nil
		}
		if !dbconn.HasCode(err, pgerrcode.InsufficientPrivilege) {
			break
		}
		if _, err = conn.Exec(ctx, plain); err == nil {
			return nil
		}
		if !dbconn.HasCode(err, pgerrcode.ObjectInUse) || attempt == dropAttempts {
			break
		}
		if err := s.terminateDatabase(ctx, conn, name); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
	return fmt.Errorf("drop database %s: %w", name, err)
}

// dropAttempts bounds how often a database busy with sessions the admin may not end is
// tried again (about 2 s in all, beside PostgreSQL's own 5 s wait for autovacuum).
const dropAttempts = 4

// Stats are live figures of a tenant database.
type Stats struct {
	SizeBytes int64            `json:"size_bytes"`
	Rows      map[string]int64 `json:"rows"`
}

func splitQualified(name string) (schema, table string) {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			return name[:i], name[i+1:]
		}
	}
	return "public", name
}

func qualify(name string) string {
	s, t := splitQualified(name)
	return pgx.Identifier{s, t}.Sanitize()
}

func identQualified(name string) string { return qualify(name) }

package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"

	"github.com/tenantctl/tenantctl/migrations"
)

// ErrBaselineMismatch marks a baseline refused because the tenant database lacks
// objects the migrations up to the version create (see [BaselineError]).
var ErrBaselineMismatch = errors.New("the tenant database does not have the schema of that version")

// BaselineError lists what the migrations up to Version create that the tenant database
// does not have (or has with another type).
type BaselineError struct {
	Version int64
	Missing []string
}

func (e *BaselineError) Error() string {
	const show = 25
	list := e.Missing
	more := ""
	if len(list) > show {
		list, more = list[:show], fmt.Sprintf("\n  … and %d more", len(e.Missing)-show)
	}
	return fmt.Sprintf("%s: the tenant migrations up to version %d create %d object(s) it lacks or has differently:\n  %s%s",
		ErrBaselineMismatch, e.Version, len(e.Missing), strings.Join(list, "\n  "), more)
}

func (e *BaselineError) Unwrap() error { return ErrBaselineMismatch }

// BaselinePlan is what a baseline records (or, dry, would record).
type BaselinePlan struct {
	Version int64 `json:"version"`
	// Record are the migration versions marked as applied; Unrecord those marked as not
	// applied any more (they were recorded above the new version).
	Record   []int64 `json:"record"`
	Unrecord []int64 `json:"unrecord"`
	// Checked is how many objects of the reference schema were found in the database.
	Checked int `json:"objects_checked"`
	// HadTable is false when goose's table did not exist yet.
	HadTable bool `json:"had_table"`
}

// BaselineDatabasePrefix names the scratch database a baseline builds its reference
// schema in (one per tenant, dropped at the end; a killed run's is dropped by the next).
const BaselineDatabasePrefix = "tenantctl_baseline_"

// Baseline records in the tenant database's goose table that the migrations of fsys up
// to version are applied, without running them, after checking that the database has
// every object they create: they are applied to a scratch database on the same server
// and the two catalogs compared (schemas, tables, partitions, views, materialized
// views, sequences, indexes, columns with their types, types, enum labels, functions,
// aggregates, triggers, constraints, extensions). Extra objects in the tenant database
// are fine. A mismatch returns a *BaselineError and changes nothing.
//
// A tenant baselined before is baselined again the same way: versions up to version
// missing from the table are recorded, versions above it removed (so the next migrate
// up runs them) — up or down, without touching the schema. It runs under goose's
// migration lock, as the tenant's owner role (goose's table belongs to it). dryRun
// checks and returns the plan, changing nothing in the tenant database.
func (s *Server) Baseline(ctx context.Context, id string, fsys fs.FS, version int64, dryRun bool) (BaselinePlan, error) {
	plan := BaselinePlan{Version: version}
	upTo, err := migrationsUpTo(fsys, version)
	if err != nil {
		return plan, err
	}
	ref, err := s.referenceInventory(ctx, id, fsys, version)
	if err != nil {
		return plan, err
	}
	conn, err := s.Connect(ctx, Database(id))
	if err != nil {
		return plan, err
	}
	have, err := schemaInventory(ctx, conn)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return plan, err
	}
	var missing []string
	for o := range ref {
		if !have[o] {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return plan, &BaselineError{Version: version, Missing: missing}
	}
	plan.Checked = len(ref)

	// As the owner for the whole transaction: its own login when known, else the admin
	// with the owner's role (a tenant not converted to owner logins).
	ownerPW, _, err := s.OwnerPassword(ctx, id)
	if err != nil {
		return plan, err
	}
	cfg, err := s.migrationConfig(Database(id), OwnerRole(id), MigrateOptions{OwnerPassword: ownerPW})
	if err != nil {
		return plan, err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	store, err := database.NewStore(goose.DialectPostgres, migrations.TenantTable)
	if err != nil {
		return plan, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return plan, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// goose's own migration lock (a session advisory lock on the same key conflicts with
	// this transaction's): no migration of this database runs meanwhile.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lock.DefaultLockID); err != nil {
		return plan, fmt.Errorf("take the migration lock: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrations.TenantTable).Scan(&plan.HadTable); err != nil {
		return plan, err
	}
	applied := map[int64]bool{}
	if plan.HadTable {
		rows, err := store.ListMigrations(ctx, tx)
		if err != nil {
			return plan, fmt.Errorf("read goose's table: %w", err)
		}
		// Newest row first: it decides whether a version is applied.
		seen := map[int64]bool{}
		for _, r := range rows {
			if !seen[r.Version] {
				seen[r.Version] = true
				applied[r.Version] = r.IsApplied
			}
		}
	}
	for _, v := range upTo {
		if !applied[v] {
			plan.Record = append(plan.Record, v)
		}
	}
	for v, ok := range applied {
		if ok && v > version {
			plan.Unrecord = append(plan.Unrecord, v)
		}
	}
	slices.Sort(plan.Unrecord)
	if dryRun {
		return plan, nil
	}
	if !plan.HadTable {
		if err := store.CreateVersionTable(ctx, tx); err != nil {
			return plan, fmt.Errorf("create goose's table: %w", err)
		}
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: 0}); err != nil {
			return plan, fmt.Errorf("record version 0: %w", err)
		}
	}
	for _, v := range plan.Unrecord {
		if err := store.Delete(ctx, tx, v); err != nil {
			return plan, fmt.Errorf("unrecord version %d: %w", v, err)
		}
	}
	for _, v := range plan.Record {
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return plan, fmt.Errorf("record version %d: %w", v, err)
		}
	}
	fpBaselineRecorded.Hit()
	if err := tx.Commit(); err != nil {
		return plan, fmt.Errorf("record the baseline: %w", err)
	}
	return plan, nil
}

// migrationsUpTo returns the versions of fsys up to version, ascending; version must be
// one of them.
func migrationsUpTo(fsys fs.FS, version int64) ([]int64, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []int64
	found := false
	for _, n := range names {
		v, err := goose.NumericComponent(path.Base(n))
		if err != nil {
			return nil, fmt.Errorf("migration file %q has no numeric version prefix", n)
		}
		if v <= version {
			out = append(out, v)
		}
		found = found || v == version
	}
	if !found {
		return nil, &NoVersionError{Version: version, Have: len(names)}
	}
	slices.Sort(out)
	return out, nil
}

// ErrNoSuchVersion marks a baseline to a version the migration set does not have.
var ErrNoSuchVersion = errors.New("no tenant migration has that version")

// NoVersionError is a baseline to a version no migration file has.
type NoVersionError struct {
	Version int64
	Have    int
}

func (e *NoVersionError) Error() string {
	return fmt.Sprintf("%s: version %d (the set has %d file(s); see tenantctl migrate status)", ErrNoSuchVersion, e.Version, e.Have)
}
func (e *NoVersionError) Unwrap() error { return ErrNoSuchVersion }

// referenceInventory builds, in a scratch database on the server, the schema the
// migrations up to version create, and returns its inventory.
func (s *Server) referenceInventory(ctx context.Context, id string, fsys fs.FS, version int64) (map[string]bool, error) {
	name := BaselineDatabasePrefix + id
	conn, err := s.Connect(ctx, "postgres")
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := s.dropDatabase(ctx, name); err != nil {
		return nil, fmt.Errorf("drop the previous reference database: %w", err)
	}
	if err := s.ensureTemplateOwner(ctx, conn); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE template0"); err != nil {
		return nil, fmt.Errorf("create the reference database: %w", err)
	}
	defer func() { _ = s.dropDatabase(context.WithoutCancel(ctx), name) }()
	fpBaselineReference.Hit()
	if err := s.execIn(ctx, name, "GRANT CREATE ON SCHEMA public TO "+ident(TemplateOwnerRole)); err != nil {
		return nil, err
	}
	p, err := s.provider(ctx, name, TemplateOwnerRole, fsys, MigrateOptions{})
	if err != nil {
		return nil, err
	}
	_, err = p.UpTo(ctx, version)
	cerr := p.Close()
	if err != nil {
		return nil, fmt.Errorf("apply the migrations up to version %d to a scratch database: %w", version, migrations.Describe(err))
	}
	if cerr != nil {
		return nil, cerr
	}
	ref, err := s.Connect(ctx, name)
	if err != nil {
		return nil, err
	}
	defer ref.Close(context.WithoutCancel(ctx))
	return schemaInventory(ctx, ref)
}

// inventorySQL names every object of a database's own schemas, with the details that
// must match (a column's type), one text per object. goose's table is left out.
const inventorySQL = `
WITH nsp AS (
	SELECT oid, nspname FROM pg_namespace
	WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_%'
), rel AS (
	SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
	FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
	WHERE c.relname NOT IN ('goose_db_version', 'goose_db_version_id_seq', 'goose_db_version_pkey')
	  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT 'schema ' || quote_ident(nspname) FROM nsp
UNION ALL
SELECT CASE relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'partitioned table ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
	WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table ' WHEN 'c' THEN 'composite type ' ELSE 'index ' END || name
FROM rel WHERE relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c', 'i', 'I')
UNION ALL
SELECT 'column ' || rel.name || '.' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE rel.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum ' WHEN 'd' THEN 'domain ' ELSE 'range type ' END || quote_ident(n.nspname) || '.' || quote_ident(t.typname)
FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r')
UNION ALL
SELECT 'enum label ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' ' || quote_literal(e.enumlabel)
FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN nsp n ON n.oid = t.typnamespace
UNION ALL
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate ' WHEN 'p' THEN 'procedure ' ELSE 'function ' END ||
	quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger ' || quote_ident(t.tgname) || ' on ' || rel.name FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'constraint ' || quote_ident(co.conname) || ' on ' || rel.name FROM pg_constraint co JOIN rel ON rel.oid = co.conrelid
UNION ALL
SELECT 'extension ' || quote_ident(extname) FROM pg_extension`

// schemaInventory returns the objects inventorySQL names in the database of conn.
func schemaInventory(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, inventorySQL)
	if err != nil {
		return nil, fmt.Errorf("list the database's objects: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the database's objects: %w", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

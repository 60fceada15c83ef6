package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tenantctl/tenantctl/internal/validate"
)

//go:embed catalog/*.sql warehouse/*.sql tenant/*.sql
var embedded embed.FS

// Catalog returns the catalog's migrations.
func Catalog() fs.FS { return sub("catalog") }

// Warehouse returns the warehouse's migrations.
func Warehouse() fs.FS { return sub("warehouse") }

// Tenant returns the default tenant schema's migrations.
func Tenant() fs.FS { return sub("tenant") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(embedded, dir)
	if err != nil {
		panic(err)
	}
	return f
}

// Dir returns an operator's migrations directory, checking that it holds goose SQL files.
func Dir(dir string) (fs.FS, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, validate.Errorf("tenant migrations directory %q does not exist or is not a directory", dir)
	}
	fsys := os.DirFS(dir)
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil || len(files) == 0 {
		return nil, validate.Errorf("tenant migrations directory %q holds no goose .sql files", dir)
	}
	if err := CheckOwnership(fsys); err != nil {
		return nil, validate.Invalid(err)
	}
	return fsys, nil
}

// Hash returns a SHA-256 over the names and contents of the migration files in fsys. It
// names a template database built from exactly this migration set.
func Hash(fsys fs.FS) (string, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Options tune a [Provider].
type Options struct {
	// SessionSetup runs on the migration connection before migrating (e.g. SET ROLE).
	SessionSetup []string
	// LockTimeoutSeconds bounds the wait for goose's session advisory lock (default 300).
	LockTimeoutSeconds uint64
	// TableName is goose's table (default goose_db_version, found through search_path).
	// Tenant databases use TenantTable: schema-qualified, so a migration that empties
	// search_path (pg_dump's set_config('search_path', '', false)) cannot hide it.
	TableName string
}

// TenantTable is goose's table in a tenant database.
const TenantTable = "public.goose_db_version"

// Provider is a goose provider bound to one database through a single dedicated
// connection, so SessionSetup applies to every statement goose runs.
type Provider struct {
	*goose.Provider
	db   *sql.DB
	fsys fs.FS
	last *lastStatement
}

// NewProvider opens a goose provider for the database at connConfig.
func NewProvider(ctx context.Context, connConfig *pgx.ConnConfig, fsys fs.FS, opts Options) (*Provider, error) {
	setup := opts.SessionSetup
	cfg := connConfig.Copy()
	db := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
		for _, s := range setup {
			if _, err := c.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}))
	// One connection: goose holds its session lock on it and runs every migration on it.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	wait := opts.LockTimeoutSeconds
	if wait == 0 {
		wait = 300
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, wait))
	if err != nil {
		db.Close()
		return nil, err
	}
	last := &lastStatement{}
	popts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true),
		goose.WithVerbose(true), goose.WithSlog(slog.New(last))}
	if opts.TableName != "" {
		popts = append(popts, goose.WithTableName(opts.TableName))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, popts...)
	if err != nil {
		db.Close()
		if errors.Is(err, goose.ErrNoMigrations) {
			return nil, validate.Errorf("no migrations found: %v", err)
		}
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Provider{Provider: p, db: db, fsys: fsys, last: last}, nil
}

// Connect logs in now rather than at the provider's first statement (goose connects
// lazily), so a caller can tell a refused login from a failed migration and retry it
// (see rollout's owner login racing a rotation). The session it opens is the one goose
// then runs on.
func (p *Provider) Connect(ctx context.Context) error {
	return p.db.PingContext(ctx)
}

// Close closes the provider and its connection.
func (p *Provider) Close() error {
	return errors.Join(p.Provider.Close(), p.db.Close())
}

// Latest returns the highest version in fsys.
func Latest(fsys fs.FS) (int64, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			return 0, validate.Errorf("migration file %q has no numeric version prefix", f)
		}
		if v > latest {
			latest = v
		}
	}
	return latest, nil
}

// Up applies every pending migration in fsys to the database at connConfig and returns
// the resulting version.
func Up(ctx context.Context, connConfig *pgx.ConnConfig, fsys fs.FS, opts Options) (int64, error) {
	p, err := NewProvider(ctx, connConfig, fsys, opts)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if _, err := p.Up(ctx); err != nil {
		return 0, describe(err)
	}
	return p.GetDBVersion(ctx)
}

// describe turns goose's partial error into one line naming the failed migration (and,
// when the provider located it, its line and statement).
func describe(err error) error {
	var se *StatementError
	if errors.As(err, &se) {
		return se
	}
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
		return fmt.Errorf("migration %s failed: %w", path.Base(pe.Failed.Source.Path), trimGoose(pe.Err))
	}
	return err
}

// trimGoose keeps the server's message (goose prefixes it with the whole SQL text) while
// the original error, and its *pgconn.PgError, stays reachable through Unwrap.
func trimGoose(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "ERROR: "); i >= 0 {
		return trimmed{msg: msg[i:], err: err}
	}
	return err
}

type trimmed struct {
	msg string
	err error
}

func (t trimmed) Error() string { return t.msg }
func (t trimmed) Unwrap() error { return t.err }

// Describe turns goose's partial error into one line naming the failed migration.
func Describe(err error) error { return describe(err) }

// gooseLockFailure is goose's message when its session locker gives up waiting for the
// migration lock (pressly/goose/v3/lock; pinned by a test).
const gooseLockFailure = "failed to acquire lock"

// LockNotAcquired reports whether err says goose gave up waiting for its migration lock
// on the database: another migration of the same database held it. goose returns no
// sentinel for this, so its message is read here and nowhere else.
func LockNotAcquired(err error) bool {
	return err != nil && strings.Contains(err.Error(), gooseLockFailure)
}

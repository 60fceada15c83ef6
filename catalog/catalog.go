package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/secret"
)

// DBTX is what the store's queries run on: the pool or a transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store is an open catalog.
type Store struct {
	pool *pgxpool.Pool
	// Actor is recorded in every event this store appends.
	Actor string

	box      *secret.Box
	keyMu    sync.Mutex
	keyValid bool
}

// Init creates or upgrades the catalog schema at dsn. It is idempotent and safe to run
// concurrently: goose holds a session advisory lock while it migrates.
func Init(ctx context.Context, dsn string) (version int64, err error) {
	if dsn == "" {
		return 0, ErrNoCatalog
	}
	cfg, err := dbconn.ParseConfig(dsn)
	if err != nil {
		return 0, err
	}
	v, err := migrations.Up(ctx, cfg, migrations.Catalog(), migrations.Options{})
	if err != nil {
		return 0, fmt.Errorf("migrate catalog: %w", err)
	}
	return v, nil
}

// Open connects to an initialised catalog. box may be nil for commands that never touch
// a credential; those that do get [secret.ErrNoKey].
func Open(ctx context.Context, dsn string, box *secret.Box) (*Store, error) {
	if dsn == "" {
		return nil, ErrNoCatalog
	}
	// No separate ping: the check that follows is the first round trip, and a failed
	// login is described as the ping would have.
	pool, err := dbconn.PoolUnchecked(ctx, dsn, 8)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	s := &Store{pool: pool, box: box, Actor: DefaultActor()}
	done, keyOK, err := openCheck(ctx, pool, box)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if done {
		s.keyValid = keyOK
		return s, nil
	}
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('public.tenants') IS NOT NULL AND to_regclass('public.meta') IS NOT NULL`).Scan(&ok); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if !ok {
		pool.Close()
		return nil, ErrNotInitialized
	}
	if box != nil {
		// A key that is not the catalog's is refused by every command given one, even
		// one that never decrypts: finding out only later, mid-operation, is worse.
		if _, err := s.Box(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() { s.pool.Close() }

// Pool exposes the catalog's pool, for packages that keep their own tables in the
// catalog (job runs, leader locks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) (retErr error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, ignoreClosed(tx.Rollback(context.WithoutCancel(ctx))))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func ignoreClosed(err error) error {
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

// DefaultActor is who events are attributed to: $TENANTCTL_ACTOR, else the OS user.
func DefaultActor() string {
	if a := os.Getenv("TENANTCTL_ACTOR"); a != "" {
		return a
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// Package pglock takes PostgreSQL session advisory locks named by strings, each held on
// a dedicated connection so it ends with the session: a process that dies loses its
// locks at once and a rerun can take over.
//
// It only locks; what a lock protects is the caller's business.
package pglock

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrHeld is returned by [TryAcquire] when another session holds the lock.
var ErrHeld = errors.New("advisory lock held by another session")

// Key hashes a lock name into an advisory lock key.
func Key(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// TryAcquire takes the named lock on a connection it keeps out of the pool until
// unlock is called, or returns ErrHeld at once.
func TryAcquire(ctx context.Context, pool *pgxpool.Pool, name string) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("take lock %q: %w", name, err)
	}
	return TryAcquireOn(ctx, conn, name)
}

// TryAcquireOn is [TryAcquire] on a connection the caller acquired (one opened ahead of
// time, say): the connection is the lock's until unlock, and is released on failure.
func TryAcquireOn(ctx context.Context, conn *pgxpool.Conn, name string) (unlock func(), err error) {
	key := Key(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("take lock %q: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, ErrHeld
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// Never hand a connection that may still hold the lock back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

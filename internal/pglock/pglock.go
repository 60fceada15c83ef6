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
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantctl/tenantctl/internal/dbconn"
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
	return AcquireOn(ctx, conn, name, 0)
}

// Acquire takes the named lock like [TryAcquire], but waits up to wait for another
// session to release it before returning ErrHeld. A process killed a moment ago keeps
// its session, and its locks, until its server notices the closed socket: a rerun
// started right after the kill would otherwise be told the work is busy. The wait is
// the server's lock_timeout, so it ends the moment the lock is free.
func Acquire(ctx context.Context, pool *pgxpool.Pool, name string, wait time.Duration) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("take lock %q: %w", name, err)
	}
	return AcquireOn(ctx, conn, name, wait)
}

// AcquireOn is [Acquire] on a connection the caller acquired: the connection is the
// lock's until unlock, and is released (closed if the lock may be held) on failure. A
// free lock costs one round trip: the wait, a transaction with its own lock_timeout,
// is entered only when the lock is held.
func AcquireOn(ctx context.Context, conn *pgxpool.Conn, name string, wait time.Duration) (unlock func(), err error) {
	return acquire(ctx, conn.Conn(), conn.Release, name, wait)
}

// AcquireConn is [AcquireOn] on a connection of its own (not a pool's), which unlock
// or a failure closes.
func AcquireConn(ctx context.Context, conn *pgx.Conn, name string, wait time.Duration) (unlock func(), err error) {
	return acquire(ctx, conn, func() { _ = conn.Close(context.WithoutCancel(ctx)) }, name, wait)
}

// AcquireShared is [AcquireConn] on a connection the caller keeps: unlock releases only
// this lock, so the connection can hold several locks at once, all ending with its
// session when the caller closes it. A failure that may leave the lock held closes the
// connection.
func AcquireShared(ctx context.Context, conn *pgx.Conn, name string, wait time.Duration) (unlock func(), err error) {
	return acquire(ctx, conn, func() {}, name, wait)
}

func acquire(ctx context.Context, conn *pgx.Conn, release func(), name string, wait time.Duration) (unlock func(), err error) {
	key := Key(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		release()
		return nil, fmt.Errorf("take lock %q: %w", name, err)
	}
	if !ok && wait <= 0 {
		release()
		return nil, ErrHeld
	}
	if !ok {
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// A session lock taken inside a transaction outlives it.
			if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", max(1, wait.Milliseconds()))); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `SELECT pg_advisory_lock($1)`, key)
			return err
		})
	}
	if err != nil {
		// Whether or not the lock was taken before the failure, the session ends with
		// the connection.
		_ = conn.Close(context.WithoutCancel(ctx))
		release()
		if dbconn.HasCode(err, pgerrcode.LockNotAvailable) {
			return nil, ErrHeld
		}
		return nil, fmt.Errorf("take lock %q: %w", name, err)
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// Never hand a connection that may still hold the lock back to a pool.
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		release()
	}, nil
}

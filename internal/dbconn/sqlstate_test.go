package dbconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestHasCodeFindsWrappedServerErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("create: %w", &pgconn.PgError{Code: pgerrcode.DuplicateDatabase, ConstraintName: "c"})
	require.True(t, HasCode(err, pgerrcode.DuplicateDatabase))
	require.True(t, HasCode(err, pgerrcode.UndefinedObject, pgerrcode.DuplicateDatabase))
	require.False(t, HasCode(err, pgerrcode.UniqueViolation))
	require.False(t, HasCode(errors.New("42P04"), pgerrcode.DuplicateDatabase), "only a server error has a code")
	require.False(t, HasCode(nil, ""))
	require.Equal(t, "c", Constraint(err))
}

// PostgreSQL says "tuple concurrently updated" (src/backend/access/heap/heapam.c,
// simple_heap_update) with SQLSTATE XX000; only the message tells it apart.
func TestConcurrentlyUpdatedPinsPostgresText(t *testing.T) {
	t.Parallel()
	require.True(t, ConcurrentlyUpdated(fmt.Errorf("grant: %w", &pgconn.PgError{Code: "XX000", Message: "tuple concurrently updated"})))
	require.False(t, ConcurrentlyUpdated(&pgconn.PgError{Code: "XX000", Message: "cache lookup failed"}))
	require.False(t, ConcurrentlyUpdated(&pgconn.PgError{Code: pgerrcode.LockNotAvailable, Message: "tuple concurrently updated"}))
	require.False(t, ConcurrentlyUpdated(nil))
}

func TestNoAnswer(t *testing.T) {
	require.False(t, NoAnswer(nil))
	require.False(t, NoAnswer(fmt.Errorf("connect: %w", &pgconn.PgError{Code: pgerrcode.InvalidAuthorizationSpecification})),
		"pg_hba.conf refusing is an answer")
	require.True(t, NoAnswer(fmt.Errorf("connect: %w", context.DeadlineExceeded)))
	require.True(t, NoAnswer(fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})))
	require.True(t, NoAnswer(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)))
	require.False(t, NoAnswer(errors.New("some other failure")))
}

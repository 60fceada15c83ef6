package dbconn

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLState returns the SQLSTATE of a PostgreSQL error, or "".
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// HasCode reports whether err wraps a PostgreSQL error with one of codes. Name codes
// with github.com/jackc/pgerrcode (pgerrcode.UniqueViolation), never as literals: this
// is the one way tenantctl asks what a server error was.
func HasCode(err error, codes ...string) bool {
	code := SQLState(err)
	return code != "" && slices.Contains(codes, code)
}

// Constraint returns the name of the constraint a PostgreSQL error names, or "".
func Constraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// concurrentlyUpdated is PostgreSQL's message when two sessions update the same shared
// catalog row (pinned by a test).
const concurrentlyUpdated = "tuple concurrently updated"

// ConcurrentlyUpdated reports PostgreSQL's "tuple concurrently updated": an internal
// error (XX000) that only its message tells apart, raised when ALTER DATABASE or GRANT
// race on the same shared catalog row. The statement is safe to retry.
func ConcurrentlyUpdated(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InternalError && strings.Contains(pgErr.Message, concurrentlyUpdated)
}

// NoAnswer reports whether err means the server did not answer at all — a connection
// refused or reset, a timeout, a deadline — as opposed to an answer that refused
// (any PostgreSQL error, such as pg_hba.conf rejecting a login). A check that failed
// for want of an answer proves nothing either way.
func NoAnswer(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return false
	}
	var netErr net.Error
	return pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

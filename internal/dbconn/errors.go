package dbconn

import (
	"fmt"
	"net"
	"time"
)

// SilentServerError is returned by a statement (or any other wait on a connection) when
// its server stopped answering: the wait outlasted [Watch.Interval] and a fresh
// connection attempt to the same server got no reply at all within [Watch.CheckTimeout].
// A frozen process (SIGSTOP, a hung host) still has its kernel accept TCP connections
// and acknowledge packets, so neither the server's own statement_timeout nor TCP
// keepalives can end such a wait; this check does. The connection is closed.
type SilentServerError struct {
	Server       string        // host:port as the DSN names it
	CheckTimeout time.Duration // how long the liveness check waited for any reply
	Waited       time.Duration // how long the statement had waited when it was given up
}

func (e *SilentServerError) Error() string {
	return fmt.Sprintf("server %s stopped answering: no reply to a liveness check within %s (gave up after waiting %s for a reply)",
		e.Server, e.CheckTimeout, e.Waited.Round(100*time.Millisecond))
}

// StatementDeadlineError is returned when a statement outlasted the session's
// statement_timeout plus [Watch.Grace] while its server still answered liveness checks:
// the server should have cancelled it and did not (a stuck backend, a proxy in front of
// a dead server). The connection is closed.
type StatementDeadlineError struct {
	Server           string
	StatementTimeout time.Duration // the session's statement_timeout
	Grace            time.Duration
}

func (e *StatementDeadlineError) Error() string {
	return fmt.Sprintf("server %s did not end a statement within its statement_timeout (%s) plus %s: the client gave up on it",
		e.Server, e.StatementTimeout, e.Grace)
}

// Both errors are net.Errors that report a timeout: pgconn then keeps them as the cause
// of the failed call (wrapped in its timeout error, which reports pgconn.Timeout) instead
// of a bare "conn closed", and database/sql does not retry the statement on a new
// connection as it would for a connection that broke before the statement was sent.
var (
	_ net.Error = (*SilentServerError)(nil)
	_ net.Error = (*StatementDeadlineError)(nil)
)

// Timeout is true: the client gave up waiting.
func (e *SilentServerError) Timeout() bool { return true }

// Temporary is false: the connection is closed.
func (e *SilentServerError) Temporary() bool { return false }

// Timeout is true: the client gave up waiting.
func (e *StatementDeadlineError) Timeout() bool { return true }

// Temporary is false: the connection is closed.
func (e *StatementDeadlineError) Temporary() bool { return false }

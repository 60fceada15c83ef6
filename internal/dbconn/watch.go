package dbconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Watch bounds every wait on a server from the client's side, for every connection
// dbconn opens (single connections, pools, goose's database/sql connections and the raw
// pgconn paths such as COPY pipes alike: it sits under them, on the socket).
//
// A frozen server (SIGSTOP, a hung host) keeps accepting and acknowledging TCP traffic,
// so neither its statement_timeout nor TCP keepalives end a statement already in flight.
// Two bounds do:
//
//   - Liveness: a read or write on the socket that has waited longer than Interval starts
//     a liveness check (see [SilentServerError]); while the server answers, the wait goes
//     on and is checked again every Interval; if it does not, the wait ends with a
//     [SilentServerError]. This applies to every connection, including sessions that
//     run with statement_timeout 0, and costs nothing while replies come quickly.
//   - Deadline: a statement sent through pgx (Exec, Query, QueryRow, Begin, Commit,
//     SendBatch, CopyFrom) on a session whose statement_timeout is above 0 is given up
//     with a [StatementDeadlineError] once it has run statement_timeout plus Grace (times
//     the number of statements in its text: each has its own timeout). A session whose
//     statements ever mention statement_timeout (SET, SET LOCAL) has no client deadline
//     from then on: tenantctl cannot know the new value, and liveness still applies.
//
// A DSN may set these per server: liveness_interval, liveness_timeout and
// statement_grace (Go durations such as 10s; liveness_interval=0 turns the checks off).
// They are read by [ParseConfig] and [Pool] and never sent to the server.
type Watch struct {
	Interval     time.Duration // a wait this long starts a liveness check; 0: none
	CheckTimeout time.Duration // how long a liveness check waits for any reply
	Grace        time.Duration // added to statement_timeout for the client's deadline
}

// DefaultWatch applies unless a DSN sets its own: a statement on a frozen server fails
// about 15 s after its last reply (10 s before the check, 5 s for the check).
var DefaultWatch = Watch{Interval: 10 * time.Second, CheckTimeout: 5 * time.Second, Grace: 30 * time.Second}

// DSN parameters that set [Watch]; they are removed before connecting.
const (
	ParamLivenessInterval = "liveness_interval"
	ParamLivenessTimeout  = "liveness_timeout"
	ParamStatementGrace   = "statement_grace"
)

// ClientParams are the DSN parameters dbconn reads itself; a DSN handed to another
// client (psql, an application) must not carry them.
var ClientParams = []string{ParamLivenessInterval, ParamLivenessTimeout, ParamStatementGrace}

// watchFrom takes the Watch parameters out of a DSN's runtime parameters.
func watchFrom(params map[string]string) (Watch, error) {
	w := DefaultWatch
	for _, p := range []struct {
		name string
		to   *time.Duration
	}{{ParamLivenessInterval, &w.Interval}, {ParamLivenessTimeout, &w.CheckTimeout}, {ParamStatementGrace, &w.Grace}} {
		v, ok := params[p.name]
		if !ok {
			continue
		}
		delete(params, p.name)
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return w, fmt.Errorf("%s must be a duration such as 10s, not %q", p.name, v)
		}
		*p.to = d
	}
	if w.Interval > 0 && w.CheckTimeout <= 0 {
		return w, fmt.Errorf("%s must be above 0 while %s is", ParamLivenessTimeout, ParamLivenessInterval)
	}
	return w, nil
}

// serverName is how errors name the server: host:port as the DSN has it, or the address
// actually dialled when the DSN lists several hosts (sslmode=prefer's fallbacks are the
// same host).
func serverName(cfg *pgconn.Config, addr string) string {
	for _, fb := range cfg.Fallbacks {
		if fb.Host != cfg.Host || fb.Port != cfg.Port {
			return addr
		}
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// install makes every connection of cfg watched and every pgx statement on it traced.
func (w Watch) install(cfg *pgx.ConnConfig) {
	d := &net.Dialer{KeepAliveConfig: KeepAlive}
	pc := &cfg.Config
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newWatched(c, w, serverName(pc, addr), targetFor(network, addr)), nil
	}
	cfg.Tracer = tracer{}
}

// epoch makes now() monotonic and never 0 (0 means "not waiting").
var epoch = time.Now().Add(-time.Second)

func now() int64 { return int64(time.Since(epoch)) }

// past is a deadline that has passed: it ends any blocked read or write at once.
var past = time.Unix(1, 0)

// watchedConn is a socket whose reads and writes are watched.
type watchedConn struct {
	net.Conn
	w      Watch
	server string
	target *target

	read, write op

	// base is the session's statement_timeout in ns: -1 not read yet, 0 none (or unknown
	// since a statement changed it). deadline is when the running statement is given
	// up (now() units), 0 if none.
	base, deadline atomic.Int64

	mu  sync.Mutex // orders fail against deadline changes
	err atomic.Pointer[error]
}

// op watches one direction: since is when the pending call began, 0 if none.
type op struct {
	c     *watchedConn
	since atomic.Int64
	timer *time.Timer
}

func newWatched(c net.Conn, w Watch, server string, t *target) *watchedConn {
	wc := &watchedConn{Conn: c, w: w, server: server, target: t}
	wc.base.Store(-1)
	for _, o := range []*op{&wc.read, &wc.write} {
		o.c = wc
		o.timer = time.AfterFunc(time.Hour, o.fire)
		o.timer.Stop()
	}
	return wc
}

func (c *watchedConn) failed() error {
	if e := c.err.Load(); e != nil {
		return *e
	}
	return nil
}

func (c *watchedConn) Read(p []byte) (int, error) { return c.watched(&c.read, c.Conn.Read, p) }

func (c *watchedConn) Write(p []byte) (int, error) { return c.watched(&c.write, c.Conn.Write, p) }

// watched does one read or write under its watch o. Once the watch has failed the
// connection, that failure is the answer (and the cause of an I/O error it provoked).
func (c *watchedConn) watched(o *op, rw func([]byte) (int, error), p []byte) (int, error) {
	if err := c.failed(); err != nil {
		return 0, err
	}
	o.begin()
	n, err := rw(p)
	o.end()
	if err != nil {
		if f := c.failed(); f != nil {
			return n, f
		}
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.read.timer.Stop()
	c.write.timer.Stop()
	return c.Conn.Close()
}

// The deadline setters keep a failed connection's deadline in the past: pgx resets
// deadlines after a cancelled context, which must not unblock a wait on a dead server.
func (c *watchedConn) SetDeadline(t time.Time) error { return c.setDeadline(c.Conn.SetDeadline, t) }
func (c *watchedConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(c.Conn.SetReadDeadline, t)
}
func (c *watchedConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(c.Conn.SetWriteDeadline, t)
}

func (c *watchedConn) setDeadline(set func(time.Time) error, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed() != nil {
		t = past
	}
	return set(t)
}

// fail ends every wait on the connection with err; the first error stays.
func (c *watchedConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed() != nil {
		return
	}
	c.err.Store(&err)
	_ = c.Conn.SetDeadline(past)
}

// until is how long from t until the next thing to check: the liveness check due at
// check, or the statement's deadline; -1 if there is nothing to watch.
func (c *watchedConn) until(t, check int64) time.Duration {
	at := int64(math.MaxInt64)
	if c.w.Interval > 0 {
		at = check
	}
	if dl := c.deadline.Load(); dl != 0 && dl < at {
		at = dl
	}
	if at == math.MaxInt64 {
		return -1
	}
	return max(time.Duration(at-t), time.Millisecond)
}

func (o *op) begin() {
	t := now()
	o.since.Store(t)
	if d := o.c.until(t, t+int64(o.c.w.Interval)); d >= 0 {
		o.timer.Reset(d)
	}
}

func (o *op) end() {
	o.since.Store(0)
	o.timer.Stop()
}

// fire runs on the timer's goroutine while a call may still be waiting. A stale fire
// (the call ended, another began) finds since changed and only re-arms or returns.
func (o *op) fire() {
	c := o.c
	start := o.since.Load()
	if start == 0 || c.failed() != nil {
		return
	}
	t := now()
	if dl := c.deadline.Load(); dl != 0 && t >= dl {
		c.fail(&StatementDeadlineError{Server: c.server, StatementTimeout: time.Duration(c.base.Load()), Grace: c.w.Grace})
		return
	}
	check := start + int64(c.w.Interval)
	if c.w.Interval > 0 && t >= check {
		if !c.target.alive(c.w.CheckTimeout, c.w.Interval/2) {
			if o.since.Load() == start {
				c.fail(&SilentServerError{Server: c.server, CheckTimeout: c.w.CheckTimeout, Waited: time.Duration(now() - start)})
			}
			return
		}
		t = now()
		check = t + int64(c.w.Interval)
	}
	if o.since.Load() != start {
		return // the call ended; a new one armed the timer itself
	}
	if d := c.until(t, check); d >= 0 {
		o.timer.Reset(d)
	}
}

// statement notes that a statement of sql (n statements for a batch) starts now.
func (c *watchedConn) statement(conn *pgx.Conn, sql string, n int) {
	base := c.base.Load()
	if base < 0 {
		base = 0
		if d, ok := pgDuration(conn.Config().RuntimeParams["statement_timeout"]); ok {
			base = int64(d)
		}
		c.base.Store(base)
	}
	if base > 0 && mentionsStatementTimeout(sql) {
		base = 0
		c.base.Store(0)
	}
	if base == 0 {
		c.deadline.Store(0)
		return
	}
	n += strings.Count(sql, ";")
	c.deadline.Store(now() + base*int64(n) + int64(c.w.Grace))
}

func (c *watchedConn) statementEnd() { c.deadline.Store(0) }

// mentionsStatementTimeout reports whether sql may change statement_timeout (ASCII case
// folded; a mention in a comment or a string counts too, which only errs towards no
// client deadline).
func mentionsStatementTimeout(sql string) bool {
	const word = "statement_timeout"
	for i := 0; i+len(word) <= len(sql); i++ {
		if c := sql[i]; (c == 's' || c == 'S') && strings.EqualFold(sql[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

// pgDuration parses a PostgreSQL time setting whose default unit is milliseconds
// ("300000", "60s", "5min", "1.5 h"). ok is false for anything else.
func pgDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	scale := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if scale == 0 {
		return 0, false
	}
	return time.Duration(f * float64(scale)), true
}

// watchedOf returns the watched socket under conn, or nil.
func watchedOf(conn *pgx.Conn) *watchedConn {
	pc := conn.PgConn()
	if pc == nil {
		return nil
	}
	nc := pc.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	w, _ := nc.(*watchedConn)
	return w
}

// tracer tells the watched socket where pgx statements begin and end; it changes no
// context and allocates nothing.
type tracer struct{}

func (tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if w := watchedOf(conn); w != nil {
		w.statement(conn, data.SQL, 1)
	}
	return ctx
}

func (tracer) TraceQueryEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceQueryEndData) {
	if w := watchedOf(conn); w != nil {
		w.statementEnd()
	}
}

func (tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if w := watchedOf(conn); w != nil && data.Batch != nil {
		var sql strings.Builder
		for _, q := range data.Batch.QueuedQueries {
			sql.WriteString(q.SQL)
		}
		w.statement(conn, sql.String(), max(len(data.Batch.QueuedQueries), 1))
	}
	return ctx
}

func (tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (tracer) TraceBatchEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	if w := watchedOf(conn); w != nil {
		w.statementEnd()
	}
}

func (tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	if w := watchedOf(conn); w != nil {
		w.statement(conn, "", 1)
	}
	return ctx
}

func (tracer) TraceCopyFromEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	if w := watchedOf(conn); w != nil {
		w.statementEnd()
	}
}

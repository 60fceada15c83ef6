package scheduler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pgtest"
)

type testBundle struct {
	dsn   string
	store *catalog.Store
}

// setup gives a test its own initialised catalog database. Advisory locks are scoped to
// a database, so tests running in parallel never contend for each other's leader lock.
func setup(t *testing.T) *testBundle {
	t.Helper()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "catalog")
	return setupDSN(t, env.Control.SuperDSN(db))
}

func setupDSN(t *testing.T, dsn string) *testBundle {
	t.Helper()
	ctx := context.Background()
	_, err := catalog.Init(ctx, dsn)
	require.NoError(t, err)
	return &testBundle{dsn: dsn, store: openStore(t, dsn)}
}

func openStore(t *testing.T, dsn string) *catalog.Store {
	t.Helper()
	store, err := catalog.Open(context.Background(), dsn, nil)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	return store
}

// newScheduler starts a scheduler named node over its own store (as a separate replica
// would have), with HTTP on a free loopback port; it is stopped at the end of the test.
func (b *testBundle) newScheduler(t *testing.T, node string, jobs []Job, mod func(*Options)) *Scheduler {
	t.Helper()
	o := Options{
		CatalogDSN: b.dsn,
		Store:      openStore(t, b.dsn),
		Node:       node,
		Jobs:       jobs,
		Listen:     "127.0.0.1:0",
		Log: hclog.New(&hclog.LoggerOptions{
			Name: "test", Level: hclog.Debug, Output: testWriter{t}, DisableTime: true,
		}),
		ShutdownTimeout: 5 * time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(s.Stop)
	return s
}

// testWriter sends logs to t.Log so they show with the failing test only.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// recorder is a fake job body: it counts runs per node, tracks how many run at once,
// sleeps for d (or until cancelled) and records how each run ended.
type recorder struct {
	d         time.Duration
	fail      error
	active    atomic.Int32
	maxActive atomic.Int32
	started   chan string // node of each run, as it starts (buffered, never blocks)

	mu        sync.Mutex
	runs      map[string]int
	cancelled int
	completed int
	causes    []error // context.Cause of each cancelled run
}

func newRecorder(d time.Duration) *recorder {
	return &recorder{d: d, runs: map[string]int{}, started: make(chan string, 1000)}
}

func (r *recorder) job(node string) catalog.JobFunc {
	return func(ctx context.Context) (map[string]int64, error) {
		n := r.active.Add(1)
		defer r.active.Add(-1)
		for {
			m := r.maxActive.Load()
			if n <= m || r.maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		r.mu.Lock()
		r.runs[node]++
		r.mu.Unlock()
		select {
		case r.started <- node:
		default:
		}
		t := time.NewTimer(r.d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			r.mu.Lock()
			r.cancelled++
			r.causes = append(r.causes, context.Cause(ctx))
			r.mu.Unlock()
			return map[string]int64{"done": 0}, ctx.Err()
		}
		r.mu.Lock()
		r.completed++
		r.mu.Unlock()
		return map[string]int64{"done": 1}, r.fail
	}
}

func (r *recorder) counts() (runs map[string]int, completed, cancelled int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	runs = map[string]int{}
	for k, v := range r.runs {
		runs[k] = v
	}
	return runs, r.completed, r.cancelled
}

// waitStarted waits for the next run to start and returns its node.
func (r *recorder) waitStarted(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case node := <-r.started:
		return node
	case <-time.After(within):
		t.Fatalf("no job run started within %s", within)
		return ""
	}
}

// drainStarted forgets the runs that started so far.
func (r *recorder) drainStarted() {
	for {
		select {
		case <-r.started:
		default:
			return
		}
	}
}

// leaderOf waits until exactly one of ss leads and returns it.
func leaderOf(t *testing.T, within time.Duration, ss ...*Scheduler) *Scheduler {
	t.Helper()
	var leader *Scheduler
	require.Eventually(t, func() bool {
		leader = nil
		n := 0
		for _, s := range ss {
			if s.IsLeader() {
				leader = s
				n++
			}
		}
		return n == 1
	}, within, 20*time.Millisecond, "expected exactly one leader")
	return leader
}

type jobRow struct {
	ID     int64
	Job    string
	Node   string
	Status string
	Error  string
	Start  time.Time
	End    *time.Time
}

// jobRuns reads the job history straight from the catalog, oldest first.
func (b *testBundle) jobRuns(t *testing.T) []jobRow {
	t.Helper()
	rows, err := b.store.Pool().Query(context.Background(),
		`SELECT id, job, node, status, coalesce(error, ''), started_at, finished_at FROM job_runs ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var r jobRow
		require.NoError(t, rows.Scan(&r.ID, &r.Job, &r.Node, &r.Status, &r.Error, &r.Start, &r.End))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// scrape fetches a scheduler endpoint and returns its status and body.
func scrape(t *testing.T, s *Scheduler, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// metric returns the value of the sample `series` (name with its labels exactly as
// exposed, e.g. `x_total{job="a",status="failed"}`) in a Prometheus text body.
func metric(t *testing.T, body, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			require.NoError(t, err, line)
			return f
		}
	}
	t.Fatalf("series %s not in metrics:\n%s", series, body)
	return 0
}

func metricOf(t *testing.T, s *Scheduler, series string) float64 {
	t.Helper()
	code, body := scrape(t, s, "/metrics")
	require.Equal(t, http.StatusOK, code)
	return metric(t, body, series)
}

// proxy is a TCP proxy in front of PostgreSQL: cutting it is a network failure between
// one replica and the catalog, without touching the shared server.
type proxy struct {
	target string
	ln     net.Listener
	addr   string

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.ln, p.addr = ln, ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

// dsnVia rewrites dsn to go through the proxy.
func (p *proxy) dsnVia(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = p.addr
	return u.String()
}

func (p *proxy) serve(ln net.Listener) {
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	})
}

// cut closes the listener and every connection through it.
func (p *proxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// restore listens again on the same address.
func (p *proxy) restore(t *testing.T) {
	t.Helper()
	var ln net.Listener
	require.Eventually(t, func() bool {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	}, 5*time.Second, 50*time.Millisecond)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.serve(ln)
}

func hostPort(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Host
}

var errBoom = errors.New("boom")

func jobs(r *recorder, node string, names ...string) []Job {
	var out []Job
	for _, n := range names {
		out = append(out, Job{Name: n, Schedule: "@every 1s", Run: r.job(node)})
	}
	return out
}

func nodeName(i int) string { return fmt.Sprintf("node-%c", 'a'+i) }

// lastCause is the cause of the last cancelled run.
func (r *recorder) lastCause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.causes) == 0 {
		return nil
	}
	return r.causes[len(r.causes)-1]
}

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/robfig/cron/v3"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/secret"
)

// stragglerGrace is how long Stop waits for jobs that were cancelled at the end of the
// shutdown timeout to return and record their end, before it gives up on them.
const stragglerGrace = 10 * time.Second

// Scheduler runs jobs on their schedules while this replica is the leader.
type Scheduler struct {
	opts    Options
	log     hclog.Logger
	cron    *cron.Cron
	entries map[cron.EntryID]Job
	metrics *metrics
	srv     *http.Server
	ln      net.Listener

	mu       sync.Mutex
	started  bool
	stopping bool
	leading  bool
	// term lives as long as the current leadership: jobs run under it, so losing the
	// lock cancels them.
	term    context.Context
	endTerm context.CancelCauseFunc
	running map[string]bool
	jobs    sync.WaitGroup // job runs in progress
	bg      sync.WaitGroup // housekeeping (history pruning)

	base       context.Context
	stopLeader context.CancelFunc
	leaderDone chan struct{}
	httpDone   chan struct{}
	stopOnce   sync.Once
}

// New checks opts and returns a scheduler ready to Start.
func New(opts Options) (*Scheduler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{
		opts:       opts,
		log:        opts.Log.With("node", opts.Node),
		running:    map[string]bool{},
		entries:    map[cron.EntryID]Job{},
		leaderDone: make(chan struct{}),
		httpDone:   make(chan struct{}),
	}
	var names []string
	for _, j := range opts.Jobs {
		if !Disabled(j.Schedule) {
			names = append(names, j.Name)
		}
	}
	s.metrics = newMetrics(opts.Store, opts.Node, opts.LatestTenantVersion, names,
		&backupCollector{server: opts.Servers, maxAge: opts.BackupMaxAge})
	// Our own wrapper recovers panics and prevents overlap; cron's chain stays empty so a
	// skipped tick is ours to log and count.
	s.cron = cron.New(cron.WithLogger(cronLogger{s.log}))
	for _, j := range opts.Jobs {
		sched, _ := ParseSchedule(j.Schedule) // validated above
		if sched == nil {
			s.log.Info("job disabled", "job", j.Name)
			continue
		}
		id := s.cron.Schedule(sched, cron.FuncJob(func() { s.tick(j) }))
		s.entries[id] = j
	}
	return s, nil
}

// Start starts contending for leadership, the schedules and the HTTP endpoints, and
// returns. ctx is used for startup and for its values only: cancelling it later does not
// stop the scheduler; call Stop (or use Run).
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("scheduler already started")
	}
	if s.stopping {
		return errors.New("scheduler already stopped")
	}
	if s.opts.Listen != "-" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", s.opts.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
		}
		s.ln = ln
		s.srv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			defer close(s.httpDone)
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("HTTP endpoints stopped", "error", err)
			}
		}()
		s.log.Info("serving /healthz, /readyz and /metrics", "addr", ln.Addr().String())
	} else {
		close(s.httpDone)
	}
	s.started = true
	s.base = context.WithoutCancel(ctx)
	leaderCtx, stop := context.WithCancel(s.base)
	s.stopLeader = stop
	go s.leaderLoop(leaderCtx)
	s.cron.Start()
	for _, e := range s.cron.Entries() {
		j := s.entries[e.ID]
		s.log.Info("job scheduled", "job", j.Name, "schedule", j.Schedule, "next", e.Next.Format(time.RFC3339))
	}
	return nil
}

// Run starts the scheduler, blocks until ctx is done, then stops it gracefully.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	s.Stop()
	return nil
}

// Stop stops scheduling, lets running jobs finish for up to ShutdownTimeout, then
// cancels them, releases the leader lock and closes the HTTP endpoints. It blocks until
// done. Stopping twice, or stopping a scheduler never started, is safe.
func (s *Scheduler) Stop() {
	s.stopOnce.Do(s.stop)
}

func (s *Scheduler) stop() {
	s.mu.Lock()
	s.stopping = true // no tick starts a run after this: see tick
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	s.log.Info("stopping: no new job runs")
	// Not waiting on the context cron returns: it waits for runs in progress without a
	// bound, and the shutdown timeout below is ours to enforce.
	s.cron.Stop()
	if running := s.runningJobs(); len(running) > 0 {
		s.log.Info("waiting for running jobs to finish", "timeout", s.opts.ShutdownTimeout, "jobs", running)
	}
	if !waitTimeout(&s.jobs, s.opts.ShutdownTimeout) {
		s.log.Warn("shutdown timeout reached: cancelling running jobs", "jobs", s.runningJobs())
		s.mu.Lock()
		if s.endTerm != nil {
			s.endTerm(ErrShutdown)
		}
		s.mu.Unlock()
		if !waitTimeout(&s.jobs, stragglerGrace) {
			s.log.Error("jobs ignored cancellation; stopping without them", "jobs", s.runningJobs())
		}
	}
	// Give the lock back only now, so no other replica starts a job while ours finishes.
	s.stopLeader()
	<-s.leaderDone
	s.bg.Wait()
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.srv.Shutdown(ctx)
		cancel()
	}
	<-s.httpDone
	s.log.Info("scheduler stopped")
}

// waitTimeout waits for wg up to d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// IsLeader reports whether this replica holds the leader lock.
func (s *Scheduler) IsLeader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}

// Node is this replica's name.
func (s *Scheduler) Node() string { return s.opts.Node }

// Addr is the address the HTTP endpoints listen on ("" when none), useful with port 0.
func (s *Scheduler) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

func (s *Scheduler) runningJobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.running {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// promote starts a leadership term.
func (s *Scheduler) promote() {
	s.mu.Lock()
	s.leading = true
	s.term, s.endTerm = context.WithCancelCause(s.base)
	s.metrics.leader.Set(1)
	s.mu.Unlock()
	s.log.Info("took the leader lock: this replica runs the scheduled jobs")
}

// demote ends the leadership term, cancelling the jobs running under it.
func (s *Scheduler) demote(cause error) {
	s.mu.Lock()
	if !s.leading {
		s.mu.Unlock()
		return
	}
	s.leading = false
	s.endTerm(cause)
	s.metrics.leader.Set(0)
	running := len(s.running)
	s.mu.Unlock()
	if errors.Is(cause, ErrShutdown) {
		s.log.Info("stepping down as leader")
		return
	}
	s.log.Error("lost the leader lock: no new job runs; running jobs cancelled", "reason", cause, "running", running)
}

// tick is what cron calls on each of a job's ticks.
func (s *Scheduler) tick(j Job) {
	s.mu.Lock()
	if s.stopping || !s.leading {
		s.mu.Unlock()
		return
	}
	if s.running[j.Name] {
		s.mu.Unlock()
		s.metrics.skips.WithLabelValues(j.Name).Inc()
		s.log.Warn("previous run still in progress: skipping this tick", "job", j.Name)
		return
	}
	s.running[j.Name] = true
	term := s.term
	s.jobs.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, j.Name)
		s.mu.Unlock()
		s.jobs.Done()
	}()
	s.run(term, j)
}

// run runs one job under ctx and records it in the catalog and the metrics.
func (s *Scheduler) run(ctx context.Context, j Job) {
	if s.opts.JobTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.opts.JobTimeout, ErrJobTimeout)
		defer cancel()
	}
	log := s.log.With("job", j.Name)
	log.Info("job started")
	s.metrics.running.WithLabelValues(j.Name).Set(1)
	start := time.Now()
	counts, err := s.opts.Store.RunJob(ctx, j.Name, s.opts.Node, s.recovered(j))
	elapsed := time.Since(start)
	s.metrics.running.WithLabelValues(j.Name).Set(0)

	status := catalog.JobSucceeded
	switch {
	case err != nil && ctx.Err() != nil:
		status = catalog.JobCancelled
		log.Warn("job cancelled", "reason", context.Cause(ctx), "duration", elapsed, "error", secret.Scrub(err.Error()))
	case err != nil:
		status = catalog.JobFailed
		log.Error("job failed", "duration", elapsed, "counts", counts, "error", secret.Scrub(err.Error()))
	default:
		log.Info("job finished", "duration", elapsed, "counts", counts)
	}
	s.metrics.observe(j.Name, status, elapsed, counts)
}

// recovered turns a panicking job into a failed run: one job's bug must not take the
// scheduler, or its history, down.
func (s *Scheduler) recovered(j Job) catalog.JobFunc {
	return func(ctx context.Context) (counts map[string]int64, err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("job panicked", "job", j.Name, "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("job %s panicked: %v", j.Name, r)
			}
		}()
		return j.Run(ctx)
	}
}

// prune deletes job history older than the retention, in the background so the lock
// pings keep their rhythm.
func (s *Scheduler) prune() {
	s.mu.Lock()
	if !s.leading || s.stopping {
		s.mu.Unlock()
		return
	}
	ctx := s.term
	s.bg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		n, err := s.opts.Store.PruneJobs(ctx, time.Now().Add(-s.opts.JobRetention))
		if err != nil {
			s.log.Warn("prune job history", "error", secret.Scrub(err.Error()))
			return
		}
		s.metrics.pruned.Add(float64(n))
		if n > 0 {
			s.log.Info("pruned job history", "runs", n, "older_than", s.opts.JobRetention)
		}
	}()
}

// cronLogger sends robfig/cron's own messages to hclog at debug level (errors at error).
type cronLogger struct{ log hclog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Trace("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "error", err)...)
}

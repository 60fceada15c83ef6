package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/secret"
)

// The leader is whichever replica holds a session advisory lock on a dedicated catalog
// connection. Session locks belong to the connection: when the leader's process dies or
// its connection breaks, PostgreSQL ends the session and releases the lock, and the next
// standby to try takes it. That is why the lock lives on a pgx.Conn of its own rather
// than on a pooled connection, which could be recycled under the lock.

// connectTimeout bounds one attempt to open the lock connection, so a standby facing an
// unreachable catalog keeps to its retry rhythm and notices Stop promptly.
const connectTimeout = 5 * time.Second

// warnEvery limits repeated warnings (catalog unreachable) to one per period while the
// condition lasts.
const warnEvery = 30 * time.Second

// connectLock opens the dedicated lock connection.
func (s *Scheduler) connectLock(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := dbconn.ParseConfig(s.opts.CatalogDSN)
	if err != nil {
		return nil, err
	}
	// Operators find the leader with pg_stat_activity joined to pg_locks.
	cfg.RuntimeParams["application_name"] = "tenantctl scheduler " + s.opts.Node
	// Let the server notice a vanished leader (a partition, a frozen VM) within seconds
	// rather than the kernel's default two hours, so a standby can take over. The leader
	// itself stops after one failed ping (PingInterval + PingTimeout), well before the
	// server gives up on it (about 5 + 3×2 s), so two replicas never lead at once.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "5"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "2"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return dbconn.ConnectConfig(ctx, cfg)
}

// tryLock takes the leader lock if no other session holds it.
func (s *Scheduler) tryLock(ctx context.Context, conn *pgx.Conn) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PingTimeout)
	defer cancel()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, s.opts.LockKey).Scan(&got); err != nil {
		return false, fmt.Errorf("try leader lock: %w", err)
	}
	return got, nil
}

// ping checks that the lock connection, and so the lock, is still alive.
func (s *Scheduler) ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PingTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("leader lock connection: %w", err)
	}
	return nil
}

// closeConn closes the lock connection without waiting long on a dead peer; closing the
// session is what releases the lock on the server.
func closeConn(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// leaderLoop contends for the lock until ctx is done: a standby tries every
// RetryInterval, the leader pings every PingInterval and steps down at the first failed
// ping. On return it steps down and releases the lock.
func (s *Scheduler) leaderLoop(ctx context.Context) {
	defer close(s.leaderDone)
	var conn *pgx.Conn
	defer func() { s.release(conn) }()

	var lastWarn time.Time
	warn := func(msg string, err error) {
		if time.Since(lastWarn) >= warnEvery {
			s.log.Warn(msg, "error", secret.Scrub(err.Error()), "retry_every", s.opts.RetryInterval)
			lastWarn = time.Now()
			return
		}
		s.log.Debug(msg, "error", secret.Scrub(err.Error()))
	}
	standbyLogged := false
	var lastPrune time.Time

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		interval := s.opts.RetryInterval
		if conn == nil {
			c, err := s.connectLock(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				warn("cannot reach the catalog; waiting to contend for leadership", err)
				timer.Reset(interval)
				continue
			}
			conn = c
			lastWarn = time.Time{}
		}
		if s.IsLeader() {
			interval = s.opts.PingInterval
			if err := s.ping(ctx, conn); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.demote(fmt.Errorf("%w: %v", ErrNoLeader, secret.Scrub(err.Error())))
				closeConn(conn)
				conn, standbyLogged = nil, false
				interval = s.opts.RetryInterval
			} else if s.opts.JobRetention > 0 && time.Since(lastPrune) >= pruneEvery(s.opts.JobRetention) {
				lastPrune = time.Now()
				s.prune()
			}
		} else {
			got, err := s.tryLock(ctx, conn)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				warn("leader lock connection failed; reconnecting", err)
				closeConn(conn)
				conn = nil
			case got:
				s.sweepAbandoned(ctx)
				s.promote()
				// Check history at once on taking over, then on the pruning period.
				lastPrune = time.Time{}
				if s.opts.JobRetention > 0 {
					lastPrune = time.Now()
					s.prune()
				}
				interval = s.opts.PingInterval
			case !standbyLogged:
				s.log.Info("standing by: another replica holds the leader lock", "retry_every", s.opts.RetryInterval)
				standbyLogged = true
			}
		}
		timer.Reset(interval)
	}
}

// release steps down and gives the lock back. Unlocking explicitly (rather than only
// closing) matters when Close cannot reach the server cleanly; closing ends the session,
// which releases the lock in any case.
func (s *Scheduler) release(conn *pgx.Conn) {
	wasLeader := s.IsLeader()
	s.demote(ErrShutdown)
	if conn == nil {
		return
	}
	if wasLeader {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, s.opts.LockKey); err != nil {
			s.log.Debug("unlock leader lock", "error", secret.Scrub(err.Error()))
		}
		cancel()
		s.log.Info("released the leader lock")
	}
	closeConn(conn)
}

// pruneEvery is how often the leader prunes job history: hourly, or more often for a
// retention shorter than two hours.
func pruneEvery(retention time.Duration) time.Duration {
	return min(time.Hour, max(retention/2, time.Second))
}

// abandonedError is recorded for runs whose end was never recorded.
const abandonedError = "abandoned: the scheduler running it stopped or lost the catalog before recording its end"

// sweepAbandoned closes the history of this node's runs that are still marked running
// although nothing here runs them: a run whose end could not be recorded because the
// catalog went away, or one interrupted by a crash of this node's previous process.
// It runs before the term starts, so no new run of ours can be caught by it; runs still
// unwinding from a previous term are left to record their own end.
//
// A CLI run on the same host under the same node name would be marked too; its own
// FinishJob then overwrites the mark when it ends, so the history heals itself.
func (s *Scheduler) sweepAbandoned(ctx context.Context) {
	s.mu.Lock()
	var names, busy []string
	for _, j := range s.opts.Jobs {
		if s.running[j.Name] {
			busy = append(busy, j.Name)
		} else {
			names = append(names, j.Name)
		}
	}
	s.mu.Unlock()
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.PingTimeout)
	defer cancel()
	tag, err := s.opts.Store.Pool().Exec(ctx, `
		UPDATE job_runs SET status = 'failed', finished_at = clock_timestamp(), error = $3
		WHERE status = 'running' AND node = $1 AND job = ANY($2)`, s.opts.Node, names, abandonedError)
	if err != nil {
		s.log.Warn("close abandoned job runs", "error", secret.Scrub(err.Error()))
		return
	}
	if n := tag.RowsAffected(); n > 0 {
		s.log.Warn("marked abandoned job runs of this node as failed", "runs", n, "still_unwinding", busy)
	}
}

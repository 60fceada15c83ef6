package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/internal/pglock"
)

// jobLockName names the session advisory lock a job run holds while it runs: it ends
// with the process, however the process ends, which is how [Store.CloseAbandonedJobs]
// tells a run that is still going from one whose process died.
func jobLockName(id int64) string { return "job-run:" + strconv.FormatInt(id, 10) }

// AbandonedError is recorded on a run whose process ended without recording its end.
const AbandonedError = "abandoned: the process running it ended (killed or crashed) before it could record its end"

// CloseAbandonedJobs marks as failed every run still recorded as running whose process
// is gone (nobody holds its run lock), and returns their ids. Runs still going are left
// alone. With dryRun it only reports them.
func (s *Store) CloseAbandonedJobs(ctx context.Context, dryRun bool) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM job_runs WHERE status = 'running' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	var closed []int64
	for _, id := range ids {
		ok, err := s.closeAbandoned(ctx, id, dryRun)
		if err != nil {
			return closed, err
		}
		if ok {
			closed = append(closed, id)
		}
	}
	return closed, nil
}

// CloseAbandonedJob marks one run failed if it is still recorded as running and its
// process is gone; it reports whether it did.
func (s *Store) CloseAbandonedJob(ctx context.Context, id int64) (bool, error) {
	return s.closeAbandoned(ctx, id, false)
}

func (s *Store) closeAbandoned(ctx context.Context, id int64, dryRun bool) (bool, error) {
	unlock, err := pglock.TryAcquire(ctx, s.pool, jobLockName(id))
	if errors.Is(err, pglock.ErrHeld) {
		return false, nil // still running
	}
	if err != nil {
		return false, err
	}
	defer unlock()
	if dryRun {
		var running bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM job_runs WHERE id = $1 AND status = 'running')`, id).Scan(&running)
		return running, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE job_runs SET status = 'failed', finished_at = clock_timestamp(), error = $2
		WHERE id = $1 AND status = 'running'`, id, AbandonedError)
	if err != nil {
		return false, fmt.Errorf("close abandoned job run %d: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

// lockJobRun takes a run's lock, retrying for a moment: a sweep checking the run holds
// it for a few milliseconds.
func (s *Store) lockJobRun(ctx context.Context, id int64) (func(), error) {
	for attempt := 0; ; attempt++ {
		unlock, err := pglock.TryAcquire(ctx, s.pool, jobLockName(id))
		if !errors.Is(err, pglock.ErrHeld) || attempt == 50 {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

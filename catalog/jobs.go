package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/secret"
)

// Job run statuses.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// JobRun is one run of a fleet job (migrate, rollup, audit, reconcile, purge), started
// by the scheduler or from the CLI.
type JobRun struct {
	ID         int64            `json:"id"`
	Job        string           `json:"job"`
	Node       string           `json:"node"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`
	Status     string           `json:"status"`
	Error      string           `json:"error"`
	Counts     map[string]int64 `json:"counts"`
}

// StartJob records the start of a job run and returns its id.
func (s *Store) StartJob(ctx context.Context, job, node string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO job_runs (job, node) VALUES ($1, $2) RETURNING id`, job, node).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record job start: %w", err)
	}
	return id, nil
}

// FinishJob records the end of a job run.
func (s *Store) FinishJob(ctx context.Context, id int64, status, errText string, counts map[string]int64) error {
	if counts == nil {
		counts = map[string]int64{}
	}
	_, err := s.pool.Exec(ctx, `UPDATE job_runs SET finished_at = clock_timestamp(), status = $2, error = NULLIF($3, ''), counts = $4 WHERE id = $1`,
		id, status, errText, counts)
	if err != nil {
		return fmt.Errorf("record job end: %w", err)
	}
	return nil
}

const jobRunColumns = `id, job, node, started_at, finished_at, status, coalesce(error, ''), counts`

func scanJobRun(row pgx.Row) (JobRun, error) {
	var j JobRun
	err := row.Scan(&j.ID, &j.Job, &j.Node, &j.StartedAt, &j.FinishedAt, &j.Status, &j.Error, &j.Counts)
	return j, err
}

// ListJobs returns the most recent job runs, newest first.
func (s *Store) ListJobs(ctx context.Context, limit int) ([]JobRun, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.pool.Query(ctx, `SELECT `+jobRunColumns+` FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobRun, error) { return scanJobRun(r) })
}

// LastJobRuns returns the most recent run of each job, by job name.
func (s *Store) LastJobRuns(ctx context.Context) ([]JobRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (job) `+jobRunColumns+` FROM job_runs ORDER BY job, started_at DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobRun, error) { return scanJobRun(r) })
}

// GetJob returns one job run.
func (s *Store) GetJob(ctx context.Context, id int64) (JobRun, error) {
	return scanJobRun(s.pool.QueryRow(ctx, `SELECT `+jobRunColumns+` FROM job_runs WHERE id = $1`, id))
}

// PruneJobs deletes finished job runs that started before cutoff.
func (s *Store) PruneJobs(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM job_runs WHERE started_at < $1 AND status <> 'running'`, cutoff)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// JobFunc is the body of a job run: it returns counts to record (tenants migrated,
// rows copied, violations…) and its error.
type JobFunc func(ctx context.Context) (map[string]int64, error)

// RunJob records a job run around fn: started, then finished with fn's status, error
// and counts. The end is recorded even when ctx was cancelled (status cancelled).
func (s *Store) RunJob(ctx context.Context, job, node string, fn JobFunc) (map[string]int64, error) {
	return s.RunJobProgress(ctx, job, node, func(ctx context.Context, _ JobProgress) (map[string]int64, error) { return fn(ctx) })
}

// JobProgress records a running job's counts so far: `jobs` shows how far the run got
// while it goes. A failure to record them is not the run's failure and is dropped.
type JobProgress func(counts map[string]int64)

// RunJobProgress is [Store.RunJob] for a body that reports its counts as it goes,
// through progress.
func (s *Store) RunJobProgress(ctx context.Context, job, node string, fn func(context.Context, JobProgress) (map[string]int64, error)) (map[string]int64, error) {
	id, finish, err := s.StartJobRun(ctx, job, node)
	if err != nil {
		return nil, err
	}
	counts, runErr := fn(ctx, func(counts map[string]int64) { _ = s.UpdateJobCounts(ctx, id, counts) })
	status, errText := JobSucceeded, ""
	switch {
	case runErr != nil && ctx.Err() != nil:
		status, errText = JobCancelled, runErr.Error()
	case runErr != nil:
		status, errText = JobFailed, runErr.Error()
	}
	if err := finish(context.WithoutCancel(ctx), status, errText, counts); err != nil {
		return counts, errors.Join(runErr, err)
	}
	return counts, runErr
}

// FinishJobRun records the end of a job run started by [Store.StartJobRun] (errText is
// scrubbed of secrets first) and gives its run lock back.
type FinishJobRun func(ctx context.Context, status, errText string, counts map[string]int64) error

// StartJobRun records the start of a job run and returns its id and the function that
// records its end, which the caller must call once. Until then the run holds its run
// lock: if the process dies, the lock goes with it and [Store.CloseAbandonedJobs] can
// tell; while it lives, a sweep leaves the run alone. For a run whose whole body is one
// function, [Store.RunJob] does it all.
func (s *Store) StartJobRun(ctx context.Context, job, node string) (int64, FinishJobRun, error) {
	id, err := s.StartJob(ctx, job, node)
	if err != nil {
		return 0, nil, err
	}
	unlock, err := s.lockJobRun(ctx, id)
	if err != nil {
		_ = s.FinishJob(context.WithoutCancel(ctx), id, JobFailed, secret.Scrub(err.Error()), nil)
		return 0, nil, err
	}
	return id, func(ctx context.Context, status, errText string, counts map[string]int64) error {
		defer unlock()
		return s.FinishJob(ctx, id, status, secret.Scrub(errText), counts)
	}, nil
}

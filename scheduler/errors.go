package scheduler

import "errors"

// Causes of a job's context cancellation (context.Cause), also logged with the run.
var (
	// ErrNoLeader: this replica lost the leader lock while the job ran; the job is
	// cancelled so that two replicas never run jobs at the same time.
	ErrNoLeader = errors.New("scheduler lost its leadership")
	// ErrShutdown: the scheduler stopped and the job did not finish within
	// [Options.ShutdownTimeout].
	ErrShutdown = errors.New("scheduler shut down before the job finished")
	// ErrJobTimeout: the job ran longer than [Options.JobTimeout].
	ErrJobTimeout = errors.New("job ran longer than its timeout")
)

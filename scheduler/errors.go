package scheduler

import "errors"

// ErrNoLeader is returned by jobs' contexts' causes when this replica lost its
// leadership while the job ran: the job was cancelled so that two replicas never run
// jobs at the same time.
var ErrNoLeader = errors.New("scheduler lost its leadership")

// ErrShutdown is the cause of a job's cancellation when the scheduler stopped and the
// job did not finish within [Options.ShutdownTimeout].
var ErrShutdown = errors.New("scheduler shut down before the job finished")

// ErrJobTimeout is the cause of a job's cancellation when it ran longer than
// [Options.JobTimeout].
var ErrJobTimeout = errors.New("job ran longer than its timeout")

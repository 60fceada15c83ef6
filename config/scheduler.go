package config

import "time"

// Scheduler is what `tenantctl scheduler` runs with, once every setting was resolved
// (flag, environment, the config file's `scheduler:` map, default) and checked.
type Scheduler struct {
	// Listen is the address of /healthz, /readyz and /metrics ("-": none).
	Listen string
	// Node names this replica in job history.
	Node string
	// Schedules are the jobs' schedules by job name ("off" disables a job).
	Schedules map[string]string
	// PurgeRetention is how long deleted tenants are kept before the purge job.
	PurgeRetention time.Duration
	// JobRetention is how long job history is kept (0: forever).
	JobRetention time.Duration
	// JobTimeout bounds one job run (0: no limit).
	JobTimeout time.Duration
	// ShutdownTimeout is how long SIGTERM lets running jobs finish.
	ShutdownTimeout time.Duration
	// BackupMaxAge is the age past which a server's newest backup is too old (0: derived
	// from the backup job's schedule).
	BackupMaxAge time.Duration
	// ReportDir is where the report job writes one file per customer, in ReportFormat.
	ReportDir, ReportFormat string
	// LogicalBackupDir is where the logical backup job exports every active tenant;
	// LogicalBackupKeep how long it keeps each archive.
	LogicalBackupDir  string
	LogicalBackupKeep time.Duration
}

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/robfig/cron/v3"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// Defaults for zero [Options] fields.
const (
	// DefaultListen keeps the endpoints on loopback: metrics reveal fleet sizes, and
	// exposing them is a decision the operator makes explicitly. Port 9477, not 9187:
	// that one is postgres_exporter's, often running on the same hosts.
	DefaultListen          = "127.0.0.1:9477"
	DefaultRetryInterval   = time.Second
	DefaultPingInterval    = time.Second
	DefaultPingTimeout     = 3 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// DefaultLockKey is the advisory lock key the replicas of one catalog contend for:
// a stable hash of "tenantctl scheduler", so it cannot collide with the per-tenant locks
// the provisioner takes by accident of numbering.
var DefaultLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("tenantctl scheduler leader"))
	return int64(h.Sum64())
}()

// Off is the schedule value that disables a job. "none", "disabled" and "never" are
// accepted too.
const Off = "off"

// Job is a named job on a cron schedule.
type Job struct {
	// Name is what the job runs are recorded as (migrate, rollup, audit, reconcile, purge).
	Name string
	// Schedule is a standard 5-field cron expression, a descriptor such as @hourly, an
	// "@every DURATION", optionally prefixed with CRON_TZ=Zone; or [Off].
	Schedule string
	// Run is the job's body; its counts are recorded with the run.
	Run catalog.JobFunc
}

// Options configure a [Scheduler].
type Options struct {
	// CatalogDSN is where the dedicated leader-lock connection goes. It must reach
	// PostgreSQL directly (not through a transaction-pooling proxy): a session advisory
	// lock lives exactly as long as its session.
	CatalogDSN string
	// Store records job runs and answers readiness and fleet metrics.
	Store *catalog.Store
	// Node names this replica in job history and logs; replicas need distinct names.
	Node string
	// Jobs to schedule. Jobs whose schedule is [Off] are not scheduled.
	Jobs []Job
	// Listen is the address of the HTTP endpoints; "" uses [DefaultListen], "-" serves
	// no HTTP at all.
	Listen string
	// LockKey is the advisory lock key; 0 uses [DefaultLockKey]. Schedulers of distinct
	// fleets sharing one catalog database would need distinct keys.
	LockKey int64
	// Log receives the scheduler's logs; nil discards them.
	Log hclog.Logger
	// JobTimeout bounds every run; 0 means no bound.
	JobTimeout time.Duration
	// ShutdownTimeout is how long Stop lets running jobs finish before cancelling them.
	// 0 uses [DefaultShutdownTimeout].
	ShutdownTimeout time.Duration
	// JobRetention is how long job history is kept: the leader prunes older finished
	// runs when it takes over and hourly after that. 0 keeps history forever.
	JobRetention time.Duration
	// LatestTenantVersion is the latest version of the configured tenant migrations;
	// tenants below it are reported as behind in the metrics.
	LatestTenantVersion int64
	// Servers reaches a registered server as its admin role, for the WAL archiving
	// metrics (pg_stat_archiver, read from every server at scrape time); nil exports none.
	Servers func(ctx context.Context, name string) (*tenantdb.Server, error)
	// BackupMaxAge is the age past which a server's newest backup is too old, exported
	// as tenantctl_backup_max_age_seconds for the alert; 0 exports no threshold
	// ([BackupMaxAge] derives one from the backup job's schedule).
	BackupMaxAge time.Duration
	// RetryInterval is how often a standby tries to take the lock (and a replica that
	// lost the catalog tries to reconnect). 0 uses [DefaultRetryInterval].
	RetryInterval time.Duration
	// PingInterval is how often the leader checks that its lock connection still holds
	// the lock; PingTimeout bounds each check. A leader that fails a check stops at once.
	PingInterval, PingTimeout time.Duration
}

var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,62}$`)

// Validate checks the options and fills in defaults. Every error it returns is invalid
// input (exit status 2 from the CLI).
func (o *Options) Validate() error {
	var errs []error
	if o.CatalogDSN == "" {
		errs = append(errs, validate.Errorf("scheduler: no catalog DSN"))
	}
	if o.Store == nil {
		errs = append(errs, validate.Errorf("scheduler: no catalog store"))
	}
	if !nodeRE.MatchString(o.Node) {
		errs = append(errs, validate.Errorf("invalid scheduler node name %q: use 1-63 letters, digits and . _ : @ / -", o.Node))
	}
	seen := map[string]bool{}
	for _, j := range o.Jobs {
		switch {
		case j.Name == "":
			errs = append(errs, validate.Errorf("scheduler: a job has no name"))
		case seen[j.Name]:
			errs = append(errs, validate.Errorf("scheduler: job %q given twice", j.Name))
		}
		seen[j.Name] = true
		if _, err := ParseSchedule(j.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("%s schedule: %w", j.Name, err))
		} else if j.Run == nil && !Disabled(j.Schedule) {
			errs = append(errs, validate.Errorf("scheduler: job %q has no function", j.Name))
		}
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Listen != "-" {
		if _, _, err := net.SplitHostPort(o.Listen); err != nil {
			errs = append(errs, validate.Errorf("invalid listen address %q: use HOST:PORT, e.g. %s", o.Listen, DefaultListen))
		}
	}
	for name, d := range map[string]time.Duration{
		"job timeout": o.JobTimeout, "shutdown timeout": o.ShutdownTimeout, "job retention": o.JobRetention,
		"retry interval": o.RetryInterval, "backup max age": o.BackupMaxAge, "ping interval": o.PingInterval, "ping timeout": o.PingTimeout,
	} {
		if d < 0 {
			errs = append(errs, validate.Errorf("invalid %s %s: it must not be negative", name, d))
		}
	}
	if o.LockKey == 0 {
		o.LockKey = DefaultLockKey
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.RetryInterval == 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout == 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	return errors.Join(errs...)
}

// Disabled reports whether a schedule value turns its job off.
func Disabled(spec string) bool {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case Off, "none", "disabled", "never":
		return true
	}
	return false
}

// ParseSchedule parses a job schedule: a standard 5-field cron expression (minute hour
// day-of-month month day-of-week), a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly), "@every DURATION" (at least 1s), any of them optionally prefixed with
// CRON_TZ=Zone. A disabled schedule ([Off]) yields nil and no error. Errors are invalid
// input.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if Disabled(spec) {
		return nil, nil
	}
	if spec == "" {
		return nil, validate.Errorf("empty schedule: give a cron expression such as \"0 * * * *\", \"@hourly\" or \"@every 5m\", or %q to disable the job", Off)
	}
	// robfig/cron v3.0.1 panics on some malformed time zone prefixes ("TZ=", "CRON_TZ=UTC").
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, invalidSchedule(spec, fmt.Errorf("%v", r))
		}
	}()
	if every, ok := strings.CutPrefix(spec, "@every "); ok {
		d, perr := time.ParseDuration(strings.TrimSpace(every))
		if perr != nil || d < time.Second {
			return nil, validate.Errorf("invalid schedule %q: @every needs a duration of at least 1s, like \"@every 5m\"", spec)
		}
	}
	s, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, invalidSchedule(spec, err)
	}
	// A well-formed expression can still never fire (February 30th); cron would then
	// silently never run the job.
	if s.Next(time.Now()).IsZero() {
		return nil, validate.Errorf("invalid schedule %q: it never fires", spec)
	}
	return s, nil
}

func invalidSchedule(spec string, err error) error {
	return validate.Errorf("invalid schedule %q: %v (use a 5-field cron expression such as \"*/15 * * * *\", a descriptor such as @hourly, \"@every 5m\", or %q)", spec, err, Off)
}

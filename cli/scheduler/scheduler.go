// Package scheduler is `tenantctl scheduler`: the fleet jobs on cron schedules, as a
// long-running service, and the probe of a running one.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
	schedulerlib "github.com/tenantctl/tenantctl/scheduler"
	"github.com/tenantctl/tenantctl/secret"
)

// Setting is one scheduler setting: its flag, environment variable, key in the config
// file's `scheduler:` map, default, and where its checked value goes in
// config.Scheduler.
type Setting struct {
	Flag, Env, Key, Def, Help string
	apply                     func(cfg *config.Scheduler, v string) error
}

// scheduleSetting is the setting of job's schedule.
func scheduleSetting(job, def, help string) Setting {
	key := strings.ReplaceAll(job, "-", "_")
	return Setting{job + "-schedule", "TENANTCTL_" + strings.ToUpper(key) + "_SCHEDULE", key + "_schedule", def, help,
		func(cfg *config.Scheduler, v string) error {
			if _, err := schedulerlib.ParseSchedule(v); err != nil {
				return fmt.Errorf("--%s-schedule: %w", job, err)
			}
			cfg.Schedules[job] = v
			return nil
		}}
}

// durationSetting is a duration setting ("0" is allowed and means none).
func durationSetting(flag, env, def, help string, dst func(*config.Scheduler) *time.Duration) Setting {
	return Setting{flag, env, strings.ReplaceAll(flag, "-", "_"), def, help,
		func(cfg *config.Scheduler, v string) error {
			d, err := time.ParseDuration(v)
			if v == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 {
				return validate.Errorf("invalid --%s %q: use a duration such as 30s, 15m or 720h", flag, v)
			}
			*dst(cfg) = d
			return nil
		}}
}

// listenSetting is the index of --listen in Settings (`scheduler probe` reads it
// alone).
const listenSetting = 0

// Settings lists every scheduler setting. Schedules default to what an MSP
// customarily runs: warehouse refresh hourly, audit and purge daily (at different
// hours, so a purge never runs under an audit), reconcile every few minutes.
var Settings = []Setting{
	{"listen", "TENANTCTL_SCHEDULER_LISTEN", "listen", schedulerlib.DefaultListen, "address of /healthz, /readyz and /metrics (loopback by default; \"-\" for none)",
		func(cfg *config.Scheduler, v string) error { cfg.Listen = v; return nil }},
	{"node", "TENANTCTL_SCHEDULER_NODE", "node", "", "this replica's name in job history (default: the host name)",
		func(cfg *config.Scheduler, v string) error { cfg.Node = v; return nil }},
	scheduleSetting(jobs.Migrate.Name, "*/15 * * * *", "when to apply pending tenant migrations to the fleet"),
	scheduleSetting(jobs.Rollup.Name, "@hourly", "when to copy tenant rows into the warehouse"),
	scheduleSetting(jobs.Audit.Name, "30 1 * * *", "when to audit isolation"),
	scheduleSetting(jobs.Reconcile.Name, "@every 5m", "when to reconcile the catalog with the servers"),
	scheduleSetting(jobs.Purge.Name, "0 3 * * *", "when to purge tenants deleted longer ago than --purge-retention"),
	scheduleSetting(jobs.Pool.Name, "@every 1m", "when to refill the servers' warm pools of spare databases"),
	scheduleSetting(jobs.Backup.Name, "0 2 * * *", "when to back up every server with backup settings through pgBackRest (incremental; see 'backup setup')"),
	scheduleSetting(jobs.LogicalBackup.Name, "off", "when to export every active customer into --backup-logical-dir, as 'backup run --logical' does (off unless set)"),
	{"backup-logical-dir", "TENANTCTL_BACKUP_LOGICAL_DIR", "backup_logical_dir", "", "directory the logical backup job exports every active customer into (one subdirectory per customer)",
		func(cfg *config.Scheduler, v string) error { cfg.LogicalBackupDir = v; return nil }},
	{"backup-logical-keep", "TENANTCTL_BACKUP_LOGICAL_KEEP", "backup_logical_keep", "14d", "how long the logical backup job keeps each archive: days (14d) or a duration (36h)",
		func(cfg *config.Scheduler, v string) error {
			d, err := mover.ParseKeep(v)
			if err != nil {
				return validate.Errorf("--backup-logical-keep: %v", err)
			}
			cfg.LogicalBackupKeep = d
			return nil
		}},
	scheduleSetting(jobs.Report.Name, "off", "when to write every customer's report into --report-dir (off unless set)"),
	{"report-dir", "TENANTCTL_REPORT_DIR", "report_dir", "", "directory (a file share) the report job writes one file per customer into",
		func(cfg *config.Scheduler, v string) error { cfg.ReportDir = v; return nil }},
	{"report-format", "TENANTCTL_REPORT_FORMAT", "report_format", "html", "format of delivered reports: md, html, csv or json",
		func(cfg *config.Scheduler, v string) error { cfg.ReportFormat = v; return report.CheckFormat(v) }},
	durationSetting("purge-retention", "TENANTCTL_PURGE_RETENTION", fmt.Sprintf("%dh", int(provisioner.DefaultRetention.Hours())),
		"how long deleted tenants are kept before the purge job destroys them", func(c *config.Scheduler) *time.Duration { return &c.PurgeRetention }),
	durationSetting("job-retention", "TENANTCTL_JOB_RETENTION", "720h",
		"how long job history is kept (0 keeps it forever)", func(c *config.Scheduler) *time.Duration { return &c.JobRetention }),
	durationSetting("job-timeout", "TENANTCTL_JOB_TIMEOUT", "6h",
		"longest a job run may take before it is cancelled (0: no limit)", func(c *config.Scheduler) *time.Duration { return &c.JobTimeout }),
	durationSetting("backup-max-age", "TENANTCTL_BACKUP_MAX_AGE", "0",
		"age past which a server's newest backup is too old (tenantctl_backup_max_age_seconds, the TenantctlBackupTooOld alert); 0 derives it from --backup-schedule: the longest gap between runs plus half of it (36h when daily)",
		func(c *config.Scheduler) *time.Duration { return &c.BackupMaxAge }),
	durationSetting("shutdown-timeout", "TENANTCTL_SCHEDULER_SHUTDOWN_TIMEOUT", schedulerlib.DefaultShutdownTimeout.String(),
		"how long SIGTERM lets running jobs finish before cancelling them", func(c *config.Scheduler) *time.Duration { return &c.ShutdownTimeout }),
}

// Options are `scheduler`'s: every setting resolved (flag, environment, config file,
// default) and checked.
type Options struct {
	Factory *cmdutil.Factory
	Config  config.Scheduler
}

// NewCmdScheduler is `scheduler`; runF, when not nil, replaces the run.
func NewCmdScheduler(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	values := make([]string, len(Settings)) // as given on the command line, by setting
	cmd := &cobra.Command{
		Use:     "scheduler [--listen ADDR] [--migrate-schedule CRON] [--rollup-schedule CRON] [--audit-schedule CRON] [--reconcile-schedule CRON] [--purge-schedule CRON]",
		Example: "  tenantctl scheduler\n  tenantctl scheduler --listen 0.0.0.0:9477 --rollup-schedule '@every 30m' --audit-schedule 'CRON_TZ=Europe/Paris 0 6 * * *'\n  tenantctl scheduler --migrate-schedule off",
		Short:   "Run migrate, rollup, audit, reconcile and purge on cron schedules (a long-running service)",
		Long: `Run the fleet jobs on cron schedules until SIGTERM or SIGINT.

Run two or more replicas against one catalog: they elect one leader through a
PostgreSQL advisory lock, only the leader runs jobs, and a standby takes over within
seconds when the leader dies or loses the catalog. A job still running at its next
tick is not started twice. Every run is recorded in the catalog ('tenantctl jobs').

Schedules are 5-field cron expressions ("*/15 * * * *"), descriptors (@hourly, @daily),
"@every DURATION" (at least 1s), optionally prefixed with CRON_TZ=Zone; "off" disables
a job. Each setting is read from its flag, then its environment variable, then the
config file's "scheduler:" map:

` + schedulerSettingsHelp() + `
On SIGTERM the scheduler stops starting jobs, lets running ones finish for up to
--shutdown-timeout, cancels them after that, releases the leader lock and exits 0.

Endpoints: GET /healthz (200 while running), GET /readyz (200 while the catalog
answers), GET /metrics (Prometheus; tenantctl_scheduler_leader is 1 on the leader).`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(cmd *cobra.Command, _ []string) error {
			cfg, err := schedulerConfig(f, cmd, values)
			if err != nil {
				return err
			}
			opts.Config = cfg
			return nil
		}),
	}
	for i, s := range Settings {
		fs := cmd.Flags()
		if s.Flag == "listen" {
			fs = cmd.PersistentFlags() // `scheduler probe` checks the same address
		}
		fs.StringVar(&values[i], s.Flag, s.Def, s.Help+" (env "+s.Env+")")
	}
	cmd.AddCommand(NewCmdProbe(f, values, nil))
	return cmd
}

func schedulerSettingsHelp() string {
	var b strings.Builder
	for _, s := range Settings {
		fmt.Fprintf(&b, "  --%-20s %-38s scheduler.%s\n", s.Flag, s.Env, s.Key)
	}
	return b.String()
}

// schedulerValue resolves setting i: flag, environment, config file, default.
func schedulerValue(f *cmdutil.Factory, cmd *cobra.Command, values []string, i int) string {
	s := Settings[i]
	return strings.TrimSpace(f.Setting(cmd, s.Flag, values[i], s.Env, f.File.Scheduler[s.Key], s.Def))
}

// schedulerConfig resolves and checks every setting; any error is invalid input (exit 2)
// and is reported before the catalog is contacted.
func schedulerConfig(f *cmdutil.Factory, cmd *cobra.Command, values []string) (config.Scheduler, error) {
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Key] = true
	}
	var unknown []string
	for k := range f.File.Scheduler {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		keys := make([]string, 0, len(Settings))
		for _, s := range Settings {
			keys = append(keys, s.Key)
		}
		return config.Scheduler{}, validate.Errorf("config file %s: unknown scheduler setting(s) %s (known: %s)",
			f.Flags.Config, strings.Join(unknown, ", "), strings.Join(keys, ", "))
	}

	cfg := config.Scheduler{Schedules: map[string]string{}}
	var errs []error
	for i, set := range Settings {
		if err := set.apply(&cfg, schedulerValue(f, cmd, values, i)); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Node == "" {
		cfg.Node = fleetenv.Hostname()
	}
	if !schedulerlib.Disabled(cfg.Schedules[jobs.Report.Name]) && cfg.ReportDir == "" {
		errs = append(errs, validate.Errorf("--report-schedule needs --report-dir: the directory the reports are delivered to"))
	}
	if !schedulerlib.Disabled(cfg.Schedules[jobs.LogicalBackup.Name]) {
		if cfg.LogicalBackupDir == "" {
			errs = append(errs, validate.Errorf("--backup-logical-schedule needs --backup-logical-dir: the directory every customer is exported into"))
		} else if !filepath.IsAbs(cfg.LogicalBackupDir) {
			errs = append(errs, validate.Errorf("--backup-logical-dir %q must be an absolute path", cfg.LogicalBackupDir))
		}
	}
	return cfg, errors.Join(errs...)
}

// run waits for the catalog, builds the jobs and runs the scheduler until ctx
// is cancelled (SIGTERM/SIGINT), then exits 0.
func run(ctx context.Context, opts *Options) error {
	f, cfg := opts.Factory, opts.Config
	eo, err := f.EnvOptions()
	if err != nil {
		return err
	}
	eo.Node = cfg.Node
	latest, err := migrations.Latest(eo.TenantMigrations)
	if err != nil {
		return validate.Invalid(fmt.Errorf("tenant migrations: %w", err))
	}
	env := fleetenv.New(eo)
	if started, err := waitForCatalog(ctx, f, env); err != nil || !started {
		return err // not started and no error: stopped while waiting
	}
	defer env.Stop()

	bodies := jobs.Bodies(env, jobs.Settings{PurgeRetention: cfg.PurgeRetention,
		ReportDir: cfg.ReportDir, ReportFormat: cfg.ReportFormat,
		LogicalBackupDir: cfg.LogicalBackupDir, LogicalBackupKeep: cfg.LogicalBackupKeep})
	var scheduled []schedulerlib.Job
	for _, name := range jobs.Names {
		scheduled = append(scheduled, schedulerlib.Job{Name: name, Schedule: cfg.Schedules[name], Run: bodies[name]})
	}
	maxAge := cfg.BackupMaxAge
	if maxAge == 0 {
		maxAge = schedulerlib.BackupMaxAge(cfg.Schedules[jobs.Backup.Name])
	}
	s, err := schedulerlib.New(schedulerlib.Options{
		Servers:             env.Servers.Get,
		BackupMaxAge:        maxAge,
		CatalogDSN:          f.CatalogDSN(),
		Store:               env.Store,
		Node:                cfg.Node,
		Jobs:                scheduled,
		Listen:              cfg.Listen,
		Log:                 f.Log.Named("scheduler"),
		JobTimeout:          cfg.JobTimeout,
		ShutdownTimeout:     cfg.ShutdownTimeout,
		JobRetention:        cfg.JobRetention,
		LatestTenantVersion: latest,
	})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// catalogRetryEvery is how often the scheduler retries an unreachable catalog at start.
const catalogRetryEvery = 2 * time.Second

// waitForCatalog starts env, waiting while the catalog is unreachable: a service
// started before its database (boot order, a catalog failover) should wait, not
// crash-loop. Configuration errors (no DSN, a bad DSN or key, an uninitialised catalog)
// fail at once. It reports false and no error when ctx ends first.
func waitForCatalog(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env) (bool, error) {
	var lastWarn time.Time
	for {
		err := env.Start(ctx)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, validate.ErrInvalid) || errors.Is(err, secret.ErrNoKey) || errors.Is(err, secret.ErrWrongKey) {
			return false, err
		}
		if ctx.Err() != nil {
			return false, nil
		}
		if time.Since(lastWarn) > 30*time.Second {
			f.Log.Warn("cannot reach the catalog; retrying", "error", secret.Scrub(err.Error()), "every", catalogRetryEvery)
			lastWarn = time.Now()
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(catalogRetryEvery):
		}
	}
}

// ProbeOptions are `scheduler probe`'s.
type ProbeOptions struct {
	Factory *cmdutil.Factory
	// Listen is the scheduler's address, resolved like the scheduler's own --listen.
	Listen string
	Ready  bool
}

// NewCmdProbe is `scheduler probe`, which checks a running scheduler's endpoint: a
// health check for containers whose image has no curl. values are the scheduler's
// settings as given on its command line (--listen is a persistent flag of both).
// runF, when not nil, replaces the run.
func NewCmdProbe(f *cmdutil.Factory, values []string, runF func(context.Context, *ProbeOptions) error) *cobra.Command {
	opts := &ProbeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "probe [--ready] [--listen ADDR]",
		Example: "  tenantctl scheduler probe\n  tenantctl scheduler probe --ready --listen 127.0.0.1:9477",
		Short:   "Check a running scheduler's /healthz (or /readyz): exit 0 when it answers 200",
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runProbe, func(cmd *cobra.Command, _ []string) error {
			opts.Listen = schedulerValue(f, cmd, values, listenSetting)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&opts.Ready, "ready", false, "check /readyz (the catalog is reachable) instead of /healthz")
	return cmd
}

func runProbe(ctx context.Context, opts *ProbeOptions) error {
	f := opts.Factory
	addr := opts.Listen
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return validate.Errorf("invalid --listen %q: use HOST:PORT", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // a wildcard listener answers on loopback
	}
	path := "/healthz"
	if opts.Ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe scheduler: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe scheduler: %s answered %s", path, resp.Status)
	}
	fmt.Fprintf(f.IO.Out, "%s: %s\n", path, resp.Status)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/scheduler"
	"github.com/tenantctl/tenantctl/secret"
)

// schedulerSetting is one scheduler setting: its flag, environment variable, key in the
// config file's `scheduler:` map, default, and where its checked value goes in
// config.Scheduler.
type schedulerSetting struct {
	flag, env, key, def, help string
	apply                     func(cfg *config.Scheduler, v string) error
}

// scheduleSetting is the setting of job's schedule.
func scheduleSetting(job, def, help string) schedulerSetting {
	return schedulerSetting{job + "-schedule", "TENANTCTL_" + strings.ToUpper(job) + "_SCHEDULE", job + "_schedule", def, help,
		func(cfg *config.Scheduler, v string) error {
			if _, err := scheduler.ParseSchedule(v); err != nil {
				return fmt.Errorf("--%s-schedule: %w", job, err)
			}
			cfg.Schedules[job] = v
			return nil
		}}
}

// durationSetting is a duration setting ("0" is allowed and means none).
func durationSetting(flag, env, def, help string, dst func(*config.Scheduler) *time.Duration) schedulerSetting {
	return schedulerSetting{flag, env, strings.ReplaceAll(flag, "-", "_"), def, help,
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

// listenSetting is the index of --listen in schedulerSettings (`scheduler probe` reads it
// alone).
const listenSetting = 0

// schedulerSettings lists every scheduler setting. Schedules default to what an MSP
// customarily runs: warehouse refresh hourly, audit and purge daily (at different
// hours, so a purge never runs under an audit), reconcile every few minutes.
var schedulerSettings = []schedulerSetting{
	{"listen", "TENANTCTL_SCHEDULER_LISTEN", "listen", scheduler.DefaultListen, "address of /healthz, /readyz and /metrics (loopback by default; \"-\" for none)",
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
	durationSetting("shutdown-timeout", "TENANTCTL_SCHEDULER_SHUTDOWN_TIMEOUT", scheduler.DefaultShutdownTimeout.String(),
		"how long SIGTERM lets running jobs finish before cancelling them", func(c *config.Scheduler) *time.Duration { return &c.ShutdownTimeout }),
}

func (a *app) schedulerCmd() *cobra.Command {
	values := make([]string, len(schedulerSettings)) // as given on the command line, by setting
	cmd := &cobra.Command{
		Use:   "scheduler [--listen ADDR] [--migrate-schedule CRON] [--rollup-schedule CRON] [--audit-schedule CRON] [--reconcile-schedule CRON] [--purge-schedule CRON]",
		Short: "Run migrate, rollup, audit, reconcile and purge on cron schedules (a long-running service)",
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.schedulerConfig(cmd, values)
			if err != nil {
				return err
			}
			return a.runScheduler(cmd.Context(), cfg)
		},
	}
	for i, s := range schedulerSettings {
		fs := cmd.Flags()
		if s.flag == "listen" {
			fs = cmd.PersistentFlags() // `scheduler probe` checks the same address
		}
		fs.StringVar(&values[i], s.flag, s.def, s.help+" (env "+s.env+")")
	}
	cmd.AddCommand(a.schedulerProbeCmd(values))
	return cmd
}

func schedulerSettingsHelp() string {
	var b strings.Builder
	for _, s := range schedulerSettings {
		fmt.Fprintf(&b, "  --%-20s %-38s scheduler.%s\n", s.flag, s.env, s.key)
	}
	return b.String()
}

// schedulerValue resolves setting i: flag, environment, config file, default.
func (a *app) schedulerValue(cmd *cobra.Command, values []string, i int) string {
	s := schedulerSettings[i]
	return strings.TrimSpace(a.setting(cmd, s.flag, values[i], s.env, a.file.Scheduler[s.key], s.def))
}

// schedulerConfig resolves and checks every setting; any error is invalid input (exit 2)
// and is reported before the catalog is contacted.
func (a *app) schedulerConfig(cmd *cobra.Command, values []string) (config.Scheduler, error) {
	known := map[string]bool{}
	for _, s := range schedulerSettings {
		known[s.key] = true
	}
	var unknown []string
	for k := range a.file.Scheduler {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		keys := make([]string, 0, len(schedulerSettings))
		for _, s := range schedulerSettings {
			keys = append(keys, s.key)
		}
		return config.Scheduler{}, validate.Errorf("config file %s: unknown scheduler setting(s) %s (known: %s)",
			a.flags.config, strings.Join(unknown, ", "), strings.Join(keys, ", "))
	}

	cfg := config.Scheduler{Schedules: map[string]string{}}
	var errs []error
	for i, set := range schedulerSettings {
		if err := set.apply(&cfg, a.schedulerValue(cmd, values, i)); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Node == "" {
		cfg.Node = hostname()
	}
	if !scheduler.Disabled(cfg.Schedules[jobs.Report.Name]) && cfg.ReportDir == "" {
		errs = append(errs, validate.Errorf("--report-schedule needs --report-dir: the directory the reports are delivered to"))
	}
	return cfg, errors.Join(errs...)
}

// runScheduler waits for the catalog, builds the jobs and runs the scheduler until ctx
// is cancelled (SIGTERM/SIGINT), then exits 0.
func (a *app) runScheduler(ctx context.Context, cfg config.Scheduler) error {
	fsys, err := a.tenantMigrations()
	if err != nil {
		return err
	}
	latest, err := migrations.Latest(fsys)
	if err != nil {
		return validate.Invalid(fmt.Errorf("tenant migrations: %w", err))
	}
	store, err := a.waitForCatalog(ctx)
	if err != nil || store == nil {
		return err // nil store: stopped while waiting
	}
	defer store.Close()
	p := provisioner.New(store, a.log)
	p.TenantMigrations = fsys
	defer p.Close()

	bodies := jobs.Bodies(jobs.Env{Provisioner: p, Node: cfg.Node, Log: a.log,
		RollupSpec: func() (rollup.Spec, error) { return rollup.LoadSpec(a.rollupSpecPath()) }, PurgeRetention: cfg.PurgeRetention,
		ReportSpec: func() (*report.Spec, error) { return report.LoadSpec(a.getenv("TENANTCTL_REPORT_SPEC")) },
		ReportDir:  cfg.ReportDir, ReportFormat: cfg.ReportFormat})
	var scheduled []scheduler.Job
	for _, name := range jobs.Names {
		scheduled = append(scheduled, scheduler.Job{Name: name, Schedule: cfg.Schedules[name], Run: bodies[name]})
	}
	maxAge := cfg.BackupMaxAge
	if maxAge == 0 {
		maxAge = scheduler.BackupMaxAge(cfg.Schedules[jobs.Backup.Name])
	}
	s, err := scheduler.New(scheduler.Options{
		Servers:             p.Server,
		BackupMaxAge:        maxAge,
		CatalogDSN:          a.catalogDSN(),
		Store:               store,
		Node:                cfg.Node,
		Jobs:                scheduled,
		Listen:              cfg.Listen,
		Log:                 a.log.Named("scheduler"),
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

// waitForCatalog opens the catalog, waiting while it is unreachable: a service started
// before its database (boot order, a catalog failover) should wait, not crash-loop.
// Configuration errors (no DSN, a bad DSN or key, an uninitialised catalog) fail at
// once. It returns a nil store and no error when ctx ends first.
func (a *app) waitForCatalog(ctx context.Context) (*catalog.Store, error) {
	var lastWarn time.Time
	for {
		store, err := a.store(ctx)
		if err == nil {
			return store, nil
		}
		if errors.Is(err, validate.ErrInvalid) || errors.Is(err, secret.ErrNoKey) || errors.Is(err, secret.ErrWrongKey) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if time.Since(lastWarn) > 30*time.Second {
			a.log.Warn("cannot reach the catalog; retrying", "error", secret.Scrub(err.Error()), "every", catalogRetryEvery)
			lastWarn = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(catalogRetryEvery):
		}
	}
}

// schedulerProbeCmd checks a running scheduler's endpoint: a health check for
// containers whose image has no curl.
func (a *app) schedulerProbeCmd(values []string) *cobra.Command {
	var ready bool
	cmd := &cobra.Command{
		Use:   "probe [--ready] [--listen ADDR]",
		Short: "Check a running scheduler's /healthz (or /readyz): exit 0 when it answers 200",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := a.schedulerValue(cmd, values, listenSetting)
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return validate.Errorf("invalid --listen %q: use HOST:PORT", addr)
			}
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				host = "127.0.0.1" // a wildcard listener answers on loopback
			}
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
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
			fmt.Fprintf(a.out, "%s: %s\n", path, resp.Status)
			return nil
		},
	}
	cmd.Flags().BoolVar(&ready, "ready", false, "check /readyz (the catalog is reachable) instead of /healthz")
	return cmd
}

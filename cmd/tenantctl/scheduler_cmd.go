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

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/scheduler"
	"github.com/tenantctl/tenantctl/secret"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command { return a.schedulerCmd() })
}

// schedulerJobNames are the scheduled jobs, in the order they are listed and logged.
var schedulerJobNames = []string{"migrate", "rollup", "audit", "reconcile", "purge", "pool"}

// schedulerSetting is one scheduler setting: its flag, environment variable, key in the
// config file's `scheduler:` map, and default.
type schedulerSetting struct {
	flag, env, key, def, help string
}

// schedulerSettings lists every scheduler setting. Schedules default to what an MSP
// customarily runs: warehouse refresh hourly, audit and purge daily (at different
// hours, so a purge never runs under an audit), reconcile every few minutes.
var schedulerSettings = []schedulerSetting{
	{"listen", "TENANTCTL_SCHEDULER_LISTEN", "listen", scheduler.DefaultListen, "address of /healthz, /readyz and /metrics (loopback by default; \"-\" for none)"},
	{"node", "TENANTCTL_SCHEDULER_NODE", "node", "", "this replica's name in job history (default: the host name)"},
	{"migrate-schedule", "TENANTCTL_MIGRATE_SCHEDULE", "migrate_schedule", "*/15 * * * *", "when to apply pending tenant migrations to the fleet"},
	{"rollup-schedule", "TENANTCTL_ROLLUP_SCHEDULE", "rollup_schedule", "@hourly", "when to copy tenant rows into the warehouse"},
	{"audit-schedule", "TENANTCTL_AUDIT_SCHEDULE", "audit_schedule", "30 1 * * *", "when to audit isolation"},
	{"reconcile-schedule", "TENANTCTL_RECONCILE_SCHEDULE", "reconcile_schedule", "@every 5m", "when to reconcile the catalog with the servers"},
	{"purge-schedule", "TENANTCTL_PURGE_SCHEDULE", "purge_schedule", "0 3 * * *", "when to purge tenants deleted longer ago than --purge-retention"},
	{"pool-schedule", "TENANTCTL_POOL_SCHEDULE", "pool_schedule", "@every 1m", "when to refill the servers' warm pools of spare databases"},
	{"purge-retention", "TENANTCTL_PURGE_RETENTION", "purge_retention", fmt.Sprintf("%dh", int(provisioner.DefaultRetention.Hours())), "how long deleted tenants are kept before the purge job destroys them"},
	{"job-retention", "TENANTCTL_JOB_RETENTION", "job_retention", "720h", "how long job history is kept (0 keeps it forever)"},
	{"job-timeout", "TENANTCTL_JOB_TIMEOUT", "job_timeout", "6h", "longest a job run may take before it is cancelled (0: no limit)"},
	{"shutdown-timeout", "TENANTCTL_SCHEDULER_SHUTDOWN_TIMEOUT", "shutdown_timeout", scheduler.DefaultShutdownTimeout.String(), "how long SIGTERM lets running jobs finish before cancelling them"},
}

// schedulerConfig is the scheduler's resolved settings.
type schedulerConfig struct {
	listen, node                                            string
	schedules                                               map[string]string
	purgeRetention, jobRetention, jobTimeout, shutdownAfter time.Duration
}

func (a *app) schedulerCmd() *cobra.Command {
	values := map[string]*string{}
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
	for _, s := range schedulerSettings {
		v := new(string)
		values[s.flag] = v
		fs := cmd.Flags()
		if s.flag == "listen" {
			fs = cmd.PersistentFlags() // `scheduler probe` checks the same address
		}
		fs.StringVar(v, s.flag, s.def, s.help+" (env "+s.env+")")
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

// schedulerValue resolves one setting: flag, environment, config file, default.
func (a *app) schedulerValue(cmd *cobra.Command, values map[string]*string, flag string) string {
	for _, s := range schedulerSettings {
		if s.flag == flag {
			return strings.TrimSpace(a.setting(cmd, flag, *values[flag], s.env, a.file.Scheduler[s.key], s.def))
		}
	}
	panic("unknown scheduler setting " + flag)
}

// schedulerConfig resolves and checks every setting; any error is invalid input (exit 2)
// and is reported before the catalog is contacted.
func (a *app) schedulerConfig(cmd *cobra.Command, values map[string]*string) (schedulerConfig, error) {
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
		return schedulerConfig{}, validate.Errorf("config file %s: unknown scheduler setting(s) %s (known: %s)",
			a.flags.config, strings.Join(unknown, ", "), strings.Join(keys, ", "))
	}

	cfg := schedulerConfig{
		listen:    a.schedulerValue(cmd, values, "listen"),
		node:      a.schedulerValue(cmd, values, "node"),
		schedules: map[string]string{},
	}
	if cfg.node == "" {
		cfg.node = hostname()
	}
	var errs []error
	for _, job := range schedulerJobNames {
		spec := a.schedulerValue(cmd, values, job+"-schedule")
		if _, err := scheduler.ParseSchedule(spec); err != nil {
			errs = append(errs, fmt.Errorf("--%s-schedule: %w", job, err))
		}
		cfg.schedules[job] = spec
	}
	for flag, dst := range map[string]*time.Duration{
		"purge-retention": &cfg.purgeRetention, "job-retention": &cfg.jobRetention,
		"job-timeout": &cfg.jobTimeout, "shutdown-timeout": &cfg.shutdownAfter,
	} {
		v := a.schedulerValue(cmd, values, flag)
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			errs = append(errs, validate.Errorf("invalid --%s %q: use a duration such as 30s, 15m or 720h", flag, v))
		}
		*dst = d
	}
	return cfg, errors.Join(errs...)
}

// runScheduler waits for the catalog, builds the jobs and runs the scheduler until ctx
// is cancelled (SIGTERM/SIGINT), then exits 0.
func (a *app) runScheduler(ctx context.Context, cfg schedulerConfig) error {
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

	fns := a.schedulerJobs(p, cfg)
	var jobs []scheduler.Job
	for _, name := range schedulerJobNames {
		jobs = append(jobs, scheduler.Job{Name: name, Schedule: cfg.schedules[name], Run: fns[name]})
	}
	s, err := scheduler.New(scheduler.Options{
		CatalogDSN:          a.catalogDSN(),
		Store:               store,
		Node:                cfg.node,
		Jobs:                jobs,
		Listen:              cfg.listen,
		Log:                 a.log.Named("scheduler"),
		JobTimeout:          cfg.jobTimeout,
		ShutdownTimeout:     cfg.shutdownAfter,
		JobRetention:        cfg.jobRetention,
		LatestTenantVersion: latest,
	})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// schedulerJobs builds the scheduled jobs' bodies. The scheduler records each run
// (catalog.Store.RunJob), so these bodies must not record runs themselves.
func (a *app) schedulerJobs(p *provisioner.Provisioner, cfg schedulerConfig) map[string]catalog.JobFunc {
	return map[string]catalog.JobFunc{
		"migrate": func(ctx context.Context) (map[string]int64, error) {
			res, err := rollout.Run(ctx, rollout.Options{Store: p.Store, Migrations: p.TenantFS(), Log: a.log.Named("migrate")})
			return res.Counts(), err
		},
		"rollup": func(ctx context.Context) (map[string]int64, error) {
			spec, err := rollup.LoadSpec(a.rollupSpecPath())
			if err != nil {
				return nil, err
			}
			res, err := rollup.Run(ctx, rollup.Options{Store: p.Store, Spec: spec, Log: a.log.Named("rollup")})
			return res.Counts(), err
		},
		"audit": func(ctx context.Context) (map[string]int64, error) {
			r, err := audit.Run(ctx, audit.Options{Store: p.Store, Node: cfg.node, Log: a.log.Named("audit")})
			if err != nil {
				return nil, err
			}
			return r.Counts(), r.Err()
		},
		"reconcile": func(ctx context.Context) (map[string]int64, error) {
			actions, err := p.Reconcile(ctx, provisioner.ReconcileOptions{})
			return reconcileCounts(actions), err
		},
		"pool": func(ctx context.Context) (map[string]int64, error) {
			results, err := p.RefillPool(ctx, "", false)
			counts := map[string]int64{}
			for _, r := range results {
				counts["built"] += int64(r.Built + r.Finished)
				counts["dropped"] += int64(r.Dropped)
				counts["ready"] += int64(r.Ready)
			}
			return counts, err
		},
		"purge": func(ctx context.Context) (map[string]int64, error) {
			purged, err := p.PurgeExpired(ctx, cfg.purgeRetention)
			return map[string]int64{"purged": int64(len(purged))}, err
		},
	}
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
func (a *app) schedulerProbeCmd(values map[string]*string) *cobra.Command {
	var ready bool
	cmd := &cobra.Command{
		Use:   "probe [--ready] [--listen ADDR]",
		Short: "Check a running scheduler's /healthz (or /readyz): exit 0 when it answers 200",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := a.schedulerValue(cmd, values, "listen")
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

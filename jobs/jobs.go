package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/mover"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
)

// Def is one job: its name (as recorded in the catalog's job history), how it runs once
// with options O, and the counts recorded with a run that returned R.
type Def[O, R any] struct {
	Name   string
	run    func(context.Context, O) (R, error)
	counts func(R, error) map[string]int64
}

// Run runs the job once and records the run (start, end, status, error, counts) in the
// catalog under node. The result is returned even when the run failed part-way.
func (d Def[O, R]) Run(ctx context.Context, store *catalog.Store, node string, o O) (R, error) {
	var res R
	_, err := store.RunJob(ctx, d.Name, node, func(ctx context.Context) (map[string]int64, error) {
		var err error
		res, err = d.run(ctx, o)
		return d.counts(res, err), err
	})
	return res, err
}

// Body is the job for a runner that records runs itself (the scheduler): options builds
// the options afresh at every run.
func (d Def[O, R]) Body(options func() (O, error)) catalog.JobFunc {
	return func(ctx context.Context) (map[string]int64, error) {
		o, err := options()
		if err != nil {
			return nil, err
		}
		res, err := d.run(ctx, o)
		return d.counts(res, err), err
	}
}

// Migrate applies pending tenant migrations to the fleet ([rollout.Run]).
var Migrate = Def[rollout.Options, rollout.Result]{
	Name:   "migrate",
	run:    rollout.Run,
	counts: func(r rollout.Result, _ error) map[string]int64 { return r.Totals().Map() },
}

// Rollup copies the tenants' rows into the warehouse ([rollup.Run]).
var Rollup = Def[rollup.Options, rollup.Result]{
	Name:   "rollup",
	run:    rollup.Run,
	counts: func(r rollup.Result, _ error) map[string]int64 { return r.Totals().Map() },
}

// Audit audits isolation ([audit.Run]). A run that found violations returns its report
// with an error matching [audit.ErrViolations]; any other error means the audit could
// not run (or not be recorded), and no counts are recorded.
var Audit = Def[audit.Options, audit.Report]{
	Name: "audit",
	run: func(ctx context.Context, o audit.Options) (audit.Report, error) {
		r, err := audit.Run(ctx, o)
		if err != nil {
			return r, err
		}
		return r, r.Err()
	},
	counts: func(r audit.Report, err error) map[string]int64 {
		if err != nil && !errors.Is(err, audit.ErrViolations) {
			return nil
		}
		return r.Counts()
	},
}

// ReconcileOptions are a reconcile run's: the provisioner that does it and its options.
type ReconcileOptions struct {
	Provisioner *provisioner.Provisioner
	provisioner.ReconcileOptions
}

// ReconcileTotals are a reconcile run's figures: actions found, fixed, failed, and only
// reported.
type ReconcileTotals struct {
	Actions, Fixed, Failed, Reported int64
}

// CountActions counts reconcile actions by outcome.
func CountActions(actions []provisioner.Action) ReconcileTotals {
	t := ReconcileTotals{Actions: int64(len(actions))}
	for _, a := range actions {
		switch {
		case a.Error != "":
			t.Failed++
		case a.Applied:
			t.Fixed++
		default:
			t.Reported++
		}
	}
	return t
}

// Map is the form recorded with the job run (only the outcomes that occurred).
func (t ReconcileTotals) Map() map[string]int64 {
	m := map[string]int64{"actions": t.Actions}
	for k, v := range map[string]int64{"fixed": t.Fixed, "failed": t.Failed, "reported": t.Reported} {
		if v > 0 {
			m[k] = v
		}
	}
	return m
}

// Reconcile brings the servers in line with the catalog ([provisioner.Provisioner.Reconcile]).
var Reconcile = Def[ReconcileOptions, []provisioner.Action]{
	Name: "reconcile",
	run: func(ctx context.Context, o ReconcileOptions) ([]provisioner.Action, error) {
		ro := o.ReconcileOptions
		// The mover's repairs (interrupted moves and imports) run first, so the tenants
		// they settle are checked where they end up.
		ro.Repairs = append([]provisioner.Repair{mover.New(o.Provisioner, o.Provisioner.Log).Reconcile}, ro.Repairs...)
		return o.Provisioner.Reconcile(ctx, ro)
	},
	counts: func(actions []provisioner.Action, _ error) map[string]int64 { return CountActions(actions).Map() },
}

// PurgeOptions are a purge run's: the provisioner and how long deleted tenants are kept.
type PurgeOptions struct {
	Provisioner *provisioner.Provisioner
	Retention   time.Duration
}

// Purge destroys tenants deleted longer than the retention ago; the result is the slugs
// purged ([provisioner.Provisioner.PurgeExpired]).
var Purge = Def[PurgeOptions, []string]{
	Name: "purge",
	run: func(ctx context.Context, o PurgeOptions) ([]string, error) {
		return o.Provisioner.PurgeExpired(ctx, o.Retention)
	},
	counts: func(purged []string, _ error) map[string]int64 { return map[string]int64{"purged": int64(len(purged))} },
}

// Names are the jobs in the order they are listed, scheduled and logged.
var Names = []string{Migrate.Name, Rollup.Name, Audit.Name, Reconcile.Name, Purge.Name, Report.Name, Pool.Name, Backup.Name, LogicalBackup.Name}

// Env is what the scheduled runs of the jobs share.
type Env struct {
	Provisioner *provisioner.Provisioner
	// Node names this process in job history and audit runs.
	Node string
	Log  hclog.Logger
	// RollupSpec loads the rollup spec at each run (so an edited file is picked up).
	RollupSpec func() (rollup.Spec, error)
	// PurgeRetention is how long deleted tenants are kept before the purge job.
	PurgeRetention time.Duration
	// ReportSpec loads the per-customer report spec at each run; ReportDir and
	// ReportFormat are where and how the report job writes.
	ReportSpec              func() (*report.Spec, error)
	ReportDir, ReportFormat string
	// LogicalBackupDir and LogicalBackupKeep are where the logical backup job exports
	// every active tenant and how long it keeps each archive.
	LogicalBackupDir  string
	LogicalBackupKeep time.Duration
}

// Bodies returns every job's body by name, for a runner that records the runs itself.
func Bodies(env Env) map[string]catalog.JobFunc {
	p := env.Provisioner
	log := env.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return map[string]catalog.JobFunc{
		Migrate.Name: Migrate.Body(func() (rollout.Options, error) {
			return rollout.Options{Store: p.Store, Migrations: p.TenantFS(), Options: fleet.Options{Log: log.Named(Migrate.Name)}}, nil
		}),
		Rollup.Name: Rollup.Body(func() (rollup.Options, error) {
			spec, err := env.RollupSpec()
			return rollup.Options{Store: p.Store, Spec: spec, Options: fleet.Options{Log: log.Named(Rollup.Name)}}, err
		}),
		Audit.Name: Audit.Body(func() (audit.Options, error) {
			return audit.Options{Store: p.Store, Node: env.Node, Options: fleet.Options{Log: log.Named(Audit.Name)}}, nil
		}),
		Reconcile.Name: Reconcile.Body(func() (ReconcileOptions, error) {
			return ReconcileOptions{Provisioner: p}, nil
		}),
		Purge.Name: Purge.Body(func() (PurgeOptions, error) {
			return PurgeOptions{Provisioner: p, Retention: env.PurgeRetention}, nil
		}),
		Report.Name: Report.Body(func() (ReportOptions, error) {
			o := ReportOptions{Store: p.Store, Dir: env.ReportDir, Format: env.ReportFormat}
			var err error
			if env.ReportSpec != nil {
				o.Spec, err = env.ReportSpec()
			} else {
				o.Spec = report.DefaultSpec()
			}
			return o, err
		}),
		Pool.Name: Pool.Body(func() (PoolOptions, error) {
			return PoolOptions{Provisioner: p}, nil
		}),
		Backup.Name:        Backup.Body(backupBody(Env{Provisioner: p, Log: log.Named(Backup.Name)})),
		LogicalBackup.Name: LogicalBackup.Body(logicalBackupBody(env, log.Named(LogicalBackup.Name))),
	}
}

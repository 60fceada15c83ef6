package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/provisioner"
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
// environment's catalog under its node. The result is returned even when the run failed
// part-way.
func (d Def[O, R]) Run(ctx context.Context, env *fleetenv.Env, o O) (R, error) {
	var res R
	_, err := env.Store.RunJob(ctx, d.Name, env.Node, func(ctx context.Context) (map[string]int64, error) {
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

// ReconcileOptions are a reconcile run's: the environment whose provisioner and mover
// repair, and the provisioner's options.
type ReconcileOptions struct {
	Env *fleetenv.Env
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
		// they settle are checked where they end up; the provisioner's own follow.
		ro.Repairs = append([]provisioner.Repair{o.Env.Mover().Reconcile}, ro.Repairs...)
		return o.Env.Provisioner.Reconcile(ctx, ro)
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

// Settings are what the scheduled runs take beyond the environment: the scheduler's
// own settings.
type Settings struct {
	// PurgeRetention is how long deleted tenants are kept before the purge job.
	PurgeRetention time.Duration
	// ReportDir and ReportFormat are where and how the report job writes.
	ReportDir, ReportFormat string
	// LogicalBackupDir and LogicalBackupKeep are where the logical backup job exports
	// every active tenant and how long it keeps each archive.
	LogicalBackupDir  string
	LogicalBackupKeep time.Duration
}

// MigrateOptions are a migrate run's over the environment: its store and tenant
// migrations, with fo's tenant filter, limits, progress and log.
func MigrateOptions(env *fleetenv.Env, fo fleet.Options) rollout.Options {
	return rollout.Options{Store: env.Store, Servers: env.Servers, Migrations: env.Migrations(), Options: fo}
}

// RollupOptions are a rollup run's over the environment: its store, server handles
// and warehouse pool, and the rollup spec, read now (so an edited file is picked up),
// with fo.
func RollupOptions(env *fleetenv.Env, fo fleet.Options) (rollup.Options, error) {
	spec, err := env.RollupSpec()
	return RollupOptionsFor(env, spec, fo), err
}

// RollupOptionsFor are [RollupOptions] with a spec the caller already read.
func RollupOptionsFor(env *fleetenv.Env, spec rollup.Spec, fo fleet.Options) rollup.Options {
	return rollup.Options{Store: env.Store, Servers: env.Servers, Warehouse: env.Warehouse, Spec: spec, Options: fo}
}

// AuditOptions are an audit run's over the environment: its store and node, with fo.
func AuditOptions(env *fleetenv.Env, fo fleet.Options) audit.Options {
	return audit.Options{Store: env.Store, Servers: env.Servers, Node: env.Node, Options: fo}
}

// ReportOptionsFor are a report delivery's options over the environment: its store, warehouse
// pool and report spec (read now), into dir in format.
func ReportOptionsFor(env *fleetenv.Env, dir, format string) (ReportOptions, error) {
	spec, err := env.ReportSpec()
	return ReportOptions{Store: env.Store, Warehouse: env.Warehouse, Spec: spec, Dir: dir, Format: format}, err
}

// Bodies returns every job's body by name over the environment, for a runner that
// records the runs itself: each body builds its options afresh at every run.
func Bodies(env *fleetenv.Env, s Settings) map[string]catalog.JobFunc {
	log := env.Log
	named := func(job string) fleet.Options { return fleet.Options{Log: log.Named(job)} }
	return map[string]catalog.JobFunc{
		Migrate.Name: Migrate.Body(func() (rollout.Options, error) {
			return MigrateOptions(env, named(Migrate.Name)), nil
		}),
		Rollup.Name: Rollup.Body(func() (rollup.Options, error) { return RollupOptions(env, named(Rollup.Name)) }),
		Audit.Name: Audit.Body(func() (audit.Options, error) {
			return AuditOptions(env, named(Audit.Name)), nil
		}),
		Reconcile.Name: Reconcile.Body(func() (ReconcileOptions, error) {
			return ReconcileOptions{Env: env}, nil
		}),
		Purge.Name: Purge.Body(func() (PurgeOptions, error) {
			return PurgeOptions{Provisioner: env.Provisioner, Retention: s.PurgeRetention}, nil
		}),
		Report.Name: Report.Body(func() (ReportOptions, error) {
			return ReportOptionsFor(env, s.ReportDir, s.ReportFormat)
		}),
		Pool.Name: Pool.Body(func() (PoolOptions, error) {
			return PoolOptions{Provisioner: env.Provisioner}, nil
		}),
		Backup.Name:        Backup.Body(backupBody(env, log.Named(Backup.Name))),
		LogicalBackup.Name: LogicalBackup.Body(logicalBackupBody(env, s, log.Named(LogicalBackup.Name))),
	}
}

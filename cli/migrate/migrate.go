// Package migrate is `tenantctl migrate`: the tenant schema's status, and migrations up,
// down and baseline.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/rollout"
)

// oneLine keeps a table cell on one line.
var oneLine = cmdutil.OneLine

// NewCmdMigrate is `tenantctl migrate`.
func NewCmdMigrate(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Keep every tenant database at the latest schema version, in safe waves",
		Long: `Tenant migrations are goose SQL files: the embedded default schema, or the directory
given with --tenant-migrations (TENANTCTL_TENANT_MIGRATIONS). 'migrate up' applies what
is pending to every active and suspended tenant — a canary wave first, then the rest —
with concurrency bounded overall and per server; one tenant's failure never blocks
another, every outcome is recorded in the catalog, and a rerun picks up what is left.`,
	}
	cmd.AddCommand(NewCmdStatus(f, nil), NewCmdUp(f, nil), NewCmdDown(f, nil), NewCmdBaseline(f, nil))
	return cmd
}

// StatusOptions are `migrate status`'s.
type StatusOptions struct {
	Factory *cmdutil.Factory
	Status  rollout.StatusOptions
}

// NewCmdStatus is `migrate status`; runF, when not nil, replaces the run.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Factory: f}
	o := &opts.Status
	cmd := &cobra.Command{
		Use:   "status [--tenant SLUG] [--verify]",
		Short: "Show every tenant's schema version, what is pending and its last migration error",
		Long: `Show every active and suspended tenant's schema version, what is pending and the last
migration error, from the catalog (which every migration run keeps current): one
query, fast at 10,000 tenants. --verify reads each version from the tenant's own
database (goose's table) instead and corrects the catalog's record where it differs.
A failed tenant stays listed as failed until a migration succeeds.`,
		Example: `  tenantctl migrate status
  tenantctl migrate status --verify --concurrency 8 -o json`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runStatus, nil),
	}
	cmdutil.FleetFlags(cmd.Flags(), &o.Options, limits, "only this tenant",
		"databases read at once across the fleet (--verify)", "databases read at once on one server")
	cmd.Flags().BoolVar(&o.Verify, "verify", false, "read every tenant database's own version (and correct the catalog) instead of trusting the catalog")
	return cmd
}

// limits are the fleet defaults of status and up.
var limits = fleet.Limits{Total: rollout.DefaultConcurrency, PerServer: rollout.DefaultPerServer}

// withMigrations runs fn with the catalog store, the environment's server handles and
// the tenant migrations: what every migrate command hands the library.
func withMigrations(ctx context.Context, f *cmdutil.Factory, fn func(store *catalog.Store, srvs *fleet.Servers, fsys fs.FS) error) error {
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	return fn(env.Store, env.Servers, env.Migrations())
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f, o := opts.Factory, opts.Status
	return withMigrations(ctx, f, func(store *catalog.Store, srvs *fleet.Servers, fsys fs.FS) error {
		o.Store, o.Servers, o.Migrations, o.Log = store, srvs, fsys, f.Log
		return printStatus(ctx, f, o)
	})
}

func printStatus(ctx context.Context, f *cmdutil.Factory, o rollout.StatusOptions) error {
	rep, err := rollout.Status(ctx, o)
	if err != nil {
		return err
	}
	warnChanged(f, rep.Changed)
	if f.Flags.Output == cmdutil.OutputJSON {
		return f.PrintJSONRows(len(rep.Tenants), func(b []byte, i int) []byte { return rep.Tenants[i].AppendJSON(b) })
	}
	if f.Structured() {
		return f.PrintStructured(rep.Tenants)
	}
	tw := f.AlignedTable("SLUG", "SERVER", "STATE", "VERSION", "LATEST", "PENDING", "LAST ERROR")
	for _, t := range rep.Tenants {
		msg := t.LastError
		if t.ReadError != "" {
			msg = "cannot read the database's version: " + t.ReadError
		}
		tw.Row(t.Slug, t.Server, t.State, strconv.FormatInt(t.Version, 10), strconv.FormatInt(t.Latest, 10),
			strconv.Itoa(t.Pending), cmdutil.Dash(oneLine(msg)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "%d tenants at latest version %d: %d current, %d behind, %d failed", len(rep.Tenants), rep.Latest,
		rep.Current, rep.Behind, rep.Failed)
	if rep.Ahead > 0 {
		fmt.Fprintf(f.IO.Out, ", %d ahead of the migration set", rep.Ahead)
	}
	if rep.Unreadable > 0 {
		fmt.Fprintf(f.IO.Out, " (%d could not be read)", rep.Unreadable)
	}
	fmt.Fprintln(f.IO.Out)
	return nil
}

// registerShared declares the flags up and down share, onto the library's options.
func registerShared(fl *pflag.FlagSet, lockTimeout, statementTimeout, lockWait *time.Duration, allowChanged *bool) {
	fl.DurationVar(lockTimeout, "lock-timeout", rollout.DefaultLockTimeout, "longest wait for a table lock in a tenant database before that tenant fails (lock_timeout)")
	fl.DurationVar(statementTimeout, "statement-timeout", rollout.DefaultStatementTimeout, "longest a migration statement may run (statement_timeout)")
	fl.DurationVar(lockWait, "lock-wait", rollout.DefaultLockWait, "longest wait for goose's lock on a tenant database held by another migration")
	fl.BoolVar(allowChanged, "allow-changed", false, "accept migration files changed or removed after they were applied, as they are now")
}

// UpOptions are `migrate up`'s: the library's options as the flags give them.
type UpOptions struct {
	Factory *cmdutil.Factory
	Rollout rollout.Options
}

// NewCmdUp is `migrate up`; runF, when not nil, replaces the run (tests check the flags →
// options layer with it, without a catalog).
func NewCmdUp(f *cmdutil.Factory, runF func(context.Context, *UpOptions) error) *cobra.Command {
	// --canary 0 and --max-failures 0 say none, as the library reads them with ZeroIsNone.
	opts := &UpOptions{Factory: f, Rollout: rollout.Options{ZeroIsNone: true}}
	o := &opts.Rollout
	cmd := &cobra.Command{
		Use:   "up [--tenant SLUG] [--concurrency N] [--canary N] [--max-failures N] [--dry-run]",
		Short: "Apply pending tenant migrations to one tenant or to the whole fleet, in waves",
		Long: `Apply pending tenant migrations to the tenant named with --tenant, or to every active
and suspended tenant (deleting and purged ones are skipped):

  1. the canary wave: --canary tenants, spread over the servers; any failure there
     stops the run before the rest starts;
  2. the rest, stopping new work after --max-failures failures (0: never stop).

At most --concurrency tenants migrate at once, and at most --per-server on one server;
each on its own connection, as the tenant's owner role, under goose's advisory lock,
with lock_timeout and statement_timeout set, so a customer's long transaction fails
that tenant cleanly instead of stalling the fleet. Every tenant's outcome is recorded
in the catalog; rerun to pick up what is left. Tenants the catalog records as current
are not visited (--verify visits them all). Once the canary wave passed, every
server's template database is rebuilt for the new set (and superseded ones dropped) in
the background while the rest of the fleet migrates, so new tenants start current; the
catalog records the new template when the whole fleet is current.

A migration file changed after it was applied is refused (exit 2) unless
--allow-changed. Exit status 1 when any tenant failed or was not started.`,
		Example: `  tenantctl --tenant-migrations ./migrations migrate up --dry-run
  tenantctl --tenant-migrations ./migrations migrate up --canary 5 --max-failures 10`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runUp, func(cmd *cobra.Command, _ []string) error {
			if o.Canary < 0 || o.MaxFailures < 0 {
				return validate.Errorf("--canary and --max-failures must be 0 or more")
			}
			return o.Options.Validate()
		}),
	}
	fl := cmd.Flags()
	cmdutil.FleetFlags(fl, &o.Options, limits, "migrate only this tenant (no waves)",
		"tenants migrated at once across the fleet", "tenants migrated at once on one server")
	fl.IntVar(&o.Canary, "canary", rollout.DefaultCanary, "tenants in the first wave, whose failure stops the run (0: no canary wave)")
	fl.IntVar(&o.MaxFailures, "max-failures", rollout.DefaultMaxFailures, "stop starting tenants after this many failures (0: never stop)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan (tenants, versions, waves) and change nothing")
	fl.BoolVar(&o.Verify, "verify", false, "visit every tenant database, even those the catalog records as current")
	registerShared(fl, &o.LockTimeout, &o.StatementTimeout, &o.LockWait, &o.AllowChanged)
	return cmd
}

func runUp(ctx context.Context, opts *UpOptions) error {
	f, o := opts.Factory, opts.Rollout
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	o.Store, o.Servers, o.Migrations, o.Log = env.Store, env.Servers, env.Migrations(), f.Log
	return up(ctx, f, env, o)
}

func up(ctx context.Context, f *cmdutil.Factory, env *fleetenv.Env, o rollout.Options) error {
	// Bad input is refused before a job run is recorded: it changes nothing.
	if err := o.Validate(); err != nil {
		return err
	}
	if o.DryRun {
		res, err := rollout.Run(ctx, o)
		if err != nil {
			return err
		}
		return printPlan(f, res.Plan)
	}
	o.Progress = func(total int) progress.Reporter { return f.Progress(total, "migrate") }
	res, err := jobs.Migrate.Run(ctx, env, o)
	if err != nil && len(res.Migrated)+len(res.Failed)+len(res.Skipped) == 0 {
		return err // refused (changed files, another run, bad input): no tenant was touched
	}
	if f.Structured() {
		if perr := f.PrintStructured(res); perr != nil {
			return perr
		}
	} else {
		printRun(f, res)
	}
	if err != nil {
		printFailures(f, res, err)
		return cmdutil.ErrSilent
	}
	return nil
}

func printPlan(f *cmdutil.Factory, p rollout.Plan) error {
	if f.Structured() {
		return f.PrintStructured(p)
	}
	steps := p.Steps()
	fmt.Fprintf(f.IO.Out, "plan: %d tenant(s) to bring to version %d (%d canary, %d in the rest); %d already current\n",
		len(steps), p.Latest, len(p.Canary), len(p.Rest), p.Current)
	for _, c := range p.Changed {
		fmt.Fprintf(f.IO.Out, "accepting changed migration: %s\n", c)
	}
	if len(steps) == 0 {
		return nil
	}
	tw := f.Table("WAVE", "SLUG", "SERVER", "STATE", "FROM", "PENDING VERSIONS", "PREVIOUS ERROR")
	for _, s := range steps {
		cmdutil.Row(tw, s.Wave, s.Slug, s.Server, s.State, s.From, versions(s.Pending), cmdutil.Dash(oneLine(s.LastError)))
	}
	_ = tw.Flush()
	return nil
}

func printRun(f *cmdutil.Factory, res rollout.Result) {
	c := res.Counts()
	fmt.Fprintf(f.IO.Out, "migrated %d tenant(s) to version %d in %s: %d failed, %d not started, %d already current\n",
		c["migrated"], res.Plan.Latest, cmdutil.Millis(res.Elapsed), c["failed"], c["skipped"], c["current"])
	for _, t := range res.Templates {
		if t.Error != "" {
			continue
		}
		what := "kept"
		if t.Built {
			what = "rebuilt"
		}
		fmt.Fprintf(f.IO.Out, "template on %s: %s at version %d (%s", t.Server, t.Template, t.Version, what)
		if len(t.Dropped) > 0 {
			fmt.Fprintf(f.IO.Out, "; dropped %d superseded", len(t.Dropped))
		}
		fmt.Fprintln(f.IO.Out, ")")
	}
}

// printFailures names every failed tenant with its error, and what was not started, on
// stderr.
func printFailures(f *cmdutil.Factory, res rollout.Result, err error) {
	if len(res.Failed) == 0 && len(res.Skipped) == 0 {
		fmt.Fprintf(f.IO.ErrOut, "Error: %s\n", err)
		return
	}
	failed := append([]rollout.Outcome{}, res.Failed...)
	sort.Slice(failed, func(i, j int) bool { return failed[i].Slug < failed[j].Slug })
	fmt.Fprintf(f.IO.ErrOut, "Error: %d tenant(s) failed", len(failed))
	if len(res.Skipped) > 0 {
		fmt.Fprintf(f.IO.ErrOut, ", %d not started", len(res.Skipped))
	}
	if res.Stopped != "" {
		fmt.Fprintf(f.IO.ErrOut, " (%s)", res.Stopped)
	}
	fmt.Fprintln(f.IO.ErrOut, ":")
	for _, fo := range failed {
		fmt.Fprintf(f.IO.ErrOut, "  %s (server %s, at version %d, failed at %d): %s\n", fo.Slug, fo.Server, fo.To, fo.FailedVersion, oneLine(fo.Error))
	}
	if len(res.Skipped) > 0 {
		names := make([]string, len(res.Skipped))
		for i, s := range res.Skipped {
			names[i] = s.Slug
		}
		fmt.Fprintf(f.IO.ErrOut, "  not started: %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintln(f.IO.ErrOut, "Fix the cause and run `tenantctl migrate up` again: it picks up exactly what is left.")
}

// DownOptions are `migrate down`'s.
type DownOptions struct {
	Factory *cmdutil.Factory
	Down    rollout.DownOptions
	// To is --to; SetTo is true when it was given.
	To     int64
	SetTo  bool
	DryRun bool
}

// NewCmdDown is `migrate down`; runF, when not nil, replaces the run.
func NewCmdDown(f *cmdutil.Factory, runF func(context.Context, *DownOptions) error) *cobra.Command {
	opts := &DownOptions{Factory: f}
	o := &opts.Down
	cmd := &cobra.Command{
		Use:     "down --tenant SLUG [--to VERSION] [--dry-run]",
		Example: "  tenantctl migrate down --tenant acme --dry-run\n  tenantctl migrate down --tenant acme --to 1",
		Short:   "Roll one tenant back by one version, or to --to VERSION (never the whole fleet)",
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runDown, func(cmd *cobra.Command, _ []string) error {
			if o.Tenant == "" {
				return rollout.ErrFleetDown
			}
			if opts.SetTo = cmd.Flags().Changed("to"); opts.SetTo {
				o.To = &opts.To
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&o.Tenant, "tenant", "", "the tenant to roll back (required)")
	cmd.Flags().Int64Var(&opts.To, "to", 0, "roll back to this version (default: undo the newest applied version only)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show which migrations would be rolled back and change nothing")
	registerShared(cmd.Flags(), &o.LockTimeout, &o.StatementTimeout, &o.LockWait, &o.AllowChanged)
	return cmd
}

func runDown(ctx context.Context, opts *DownOptions) error {
	f, o := opts.Factory, opts.Down
	return withMigrations(ctx, f, func(store *catalog.Store, srvs *fleet.Servers, fsys fs.FS) error {
		o.Store, o.Servers, o.Migrations, o.Log = store, srvs, fsys, f.Log
		if opts.DryRun {
			pl, err := rollout.PlanDown(ctx, o)
			if err != nil {
				return err
			}
			return printDownPlan(f, pl)
		}
		out, err := rollout.Down(ctx, o)
		if err != nil {
			return err
		}
		return f.PrintResult(out, "tenant %s rolled back from version %d to %d (versions %s undone)\n", out.Slug, out.From, out.To, versions(out.Applied))
	})
}

// printDownPlan shows what migrate down would roll back (--dry-run).
func printDownPlan(f *cmdutil.Factory, pl rollout.DownPlan) error {
	if f.Structured() {
		return f.PrintStructured(pl)
	}
	fmt.Fprintf(f.IO.Out, "dry run: tenant %s (on %s) would go from version %d to %d, running the Down section of:\n", pl.Slug, pl.Server, pl.From, pl.To)
	for _, file := range pl.RollBack {
		fmt.Fprintf(f.IO.Out, "  - %s\n", file.Name)
	}
	fmt.Fprintln(f.IO.Out, "nothing was changed (the version is the catalog's record; the run itself reads the database's)")
	return nil
}

func warnChanged(f *cmdutil.Factory, changes []rollout.Change) {
	for _, c := range changes {
		f.Log.Warn("tenant migration differs from what the fleet was migrated with; `migrate up` will refuse it", "change", c.String())
	}
}

func versions(vs []int64) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

// BaselineOptions are `migrate baseline`'s.
type BaselineOptions struct {
	Factory  *cmdutil.Factory
	Baseline rollout.BaselineOptions
}

// NewCmdBaseline is `migrate baseline`; runF, when not nil, replaces the run.
func NewCmdBaseline(f *cmdutil.Factory, runF func(context.Context, *BaselineOptions) error) *cobra.Command {
	opts := &BaselineOptions{Factory: f}
	o := &opts.Baseline
	cmd := &cobra.Command{
		Use:   "baseline SLUG --version N [--dry-run]",
		Short: "Record that a tenant's schema already matches version N, without running migrations",
		Long: `For an imported or legacy customer whose schema already matches the tenant migrations
up to version N: check that its database has every object those migrations create
(they are applied to a scratch database on the same server and the two catalogs
compared: schemas, tables, partitions, views, materialized views, sequences, indexes,
columns and their types, types and enum labels, functions, aggregates, triggers,
constraints, extensions; extra objects are fine), then record versions 1..N as applied
in the database's goose table (public.goose_db_version, created if missing) and N as
the tenant's schema version in the catalog. Nothing else in the database changes.
'migrate up' then runs the migrations above N.

If anything is missing, the objects are listed and nothing changes (exit 2).

A tenant baselined wrong is baselined again: to a higher N (recording the versions
between), or to a lower N (versions above it are removed from goose's table, so the
next 'migrate up' runs them again — only do that when the schema really lacks them).
--dry-run checks and shows what would be recorded, changing nothing.`,
		Example: `  tenantctl migrate baseline hooli --version 3 --dry-run
  tenantctl migrate baseline hooli --version 3
  tenantctl migrate baseline hooli --version 2     # baselined too high: back to 2, then 'migrate up' runs 3
  tenantctl tenant create hooli --name Hooli --domain hooli.example --from-dump hooli.dump --baseline 3   # both in one step`,
		Args: cmdutil.ExactArgs(1, "a tenant SLUG"),
		RunE: cmdutil.RunE(opts, runF, runBaseline, func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("version") {
				return validate.Errorf("--version N is required: the tenant migration version the tenant's schema matches")
			}
			o.Tenant = args[0]
			return nil
		}),
	}
	cmd.Flags().Int64Var(&o.Version, "version", 0, "the tenant migration version the tenant's schema matches (required)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check and show what would be recorded; change nothing")
	return cmd
}

func runBaseline(ctx context.Context, opts *BaselineOptions) error {
	f, o := opts.Factory, opts.Baseline
	return withMigrations(ctx, f, func(store *catalog.Store, srvs *fleet.Servers, fsys fs.FS) error {
		o.Store, o.Servers, o.Migrations = store, srvs, fsys
		out, err := rollout.Baseline(ctx, o)
		if err != nil {
			return err
		}
		verb := "baselined"
		if o.DryRun {
			verb = "would baseline (dry run)"
		}
		return f.PrintResult(out, "tenant %s %s at version %d: %d objects checked; versions recorded: %s; versions removed: %s\n",
			out.Slug, verb, out.Version, out.Checked, versions(out.Record), versions(out.Unrecord))
	})
}

package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/rollout"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Keep every tenant database at the latest schema version, in safe waves",
		Long: `Tenant migrations are goose SQL files: the embedded default schema, or the directory
given with --tenant-migrations (TENANTCTL_TENANT_MIGRATIONS). 'migrate up' applies what
is pending to every active and suspended tenant — a canary wave first, then the rest —
with concurrency bounded overall and per server; one tenant's failure never blocks
another, every outcome is recorded in the catalog, and a rerun picks up what is left.`,
	}
	cmd.AddCommand(a.migrateStatusCmd(), a.migrateUpCmd(nil), a.migrateDownCmd(), a.migrateBaselineCmd())
	return cmd
}

func (a *app) migrateStatusCmd() *cobra.Command {
	var o rollout.StatusOptions
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			fsys, err := a.tenantMigrations()
			if err != nil {
				return err
			}
			store, err := a.store(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			o.Store, o.Migrations, o.Log = store, fsys, a.log
			rep, err := rollout.Status(ctx, o)
			if err != nil {
				return err
			}
			a.warnChanged(rep.Changed)
			if a.flags.output == outputJSON {
				return a.printJSONRows(len(rep.Tenants), func(b []byte, i int) []byte { return rep.Tenants[i].AppendJSON(b) })
			}
			if a.jsonOutput() {
				return a.printJSON(rep.Tenants)
			}
			tw := a.alignedTable("SLUG", "SERVER", "STATE", "VERSION", "LATEST", "PENDING", "LAST ERROR")
			for _, t := range rep.Tenants {
				msg := t.LastError
				if t.ReadError != "" {
					msg = "cannot read the database's version: " + t.ReadError
				}
				tw.Row(t.Slug, t.Server, t.State, strconv.FormatInt(t.Version, 10), strconv.FormatInt(t.Latest, 10),
					strconv.Itoa(t.Pending), dash(oneLine(msg)))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%d tenants at latest version %d: %d current, %d behind, %d failed", len(rep.Tenants), rep.Latest,
				rep.Current, rep.Behind, rep.Failed)
			if rep.Ahead > 0 {
				fmt.Fprintf(a.out, ", %d ahead of the migration set", rep.Ahead)
			}
			if rep.Unreadable > 0 {
				fmt.Fprintf(a.out, " (%d could not be read)", rep.Unreadable)
			}
			fmt.Fprintln(a.out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tenant, "tenant", "", "only this tenant")
	f.BoolVar(&o.Verify, "verify", false, "read every tenant database's own version (and correct the catalog) instead of trusting the catalog")
	f.IntVar(&o.Concurrency, "concurrency", rollout.DefaultConcurrency, "databases read at once across the fleet (--verify)")
	f.IntVar(&o.PerServer, "per-server", rollout.DefaultPerServer, "databases read at once on one server")
	return cmd
}

// migrateFlags are the flags up and down share.
type migrateFlags struct {
	lockTimeout, statementTimeout, lockWait time.Duration
	allowChanged                            bool
}

func (m *migrateFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&m.lockTimeout, "lock-timeout", rollout.DefaultLockTimeout, "longest wait for a table lock in a tenant database before that tenant fails (lock_timeout)")
	f.DurationVar(&m.statementTimeout, "statement-timeout", rollout.DefaultStatementTimeout, "longest a migration statement may run (statement_timeout)")
	f.DurationVar(&m.lockWait, "lock-wait", rollout.DefaultLockWait, "longest wait for goose's lock on a tenant database held by another migration")
	f.BoolVar(&m.allowChanged, "allow-changed", false, "accept migration files changed or removed after they were applied, as they are now")
}

// migrateUpCmd is `migrate up`; runF, when not nil, replaces the run (tests check the
// flags → options layer with it, without a catalog).
func (a *app) migrateUpCmd(runF func(context.Context, rollout.Options) error) *cobra.Command {
	if runF == nil {
		runF = a.migrateUp
	}
	var o rollout.Options
	var m migrateFlags
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Canary < 0 || o.MaxFailures < 0 {
				return validate.Errorf("--canary and --max-failures must be 0 or more")
			}
			if err := o.Options.Validate(); err != nil {
				return err
			}
			// 0 means "none" and "never stop" on the command line; the library keeps 0
			// for its defaults.
			if o.Canary == 0 {
				o.Canary = -1
			}
			if o.MaxFailures == 0 {
				o.MaxFailures = -1
			}
			o.LockTimeout, o.StatementTimeout, o.LockWait, o.AllowChanged = m.lockTimeout, m.statementTimeout, m.lockWait, m.allowChanged
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tenant, "tenant", "", "migrate only this tenant (no waves)")
	f.IntVar(&o.Concurrency, "concurrency", rollout.DefaultConcurrency, "tenants migrated at once across the fleet")
	f.IntVar(&o.PerServer, "per-server", rollout.DefaultPerServer, "tenants migrated at once on one server")
	f.IntVar(&o.Canary, "canary", rollout.DefaultCanary, "tenants in the first wave, whose failure stops the run (0: no canary wave)")
	f.IntVar(&o.MaxFailures, "max-failures", rollout.DefaultMaxFailures, "stop starting tenants after this many failures (0: never stop)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan (tenants, versions, waves) and change nothing")
	f.BoolVar(&o.Verify, "verify", false, "visit every tenant database, even those the catalog records as current")
	m.register(cmd)
	return cmd
}

func (a *app) migrateUp(ctx context.Context, o rollout.Options) error {
	fsys, err := a.tenantMigrations()
	if err != nil {
		return err
	}
	store, err := a.store(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	o.Store, o.Migrations, o.Log = store, fsys, a.log
	// Bad input is refused before a job run is recorded: it changes nothing.
	if err := o.Validate(); err != nil {
		return err
	}
	if o.DryRun {
		res, err := rollout.Run(ctx, o)
		if err != nil {
			return err
		}
		if a.jsonOutput() {
			return a.printJSON(res.Plan)
		}
		a.printPlan(res.Plan)
		return nil
	}
	o.Progress = func(total int) progress.Reporter { return a.progress(total, "migrate") }
	res, err := jobs.Migrate.Run(ctx, store, hostname(), o)
	if err != nil && len(res.Migrated)+len(res.Failed)+len(res.Skipped) == 0 {
		return err // refused (changed files, another run, bad input): no tenant was touched
	}
	if a.jsonOutput() {
		if perr := a.printJSON(res); perr != nil {
			return perr
		}
	} else {
		a.printRun(res)
	}
	if err != nil {
		a.printFailures(res, err)
		return errSilent
	}
	return nil
}

func (a *app) printPlan(p rollout.Plan) {
	steps := p.Steps()
	fmt.Fprintf(a.out, "plan: %d tenant(s) to bring to version %d (%d canary, %d in the rest); %d already current\n",
		len(steps), p.Latest, len(p.Canary), len(p.Rest), p.Current)
	for _, c := range p.Changed {
		fmt.Fprintf(a.out, "accepting changed migration: %s\n", c)
	}
	if len(steps) == 0 {
		return
	}
	tw := a.table("WAVE", "SLUG", "SERVER", "STATE", "FROM", "PENDING VERSIONS", "PREVIOUS ERROR")
	for _, s := range steps {
		row(tw, s.Wave, s.Slug, s.Server, s.State, s.From, versions(s.Pending), dash(oneLine(s.LastError)))
	}
	_ = tw.Flush()
}

func (a *app) printRun(res rollout.Result) {
	c := res.Counts()
	fmt.Fprintf(a.out, "migrated %d tenant(s) to version %d in %s: %d failed, %d not started, %d already current\n",
		c["migrated"], res.Plan.Latest, res.Elapsed.Round(time.Millisecond), c["failed"], c["skipped"], c["current"])
	for _, t := range res.Templates {
		if t.Error != "" {
			continue
		}
		what := "kept"
		if t.Built {
			what = "rebuilt"
		}
		fmt.Fprintf(a.out, "template on %s: %s at version %d (%s", t.Server, t.Template, t.Version, what)
		if len(t.Dropped) > 0 {
			fmt.Fprintf(a.out, "; dropped %d superseded", len(t.Dropped))
		}
		fmt.Fprintln(a.out, ")")
	}
}

// printFailures names every failed tenant with its error, and what was not started, on
// stderr.
func (a *app) printFailures(res rollout.Result, err error) {
	if len(res.Failed) == 0 && len(res.Skipped) == 0 {
		fmt.Fprintf(a.err, "Error: %s\n", err)
		return
	}
	failed := append([]rollout.Outcome{}, res.Failed...)
	sort.Slice(failed, func(i, j int) bool { return failed[i].Slug < failed[j].Slug })
	fmt.Fprintf(a.err, "Error: %d tenant(s) failed", len(failed))
	if len(res.Skipped) > 0 {
		fmt.Fprintf(a.err, ", %d not started", len(res.Skipped))
	}
	if res.Stopped != "" {
		fmt.Fprintf(a.err, " (%s)", res.Stopped)
	}
	fmt.Fprintln(a.err, ":")
	for _, f := range failed {
		fmt.Fprintf(a.err, "  %s (server %s, at version %d, failed at %d): %s\n", f.Slug, f.Server, f.To, f.FailedVersion, oneLine(f.Error))
	}
	if len(res.Skipped) > 0 {
		names := make([]string, len(res.Skipped))
		for i, s := range res.Skipped {
			names[i] = s.Slug
		}
		fmt.Fprintf(a.err, "  not started: %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintln(a.err, "Fix the cause and run `tenantctl migrate up` again: it picks up exactly what is left.")
}

func (a *app) migrateDownCmd() *cobra.Command {
	var o rollout.DownOptions
	var m migrateFlags
	var to int64
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "down --tenant SLUG [--to VERSION] [--dry-run]",
		Short: "Roll one tenant back by one version, or to --to VERSION (never the whole fleet)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Tenant == "" {
				return rollout.ErrFleetDown
			}
			if cmd.Flags().Changed("to") {
				o.To = &to
			}
			o.LockTimeout, o.StatementTimeout, o.LockWait, o.AllowChanged = m.lockTimeout, m.statementTimeout, m.lockWait, m.allowChanged
			ctx := cmd.Context()
			fsys, err := a.tenantMigrations()
			if err != nil {
				return err
			}
			store, err := a.store(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			o.Store, o.Migrations, o.Log = store, fsys, a.log
			if dryRun {
				pl, err := rollout.PlanDown(ctx, o)
				if err != nil {
					return err
				}
				return a.printDownPlan(pl)
			}
			out, err := rollout.Down(ctx, o)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(out)
			}
			fmt.Fprintf(a.out, "tenant %s rolled back from version %d to %d (versions %s undone)\n", out.Slug, out.From, out.To, versions(out.Applied))
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Tenant, "tenant", "", "the tenant to roll back (required)")
	cmd.Flags().Int64Var(&to, "to", 0, "roll back to this version (default: undo the newest applied version only)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show which migrations would be rolled back and change nothing")
	m.register(cmd)
	return cmd
}

func (a *app) warnChanged(changes []rollout.Change) {
	for _, c := range changes {
		a.log.Warn("tenant migration differs from what the fleet was migrated with; `migrate up` will refuse it", "change", c.String())
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

// oneLine keeps a table cell on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (a *app) migrateBaselineCmd() *cobra.Command {
	var o rollout.BaselineOptions
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
		Args: exactArgs(1, "a tenant SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("version") {
				return validate.Errorf("--version N is required: the tenant migration version the tenant's schema matches")
			}
			o.Tenant = args[0]
			ctx := cmd.Context()
			fsys, err := a.tenantMigrations()
			if err != nil {
				return err
			}
			store, err := a.store(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			o.Store, o.Migrations = store, fsys
			out, err := rollout.Baseline(ctx, o)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(out)
			}
			verb := "baselined"
			if o.DryRun {
				verb = "would baseline (dry run)"
			}
			fmt.Fprintf(a.out, "tenant %s %s at version %d: %d objects checked; versions recorded: %s; versions removed: %s\n",
				out.Slug, verb, out.Version, out.Checked, versions(out.Record), versions(out.Unrecord))
			return nil
		},
	}
	cmd.Flags().Int64Var(&o.Version, "version", 0, "the tenant migration version the tenant's schema matches (required)")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "check and show what would be recorded; change nothing")
	return cmd
}

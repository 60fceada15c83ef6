// Package rollup is `tenantctl rollup`: run copies every tenant's changed rows into the
// warehouse, status shows what the warehouse holds.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/jobs"
	rolluplib "github.com/tenantctl/tenantctl/rollup"
)

// NewCmdRollup is `tenantctl rollup`.
func NewCmdRollup(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Copy every tenant's rows into the MSP-only warehouse, incrementally and exactly once",
	}
	cmd.AddCommand(NewCmdRun(f, nil), NewCmdStatus(f, nil))
	return cmd
}

// RunOptions are `rollup run`'s: the library's options as the flags give them.
type RunOptions struct {
	Factory *cmdutil.Factory
	Rollup  rolluplib.Options
}

// runOutput is `rollup run -o json`.
type runOutput struct {
	Tenants []rolluplib.TenantResult `json:"tenants"`
	Counts  map[string]int64         `json:"counts"`
}

// NewCmdRun is `rollup run`; runF, when not nil, replaces the run (tests check the
// flags → options layer with it, without a catalog).
func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "run [--tenant SLUG] [--concurrency N] [--per-server N]",
		Short: "Copy the rows changed since the last run of every active or suspended tenant",
		Long: `Copy, for every active or suspended tenant (or the one named by --tenant), the rows of
the rollup spec's tables changed since its last run into the warehouse. Each tenant is
read from one snapshot of its database and written in one warehouse transaction with its
new watermark: an interrupted run loses and duplicates nothing, and the next run picks up
where it stopped. A tenant that fails (unreachable server, missing table) is recorded and
does not stop the others; the exit status is then 1.

The tables come from --rollup-spec (default: the embedded spec for the embedded tenant
schema). The run is recorded as a job ('tenantctl jobs').`,
		Example: `  tenantctl rollup run
  tenantctl rollup run --tenant acme -o json
  tenantctl rollup run --concurrency 8 --per-server 2 --rollup-spec rollup.yaml`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, runRun, func(cmd *cobra.Command, _ []string) error {
			return opts.Rollup.Options.Validate()
		}),
	}
	cmdutil.FleetFlags(cmd.Flags(), &opts.Rollup.Options, fleet.Limits{Total: rolluplib.DefaultConcurrency, PerServer: rolluplib.DefaultPerServer},
		"roll up only this tenant (a slug)", "tenants copied at once (also the warehouse connections used)", "tenants copied at once from one tenant server")
	return cmd
}

// runRun runs the rollup job with the options the flags gave.
func runRun(ctx context.Context, opts *RunOptions) error {
	f, o := opts.Factory, opts.Rollup
	spec, err := f.RollupSpec()
	if err != nil {
		return err
	}
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	return f.WithStore(ctx, func(store *catalog.Store) error {
		if _, err := store.WarehouseDSN(ctx); err != nil {
			return err
		}
		targets, err := rolluplib.Targets(ctx, store, o.Tenant)
		if err != nil {
			return err
		}
		fo := o.Options
		fo.Log = f.Log
		fo.Progress = func(total int) progress.Reporter { return f.Progress(total, "rollup") }
		ro := jobs.RollupOptionsFor(env, spec, fo)
		ro.Targets = targets
		res, runErr := jobs.Rollup.Run(ctx, env, ro)
		var partial *rolluplib.PartialError
		if runErr != nil && !errors.As(runErr, &partial) {
			return runErr
		}
		if err := printRollup(f, res); err != nil {
			return err
		}
		if partial != nil {
			return cmdutil.ErrSilent
		}
		return nil
	})
}

func printRollup(f *cmdutil.Factory, res rolluplib.Result) error {
	counts := res.Counts()
	if f.Structured() {
		return f.PrintStructured(runOutput{Tenants: res.Tenants, Counts: counts})
	}
	tw := f.Table("SLUG", "SERVER", "STATUS", "COPIED", "DELETED", "TIME", "ERROR")
	for _, t := range res.Tenants {
		cmdutil.Row(tw, t.Slug, t.Server, t.Status, t.RowsCopied, t.RowsDeleted, cmdutil.Millis(t.Duration), cmdutil.Dash(t.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(f.IO.Out, "rollup: %d tenants, %d ok, %d failed, %d skipped; %d rows copied, %d deleted\n",
		t.Tenants, t.OK, t.Failed, t.Skipped, t.RowsCopied, t.RowsDeleted)
	printTableNotes(f, res)
	return nil
}

// printTableNotes prints, once per table and note, the tables a run skipped and why,
// with the tenants concerned.
func printTableNotes(f *cmdutil.Factory, res rolluplib.Result) {
	type key struct{ table, note string }
	var order []key
	slugs := map[key][]string{}
	for _, t := range res.Tenants {
		for _, tr := range t.Tables {
			if tr.Note == "" {
				continue
			}
			k := key{tr.Table, tr.Note}
			if _, ok := slugs[k]; !ok {
				order = append(order, k)
			}
			slugs[k] = append(slugs[k], t.Slug)
		}
	}
	for _, k := range order {
		s := slugs[k]
		who := strings.Join(s, ", ")
		if len(s) > 3 {
			who = fmt.Sprintf("%s and %d more", strings.Join(s[:3], ", "), len(s)-3)
		}
		fmt.Fprintf(f.IO.ErrOut, "note: table %s (%s): %s\n", k.table, who, k.note)
	}
}

// StatusOptions are `rollup status`'s.
type StatusOptions struct {
	Factory *cmdutil.Factory
	Tenant  string
}

// NewCmdStatus is `rollup status`; runF, when not nil, replaces the run.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "status [--tenant SLUG]",
		Example: "  tenantctl rollup status\n  tenantctl rollup status --tenant acme -o json",
		Short:   "Show per tenant and table the rows in the warehouse, the last successful run and the last error",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, runStatus, nil),
	}
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "only this tenant (a slug)")
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f := opts.Factory
	return f.WithStore(ctx, func(store *catalog.Store) error {
		if err := cmdutil.CheckTenant(ctx, store, opts.Tenant); err != nil {
			return err
		}
		all, err := rolluplib.Status(ctx, store)
		if err != nil {
			return err
		}
		st := []rolluplib.TableStatus{}
		for _, s := range all {
			if opts.Tenant == "" || s.Slug == opts.Tenant {
				st = append(st, s)
			}
		}
		if len(all) == 0 && !f.Structured() {
			fmt.Fprintln(f.IO.ErrOut, "nothing rolled up yet: run `tenantctl rollup run`")
			return nil
		}
		return cmdutil.PrintList(f, st, []string{"SLUG", "TABLE", "ROWS", "LAST RUN", "MODE", "LAST ERROR"}, func(s rolluplib.TableStatus) []any {
			return []any{s.Slug, s.Table, s.Rows, cmdutil.LocalTimeOr(s.LastRun, "never"), cmdutil.Dash(s.Mode), cmdutil.Dash(s.LastError)}
		})
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/progress"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/rollup"
)

func (a *app) rollupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Copy every tenant's rows into the MSP-only warehouse, incrementally and exactly once",
	}
	cmd.AddCommand(a.rollupRunCmd(nil), a.rollupStatusCmd())
	return cmd
}

// rollupRunOutput is `rollup run -o json`.
type rollupRunOutput struct {
	Tenants []rollup.TenantResult `json:"tenants"`
	Counts  map[string]int64      `json:"counts"`
}

// rollupRunCmd is `rollup run`; runF, when not nil, replaces the run (tests check the
// flags → options layer with it, without a catalog).
func (a *app) rollupRunCmd(runF func(context.Context, rollup.Options) error) *cobra.Command {
	if runF == nil {
		runF = a.rollupRun
	}
	var o rollup.Options
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Options.Validate(); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Tenant, "tenant", "", "roll up only this tenant (a slug)")
	f.IntVar(&o.Concurrency, "concurrency", rollup.DefaultConcurrency, "tenants copied at once (also the warehouse connections used)")
	f.IntVar(&o.PerServer, "per-server", rollup.DefaultPerServer, "tenants copied at once from one tenant server")
	return cmd
}

// rollupRun runs the rollup job with the options the flags gave.
func (a *app) rollupRun(ctx context.Context, o rollup.Options) error {
	spec, err := rollup.LoadSpec(a.rollupSpecPath())
	if err != nil {
		return err
	}
	store, err := a.store(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.WarehouseDSN(ctx); err != nil {
		return err
	}
	targets, err := rollup.Targets(ctx, store, o.Tenant)
	if err != nil {
		return err
	}
	o.Store, o.Spec, o.Targets, o.Log = store, spec, targets, a.log
	o.Progress = func(total int) progress.Reporter { return a.progress(total, "rollup") }
	res, runErr := jobs.Rollup.Run(ctx, store, hostname(), o)
	var partial *rollup.PartialError
	if runErr != nil && !errors.As(runErr, &partial) {
		return runErr
	}
	if err := a.printRollup(res); err != nil {
		return err
	}
	if partial != nil {
		return errSilent
	}
	return nil
}

func (a *app) printRollup(res rollup.Result) error {
	counts := res.Counts()
	if a.jsonOutput() {
		return a.printJSON(rollupRunOutput{Tenants: res.Tenants, Counts: counts})
	}
	tw := a.table("SLUG", "SERVER", "STATUS", "COPIED", "DELETED", "TIME", "ERROR")
	for _, t := range res.Tenants {
		row(tw, t.Slug, t.Server, t.Status, t.RowsCopied, t.RowsDeleted, t.Duration.Round(time.Millisecond), dash(t.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := res.Totals()
	fmt.Fprintf(a.out, "rollup: %d tenants, %d ok, %d failed, %d skipped; %d rows copied, %d deleted\n",
		t.Tenants, t.OK, t.Failed, t.Skipped, t.RowsCopied, t.RowsDeleted)
	a.printTableNotes(res)
	return nil
}

// printTableNotes prints, once per table and note, the tables a run skipped and why,
// with the tenants concerned.
func (a *app) printTableNotes(res rollup.Result) {
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
		fmt.Fprintf(a.err, "note: table %s (%s): %s\n", k.table, who, k.note)
	}
}

func (a *app) rollupStatusCmd() *cobra.Command {
	var slug string
	cmd := &cobra.Command{
		Use:   "status [--tenant SLUG]",
		Short: "Show per tenant and table the rows in the warehouse, the last successful run and the last error",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			defer store.Close()
			if slug != "" {
				if _, err := store.GetTenant(cmd.Context(), slug); err != nil {
					return err
				}
			}
			all, err := rollup.Status(cmd.Context(), store)
			if err != nil {
				return err
			}
			st := []rollup.TableStatus{}
			for _, s := range all {
				if slug == "" || s.Slug == slug {
					st = append(st, s)
				}
			}
			if a.jsonOutput() {
				return a.printJSON(st)
			}
			if len(all) == 0 {
				fmt.Fprintln(a.err, "nothing rolled up yet: run `tenantctl rollup run`")
				return nil
			}
			tw := a.table("SLUG", "TABLE", "ROWS", "LAST RUN", "MODE", "LAST ERROR")
			for _, s := range st {
				last := "never"
				if s.LastRun != nil {
					last = s.LastRun.Local().Format(time.DateTime)
				}
				row(tw, s.Slug, s.Table, s.Rows, last, dash(s.Mode), dash(s.LastError))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&slug, "tenant", "", "only this tenant (a slug)")
	return cmd
}

// Package reconcile is `tenantctl reconcile`: bring the servers in line with the catalog.
package reconcile

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/provisioner"
)

// Options are `reconcile`'s: the library's options as the flags give them.
type Options struct {
	Factory   *cmdutil.Factory
	Reconcile provisioner.ReconcileOptions
}

// NewCmdReconcile is `reconcile`; runF, when not nil, replaces the run.
func NewCmdReconcile(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "reconcile [--dry-run]",
		Example: "  tenantctl reconcile --dry-run\n  tenantctl reconcile",
		Short:   "Bring servers in line with the catalog: finish interrupted work, undo drift, report orphans",
		Long: `Bring the servers in line with the catalog:
  - finish interrupted provisioning, purges and credential rotations;
  - re-apply hardening where it drifted (e.g. CONNECT granted to PUBLIC by hand) and
    the app role's login state (active: LOGIN, suspended: NOLOGIN);
  - report, never drop, databases and roles named like tenants (t_…) that the catalog
    does not know, missing tenant databases, and attributes only a superuser can fix.
--dry-run prints the plan and changes nothing. Exit status 1 when a fix failed.`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, nil),
	}
	cmd.Flags().BoolVar(&opts.Reconcile.DryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f, o := opts.Factory, opts.Reconcile
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	actions, runErr := jobs.Reconcile.Run(ctx, env, jobs.ReconcileOptions{Env: env, ReconcileOptions: o})
	if f.Structured() {
		if actions == nil {
			actions = []provisioner.Action{}
		}
		if err := f.PrintStructured(actions); err != nil {
			return err
		}
		return runErr
	}
	if len(actions) == 0 {
		fmt.Fprintln(f.IO.Out, "nothing to do: servers agree with the catalog")
		return runErr
	}
	tw := f.Table("ACTION", "TENANT", "SERVER", "STATUS", "DETAIL")
	for _, act := range actions {
		status := "reported"
		switch {
		case act.Error != "":
			status = "FAILED: " + act.Error
		case act.Applied:
			status = "fixed"
		case o.DryRun:
			status = "planned"
		}
		cmdutil.Row(tw, act.Kind, cmdutil.Dash(act.Tenant), cmdutil.Dash(act.Server), status, act.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return runErr
}

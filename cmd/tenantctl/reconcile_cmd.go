package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) reconcileCmd() *cobra.Command {
	var o provisioner.ReconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile [--dry-run]",
		Short: "Bring servers in line with the catalog: finish interrupted work, undo drift, report orphans",
		Long: `Bring the servers in line with the catalog:
  - finish interrupted provisioning, purges and credential rotations;
  - re-apply hardening where it drifted (e.g. CONNECT granted to PUBLIC by hand) and
    the app role's login state (active: LOGIN, suspended: NOLOGIN);
  - report, never drop, databases and roles named like tenants (t_…) that the catalog
    does not know, missing tenant databases, and attributes only a superuser can fix.
--dry-run prints the plan and changes nothing. Exit status 1 when a fix failed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			actions, runErr := jobs.Reconcile.Run(cmd.Context(), p.Store, hostname(), jobs.ReconcileOptions{Provisioner: p, ReconcileOptions: o})
			if a.jsonOutput() {
				if actions == nil {
					actions = []provisioner.Action{}
				}
				if err := a.printJSON(actions); err != nil {
					return err
				}
			} else {
				if len(actions) == 0 {
					fmt.Fprintln(a.out, "nothing to do: servers agree with the catalog")
				} else {
					tw := a.table("ACTION", "TENANT", "SERVER", "STATUS", "DETAIL")
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
						row(tw, act.Kind, dash(act.Tenant), dash(act.Server), status, act.Detail)
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				}
			}
			return runErr
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func (a *app) serverSetCmd() *cobra.Command {
	var spares int
	var allow *allowDatabaseFlags
	var reg serverSetFlags // server_set_cmd.go: --dsn-file, --dsn-stdin, --capacity, --label
	cmd := &cobra.Command{
		Use:   "set NAME [--spares N] [--capacity N] [--label k=v] [--dsn-file F | --dsn-stdin] [--allow-database DB]...",
		Short: "Change a server's settings: how many spare databases its warm pool keeps ready",
		Long: `Change a registered server's settings.

--spares N keeps N spare databases ready on the server: cloned from its current template,
hardened, with their roles created (NOLOGIN, no password) and opaque t_<id> names.
'tenant create' claims one in a single catalog transaction and one ALTER ROLE, instead of
cloning on demand. Spares count against the server's capacity. The pool is filled by
'tenantctl reconcile', 'tenantctl server refill' and the scheduler's pool job, never by
the command that claims a spare.

--allow-database DB (repeatable) declares a database of the operator's on the server
that accepts connections and is neither a tenant's nor tenantctl's (a monitoring or
reporting database): 'tenantctl audit' then stops reporting it as unknown
(server.databases), and still probes it with tenant credentials
(probe.other_database). --disallow-database DB withdraws a declaration.`,
		Example: `  tenantctl server set pg-a --spares 4
  tenantctl server refill pg-a
  tenantctl server set pg-a --allow-database reporting --allow-database pgbouncer
  tenantctl server set pg-a --disallow-database reporting`,
		Args: exactArgs(1, "a server NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			allowing := allowDatabaseFlagsChanged(cmd)
			registering := reg.changed(cmd)
			setSpares := cmd.Flags().Changed("spares")
			if !setSpares && !allowing && !registering {
				return validate.Errorf("nothing to set: pass --spares N, --dsn-file F, --dsn-stdin, --capacity N, --label k=v or --allow-database DB")
			}
			if setSpares && spares < 0 {
				return validate.Errorf("invalid --spares %d: it must be 0 or more", spares)
			}
			if registering {
				if err := reg.apply(cmd, a, args[0]); err != nil {
					return err
				}
			}
			if allowing {
				if err := a.setAllowedDatabases(cmd, args[0], allow); err != nil {
					return err
				}
			}
			if !setSpares {
				return nil
			}
			return a.withStore(cmd, func(p *provisioner.Provisioner) error {
				if err := p.Store.SetSpares(cmd.Context(), args[0], spares); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "server %s: warm pool of %d spares (filled by reconcile, server refill and the scheduler)\n", args[0], spares)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&spares, "spares", 0, "spare databases to keep ready")
	allow = addAllowDatabaseFlags(cmd)
	reg.register(cmd)
	return cmd
}

func (a *app) serverRefillCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "refill [NAME]",
		Short: "Fill the warm pools now: build missing spares, replace those of a superseded template",
		Long: `Bring the warm pool of every server (or of the one named) to its --spares setting: finish
or undo what an interrupted refill left, drop spares cloned from a superseded template
and build new ones from the current template. 'tenantctl reconcile' and the scheduler do
the same.`,
		Example: `  tenantctl server refill
  tenantctl server refill pg-a --dry-run -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
				if err := validate.ServerName(name); err != nil {
					return err
				}
			}
			p, done, err := a.provisioner(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if name != "" {
				if _, err := p.Store.GetServer(cmd.Context(), name); err != nil {
					return err
				}
			}
			results, err := p.RefillPool(cmd.Context(), name, dryRun)
			if a.jsonOutput() {
				if jerr := a.printJSON(results); jerr != nil {
					return jerr
				}
				return err
			}
			tw := a.table("SERVER", "TARGET", "READY", "BUILT", "FINISHED", "DROPPED", "NOTE")
			for _, r := range results {
				note := r.Skipped
				if r.Error != "" {
					note = r.Error
				}
				row(tw, r.Server, r.Target, r.Ready, r.Built, r.Finished, r.Dropped, dash(note))
			}
			if ferr := tw.Flush(); ferr != nil {
				return ferr
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be built or dropped, change nothing")
	return cmd
}

package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/mover"
)

// EvacuateOptions are `server evacuate`'s.
type EvacuateOptions struct {
	Factory  *cmdutil.Factory
	Evacuate mover.EvacuateOptions
	// KeepSource is --keep-source as given.
	KeepSource string
}

// NewCmdEvacuate is `server evacuate`; runF, when not nil, replaces the run.
func NewCmdEvacuate(f *cmdutil.Factory, runF func(context.Context, *EvacuateOptions) error) *cobra.Command {
	opts := &EvacuateOptions{Factory: f}
	o := &opts.Evacuate
	cmd := &cobra.Command{
		Use:   "evacuate NAME [--to SERVER]... [--concurrency N] [--keep-source DURATION] [--dry-run]",
		Short: "Drain a server and move every tenant off it",
		Long: `Drain a server (no new tenants) and move every tenant on it to other servers, as
'tenant move' does, a few at a time: each goes to the server with the most free
capacity whose labels include the tenant's, among --to (repeatable) or every server not
draining. One tenant's failure does not stop the others; the result lists each tenant.
Run the command again to pick up what is left (an interrupted move is finished towards
its recorded target). Once the server is empty, 'tenantctl server remove NAME' succeeds
(the copies kept for --keep-source go with the server). The run is recorded in 'jobs'
as job "evacuate", with its progress.`,
		Example: `  tenantctl server evacuate pg-old --dry-run
  tenantctl server evacuate pg-old --to pg-new1 --to pg-new2 --concurrency 4
  tenantctl server evacuate pg-old --keep-source 0 && tenantctl server remove pg-old`,
		Args: cmdutil.ExactArgs(1, "a server NAME"),
		RunE: cmdutil.RunE(opts, runF, runEvacuate, func(cmd *cobra.Command, args []string) error {
			o.Server = args[0]
			var err error
			if o.KeepSource, err = cmdutil.KeepSource(cmd, opts.KeepSource); err != nil {
				return err
			}
			return o.Validate()
		}),
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&o.To, "to", nil, "target server, repeatable (default: every server not draining, by placement)")
	fl.IntVar(&o.Concurrency, "concurrency", 2, "moves running at once")
	fl.StringVar(&opts.KeepSource, "keep-source", "24h", "how long each source copy is kept (NOLOGIN); 0 drops it at once")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	return cmd
}

func runEvacuate(ctx context.Context, opts *EvacuateOptions) error {
	f, o := opts.Factory, &opts.Evacuate
	env, err := f.Env(ctx)
	if err != nil {
		return err
	}
	m := env.Mover()
	var res mover.EvacuateResult
	run := func(ctx context.Context) (map[string]int64, error) {
		var err error
		res, err = m.Evacuate(ctx, *o)
		return map[string]int64{"tenants": int64(len(res.Tenants)), "moved": int64(res.Moved), "failed": int64(res.Failed)}, err
	}
	var runErr error
	if o.DryRun {
		_, runErr = run(ctx)
	} else {
		_, runErr = env.Store.RunJobProgress(ctx, "evacuate", env.Node, func(ctx context.Context, progress catalog.JobProgress) (map[string]int64, error) {
			counts := map[string]int64{}
			o.OnMove = func(out mover.Outcome) {
				counts[out.Status]++
				counts["done"]++
				progress(counts)
				f.Log.Info("tenant evacuated", "tenant", out.Slug, "to", out.To, "status", out.Status, "error", out.Error)
			}
			return run(ctx)
		})
	}
	var pe *fleet.PartialError
	if runErr != nil && !errors.As(runErr, &pe) {
		return runErr
	}
	if f.Structured() {
		if err := f.PrintStructured(res); err != nil {
			return err
		}
	} else {
		tw := f.Table("TENANT", "FROM", "TO", "STATUS", "DOWNTIME", "DETAIL")
		for _, t := range res.Tenants {
			dt := "-"
			if t.Downtime > 0 {
				dt = cmdutil.Millis(t.Downtime).String()
			}
			cmdutil.Row(tw, t.Slug, t.From, cmdutil.Dash(t.To), t.Status, dt, cmdutil.Dash(t.Error))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		verb := "moved"
		if o.DryRun {
			verb = "planned"
		}
		fmt.Fprintf(f.IO.Out, "%d tenants %s, %d failed in %s; server %s is %s\n", len(res.Tenants)-res.Failed, verb, res.Failed,
			cmdutil.Millis(res.Duration), res.Server, map[bool]string{true: "empty", false: "not empty"}[res.Empty])
	}
	if pe != nil {
		return &cmdutil.CodeError{Code: cmdutil.ExitFailure, Err: cmdutil.ErrSilent}
	}
	return nil
}

package server

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

// RefillOptions are `server refill`'s.
type RefillOptions struct {
	Factory *cmdutil.Factory
	// Name is the server to refill ("" for every server).
	Name   string
	DryRun bool
}

// NewCmdRefill is `server refill`; runF, when not nil, replaces the run.
func NewCmdRefill(f *cmdutil.Factory, runF func(context.Context, *RefillOptions) error) *cobra.Command {
	opts := &RefillOptions{Factory: f}
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
		RunE: cmdutil.RunE(opts, runF, runRefill, func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			opts.Name = args[0]
			return validate.ServerName(opts.Name)
		}),
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be built or dropped, change nothing")
	return cmd
}

func runRefill(ctx context.Context, opts *RefillOptions) error {
	f, name := opts.Factory, opts.Name
	return f.WithProvisioner(ctx, func(p *provisioner.Provisioner) error {
		if name != "" {
			if _, err := p.Store.GetServer(ctx, name); err != nil {
				return err
			}
		}
		// Every server's outcome is printed, then the first failure is the exit status.
		results, err := p.RefillPool(ctx, name, opts.DryRun)
		header := []string{"SERVER", "TARGET", "READY", "BUILT", "FINISHED", "DROPPED", "NOTE"}
		if perr := cmdutil.PrintList(f, results, header, func(r provisioner.PoolResult) []any {
			note := r.Skipped
			if r.Error != "" {
				note = r.Error
			}
			return []any{r.Server, r.Target, r.Ready, r.Built, r.Finished, r.Dropped, cmdutil.Dash(note)}
		}); perr != nil {
			return perr
		}
		return err
	})
}

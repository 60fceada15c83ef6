// Package events is `tenantctl events`: the append-only event log.
package events

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Options are `events`'s.
type Options struct {
	Factory *cmdutil.Factory
	Tenant  string
	Limit   int
}

// NewCmdEvents is `events`; runF, when not nil, replaces the run.
func NewCmdEvents(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "events [--tenant SLUG] [--limit N]",
		Example: "  tenantctl events --limit 20\n  tenantctl events --tenant acme -o json",
		Short:   "Show the append-only event log: who changed what, when",
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, runF, run, func(*cobra.Command, []string) error {
			return cmdutil.IfGiven(validate.Slug, opts.Tenant)
		}),
	}
	cmd.Flags().StringVar(&opts.Tenant, "tenant", "", "only this tenant's events")
	cmdutil.LimitFlag(cmd.Flags(), &opts.Limit, 50, "events")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	events := func(store *catalog.Store) ([]catalog.Event, error) {
		return store.ListEvents(ctx, opts.Tenant, opts.Limit)
	}
	return cmdutil.ListFromStore(ctx, opts.Factory, events, []string{"ID", "TIME", "ACTOR", "ACTION", "TENANT", "DETAILS"}, func(e catalog.Event) []any {
		return []any{e.ID, cmdutil.LocalTime(e.At), e.Actor, e.Action, cmdutil.Dash(e.Slug), cmdutil.CompactJSON(e.Details)}
	})
}

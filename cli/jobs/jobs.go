// Package jobs is `tenantctl jobs`: recent job runs, from the scheduler and the CLI.
package jobs

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
)

// Options are `jobs`'s.
type Options struct {
	Factory *cmdutil.Factory
	Limit   int
}

// NewCmdJobs is `jobs`; runF, when not nil, replaces the run.
func NewCmdJobs(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:     "jobs [--limit N]",
		Example: "  tenantctl jobs\n  tenantctl jobs --limit 50 -o yaml",
		Short:   "Show recent job runs (scheduler and CLI)",
		Args:    cmdutil.NoArgs,
		RunE:    cmdutil.RunE(opts, runF, run, nil),
	}
	cmdutil.LimitFlag(cmd.Flags(), &opts.Limit, 20, "job runs")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	jobs := func(store *catalog.Store) ([]catalog.JobRun, error) { return store.ListJobs(ctx, opts.Limit) }
	return cmdutil.ListFromStore(ctx, opts.Factory, jobs, []string{"ID", "JOB", "NODE", "STARTED", "DURATION", "STATUS", "COUNTS", "ERROR"}, func(j catalog.JobRun) []any {
		dur := "-"
		if j.FinishedAt != nil {
			dur = cmdutil.Millis(j.FinishedAt.Sub(j.StartedAt)).String()
		}
		return []any{j.ID, j.Job, j.Node, cmdutil.LocalTime(j.StartedAt), dur, j.Status, cmdutil.CompactJSON(j.Counts), cmdutil.Dash(j.Error)}
	})
}

// Package jobs is `tenantctl jobs`: recent job runs, from the scheduler and the CLI.
package jobs

import (
	"context"
	"time"

	"github.com/spf13/cobra"

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
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "most job runs to show, newest first")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	jobs, err := store.ListJobs(ctx, opts.Limit)
	if err != nil {
		return err
	}
	if f.JSONOutput() {
		return f.PrintJSON(jobs)
	}
	tw := f.Table("ID", "JOB", "NODE", "STARTED", "DURATION", "STATUS", "COUNTS", "ERROR")
	for _, j := range jobs {
		dur := "-"
		if j.FinishedAt != nil {
			dur = j.FinishedAt.Sub(j.StartedAt).Round(time.Millisecond).String()
		}
		cmdutil.Row(tw, j.ID, j.Job, j.Node, j.StartedAt.Local().Format(time.DateTime), dur, j.Status, cmdutil.CompactJSON(j.Counts), cmdutil.Dash(j.Error))
	}
	return tw.Flush()
}
